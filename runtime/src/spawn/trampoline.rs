//! The exec trampoline: the container's process never executes the user program
//! directly from the runtime. It executes a 520-byte static ELF from a sealed
//! memfd, which synchronises with the runtime and then executes the user program.
//!
//! Why (CVE-2019-5736): the init is a clone of the runtime (no re-exec), so until
//! it execs, `/proc/self/exe` is the host's fastrun binary (or, for libfastrun,
//! the embedding program), its memory is the runtime's and its root the host's
//! until it pivots. Two ways for a container to reach that:
//! - a user program that is a script starting `#!/proc/self/exe` makes the kernel
//!   run the exe of the process that execs it. Through the stub that exe is the
//!   sealed memfd: harmless.
//! - a container process with `CAP_SYS_PTRACE` (in the user namespace that owns the
//!   runtime's credentials, i.e. any container without a user namespace of its
//!   own) passes every ptrace access check whatever the dumpable flag, so any
//!   process of the runtime it can *see* (in its pid namespace) can be ptraced, its
//!   `/proc/PID/mem` written, its `exe` opened and kept (and reopened for writing
//!   once the runtime has exited), its `root` and `cwd` followed. Hence no process
//!   running the runtime's code is ever visible in a pid namespace that a container
//!   process can be in, once another process may be there:
//!   - a new pid namespace (`run`, `create`): the init is alone in it until the
//!     state is saved; it execs the stub *before* it tells the runtime it is ready
//!     to be saved, and the stub waits for the commit (and for `start`). What an
//!     `exec` in a created container, or a container joining its pid namespace,
//!     sees as pid 1 is the stub: sealed exe, the container's root, cwd,
//!     credentials and seccomp filter, no fd of the runtime but the sync socket.
//!   - an existing pid namespace (`exec`, and a pid namespace joined by path at
//!     create where the kernel can mount a procfs for it from outside, 6.18+): the
//!     child is cloned outside it, joins its other namespaces and sets everything up
//!     there, enters the pid namespace for its children only, and execs the stub in
//!     *fork* mode: the stub clones the process that runs the user program
//!     (`CLONE_PARENT`: a child of the runtime), reports its pid and exits. The
//!     first process the container can see is a copy of the stub (which waits for
//!     the commit and `start` as above).
//!
//! This costs one extra execve of a one-page binary (and for `exec` one fork of
//! it), instead of re-executing the whole runtime from a memfd copy or a read-only
//! mount (runc, crun) on every start.
//!
//! The stub (x86_64) is called as `stub PATH ARGV0 ARGV1 ...`; the fds and the mode
//! are constants at the end of the image ([`Sync`]), written when the memfd is made:
//! ```text
//!   if sock < 0: goto exec                   ; a plain trampoline (tests)
//!   if fcntl(sock, F_GETFD) == -EBADF: goto exec   ; re-run as a script's interpreter
//!   prctl(PR_SET_DUMPABLE, 0)                ; as the runtime's child was: its fds
//!                                            ; and memory closed to the container
//!                                            ; without CAP_SYS_PTRACE (an error is
//!                                            ; ignored; the user's execve resets it)
//!   index = 0
//!   if fork:
//!     index = clone(CLONE_PARENT|SIGCHLD, 0, cookie, 0, 0)   ; cookie: see seccomp
//!     if index < 0: exit_group(1)
//!     if index == 0:                         ; the new process
//!       setsid()                             ; its own session and group (runc's)
//!       if tty: ioctl(0, TIOCSCTTY, 0) == 0 or exit_group(1)
//!       goto commit
//!   write(sock, Msg { kind: MSG_STUB, index }, 24) == 24 or exit_group(1)
//!   if fork: exit_group(0)                   ; the forking process is done
//! commit:
//!   read(sock, buf, 1) == 1 or exit_group(1) ; the state is saved (EOF: runtime gone)
//!   if fifo >= 0:
//!     read(fifo, buf, 1) == 1 or exit_group(1)   ; `start`
//!     close(fifo)                          ; errors ignored (a profile may NOTIFY
//!   close(sock)                            ; or deny close: runc ignores them too)
//! exec:
//!   argc >= 2 or exit_group(127)
//!   execve(argv[1], &argv[2], envp); exit_group(127)
//! ```
//! A `#!/proc/self/exe` script therefore re-runs the stub, which finds its sync
//! socket closed and acts as the plain trampoline: with one argument fewer each
//! round, it ends with exit status 127. It never runs the runtime.

