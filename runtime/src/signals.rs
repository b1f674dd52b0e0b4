//! Signal forwarding for the foreground commands (`run`, `exec` without
//! `--detach`): block what can be forwarded before the clone (the child unblocks
//! before exec), then relay every signal that arrives to the container process
//! through its pidfd until it exits.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::spawn::Init;
use crate::sys::pidfd;

/// The signals to forward: everything but SIGCHLD, the unblockable and the
/// synchronous fault signals.
pub(crate) fn forwardable() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data initialised by sigfillset/sigdelset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for s in [
            libc::SIGCHLD,
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
        ] {
            libc::sigdelset(&mut set, s);
        }
        set
    }
}

pub(crate) fn block(set: &libc::sigset_t) -> Result<libc::sigset_t> {
    // SAFETY: valid sigsets; the old mask is written to `old`.
    unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        if libc::pthread_sigmask(libc::SIG_BLOCK, set, &mut old) != 0 {
            return Err(Error::last_os("block signals"));
        }
        Ok(old)
    }
}

/// Dequeue every pending signal of `mask` (blocked): used before restoring the
/// mask once the container has exited.
pub(crate) fn drain_pending(mask: &libc::sigset_t) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid mask and timespec; the siginfo pointer may be null. Each call
    // dequeues one pending signal of the (blocked) mask, or fails with EAGAIN.
    while unsafe { libc::sigtimedwait(mask, std::ptr::null_mut(), &zero) } > 0 {}
}

pub(crate) fn restore(old: &libc::sigset_t) {
    // SAFETY: restoring a mask saved by `block`.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

/// A signalfd for `mask` (which must be blocked), close-on-exec.
pub(crate) fn signalfd(mask: &libc::sigset_t) -> Result<OwnedFd> {
    // SAFETY: signalfd over a valid mask; we own the returned fd.
    let sfd = unsafe { libc::signalfd(-1, mask, libc::SFD_CLOEXEC) };
    if sfd < 0 {
        return Err(Error::last_os("signalfd"));
    }
    // SAFETY: a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(sfd) })
}

/// Read one signal from a signalfd (None on a short or failed read).
pub(crate) fn read_signal(sfd: &OwnedFd) -> Option<i32> {
    // SAFETY: signalfd_siginfo is plain data; read fills it.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: `info` is valid for `size` bytes.
    let got = unsafe {
        libc::read(
            sfd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    (got == size as isize).then_some(info.ssi_signo as i32)
}

pub(crate) fn forward_until_exit(init: &Init, mask: &libc::sigset_t) -> Result<i32> {
    let sfd = signalfd(mask)?;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: init.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::last_os("poll"));
        }
        if fds[1].revents & libc::POLLIN != 0 {
            if let Some(sig) = read_signal(&sfd) {
                let _ = pidfd::send_signal(init.pidfd.as_raw_fd(), sig);
            }
        }
        if fds[0].revents & libc::POLLIN != 0 {
            return init.wait();
        }
    }
}
