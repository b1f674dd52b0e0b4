//! The processes the engine starts on behalf of an embedding host (libfastrun) and
//! owns: container inits ([`crate::Context::create_owned`]) and detached exec'd
//! processes ([`crate::Context::exec_detached`] with `reap`). They are children of
//! the host process, so someone must reap them, and the exit status of an init must
//! reach whoever waits for the container.
//!
//! One reaper thread per process (started with the first owned child) polls the
//! pidfds of the owned children and, as each exits, reaps it with
//! `waitid(P_PIDFD)` (never `wait(-1)`: no other child of the host is touched),
//! records an init's exit status in memory (for [`wait`]) and in its state
//! directory (for `state`, also from another process). When the host ignores SIGCHLD
//! or reaps every child itself, the kernel keeps the status for the pidfd holder
//! (Linux 6.15+), which the reaper reads instead ([`pidfd::try_reap`]). A call on a
//! container only looks up that container: no call scans the owned children.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::state::{self, Store};
use crate::sys::pidfd;

/// An owned init: its pid and, once it has exited, its exit status.
struct Init {
    pid: i32,
    start_time: u64,
    pidfd: Arc<OwnedFd>,
    /// Exit code (128+N for signal N) once reaped.
    status: Option<i32>,
    /// Tells this init from a later container with the same id.
    seq: u64,
}

/// A process the reaper watches.
struct Watched {
    pidfd: Arc<OwnedFd>,
    /// For an init: its container and [`Init::seq`].
    init: Option<((PathBuf, String), u64)>,
}

#[derive(Default)]
struct Inner {
    inits: HashMap<(PathBuf, String), Init>,
    watched: Vec<Watched>,
    seq: u64,
    thread: bool,
}

struct Registry {
    inner: Mutex<Inner>,
    exited: Condvar,
    /// Wakes the reaper thread when a child is added.
    wake: OwnedFd,
}

static REG: OnceLock<std::result::Result<Registry, i32>> = OnceLock::new();

/// The registry, if this process ever owned a child (cheap for those that never do).
fn existing() -> Option<&'static Registry> {
    REG.get().and_then(|r| r.as_ref().ok())
}