use std::os::fd::OwnedFd;

use crate::error::{Error, Result};

/// The message kind of the stub's report (see [`super::protocol`]).
pub const MSG_STUB: u32 = 7;

/// `clone` flags of the stub's fork: the new process is a child of the runtime.
pub const CLONE_FLAGS: u64 = libc::CLONE_PARENT as u64 | libc::SIGCHLD as u64;

/// What the stub does before it execs the user program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sync {
    /// The child's end of the sync socket (not close-on-exec when the stub runs).
    pub sock: libc::c_int,
    /// The exec fifo to wait on for `start`, or -1.
    pub fifo: libc::c_int,
    /// Fork the process that runs the user program (and report its pid).
    pub fork: bool,
    /// The forked process (always in a session of its own: the forking process,
    /// whose session it was in, exits) makes its stdin (the pty) its controlling
    /// terminal.
    pub tty: bool,
    /// The fork's `clone` passes this in its (ignored) third argument: the seccomp
    /// prologue allows exactly that `clone` (see `seccomp::with_exec_allowance`).
    pub cookie: u64,
}

#[cfg(target_arch = "x86_64")]
const CODE: [u8; 0x178] = [
    0x8b, 0x3d, 0x7a, 0x01, 0x00, 0x00, // _start: mov edi,[sock]
    0x85, 0xff, // test edi,edi
    0x0f, 0x88, 0x2d, 0x01, 0x00, 0x00, // js exec
    0xbe, 0x01, 0x00, 0x00, 0x00, // mov esi,0x1
    0xb8, 0x48, 0x00, 0x00, 0x00, // mov eax,0x48
    0x0f, 0x05, // syscall
    0x48, 0x83, 0xf8, 0xf7, // cmp rax,0xfffffffffffffff7
    0x0f, 0x84, 0x17, 0x01, 0x00, 0x00, // je exec
    0xbf, 0x04, 0x00, 0x00, 0x00, // mov edi,0x4
    0x31, 0xf6, // xor esi,esi
    0xb8, 0x9d, 0x00, 0x00, 0x00, // mov eax,0x9d
    0x0f, 0x05, // syscall
    0x31, 0xc0, // xor eax,eax
    0x83, 0x3d, 0x4d, 0x01, 0x00, 0x00, 0x00, // cmp [fork],0x0
    0x74, 0x26, // je hello
    0xbf, 0x11, 0x80, 0x00, 0x00, // mov edi,0x8011
    0x31, 0xf6, // xor esi,esi
    0x48, 0x8b, 0x15, 0x2d, 0x01, 0x00, 0x00, // mov rdx,[cookie]
    0x45, 0x31, 0xd2, // xor r10d,r10d
    0x45, 0x31, 0xc0, // xor r8d,r8d
    0xb8, 0x38, 0x00, 0x00, 0x00, // mov eax,0x38
    0x0f, 0x05, // syscall
    0x48, 0x85, 0xc0, // test rax,rax
    0x0f, 0x88, 0x06, 0x01, 0x00, 0x00, // js fail
    0x74, 0x4a, // je child
    0x48, 0xc7, 0x44, 0x24, 0xc0, 0x07, 0x00, 0x00, 0x00, // hello: mov [rsp-0x40],0x7
    0x48, 0x89, 0x44, 0x24, 0xc8, // mov [rsp-0x38],rax
    0x48, 0xc7, 0x44, 0x24, 0xd0, 0x00, 0x00, 0x00, 0x00, // mov [rsp-0x30],0x0
    0x8b, 0x3d, 0x00, 0x01, 0x00, 0x00, // mov edi,[sock]
    0x48, 0x8d, 0x74, 0x24, 0xc0, // lea rsi,[rsp-0x40]
    0xba, 0x18, 0x00, 0x00, 0x00, // mov edx,0x18
    0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax,0x1
    0x0f, 0x05, // syscall
    0x48, 0x83, 0xf8, 0x18, // cmp rax,0x18
    0x0f, 0x85, 0xcc, 0x00, 0x00, 0x00, // jne fail
    0x83, 0x3d, 0xe6, 0x00, 0x00, 0x00, 0x00, // cmp [fork],0x0
    0x74, 0x3b, // je commit
    0x31, 0xff, // xor edi,edi
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax,0xe7
    0x0f, 0x05, // syscall
    0xb8, 0x70, 0x00, 0x00, 0x00, // child: mov eax,0x70
    0x0f, 0x05, // syscall (setsid; an error is ignored, a tty then fails below)
    0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, // nop [rax+rax*1+0x0]
    0x83, 0x3d, 0xc8, 0x00, 0x00, 0x00, 0x00, // cmp [tty],0x0
    0x74, 0x19, // je commit
    0x31, 0xff, // xor edi,edi
    0xbe, 0x0e, 0x54, 0x00, 0x00, // mov esi,0x540e
    0x31, 0xd2, // xor edx,edx
    0xb8, 0x10, 0x00, 0x00, 0x00, // mov eax,0x10
    0x0f, 0x05, // syscall
    0x48, 0x85, 0xc0, // test rax,rax
    0x0f, 0x85, 0x88, 0x00, 0x00, 0x00, // jne fail
    0x8b, 0x3d, 0x9b, 0x00, 0x00, 0x00, // commit: mov edi,[sock]
    0x48, 0x8d, 0x74, 0x24, 0xc0, // lea rsi,[rsp-0x40]
    0xba, 0x01, 0x00, 0x00, 0x00, // mov edx,0x1
    0x31, 0xc0, // xor eax,eax
    0x0f, 0x05, // syscall
    0x48, 0x83, 0xf8, 0x01, // cmp rax,0x1
    0x75, 0x6e, // jne fail
    0x8b, 0x3d, 0x85, 0x00, 0x00, 0x00, // mov edi,[fifo]
    0x85, 0xff, // test edi,edi
    0x78, 0x26, // js close_sock
    0x48, 0x8d, 0x74, 0x24, 0xc0, // lea rsi,[rsp-0x40]
    0xba, 0x01, 0x00, 0x00, 0x00, // mov edx,0x1
    0x31, 0xc0, // xor eax,eax
    0x0f, 0x05, // syscall
    0x48, 0x83, 0xf8, 0x01, // cmp rax,0x1
    0x75, 0x50, // jne fail
    0x8b, 0x3d, 0x67, 0x00, 0x00, 0x00, // mov edi,[fifo]
    0xb8, 0x03, 0x00, 0x00, 0x00, // mov eax,0x3
    0x0f, 0x05, // syscall
    0x48, 0x85, 0xc0, // test rax,rax
    0x66,
    0x90, // nop (was jne fail: a close the profile refuses is ignored, as runc's init ignores it)
    0x8b, 0x3d, 0x51, 0x00, 0x00, 0x00, // close_sock: mov edi,[sock]
    0xb8, 0x03, 0x00, 0x00, 0x00, // mov eax,0x3
    0x0f, 0x05, // syscall
    0x48, 0x85, 0xc0, // test rax,rax
    0x66,
    0x90, // nop (was jne fail: a close the profile refuses is ignored, as runc's init ignores it)
    0x48, 0x8b, 0x04, 0x24, // exec: mov rax,[rsp]
    0x48, 0x83, 0xf8, 0x02, // cmp rax,0x2
    0x72, 0x16, // jb fail127
    0x48, 0x8b, 0x7c, 0x24, 0x08, // mov rdi,[rsp+0x8]
    0x48, 0x8d, 0x74, 0x24, 0x10, // lea rsi,[rsp+0x10]
    0x48, 0x8d, 0x54, 0xc4, 0x10, // lea rdx,[rsp+rax*8+0x10]
    0xb8, 0x3b, 0x00, 0x00, 0x00, // mov eax,0x3b
    0x0f, 0x05, // syscall
    0xbf, 0x7f, 0x00, 0x00, 0x00, // fail127: mov edi,0x7f
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax,0xe7
    0x0f, 0x05, // syscall
    0xbf, 0x01, 0x00, 0x00, 0x00, // fail: mov edi,0x1
    0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax,0xe7
    0x0f, 0x05, // syscall
    0x0f, 0x1f, 0x44, 0x00, 0x00, // nop [rax+rax*1+0x0]
];

