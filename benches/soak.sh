#!/usr/bin/env bash
# Soak: N container lifecycles through the CLI and N through libfastrun (one host,
# THREADS threads), PAR at a time, every 10th one a race on a few shared ids
# (`create` / `delete --force` / `kill --all` at once). Then the host must look as
# before: no state directory, lock file, cgroup (any hierarchy), mount or process of
# the soak left, `list` empty, every `run` exited with the status its program chose
# (0..6), the library host's fds unchanged (counted after a warm-up: the reaper's eventfd
# stays for the life of the process) and its RSS reported.
#
#   benches/soak.sh [N] [PAR]      (default 10000 16; as root; .ci/test runs 1000)
#
# Uses the debug build unless PROFILE=release (the release build is what the figures
# in README's reliability section come from). Not a timed benchmark: the time is
# printed for scale only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${1:-10000}
PAR=${2:-16}
PROFILE=${PROFILE:-debug}
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
T=${CARGO_TARGET_DIR:-$PWD/target}
if [[ $PROFILE == release ]]; then
  cargo build -q --release -p fastrun -p libfastrun
else
  cargo build -q -p fastrun -p libfastrun
fi
FASTRUN=$T/$PROFILE/fastrun

D=$(mktemp -d /tmp/fastrun-soak-XXXXXX)
TAG=soak$$
R=$D/root
cleanup() {
  set +e
  # (interrupted: stop the workers first, then whatever they made)
  pkill -P $$ xargs 2>/dev/null
  "$FASTRUN" --root "$R" list -q 2>/dev/null | xargs -r -n1 "$FASTRUN" --root "$R" delete -f
  for p in /proc/[0-9]*; do
    if { tr "\0" "\n" <"$p/environ"; } 2>/dev/null | grep -qx "SOAK=$TAG"; then
      kill -9 "${p#/proc/}" 2>/dev/null
    fi
  done
  sleep 0.2
  for c in /sys/fs/cgroup/*/fastrun/"$TAG"-*; do [[ -d $c ]] && rmdir "$c"; done
  grep -F " $D" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l
  rm -rf "$D"
}
trap cleanup EXIT

# A busybox rootfs and one bundle per exit status (the library patches __CODE__).
mkdir -p "$D/rootfs"/{bin,proc,sys,dev,tmp,etc}
cp /bin/busybox "$D/rootfs/bin/"
for a in sh true sleep; do ln -s busybox "$D/rootfs/bin/$a"; done
mkbundle() { # DIR ARGS-JSON
  mkdir -p "$1"
  "$FASTRUN" spec --bundle "$1"
  jq --arg r "$D/rootfs" --arg tag "SOAK=$TAG" --argjson args "$2" \
    '.root.path=$r | .root.readonly=true | .process.terminal=false
     | .process.args=$args | .process.env+=[$tag]' "$1/config.json" >"$1/c.json"
  mv "$1/c.json" "$1/config.json"
}
for code in 0 1 2 3 4 5 6; do mkbundle "$D/b$code" "[\"sh\",\"-c\",\"exit $code\"]"; done
mkbundle "$D/blib" '["sh","-c","exit __CODE__"]'
mkbundle "$D/bsleep" '["sleep","60"]'

# CLI: lifecycle I (prints one line per lifecycle: RUN_OK CODE, RACE_OK,
# RACE_REFUSED, or BAD and what went wrong).
cli_one() {
  local i=$1 id code rc
  if ((i % 10 == 9)); then
    # Four race items in a row (40 lifecycles, in flight together at PAR 16) on the
    # same id, with different operations: the ids change every 40.
    id=$TAG-cli-shared-$(((i / 40) % 4))
    # Output to a file: a created init keeps its stdio open (no pipe to wait on).
    rc=0
    case $(((i / 10) % 3)) in
      0) "$FASTRUN" --root "$R" create --bundle "$D/bsleep" "$id" </dev/null >/dev/null 2>"$D/err.$i" || rc=$? ;;
      1) "$FASTRUN" --root "$R" delete -f "$id" 2>"$D/err.$i" || rc=$? ;;
      2) "$FASTRUN" --root "$R" kill --all "$id" KILL 2>"$D/err.$i" || rc=$? ;;
    esac
    out=$(cat "$D/err.$i")
    rm -f "$D/err.$i"
    ((rc == 0)) && { echo RACE_OK; return 0; }
    case $out in
      *"already exists"* | *"does not exist"* | *"not running"* | *"is stopped"*) echo RACE_REFUSED ;;
      *) echo "BAD race $id: $out" ;;
    esac
    return 0
  fi
  id=$TAG-cli-$i
  code=$((i % 7))
  rc=0
  "$FASTRUN" --root "$R" run --bundle "$D/b$code" "$id" </dev/null >/dev/null 2>"$D/err.$i" || rc=$?
  if ((rc != code)); then echo "BAD $id: exit status $rc, want $code: $(cat "$D/err.$i")"; else echo "RUN_OK $code"; fi
  rm -f "$D/err.$i"
}
export -f cli_one
export FASTRUN R D TAG

counts() { # what of the soak's is on the host now (WHEN)
  local st=0 locks=0 cg=0 mnt procs=0 p
  for s in "$R"/*/; do [[ -d $s ]] && st=$((st + 1)); done
  [[ -d $R/.locks ]] && locks=$(ls -A "$R/.locks" | wc -l)
  for c in /sys/fs/cgroup/*/fastrun/"$TAG"-*; do [[ -d $c ]] && cg=$((cg + 1)); done
  mnt=$(grep -cF "$D" /proc/self/mountinfo || true)
  for p in /proc/[0-9]*; do
    { tr "\0" "\n" <"$p/environ"; } 2>/dev/null | grep -qx "SOAK=$TAG" && procs=$((procs + 1))
  done
  echo "host $1: state dirs $st, lock files $locks, cgroups $cg, mounts $mnt, container processes $procs"
}

leftovers() { # what the soak could have left
  local found=0
  for s in "$R"/*/; do [[ -d $s ]] && { echo "LEFT state directory $s"; found=1; }; done
  if [[ -d $R/.locks ]] && [[ -n $(ls -A "$R/.locks") ]]; then
    echo "LEFT lock files: $(ls "$R/.locks" | head -5)"; found=1
  fi
  for c in /sys/fs/cgroup/*/fastrun/"$TAG"-*; do
    [[ -d $c ]] && { echo "LEFT cgroup $c"; found=1; }
  done
  if grep -qF "$D" /proc/self/mountinfo; then
    echo "LEFT mounts: $(grep -F "$D" /proc/self/mountinfo | head -3)"; found=1
  fi
  for p in /proc/[0-9]*; do
    if { tr "\0" "\n" <"$p/environ"; } 2>/dev/null | grep -qx "SOAK=$TAG"; then
      echo "LEFT process ${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline")"; found=1
    fi
  done
  return $found
}

fail=0
echo "soak: $N lifecycles through the CLI and $N through libfastrun, $PAR at a time ($PROFILE build)," \
  "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
counts before
t0=$(date +%s.%N)
seq 0 $((N - 1)) | xargs -P "$PAR" -n 1 bash -c 'cli_one "$1"' _ >"$D/cli.out"
for k in 0 1 2 3; do "$FASTRUN" --root "$R" delete -f "$TAG-cli-shared-$k"; done
t1=$(date +%s.%N)
grep '^BAD' "$D/cli.out" | head -20 >&2 || true
bad=$(grep -c '^BAD' "$D/cli.out" || true)
runs_ok=$(grep -c '^RUN_OK' "$D/cli.out" || true)
races_ok=$(grep -c '^RACE_OK' "$D/cli.out" || true)
refused=$(grep -c '^RACE_REFUSED' "$D/cli.out" || true)
accounted=$((runs_ok + races_ok + refused + bad))
listed=$("$FASTRUN" --root "$R" list -q | wc -l)
echo "cli: $((N - N / 10)) lifecycles ($((N / 10)) races), $PAR at a time, $(echo "$t1 - $t0" | bc) s;" \
  "runs with the status their program chose $runs_ok, races that succeeded $races_ok," \
  "refused as expected $refused, unexpected outcomes $bad ($accounted/$N accounted);" \
  "listed afterwards $listed, load average $(cut -d' ' -f1-3 /proc/loadavg)"
((bad == 0 && listed == 0 && accounted == N)) || fail=1
counts "after the CLI"
leftovers || fail=1

# libfastrun: a C host linked against the library just built.
.ci/install-lib "$D/prefix" "$T/$PROFILE" >/dev/null
cc -O2 -pthread -I"$D/prefix/include" benches/soak_lib.c -o "$D/soak_lib" \
  -L"$D/prefix/lib" -lfastrun -Wl,-rpath,"$D/prefix/lib"
t0=$(date +%s.%N)
"$D/soak_lib" "$R" "$D/blib" "$N" "$PAR" "$TAG" || fail=1
t1=$(date +%s.%N)
echo "libfastrun: $(echo "$t1 - $t0" | bc) s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
listed=$("$FASTRUN" --root "$R" list -q | wc -l)
((listed == 0)) || { echo "libfastrun: $listed containers listed afterwards"; fail=1; }
counts "after libfastrun"
leftovers || fail=1

if ((fail)); then echo "soak: FAILED"; exit 1; fi
echo "soak: OK (nothing left: state, locks, cgroups, mounts, processes)"