fn registry() -> Result<&'static Registry> {
    REG.get_or_init(|| {
        Ok(Registry {
            inner: Mutex::new(Inner::default()),
            exited: Condvar::new(),
            wake: pidfd::eventfd().map_err(|e| e.0)?,
        })
    })
    .as_ref()
    .map_err(|&e| Error::Sys {
        op: "eventfd for the reaper",
        source: std::io::Error::from_raw_os_error(e),
    })
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn watch(&'static self, w: Watched) -> Result<()> {
        let mut inner = self.lock();
        if !inner.thread {
            std::thread::Builder::new()
                .name("fastrun-reaper".into())
                .stack_size(128 * 1024)
                .spawn(move || self.reap_forever())
                .map_err(|e| Error::Sys {
                    op: "start the reaper thread",
                    source: e,
                })?;
            inner.thread = true;
        }
        inner.watched.push(w);
        drop(inner);
        pidfd::eventfd_signal(self.wake.as_raw_fd());
        Ok(())
    }

    fn reap_forever(&self) {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut pidfds: Vec<Arc<OwnedFd>> = Vec::new();
        loop {
            fds.clear();
            pidfds.clear();
            fds.push(libc::pollfd {
                fd: self.wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            {
                let inner = self.lock();
                for w in &inner.watched {
                    pidfds.push(w.pidfd.clone());
                    fds.push(libc::pollfd {
                        fd: w.pidfd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    });
                }
            }
            if pidfd::poll(&mut fds, -1).is_err() {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            if fds[0].revents != 0 {
                pidfd::eventfd_drain(self.wake.as_raw_fd());
            }
            let mut pending = false;
            for (p, fd) in fds[1..].iter().zip(&pidfds) {
                if p.revents == 0 {
                    continue;
                }
                let status = match pidfd::try_reap(fd.as_raw_fd()) {
                    Ok(Some(s)) => Some(pidfd::exit_code(s)),
                    // Exited, being released by the kernel: next round.
                    Ok(None) => {
                        pending = true;
                        continue;
                    }
                    // The status is lost (a kernel without PIDFD_INFO_EXIT whose
                    // host reaped it): stop watching, report no status.
                    Err(_) => None,
                };
                self.exited(fd, status);
            }
            if pending {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    /// The process behind `fd` is gone with `status` (None: unknown).
    fn exited(&self, fd: &Arc<OwnedFd>, status: Option<i32>) {
        let mut inner = self.lock();
        let Some(i) = inner.watched.iter().position(|w| Arc::ptr_eq(&w.pidfd, fd)) else {
            return;
        };
        let w = inner.watched.swap_remove(i);
        let mut record = None;
        if let Some((key, seq)) = w.init {
            if let Some(init) = inner.inits.get_mut(&key).filter(|i| i.seq == seq) {
                // Unknown: as a shell reports a child it cannot tell about.
                init.status = Some(status.unwrap_or(255));
                record = Some((key, init.pid, init.start_time, status.unwrap_or(255)));
            }
        }
        drop(inner);
        if let Some(((root, id), pid, start, code)) = record {
            record_exit(&root, &id, pid, start, code);
        }
        self.exited.notify_all();
    }
}

/// Own the init of container `id` under `root`: reap it when it exits and record its
/// exit status. Replaces what was known about an earlier container with that id.
pub(crate) fn adopt_init(
    root: &Path,
    id: &str,
    pid: i32,
    start_time: u64,
    fd: OwnedFd,
) -> Result<()> {
    let reg = registry()?;
    let fd = Arc::new(fd);
    let key = (root.to_path_buf(), id.to_string());
    let seq = {
        let mut inner = reg.lock();
        inner.seq += 1;
        let seq = inner.seq;
        inner.inits.insert(
            key.clone(),
            Init {
                pid,
                start_time,
                pidfd: fd.clone(),
                status: None,
                seq,
            },
        );
        seq
    };
    reg.watch(Watched {
        pidfd: fd,
        init: Some((key, seq)),
    })
}

/// Own a detached exec'd process: reap it when it exits (its status is dropped).
pub(crate) fn adopt_exec(fd: OwnedFd) -> Result<()> {
    registry()?.watch(Watched {
        pidfd: Arc::new(fd),
        init: None,
    })
}

/// Forget container `id` (deleted): later waits no longer find it here. Its init
/// has exited (delete waited for that): wait (bounded) until the reaper has reaped
/// it, so that once delete returns the host has no zombie of it.
pub(crate) fn forget(root: &Path, id: &str) {
    let Some(reg) = existing() else {
        return;
    };
    let key = (root.to_path_buf(), id.to_string());
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut inner = reg.lock();
    while inner.inits.get(&key).is_some_and(|i| i.status.is_none()) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        inner = reg
            .exited
            .wait_timeout(inner, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    inner.inits.remove(&key);
}

/// Wait at most `timeout` (None: no limit) for the owned init of container `id` to
/// exit; its exit code, or None when the time ran out. The same code for every call.
/// A container this process does not own: its recorded exit status once stopped,
/// else an error (only the parent can learn how a process ended).
pub(crate) fn wait(root: &Path, id: &str, timeout: Option<Duration>) -> Result<Option<i32>> {
    let Some(reg) = existing() else {
        return not_owned(root, id);
    };
    let key = (root.to_path_buf(), id.to_string());
    let mut deadline = timeout.map(|t| Instant::now() + t);
    let mut extended = false;
    let mut inner = reg.lock();
    loop {
        let Some(init) = inner.inits.get(&key) else {
            drop(inner);
            return not_owned(root, id);
        };
        if let Some(s) = init.status {
            return Ok(Some(s));
        }
        // Exited (its pidfd says so) and being reaped this instant: its status is
        // due, whatever the timeout (a host that saw the pidfd fire must get it).
        if !extended && pidfd::wait_exited(init.pidfd.as_raw_fd(), 0).unwrap_or(false) {
            extended = true;
            deadline = deadline.map(|d| d.max(Instant::now() + Duration::from_secs(2)));
        }
        inner = match deadline {
            None => reg.exited.wait(inner).unwrap_or_else(|e| e.into_inner()),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                reg.exited
                    .wait_timeout(inner, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}

fn not_owned(root: &Path, id: &str) -> Result<Option<i32>> {
    let store = Store::new(root);
    let rec = store.load(id)?;
    if let Some(code) = recorded_exit(&store, &rec) {
        return Ok(Some(code));
    }
    Err(Error::InvalidState(format!(
        "cannot wait for container {id}: its init {} was not started by this process \
         (only its parent learns its exit status)",
        rec.pid
    )))
}

/// A new pidfd on the owned init of container `id` (also after it exited).
pub(crate) fn init_pidfd(root: &Path, id: &str) -> Result<OwnedFd> {
    let not_ours = || {
        Error::InvalidState(format!(
            "container {id}: its init was not started by this process"
        ))
    };
    let reg = existing().ok_or_else(not_ours)?;
    let inner = reg.lock();
    let init = inner
        .inits
        .get(&(root.to_path_buf(), id.to_string()))
        .ok_or_else(not_ours)?;
    init.pidfd.try_clone().map_err(|e| Error::Sys {
        op: "dup the init's pidfd",
        source: e,
    })
}

/// Save the exit status of container `id`'s init (pid, start time) in its state
/// directory, where `state` finds it, also from another process. Only under the
/// container's lock, never waiting for it: whoever holds it may be deleting the
/// directory (this process's own calls find the status in memory anyway). A container
/// deleted meanwhile: nothing.
pub(crate) fn record_exit(root: &Path, id: &str, pid: i32, start_time: u64, code: i32) {
    let store = Store::new(root);
    let Ok(Some(_lock)) = store.try_lock(id) else {
        return;
    };
    let dir = root.join(id);
    let tmp = dir.join(format!(".{}.tmp", state::EXIT_STATUS));
    if std::fs::write(&tmp, format!("{pid} {start_time} {code}\n")).is_ok() {
        let _ = std::fs::rename(&tmp, dir.join(state::EXIT_STATUS));
    }
}

/// The exit status recorded for this init of the container, if any: in memory when
/// this process owns it, else in its state directory.
pub(crate) fn recorded_exit(store: &Store, rec: &state::Record) -> Option<i32> {
    if let Some(reg) = existing() {
        let inner = reg.lock();
        let key = (store.root().to_path_buf(), rec.id.clone());
        if let Some(init) = inner.inits.get(&key).filter(|i| i.pid == rec.pid) {
            if init.status.is_some() {
                return init.status;
            }
        }
    }
    let s = std::fs::read_to_string(store.root().join(&rec.id).join(state::EXIT_STATUS)).ok()?;
    let mut f = s.split_ascii_whitespace();
    let pid: i32 = f.next()?.parse().ok()?;
    let start: u64 = f.next()?.parse().ok()?;
    let code: i32 = f.next()?.parse().ok()?;
    (pid == rec.pid && start == rec.start_time).then_some(code)
}
