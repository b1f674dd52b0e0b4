//! `linux.seccomp`: compiled to BPF in the parent before the clone (libseccomp,
//! with a cache keyed by the section's content), loaded by the child with the raw
//! `seccomp(2)` call just before it execs, the notify fd handed to a listener.
//! See README.md beside this file for the choices and their reasons.

pub mod cache;
pub mod compile;
pub mod enosys;
pub mod notify;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::spec::Seccomp;
use crate::sys::seccomp::{self as sc, Insn, MAX_INSNS};

pub use compile::compile;

/// The compiled-filter cache's directory in a state root (not a valid container
/// id, so never taken for a container): each state root has its own.
pub const CACHE_DIR_IN_ROOT: &str = ".seccomp-cache";

/// Where compiled filters are cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheDir {
    /// [`CACHE_DIR_IN_ROOT`] under the state root (the default).
    #[default]
    InRoot,
    /// This directory.
    At(PathBuf),
    /// No cache: compile every time.
    Off,
}

/// Where the notify fd goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: String,
}

/// The seccomp part of a plan.
#[derive(Debug)]
pub struct SeccompPlan {
    /// The compiled filter (the exec allowance is put in front at spawn time,
    /// once the trampoline fd is known: [`with_exec_allowance`]).
    pub program: Vec<Insn>,
    /// `SECCOMP_FILTER_FLAG_*` for the load, NEW_LISTENER included when needed.
    pub flags: libc::c_uint,
    /// Set when a rule uses SCMP_ACT_NOTIFY: the load returns a notify fd that the
    /// parent sends here.
    pub listener: Option<Listener>,
}

/// The kernel flag for an OCI flag name.
pub fn flag(name: &str) -> Option<libc::c_uint> {
    Some(match name {
        "SECCOMP_FILTER_FLAG_TSYNC" => sc::FLAG_TSYNC,
        "SECCOMP_FILTER_FLAG_LOG" => sc::FLAG_LOG,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => sc::FLAG_SPEC_ALLOW,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => sc::FLAG_WAIT_KILLABLE_RECV,
        _ => return None,
    })
}

/// Syscalls the process makes itself between loading its filter and the moment
/// the notify fd is at the listener (see spawn/child.rs): a NOTIFY rule on one of
/// them would block the process on its own filter, with nobody to answer, and the
/// runtime waiting for it. `write` is also refused by runc (its hand-over); the
/// fd goes to the parent with `sendmsg`.
const NOTIFY_BEFORE_HANDOVER: &[&str] = &["write", "sendmsg"];

/// Without no_new_privs the filter is loaded before the identity is set (see
/// spawn/child.rs), so these come after it too, before the ready report.
const NOTIFY_BEFORE_HANDOVER_PRIVILEGED: &[&str] = &[
    "prctl",
    "setgroups",
    "setresgid",
    "setresuid",
    "capset",
    "umask",
    "faccessat",
    "faccessat2",
    "newfstatat",
];

/// Refuse NOTIFY rules on syscalls the process needs before its notify fd reaches
/// the listener (they would hang the start; runc refuses `write`).
pub fn check_notify(s: &Seccomp<'_>, no_new_privs: bool) -> Result<()> {
    for (i, c) in s.syscalls.iter().enumerate() {
        if c.action != "SCMP_ACT_NOTIFY" {
            continue;
        }
        for (j, n) in c.names.iter().enumerate() {
            let n = n.as_str();
            let early = NOTIFY_BEFORE_HANDOVER.contains(&n)
                || (!no_new_privs && NOTIFY_BEFORE_HANDOVER_PRIVILEGED.contains(&n));
            if early {
                return Err(Error::Config(format!(
                    "linux.seccomp.syscalls[{i}].names[{j}]: SCMP_ACT_NOTIFY cannot be used for {n:?}: \
                     the runtime calls it in the container's process before the notify fd \
                     reaches the listener{}",
                    if NOTIFY_BEFORE_HANDOVER.contains(&n) {
                        ""
                    } else {
                        " (without process.noNewPrivileges)"
                    }
                )));
            }
        }
    }
    Ok(())
}

