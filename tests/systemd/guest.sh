#!/usr/bin/env bash
# A real systemd to test the systemd cgroup driver against, on a machine without
# systemd as PID 1: a Debian bookworm rootfs booted with systemd-nspawn as a pure
# cgroup v2 guest.
#
#   tests/systemd/guest.sh boot DIR [BIND...]   boot; prints the guest's PID 1 (host pid)
#   tests/systemd/guest.sh stop DIR             power it off, remove what it left
#
# DIR holds this guest's state (pids, log); BIND is a --bind-ro=HOST:GUEST argument.
# The rootfs is built once with mmdebstrap (~1 min) into $FASTRUN_SYSTEMD_ROOTFS
# (default /var/cache/fastrun-ci/systemd-bookworm-<hash of the package list>: a
# worktree with another list builds its own instead of rebuilding this one) and
# booted with --volatile=overlay: the guest's writes go to a tmpfs, so every boot
# starts clean and several guests can share the cache.
# Every guest has its own machine name and cgroup2 node, derived from DIR.
set -euo pipefail

BOOT_TIMEOUT=${BOOT_TIMEOUT:-120}
# dbus-user-session: the user's bus ($XDG_RUNTIME_DIR/bus) that runc's rootless
# systemd driver needs (and libpam-systemd, for the user's manager)
PACKAGES=systemd,systemd-sysv,dbus,dbus-user-session,busybox-static,containerd,runc
ROOTFS=${FASTRUN_SYSTEMD_ROOTFS:-/var/cache/fastrun-ci/systemd-bookworm-$(echo -n "$PACKAGES" | md5sum | cut -c1-8)}
MASK="apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
fstrim.timer e2scrub_reap.service getty@tty1.service console-getty.service \
systemd-pstore.service systemd-networkd-wait-online.service"

log() { echo "guest.sh: $*" >&2; }
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

cmd=${1:-}
SD=${2:-}
[[ -n $cmd && -n $SD ]] || { echo "usage: $0 boot|stop DIR [--bind-ro=HOST:GUEST...]" >&2; exit 2; }
shift 2
mkdir -p "$SD"
SD=$(cd "$SD" && pwd)
# machine name and cgroup node: unique per state dir
MACHINE=fastrun-sd-$(echo -n "$SD" | md5sum | cut -c1-8)
CG=/sys/fs/cgroup/unified/$MACHINE
[[ -d /sys/fs/cgroup/unified ]] || CG=/sys/fs/cgroup/$MACHINE

