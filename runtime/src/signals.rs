//! Signal forwarding for the foreground commands (`run`, `exec` without
//! `--detach`): block what can be forwarded before the clone (the child unblocks
//! before exec), then relay every signal that arrives to the container process
//! through its pidfd until it exits.

use std::os::fd::{AsFd, AsRawFd};

use crate::error::{Error, Result};
use crate::spawn::Init;
use crate::sys::pidfd;
use crate::sys::poll::{self, entry};
use crate::sys::signal::{read_signal, SigSet};

/// The signals to forward: everything but SIGCHLD, the unblockable and the
/// synchronous fault signals.
pub(crate) fn forwardable() -> SigSet {
    let mut set = SigSet::full();
    for s in [
        libc::SIGCHLD,
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
    ] {
        set.remove(s);
    }
    set
}

pub(crate) fn block(set: &SigSet) -> Result<SigSet> {
    set.block().map_err(|e| Error::Sys {
        op: "block signals",
        source: e.into_io(),
    })
}

/// Dequeue every pending signal of `mask` (blocked): used before restoring the
/// mask once the container has exited.
pub(crate) fn drain_pending(mask: &SigSet) {
    mask.drain_pending();
}

pub(crate) fn restore(old: &SigSet) {
    old.set_mask();
}

/// A signalfd for `mask` (which must be blocked), close-on-exec.
pub(crate) fn signalfd(mask: &SigSet) -> Result<std::os::fd::OwnedFd> {
    mask.signalfd(0).map_err(|e| Error::Sys {
        op: "signalfd",
        source: e.into_io(),
    })
}

pub(crate) fn forward_until_exit(init: &Init, mask: &SigSet) -> Result<i32> {
    let sfd = signalfd(mask)?;
    loop {
        let mut fds = [
            entry(init.pidfd.as_raw_fd(), libc::POLLIN),
            entry(sfd.as_raw_fd(), libc::POLLIN),
        ];
        poll::poll(&mut fds, None).map_err(|e| Error::Sys {
            op: "poll",
            source: e.into_io(),
        })?;
        if fds[1].revents & libc::POLLIN != 0 {
            if let Some(sig) = read_signal(sfd.as_fd()) {
                let _ = pidfd::send_signal(init.pidfd.as_raw_fd(), sig);
            }
        }
        if fds[0].revents & libc::POLLIN != 0 {
            return init.wait();
        }
    }
}