/// The constants after the code: cookie (u64), sock, fifo, fork, tty (i32).
#[cfg(target_arch = "x86_64")]
const DATA_LEN: usize = 24;

#[cfg(target_arch = "x86_64")]
const MACHINE: u16 = 0x3e;

const BASE: u64 = 0x40_0000;
const HEADERS: usize = 64 + 56;

/// The stub as a complete ELF64 executable; without `sync`, a plain trampoline.
#[cfg(target_arch = "x86_64")]
pub fn image(sync: Option<Sync>) -> Vec<u8> {
    let total = (HEADERS + CODE.len() + DATA_LEN) as u64;
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
    let s = sync.unwrap_or(Sync {
        sock: -1,
        fifo: -1,
        fork: false,
        tty: false,
        cookie: 0,
    });
    b.extend_from_slice(&s.cookie.to_le_bytes());
    b.extend_from_slice(&s.sock.to_le_bytes());
    b.extend_from_slice(&s.fifo.to_le_bytes());
    b.extend_from_slice(&(s.fork as i32).to_le_bytes());
    b.extend_from_slice(&(s.tty as i32).to_le_bytes());
    debug_assert_eq!(b.len() as u64, total);
    b
}

/// Is the trampoline available on this architecture?
pub const AVAILABLE: bool = cfg!(target_arch = "x86_64");

