//! The vfork-style spawn: the container's init shares the caller's address space
//! until its final execve, so starting it costs the same from a host with a
//! 2 GiB heap as from a small one (a fork-like clone copies the page tables of
//! everything the caller has touched: ~65 ms for 2 GiB here).
//!
//! How it stays safe in a multi-threaded host (libfastrun, the shim):
//! - A helper thread makes the clone with `CLONE_VM | CLONE_VFORK` and sleeps in
//!   it until the child has exec'd or exited. The child runs on its own mapped
//!   stack and uses the helper's TLS (its `errno`), which nobody else touches
//!   while the helper sleeps; the calling thread is free to run the protocol
//!   (id maps, cgroups, hooks, `start`) with the child over the sync socket.
//! - Everything the child reads (the plan, the fd lists, the seccomp program) is
//!   owned by the helper and freed by it only after the clone returned, i.e. after
//!   the child stopped using this memory. The child writes nothing but its stack.
//! - The helper blocks every signal before the clone; the child first sets every
//!   disposition to default and only then unblocks: no host handler ever runs in
//!   it.
//! - Dumpability belongs to the address space: while a child is setting up, the
//!   host is non-dumpable too (see [`Dumpable`]); it is restored when the last such
//!   child has exec'd.
//!
//! Not used (the fork-like clone is) for a time namespace (the kernel refuses
//! `CLONE_VM` across time namespaces) and for an unprivileged caller that writes
//! id maps (the maps can only be written while the whole address space is
//! dumpable, which another child could turn off).

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

use super::child::{self, ChildFds, VmArg};
use super::protocol::{Msg, MSG_HELLO};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sys::clone::{ChildStack, Cloned};
use crate::sys::{pidfd, Errno};

/// Stack of the child; only the pages it touches are backed.
const CHILD_STACK: usize = 256 << 10;
/// Stack of the helper thread: it makes a handful of system calls.
const HELPER_STACK: usize = 64 << 10;

/// Whether this build and this plan can use the shared-memory spawn.
pub fn supported(plan: &Plan) -> bool {
    cfg!(target_arch = "x86_64")
        && plan.ns.time_offsets.is_none()
        && (plan.id_maps.is_none() || crate::sys::geteuid() == 0)
}

/// What the helper thread owns for the child: everything the child reads.
pub struct Job {
    pub plan: Arc<Plan>,
    pub join: Vec<(libc::c_int, RawFd)>,
    pub idmaps: Vec<RawFd>,
    pub trees: Vec<RawFd>,
    pub seccomp: Vec<crate::sys::seccomp::Insn>,
    /// Our copy of the child's end of the sync socket: closed by whichever comes
    /// first, the helper once the clone returned (failed, or the child is gone
    /// before its hello: the calling thread then sees EOF) or the calling thread
    /// once the child said hello (so that no fd of ours outlives the spawn call).
    pub child_sock: Arc<Mutex<Option<OwnedFd>>>,
    pub parent_sock: RawFd,
    pub start_fd: RawFd,
    pub target: RawFd,
    pub trampoline: RawFd,
    /// See [`ChildFds::join_pid_ns`].
    pub join_pid_ns: bool,
    pub proc_pidns: RawFd,
    pub stdio: [RawFd; 3],
    pub ns_flags: u64,
    pub cgroup_fd: Option<RawFd>,
    /// A pid namespace (fd or pidfd) the child must be born in.
    pub pid_ns: Option<RawFd>,
    /// The `tasks` files of the v1 cgroups the child joins.
    pub cgroup_tasks: Vec<RawFd>,
    pub cgroup_prime: RawFd,
    /// `--trace`: the child marks its steps.
    pub trace: bool,
    /// See [`ChildFds::loopback_up`].
    pub loopback_up: bool,
    /// See [`ChildFds::wait_devices`].
    pub wait_devices: bool,
}

