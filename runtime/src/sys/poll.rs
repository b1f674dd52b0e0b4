//! `poll(2)` with a deadline: retried on EINTR with the time that is left, so that
//! no caller waits longer than it asked nor returns early on a signal.

use std::os::fd::RawFd;
use std::time::Instant;

use super::{Errno, SysResult};

/// One entry of a poll set.
pub type PollFd = libc::pollfd;

/// A poll entry for `fd` (a negative fd is ignored by the kernel).
pub fn entry(fd: RawFd, events: libc::c_short) -> PollFd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Poll `fds` until one is ready or `deadline` passes (`None`: no deadline; a past
/// deadline polls once without waiting). Returns the number of ready entries (0 at
/// the deadline).
pub fn poll(fds: &mut [PollFd], deadline: Option<Instant>) -> SysResult<usize> {
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up: a 0.4 ms remainder must still wait, not spin.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
            }
        };
        // SAFETY: `fds` is a valid array of `fds.len()` pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = Errno::last();
        if e.0 != libc::EINTR {
            return Err(e);
        }
    }
}

/// Wait until `fd` is readable (or hung up) or `deadline` passes; `Ok(false)` at
/// the deadline.
pub fn readable(fd: RawFd, deadline: Option<Instant>) -> SysResult<bool> {
    let mut p = [entry(fd, libc::POLLIN)];
    Ok(poll(&mut p, deadline)? > 0)
}
