//! Reaping: the shim is a child subreaper and the parent of every container init
//! and exec'd process. A thread waits for SIGCHLD on a signalfd and reaps (and
//! serves the OOM watcher's descriptor too, see `oom`).
//!
//! The engine itself waits for some children it forks (hooks) while it runs an
//! operation: while one is in progress ([`Service::busy`]), only processes the
//! shim registered are reaped; a reap pass runs again when it ends.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use crate::service::Service;

fn sigchld_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; the calls initialise it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        set
    }
}

/// Block SIGCHLD in this thread, so in every thread spawned after: call it before
/// any thread exists, else SIGCHLD goes to a thread that ignores it.
pub fn block_sigchld() -> Result<(), String> {
    let set = sigchld_set();
    // SAFETY: a valid sigset.
    if unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
        return Err("block SIGCHLD".into());
    }
    Ok(())
}

/// Start the reaper thread. It waits (epoll) on a signalfd for SIGCHLD (blocked by
/// [`block_sigchld`]) and on the OOM watcher's descriptor, and runs an OOM pass or
/// a reap pass for what is ready: one thread for both.
pub fn start(svc: Arc<Service>) -> Result<(), String> {
    const SIGNAL: u64 = 0;
    const OOM: u64 = 1;
    let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    let set = sigchld_set();
    // SAFETY: a valid sigset.
    let sfd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if sfd < 0 {
        return Err(os("signalfd"));
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let sfd = unsafe { OwnedFd::from_raw_fd(sfd) };
    // SAFETY: epoll_create1 takes a flag and returns a new descriptor or -1.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(os("epoll_create1"));
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let ep = unsafe { OwnedFd::from_raw_fd(ep) };
    for (fd, token) in [(sfd.as_raw_fd(), SIGNAL), (svc.oom_fd(), OOM)] {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: open descriptors; `ev` lives across the call.
        if unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            return Err(os("epoll_ctl"));
        }
    }
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || loop {
            let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 2];
            // SAFETY: `evs` has room for 2 events and lives across the call.
            let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), evs.as_mut_ptr(), 2, -1) };
            let Ok(n) = usize::try_from(n) else {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("reaper: {}", os("epoll_wait"));
                return;
            };
            let ready = |token: u64| evs[..n].iter().any(|e| e.u64 == token);
            if ready(OOM) {
                svc.oom_pass();
            }
            if ready(SIGNAL) {
                // Drain the pending SIGCHLDs (coalesced: one pass reaps them all).
                let mut buf = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
                // SAFETY: reading into a buffer of its size from our signalfd.
                while unsafe { libc::read(sfd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0
                {
                }
                svc.reap_pass();
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Peek at a child that has exited without reaping it.
pub fn peek_exited() -> Option<i32> {
    // SAFETY: siginfo_t is plain data; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer; WNOWAIT leaves the child waitable.
    let r = unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: set by a successful waitid (0 when no child has exited).
    let pid = unsafe { info.si_pid() };
    (pid > 0).then_some(pid)
}

/// Reap `pid` if it has exited: its exit code (128+N for signal N).
pub fn try_reap(pid: i32) -> Option<i32> {
    let mut status = 0;
    // SAFETY: valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r != pid {
        return None;
    }
    Some(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    })
}
