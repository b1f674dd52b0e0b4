//! TaskOOM: the engine's OOM notifiers of every container of this shim in one
//! epoll set (as runc's shim does with its epoller). No thread of its own: the
//! reaper thread waits on this set with its signalfd, so watching a pod of many
//! containers costs descriptors, not threads.
//!
//! [`Watcher::dispatch`] publishes `/tasks/oom` while it holds the watcher's lock,
//! and the reaper asks [`Watcher::take_pending`] under the same lock before it
//! publishes a process's exit: an OOM kill is therefore reported before the exit
//! it caused (the kernel signals the notifier before it sends SIGKILL).

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

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

    /// `report()` if `id` had an OOM kill not reported yet; it runs under the lock
    /// (see the module docs), as in [`Watcher::dispatch`].
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

    /// The epoll descriptor: readable when some notifier is (the reaper thread
    /// waits on it with its signalfd, then calls [`Watcher::dispatch`]).
    pub fn fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    /// `report(id)` for each OOM kill pending now (does not wait).
    pub fn dispatch(&self, report: impl Fn(&str)) {
        const MAX: usize = 16;
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; MAX];
        // SAFETY: `evs` has room for MAX events and lives across the call.
        let n =
            unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), evs.as_mut_ptr(), MAX as i32, 0) };
        let Ok(n) = usize::try_from(n) else {
            return;
        };
        let mut inner = self.lock();
        for ev in &evs[..n] {
            let token = ev.u64;
            let Some(id) = inner.by_token.get(&token).map(|(id, _)| id.clone()) else {
                continue;
            };
            self.check(&mut inner, token, || report(&id));
        }
    }
}
