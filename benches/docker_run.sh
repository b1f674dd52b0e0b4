#!/usr/bin/env bash
# `docker run --rm IMAGE true` and `docker exec C true` under one private dockerd
# (Debian's docker.io 20.10 on a private containerd 1.6), runc (dockerd's built-in)
# against fastrun (registered in daemon.json), in interleaved rounds (the order
# alternates every round); prints the medians and the fastrun/runc ratios.
#
# Then the runtime's share of those commands: two more runtimes, `runc-timed` and
# `fastrun-timed`, are bash wrappers that record the wall time of every invocation
# of the real binary (bash's $EPOCHREALTIME around it: the wrapper's own start is
# not counted); the sum per docker command (create + start + delete for a run,
# exec for an exec) over the command's median is the share.
#
#   benches/docker_run.sh [ROUNDS]      (default 30; as root)
#
# FASTRUN=/path/to/fastrun to time another build (default: the release build, which
# the script builds). Every path is under a temp dir; dockerd runs with
# --bridge=none --iptables=false --ip-forward=false --ip-masq=false and its own
# cgroup parent; everything is stopped by pid and removed at exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${1:-30}
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
if [[ -z ${FASTRUN:-} ]]; then
  cargo build --release -q -p fastrun
  FASTRUN=$PWD/target/release/fastrun
fi
RUNC=$(command -v runc)
DOCKER_BIN=/usr/bin/docker   # Debian's client (another may be first in PATH)

