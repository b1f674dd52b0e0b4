//! The few libseccomp functions the engine uses to compile a filter to BPF, with a
//! safe owner for the filter context. Declared here rather than through a crate:
//! ten functions of a stable C API, no extra dependency (see `runtime/build.rs`
//! for how the library is linked and `seccomp/README.md` for the comparison).
//!
//! Only the parent calls these (before the clone): libseccomp allocates.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::Errno;

#[repr(C)]
struct ScmpVersion {
    major: c_uint,
    minor: c_uint,
    micro: c_uint,
}

/// `struct scmp_arg_cmp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCmp {
    /// Argument index, 0 to 5.
    pub arg: c_uint,
    /// `enum scmp_compare` (see [`CMP_NE`] ...).
    pub op: c_int,
    pub datum_a: u64,
    pub datum_b: u64,
}

pub const CMP_NE: c_int = 1;
pub const CMP_LT: c_int = 2;
pub const CMP_LE: c_int = 3;
pub const CMP_EQ: c_int = 4;
pub const CMP_GE: c_int = 5;
pub const CMP_GT: c_int = 6;
pub const CMP_MASKED_EQ: c_int = 7;

pub const ACT_KILL_PROCESS: u32 = 0x8000_0000;
pub const ACT_KILL_THREAD: u32 = 0x0000_0000;
pub const ACT_TRAP: u32 = 0x0003_0000;
pub const ACT_NOTIFY: u32 = 0x7fc0_0000;
pub const ACT_LOG: u32 = 0x7ffc_0000;
pub const ACT_ALLOW: u32 = 0x7fff_0000;

/// `SCMP_ACT_ERRNO(x)`.
pub const fn act_errno(x: u16) -> u32 {
    0x0005_0000 | x as u32
}

/// `SCMP_ACT_TRACE(x)`.
pub const fn act_trace(x: u16) -> u32 {
    0x7ff0_0000 | x as u32
}

/// `SCMP_FLTATR_CTL_OPTIMIZE`.
const FLTATR_CTL_OPTIMIZE: c_int = 8;

/// `__NR_SCMP_ERROR`: the name is unknown on every architecture.
pub const NR_ERROR: c_int = -1;

extern "C" {
    fn seccomp_version() -> *const ScmpVersion;
    fn seccomp_init(def_action: u32) -> *mut c_void;
    fn seccomp_release(ctx: *mut c_void);
    fn seccomp_arch_resolve_name(arch_name: *const c_char) -> u32;
    fn seccomp_arch_native() -> u32;
    fn seccomp_arch_add(ctx: *mut c_void, arch_token: u32) -> c_int;
    fn seccomp_attr_set(ctx: *mut c_void, attr: c_int, value: u32) -> c_int;
    fn seccomp_syscall_resolve_name(name: *const c_char) -> c_int;
    fn seccomp_syscall_resolve_name_arch(arch_token: u32, name: *const c_char) -> c_int;
    fn seccomp_rule_add_array(
        ctx: *mut c_void,
        action: u32,
        syscall: c_int,
        arg_cnt: c_uint,
        arg_array: *const ArgCmp,
    ) -> c_int;
    fn seccomp_export_bpf(ctx: *const c_void, fd: c_int) -> c_int;
}

/// The linked library's version (major, minor, micro).
pub fn version() -> (u32, u32, u32) {
    // SAFETY: seccomp_version returns a pointer to a static struct (never NULL in 2.x).
    let v = unsafe { seccomp_version() };
    if v.is_null() {
        return (0, 0, 0);
    }
    // SAFETY: non-null, points to static data.
    let v = unsafe { &*v };
    (v.major, v.minor, v.micro)
}

/// The token (AUDIT_ARCH_*) for a libseccomp architecture name ("x86_64", "arm",
/// ...), or None when this libseccomp does not know it.
pub fn arch_token(name: &CStr) -> Option<u32> {
    // SAFETY: `name` is NUL-terminated; the function only reads it.
    let t = unsafe { seccomp_arch_resolve_name(name.as_ptr()) };
    (t != 0).then_some(t)
}

/// The native architecture's token.
pub fn arch_native() -> u32 {
    // SAFETY: no arguments, no side effects.
    unsafe { seccomp_arch_native() }
}