/// Compile (or fetch from the cache in `cache_dir`) and resolve the flags, for a
/// process with or without no_new_privs (see [`check_notify`]).
pub fn prepare(
    s: &Seccomp<'_>,
    cache_dir: Option<&Path>,
    no_new_privs: bool,
) -> Result<SeccompPlan> {
    check_notify(s, no_new_privs)?;
    let mut flags = 0;
    for (i, f) in s.flags.iter().enumerate() {
        flags |= flag(f).ok_or_else(|| {
            Error::Config(format!(
                "linux.seccomp.flags[{i}]: unknown flag {:?}",
                f.as_str()
            ))
        })?;
    }
    let notify = s.syscalls.iter().any(|c| c.action == "SCMP_ACT_NOTIFY");
    let listener = if notify {
        if s.listener_path.is_empty() {
            return Err(Error::Config(
                "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used".into(),
            ));
        }
        flags |= sc::FLAG_NEW_LISTENER;
        if flags & sc::FLAG_TSYNC != 0 {
            // TSYNC and NEW_LISTENER both use the return value unless told otherwise.
            flags |= sc::FLAG_TSYNC_ESRCH;
        }
        Some(Listener {
            path: PathBuf::from(s.listener_path.as_str()),
            metadata: s.listener_metadata.to_string(),
        })
    } else {
        // Only meaningful with a listener; the kernel refuses it alone.
        flags &= !sc::FLAG_WAIT_KILLABLE_RECV;
        None
    };
    let program = load_or_compile(s, cache_dir)?;
    if program.len() + EXEC_ALLOWANCE_LEN > MAX_INSNS {
        return Err(Error::Config(format!(
            "linux.seccomp: the compiled filter has {} instructions, more than the kernel's {MAX_INSNS}",
            program.len() + EXEC_ALLOWANCE_LEN
        )));
    }
    Ok(SeccompPlan {
        program,
        flags,
        listener,
    })
}

/// The compiled program, from `cache_dir` when a valid entry exists; a fresh
/// compilation is stored there (failures to store are ignored).
pub fn load_or_compile(s: &Seccomp<'_>, cache_dir: Option<&Path>) -> Result<Vec<Insn>> {
    let Some(dir) = cache_dir else {
        return compile(s);
    };
    let key = cache::key(s);
    if let Some(p) = cache::read(dir, &key) {
        return Ok(p);
    }
    let p = compile(s)?;
    let _ = cache::write(dir, &key, &p);
    Ok(p)
}

// Classic BPF opcodes used by the allowance.
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const RET_ALLOW: u32 = 0x7fff_0000;

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// The low 32 bits of argument `i` (what the kernel reads for an `int` argument).
const fn off_arg_low(i: u32) -> u32 {
    16 + 8 * i + if cfg!(target_endian = "big") { 4 } else { 0 }
}

/// The high 32 bits of argument `i`.
const fn off_arg_high(i: u32) -> u32 {
    16 + 8 * i + if cfg!(target_endian = "big") { 0 } else { 4 }
}

/// Length of [`with_exec_allowance`]'s prologue without a fork cookie.
pub const EXEC_ALLOWANCE_LEN: usize = if cfg!(target_arch = "x86_64") { 9 } else { 0 };
/// What a fork cookie adds to it.
pub const FORK_ALLOWANCE_LEN: usize = if cfg!(target_arch = "x86_64") { 10 } else { 0 };

