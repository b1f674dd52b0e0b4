//! The container's new network namespace, made beside the runtime's other work.
//!
//! A new network namespace is the dearest object a start asks the kernel for:
//! ~550 µs to make here (its sysctl tables, its loopback device, the notifier
//! chains of every protocol), and ~100 µs more to bring its `lo` up, which runc and
//! crun do in every new one. Made by `clone3`, both sit on the start's critical
//! path: the parent waits in the clone for the first, the child's first step is the
//! second. Yet the namespace needs nothing that comes later: no cgroup, no plan.
//!
//! So when the config asks for a new network namespace and no user namespace (the
//! namespace then belongs to the runtime's user namespace whoever makes it), a
//! helper thread makes it (`unshare(CLONE_NEWNET)` on itself) and hands over an fd
//! of it while the runtime plans the cgroup, writes the first record, makes the
//! cgroup and builds the plan; then it brings `lo` up while the init sets itself
//! up. The init joins the namespace (`setns`, as a namespace given by path)
//! instead of `clone3` making one, and skips the `lo` step; the runtime waits for
//! the helper before the create hooks run and before the init may go on to the
//! user program ([`Premade::finish`]), so `lo` is up whenever runc has it up. The
//! namespace is the same either way: owned by the same user namespace, one
//! interface, `lo`, up; nothing else ever held it (the helper's fd is its only
//! reference until the init joins, and it goes when the spawn is over).
//!
//! Whatever fails on the helper's side before it hands the namespace over (one CPU
//! only: no parallelism to gain; a thread refused; `unshare` refused) only means the
//! clone makes the namespace as before, and reports what the kernel refused there.
//! A `lo` that cannot be brought up fails the create, as it does in the init.

use std::os::fd::OwnedFd;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sys::{fd, process, socket, SysResult};

/// Enough for the helper: a few system calls.
const HELPER_STACK: usize = 64 << 10;

/// A network namespace being made by a helper thread.
pub struct Premade {
    /// The namespace, once made (the sender is dropped unsent when that failed).
    ns: mpsc::Receiver<OwnedFd>,
    /// The helper: None once joined. It returns how bringing `lo` up went (None:
    /// no namespace was made).
    handle: Option<JoinHandle<Option<SysResult<()>>>>,
    /// The namespace was handed to the spawn: `lo` must be up.
    used: bool,
}

/// Whether the namespaces `ns` (the plan's, see [`crate::plan::namespaces_of`])
/// let the runtime make the network namespace: a new one, and no user namespace
/// (created or joined) that would have to own it.
pub fn applies(ns: &crate::plan::Namespaces) -> bool {
    ns.clone_flags & libc::CLONE_NEWNET as u64 != 0
        && ns.clone_flags & libc::CLONE_NEWUSER as u64 == 0
        && ns.unshare_flags & libc::CLONE_NEWNET == 0
}

impl Premade {
    /// Start making the network namespace the namespaces `ns` ask for, when
    /// [`applies`] and the runtime can (root, more than one CPU to run on).
    pub fn start(ns: &crate::plan::Namespaces) -> Option<Premade> {
        if !applies(ns) || crate::sys::geteuid() != 0 {
            return None;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let handle = process::spawn_beside("fastrun-netns", HELPER_STACK, move || make(tx))?;
        Some(Premade {
            ns: rx,
            handle: Some(handle),
            used: false,
        })
    }

    /// The namespace, once made (None: making it failed; the clone makes one).
    /// `plan` must still ask for it. The helper goes on to bring `lo` up.
    pub fn namespace(&mut self, plan: &Plan) -> Option<OwnedFd> {
        let fd = self.ns.recv().ok()?;
        self.used = applies(&plan.ns);
        self.used.then_some(fd)
    }

    /// Wait for the helper; an error when the namespace it handed over could not
    /// have its `lo` brought up (the create then fails, as when the init fails to).
    pub fn finish(mut self) -> Result<()> {
        let outcome = self.handle.take().and_then(|h| h.join().ok()).flatten();
        match outcome {
            Some(Err(e)) if self.used => Err(Error::Sys {
                op: "bring lo up in the container's network namespace",
                source: e.into_io(),
            }),
            _ => Ok(()),
        }
    }
}

impl Drop for Premade {
    /// Not finished (the create failed): the helper is waited for; its namespace
    /// goes with its fd.
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The helper: a network namespace of its own (a thread's is its own to change),
/// an fd of it sent, then `lo` up. The thread's reference goes when it exits.
fn make(tx: mpsc::SyncSender<OwnedFd>) -> Option<SysResult<()>> {
    process::unshare(libc::CLONE_NEWNET).ok()?;
    let ns = fd::open_at(
        libc::AT_FDCWD,
        c"/proc/thread-self/ns/net",
        libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    )
    .ok()?;
    tx.send(ns).ok()?;
    Some(socket::loopback_up())
}