/// The native syscall number for `name`: a negative pseudo number for a syscall
/// that exists only on other architectures, [`NR_ERROR`] for an unknown name.
pub fn resolve_syscall(name: &CStr) -> c_int {
    // SAFETY: `name` is NUL-terminated; the function only reads it.
    unsafe { seccomp_syscall_resolve_name(name.as_ptr()) }
}

/// The number of syscall `name` on architecture `arch` (a token): negative when
/// the architecture has no such syscall (a pseudo number or [`NR_ERROR`]).
pub fn resolve_syscall_arch(arch: u32, name: &CStr) -> c_int {
    // SAFETY: `name` is NUL-terminated; the function only reads it.
    unsafe { seccomp_syscall_resolve_name_arch(arch, name.as_ptr()) }
}

fn rc(ret: c_int) -> Result<(), Errno> {
    // libseccomp returns -errno.
    if ret < 0 {
        Err(Errno(-ret))
    } else {
        Ok(())
    }
}

/// A libseccomp filter context, released on drop.
pub struct Filter(*mut c_void);

impl Filter {
    /// A filter for the native architecture with a default action.
    pub fn new(default_action: u32) -> Result<Filter, Errno> {
        // SAFETY: seccomp_init allocates a context or returns NULL (bad action).
        let ctx = unsafe { seccomp_init(default_action) };
        if ctx.is_null() {
            return Err(Errno(libc::EINVAL));
        }
        Ok(Filter(ctx))
    }

    /// Add an architecture (already present: Ok).
    pub fn add_arch(&mut self, token: u32) -> Result<(), Errno> {
        // SAFETY: a live context we own.
        match rc(unsafe { seccomp_arch_add(self.0, token) }) {
            Err(Errno(libc::EEXIST)) => Ok(()),
            r => r,
        }
    }

    /// `SCMP_FLTATR_CTL_OPTIMIZE`: 1 (priority, default) or 2 (binary tree).
    pub fn set_optimize(&mut self, level: u32) -> Result<(), Errno> {
        // SAFETY: a live context we own.
        rc(unsafe { seccomp_attr_set(self.0, FLTATR_CTL_OPTIMIZE, level) })
    }

    /// Add a rule (non-strict: a pseudo syscall is added only on the architectures
    /// that have it).
    pub fn add_rule(&mut self, action: u32, nr: c_int, args: &[ArgCmp]) -> Result<(), Errno> {
        // SAFETY: a live context; `args` is a valid array of `args.len()` entries.
        rc(unsafe {
            seccomp_rule_add_array(self.0, action, nr, args.len() as c_uint, args.as_ptr())
        })
    }

    /// The filter as raw BPF (`struct sock_filter` array, native byte order).
    pub fn export_bpf(&self) -> Result<Vec<u8>, Errno> {
        // SAFETY: memfd_create with a static name.
        let fd = unsafe { libc::memfd_create(c"fastrun-seccomp".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: a fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a live context and an fd open for writing.
        rc(unsafe { seccomp_export_bpf(self.0, fd.as_raw_fd()) })?;
        let mut f = std::fs::File::from(fd);
        use std::io::{Read, Seek};
        f.seek(std::io::SeekFrom::Start(0))
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let mut out = Vec::new();
        f.read_to_end(&mut out)
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        Ok(out)
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        // SAFETY: a live context we own, released once.
        unsafe { seccomp_release(self.0) }
    }
}

/// Built against musl, with Debian's glibc-built `libseccomp.a`: the library's text
/// export (`seccomp_export_pfc`, which the engine never calls) refers to glibc's
/// fortified `__fprintf_chk`, which musl lacks. This stands in for it so that the
/// archive links; it writes nothing and reports failure.
#[cfg(target_env = "musl")]
// SAFETY: no other definition of the symbol exists in a musl link; the signature
// ignores the variadic arguments, which the x86-64 and aarch64 C ABIs allow a
// callee to do.
#[unsafe(no_mangle)]
pub extern "C" fn __fprintf_chk(_stream: *mut c_void, _flag: c_int, _fmt: *const c_char) -> c_int {
    -1
}
