//! The ENOSYS prefix (runc's `patchbpf`): a syscall numbered above the highest one
//! the profile names on its architecture fails with ENOSYS instead of the default
//! action. Such a syscall is newer than the profile, and glibc falls back from
//! `clone3`, `faccessat2`, `openat2`... only on ENOSYS, not on EPERM.
//!
//! The rule, as runc's: no prefix when the default action lets syscalls through
//! (ALLOW, LOG, TRACE) or already returns ENOSYS; otherwise, for every architecture
//! of the filter (the native one always), the highest number among all the names
//! of the profile (every rule, whatever its action; names unknown there ignored),
//! and a syscall above it gets ENOSYS. x86_64 and x32 share one audit architecture
//! and are told apart by bit 30 of the number; on s390(x) syscall 0 (the
//! multiplexer of unknown numbers) gets ENOSYS too. An architecture where the
//! profile names nothing gets no check. runc has no special case for `clone3`:
//! profiles that want ENOSYS for it (Docker's) say so in a rule.
//!
//! Layout (every jump short, the long ones `ja`):
//! ```text
//!   ld arch
//!   jeq A1 ? next : skip 1;  ja section_A1      (per architecture)
//!   ja filter                                    (other architectures)
//! section:  ld nr; [mode / s390 checks]; jgt MAX ? ret ENOSYS : ja filter
//! filter:   the profile's program
//! ```

use crate::sys::seccomp::Insn;

const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JSET_K: u16 = 0x45;
const JA: u16 = 0x05;
const RET_K: u16 = 0x06;

/// `SCMP_ACT_ERRNO(ENOSYS)`.
pub const RET_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// libseccomp's token for x32 (not an audit architecture of its own).
const SCMP_ARCH_X32: u32 = 0x4000_003e;
const AUDIT_ARCH_S390: u32 = 0x16;
const AUDIT_ARCH_S390X: u32 = 0x8000_0016;
/// Bit 30 of the syscall number: an x32 syscall on x86_64.
const X32_BIT: u32 = 0x4000_0000;

/// The highest syscall number the profile names on an architecture (a libseccomp
/// token; x32 numbers carry bit 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchMax {
    pub token: u32,
    pub max: u32,
}

/// One architecture's check: the audit value seen in `seccomp_data.arch`.
enum Section {
    X86 {
        amd64: Option<u32>,
        x32: Option<u32>,
    },
    S390(u32),
    Plain(u32),
}

enum Item {
    Insn(Insn),
    /// `ja` to the start of section `i`.
    ToSection(usize),
    /// `ja` to the end of the prefix (the profile's program).
    ToFilter,
}

fn i(code: u16, jt: u8, jf: u8, k: u32) -> Item {
    Item::Insn(Insn { code, jt, jf, k })
}

/// The prefix for these architectures (empty when there is nothing to check).
pub fn prefix(arches: &[ArchMax]) -> Vec<Insn> {
    let mut sections: Vec<(u32, Section)> = Vec::new();
    for a in arches.iter().filter(|a| a.max > 0) {
        let (audit, x32) = match a.token {
            SCMP_ARCH_X32 => (AUDIT_ARCH_X86_64, true),
            t => (t, false),
        };
        match sections.iter_mut().find(|(au, _)| *au == audit) {
            Some((_, Section::X86 { amd64, x32: x })) => {
                let slot = if x32 { x } else { amd64 };
                *slot = Some(slot.map_or(a.max, |m| m.max(a.max)));
            }
            Some((_, Section::S390(m) | Section::Plain(m))) => *m = (*m).max(a.max),
            None => sections.push((
                audit,
                match audit {
                    AUDIT_ARCH_X86_64 if x32 => Section::X86 {
                        amd64: None,
                        x32: Some(a.max),
                    },
                    AUDIT_ARCH_X86_64 => Section::X86 {
                        amd64: Some(a.max),
                        x32: None,
                    },
                    AUDIT_ARCH_S390 | AUDIT_ARCH_S390X => Section::S390(a.max),
                    _ => Section::Plain(a.max),
                },
            )),
        }
    }
    if sections.is_empty() {
        return Vec::new();
    }
    let mut items = vec![i(LD_W_ABS, 0, 0, 4)];
    for (n, (audit, _)) in sections.iter().enumerate() {
        items.push(i(JEQ_K, 0, 1, *audit));
        items.push(Item::ToSection(n));
    }
    items.push(Item::ToFilter);
    let mut starts = Vec::with_capacity(sections.len());
    for (_, s) in &sections {
        starts.push(items.len());
        items.push(i(LD_W_ABS, 0, 0, 0));
        match *s {
            Section::X86 {
                amd64: Some(a),
                x32: Some(x),
            } => items.extend([
                i(JSET_K, 1, 0, X32_BIT),
                i(JGT_K, 1, 2, a),
                i(JGT_K, 0, 1, x),
            ]),
            Section::X86 {
                amd64: Some(a),
                x32: None,
            } => items.extend([i(JSET_K, 2, 0, X32_BIT), i(JGT_K, 0, 1, a)]),
            Section::X86 {
                amd64: None,
                x32: Some(x),
            } => items.extend([i(JSET_K, 0, 2, X32_BIT), i(JGT_K, 0, 1, x)]),
            Section::X86 {
                amd64: None,
                x32: None,
            } => unreachable!("a section has at least one maximum"),
            Section::S390(m) => items.extend([i(JEQ_K, 1, 0, 0), i(JGT_K, 0, 1, m)]),
            Section::Plain(m) => items.push(i(JGT_K, 0, 1, m)),
        }
        items.push(i(RET_K, 0, 0, RET_ENOSYS));
        items.push(Item::ToFilter);
    }
    let end = items.len();
    items
        .iter()
        .enumerate()
        .map(|(pos, it)| match *it {
            Item::Insn(insn) => insn,
            Item::ToSection(n) => Insn {
                code: JA,
                jt: 0,
                jf: 0,
                k: (starts[n] - pos - 1) as u32,
            },
            Item::ToFilter => Insn {
                code: JA,
                jt: 0,
                jf: 0,
                k: (end - pos - 1) as u32,
            },
        })
        .collect()
}
