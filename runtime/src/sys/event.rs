//! Event fds: eventfd, inotify and epoll, each returned as an [`OwnedFd`].

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use super::{cvt, retry, SysResult};

/// `eventfd(0, flags | EFD_CLOEXEC)`.
pub fn eventfd(flags: libc::c_int) -> SysResult<OwnedFd> {
    // SAFETY: integer arguments.
    let fd = cvt(unsafe { libc::eventfd(0, flags | libc::EFD_CLOEXEC) })?;
    // SAFETY: a fresh fd we own.
    Ok(unsafe { super::fd::adopt(fd) })
}

/// Add `n` to an eventfd's counter.
pub fn eventfd_add(fd: impl AsFd, n: u64) -> SysResult<()> {
    let b = n.to_ne_bytes();
    super::fs::write_all(fd.as_fd().as_raw_fd(), &b)
}

/// `inotify_init1(IN_CLOEXEC)`.
pub fn inotify() -> SysResult<OwnedFd> {
    // SAFETY: integer argument.
    let fd = cvt(unsafe { libc::inotify_init1(libc::IN_CLOEXEC) })?;
    // SAFETY: a fresh fd we own.
    Ok(unsafe { super::fd::adopt(fd) })
}

/// `inotify_add_watch(fd, path, mask)`: the watch descriptor.
pub fn inotify_add_watch(fd: impl AsFd, path: &CStr, mask: u32) -> SysResult<libc::c_int> {
    // SAFETY: `path` is NUL-terminated; `fd` is open.
    cvt(unsafe { libc::inotify_add_watch(fd.as_fd().as_raw_fd(), path.as_ptr(), mask) })
}

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub fn epoll() -> SysResult<OwnedFd> {
    // SAFETY: integer argument.
    let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // SAFETY: a fresh fd we own.
    Ok(unsafe { super::fd::adopt(fd) })
}

/// `epoll_ctl(ep, op, fd, {events, data})`.
pub fn epoll_ctl(
    ep: impl AsFd,
    op: libc::c_int,
    fd: libc::c_int,
    events: u32,
    data: u64,
) -> SysResult<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event; the kernel checks the fds.
    cvt(unsafe { libc::epoll_ctl(ep.as_fd().as_raw_fd(), op, fd, &mut ev) }).map(drop)
}

/// `epoll_wait(ep, evs, timeout_ms)`, retried on EINTR: the ready events.
pub fn epoll_wait(
    ep: impl AsFd,
    evs: &mut [libc::epoll_event],
    timeout_ms: libc::c_int,
) -> SysResult<&[libc::epoll_event]> {
    let n = retry(|| {
        // SAFETY: `evs` is a valid array of `evs.len()` events.
        cvt(unsafe {
            libc::epoll_wait(
                ep.as_fd().as_raw_fd(),
                evs.as_mut_ptr(),
                evs.len().min(i32::MAX as usize) as libc::c_int,
                timeout_ms,
            )
        })
    })?;
    Ok(&evs[..n as usize])
}
