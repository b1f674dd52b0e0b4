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
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

use fastrun_runtime::cgroups::oom::OomNotifier;
use fastrun_runtime::sys::event;

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
        let epoll = event::epoll().map_err(|e| format!("epoll_create1: {}", e.into_io()))?;
        Ok(Watcher {
            epoll,
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
        event::epoll_ctl(
            &self.epoll,
            libc::EPOLL_CTL_ADD,
            notifier.as_fd().as_raw_fd(),
            libc::EPOLLIN as u32,
            token,
        )
        .map_err(|e| format!("epoll_ctl add the OOM notifier of {id}: {}", e.into_io()))?;
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
            let _ = event::epoll_ctl(
                &self.epoll,
                libc::EPOLL_CTL_DEL,
                n.as_fd().as_raw_fd(),
                0,
                0,
            );
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
        let Ok(ready) = event::epoll_wait(&self.epoll, &mut evs, 0) else {
            return;
        };
        let mut inner = self.lock();
        for ev in ready {
            let token = ev.u64;
            let Some(id) = inner.by_token.get(&token).map(|(id, _)| id.clone()) else {
                continue;
            };
            self.check(&mut inner, token, || report(&id));
        }
    }
}
