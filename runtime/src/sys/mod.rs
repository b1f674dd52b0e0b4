//! Thin wrappers over the system calls the engine needs and libc lacks (or wraps
//! in ways that allocate). Every `unsafe` block of the engine outside the child
//! executor lives here, each with its `// SAFETY:` note.
//!
//! Everything here is allocation-free and returns [`Errno`] so that the container's
//! child process (which must never allocate) can call it, except `libseccomp`
//! (the parent's filter compiler, which allocates) and `bpf` (the parent only).

pub mod arena;
pub mod bpf;
pub mod caps;
pub mod clone;
pub mod event;
pub mod fd;
pub mod fs;
pub mod libseccomp;
pub mod mount_api;
pub mod pidfd;
pub mod poll;
pub mod proc;
pub mod process;
pub mod seccomp;
pub mod signal;
pub mod socket;
pub mod term;

use std::fmt;

/// A raw `errno` value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// The calling thread's current errno.
    pub fn last() -> Errno {
        // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
        Errno(unsafe { *libc::__errno_location() })
    }

    /// As a `std::io::Error` (for messages in the parent).
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::from_raw_os_error(self.0)
    }

    /// The error's text as Go (runc) words it: strerror with a lower-case first
    /// letter, no "(os error N)" (`no such file or directory`).
    pub fn go_text(self) -> String {
        let s = self.into_io().to_string();
        let s = s
            .strip_suffix(&format!(" (os error {})", self.0))
            .unwrap_or(&s);
        let mut c = s.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => String::new(),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", std::io::Error::from_raw_os_error(self.0))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Result of a raw system call.
pub type SysResult<T> = Result<T, Errno>;

/// 64 random bits from the kernel (`getrandom`, blocking only before the pool is
/// initialised at boot).
pub fn random_u64() -> SysResult<u64> {
    let mut b = [0u8; 8];
    let mut done = 0;
    while done < b.len() {
        // SAFETY: the buffer and length describe the unfilled tail of `b`.
        let n = unsafe { libc::getrandom(b[done..].as_mut_ptr().cast(), b.len() - done, 0) };
        if n < 0 {
            let e = Errno::last();
            if e.0 == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(u64::from_ne_bytes(b))
}

/// Turn a `-1`-on-error return into a result.
#[inline]
pub fn cvt(ret: libc::c_int) -> SysResult<libc::c_int> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// Turn a `-1`-on-error `syscall(2)` return into a result.
#[inline]
pub fn cvt_long(ret: libc::c_long) -> SysResult<libc::c_long> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// Retry a call while it fails with EINTR.
#[inline]
pub fn retry<T>(mut f: impl FnMut() -> SysResult<T>) -> SysResult<T> {
    loop {
        match f() {
            Err(Errno(libc::EINTR)) => continue,
            r => return r,
        }
    }
}

/// The effective uid of this process.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid takes no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// `CLOCK_MONOTONIC` in nanoseconds (glibc's vDSO call: no system call, no
/// allocation, safe in the child). The `--trace` timestamps of the runtime and of
/// the child come from this one clock.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
