//! File descriptors the parent owns: every call here that makes an fd returns an
//! [`OwnedFd`], so that no caller outside `sys/` ever adopts a raw number.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{cvt, retry, SysResult};

/// An fd closed on drop, for the child executor (no allocation, no `OwnedFd`
/// bookkeeping): what `rootfs` and `spawn::child` hold their fds in.
pub struct Fd(pub libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        super::fs::close(self.0);
    }
}

impl Fd {
    /// The same fd as an [`OwnedFd`] (the parent's side).
    pub fn into_owned(self) -> OwnedFd {
        let fd = self.0;
        std::mem::forget(self);
        // SAFETY: an `Fd` owns its number; `self` is consumed without closing it.
        unsafe { adopt(fd) }
    }
}

/// Adopt an fd this module (or another `sys` call) has just been handed by the
/// kernel.
///
/// # Safety
/// `fd` must be open and owned by nobody else.
pub(crate) unsafe fn adopt(fd: RawFd) -> OwnedFd {
    // SAFETY: the caller guarantees `fd` is open and exclusively ours.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A close-on-exec duplicate of `fd` numbered `min` or above (`F_DUPFD_CLOEXEC`),
/// e.g. to keep it out of the 0..3+N range that `--preserve-fds` hands on.
pub fn dup_above(fd: impl AsFd, min: RawFd) -> SysResult<OwnedFd> {
    // SAFETY: fcntl on a borrowed, open fd; the result is a fresh fd.
    let new = cvt(unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new fd nobody else owns.
    Ok(unsafe { adopt(new) })
}

/// `pipe2(flags)`: (read end, write end).
pub fn pipe2(flags: libc::c_int) -> SysResult<(OwnedFd, OwnedFd)> {
    let mut p = [-1 as libc::c_int; 2];
    // SAFETY: `p` is a valid out-array of two ints.
    cvt(unsafe { libc::pipe2(p.as_mut_ptr(), flags) })?;
    // SAFETY: pipe2 returned two fresh fds we own.
    Ok(unsafe { (adopt(p[0]), adopt(p[1])) })
}

/// `socketpair(AF_UNIX, ty, 0)`.
pub fn socketpair(ty: libc::c_int) -> SysResult<(OwnedFd, OwnedFd)> {
    let mut p = [-1 as libc::c_int; 2];
    // SAFETY: `p` is a valid out-array of two ints.
    cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, p.as_mut_ptr()) })?;
    // SAFETY: socketpair returned two fresh fds we own.
    Ok(unsafe { (adopt(p[0]), adopt(p[1])) })
}

/// `openat(dirfd, path, flags, mode)` as an owned fd (callers pass O_CLOEXEC).
pub fn open_at(
    dirfd: RawFd,
    path: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> SysResult<OwnedFd> {
    let fd = super::fs::openat(dirfd, path, flags, mode)?;
    // SAFETY: openat returned a fresh fd we own.
    Ok(unsafe { adopt(fd) })
}

/// `openat2` as an owned fd (see [`super::fs::openat2`]).
pub fn open_at2(
    dirfd: RawFd,
    path: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
    resolve: u64,
) -> SysResult<OwnedFd> {
    let fd = super::fs::openat2(dirfd, path, flags, mode, resolve)?;
    // SAFETY: openat2 returned a fresh fd we own.
    Ok(unsafe { adopt(fd) })
}

/// Whether `fd` is open, and if so whether it is close-on-exec (`F_GETFD`).
pub fn cloexec(fd: RawFd) -> Option<bool> {
    // SAFETY: F_GETFD reads the descriptor flags of any number; EBADF if not open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    (flags >= 0).then_some(flags & libc::FD_CLOEXEC != 0)
}

/// Add `O_NONBLOCK` to the status flags of `fd`.
pub fn set_nonblocking(fd: impl AsFd) -> SysResult<()> {
    // SAFETY: F_GETFL / F_SETFL on a borrowed, open fd.
    let flags = cvt(unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe {
        libc::fcntl(
            fd.as_fd().as_raw_fd(),
            libc::F_SETFL,
            flags | libc::O_NONBLOCK,
        )
    })?;
    Ok(())
}

/// `flock(fd, op)`, retried on EINTR (a blocking lock waits for the holder).
pub fn flock(fd: impl AsFd, op: libc::c_int) -> SysResult<()> {
    // SAFETY: flock on a borrowed, open fd.
    retry(|| cvt(unsafe { libc::flock(fd.as_fd().as_raw_fd(), op) })).map(drop)
}

/// `mkfifo(path, mode)`.
pub fn mkfifo(path: &CStr, mode: libc::mode_t) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated.
    cvt(unsafe { libc::mkfifo(path.as_ptr(), mode) }).map(drop)
}

/// `unlinkat(dirfd, name, flags)`.
pub fn unlinkat(dirfd: RawFd, name: &CStr, flags: libc::c_int) -> SysResult<()> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::unlinkat(dirfd, name.as_ptr(), flags) }).map(drop)
}

/// `memfd_create(name, flags)` as an owned fd.
pub fn memfd_create(name: &CStr, flags: libc::c_uint) -> SysResult<OwnedFd> {
    // SAFETY: `name` is NUL-terminated; integer flags.
    let ret = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) };
    let fd = super::cvt_long(ret)? as RawFd;
    // SAFETY: memfd_create returned a fresh fd we own.
    Ok(unsafe { adopt(fd) })
}

/// `fcntl(fd, F_ADD_SEALS, seals)`.
pub fn add_seals(fd: impl AsFd, seals: libc::c_int) -> SysResult<()> {
    // SAFETY: fcntl on a borrowed, open fd.
    cvt(unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_ADD_SEALS, seals) }).map(drop)
}

/// `dup2(from, to)`.
pub fn dup2(from: RawFd, to: RawFd) -> SysResult<()> {
    // SAFETY: dup2 on integers; the kernel checks them.
    cvt(unsafe { libc::dup2(from, to) }).map(drop)
}

/// `open(path, flags)` with the result left open at whatever number it got (used to
/// fill the standard fds 0..2 at start).
pub fn open_leak(path: &CStr, flags: libc::c_int) -> SysResult<RawFd> {
    // SAFETY: `path` is NUL-terminated.
    cvt(unsafe { libc::open(path.as_ptr(), flags) })
}
