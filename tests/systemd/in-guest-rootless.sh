#!/bin/bash
# Rootless with the user's systemd instance, inside the systemd guest: run by
# tests/systemd/in-guest.sh as an unprivileged user (uid 1000, lingering), as a
# transient service of that user's manager (`systemd-run --user`), so the runtime
# sits in the user's own tree as in a desktop or rootless-podman session. fastrun
# --systemd-cgroup against the user's manager, runc alongside for the contract.
# Prints one line per check; exits non-zero if any failed.
set -u
export PATH=/opt/fastrun:$PATH
FR=(fastrun --root "$XDG_RUNTIME_DIR/fr-e2e")
RC=(runc --root "$XDG_RUNTIME_DIR/runc-e2e")
failures=0
pass() { echo "ok   - rootless: $*"; }
fail() { echo "FAIL - rootless: $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
prop() { systemctl --user show -P "$2" "$1"; }
bundle() { # bundle NAME CONFIG -> prints the bundle dir
    local d=$HOME/b/$1; mkdir -p "$d"; cp "/e2e/configs/$2.json" "$d/config.json"; echo "$d"; }
try() { "$@" </dev/null >"$HOME/out" 2>&1; local r=$?; out=$(cat "$HOME/out"); return $r; }
pid_of() { "${FR[@]}" state "$1" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
# the user's manager puts its units under its own cgroup
mcg=$(systemctl --user show -P ControlGroup)
gone() { # gone UNIT CGROUP(relative to the manager's)
    [[ $(prop "$1" LoadState) == not-found && ! -e /sys/fs/cgroup$mcg/$2 ]]; }
nothing_left() { gone "$2" "$3" && ! "${FR[@]}" state "$1" >/dev/null 2>&1; }

echo "rootless: uid $(id -u), XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR, user manager $(systemctl --user is-system-running)" \
     "in $mcg, runtime in $(grep ^0:: /proc/self/cgroup | cut -d: -f3)," \
     "bus $(ls "$XDG_RUNTIME_DIR"/bus "$XDG_RUNTIME_DIR"/systemd/private 2>&1 | tr '\n' ' ')"

# ---- the scope in the user's manager
b=$(bundle r1 rootless)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" r1
check "run -d r1 (--systemd-cgroup) succeeds [$out]" [ "$(prop frr-r1.scope ActiveState)" = active ]
check "frr-r1.scope: Delegate=yes, Transient=yes, Slice=user.slice (the user manager's)" \
    [ "$(prop frr-r1.scope Delegate) $(prop frr-r1.scope Transient) $(prop frr-r1.scope Slice)" = "yes yes user.slice" ]
check "frr-r1.scope: ControlGroup under the manager's ($mcg/user.slice/frr-r1.scope)" \
    [ "$(prop frr-r1.scope ControlGroup)" = "$mcg/user.slice/frr-r1.scope" ]
p=$(pid_of r1)
check "the init ($p) is in the scope [$(grep ^0:: /proc/$p/cgroup)]" \
    grep -qx "0::$mcg/user.slice/frr-r1.scope" "/proc/$p/cgroup"
check "the scope's cgroup is the user's (delegated)" \
    [ "$(stat -c %u "/sys/fs/cgroup$mcg/user.slice/frr-r1.scope/cgroup.procs")" = "$(id -u)" ]
check "ps lists the init" sh -c "${FR[*]} ps --format json r1 | grep -qw $p"
"${FR[@]}" exec -d r1 sleep 500
check "exec joins the scope (2 processes)" \
    [ "$(wc -l < "/sys/fs/cgroup$mcg/user.slice/frr-r1.scope/cgroup.procs")" = 2 ]
"${FR[@]}" pause r1
check "pause freezes the scope" [ "$(cat "/sys/fs/cgroup$mcg/user.slice/frr-r1.scope/cgroup.freeze")" = 1 ]
"${FR[@]}" resume r1
check "resume thaws it" [ "$(cat "/sys/fs/cgroup$mcg/user.slice/frr-r1.scope/cgroup.freeze")" = 0 ]
check "events --stats answers" sh -c "${FR[*]} events --stats r1 | grep -q '\"type\":\"stats\"'"
"${FR[@]}" kill --all r1 KILL
for _ in $(seq 50); do [[ $(prop frr-r1.scope ActiveState) == active ]] || break; sleep 0.1; done
check "kill --all: every process gone" [ "$(prop frr-r1.scope ActiveState)" != active ]
check "delete r1 succeeds" "${FR[@]}" delete r1
check "delete leaves no unit, no cgroup, no state" nothing_left r1 frr-r1.scope user.slice/frr-r1.scope

# ---- limits as unit properties of the user's manager; update
b=$(bundle rl rootless-limits)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" rl; err=$out
check "run -d rl (limits) succeeds [$err]" [ "$(prop frr-rl.scope ActiveState)" = active ]
want="MemoryMax=104857600 TasksMax=64 CPUWeight=20"
have=""; for kv in $want; do have+="${kv%%=*}=$(prop frr-rl.scope "${kv%%=*}") "; done
check "unit properties match linux.resources [$have]" [ "${have% }" = "$want" ]
"${FR[@]}" update --memory 200M --pids-limit 50 rl
check "update sets the unit's properties" [ "$(prop frr-rl.scope MemoryMax) $(prop frr-rl.scope TasksMax)" = "209715200 50" ]
"${FR[@]}" delete -f rl
check "delete -f rl leaves nothing" nothing_left rl frr-rl.scope user.slice/frr-rl.scope

# ---- a failed create leaves nothing
b=$(bundle rbad rootless-missing)
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" rbad
check "missing program: run fails [$out]" [ -n "$out" ]
check "... and leaves nothing" nothing_left rbad frr-rbad.scope user.slice/frr-rbad.scope

# ---- a foreground run
b=$(bundle rfg rootless-true)
try "${FR[@]}" --systemd-cgroup run --bundle "$b" rfg; rc=$?
check "run in the foreground: exit 0 [$out]" [ $rc = 0 ]
check "... and it leaves nothing" nothing_left rfg frr-rt.scope user.slice/frr-rt.scope

# ---- side by side with runc (rootless, --systemd-cgroup): the same unit
props="Slice ControlGroup Delegate Transient DefaultDependencies MemoryAccounting CPUAccounting IOAccounting TasksAccounting DevicePolicy"
# DeviceAllow as a set, runc 1.1's names normalised (see in-guest.sh, section 7)
devs() { prop "$1" DeviceAllow | sed 's/^char-pts /char-136 /' | grep -v '^/dev/char/10:200 ' | sort | tr '\n' ,; }
show() { for p in $props; do echo -n "$p=$(prop "$1" "$p") "; done; echo -n "DeviceAllow=$(devs "$1")"; }
b=$(bundle rrc rootless)
sed -i 's/:frr:r1"/:frr:rrc"/' "$b/config.json"
(cd "$b" && try "${RC[@]}" --systemd-cgroup run -d rrc); rrc=$?; out=$(cat "$HOME/out")
rp=$(show frr-rrc.scope)
check "runc rootless --systemd-cgroup runs [exit $rrc: $out]" [ "$(prop frr-rrc.scope ActiveState)" = active ]
"${RC[@]}" delete -f rrc
check "runc's scope removed" gone frr-rrc.scope user.slice/frr-rrc.scope
try "${FR[@]}" --systemd-cgroup run -d --bundle "$b" rrc
fp=$(show frr-rrc.scope)
check "same unit properties as runc [runc: $rp] [fastrun: $fp]" [ "$rp" = "$fp" ]
"${FR[@]}" delete -f rrc
# runc with limits, for the record (it writes them to the files too)
b=$(bundle rrl rootless-limits)
sed -i 's/:frr:rl"/:frr:rrl"/' "$b/config.json"
(cd "$b" && try "${RC[@]}" --systemd-cgroup run -d rrl); rrl=$?; out=$(cat "$HOME/out")
echo "     (runc rootless with the limits: exit $rrl, $(prop frr-rrl.scope ActiveState), MemoryMax=$(prop frr-rrl.scope MemoryMax) TasksMax=$(prop frr-rrl.scope TasksMax) [$(echo $out | cut -c1-200)])"
"${RC[@]}" delete -f rrl >/dev/null 2>&1

echo "rootless: $failures failure(s)"
[ $failures = 0 ]
