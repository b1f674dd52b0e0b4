//! Device rules on cgroup v2: the ordered `linux.resources.devices` list compiled into
//! a `BPF_PROG_TYPE_CGROUP_DEVICE` program (pure), as runc and crun do.
//!
//! The program reads `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! where `access_type = access << 16 | dev_type` (type: block 1, char 2; access bits:
//! mknod 1, read 2, write 4) and returns 1 to allow, 0 to deny.
//!
//! Semantics, as the v1 `devices.deny a` + rule writes of [`super::resources`], where
//! each rule adds (allow) or removes (deny) access bits of the devices it matches: a
//! request is allowed when, for each access bit it asks for (mknod, read, write), the
//! LAST rule that matches the device and holds that bit is an allow; nothing matching
//! means deny. So `allow c 1:3 r` + `allow c 1:3 w` allow an `open(O_RDWR)`, and
//! `deny c 1:3 w` after `allow c 1:3 rw` refuses it but not a read. The program has
//! one section per access bit, each skipped when the bit is not asked for; in a
//! section the rules holding the bit come in reverse order, each a block that jumps
//! to the next block when the device does not match, and otherwise on to the next
//! section (allow) or out with 0 (deny). A rule matching every device ends its
//! section (what follows would be unreachable, which the verifier refuses).
//!
//! Layout of a section: the device's numbers are loaded once as one 64-bit key
//! (`R4 = major << 32 | minor`); consecutive rules of one device type form a run that
//! checks the type once, and a rule of the run compares the key with one 64-bit
//! constant (one branch; a wildcard number compares the key's other half). A rule
//! matching every device of its run's type ends the run.
//!
//! Verifier cost: the verifier walks every branch and keeps a state at each join, so
//! the load costs about 0.35 µs per instruction and 2.5 µs per branch here. A run
//! loads the type afresh and the key is never compared in place (R6 holds the
//! compared part), so what the verifier knows of a register is the same on every
//! path into a block and it prunes the second path: registers carried over with
//! known values made it verify blocks once per path (970 instructions, ~0.9 ms,
//! before 2026-12-05). For `deny all` plus the default rules: 61 instructions, 7
//! states, ~70 µs of `BPF_PROG_LOAD` against 84, 17 and ~150 µs with three
//! compares per rule (`the_default_rules_make_a_small_program` holds the size).

use super::resources::DeviceRule;
use super::CgroupError;
use crate::sys::bpf::Insn;

/// The name our programs are loaded with (how `update` finds the old ones).
pub const PROG_NAME: &str = "fastrun_dev";

pub const DEV_BLOCK: i32 = 1;
pub const DEV_CHAR: i32 = 2;
pub const ACC_MKNOD: i32 = 1;
pub const ACC_READ: i32 = 2;
pub const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

// Opcodes used (eBPF, linux/bpf_common.h + linux/bpf.h).
pub const LDXW: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub const AND32_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub const RSH32_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
pub const MOV32_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
pub const MOV32_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
pub const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
pub const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
pub const JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
pub const JA: u8 = 0x05; // BPF_JMP | BPF_JA
pub const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT
pub const LSH64_K: u8 = 0x67; // BPF_ALU64 | BPF_LSH | BPF_K
pub const RSH64_K: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
pub const OR64_X: u8 = 0x4f; // BPF_ALU64 | BPF_OR | BPF_X
pub const MOV64_X: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
/// `BPF_LD | BPF_DW | BPF_IMM`: two slots, the constant's high half in the second.
pub const LD_IMM64: u8 = 0x18;

// Registers: R1 = ctx, R2 = type, R3 = access bits, R4 = the key (major << 32 |
// minor, R5 its minor half while it is made), R6 = the part of the key compared.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;
const R6: u8 = 6;

/// One rule, checked and in the program's terms.
struct Parsed {
    allow: bool,
    /// `None`: any type.
    dev_type: Option<i32>,
    major: Option<i32>,
    minor: Option<i32>,
    access: i32,
}

