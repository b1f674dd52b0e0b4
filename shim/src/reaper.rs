//! Reaping: the shim is a child subreaper and the parent of every container init
//! and exec'd process. A thread waits for SIGCHLD on a signalfd and reaps.
//!
//! The engine itself waits for some children it forks (hooks) while it runs an
//! operation: while one is in progress ([`Service::busy`]), only processes the
//! shim registered are reaped; a reap pass runs again when it ends.

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

/// Start the reaper thread on a signalfd (SIGCHLD blocked by [`block_sigchld`]).
pub fn start(svc: Arc<Service>) -> Result<(), String> {
    let set = sigchld_set();
    // SAFETY: a valid sigset.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(format!("signalfd: {}", std::io::Error::last_os_error()));
    }
    std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || loop {
            let mut buf = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
            // SAFETY: reading into a buffer of the given size from our signalfd.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return;
            }
            svc.reap_pass();
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
