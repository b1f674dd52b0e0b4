//! `linux.seccomp` → BPF with libseccomp, the way runc builds its filter.

use std::ffi::CString;

use crate::error::{Error, Result};
use crate::spec::Seccomp;
use crate::sys::libseccomp::{self as scmp, ArgCmp, Filter};
use crate::sys::seccomp::Insn;

/// The libseccomp action for an OCI action name; ERRNO and TRACE default to EPERM
/// (as runc).
pub fn action(name: &str, errno_ret: Option<u64>, at: &dyn Fn() -> String) -> Result<u32> {
    let ret = |at_field: &str| -> Result<u16> {
        match errno_ret {
            None => Ok(libc::EPERM as u16),
            Some(v) => u16::try_from(v)
                .map_err(|_| Error::Config(format!("{}: {v}: must be at most 65535", at_field))),
        }
    };
    let errno_field = || {
        let a = at();
        match a.strip_suffix(".defaultAction") {
            Some(base) => format!("{base}.defaultErrnoRet"),
            None => format!("{}.errnoRet", a.trim_end_matches(".action")),
        }
    };
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => scmp::ACT_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => scmp::ACT_KILL_PROCESS,
        "SCMP_ACT_TRAP" => scmp::ACT_TRAP,
        "SCMP_ACT_ERRNO" => scmp::act_errno(ret(&errno_field())?),
        "SCMP_ACT_TRACE" => scmp::act_trace(ret(&errno_field())?),
        "SCMP_ACT_ALLOW" => scmp::ACT_ALLOW,
        "SCMP_ACT_LOG" => scmp::ACT_LOG,
        "SCMP_ACT_NOTIFY" => scmp::ACT_NOTIFY,
        other => return Err(Error::Config(format!("{}: unknown action {other:?}", at()))),
    })
}

/// The `enum scmp_compare` value for an OCI operator name.
pub fn operator(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "SCMP_CMP_NE" => scmp::CMP_NE,
        "SCMP_CMP_LT" => scmp::CMP_LT,
        "SCMP_CMP_LE" => scmp::CMP_LE,
        "SCMP_CMP_EQ" => scmp::CMP_EQ,
        "SCMP_CMP_GE" => scmp::CMP_GE,
        "SCMP_CMP_GT" => scmp::CMP_GT,
        "SCMP_CMP_MASKED_EQ" => scmp::CMP_MASKED_EQ,
        _ => return None,
    })
}

/// The libseccomp token for an OCI architecture name (`SCMP_ARCH_X86_64` →
/// "x86_64"), None when the linked libseccomp does not know it.
pub fn arch(name: &str) -> Option<u32> {
    let short = name.strip_prefix("SCMP_ARCH_")?.to_ascii_lowercase();
    scmp::arch_token(&CString::new(short).ok()?)
}

/// The linked libseccomp version as "major.minor.micro".
pub fn libseccomp_version() -> String {
    let (a, b, c) = scmp::version();
    format!("{a}.{b}.{c}")
}

/// Above this many syscall names, ask libseccomp for a binary tree (O(log n)
/// lookups) instead of a linear list; runc uses the same threshold (libseccomp
/// 2.5 misbehaves with a tree and no rules).
const BINARY_TREE_ABOVE: usize = 32;