fn parse(r: &DeviceRule) -> Result<Parsed, CgroupError> {
    // the same checks (and messages) as the v1 line
    r.line()?;
    let kind = r.kind.unwrap_or('a');
    let num = |n: Option<i64>, what: &str| -> Result<Option<i32>, CgroupError> {
        match n {
            None | Some(-1) => Ok(None),
            Some(v) => i32::try_from(v).map(Some).map_err(|_| {
                CgroupError::Config(format!(
                    "linux.resources.devices: {what} {v} is out of range"
                ))
            }),
        }
    };
    let (dev_type, major, minor) = match kind {
        'b' => (
            Some(DEV_BLOCK),
            num(r.major, "major")?,
            num(r.minor, "minor")?,
        ),
        'c' => (
            Some(DEV_CHAR),
            num(r.major, "major")?,
            num(r.minor, "minor")?,
        ),
        _ => (None, None, None),
    };
    let mut access = 0;
    for c in r.access.as_deref().unwrap_or("").chars() {
        access |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => ACC_MKNOD,
        };
    }
    if access == 0 {
        access = ACC_ALL;
    }
    Ok(Parsed {
        allow: r.allow,
        dev_type,
        major,
        minor,
        access,
    })
}

/// Compiles the rules into a device program. Invalid rules are refused with the same
/// messages as on v1.
pub fn compile(rules: &[DeviceRule]) -> Result<Vec<Insn>, CgroupError> {
    let parsed = rules.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
    let mut p = Vec::new();
    // Sets the jump at `at` to land on the next instruction emitted.
    let land = |p: &mut Vec<Insn>, at: usize| {
        let off = p.len() - at - 1;
        p[at].off = off as i16;
    };
    for (mask, list) in sections(&parsed) {
        let rules: Vec<&Parsed> = list.iter().map(|&i| &parsed[i]).collect();
        // jumps to the next section (no bit of `mask` asked for, or allowed)
        let mut to_section_end = Vec::new();
        p.push(Insn::new(LDXW, R3, R1, 0, 0));
        p.push(Insn::new(RSH32_K, R3, 0, 0, 16));
        p.push(Insn::new(AND32_K, R3, 0, 0, mask));
        to_section_end.push(p.len());
        p.push(Insn::new(JEQ_K, R3, 0, 0, 0));
        if rules.iter().any(|r| r.major.is_some() || r.minor.is_some()) {
            p.push(Insn::new(LDXW, R4, R1, 4, 0));
            p.push(Insn::new(LDXW, R5, R1, 8, 0));
            p.push(Insn::new(LSH64_K, R4, 0, 0, 32));
            p.push(Insn::new(OR64_X, R4, R5, 0, 0));
        }
        let mut decided = false;
        let mut k = 0;
        while k < rules.len() && !decided {
            // a run of consecutive rules of one type (or of any type)
            let t = rules[k].dev_type;
            let run = rules[k..].iter().take_while(|r| r.dev_type == t).count();
            let mut to_run_end = None;
            if let Some(t) = t {
                // loaded afresh in each run (module comment)
                p.push(Insn::new(LDXW, R2, R1, 0, 0));
                p.push(Insn::new(AND32_K, R2, 0, 0, 0xffff));
                to_run_end = Some(p.len());
                p.push(Insn::new(JNE_K, R2, 0, 0, t));
            }
            for r in &rules[k..k + run] {
                // jumps to the next rule's block, patched when this block is done
                let to_next = match (r.major, r.minor) {
                    (Some(major), Some(minor)) => {
                        let key = (major as u32 as u64) << 32 | minor as u32 as u64;
                        p.push(Insn::new(LD_IMM64, R6, 0, 0, key as u32 as i32));
                        p.push(Insn::new(0, 0, 0, 0, (key >> 32) as u32 as i32));
                        p.push(Insn::new(JNE_X, R4, R6, 0, 0));
                        Some(p.len() - 1)
                    }
                    (Some(major), None) => {
                        p.push(Insn::new(MOV64_X, R6, R4, 0, 0));
                        p.push(Insn::new(RSH64_K, R6, 0, 0, 32));
                        p.push(Insn::new(JNE_K, R6, 0, 0, major));
                        Some(p.len() - 1)
                    }
                    (None, Some(minor)) => {
                        p.push(Insn::new(MOV32_X, R6, R4, 0, 0));
                        p.push(Insn::new(JNE_K, R6, 0, 0, minor));
                        Some(p.len() - 1)
                    }
                    (None, None) => None,
                };
                if r.allow {
                    to_section_end.push(p.len());
                    p.push(Insn::new(JA, 0, 0, 0, 0));
                } else {
                    p.push(Insn::new(MOV32_K, R0, 0, 0, 0));
                    p.push(Insn::new(EXIT, 0, 0, 0, 0));
                }
                match to_next {
                    Some(at) => land(&mut p, at),
                    // matches every device of the run's type: the rest of the run
                    // can never be reached (and the verifier refuses dead code); of
                    // every type, the earlier rules can never decide this bit
                    None => {
                        decided = t.is_none();
                        break;
                    }
                }
            }
            if let Some(at) = to_run_end {
                land(&mut p, at);
            }
            k += run;
        }
        if !decided {
            // no rule holding these bits matched: deny
            p.push(Insn::new(MOV32_K, R0, 0, 0, 0));
            p.push(Insn::new(EXIT, 0, 0, 0, 0));
        }
        for at in to_section_end {
            land(&mut p, at);
        }
    }
    // every bit asked for is allowed
    p.push(Insn::new(MOV32_K, R0, 0, 0, 1));
    p.push(Insn::new(EXIT, 0, 0, 0, 0));
    Ok(p)
}

