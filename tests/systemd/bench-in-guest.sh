#!/bin/bash
# The systemd driver's start cost, inside the systemd guest (tests/systemd/run.sh
# with FASTRUN_SYSTEMD_BENCH=N; benches/systemd_run.sh): `run` of `true` (create,
# start, wait, delete), fastrun and runc, each with the cgroupfs driver and with
# --systemd-cgroup, N interleaved rounds (the same machine load for all four),
# each run 0.1 s after the one before, timed with bash's $EPOCHREALTIME (no fork). Prints medians and quartiles, the
# ratios, fastrun's own split of its systemd path (--trace: the start job and the
# stop job), what one isolated cgroup migration costs in the kernel here, and the
# machine's load before and after.
set -u
export PATH=/opt/fastrun:$PATH
N=${1:-${FASTRUN_SYSTEMD_BENCH:-30}}
FR=(fastrun --root /run/fr-bench)
RC=(runc --root /run/runc-bench)
mk() { local d=/tmp/bench/$1; mkdir -p "$d"; sed "s#\"cgroupsPath\": \"[^\"]*\"#\"cgroupsPath\": \"$2\"#" \
    /e2e/configs/true-sd.json > "$d/config.json"; echo "$d"; }
bs=$(mk sd "system.slice:bench:b1")
bf=$(mk fs "/bench/b1")
us() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }
declare -A times
names=(fr-fs fr-sd runc-fs runc-sd)
# FASTRUN_BASELINE (benches/systemd_run.sh BASE): another fastrun build, same runs
[[ -x /opt/fastrun/fastrun-base ]] && names+=(base-fs base-sd)
BASE=(/opt/fastrun/fastrun-base --root /run/fr-bench)
run1() { case $1 in
    base-fs) "${BASE[@]}" run --bundle "$bf" b1 ;;
    base-sd) "${BASE[@]}" --systemd-cgroup run --bundle "$bs" b1 ;;
    fr-fs) "${FR[@]}" run --bundle "$bf" b1 ;;
    fr-sd) "${FR[@]}" --trace /tmp/bench/trace.json --systemd-cgroup run --bundle "$bs" b1 ;;
    runc-fs) (cd "$bf" && exec "${RC[@]}" run b1) ;;
    runc-sd) (cd "$bs" && exec "${RC[@]}" --systemd-cgroup run b1) ;;
esac; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
rm -f /tmp/bench/trace.json
for n in "${names[@]}"; do run1 "$n" >/dev/null 2>&1 </dev/null || echo "bench: $n fails: $(run1 "$n" 2>&1 </dev/null)"; done
rm -f /tmp/bench/trace.json
for _ in $(seq "$N"); do
    for n in "${names[@]}"; do
        # 0.1 s apart (untimed): the kernel's migration lock back to idle, as for a
        # container started alone; back to back, a run rides on the grace period
        # of the one before (a migration within a grace period waits for none)
        sleep 0.1
        t0=$(us); run1 "$n" >/dev/null 2>&1 </dev/null; t1=$(us)
        times[$n]+="$((t1 - t0)) "
    done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
# quantile Q (0-100) of the microsecond values on stdin, in ms
q() { sort -n | awk -v q="$1" '{a[NR]=$1} END {i=int((NR-1)*q/100)+1; printf "%.1f", a[i]/1000}'; }
vals() { tr ' ' '\n' <<<"${times[$1]}" | grep .; }
stat() { echo "$(vals "$1" | q 50) [$(vals "$1" | q 25)-$(vals "$1" | q 75)]"; }
med() { vals "$1" | q 50; }
step() { grep -o "\"step\":\"$1\",\"by\":\"runtime\",\"start_us\":[0-9]*,\"dur_us\":[0-9]*" /tmp/bench/trace.json |
    sed 's/.*"dur_us"://' | q 50; }
# from the clone (the runtime's spawn.parent) to the start job's JobRemoved: the
# init's own marks fall in between in the merged trace
start_job() { grep -o '"step":"\(spawn.parent\|systemd.start\)","by":"runtime","start_us":[0-9]*,"dur_us":[0-9]*' \
    /tmp/bench/trace.json | sed 's/"step":"\([a-z.]*\)".*"start_us":\([0-9]*\),"dur_us":\([0-9]*\)/\1 \2 \3/' |
    awk '$1 == "spawn.parent" {p = $2 + $3} $1 == "systemd.start" {print $2 + $3 - p}' | q 50; }
# one isolated cgroup migration (a cgroup.procs write, 0.2 s after the last), as
# systemd does to put the init in its scope; the cgroupfs driver of fastrun has
# the init born in its cgroup instead (clone3 CLONE_INTO_CGROUP)
mv=/sys/fs/cgroup/bench-move
mkdir -p $mv/a $mv/b
# (a child shell moves itself between a and b; it exits before the rmdir)
mvt=$(bash -c 'for i in $(seq 10); do sleep 0.2; d=a; ((i % 2)) && d=b
    t0=${EPOCHREALTIME/./}; echo $$ > '$mv'/$d/cgroup.procs; t1=${EPOCHREALTIME/./}
    echo $((t1 - t0)); done' | q 50)
rmdir $mv/a $mv/b $mv
calc() { awk "BEGIN {printf \"$1\", $2}"; }
echo "bench: run of true, $N interleaved rounds, ms, median [quartiles]; load $load0 -> $load1 ($(nproc) CPUs)"
echo "bench:   fastrun cgroupfs $(stat fr-fs)   fastrun --systemd-cgroup $(stat fr-sd)"
echo "bench:   runc    cgroupfs $(stat runc-fs)   runc    --systemd-cgroup $(stat runc-sd)"
[[ -n ${times[base-sd]:-} ]] && echo "bench:   baseline fastrun cgroupfs $(stat base-fs)   --systemd-cgroup $(stat base-sd)" \
    "(adds $(calc %.1f "$(med base-sd) - $(med base-fs)") ms)"
echo "bench:   systemd path adds: fastrun $(calc %.1f "$(med fr-sd) - $(med fr-fs)") ms," \
    "runc $(calc %.1f "$(med runc-sd) - $(med runc-fs)") ms; fastrun/runc:" \
    "--systemd-cgroup $(calc %.2f "$(med fr-sd) / $(med runc-sd)")x, cgroupfs $(calc %.2f "$(med fr-fs) / $(med runc-fs)")x"
echo "bench:   fastrun's systemd steps (medians): clone to the start job's JobRemoved $(start_job) ms," \
    "StopUnit to JobRemoved + ResetFailedUnit $(step systemd.stop) ms; one isolated cgroup.procs write here: $mvt ms"
