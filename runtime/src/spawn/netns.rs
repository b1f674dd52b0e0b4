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
//! helper thread makes it (`unshare(CLONE_NEWNET)` on itself), brings `lo` up and
//! opens it, while the runtime plans the cgroup, writes the first record, makes the
//! cgroup and builds the plan. The init then joins it (`setns`, as a namespace
//! given by path) instead of `clone3` making one, and skips the `lo` step. The
//! namespace is the same either way: owned by the same user namespace, one
//! interface, `lo`, up; nothing else ever held it (the helper's fd is its only
//! reference until the init joins, and it goes when the spawn is over).
//!
//! Whatever fails on the helper's side (one CPU only: no parallelism to gain; a
//! thread refused; `unshare` or `lo` refused) only means the clone makes the
//! namespace as before, and reports what the kernel refused there.

use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

use crate::plan::Plan;
use crate::sys::{fd, process, socket};

/// Enough for the helper: a few system calls.
const HELPER_STACK: usize = 64 << 10;

/// A network namespace being made by a helper thread.
pub struct Premade {
    handle: Option<JoinHandle<Option<OwnedFd>>>,
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
        let handle = process::spawn_beside("fastrun-netns", HELPER_STACK, make)?;
        Some(Premade {
            handle: Some(handle),
        })
    }

    /// The namespace, once the helper is done (None: it failed; the clone makes
    /// one). `plan` must still ask for it.
    pub fn take(mut self, plan: &Plan) -> Option<OwnedFd> {
        let fd = self.handle.take()?.join().ok().flatten()?;
        applies(&plan.ns).then_some(fd)
    }
}

impl Drop for Premade {
    /// Not taken (the create failed before its spawn): the helper is waited for;
    /// its namespace goes with its fd.
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The helper: a network namespace of its own (a thread's is its own to change),
/// `lo` up, and an fd of it. The thread's reference goes when it exits.
fn make() -> Option<OwnedFd> {
    process::unshare(libc::CLONE_NEWNET).ok()?;
    socket::loopback_up().ok()?;
    fd::open_at(
        libc::AT_FDCWD,
        c"/proc/thread-self/ns/net",
        libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    )
    .ok()
}
