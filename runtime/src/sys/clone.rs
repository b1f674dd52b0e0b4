//! Process creation: `clone3` with namespace flags, `CLONE_PIDFD` and
//! `CLONE_INTO_CGROUP`, with a fallback to `clone` where `clone3` is missing.

use super::{cvt_long, Errno, SysResult};

/// `CLONE_INTO_CGROUP` as the u64 clone3 takes (libc's c_int constant overflows).
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// What a successful clone returned, seen from the parent.
#[derive(Debug, Clone, Copy)]
pub struct Cloned {
    /// The child's pid in the caller's pid namespace.
    pub pid: libc::pid_t,
    /// A pidfd for the child (CLONE_PIDFD); always valid.
    pub pidfd: libc::c_int,
}

/// Which side of a fork-like clone we are on.
pub enum Side {
    Parent(Cloned),
    Child,
}

/// Fork-like clone (no shared memory: the child gets a copy-on-write copy of the
/// caller, like `fork`), creating the namespaces in `ns_flags`, returning a pidfd,
/// and placing the child into `cgroup_fd` when it is `Some` (cgroup v2 only).
///
/// The child must only run async-signal-safe code that never allocates: the caller
/// may be multi-threaded and another thread may hold the allocator's lock.
pub fn fork_into(ns_flags: u64, cgroup_fd: Option<libc::c_int>) -> SysResult<Side> {
    let mut pidfd: libc::c_int = -1;
    // SAFETY: clone_args is a plain C struct; all-zero is a valid initial value.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = ns_flags | libc::CLONE_PIDFD as u64;
    args.pidfd = &mut pidfd as *mut libc::c_int as u64;
    args.exit_signal = libc::SIGCHLD as u64;
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: clone3 with stack 0 and without CLONE_VM behaves like fork: the child
    // continues on a copy of this stack. `args` and `pidfd` outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    match cvt_long(ret) {
        Ok(0) => Ok(Side::Child),
        Ok(pid) => Ok(Side::Parent(Cloned {
            pid: pid as libc::pid_t,
            pidfd,
        })),
        Err(Errno(libc::ENOSYS)) if cgroup_fd.is_none() => fork_legacy(ns_flags),
        Err(e) => Err(e),
    }
}

/// The `clone(2)` fallback where clone3 is missing (Linux 5.2, or a sandbox such
/// as valgrind that refuses clone3): CLONE_PIDFD through clone(2), which returns
/// the pidfd in the parent_tid argument. Without a pidfd there is no race-free
/// handle on the child, so a kernel that cannot give one is refused (ENOSYS).
pub(crate) fn fork_legacy(ns_flags: u64) -> SysResult<Side> {
    let mut pidfd: libc::c_int = -1;
    let flags = ns_flags as libc::c_ulong
        | libc::CLONE_PIDFD as libc::c_ulong
        | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: raw clone with a NULL stack behaves like fork (x86_64 argument order:
    // flags, stack, parent_tid, child_tid, tls); with CLONE_PIDFD the kernel writes
    // the pidfd through parent_tid, which points at `pidfd` on our stack.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            0usize,
            &mut pidfd as *mut libc::c_int,
            std::ptr::null_mut::<libc::c_int>(),
            0usize,
        )
    };
    let pid = cvt_long(ret)?;
    if pid == 0 {
        return Ok(Side::Child);
    }
    if pidfd < 0 {
        // Unreachable on a kernel that accepted CLONE_PIDFD; be safe anyway.
        return Err(Errno(libc::ENOSYS));
    }
    Ok(Side::Parent(Cloned {
        pid: pid as libc::pid_t,
        pidfd,
    }))
}

/// Leave the child without running any destructor or atexit handler.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child_exit_status(side: SysResult<Side>) -> i32 {
        match side.unwrap() {
            Side::Child => exit_now(7),
            Side::Parent(c) => {
                assert!(c.pidfd >= 0);
                let status = crate::sys::pidfd::wait(c.pidfd).unwrap();
                crate::sys::fs::close(c.pidfd);
                crate::sys::pidfd::exit_code(status)
            }
        }
    }

    #[test]
    fn clone3_gives_a_pidfd_and_the_status() {
        assert_eq!(child_exit_status(fork_into(0, None)), 7);
    }

    #[test]
    fn legacy_clone_gives_a_pidfd_too() {
        assert_eq!(child_exit_status(fork_legacy(0)), 7);
    }
}
