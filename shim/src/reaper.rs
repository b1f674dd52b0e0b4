//! Reaping: the shim is a child subreaper and the parent of every container init
//! and exec'd process. A thread waits for SIGCHLD on a signalfd and reaps (and
//! serves the OOM watcher's descriptor too, see `oom`).
//!
//! The engine itself waits for some children it forks (hooks) while it runs an
//! operation: while one is in progress (the service's `busy` count), only
//! processes the shim registered are reaped; a reap pass runs again when it ends.
//! This module knows nothing of the service: it calls the closures it is given.
//!
//! Not yet on the engine's own mechanism (`fastrun_runtime::children`, what
//! libfastrun uses: `create_owned`, `exec_detached` with `reap`, pidfds and
//! `waitid(P_PIDFD)`; issue #19 asks that the shim end up on it). Moving it takes:
//! 1. in `children`: keep the exit status of reaped exec'd processes too (it drops
//!    them) and tell a listener of every exit, (pid, status), e.g. an eventfd plus a
//!    queue, instead of only `wait(id)`, so that the shim can publish `TaskExit` for
//!    inits and execs without polling;
//! 2. in the service: `create_owned` instead of `create`, `exec_detached(.., true)`
//!    instead of `exec` with a pid file, the exits from that listener, and no `busy`
//!    count (the engine's waits for hooks no longer race a `wait(-1)`);
//! 3. keep a reap pass here for the orphans the shim inherits as a child subreaper
//!    (processes whose parent died, in containers without a pid namespace): they are
//!    known to no registry, so only a `waitpid(-1)` loop finds them. It may reap an
//!    owned child first: on Linux 6.15+ the registry still gets the status from the
//!    pidfd (`PIDFD_INFO_EXIT`), on older kernels it would be lost, so the pass must
//!    then skip the registry's pids (peek with `WNOWAIT`, as `reap_pass` does now);
//! 4. the containerd end-to-end tests (`tests/e2e/e2e_shim.rs`, `tests/e2e/e2e_containerd.rs`)
//!    as the proof.

use std::os::fd::{AsRawFd, RawFd};

use fastrun_runtime::sys::signal::SigSet;
use fastrun_runtime::sys::{event, fs, pidfd, process};

fn sigchld_set() -> SigSet {
    let mut set = SigSet::empty();
    set.add(libc::SIGCHLD);
    set
}

/// Block SIGCHLD in this thread, so in every thread spawned after: call it before
/// any thread exists, else SIGCHLD goes to a thread that ignores it.
pub fn block_sigchld() -> Result<(), String> {
    sigchld_set()
        .block()
        .map(drop)
        .map_err(|_| "block SIGCHLD".into())
}

/// Start the reaper thread. It waits (epoll) on a signalfd for SIGCHLD (blocked by
/// [`block_sigchld`]) and on the OOM watcher's descriptor `oom_fd`, and runs
/// `oom_pass` or `reap_pass` for what is ready: one thread for both.
pub fn start(
    oom_fd: RawFd,
    oom_pass: impl Fn() + Send + 'static,
    reap_pass: impl Fn() + Send + 'static,
) -> Result<(), String> {
    const SIGNAL: u64 = 0;
    const OOM: u64 = 1;
    let os = |what: &str, e: fastrun_runtime::sys::Errno| format!("{what}: {}", e.into_io());
    let sfd = sigchld_set()
        .signalfd(libc::SFD_NONBLOCK)
        .map_err(|e| os("signalfd", e))?;
    let ep = event::epoll().map_err(|e| os("epoll_create1", e))?;
    for (fd, token) in [(sfd.as_raw_fd(), SIGNAL), (oom_fd, OOM)] {
        event::epoll_ctl(&ep, libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN as u32, token)
            .map_err(|e| os("epoll_ctl", e))?;
    }
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || loop {
            let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 2];
            let evs = match event::epoll_wait(&ep, &mut evs, -1) {
                Ok(evs) => evs,
                Err(e) => {
                    log::error!("reaper: {}", os("epoll_wait", e));
                    return;
                }
            };
            let ready = |token: u64| evs.iter().any(|e| e.u64 == token);
            if ready(OOM) {
                oom_pass();
            }
            if ready(SIGNAL) {
                // Drain the pending SIGCHLDs (coalesced: one pass reaps them all).
                let mut buf = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
                while matches!(fs::read(sfd.as_raw_fd(), &mut buf), Ok(1..)) {}
                reap_pass();
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Peek at a child that has exited without reaping it.
pub fn peek_exited() -> Option<i32> {
    process::exited_child()
        .ok()
        .flatten()
        .filter(|&pid| pid > 0)
}

/// Reap `pid` if it has exited: its exit code (128+N for signal N).
pub fn try_reap(pid: i32) -> Option<i32> {
    process::waitpid_nohang(pid)
        .ok()
        .flatten()
        .map(pidfd::exit_code)
}
