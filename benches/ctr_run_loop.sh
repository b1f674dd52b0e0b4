#!/usr/bin/env bash
# `ctr run --rm IMG cN true` in a loop under one private containerd, with fastrun,
# runc and crun as the runc.v2 shim's binary (`--runc-binary`), and with fastrun's
# own shim (`--runtime io.containerd.fastrun.v2`, "shim": no runtime binary is
# executed, the shim drives the engine in-process): the whole path a container
# start takes under containerd (ctr → containerd → shim → runtime create, start,
# delete), so the runtime's share is diluted by containerd's own work. Then the
# resident memory (VmRSS) of one idle shim per kind, runc's Go shim vs fastrun's.
#
#   benches/ctr_run_loop.sh [ITERATIONS]      (default 30; as root)
#
# Builds fastrun (`cargo build-static`) and a busybox image (umoci + skopeo); containerd runs in a
# private mount namespace with /sys/fs/cgroup/unified unmounted, because crun 1.8.1
# refuses this machine's hybrid cgroups (../shared/notes/machine.md); fastrun and runc
# run in the same namespace, so all three see the same pure v1 layout. Runtimes are
# interleaved in blocks of 10 to spread drift. Everything is removed at exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${1:-30}
((N % 10 == 0)) || { echo "ITERATIONS must be a multiple of 10" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }

cargo build-static -q   # the product binary (musl, static): what ships
cargo build-shim -q   # static, opt-level "z" (profile release-shim): what ships
FASTRUN=$PWD/target/x86_64-unknown-linux-musl/release/fastrun
SHIM_DIR=$PWD/target/x86_64-unknown-linux-gnu/release-shim
RUNC=$(command -v runc)
CRUN=$(command -v crun)

D=$(mktemp -d /tmp/fastrun-ctr-bench-XXXXXX)
NS=ctrbench-$$
CTD_PID=
cleanup() {
  set +e
  if [[ -n $CTD_PID ]]; then
    kill "$CTD_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$CTD_PID" 2>/dev/null
  fi
  for c in /sys/fs/cgroup/*/"$NS"; do
    [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  grep -F " $D" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
  rm -rf "$D" "/run/containerd/fastrun/$NS"
}
trap cleanup EXIT

# The image.
umoci init --layout "$D/oci" >/dev/null
umoci new --image "$D/oci:busybox" >/dev/null
umoci unpack --image "$D/oci:busybox" "$D/b" >/dev/null
R=$D/b/rootfs
mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$R/bin/"
for a in sh true echo sleep; do ln -s busybox "$R/bin/$a"; done
umoci repack --image "$D/oci:busybox" "$D/b" >/dev/null
umoci config --image "$D/oci:busybox" --config.cmd /bin/sh >/dev/null
skopeo copy --quiet "oci:$D/oci:busybox" "oci-archive:$D/busybox.tar:localhost/busybox:latest"

cat >"$D/config.toml" <<EOF
version = 2
root = "$D/root"
state = "$D/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$D/containerd.sock"
[ttrpc]
  address = "$D/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/opt"
EOF
PATH="$SHIM_DIR:$PATH" unshare -m --propagation private sh -c \
  'umount /sys/fs/cgroup/unified 2>/dev/null; exec containerd --config "$1"' sh "$D/config.toml" \
  >"$D/containerd.log" 2>&1 &
CTD_PID=$!
for _ in $(seq 200); do [[ -S $D/containerd.sock ]] && break; sleep 0.05; done
CTR=(ctr --address "$D/containerd.sock" --namespace "$NS")
"${CTR[@]}" images import "$D/busybox.tar" >/dev/null

run_one() { # name binary id [args...]
  local name=$1 bin=$2 id=$3
  shift 3
  local args=(${@:-true})
  if [[ $name == shim ]]; then
    "${CTR[@]}" run --rm --runtime io.containerd.fastrun.v2 --fifo-dir "$D/fifo" \
      localhost/busybox:latest "$id" "${args[@]}"
  else
    "${CTR[@]}" run --rm --runc-binary "$bin" --runc-root "$D/root-$name" --fifo-dir "$D/fifo" \
      localhost/busybox:latest "$id" "${args[@]}"
  fi
}

declare -A TOTAL
names=(fastrun runc crun shim)
declare -A BIN=([fastrun]=$FASTRUN [runc]=$RUNC [crun]=$CRUN [shim]=-)
for n in "${names[@]}"; do
  TOTAL[$n]=0
  for i in 1 2 3; do run_one "$n" "${BIN[$n]}" "warm-$n-$i" || { echo "$n fails under containerd here" >&2; exit 1; }; done
done
for ((block = 0; block < N / 10; block++)); do
  for n in "${names[@]}"; do
    t0=$(date +%s%N)
    for ((i = 0; i < 10; i++)); do run_one "$n" "${BIN[$n]}" "c-$n-$block-$i"; done
    t1=$(date +%s%N)
    TOTAL[$n]=$((TOTAL[$n] + t1 - t0))
  done
done

echo "ctr run --rm busybox true, $N runs each, $(date -u +%Y-%m-%d), containerd $(containerd --version | awk '{print $3}')"
printf '%-8s %10s\n' runtime "ms/run"
for n in "${names[@]}"; do
  awk -v t="${TOTAL[$n]}" -v n="$N" -v name="$n" 'BEGIN { printf "%-8s %10.1f\n", name, t / n / 1e6 }'
done
awk -v f="${TOTAL[fastrun]}" -v r="${TOTAL[runc]}" -v c="${TOTAL[crun]}" \
  'BEGIN { printf "runc/fastrun %.2fx   crun/fastrun %.2fx\n", r / f, c / f }'
awk -v f="${TOTAL[fastrun]}" -v r="${TOTAL[runc]}" -v s="${TOTAL[shim]}" \
  'BEGIN { printf "shim/(runc shim + fastrun) %.2f   shim/(runc shim + runc) %.2f\n", s / f, s / r }'

# Memory: one idle container per shim kind; VmRSS of its shim.
"${CTR[@]}" run -d --runc-binary "$RUNC" --runc-root "$D/root-runc" --fifo-dir "$D/fifo" \
  localhost/busybox:latest rss-runc sleep 1000 >/dev/null
"${CTR[@]}" run -d --runtime io.containerd.fastrun.v2 --fifo-dir "$D/fifo" \
  localhost/busybox:latest rss-shim sleep 1000 >/dev/null
sleep 1
rss() { # pattern
  local pid
  pid=$(pgrep -f "$1.*-id $2 .*$D/containerd.sock" | head -1)
  awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"
}
R_RUNC=$(rss containerd-shim-runc-v2 rss-runc)
R_SHIM=$(rss containerd-shim-fastrun-v2 rss-shim)
printf 'shim RSS: runc.v2 (Go) %s kB, fastrun.v2 %s kB, ratio %s\n' "$R_RUNC" "$R_SHIM" \
  "$(awk -v a="$R_SHIM" -v b="$R_RUNC" 'BEGIN { printf "%.2f", a / b }')"
for c in rss-runc rss-shim; do
  "${CTR[@]}" task kill -s KILL "$c" >/dev/null 2>&1
done
sleep 0.5
for c in rss-runc rss-shim; do
  "${CTR[@]}" task delete "$c" >/dev/null 2>&1
  "${CTR[@]}" container rm "$c" >/dev/null 2>&1
done