/// The program's sections: for each access bit the rules that decide it (indices
/// into `parsed`, in the order they are checked: last rule first, up to the first
/// that matches every device), bits with the same list sharing one section (their
/// verdicts are equal for every device), and in each list the rules dropped whose
/// verdict a later one in the list gives anyway.
fn sections(parsed: &[Parsed]) -> Vec<(i32, Vec<usize>)> {
    let mut out: Vec<(i32, Vec<usize>)> = Vec::new();
    for bit in [ACC_MKNOD, ACC_READ, ACC_WRITE] {
        let mut list = Vec::new();
        for (i, r) in parsed.iter().enumerate().rev() {
            if r.access & bit != 0 {
                list.push(i);
                if r.matches_all() {
                    break;
                }
            }
        }
        let list = without_shadowed(parsed, list);
        match out.iter_mut().find(|(_, l)| *l == list) {
            Some((mask, _)) => *mask |= bit,
            None => out.push((bit, list)),
        }
    }
    out
}

/// `list` (in checking order) without the rules whose verdict is given anyway:
/// rule A can go when a later rule B (or the final deny when no rule matches)
/// has A's verdict and matches every device A matches, and no rule between them
/// with the other verdict matches a device A matches. A device A matches then
/// meets, without A, only rules of A's verdict (which decide as A would) or B.
/// With `deny all` and the default rules this drops the eight char devices'
/// blocks from the mknod section (`c *:* m` allows them all).
fn without_shadowed(parsed: &[Parsed], list: Vec<usize>) -> Vec<usize> {
    let deny_rest = Parsed {
        allow: false,
        dev_type: None,
        major: None,
        minor: None,
        access: ACC_ALL,
    };
    let at = |k: usize| list.get(k).map_or(&deny_rest, |&i| &parsed[i]);
    let shadowed = |k: usize| {
        let a = at(k);
        for later in k + 1..=list.len() {
            let b = at(later);
            if b.allow == a.allow && b.covers(a) {
                return true;
            }
            if b.allow != a.allow && b.overlaps(a) {
                return false;
            }
        }
        false
    };
    let keep: Vec<bool> = (0..list.len()).map(|k| !shadowed(k)).collect();
    list.iter()
        .zip(keep)
        .filter_map(|(&i, keep)| keep.then_some(i))
        .collect()
}

