//! The exec trampoline: the container's init never executes the user program
//! directly. It executes a 164-byte static ELF from a sealed memfd, which then
//! executes the user program.
//!
//! Why (CVE-2019-5736): the init is a clone of the runtime (no re-exec), so until
//! its final execve `/proc/self/exe` is the host's fastrun binary (or, for
//! libfastrun, the embedding program). A user program that is a script starting
//! `#!/proc/self/exe` would make the kernel run that host binary inside the
//! container, which could then reopen it for writing. Through the trampoline, the
//! exe at the moment of the user execve is the sealed memfd: harmless. This costs
//! one extra execve of a one-page binary, instead of re-executing the whole runtime
//! from a memfd copy (runc, crun) on every start.
//!
//! The stub (x86_64), called as `stub PATH ARGV0 ARGV1 ...`:
//! ```text
//!   mov  rax, [rsp]            ; argc
//!   cmp  rax, 2                ; need PATH and ARGV0
//!   jb   fail
//!   mov  rdi, [rsp+8]          ; PATH
//!   lea  rsi, [rsp+16]         ; &ARGV0
//!   lea  rdx, [rsp+rax*8+16]   ; envp
//!   mov  eax, 59               ; execve
//!   syscall
//! fail:
//!   mov  edi, 127
//!   mov  eax, 231              ; exit_group(127)
//!   syscall
//! ```
//! A `#!/proc/self/exe` script therefore re-runs the stub with one argument fewer
//! each round and ends with exit status 127.

use std::os::fd::{FromRawFd, OwnedFd};

use crate::error::{Error, Result};

#[cfg(target_arch = "x86_64")]
const CODE: [u8; 44] = [
    0x48, 0x8b, 0x04, 0x24, // mov rax,[rsp]
    0x48, 0x83, 0xf8, 0x02, // cmp rax,2
    0x72, 0x16, // jb fail
    0x48, 0x8b, 0x7c, 0x24, 0x08, // mov rdi,[rsp+8]
    0x48, 0x8d, 0x74, 0x24, 0x10, // lea rsi,[rsp+16]
    0x48, 0x8d, 0x54, 0xc4, 0x10, // lea rdx,[rsp+rax*8+16]
    0xb8, 0x3b, 0x00, 0x00, 0x00, // mov eax,59
    0x0f, 0x05, // syscall
    0xbf, 0x7f, 0x00, 0x00, 0x00, // fail: mov edi,127
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax,231
    0x0f, 0x05, // syscall
];

#[cfg(target_arch = "x86_64")]
const MACHINE: u16 = 0x3e;

const BASE: u64 = 0x40_0000;
const HEADERS: usize = 64 + 56;

/// The stub as a complete ELF64 executable.
#[cfg(target_arch = "x86_64")]
pub fn image() -> Vec<u8> {
    let total = (HEADERS + CODE.len()) as u64;
    let mut b = Vec::with_capacity(total as usize);
    // ELF header.
    b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    b.extend_from_slice(&MACHINE.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    b.extend_from_slice(&(BASE + HEADERS as u64).to_le_bytes()); // entry
    b.extend_from_slice(&64u64.to_le_bytes()); // phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // flags
    b.extend_from_slice(&64u16.to_le_bytes()); // ehsize
    b.extend_from_slice(&56u16.to_le_bytes()); // phentsize
    b.extend_from_slice(&1u16.to_le_bytes()); // phnum
    b.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
                                  // Program header: one PT_LOAD, R+X, the whole file.
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&5u32.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&BASE.to_le_bytes());
    b.extend_from_slice(&BASE.to_le_bytes());
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(&0x1000u64.to_le_bytes());
    b.extend_from_slice(&CODE);
    b
}

/// Is the trampoline available on this architecture?
pub const AVAILABLE: bool = cfg!(target_arch = "x86_64");

const MFD_CLOEXEC: libc::c_uint = 0x1;
const MFD_ALLOW_SEALING: libc::c_uint = 0x2;
const MFD_EXEC: libc::c_uint = 0x10;

/// A sealed memfd holding the stub, close-on-exec (pass `cloexec = false` only in tests).
#[cfg(target_arch = "x86_64")]
pub fn memfd(cloexec: bool) -> Result<OwnedFd> {
    let flags = MFD_ALLOW_SEALING | if cloexec { MFD_CLOEXEC } else { 0 };
    // SAFETY: memfd_create with a static name; MFD_EXEC (6.3+) keeps it executable
    // where vm.memfd_noexec would otherwise refuse; older kernels reject the flag.
    let mut fd = unsafe {
        libc::syscall(
            libc::SYS_memfd_create,
            c"fastrun-exec".as_ptr(),
            flags | MFD_EXEC,
        )
    };
    if fd < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above, without MFD_EXEC.
        fd = unsafe { libc::syscall(libc::SYS_memfd_create, c"fastrun-exec".as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(Error::last_os("memfd_create for the exec trampoline"));
    }
    // SAFETY: a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    use std::os::fd::AsRawFd;
    let img = image();
    crate::sys::fs::write_all(fd.as_raw_fd(), &img).map_err(|e| Error::Sys {
        op: "write exec trampoline",
        source: e.into_io(),
    })?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our fd.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(Error::last_os("seal exec trampoline"));
    }
    Ok(fd)
}

/// Other architectures: no trampoline yet; the init execs the user program directly
/// (and relies on PR_SET_DUMPABLE alone).
#[cfg(not(target_arch = "x86_64"))]
pub fn memfd(_cloexec: bool) -> Result<OwnedFd> {
    Err(Error::Unsupported(
        "exec trampoline: not available on this architecture".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::process::Command;

    #[test]
    fn image_is_one_small_page() {
        let img = image();
        assert_eq!(img.len(), 164);
        assert_eq!(&img[..4], b"\x7fELF");
    }

    #[test]
    fn stub_execs_path_with_given_argv0() {
        let fd = memfd(false).unwrap();
        let out = Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .args([
                "/bin/sh",
                "custom-argv0",
                "-c",
                "head -c 12 /proc/$$/cmdline; echo \" $0:$1\"",
                "zero",
                "one",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "custom-argv0 zero:one\n"
        );
    }

    #[test]
    fn stub_passes_environment() {
        let fd = memfd(false).unwrap();
        let out = Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .args(["/bin/sh", "sh", "-c", "echo $FOO"])
            .env_clear()
            .env("FOO", "bar")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "bar\n");
    }

    #[test]
    fn stub_without_argv0_exits_127() {
        let fd = memfd(false).unwrap();
        let st = Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(127));
        let st = Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .arg("/bin/true")
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(127));
    }

    #[test]
    fn memfd_is_sealed() {
        let fd = memfd(true).unwrap();
        let r = crate::sys::fs::write(fd.as_raw_fd(), b"x");
        assert!(r.is_err());
    }
}
