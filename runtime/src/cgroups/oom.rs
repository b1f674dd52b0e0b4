//! OOM notifications for `events`.
//!
//! v1: an eventfd registered on `memory.oom_control` through `cgroup.event_control`;
//! the kernel signals it on every OOM in the cgroup (and when the cgroup goes away).
//! v2: an inotify watch on `memory.events`, whose `oom_kill` counter is compared
//! before and after each change.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::manager::Cgroup;
use super::stats::parse_keyed;
use super::{fsutil, CgroupError};

/// A registered OOM watcher. Poll [`AsFd::as_fd`] for readability, or call [`OomNotifier::wait`].
#[derive(Debug)]
pub enum OomNotifier {
    /// v1 eventfd.
    V1 { eventfd: File, dir: PathBuf },
    /// v2 inotify on `memory.events`.
    V2 {
        inotify: File,
        events: PathBuf,
        last: u64,
    },
}

/// The `oom_kill` count of a v2 `memory.events` text.
pub fn oom_kills(events: &str) -> u64 {
    parse_keyed(events)
        .into_iter()
        .find(|(k, _)| *k == "oom_kill")
        .map_or(0, |(_, v)| v)
}

impl OomNotifier {
    /// Registers for OOM events of `cg`: v1 memory hierarchy if mounted, else the v2
    /// tree's `memory.events` if it exists.
    pub fn register(cg: &Cgroup) -> Result<OomNotifier, CgroupError> {
        if let Some(dir) = cg.v1_dir("memory") {
            return Self::register_v1(&dir);
        }
        if let Some(dir) = cg.v2_dir() {
            let events = dir.join("memory.events");
            if events.exists() {
                return Self::register_v2(&events);
            }
        }
        Err(CgroupError::Unsupported(
            "cgroup: OOM notifications need the memory controller (v1 memory hierarchy or v2 \
             memory.events)"
                .into(),
        ))
    }

    fn register_v1(dir: &Path) -> Result<OomNotifier, CgroupError> {
        let control = dir.join("memory.oom_control");
        let oom = File::open(&control).map_err(|e| CgroupError::io("cgroup: open", &control, e))?;
        let eventfd = File::from(
            crate::sys::event::eventfd(0)
                .map_err(|e| CgroupError::io("cgroup: eventfd for", &control, e.into_io()))?,
        );
        let line = format!("{} {}", eventfd.as_raw_fd(), oom.as_raw_fd());
        fsutil::write(&dir.join("cgroup.event_control"), &line)?;
        // The kernel took its own references: `oom` can be closed now.
        Ok(OomNotifier::V1 {
            eventfd,
            dir: dir.to_path_buf(),
        })
    }

    fn register_v2(events: &Path) -> Result<OomNotifier, CgroupError> {
        let inotify = File::from(
            crate::sys::event::inotify()
                .map_err(|e| CgroupError::io("cgroup: inotify for", events, e.into_io()))?,
        );
        let c = std::ffi::CString::new(events.as_os_str().as_bytes()).map_err(|_| {
            CgroupError::Config(format!("cgroup: path {} has a NUL byte", events.display()))
        })?;
        crate::sys::event::inotify_add_watch(&inotify, &c, libc::IN_MODIFY)
            .map_err(|e| CgroupError::io("cgroup: inotify_add_watch", events, e.into_io()))?;
        let last = oom_kills(&fsutil::read(events)?);
        Ok(OomNotifier::V2 {
            inotify,
            events: events.to_path_buf(),
            last,
        })
    }

    /// Waits for OOM events, at most `timeout` (`None`: forever). Returns the number of
    /// new OOM events, `Some(0)` when the cgroup went away, `None` on timeout.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<u64>, CgroupError> {
        loop {
            if !poll_in(self.as_fd(), timeout)? {
                return Ok(None);
            }
            match self {
                OomNotifier::V1 { eventfd, dir } => {
                    let mut buf = [0u8; 8];
                    eventfd
                        .read_exact(&mut buf)
                        .map_err(|e| CgroupError::io("cgroup: read eventfd for", dir.clone(), e))?;
                    // The eventfd also fires when the cgroup is removed.
                    if !dir.join("cgroup.event_control").exists() {
                        return Ok(Some(0));
                    }
                    return Ok(Some(u64::from_ne_bytes(buf)));
                }
                OomNotifier::V2 {
                    inotify,
                    events,
                    last,
                } => {
                    if let Some(n) = v2_news(inotify, events, last, true)? {
                        return Ok(Some(n));
                    }
                }
            }
        }
    }
}

impl OomNotifier {
    /// The OOM events since the last call, without waiting: `Ok(None)` when there
    /// is none, `Some(0)` when the cgroup went away. v1 drains the eventfd if it was
    /// signalled; v2 reads the `oom_kill` counter even before inotify reports the
    /// change (the kernel rate-limits `memory.events` notifications), so a caller
    /// that has just seen a process die of SIGKILL learns whether the OOM killer
    /// did it.
    pub fn take_pending(&mut self) -> Result<Option<u64>, CgroupError> {
        match self {
            OomNotifier::V1 { .. } => self.wait(Some(Duration::ZERO)),
            OomNotifier::V2 {
                inotify,
                events,
                last,
            } => {
                let drain = poll_in(inotify.as_fd(), Some(Duration::ZERO))?;
                v2_news(inotify, events, last, drain)
            }
        }
    }
}

/// v2: drain the inotify fd (when it is readable), then the OOM kills counted in
/// `memory.events` since `last`: `Some(0)` when the cgroup went away, `None` when
/// there are none.
fn v2_news(
    inotify: &mut File,
    events: &Path,
    last: &mut u64,
    drain: bool,
) -> Result<Option<u64>, CgroupError> {
    if drain {
        let mut buf = [0u8; 4096];
        inotify
            .read(&mut buf)
            .map_err(|e| CgroupError::io("cgroup: read inotify for", events, e))?;
    }
    let Some(text) = fsutil::read_opt(events)? else {
        return Ok(Some(0));
    };
    let now = oom_kills(&text);
    if now > *last {
        let n = now - *last;
        *last = now;
        return Ok(Some(n));
    }
    Ok(None)
}

impl AsFd for OomNotifier {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            OomNotifier::V1 { eventfd, .. } => eventfd.as_fd(),
            OomNotifier::V2 { inotify, .. } => inotify.as_fd(),
        }
    }
}

/// Waits until `fd` is readable; false on timeout.
fn poll_in(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> Result<bool, CgroupError> {
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    crate::sys::poll::readable(fd.as_raw_fd(), deadline)
        .map_err(|e| CgroupError::io("cgroup: poll", "OOM notifier", e.into_io()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kill_count() {
        assert_eq!(oom_kills("low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n"), 1);
        assert_eq!(oom_kills("low 0\n"), 0);
    }
}