impl Parsed {
    fn matches_all(&self) -> bool {
        self.dev_type.is_none() && self.major.is_none() && self.minor.is_none()
    }

    /// Every device `other` matches, this rule matches.
    fn covers(&self, other: &Parsed) -> bool {
        let field = |mine: Option<i32>, theirs: Option<i32>| mine.is_none() || mine == theirs;
        field(self.dev_type, other.dev_type)
            && field(self.major, other.major)
            && field(self.minor, other.minor)
    }

    /// Some device matches both rules.
    fn overlaps(&self, other: &Parsed) -> bool {
        let field = |a: Option<i32>, b: Option<i32>| a.is_none() || b.is_none() || a == b;
        field(self.dev_type, other.dev_type)
            && field(self.major, other.major)
            && field(self.minor, other.minor)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs a program with only the opcodes [`compile`] emits.
    pub(crate) fn eval(p: &[Insn], dev_type: i32, major: u32, minor: u32, access: i32) -> u64 {
        let ctx = [((access as u32) << 16) | dev_type as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 10_000, "runaway program");
            let i = p[pc];
            let (d, s) = (i.dst() as usize, i.src() as usize);
            pc += 1;
            let jump = |pc: usize, off: i16| (pc as isize + off as isize) as usize;
            match i.code {
                LDXW => {
                    assert_eq!(s, 1, "loads are from the ctx");
                    r[d] = ctx[i.off as usize / 4] as u64;
                }
                AND32_K => r[d] = (r[d] as u32 & i.imm as u32) as u64,
                RSH32_K => r[d] = ((r[d] as u32) >> i.imm) as u64,
                LSH64_K => r[d] <<= i.imm,
                RSH64_K => r[d] >>= i.imm,
                OR64_X => r[d] |= r[s],
                MOV64_X => r[d] = r[s],
                LD_IMM64 => {
                    r[d] = i.imm as u32 as u64 | (p[pc].imm as u32 as u64) << 32;
                    pc += 1;
                }
                MOV32_K => r[d] = i.imm as u32 as u64,
                MOV32_X => r[d] = r[s] as u32 as u64,
                JEQ_K if r[d] == i.imm as i64 as u64 => pc = jump(pc, i.off),
                JNE_K if r[d] != i.imm as i64 as u64 => pc = jump(pc, i.off),
                JNE_X if r[d] != r[s] => pc = jump(pc, i.off),
                JA => pc = jump(pc, i.off),
                JEQ_K | JNE_K | JNE_X => {}
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
            assert!(pc < p.len(), "fell off the program");
        }
    }

    fn rule(allow: bool, kind: char, major: i64, minor: i64, access: &str) -> DeviceRule {
        DeviceRule {
            allow,
            kind: Some(kind),
            major: Some(major),
            minor: Some(minor),
            access: Some(access.to_string()),
        }
    }

    fn deny_all() -> DeviceRule {
        DeviceRule {
            allow: false,
            ..Default::default()
        }
    }

    const C: i32 = DEV_CHAR;
    const B: i32 = DEV_BLOCK;
    const R: i32 = ACC_READ;
    const W: i32 = ACC_WRITE;
    const M: i32 = ACC_MKNOD;

    /// (what, rules, device type, major, minor, requested access, expected verdict)
    type Case = (&'static str, Vec<DeviceRule>, i32, u32, u32, i32, u64);

    #[test]
    fn table() {
        let mut defaults = vec![deny_all()];
        defaults.extend(super::super::resources::default_device_rules());
        let cases: Vec<Case> = vec![
            ("empty list denies", vec![], C, 1, 3, R, 0),
            ("deny all", vec![deny_all()], C, 1, 3, R, 0),
            (
                "allow all",
                vec![DeviceRule {
                    allow: true,
                    ..Default::default()
                }],
                B,
                8,
                0,
                R | W | M,
                1,
            ),
            ("defaults: null rw", defaults.clone(), C, 1, 3, R | W, 1),
            ("defaults: null mknod", defaults.clone(), C, 1, 3, M, 1),
            (
                "defaults: pts wildcard minor",
                defaults.clone(),
                C,
                136,
                42,
                R | W,
                1,
            ),
            (
                "defaults: mknod any char",
                defaults.clone(),
                C,
                10,
                200,
                M,
                1,
            ),
            ("defaults: mknod any block", defaults.clone(), B, 8, 0, M, 1),
            (
                "defaults: read of c 10:200",
                defaults.clone(),
                C,
                10,
                200,
                R,
                0,
            ),
            (
                "defaults: read of b 1:3 (type)",
                defaults.clone(),
                B,
                1,
                3,
                R,
                0,
            ),
            ("defaults: read of b 8:0", defaults.clone(), B, 8, 0, R, 0),
            (
                "partial: rw allowed",
                vec![deny_all(), rule(true, 'c', 1, 7, "rw")],
                C,
                1,
                7,
                R | W,
                1,
            ),
            (
                "partial: r alone allowed",
                vec![deny_all(), rule(true, 'c', 1, 7, "rw")],
                C,
                1,
                7,
                R,
                1,
            ),
            (
                "partial: m denied",
                vec![deny_all(), rule(true, 'c', 1, 7, "rw")],
                C,
                1,
                7,
                M,
                0,
            ),
            (
                "partial: rwm asks for more than rw",
                vec![deny_all(), rule(true, 'c', 1, 7, "rw")],
                C,
                1,
                7,
                R | W | M,
                0,
            ),
            (
                "wildcard major",
                vec![deny_all(), rule(true, 'c', -1, 7, "r")],
                C,
                99,
                7,
                R,
                1,
            ),
            (
                "wildcard major, other minor",
                vec![deny_all(), rule(true, 'c', -1, 7, "r")],
                C,
                99,
                8,
                R,
                0,
            ),
            (
                "last match wins: deny after allow",
                vec![
                    deny_all(),
                    rule(true, 'c', 1, 7, "rwm"),
                    rule(false, 'c', 1, 7, "w"),
                ],
                C,
                1,
                7,
                W,
                0,
            ),
            (
                "deny w leaves r",
                vec![
                    deny_all(),
                    rule(true, 'c', 1, 7, "rwm"),
                    rule(false, 'c', 1, 7, "w"),
                ],
                C,
                1,
                7,
                R,
                1,
            ),
            (
                "deny w refuses rw",
                vec![
                    deny_all(),
                    rule(true, 'c', 1, 7, "rwm"),
                    rule(false, 'c', 1, 7, "w"),
                ],
                C,
                1,
                7,
                R | W,
                0,
            ),
            (
                "last match wins: allow after deny",
                vec![
                    deny_all(),
                    rule(false, 'c', 1, 7, "rwm"),
                    rule(true, 'c', 1, 7, "r"),
                ],
                C,
                1,
                7,
                R,
                1,
            ),
            (
                "allow all then deny one",
                vec![
                    DeviceRule {
                        allow: true,
                        ..Default::default()
                    },
                    rule(false, 'b', 8, -1, ""),
                ],
                B,
                8,
                16,
                R,
                0,
            ),
            (
                "allow all then deny one: others pass",
                vec![
                    DeviceRule {
                        allow: true,
                        ..Default::default()
                    },
                    rule(false, 'b', 8, -1, ""),
                ],
                C,
                8,
                16,
                R,
                1,
            ),
            (
                "a deny-all at the end wins",
                {
                    let mut v = defaults.clone();
                    v.push(deny_all());
                    v
                },
                C,
                1,
                3,
                R,
                0,
            ),
        ];
        for (what, rules, t, major, minor, access, want) in cases {
            let p = compile(&rules).unwrap();
            assert_all_reachable(&p);
            assert_eq!(eval(&p, t, major, minor, access), want, "{what}: {rules:?}");
        }
    }

    /// Every instruction can be reached from the first (the verifier refuses
    /// unreachable code) and every jump lands inside the program.
    fn assert_all_reachable(p: &[Insn]) {
        let mut seen = vec![false; p.len()];
        let mut todo = vec![0usize];
        while let Some(pc) = todo.pop() {
            assert!(pc < p.len(), "jump out of the program: {p:?}");
            if std::mem::replace(&mut seen[pc], true) {
                continue;
            }
            let i = p[pc];
            let target = (pc as isize + 1 + i.off as isize) as usize;
            match i.code {
                EXIT => {}
                LD_IMM64 => {
                    seen[pc + 1] = true;
                    todo.push(pc + 2);
                }
                JA => todo.push(target),
                JEQ_K | JNE_K | JNE_X => {
                    todo.push(pc + 1);
                    todo.push(target);
                }
                _ => todo.push(pc + 1),
            }
        }
        let dead: Vec<usize> = (0..p.len()).filter(|&i| !seen[i]).collect();
        assert!(
            dead.is_empty(),
            "unreachable instructions {dead:?} in {p:?}"
        );
    }

    #[test]
    fn a_match_all_rule_ends_its_section() {
        // nothing before the deny-all is emitted (the verifier refuses unreachable code)
        let p = compile(&[
            rule(true, 'c', 1, 3, "rwm"),
            deny_all(),
            rule(true, 'c', 1, 5, "rwm"),
        ])
        .unwrap();
        assert_all_reachable(&p);
        assert!(
            !p.iter().any(|i| i.code == JNE_K && i.imm == 3),
            "the rule for c 1:3 was emitted: {p:?}"
        );
        assert_eq!(eval(&p, C, 1, 5, R | W), 1);
        assert_eq!(eval(&p, C, 1, 3, R), 0);
    }

    #[test]
    fn allows_add_up_per_access_bit_as_on_v1() {
        let rules = vec![
            deny_all(),
            rule(true, 'c', 1, 3, "r"),
            rule(true, 'c', 1, 3, "w"),
        ];
        let p = compile(&rules).unwrap();
        assert_all_reachable(&p);
        assert_eq!(eval(&p, C, 1, 3, R | W), 1, "r + w allow rw");
        assert_eq!(eval(&p, C, 1, 3, M), 0, "but not mknod");
        // a deny removes only its bits
        let mut rules = rules;
        rules.push(rule(false, 'c', 1, 3, "r"));
        let p = compile(&rules).unwrap();
        assert_eq!(eval(&p, C, 1, 3, W), 1);
        assert_eq!(eval(&p, C, 1, 3, R | W), 0);
    }

    /// What v1's `devices` controller decides (written again here, from the rule
    /// list, independently of [`compile`]): for each access bit asked for, the last
    /// rule that holds it and matches the device must be an allow.
    fn reference(rules: &[DeviceRule], t: i32, major: u32, minor: u32, access: i32) -> u64 {
        let holds = |r: &DeviceRule, bit: char| {
            let a = r.access.as_deref().unwrap_or("");
            a.is_empty() || a.contains(bit)
        };
        let matches = |r: &DeviceRule| {
            let num = |n: Option<i64>, v: u32| matches!(n, None | Some(-1)) || n == Some(v as i64);
            match r.kind.unwrap_or('a') {
                'a' => true,
                k => {
                    (if k == 'c' { C } else { B }) == t
                        && num(r.major, major)
                        && num(r.minor, minor)
                }
            }
        };
        let ok = [(M, 'm'), (R, 'r'), (W, 'w')].iter().all(|&(b, c)| {
            access & b == 0
                || rules
                    .iter()
                    .rev()
                    .find(|r| holds(r, c) && matches(r))
                    .is_some_and(|r| r.allow)
        });
        u64::from(ok)
    }

    #[test]
    fn every_program_decides_as_v1_and_is_all_reachable() {
        // Random rule lists over a small universe of devices, every device and
        // access of that universe checked: the sections merged and the shadowed
        // rules dropped by `compile` must never change a verdict.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let accesses = ["r", "w", "m", "rw", "rm", "wm", "rwm", ""];
        // As root (CI), every program is also loaded into the kernel.
        let as_root = crate::sys::geteuid() == 0;
        for _ in 0..3000 {
            let rules: Vec<DeviceRule> = (0..next(7))
                .map(|_| {
                    let kind = ['a', 'b', 'c', 'c'][next(4) as usize];
                    let num = |v: u64| if v == 2 { -1 } else { v as i64 + 1 };
                    DeviceRule {
                        allow: next(3) != 0,
                        kind: Some(kind),
                        major: (kind != 'a').then(|| num(next(3))),
                        minor: (kind != 'a').then(|| num(next(3))),
                        access: Some(accesses[next(8) as usize].to_string()),
                    }
                })
                .collect();
            let p = compile(&rules).unwrap();
            assert_all_reachable(&p);
            if as_root {
                // the kernel's verifier takes it (no dead code, no unknown register)
                let mut log = vec![0u8; 1 << 16];
                if let Err(e) = crate::sys::bpf::prog_load(&p, "fastrun_test", &mut log) {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    panic!(
                        "{rules:?}: BPF_PROG_LOAD: {e}\n{}",
                        String::from_utf8_lossy(&log[..end])
                    );
                }
            }
            for t in [B, C] {
                for major in 1..=3 {
                    for minor in 1..=3 {
                        for access in 1..=(M | R | W) {
                            assert_eq!(
                                eval(&p, t, major, minor, access),
                                reference(&rules, t, major, minor, access),
                                "{rules:?}: type {t} {major}:{minor} access {access}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_default_rules_make_a_small_program() {
        // `deny all` + the defaults: the mknod section keeps only `c *:* m` and
        // `b *:* m` (they allow the eight char devices' mknod anyway), read and
        // write share one section, its char devices in one run with one compare
        // each. 120 instructions before 2026-12-05, which the kernel's verifier took
        // ~0.9 ms to check on every container start; 84 with 3 compares a rule
        // (~150 µs) before 2026-12-06.
        let mut rules = vec![deny_all()];
        rules.extend(super::super::resources::default_device_rules());
        let p = compile(&rules).unwrap();
        assert_all_reachable(&p);
        assert!(p.len() <= 64, "{} instructions", p.len());
        let branches = p
            .iter()
            .filter(|i| matches!(i.code, JEQ_K | JNE_K | JNE_X))
            .count();
        assert!(branches <= 14, "{branches} branches");
        let sections = p.iter().filter(|i| i.code == RSH32_K).count();
        assert_eq!(sections, 2, "{p:?}");
    }

    #[test]
    fn bad_rules_are_refused() {
        let e = compile(&[DeviceRule {
            allow: true,
            kind: Some('x'),
            ..Default::default()
        }])
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("linux.resources.devices: invalid type"),
            "{e}"
        );
        let e = compile(&[rule(true, 'c', 1, 3, "rx")]).unwrap_err();
        assert!(e.to_string().contains("invalid access"), "{e}");
        let e = compile(&[rule(true, 'c', 1 << 40, 3, "r")]).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = compile(&[rule(true, 'c', -2, 3, "r")]).unwrap_err();
        assert!(e.to_string().contains("invalid major"), "{e}");
    }
}