D=$(mktemp -d /tmp/fastrun-docker-bench-XXXXXX)
CG=/fastrun-docker-bench-$$
CTD_PID= DOCKERD_PID=
cleanup() {
  set +e
  if [[ -n $DOCKERD_PID ]]; then
    dk rm -f run-runc run-fastrun >/dev/null 2>&1
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$DOCKERD_PID" 2>/dev/null
  fi
  if [[ -n $CTD_PID ]]; then
    kill "$CTD_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$CTD_PID" 2>/dev/null
  fi
  for c in /sys/fs/cgroup/*"$CG"; do
    [[ -d $c ]] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  grep -F " $D/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
  rm -rf "$D"
}
trap cleanup EXIT

dk() { DOCKER_HOST="unix://$D/docker.sock" DOCKER_CONFIG="$D/cli" "$DOCKER_BIN" "$@"; }

# The timing wrappers: one line per invocation, "<start> <end> <args...>".
for rt in runc fastrun; do
  real=$RUNC
  [[ $rt == fastrun ]] && real=$FASTRUN
  cat >"$D/$rt-timed" <<EOF
#!/bin/bash
t0=\$EPOCHREALTIME
"$real" "\$@"
rc=\$?
echo "\$t0 \$EPOCHREALTIME \$*" >>"$D/$rt-timed.log"
exit \$rc
EOF
  chmod +x "$D/$rt-timed"
done

cat >"$D/containerd.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$D/containerd.sock"
[ttrpc]
  address = "$D/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
EOF
cat >"$D/daemon.json" <<EOF
{
  "runtimes": {
    "fastrun": {"path": "$FASTRUN"},
    "fastrun-timed": {"path": "$D/fastrun-timed"},
    "runc-timed": {"path": "$D/runc-timed"}
  },
  "cgroup-parent": "$CG",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "deprecated-key-path": "$D/key.json"
}
EOF
containerd --config "$D/containerd.toml" >"$D/containerd.log" 2>&1 &
CTD_PID=$!
for _ in $(seq 200); do [[ -S $D/containerd.sock ]] && break; sleep 0.05; done
dockerd --config-file "$D/daemon.json" --containerd "$D/containerd.sock" \
  --data-root "$D/data" --exec-root "$D/exec" -H "unix://$D/docker.sock" \
  --pidfile "$D/docker.pid" --bridge=none --iptables=false --ip-forward=false \
  --ip-masq=false >"$D/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 300); do dk version >/dev/null 2>&1 && break; sleep 0.1; done
mkdir -p "$D/cli"

# The image: busybox-static.
R=$D/rootfs
mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$R/bin/"
for a in sh true sleep; do ln -s busybox "$R/bin/$a"; done
tar -C "$R" -c . | dk import - localhost/busybox:latest >/dev/null
IMG=localhost/busybox:latest

now() { echo "${EPOCHREALTIME/./}"; }   # microseconds
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
time_us() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo $((t1 - t0)); }

for rt in runc fastrun runc-timed fastrun-timed; do   # warm up
  for _ in 1 2; do dk run --rm --runtime "$rt" --network none "$IMG" true; done
done
for rt in runc fastrun; do
  dk run -d --name "run-$rt" --runtime "$rt" --network none "$IMG" sleep 100000 >/dev/null
  dk exec "run-$rt" true
done

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A RUN EXEC
for ((i = 0; i < N; i++)); do
  order=(runc fastrun)
  ((i % 2)) && order=(fastrun runc)
  for rt in "${order[@]}"; do
    RUN[$rt]+="$(time_us dk run --rm --runtime "$rt" --network none "$IMG" true) "
    EXEC[$rt]+="$(time_us dk exec "run-$rt" true) "
  done
done

# The runtime's share: the same commands with the timing wrappers.
M=$(((N + 1) / 2))
for rt in runc fastrun; do
  dk run -d --name "timed-$rt" --runtime "$rt-timed" --network none "$IMG" sleep 100000 >/dev/null
done
declare -A RUN_IN EXEC_IN
sum_log() { # log -> sum of (end - start) in microseconds
  awk '{ s += ($2 - $1) * 1e6 } END { printf "%d\n", s }' "$1"
}
for ((i = 0; i < M; i++)); do
  for rt in runc fastrun; do
    log=$D/$rt-timed.log
    : >"$log"
    dk run --rm --runtime "$rt-timed" --network none "$IMG" true >/dev/null
    RUN_IN[$rt]+="$(sum_log "$log") "
    cp "$log" "$D/$rt-run.log"
    cat "$log" >>"$D/$rt-all.log"
    : >"$log"
    dk exec "timed-$rt" true
    EXEC_IN[$rt]+="$(sum_log "$log") "
    cp "$log" "$D/$rt-exec.log"
    cat "$log" >>"$D/$rt-all.log"
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
dk rm -f timed-runc timed-fastrun >/dev/null

med() { tr ' ' '\n' | grep . | median; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
echo "docker 20.10 (dockerd $(dockerd --version | awk '{print $3}' | tr -d ,)), containerd $(containerd --version | awk '{print $3}'), $N rounds, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load average: $LOAD0 at the start, $LOAD1 at the end"
printf '%-22s %10s %10s %16s %18s %18s\n' command "runc ms" "fastrun ms" "fastrun/runc" "runc share" "fastrun share"
for op in run exec; do
  if [[ $op == run ]]; then
    label="docker run --rm true"
    r=$(med <<<"${RUN[runc]}") f=$(med <<<"${RUN[fastrun]}")
    ri=$(med <<<"${RUN_IN[runc]}") fi_=$(med <<<"${RUN_IN[fastrun]}")
  else
    label="docker exec C true"
    r=$(med <<<"${EXEC[runc]}") f=$(med <<<"${EXEC[fastrun]}")
    ri=$(med <<<"${EXEC_IN[runc]}") fi_=$(med <<<"${EXEC_IN[fastrun]}")
  fi
  printf '%-22s %10s %10s %15sx %9s ms %4s%% %9s ms %4s%%\n' "$label" "$(ms "$r")" "$(ms "$f")" \
    "$(awk -v a="$f" -v b="$r" 'BEGIN { printf "%.2f", a / b }')" \
    "$(ms "$ri")" "$(awk -v a="$ri" -v b="$r" 'BEGIN { printf "%.0f", 100 * a / b }')" \
    "$(ms "$fi_")" "$(awk -v a="$fi_" -v b="$f" 'BEGIN { printf "%.0f", 100 * a / b }')"
done
# What the runtime was asked to do (the last round): the subcommand of each call.
subcommands() { # log
  awk '{ for (i = 3; i <= NF; i++) if ($i ~ /^(create|start|delete|exec|state|kill|features)$/) { printf "%s ", $i; break } }' "$1"
}
for rt in runc fastrun; do
  echo "$rt invocations: docker run: $(subcommands "$D/$rt-run.log")| docker exec: $(subcommands "$D/$rt-exec.log")"
done
# The median of each subcommand's calls (ms), over the timed rounds.
for rt in runc fastrun; do
  printf '%-8s' "$rt"
  for sub in create start delete exec; do
    m=$(awk -v s="$sub" '{ for (i = 3; i <= NF; i++) if ($i ~ /^(create|start|delete|exec|state|kill|features)$/) { if ($i == s) print int(($2 - $1) * 1e6); break } }' "$D/$rt-all.log" | median)
    printf ' %s %s ms' "$sub" "$(ms "${m:-0}")"
  done
  echo
done
