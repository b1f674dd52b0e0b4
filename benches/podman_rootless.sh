#!/usr/bin/env bash
# `podman run --rm IMAGE true` run by an unprivileged user (rootless podman: the
# runtime runs as uid 0 in podman's user namespace, state in $XDG_RUNTIME_DIR, no
# cgroup on cgroup v1), with fastrun, runc and crun as the runtime, interleaved in
# blocks of 10 to spread drift. Prints each runtime's median wall time and the
# ratios fastrun/runc and fastrun/crun.
#
#   benches/podman_rootless.sh [ITERATIONS]      (default 30, a multiple of 10; as root)
#
# Makes a user with subordinate ids, a private HOME and XDG_RUNTIME_DIR, vfs storage
# and a busybox image (umoci + skopeo), all removed at exit with the user's
# processes (podman's pause process, conmons). crun 1.8.1 refuses this machine's
# hybrid cgroups, so everything runs in a private mount namespace where
# /sys/fs/cgroup/unified is unmounted, and podman's rootless pause process is born
# there; fastrun and runc run in the same namespace (all three see pure v1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${1:-30}
((N % 10 == 0)) || { echo "ITERATIONS must be a multiple of 10" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }

cargo build --release -q -p fastrun
RUNC=$(command -v runc)
CRUN=$(command -v crun)

D=$(mktemp -d /tmp/fastrun-prb-XXXXXX)   # podman: runroot under 50 characters
chmod 755 "$D"
U=frlbench$$
USER_MADE=
cleanup() {
  set +e
  if [[ -n $USER_MADE ]]; then
    uid=$(id -u "$U")
    range=$(awk -F: -v u="$U" '$1 == u {print $2 "-" $2 + $3 - 1}' /etc/subuid | head -1)
    for _ in $(seq 50); do
      pids=$(awk -v u="$uid" -v lo="${range%-*}" -v hi="${range#*-}" \
        '/^Uid:/ {if ($2 == u || ($2 >= lo && $2 <= hi)) {split(FILENAME, p, "/"); print p[3]}}' \
        /proc/[0-9]*/status 2>/dev/null)
      [[ -z $pids ]] && break
      kill -9 $pids 2>/dev/null
      sleep 0.1
    done
    [[ -n $range ]] && usermod --del-subuids "$range" --del-subgids "$range" "$U"
    userdel "$U"
  fi
  rm -rf "$D"
}
trap cleanup EXIT

# The user: subordinate ids after everyone's.
useradd -M -d /nonexistent -s /usr/sbin/nologin -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$U"
USER_MADE=1
start=$(cat /etc/subuid /etc/subgid | awk -F: 'BEGIN {m = 300000} {e = $2 + $3; if (e > m) m = e} END {print m}')
usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$U"
mkdir -m 700 "$D/home" "$D/run"
mkdir -m 755 "$D/bin"
install -m 755 target/release/fastrun "$D/bin/fastrun"
chown "$U:" "$D/home" "$D/run"

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
chmod 644 "$D/busybox.tar"

cat >"$D/home/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
EOF
chown "$U:" "$D/home/containers.conf"

# The loop, as the user, in a private mount namespace without the unified tree.
cat >"$D/loop.sh" <<'EOF'
set -eu
D=$1 N=$2 FASTRUN=$3 RUNC=$4 CRUN=$5
P=(podman --root "$D/home/storage" --runroot "$D/run/storage" --storage-driver vfs)
"${P[@]}" load -q -i "$D/busybox.tar" >/dev/null
for rt in "$FASTRUN" "$RUNC" "$CRUN"; do   # warm up, and check each works
  "${P[@]}" --runtime "$rt" run --rm localhost/busybox:latest true
done
for ((b = 0; b < N / 10; b++)); do
  for rt in fastrun runc crun; do
    case $rt in fastrun) bin=$FASTRUN ;; runc) bin=$RUNC ;; crun) bin=$CRUN ;; esac
    for ((i = 0; i < 10; i++)); do
      t0=$(date +%s%N)
      "${P[@]}" --runtime "$bin" run --rm localhost/busybox:latest true
      t1=$(date +%s%N)
      echo "$rt $(((t1 - t0) / 1000))"
    done
  done
done
EOF
chmod 644 "$D/loop.sh"
unshare -m --propagation private sh -c '
  umount /sys/fs/cgroup/unified 2>/dev/null || true
  exec setpriv --reuid="$1" --regid="$1" --clear-groups env -i \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$2/home" USER="$1" LOGNAME="$1" \
    XDG_RUNTIME_DIR="$2/run" CONTAINERS_CONF="$2/home/containers.conf" \
    bash "$2/loop.sh" "$2" "$3" "$2/bin/fastrun" "$4" "$5"' \
  sh "$U" "$D" "$N" "$RUNC" "$CRUN" >"$D/times"

median() { awk -v r="$1" '$1 == r {print $2}' "$D/times" | sort -n |
  awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
f=$(median fastrun) r=$(median runc) c=$(median crun)
echo "podman run --rm IMAGE true, rootless, $N runs each (median wall time):"
printf '  fastrun %8.1f ms\n  runc    %8.1f ms\n  crun    %8.1f ms\n' \
  "$(echo "$f / 1000" | bc -l)" "$(echo "$r / 1000" | bc -l)" "$(echo "$c / 1000" | bc -l)"
printf '  fastrun/runc %.2f   fastrun/crun %.2f\n' "$(echo "$f / $r" | bc -l)" "$(echo "$f / $c" | bc -l)"
