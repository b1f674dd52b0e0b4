#!/bin/bash
# Runs inside the systemd guest (tests/systemd/run.sh), as a transient service:
# fastrun --systemd-cgroup against the guest's systemd, runc alongside for the
# contract. Prints one line per check; exits non-zero if any failed.
set -u
export PATH=/opt/fastrun:$PATH
FR=(fastrun --root /run/fr-e2e)
RC=(runc --root /run/runc-e2e)
failures=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
prop() { systemctl show -P "$2" "$1"; }
bundle() { # bundle NAME CONFIG -> prints the bundle dir
    local d=/tmp/b/$1; mkdir -p "$d"; cp "/e2e/configs/$2.json" "$d/config.json"; echo "$d"; }
# run a command, its output in $out (through a file: a detached container keeps
# the caller's stdout open, so no command substitution around `run -d`)
try() { "$@" </dev/null >/tmp/out 2>&1; local r=$?; out=$(cat /tmp/out); return $r; }
pid_of() { "${FR[@]}" state "$1" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
gone() { # gone UNIT CGROUP: no unit loaded (a slice: inactive; systemd keeps slices
    # loaded without a file), no cgroup directory
    local want=not-found; [[ $1 == *.slice ]] && want=loaded
    [[ $(prop "$1" LoadState) == "$want" && $(prop "$1" ActiveState) == inactive && ! -e /sys/fs/cgroup/$2 ]]; }
nothing_left() { # nothing_left ID UNIT CGROUP
    gone "$2" "$3" && ! "${FR[@]}" state "$1" >/dev/null 2>&1; }

echo "guest: systemd $(systemctl --version | head -1 | cut -d' ' -f2), $(systemctl is-system-running)," \
     "cgroupfs $(stat -fc %T /sys/fs/cgroup), controllers [$(cat /sys/fs/cgroup/cgroup.controllers)]," \
     "runtime in $(grep ^0:: /proc/self/cgroup | cut -d: -f3)"

# ---- 1. the scope: active, delegated, transient, in its slice, the init inside
b=$(bundle c1 plain)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" c1
check "run -d c1 (--systemd-cgroup) succeeds [$out]" [ -z "$out" ]
check "fr-c1.scope is active" [ "$(prop fr-c1.scope ActiveState)" = active ]
check "fr-c1.scope: Delegate=yes" [ "$(prop fr-c1.scope Delegate)" = yes ]
check "fr-c1.scope: Transient=yes, Slice=system.slice" \
    [ "$(prop fr-c1.scope Transient) $(prop fr-c1.scope Slice)" = "yes system.slice" ]
check "fr-c1.scope: ControlGroup=/system.slice/fr-c1.scope" \
    [ "$(prop fr-c1.scope ControlGroup)" = /system.slice/fr-c1.scope ]
check "fr-c1.scope: Description names the container" \
    [ "$(prop fr-c1.scope Description)" = "fastrun container fr-c1.scope" ]
p=$(pid_of c1)
check "the init ($p) is in /system.slice/fr-c1.scope" grep -qx '0::/system.slice/fr-c1.scope' "/proc/$p/cgroup"
check "the scope holds exactly the init" [ "$(cat /sys/fs/cgroup/system.slice/fr-c1.scope/cgroup.procs)" = "$p" ]
check "ps lists the init" sh -c "${FR[*]} ps --format json c1 | grep -qw $p"
try "${FR[@]}" exec c1 cat /proc/self/cgroup
check "inside, the cgroup namespace is rooted at the scope [$(grep ^0:: <<<"$out")]" grep -qx "0::/" <<<"$out"
"${FR[@]}" exec -d c1 sleep 500
check "exec joins the scope (2 processes)" \
    [ "$(wc -l < /sys/fs/cgroup/system.slice/fr-c1.scope/cgroup.procs)" = 2 ]
"${FR[@]}" pause c1
check "pause freezes the scope's cgroup" [ "$(cat /sys/fs/cgroup/system.slice/fr-c1.scope/cgroup.freeze)" = 1 ]
check "state says paused" sh -c "${FR[*]} state c1 | grep -q '\"paused\"'"
"${FR[@]}" resume c1
check "resume thaws it" [ "$(cat /sys/fs/cgroup/system.slice/fr-c1.scope/cgroup.freeze)" = 0 ]
check "events --stats answers for the scope" sh -c "${FR[*]} events --stats c1 | grep -q '\"type\":\"stats\"'"
"${FR[@]}" kill c1 KILL; sleep 0.3
check "delete c1 succeeds" "${FR[@]}" delete c1
check "delete leaves no unit, no cgroup, no state" nothing_left c1 fr-c1.scope system.slice/fr-c1.scope

# ---- 2. limits as unit properties; the driver says when systemd cannot enforce them
b=$(bundle lim limits)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" lim; err=$out
check "run -d lim succeeds" [ "$(prop fr-lim.scope ActiveState)" = active ]
want="MemoryMax=104857600 MemoryLow=52428800 MemorySwapMax=104857600 CPUWeight=20 CPUQuotaPerSecUSec=500ms CPUQuotaPeriodUSec=100ms AllowedCPUs=0 AllowedMemoryNodes=0 TasksMax=64 IOWeight=4950"
have=""; for kv in $want; do have+="${kv%%=*}=$(prop fr-lim.scope "${kv%%=*}") "; done
check "unit properties match linux.resources [$have]" [ "${have% }" = "$want" ]
if [[ -z $(cat /sys/fs/cgroup/system.slice/fr-lim.scope/cgroup.controllers) ]]; then
    check "no controllers here: the driver warns, naming the unit and what is not enforced [$err]" \
        grep -q "unit fr-lim.scope has the properties MemoryMax (no memory controller)" <<<"$err"
else
    check "memory.max enforced" [ "$(cat /sys/fs/cgroup/system.slice/fr-lim.scope/memory.max)" = 104857600 ]
fi
"${FR[@]}" update --memory 200M --memory-swap 400M --pids-limit 50 --cpu-quota 25000 --cpu-share 1024 --cpuset-cpus 0 lim 2>/dev/null
check "update sets the unit's properties" [ "$(prop fr-lim.scope MemoryMax) $(prop fr-lim.scope MemorySwapMax) $(prop fr-lim.scope TasksMax) $(prop fr-lim.scope CPUQuotaPerSecUSec) $(prop fr-lim.scope CPUWeight)" = "209715200 209715200 50 250ms 39" ]
"${FR[@]}" delete -f lim
check "delete -f lim leaves nothing" nothing_left lim fr-lim.scope system.slice/fr-lim.scope

# ---- 2b. device rules enforced in the scope (the device programs need no
# controller): /dev/null writable, a node outside the allow list refused
mknod /dev/fr-test-tun c 10 200
b=$(bundle dd devdeny)
try "${FR[@]}" --debug --systemd-cgroup run --bundle "$b" dd
check "devices: /dev/null writable, 10:200 refused in the scope [$(grep -v level=debug <<<"$out" | tr '\n' ' ')]" \
    grep -q "null-writable.*Operation not permitted" <<<"$(echo $out)"
check "... a pty's slave (136:*, DeviceAllow char-136) opens (locked: EIO, not EPERM)" \
    grep -q "^pts: cat: can't open '/dev/pts/0': Input/output error" <<<"$out"
check "... by systemd's program alone: its DeviceAllow says the rules exactly, fastrun loads none" \
    grep -q "the unit's DeviceAllow enforces the device rules" <<<"$out"
check "... and it leaves nothing" nothing_left dd fr-dd.scope system.slice/fr-dd.scope

# ---- 3. the default unit name; annotations as properties
b=$(bundle dflt default)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" dflt
check "no cgroupsPath: fastrun-dflt.scope in system.slice" \
    [ "$(prop fastrun-dflt.scope ControlGroup)" = /system.slice/fastrun-dflt.scope ]
"${FR[@]}" delete -f dflt
b=$(bundle ann annotated)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" ann
check "org.systemd.property.* annotations: TimeoutStopSec=7 s, CollectMode" \
    [ "$(prop fr-ann.scope TimeoutStopUSec) $(prop fr-ann.scope CollectMode)" = "7s inactive-or-failed" ]
"${FR[@]}" delete -f ann
check "features lists org.systemd.property. as potentially unsafe" \
    sh -c "fastrun features | grep -A2 potentiallyUnsafeConfigAnnotations | grep -q 'org.systemd.property.'"

b=$(bundle fg true-sd)
try "${FR[@]}" --systemd-cgroup run --bundle "$b" fg; rc=$?
check "run in the foreground: exit 0 [$out]" [ $rc = 0 ]
check "... and it leaves nothing" nothing_left fg bench-b1.scope system.slice/bench-b1.scope

# ---- 4. kill --all reaches every process of the scope
b=$(bundle kids children)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" kids
sleep 0.3
check "kids: 4 processes in the scope" [ "$(wc -l < /sys/fs/cgroup/system.slice/fr-kids.scope/cgroup.procs)" = 4 ]
"${FR[@]}" kill --all kids KILL
for _ in $(seq 50); do [[ $(prop fr-kids.scope ActiveState) == active ]] || break; sleep 0.1; done
check "kill --all: every process gone, systemd ends the scope" gone fr-kids.scope system.slice/fr-kids.scope
"${FR[@]}" delete kids
check "delete kids leaves nothing" nothing_left kids fr-kids.scope system.slice/fr-kids.scope

# ---- 5. failed creates leave nothing; errors name the unit and systemd's message
b=$(bundle bad missing)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" bad; err=$out
check "missing program: run fails [$err]" [ -n "$err" ]
check "missing program: no unit, cgroup or state left" nothing_left bad fr-bad.scope system.slice/fr-bad.scope
b=$(bundle oomg oomgroup)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" oomg; err=$out
check "a file write systemd cannot express fails clearly [$err]" grep -q "memory.oom.group" <<<"$err"
check "... and leaves nothing" nothing_left oomg fr-oomg.scope system.slice/fr-oomg.scope
b=$(bundle bp badprop)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" bp; err=$out
check "systemd refuses a property: the error names the unit and systemd's message [$err]" \
    grep -q "unit fr-bp.scope: .*NoSuchProperty" <<<"$err"
check "... and leaves nothing" nothing_left bp fr-bp.scope system.slice/fr-bp.scope
b=$(bundle bn badname)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" bn; err=$out
check "a bad annotation name is refused before anything is made [$err]" \
    grep -q 'annotations\["org.systemd.property.bad-name"\]' <<<"$err"
check "... and leaves nothing" nothing_left bn fr-bn.scope system.slice/fr-bn.scope
b=$(bundle sd1 plain)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" sd1
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" sd2; err=$out
check "a second container for a busy scope is refused [$err]" grep -q "fr-c1.scope\|system.slice/fr-c1.scope" <<<"$err"
"${FR[@]}" delete -f sd1; "${FR[@]}" delete -f sd2 2>/dev/null
check "... and leaves nothing" nothing_left sd2 fr-c1.scope system.slice/fr-c1.scope

# ---- 5b. a damaged record (issue 18): one field of the wrong type, the rest still
# JSON. delete -f kills the init and stops its scope before it returns (the same id
# and unit can be created at once), and leaves nothing
d=/tmp/b/dmg; mkdir -p $d; sed "s/system.slice:fr:c1/system.slice:fr:dmg/" /e2e/configs/plain.json > $d/config.json
try "${FR[@]}" --systemd-cgroup run -d --bundle $d dmg
p=$(pid_of dmg)
sed -i 's/"pid": *[0-9][0-9]*/"pid":"damaged"/' /run/fr-e2e/dmg/state.json
try "${FR[@]}" state dmg
check "damaged record: state says so [$out]" grep -q "damaged state record" <<<"$out"
try "${FR[@]}" --systemd-cgroup delete -f dmg; rc=$?
check "damaged record: delete -f succeeds [$out]" [ $rc = 0 ]
check "... the init ($p) is gone" sh -c "! kill -0 $p 2>/dev/null"
check "... fr-dmg.scope is stopped by the time delete returns [$(prop fr-dmg.scope ActiveState)]" \
    gone fr-dmg.scope system.slice/fr-dmg.scope
try "${FR[@]}" --systemd-cgroup run -d --bundle $d dmg
check "... the same id and scope at once [$out]" [ "$(prop fr-dmg.scope ActiveState)" = active ]
"${FR[@]}" delete -f dmg
check "... and then nothing is left" nothing_left dmg fr-dmg.scope system.slice/fr-dmg.scope

# ---- 6. pods: containers in a slice
for c in pa pb; do b=$(bundle $c pod-$([[ $c == pa ]] && echo a || echo b)); try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" $c; done
check "pod slice fastrunpod-p1.slice is active" [ "$(prop fastrunpod-p1.slice ActiveState)" = active ]
check "both scopes in /fastrunpod.slice/fastrunpod-p1.slice" [ "$(prop fr-pa.scope ControlGroup) $(prop fr-pb.scope ControlGroup)" = "/fastrunpod.slice/fastrunpod-p1.slice/fr-pa.scope /fastrunpod.slice/fastrunpod-p1.slice/fr-pb.scope" ]
p=$(pid_of pb)
check "pb's init is in its scope of the pod" grep -qx '0::/fastrunpod.slice/fastrunpod-p1.slice/fr-pb.scope' "/proc/$p/cgroup"
"${FR[@]}" delete -f pa; "${FR[@]}" delete -f pb
check "pod members deleted, nothing left" nothing_left pb fr-pb.scope fastrunpod.slice/fastrunpod-p1.slice/fr-pb.scope
b=$(bundle sl slice-unit)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" sl; err=$out
check "a .slice name: systemd refuses a process in a slice unit; the error says so [$err]" \
    grep -q "unit podx.slice: .*PIDs" <<<"$err"
check "... and leaves nothing" nothing_left sl podx.slice system.slice/podx.slice
(cd "$b" && try "${RC[@]}" --systemd-cgroup run -d sl-runc)
echo "     (runc with the same .slice name: exit $?, $(prop podx.slice ActiveState), init in $(grep ^0:: /proc/$("${RC[@]}" state sl-runc 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')/cgroup 2>/dev/null))"
"${RC[@]}" delete -f sl-runc >/dev/null 2>&1; systemctl stop podx.slice >/dev/null 2>&1

# ---- 7. side by side with runc: the same unit for the same config
b=$(bundle rc runc)
props="Slice ControlGroup Delegate Transient DefaultDependencies MemoryAccounting CPUAccounting IOAccounting TasksAccounting DevicePolicy"
# DeviceAllow as a set; runc 1.1 names the pts major by its /proc/devices group
# (char-pts, fastrun: char-136, the same devices) and still allows /dev/net/tun
# (10:200) by default, which runc 1.2 and fastrun do not
devs() { prop "$1" DeviceAllow | sed 's/^char-pts /char-136 /' | grep -v '^/dev/char/10:200 ' | sort | tr '\n' ,; }
show() { for p in $props; do echo -n "$p=$(prop "$1" "$p") "; done; echo -n "DeviceAllow=$(devs "$1")"; }
(cd "$b" && try "${RC[@]}" --systemd-cgroup run -d rc)
rp=$(show fr-rc.scope)
"${RC[@]}" delete -f rc
check "runc's scope removed" gone fr-rc.scope system.slice/fr-rc.scope
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" rc
fp=$(show fr-rc.scope)
check "same unit properties as runc [runc: $rp] [fastrun: $fp]" [ "$rp" = "$fp" ]
"${FR[@]}" delete -f rc

# ---- libfastrun: the context option systemd_cgroup
if [[ -x /opt/fastrun/libfastrun_run ]]; then
    b=$(bundle lib lib)
    try env LD_LIBRARY_PATH=/opt/fastrun /opt/fastrun/libfastrun_run /run/fr-e2e "$b" lib
    check "libfastrun with systemd_cgroup = 1: the container ran in fr-lib.scope [$(echo $out)]" \
        grep -qx "0::/system.slice/fr-lib.scope" <<<"$out"
    check "... it exited with status 0" grep -q "exit status 0" <<<"$out"
    check "... and nothing is left" nothing_left lib fr-lib.scope system.slice/fr-lib.scope
else
    fail "no libfastrun.so next to the fastrun binary (cargo build --workspace)"
fi

# ---- 8. 20 containers in parallel
for i in $(seq 1 20); do
    d=/tmp/b/par$i; mkdir -p $d; sed "s/system.slice:fr:c1/system.slice:par:$i/" /e2e/configs/plain.json > $d/config.json
    "${FR[@]}" --systemd-cgroup run -d --bundle $d p$i </dev/null >/tmp/b/par$i.out 2>&1 &
done
wait
n=0; for i in $(seq 1 20); do [[ $(prop par-$i.scope ActiveState) == active ]] && n=$((n + 1)); done
check "20 parallel: 20 active scopes [$(cat /tmp/b/par*.out | head -3)]" [ $n = 20 ]
for i in $(seq 1 20); do "${FR[@]}" delete -f p$i >/tmp/b/del$i.out 2>&1 & done; wait
check "20 parallel deletes succeed [$(cat /tmp/b/del*.out | head -3)]" [ -z "$(cat /tmp/b/del*.out)" ]
n=0; for i in $(seq 1 20); do nothing_left p$i par-$i.scope system.slice/par-$i.scope && n=$((n + 1)); done
check "20 parallel deletes: nothing left ($n/20 clean)" [ $n = 20 ]

# ---- 9. containerd (the guest's 1.6): runc.v2 shim with BinaryName + SystemdCgroup,
# and fastrun's own shim with SystemdCgroup = true, each `ctr run --rm`
# (the native snapshotter: the guest's root is an overlay, overlayfs does not nest)
if systemctl start containerd && ctr images import --snapshotter native /e2e/busybox.tar >/dev/null; then
    IMG=docker.io/library/busybox:e2e
    ctr_check() { # ctr_check NAME UNIT CTR-ARGS...
        local name=$1 unit=$2; shift 2
        try timeout 60 ctr run --rm --snapshotter native "$@" --cgroup "system.slice:ctr:$name" $IMG "$name" \
            sh -c "cat /proc/self/cgroup; sleep 0.3"
        # (no cgroup namespace in ctr's spec: the container sees the host's path)
        check "ctr run --rm $name: in its scope [$(echo $out)]" grep -qx "0::/system.slice/$unit" <<<"$out"
        check "... $unit was made by systemd (in the journal) and is gone" sh -c \
            "journalctl -q -u $unit | grep -q . && [ \$(systemctl show -P LoadState $unit) = not-found ]"
    }
    ctr_check runcv2 ctr-runcv2.scope --runtime io.containerd.runc.v2 \
        --runc-binary /opt/fastrun/fastrun --runc-systemd-cgroup
    if [[ -x /opt/fastrun/containerd-shim-fastrun-v2 ]]; then
        ln -sf /opt/fastrun/containerd-shim-fastrun-v2 /usr/local/bin/
        printf 'SystemdCgroup = true\n' > /tmp/shim.toml
        ctr_check native ctr-native.scope --runtime io.containerd.fastrun.v2 \
            --runtime-config-path /tmp/shim.toml
    else
        fail "no containerd-shim-fastrun-v2 next to the fastrun binary (cargo build --workspace)"
    fi
else
    fail "containerd does not start in the guest: $(systemctl status containerd 2>&1 | tail -3)"
fi

# ---- 10. rootless: the user's systemd instance. A lingering user (uid 1000): logind
# starts its manager (user@1000.service, Delegate=yes) and its bus; the test runs as
# a transient service of that manager (tests/systemd/in-guest-rootless.sh)
if id frtest >/dev/null 2>&1 || useradd --uid 1000 --create-home --shell /bin/bash frtest; then
    loginctl enable-linger frtest
    for _ in $(seq 150); do
        [[ $(systemctl show -P ActiveState user@1000.service) == active && -S /run/user/1000/bus ]] && break
        sleep 0.1
    done
    check "the user's manager runs (user@1000.service $(systemctl show -P ActiveState user@1000.service))" \
        [ -S /run/user/1000/systemd/private ]
    timeout 120 runuser -u frtest -- env XDG_RUNTIME_DIR=/run/user/1000 \
        systemd-run --user --quiet --wait --pipe --collect /bin/bash /e2e/in-guest-rootless.sh </dev/null
    check "rootless with the user's systemd: every check above passed" [ $? = 0 ]
else
    fail "cannot add the user frtest"
fi

# ---- 11. start latency (FASTRUN_SYSTEMD_BENCH=N: N interleaved rounds)
[[ -n ${FASTRUN_SYSTEMD_BENCH:-} ]] && bash /e2e/bench-in-guest.sh "$FASTRUN_SYSTEMD_BENCH"

echo "in-guest: $failures failure(s)"
[ $failures = 0 ]
