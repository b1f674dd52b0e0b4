#!/usr/bin/env bash
# The systemd cgroup driver against a real systemd: boots a guest
# (tests/systemd/guest.sh), runs tests/systemd/in-guest.sh inside it as a transient
# service (so the runtime sits in an ordinary service cgroup, as under a systemd
# host), powers the guest off. Exit status: the test's; 0 with a loud SKIPPED when
# the guest cannot boot on this machine at all.
#
#   tests/systemd/run.sh [FASTRUN_BINARY]     (default: $CARGO_TARGET_DIR/debug/fastrun)
#   FASTRUN_SYSTEMD_BENCH=N: also the start-latency benchmark (bench-in-guest.sh),
#   N interleaved rounds of fastrun and runc, each with and without --systemd-cgroup;
#   FASTRUN_SYSTEMD_BENCH_ONLY=1: the benchmark alone (benches/systemd_run.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=$(realpath "${1:-${CARGO_TARGET_DIR:-$repo/target}/debug/fastrun}")
[[ -x $bin ]] || { echo "tests/systemd/run.sh: no fastrun binary at $bin" >&2; exit 1; }
for t in jq runc busybox systemd-nspawn mmdebstrap umoci skopeo; do
    command -v "$t" >/dev/null || { echo "tests/systemd/run.sh: needs $t (.ci/setup)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/fastrun-systemd.XXXXXX)
sd=$work/guest
e2e=$work/e2e
cleanup() {
    "$here/guest.sh" stop "$sd" || true
    rm -rf "$work"
}
trap cleanup EXIT

# ---- what the guest gets: the binaries, a busybox rootfs, the configs
mkdir -p "$e2e/bin" "$e2e/configs" "$e2e/rootfs/"{bin,proc,sys,dev,tmp,etc}
cp "$bin" "$e2e/bin/fastrun"
# the benchmark's baseline build (benches/systemd_run.sh BASE)
[[ -n ${FASTRUN_BASELINE:-} ]] && cp "$FASTRUN_BASELINE" "$e2e/bin/fastrun-base"
# fastrun's own containerd shim, when built next to the binary
shim=$(dirname "$bin")/containerd-shim-fastrun-v2
[[ -x $shim ]] && cp "$shim" "$e2e/bin/"
# libfastrun (the shared library next to the binary) and a C program using it
lib=$(dirname "$bin")/libfastrun.so
if [[ -f $lib ]]; then
    cp "$lib" "$e2e/bin/" && cp "$lib" "$e2e/bin/libfastrun.so.0"
    cc -Wall -Werror -I"$repo/include" "$here/libfastrun_run.c" -L"$e2e/bin" -lfastrun \
        -o "$e2e/bin/libfastrun_run"
fi
cp "$(command -v busybox)" "$e2e/rootfs/bin/busybox"
for a in sh sleep true cat ls echo ps wc; do ln -sf busybox "$e2e/rootfs/bin/$a"; done
(cd "$work" && runc spec && mv config.json base.json)
base() { jq --arg p "$1" '.process.terminal=false | .process.args=["sleep","600"]
    | .root.path="/e2e/rootfs" | .root.readonly=true | .linux.cgroupsPath=$p' "$work/base.json"; }
cfg() { local name=$1 path=$2; shift 2; base "$path" | jq "${@:-.}" > "$e2e/configs/$name.json"; }
cfg plain "system.slice:fr:c1" '.linux.namespaces += [{"type":"cgroup"}]'
cfg limits "system.slice:fr:lim" '.linux.resources += {"memory":{"limit":104857600,"reservation":52428800,
    "swap":209715200},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0","mems":"0"},"pids":{"limit":64},
    "blockIO":{"weight":500}}'
cfg default "" .
# a device node outside the allow list (10:200, made in the guest's /dev: /tmp is nodev) bound in
cfg devdeny "system.slice:fr:dd" '.mounts += [{"destination":"/dev/tun","type":"bind",
    "source":"/dev/fr-test-tun","options":["bind"]}]
    | .process.args=["sh","-c","echo x > /dev/null && echo null-writable; exec 3<>/dev/ptmx
        echo \"pts: $(cat /dev/pts/0 2>&1)\"; cat /dev/tun"]'

