//! Signal masks and signalfds.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use super::{cvt, Errno, SysResult};

/// A signal set (`sigset_t`).
#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    /// The empty set.
    pub fn empty() -> SigSet {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        SigSet(set)
    }

    /// Every signal.
    pub fn full() -> SigSet {
        let mut s = SigSet::empty();
        // SAFETY: `s.0` is a valid sigset_t.
        unsafe { libc::sigfillset(&mut s.0) };
        s
    }

    /// Add `sig` (an invalid number is ignored).
    pub fn add(&mut self, sig: libc::c_int) {
        // SAFETY: `self.0` is a valid sigset_t; EINVAL for a bad number is ignored.
        unsafe { libc::sigaddset(&mut self.0, sig) };
    }

    /// Remove `sig` (an invalid number is ignored).
    pub fn remove(&mut self, sig: libc::c_int) {
        // SAFETY: as in `add`.
        unsafe { libc::sigdelset(&mut self.0, sig) };
    }

    /// The raw set, for the calls that take one.
    pub fn as_raw(&self) -> &libc::sigset_t {
        &self.0
    }

    /// Block the set in the calling thread; returns the previous mask.
    pub fn block(&self) -> SysResult<SigSet> {
        let mut old = SigSet::empty();
        // SAFETY: valid sigsets; pthread_sigmask returns the error number.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &self.0, &mut old.0) };
        if rc != 0 {
            return Err(Errno(rc));
        }
        Ok(old)
    }

    /// Make the set the calling thread's mask.
    pub fn set_mask(&self) {
        // SAFETY: a valid sigset; the old mask is not wanted.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }

    /// Dequeue every pending signal of the set (which must be blocked).
    pub fn drain_pending(&self) {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid mask and timespec; the siginfo pointer may be null. Each call
        // dequeues one pending signal of the (blocked) mask, or fails with EAGAIN.
        while unsafe { libc::sigtimedwait(&self.0, std::ptr::null_mut(), &zero) } > 0 {}
    }

    /// A signalfd for the set (which must be blocked), with `flags`
    /// (`SFD_CLOEXEC` is always added).
    pub fn signalfd(&self, flags: libc::c_int) -> SysResult<OwnedFd> {
        // SAFETY: signalfd over a valid mask.
        let fd = cvt(unsafe { libc::signalfd(-1, &self.0, flags | libc::SFD_CLOEXEC) })?;
        // SAFETY: a fresh fd we own.
        Ok(unsafe { super::fd::adopt(fd) })
    }
}

/// Read one signal from a signalfd (None on a short or failed read).
pub fn read_signal(sfd: BorrowedFd<'_>) -> Option<i32> {
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

/// `kill(pid, sig)` (a negative pid: the process group).
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> SysResult<()> {
    // SAFETY: kill takes integers; the kernel checks them.
    cvt(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// Ignore SIGPIPE: a write to a closed pipe fails with EPIPE instead.
pub fn ignore_sigpipe() {
    // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}