/// The program the child loads: `program` behind a prologue that allows exactly
/// the child's own `execveat(trampoline_fd, "", argv, envp, AT_EMPTY_PATH)`, so
/// that a profile denying `execveat` does not break the start through the exec
/// trampoline (see spawn/trampoline.rs). The trampoline's own `execve` of the user
/// program is left to the profile, as with runc, where `execve` must be allowed.
///
/// What this lets through after the start is `execveat` on that one fd number with
/// an empty path and exactly AT_EMPTY_PATH: executing an already open file, which
/// a process allowed `execve` can do anyway through `/proc/self/fd/N`.
///
/// With `fork_cookie` (an `exec`, whose trampoline forks the process that runs the
/// user program), also exactly the trampoline's `clone(CLONE_PARENT|SIGCHLD, 0,
/// cookie, ...)`: the cookie is 64 random bits in an argument `clone` ignores, so
/// that a profile denying `clone` still denies it to the container's processes.
pub fn with_exec_allowance(
    program: &[Insn],
    trampoline_fd: libc::c_int,
    fork_cookie: Option<u64>,
) -> Vec<Insn> {
    let mut out = Vec::with_capacity(program.len() + EXEC_ALLOWANCE_LEN + FORK_ALLOWANCE_LEN);
    #[cfg(target_arch = "x86_64")]
    if trampoline_fd >= 0 {
        const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
        let end = EXEC_ALLOWANCE_LEN + fork_cookie.map_or(0, |_| FORK_ALLOWANCE_LEN);
        // A failed test jumps to `to` (the profile, at `end`, by default); `at` is
        // the index of the jump itself.
        let jeq = |at: usize, k: u32, to: usize| Insn {
            code: JEQ_K,
            jt: 0,
            jf: (to - at - 1) as u8,
            k,
        };
        let ld = |k| Insn {
            code: LD_W_ABS,
            jt: 0,
            jf: 0,
            k,
        };
        let allow = Insn {
            code: RET_K,
            jt: 0,
            jf: 0,
            k: RET_ALLOW,
        };
        // Not execveat: on to the clone test (or the profile), with the nr loaded.
        let not_execveat = if fork_cookie.is_some() {
            EXEC_ALLOWANCE_LEN
        } else {
            end
        };
        out.extend_from_slice(&[
            ld(OFF_ARCH),
            jeq(1, AUDIT_ARCH_X86_64, end),
            ld(OFF_NR),
            jeq(3, libc::SYS_execveat as u32, not_execveat),
            ld(off_arg_low(0)),
            jeq(5, trampoline_fd as u32, end),
            ld(off_arg_low(4)),
            jeq(7, libc::AT_EMPTY_PATH as u32, end),
            allow,
        ]);
        debug_assert_eq!(out.len(), EXEC_ALLOWANCE_LEN);
        if let Some(cookie) = fork_cookie {
            let flags = crate::spawn::trampoline::CLONE_FLAGS;
            let b = EXEC_ALLOWANCE_LEN;
            out.extend_from_slice(&[
                jeq(b, libc::SYS_clone as u32, end),
                ld(off_arg_low(0)),
                jeq(b + 2, flags as u32, end),
                ld(off_arg_high(0)),
                jeq(b + 4, (flags >> 32) as u32, end),
                ld(off_arg_low(2)),
                jeq(b + 6, cookie as u32, end),
                ld(off_arg_high(2)),
                jeq(b + 8, (cookie >> 32) as u32, end),
                allow,
            ]);
        }
        debug_assert_eq!(out.len(), end);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (trampoline_fd, fork_cookie);
    out.extend_from_slice(program);
    out
}

/// What `features` reports: the architectures the linked libseccomp knows and the
/// flags this kernel accepts.
pub fn supported_archs() -> Vec<&'static str> {
    crate::spec::names::SECCOMP_ARCHES
        .iter()
        .copied()
        .filter(|a| compile::arch(a).is_some())
        .collect()
}

/// The OCI flag names the running kernel supports.
pub fn supported_flags() -> Vec<&'static str> {
    crate::spec::names::SECCOMP_FLAGS
        .iter()
        .copied()
        .filter(|f| flag(f).is_some_and(sc::flag_supported))
        .collect()
}

#[cfg(test)]
mod bpf;
#[cfg(test)]
mod tests;