const MFD_CLOEXEC: libc::c_uint = 0x1;
const MFD_ALLOW_SEALING: libc::c_uint = 0x2;
const MFD_EXEC: libc::c_uint = 0x10;

/// A sealed memfd holding the stub for `sync` (a plain trampoline without),
/// close-on-exec (pass `cloexec = false` only in tests).
#[cfg(target_arch = "x86_64")]
pub fn memfd(cloexec: bool, sync: Option<Sync>) -> Result<OwnedFd> {
    let flags = MFD_ALLOW_SEALING | if cloexec { MFD_CLOEXEC } else { 0 };
    use crate::sys::fd::{add_seals, memfd_create};
    use std::os::fd::{AsFd, AsRawFd};
    // MFD_EXEC (6.3+) keeps it executable where vm.memfd_noexec would otherwise
    // refuse; older kernels reject the flag.
    let fd = match memfd_create(c"fastrun-exec", flags | MFD_EXEC) {
        Err(crate::sys::Errno(libc::EINVAL)) => memfd_create(c"fastrun-exec", flags),
        r => r,
    }
    .map_err(|e| Error::Sys {
        op: "memfd_create for the exec trampoline",
        source: e.into_io(),
    })?;
    let img = image(sync);
    crate::sys::fs::write_all(fd.as_raw_fd(), &img).map_err(|e| Error::Sys {
        op: "write exec trampoline",
        source: e.into_io(),
    })?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    add_seals(fd.as_fd(), seals).map_err(|e| Error::Sys {
        op: "seal exec trampoline",
        source: e.into_io(),
    })?;
    Ok(fd)
}

/// Other architectures: no trampoline yet; the init execs the user program directly
/// (and relies on PR_SET_DUMPABLE alone).
#[cfg(not(target_arch = "x86_64"))]
pub fn memfd(_cloexec: bool, _sync: Option<Sync>) -> Result<OwnedFd> {
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
        let img = image(None);
        assert_eq!(img.len(), 520);
        assert_eq!(&img[..4], b"\x7fELF");
    }

    #[test]
    fn stub_execs_path_with_given_argv0() {
        let fd = memfd(false, None).unwrap();
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
        let fd = memfd(false, None).unwrap();
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
        let fd = memfd(false, None).unwrap();
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
        let fd = memfd(true, None).unwrap();
        let r = crate::sys::fs::write(fd.as_raw_fd(), b"x");
        assert!(r.is_err());
    }
}
