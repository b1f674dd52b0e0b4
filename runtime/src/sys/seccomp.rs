//! The raw `seccomp(2)` system call (no libseccomp): what the child uses to load a
//! precompiled filter. Allocation-free.

use super::{cvt_long, SysResult};

pub const SET_MODE_FILTER: libc::c_uint = 1;

pub const FLAG_TSYNC: libc::c_uint = 1;
pub const FLAG_LOG: libc::c_uint = 2;
pub const FLAG_SPEC_ALLOW: libc::c_uint = 4;
pub const FLAG_NEW_LISTENER: libc::c_uint = 8;
pub const FLAG_TSYNC_ESRCH: libc::c_uint = 16;
pub const FLAG_WAIT_KILLABLE_RECV: libc::c_uint = 32;

/// One BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// The kernel's limit on a filter's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

/// Install `prog` as a seccomp filter for the calling thread. Returns the notify
/// fd with [`FLAG_NEW_LISTENER`], else 0.
pub fn set_filter(prog: &[Insn], flags: libc::c_uint) -> SysResult<libc::c_int> {
    let fprog = libc::sock_fprog {
        len: prog.len() as libc::c_ushort,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `Insn` has the layout of `sock_filter`; `fprog` points at `prog`,
    // which outlives the call; the kernel copies the program.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SET_MODE_FILTER as libc::c_ulong,
            flags as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
        )
    };
    cvt_long(ret).map(|fd| fd as libc::c_int)
}

/// Does the kernel know this filter flag? (A NULL program with a known flag fails
/// with EFAULT, with an unknown one with EINVAL.)
pub fn flag_supported(flag: libc::c_uint) -> bool {
    // WAIT_KILLABLE_RECV is only valid together with NEW_LISTENER.
    let flag = if flag == FLAG_WAIT_KILLABLE_RECV {
        flag | FLAG_NEW_LISTENER
    } else {
        flag
    };
    // SAFETY: a NULL program is never dereferenced successfully: the call fails.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SET_MODE_FILTER as libc::c_ulong,
            flag as libc::c_ulong,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    ret < 0 && super::Errno::last() == super::Errno(libc::EFAULT)
}