/// Compile a validated `linux.seccomp` to BPF.
///
/// - The native architecture is always in the filter; `architectures` adds others
///   (those of the other byte order, which this kernel cannot run, are skipped).
/// - A rule whose action equals the default action is skipped (libseccomp refuses
///   it; runc skips it too).
/// - Conditions on distinct arguments are ANDed in one rule; several conditions on
///   the same argument become one rule each (ORed), as runc does.
/// - A syscall name libseccomp does not know on any architecture is skipped, as
///   runc and crun do: profiles name syscalls newer than the linked libseccomp
///   (see [`unknown_syscalls`] for the warnings).
/// - The ENOSYS prefix (see [`super::enosys`]) comes first.
pub fn compile(s: &Seccomp<'_>) -> Result<Vec<Insn>> {
    const AT: &str = "linux.seccomp";
    let lib = |what: String, e: crate::sys::Errno| {
        Error::Config(format!("{what}: libseccomp {}: {e}", libseccomp_version()))
    };
    let default = action(&s.default_action, s.default_errno_ret, &|| {
        format!("{AT}.defaultAction")
    })?;
    let mut f = Filter::new(default).map_err(|e| lib(format!("{AT}.defaultAction"), e))?;
    // The architectures in the filter (libseccomp tokens), native first.
    let mut arches = vec![scmp::arch_native()];
    for (i, a) in s.architectures.iter().enumerate() {
        let token = arch(a).ok_or_else(|| {
            Error::Config(format!(
                "{AT}.architectures[{i}]: {a}: not supported by libseccomp {}",
                libseccomp_version()
            ))
        })?;
        match f.add_arch(token) {
            // An architecture of the other byte order cannot share a filter with
            // the native one, and this kernel never runs its syscalls: nothing to
            // filter (runc fails here; skipping keeps multi-arch profiles portable).
            Err(crate::sys::Errno(libc::EDOM)) => {}
            // Already there (the native one, or named twice).
            Err(crate::sys::Errno(libc::EEXIST)) => {}
            r => {
                r.map_err(|e| lib(format!("{AT}.architectures[{i}] ({a})"), e))?;
                arches.push(token);
            }
        }
    }
    let names: usize = s.syscalls.iter().map(|c| c.names.len()).sum();
    if names > BINARY_TREE_ABOVE {
        f.set_optimize(2)
            .map_err(|e| lib(format!("{AT}: binary tree"), e))?;
    }
    for (i, sc) in s.syscalls.iter().enumerate() {
        let act = action(&sc.action, sc.errno_ret, &|| {
            format!("{AT}.syscalls[{i}].action")
        })?;
        let mut conds = Vec::with_capacity(sc.args.len());
        let mut per_index = [0u8; 6];
        for (j, a) in sc.args.iter().enumerate() {
            let at = || format!("{AT}.syscalls[{i}].args[{j}]");
            let op = operator(&a.op).ok_or_else(|| {
                Error::Config(format!("{}.op: unknown operator {:?}", at(), a.op.as_str()))
            })?;
            if a.index >= 6 {
                return Err(Error::Config(format!(
                    "{}.index: must be less than 6",
                    at()
                )));
            }
            per_index[a.index as usize] += 1;
            conds.push(ArgCmp {
                arg: a.index as libc::c_uint,
                op,
                datum_a: a.value,
                datum_b: if op == scmp::CMP_MASKED_EQ {
                    a.value_two
                } else {
                    0
                },
            });
        }
        let separate = per_index.iter().any(|&n| n > 1);
        for (j, name) in sc.names.iter().enumerate() {
            let at = || format!("{AT}.syscalls[{i}].names[{j}]");
            let c = CString::new(name.as_bytes())
                .map_err(|_| Error::Config(format!("{}: NUL in syscall name", at())))?;
            let nr = scmp::resolve_syscall(&c);
            if nr == scmp::NR_ERROR {
                continue;
            }
            if act == default {
                continue;
            }
            let rule = |f: &mut Filter, conds: &[ArgCmp]| {
                f.add_rule(act, nr, conds)
                    .map_err(|e| lib(format!("{} ({})", at(), name.as_str()), e))
            };
            if separate {
                for c in &conds {
                    rule(&mut f, std::slice::from_ref(c))?;
                }
            } else {
                rule(&mut f, &conds)?;
            }
        }
    }
    let raw = f
        .export_bpf()
        .map_err(|e| lib(format!("{AT}: export"), e))?;
    let mut program = enosys_prefix(s, default, &arches);
    program.extend(insns(&raw));
    Ok(program)
}

/// runc's ENOSYS prefix for this profile (see [`super::enosys`] for the rule).
fn enosys_prefix(s: &Seccomp<'_>, default: u32, arches: &[u32]) -> Vec<Insn> {
    if default == scmp::ACT_ALLOW
        || default == scmp::ACT_LOG
        || default & 0xffff_0000 == scmp::act_trace(0)
        || default == scmp::act_errno(libc::ENOSYS as u16)
    {
        return Vec::new();
    }
    let names: Vec<CString> = s
        .syscalls
        .iter()
        .flat_map(|c| c.names.iter())
        .filter_map(|n| CString::new(n.as_bytes()).ok())
        .collect();
    let maxima: Vec<super::enosys::ArchMax> = arches
        .iter()
        .map(|&token| super::enosys::ArchMax {
            token,
            max: names
                .iter()
                .map(|n| scmp::resolve_syscall_arch(token, n))
                .filter(|&nr| nr >= 0)
                .max()
                .unwrap_or(0) as u32,
        })
        .collect();
    super::enosys::prefix(&maxima)
}

/// The names of `s` that the linked libseccomp does not know on any architecture,
/// as warnings naming their place: they are skipped (as runc and crun do).
pub fn unknown_syscalls(s: &Seccomp<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, sc) in s.syscalls.iter().enumerate() {
        for (j, name) in sc.names.iter().enumerate() {
            let known = CString::new(name.as_bytes())
                .is_ok_and(|c| scmp::resolve_syscall(&c) != scmp::NR_ERROR);
            if !known {
                out.push(format!(
                    "linux.seccomp.syscalls[{i}].names[{j}]: syscall {:?} unknown to libseccomp {}: ignored",
                    name.as_str(),
                    libseccomp_version()
                ));
            }
        }
    }
    out
}

/// Raw `struct sock_filter` bytes (native order) → instructions.
pub(crate) fn insns(raw: &[u8]) -> Vec<Insn> {
    raw.chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Instructions → raw bytes (native order).
pub(crate) fn bytes(prog: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}