cfg children "system.slice:fr:kids" '.process.args=["sh","-c","sleep 600 & sleep 601 & sleep 602 & wait"]'
cfg missing "system.slice:fr:bad" '.process.args=["/no/such/program"]'
cfg oomgroup "system.slice:fr:oomg" '.linux.resources.unified={"memory.oom.group":"1"}'
cfg annotated "system.slice:fr:ann" '.annotations={"org.systemd.property.TimeoutStopSec":"uint64 7",
    "org.systemd.property.CollectMode":"'"'"'inactive-or-failed'"'"'"}'
cfg badprop "system.slice:fr:bp" '.annotations={"org.systemd.property.NoSuchProperty":"true"}'
cfg badname "system.slice:fr:bn" '.annotations={"org.systemd.property.bad-name":"true"}'
cfg pod-a "fastrunpod-p1.slice:fr:pa" .
cfg pod-b "fastrunpod-p1.slice:fr:pb" .
cfg slice-unit "system.slice:fr:podx.slice" .
cfg runc "system.slice:fr:rc" .
cfg lib "system.slice:fr:lib" '.process.args=["cat","/proc/self/cgroup"]'

cfg true-sd "system.slice:bench:b1" '.process.args=["true"]'
cfg true-fs "" '.process.args=["true"]'
# rootless (tests/systemd/in-guest-rootless.sh, as the guest's uid 1000): runc's
# rootless spec, the user namespace mapping that user
(cd "$work" && runc spec --rootless && mv config.json rootless.json)
rcfg() { local name=$1 path=$2; shift 2; jq --arg p "$path" '.process.terminal=false
    | .process.args=["sleep","600"] | .root.path="/e2e/rootfs" | .root.readonly=true
    | .linux.cgroupsPath=$p | .linux.uidMappings[0].hostID=1000
    | .linux.gidMappings[0].hostID=1000' "$work/rootless.json" | jq "${@:-.}" > "$e2e/configs/$name.json"; }
rcfg rootless ":frr:r1" .
rcfg rootless-limits ":frr:rl" '.linux.resources += {"memory":{"limit":104857600},
    "cpu":{"shares":512},"pids":{"limit":64}}'
rcfg rootless-missing ":frr:rbad" '.process.args=["/no/such/program"]'
rcfg rootless-true ":frr:rt" '.process.args=["true"]'
cp "$here/in-guest.sh" "$here/in-guest-rootless.sh" "$here/bench-in-guest.sh" "$e2e/"
# a busybox image for containerd in the guest (ctr images import)
oci=$work/oci
umoci init --layout "$oci" && umoci new --image "$oci:busybox"
umoci unpack --image "$oci:busybox" "$work/unpacked" >/dev/null
cp -a "$e2e/rootfs/." "$work/unpacked/rootfs/"
umoci repack --image "$oci:busybox" "$work/unpacked" && rm -rf "$work/unpacked"
umoci config --image "$oci:busybox" --config.env PATH=/bin --config.cmd /bin/sh
skopeo copy --quiet "oci:$oci:busybox" "oci-archive:$e2e/busybox.tar:docker.io/library/busybox:e2e"
rm -rf "$oci"

# ---- boot
if ! leader=$("$here/guest.sh" boot "$sd" --bind-ro="$e2e/bin:/opt/fastrun" --bind="$e2e:/e2e"); then
    cat <<MSG >&2
################################################################################
# tests/systemd/run.sh: SKIPPED - the systemd guest cannot boot on this machine
# (see the guest.sh messages above). The systemd cgroup driver was NOT tested.
################################################################################
MSG
    exit 0
fi
script=/e2e/in-guest.sh
[[ ${FASTRUN_SYSTEMD_BENCH_ONLY:-} == 1 ]] && script=/e2e/bench-in-guest.sh
timeout 900 nsenter -t "$leader" -a systemd-run --quiet --wait --pipe --collect \
    --setenv=FASTRUN_SYSTEMD_BENCH="${FASTRUN_SYSTEMD_BENCH:-}" /bin/bash "$script"
