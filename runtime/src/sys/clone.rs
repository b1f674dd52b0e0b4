//! Process creation: `clone3` with namespace flags, `CLONE_PIDFD` and
//! `CLONE_INTO_CGROUP`, with a fallback to `clone` where `clone3` is missing.

use super::{cvt_long, Errno, SysResult};

/// `CLONE_INTO_CGROUP` as the u64 clone3 takes (libc's c_int constant overflows).
pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// What a successful clone returned, seen from the parent (not `Copy`: it holds
/// the one pidfd, see [`Cloned::into_pidfd`]).
#[derive(Debug)]
pub struct Cloned {
    /// The child's pid in the caller's pid namespace.
    pub pid: libc::pid_t,
    /// A pidfd for the child (CLONE_PIDFD); always valid.
    pub pidfd: libc::c_int,
}

impl Cloned {
    /// The pidfd as an owned fd (the parent's side; the child executor, which must
    /// not run destructors, reads `pidfd` directly).
    pub fn into_pidfd(self) -> std::os::fd::OwnedFd {
        // SAFETY: CLONE_PIDFD gave us this fd and `self` (not Copy) is consumed.
        unsafe { super::fd::adopt(self.pidfd) }
    }
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

/// A stack for a child that shares our memory (`CLONE_VM`): an anonymous
/// mapping with an inaccessible guard page at its low end, unmapped on drop.
pub struct ChildStack {
    base: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; nothing in it is tied
// to the thread that created it.
unsafe impl Send for ChildStack {}

const GUARD: usize = 4096;

impl ChildStack {
    /// Map `size` bytes of stack (plus the guard page). Pages are only backed
    /// when touched (`MAP_NORESERVE`).
    pub fn new(size: usize) -> SysResult<ChildStack> {
        let len = size + GUARD;
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let stack = ChildStack { base, len };
        // SAFETY: the first page of the mapping we own; a stack overflow then faults
        // instead of running into whatever lies below.
        if unsafe { libc::mprotect(base, GUARD, libc::PROT_NONE) } != 0 {
            return Err(Errno::last());
        }
        Ok(stack)
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping `new` created; no child runs on it
        // any more (the owner drops it only after the child exec'd or exited).
        unsafe { libc::munmap(self.base, self.len) };
    }
}

/// The entry point of a child that shares our memory: runs on the child's own
/// stack with the argument given to [`clone_vm`], and never returns.
pub type VmEntry = extern "C" fn(*mut libc::c_void) -> !;

/// vfork-style clone: the child shares our address space (`CLONE_VM`, so nothing
/// is copied however large the caller is) and runs `entry(arg)` on `stack`; the
/// calling thread sleeps until the child has exec'd or exited (`CLONE_VFORK`),
/// then gets its pid. The child's pid and pidfd are stored in `*pid` and `*pidfd`
/// before the child runs (`CLONE_PARENT_SETTID`, `CLONE_PIDFD`), so the child can
/// read them there and tell someone else.
///
/// The system call is made directly: the return value is `-errno`, and nothing,
/// not even the calling thread's `errno`, is written on either side.
///
/// # Safety
/// `entry` must never return nor unwind, must only run code that is safe in a
/// process sharing this memory and this thread's TLS (no allocation, no locks, no
/// thread-library calls; the calling thread stays asleep, so its `errno` is the
/// child's to use), and must leave everything `arg` points to untouched except
/// what it owns. `pid`, `pidfd`, `arg` and `stack` must stay valid until this
/// returns.
#[cfg(target_arch = "x86_64")]
pub unsafe fn clone_vm(
    ns_flags: u64,
    cgroup_fd: Option<libc::c_int>,
    stack: &ChildStack,
    entry: VmEntry,
    arg: *mut libc::c_void,
    pid: *mut libc::pid_t,
    pidfd: *mut libc::c_int,
) -> SysResult<libc::pid_t> {
    // SAFETY: clone_args is a plain C struct; all-zero is a valid initial value.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = ns_flags
        | (libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::CLONE_PARENT_SETTID)
            as u64;
    args.pidfd = pidfd as u64;
    args.parent_tid = pid as u64;
    args.exit_signal = libc::SIGCHLD as u64;
    args.stack = stack.base as u64;
    args.stack_size = stack.len as u64;
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    let ret: i64;
    // SAFETY: clone3 with a stack: the child starts with rsp at the top of `stack`
    // (16-byte aligned: page-aligned mapping), rbp cleared, and calls `entry(arg)`
    // from r12/r13 (preserved across syscall). `entry` never returns; the ud2 traps
    // if it did. The parent only sees rax (and the rcx/r11 the syscall clobbers),
    // after the child has released the memory we share.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") &mut args as *mut libc::clone_args,
            in("rsi") std::mem::size_of::<libc::clone_args>(),
            in("r12") entry,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if ret < 0 {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as libc::pid_t)
    }
}

/// Leave the child without running any destructor or atexit handler.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

/// SIGKILL this process now (the fault injection of test builds).
pub fn kill_self() -> ! {
    // SAFETY: kill(2) of our own pid with integer arguments; SIGKILL does not return.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
        libc::_exit(137)
    }
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