/// Clone the child for `job` and return once it has said hello (or failed).
/// The fds named in `job` (other than `child_sock`) must stay open until this
/// returns: the helper uses them for the clone.
pub fn clone(job: Job) -> Result<Cloned> {
    let parent_sock = job.parent_sock;
    let child_sock = Arc::clone(&job.child_sock);
    let helper = std::thread::Builder::new()
        .name("fastrun-spawn".into())
        .stack_size(HELPER_STACK)
        .spawn(move || job.run())
        .map_err(|e| Error::Sys {
            op: "start the spawn thread",
            source: e,
        })?;
    match Msg::recv(parent_sock) {
        Ok(Some(m)) if m.kind == MSG_HELLO => {
            // The child has its own copy now.
            drop(take(&child_sock));
            Ok(Cloned {
                pid: m.index as libc::pid_t,
                pidfd: m.arg as libc::c_int,
            })
        }
        other => {
            // No hello: the clone failed, or the child died before its first
            // message. The helper has returned (or will, once the child is gone).
            let joined = helper
                .join()
                .map_err(|_| Error::Internal("the spawn thread panicked".into()))?;
            let c = joined.map_err(|(op, e)| Error::Sys {
                op,
                source: e.into_io(),
            })?;
            let status = pidfd::wait(c.pidfd).map(pidfd::exit_code).unwrap_or(-1);
            crate::sys::fs::close(c.pidfd);
            Err(Error::Internal(format!(
                "container init exited before it started ({}, exit status {status})",
                match other {
                    Ok(Some(m)) => format!("unexpected message {}", m.kind),
                    Ok(None) => "no message".into(),
                    Err(e) => e.to_string(),
                }
            )))
        }
    }
}

impl Job {
    /// The clone, or the step that failed and its errno.
    fn run(self) -> std::result::Result<Cloned, (&'static str, Errno)> {
        block_all_signals();
        if let Some(ns) = self.pid_ns {
            // setns of this (helper) thread with an fd that lives through the call.
            crate::sys::process::setns(ns, libc::CLONE_NEWPID)
                .map_err(|e| ("join pid namespace", e))?;
        }
        let stack = ChildStack::new(CHILD_STACK).map_err(|e| ("map the child's stack", e))?;
        let Some(sock) = self
            .child_sock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|f| f.as_raw_fd())
        else {
            return Err(("clone3", Errno(libc::EBADF)));
        };
        let mut pid: libc::pid_t = 0;
        let mut pidfd: libc::c_int = -1;
        let arg = VmArg {
            plan: &self.plan,
            fds: ChildFds {
                seccomp: &self.seccomp,
                sock,
                join: &self.join,
                start_fd: self.start_fd,
                parent_sock: self.parent_sock,
                target: self.target,
                idmaps: &self.idmaps,
                trees: &self.trees,
                trampoline: self.trampoline,
                join_pid_ns: self.join_pid_ns,
                proc_pidns: self.proc_pidns,
                stdio: self.stdio,
                signals_default: true,
                cgroup_tasks: &self.cgroup_tasks,
                cgroup_prime: self.cgroup_prime,
                trace: self.trace,
                loopback_up: self.loopback_up,
                wait_devices: self.wait_devices,
            },
            pid: &pid,
            pidfd: &pidfd,
        };
        let pid_ptr = std::ptr::addr_of_mut!(pid);
        let pidfd_ptr = std::ptr::addr_of_mut!(pidfd);
        Dumpable::hold();
        // SAFETY: `child::vm_main` never returns, makes only raw system calls and
        // allocation-free calls over `arg` (see `child`), and writes only its own
        // stack. `arg`, `pid`, `pidfd`, `stack` and everything `arg` borrows live on
        // this frame or in `self`, both alive until clone_vm returns, which is after
        // the child stopped using our memory.
        let r = unsafe {
            crate::sys::clone::clone_vm(
                self.ns_flags,
                self.cgroup_fd,
                &stack,
                child::vm_main,
                &arg as *const VmArg<'_> as *mut libc::c_void,
                pid_ptr,
                pidfd_ptr,
            )
        };
        Dumpable::release();
        drop(take(&self.child_sock));
        r.map(|pid| Cloned { pid, pidfd })
            .map_err(|e| ("clone3", e))
    }
}

fn take(fd: &Mutex<Option<OwnedFd>>) -> Option<OwnedFd> {
    fd.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Changes only this (helper) thread's mask.
fn block_all_signals() {
    crate::sys::signal::SigSet::full().set_mask();
}

/// The host's dumpable flag while children share its address space: each child
/// makes the address space non-dumpable (CVE-2019-5736: its /proc entries must be
/// closed to the container); when the last one has exec'd, the host's own setting
/// comes back.
struct Dumpable;

static DUMPABLE: Mutex<(usize, libc::c_int)> = Mutex::new((0, 1));

impl Dumpable {
    fn hold() {
        let mut g = DUMPABLE.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 == 0 {
            g.1 = crate::sys::caps::prctl(libc::PR_GET_DUMPABLE, 0, 0).unwrap_or(1);
        }
        g.0 += 1;
    }

    fn release() {
        let mut g = DUMPABLE.lock().unwrap_or_else(|e| e.into_inner());
        g.0 -= 1;
        if g.0 == 0 {
            let _ = crate::sys::caps::prctl(libc::PR_SET_DUMPABLE, g.1 as libc::c_ulong, 0);
        }
    }
}
