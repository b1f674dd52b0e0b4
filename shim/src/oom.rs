//! TaskOOM: the engine's OOM notifiers of every container of this shim in one
//! epoll set, served by one thread (as runc's shim does with its epoller), so a
//! pod of many containers costs one small thread, not one each.
//!
//! The watcher thread publishes `/tasks/oom` while it holds the watcher's lock,
//! and the reaper asks [`Watcher::take_pending`] under the same lock before it
//! publishes an init's exit: an OOM kill is therefore reported before the exit it
//! caused (the kernel signals the notifier before it sends SIGKILL).

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};

use fastrun_runtime::cgroups::oom::OomNotifier;

/// The containers watched for OOM kills, by epoll token.
pub struct Watcher {
    epoll: OwnedFd,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    by_token: HashMap<u64, (String, OomNotifier)>,
}

impl Inner {
    fn token_of(&self, id: &str) -> Option<u64> {
        self.by_token
            .iter()
            .find(|(_, (cid, _))| cid == id)
            .map(|(t, _)| *t)
    }
}

impl Watcher {
    pub fn new() -> Result<Watcher, String> {
        // SAFETY: epoll_create1 takes a flag and returns a new descriptor or -1.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(format!(
                "epoll_create1: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(Watcher {
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            epoll: unsafe { OwnedFd::from_raw_fd(fd) },
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Watch container `id` through `notifier` (replacing an earlier watch of it).
    pub fn add(&self, id: &str, notifier: OomNotifier) -> Result<(), String> {
        let mut inner = self.lock();
        if let Some(old) = inner.token_of(id) {
            self.forget(&mut inner, old);
        }
        let token = inner.next;
        inner.next += 1;
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: both descriptors are open; `ev` lives across the call.
        let r = unsafe {
            libc::epoll_ctl(
                self.epoll.as_raw_fd(),
                libc::EPOLL_CTL_ADD,
                std::os::fd::AsFd::as_fd(&notifier).as_raw_fd(),
                &mut ev,
            )
        };
        if r != 0 {
            return Err(format!(
                "epoll_ctl add the OOM notifier of {id}: {}",
                std::io::Error::last_os_error()
            ));
        }
        inner.by_token.insert(token, (id.to_string(), notifier));
        Ok(())
    }

    /// Stop watching `id` (its notifier is closed).
    pub fn remove(&self, id: &str) {
        let mut inner = self.lock();
        if let Some(t) = inner.token_of(id) {
            self.forget(&mut inner, t);
        }
    }

    fn forget(&self, inner: &mut Inner, token: u64) {
        if let Some((_, n)) = inner.by_token.remove(&token) {
            // SAFETY: both descriptors are open; DEL ignores the event pointer.
            unsafe {
                libc::epoll_ctl(
                    self.epoll.as_raw_fd(),
                    libc::EPOLL_CTL_DEL,
                    std::os::fd::AsFd::as_fd(&n).as_raw_fd(),
                    std::ptr::null_mut(),
                )
            };
        }
    }

    /// Whether `id` had an OOM kill not reported yet; `report` runs under the lock
    /// (see the module docs), as it does for the watcher thread.
    pub fn take_pending(&self, id: &str, report: impl FnOnce()) {
        let mut inner = self.lock();
        let Some(token) = inner.token_of(id) else {
            return;
        };
        self.check(&mut inner, token, report);
    }

    /// Take the events of `token`'s notifier; stop watching a cgroup that is gone
    /// or a notifier that fails.
    fn check(&self, inner: &mut Inner, token: u64, report: impl FnOnce()) {
        let Some((id, n)) = inner.by_token.get_mut(&token) else {
            return;
        };
        match n.take_pending() {
            Ok(Some(k)) if k > 0 => report(),
            Ok(None) => {}
            Ok(Some(_)) => self.forget(inner, token),
            Err(e) => {
                log::warn!("OOM notifier of {id}: {e}");
                self.forget(inner, token);
            }
        }
    }

    /// The watcher thread: `report(id)` for each OOM kill, forever.
    pub fn start(self: &Arc<Self>, report: impl Fn(&str) + Send + 'static) -> Result<(), String> {
        let w = self.clone();
        std::thread::Builder::new()
            .name("oom".into())
            // It only waits and reads a counter.
            .stack_size(64 << 10)
            .spawn(move || w.run(report))
            .map(|_| ())
            .map_err(|e| format!("start the OOM watcher: {e}"))
    }

    fn run(&self, report: impl Fn(&str)) {
        const MAX: usize = 16;
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; MAX];
        loop {
            // SAFETY: `evs` has room for MAX events and lives across the call.
            let n = unsafe {
                libc::epoll_wait(self.epoll.as_raw_fd(), evs.as_mut_ptr(), MAX as i32, -1)
            };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                log::warn!(
                    "OOM watcher: epoll_wait: {}",
                    std::io::Error::last_os_error()
                );
                return;
            }
            let mut inner = self.lock();
            for ev in &evs[..n as usize] {
                let token = ev.u64;
                let id = match inner.by_token.get(&token) {
                    Some((id, _)) => id.clone(),
                    None => continue,
                };
                self.check(&mut inner, token, || report(&id));
            }
        }
    }
}