build_rootfs() {
    local stamp="$ROOTFS/.fastrun-packages"
    [[ -x $ROOTFS/lib/systemd/systemd && $(cat "$stamp" 2>/dev/null) == "$PACKAGES" ]] && return 0
    mkdir -p "$(dirname "$ROOTFS")"
    # one builder at a time (several worktrees may run CI at once)
    exec 9>"$ROOTFS.lock"
    flock -w 600 9 || { log "timed out waiting for $ROOTFS.lock"; return 1; }
    [[ -x $ROOTFS/lib/systemd/systemd && $(cat "$stamp" 2>/dev/null) == "$PACKAGES" ]] && return 0
    # the host's own package mirror
    local mirror
    mirror=${MIRROR:-$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
        grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'; } \
        2>/dev/null | head -1 || true)}
    log "building $ROOTFS ($PACKAGES) from ${mirror:-the default mirror}"
    local t0=$SECONDS tmp="$ROOTFS.new"
    rm -rf "$tmp"
    mmdebstrap --variant=minbase --include="$PACKAGES" \
        --customize-hook="chroot \"\$1\" systemctl mask $MASK" \
        --customize-hook='echo sdguest > "$1/etc/hostname"' \
        --customize-hook='mkdir -p "$1/e2e" "$1/opt/fastrun"' \
        bookworm "$tmp" ${mirror:+"$mirror"} >&2
    echo "$PACKAGES" > "$tmp/.fastrun-packages"
    rm -rf "$ROOTFS"
    mv "$tmp" "$ROOTFS"
    log "rootfs built in $((SECONDS - t0)) s, $(du -sh "$ROOTFS" | cut -f1)"
}

boot() {
    if alive "$(cat "$SD/nspawn.pid" 2>/dev/null)"; then
        log "already running"; cat "$SD/leader.pid"; return 0
    fi
    command -v systemd-nspawn >/dev/null && command -v mmdebstrap >/dev/null ||
        { log "needs systemd-nspawn (systemd-container) and mmdebstrap (.ci/setup installs them)"; return 1; }
    build_rootfs
    # nspawn's own seccomp allow-list blocks add_key/keyctl (runtimes make a session
    # keyring per container) and bpf() (cgroup v2 device programs): allow both.
    # No systemd on the host: --register=no (no machined) and --keep-unit (no scope
    # over the host's D-Bus); nspawn then nests the guest below its own cgroup, so it
    # starts from a cgroup2 node of its own.
    mkdir -p "$CG"
    : > "$SD/nspawn.log"
    local t0
    t0=$(date +%s.%N)
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setsid bash -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$CG" \
        systemd-nspawn --quiet --register=no --keep-unit --private-network \
        --system-call-filter="@keyring bpf" --volatile=overlay \
        --machine="$MACHINE" --console=read-only "$@" \
        -D "$ROOTFS" -b > "$SD/nspawn.log" 2>&1 < /dev/null &
    local nspawn=$! leader=
    echo "$nspawn" > "$SD/nspawn.pid"
    # the leader: nspawn's child that execs systemd
    for _ in $(seq 1 $((BOOT_TIMEOUT * 10))); do
        alive "$nspawn" || { log "systemd-nspawn exited:"; cat "$SD/nspawn.log" >&2; return 1; }
        for c in $(cat /proc/"$nspawn"/task/*/children 2>/dev/null); do
            [[ $(cat /proc/"$c"/comm 2>/dev/null) == systemd ]] && leader=$c
        done
        [[ -n $leader ]] && break
        sleep 0.1
    done
    [[ -n $leader ]] || { log "no guest systemd after ${BOOT_TIMEOUT}s"; return 1; }
    echo "$leader" > "$SD/leader.pid"
    local state=
    for _ in $(seq 1 $((BOOT_TIMEOUT * 5))); do
        state=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null) || true
        case $state in running|degraded) break;; esac
        sleep 0.2
    done
    log "guest $MACHINE: $state after $(echo "$(date +%s.%N) - $t0" | bc) s (nspawn $nspawn, leader $leader)"
    case $state in running|degraded) ;; *) log "boot did not finish; see $SD/nspawn.log"; return 1;; esac
    echo "$leader"
}

stop() {
    local nspawn leader
    nspawn=$(cat "$SD/nspawn.pid" 2>/dev/null || true)
    leader=$(cat "$SD/leader.pid" 2>/dev/null || true)
    if alive "$nspawn"; then
        # SIGRTMIN+4 to the guest's PID 1: poweroff (no D-Bus needed)
        alive "$leader" && kill -s SIGRTMIN+4 "$leader"
        for _ in $(seq 1 600); do alive "$nspawn" || break; sleep 0.1; done
        if alive "$nspawn"; then
            log "guest did not power off in 60 s: SIGTERM to nspawn $nspawn"
            kill "$nspawn"
            for _ in $(seq 1 100); do alive "$nspawn" || break; sleep 0.1; done
            alive "$nspawn" && kill -KILL "$nspawn"
        fi
    fi
    rm -f "$SD/nspawn.pid" "$SD/leader.pid"
    # our cgroup2 node (deepest first), and the name=systemd v1 one nspawn makes on hybrid
    for d in "$CG" "/sys/fs/cgroup/systemd/$MACHINE"; do
        [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        [[ -d $d ]] && { log "$d still busy"; return 1; }
    done
    rmdir /run/systemd/nspawn/propagate/"$MACHINE" 2>/dev/null || true
    return 0
}

case $cmd in
    boot) boot "$@" ;;
    stop) stop ;;
    *) echo "usage: $0 boot|stop DIR [--bind-ro=HOST:GUEST...]" >&2; exit 2 ;;
esac
