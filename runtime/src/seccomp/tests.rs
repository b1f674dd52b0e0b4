//! Compiled filters run through the test interpreter: what they decide.
#![cfg(target_arch = "x86_64")]

use super::bpf::{data, run};
use super::*;

const X86_64: u32 = 0xc000_003e;
const I386: u32 = 0x4000_0003;
const MKDIR: i32 = 83;
const GETPID: i32 = 39;
const PERSONALITY: i32 = 135;
const EXECVEAT: i32 = 322;
const I386_MKDIR: i32 = 39;

const ALLOW: u32 = 0x7fff_0000;
const fn errno(e: u32) -> u32 {
    0x0005_0000 | e
}

fn sec(json: &str) -> Seccomp<'_> {
    let s: Seccomp<'_> = serde_json::from_str(json).unwrap();
    s
}

fn decide(prog: &[Insn], nr: i32, args: [u64; 6]) -> u32 {
    run(prog, &data(X86_64, nr, args)).expect("valid program")
}

#[test]
fn every_action_maps_to_its_kernel_value() {
    let cases = [
        ("SCMP_ACT_KILL", 0),
        ("SCMP_ACT_KILL_THREAD", 0),
        ("SCMP_ACT_KILL_PROCESS", 0x8000_0000),
        ("SCMP_ACT_TRAP", 0x0003_0000),
        ("SCMP_ACT_ERRNO", errno(1)),
        ("SCMP_ACT_TRACE", 0x7ff0_0001),
        ("SCMP_ACT_LOG", 0x7ffc_0000),
        ("SCMP_ACT_NOTIFY", 0x7fc0_0000),
    ];
    for (act, want) in cases {
        let j = format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["mkdir"],"action":"{act}"}}]}}"#
        );
        let p = compile(&sec(&j)).unwrap();
        assert_eq!(decide(&p, MKDIR, [0; 6]), want, "{act}");
        assert_eq!(decide(&p, GETPID, [0; 6]), ALLOW, "{act}");
    }
}

#[test]
fn errno_defaults_to_eperm_and_honours_errno_ret() {
    let p = compile(&sec(r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["getpid"],"action":"SCMP_ACT_ALLOW"},
            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#))
    .unwrap();
    assert_eq!(decide(&p, GETPID, [0; 6]), ALLOW);
    assert_eq!(decide(&p, MKDIR, [0; 6]), errno(38));
    // Unlisted but not newer than mkdir (83): the default (above: ENOSYS prefix).
    assert_eq!(decide(&p, 60, [0; 6]), errno(libc::EPERM as u32));
    assert_eq!(decide(&p, PERSONALITY, [0; 6]), errno(libc::ENOSYS as u32));

    let p = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":13,"syscalls":[
            {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    ))
    .unwrap();
    // 30 (shmat): unlisted, below getpid (39), the highest named.
    assert_eq!(decide(&p, 30, [0; 6]), errno(13));
    assert_eq!(decide(&p, GETPID, [0; 6]), ALLOW);
}

#[test]
fn errno_ret_out_of_range_names_the_field() {
    let e = compile(&sec(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":70000}]}"#))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "linux.seccomp.syscalls[0].errnoRet: 70000: must be at most 65535"
    );
    let e = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":65536}"#,
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "linux.seccomp.defaultErrnoRet: 65536: must be at most 65535"
    );
}

fn one_arg(op: &str, value: u64, value_two: u64) -> Vec<Insn> {
    let j = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["personality"],
        "action":"SCMP_ACT_ERRNO","args":[{{"index":0,"value":{value},"valueTwo":{value_two},"op":"{op}"}}]}}]}}"#
    );
    compile(&sec(&j)).unwrap()
}

#[test]
fn every_operator_compares_as_named() {
    let denied = |p: &[Insn], v: u64| decide(p, PERSONALITY, [v, 0, 0, 0, 0, 0]) != ALLOW;
    let p = one_arg("SCMP_CMP_EQ", 8, 0);
    assert!(denied(&p, 8) && !denied(&p, 9) && !denied(&p, 8 | 1 << 32));
    let p = one_arg("SCMP_CMP_NE", 8, 0);
    assert!(!denied(&p, 8) && denied(&p, 9));
    let p = one_arg("SCMP_CMP_LT", 8, 0);
    assert!(denied(&p, 7) && !denied(&p, 8) && !denied(&p, 1 << 40));
    let p = one_arg("SCMP_CMP_LE", 8, 0);
    assert!(denied(&p, 8) && !denied(&p, 9));
    let p = one_arg("SCMP_CMP_GE", 8, 0);
    assert!(denied(&p, 8) && !denied(&p, 7) && denied(&p, 1 << 40));
    let p = one_arg("SCMP_CMP_GT", 8, 0);
    assert!(denied(&p, 9) && !denied(&p, 8));
    // MASKED_EQ: (arg & value) == valueTwo.
    let p = one_arg("SCMP_CMP_MASKED_EQ", 0xff00, 0x1200);
    assert!(denied(&p, 0x12ab) && denied(&p, 0x1200) && !denied(&p, 0x1300) && !denied(&p, 0x12));
}

#[test]
fn conditions_on_distinct_args_and_on_the_same_arg_or() {
    // Distinct indexes: AND.
    let p = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO",
        "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
    ))
    .unwrap();
    assert_ne!(decide(&p, PERSONALITY, [1, 2, 0, 0, 0, 0]), ALLOW);
    assert_eq!(decide(&p, PERSONALITY, [1, 3, 0, 0, 0, 0]), ALLOW);
    assert_eq!(decide(&p, PERSONALITY, [0, 2, 0, 0, 0, 0]), ALLOW);
    // Same index twice: one rule each (OR), as runc.
    let p = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ERRNO",
        "args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
    ))
    .unwrap();
    assert_ne!(decide(&p, PERSONALITY, [1, 0, 0, 0, 0, 0]), ALLOW);
    assert_ne!(decide(&p, PERSONALITY, [2, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(decide(&p, PERSONALITY, [3, 0, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn architectures_extend_the_filter() {
    let j = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let native_only = compile(&sec(j)).unwrap();
    // A foreign architecture is killed by default (libseccomp's bad-arch action).
    assert_eq!(run(&native_only, &data(I386, I386_MKDIR, [0; 6])), Some(0));
    let j = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"],
        "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let multi = compile(&sec(j)).unwrap();
    assert_eq!(
        run(&multi, &data(I386, I386_MKDIR, [0; 6])),
        Some(errno(1)),
        "mkdir resolved with the i386 number"
    );
    assert_eq!(run(&multi, &data(I386, 20, [0; 6])), Some(ALLOW)); // i386 getpid
    assert_eq!(decide(&multi, MKDIR, [0; 6]), errno(1));
    // x32 numbers are x86_64's with bit 30 set.
    assert_eq!(
        run(&multi, &data(X86_64, MKDIR | 0x4000_0000, [0; 6])),
        Some(errno(1))
    );
}

#[test]
fn architectures_of_the_other_byte_order_are_skipped() {
    let j = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_S390X","SCMP_ARCH_PPC64"],
        "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let p = compile(&sec(j)).unwrap();
    assert_eq!(decide(&p, MKDIR, [0; 6]), errno(1));
}

#[test]
fn names_of_other_architectures_are_accepted() {
    // socketcall exists on i386 only: fine on an x86_64 filter.
    compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["socketcall","mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    ))
    .unwrap();
}

#[test]
fn unknown_names_are_skipped_with_a_warning_and_unknown_arches_are_errors() {
    let s = sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_LOG"},
        {"names":["mkdir","mkdirr"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let p = compile(&s).unwrap();
    assert_eq!(decide(&p, MKDIR, [0; 6]), errno(libc::EPERM as u32));
    let w = compile::unknown_syscalls(&s);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with(
            "linux.seccomp.syscalls[1].names[1]: syscall \"mkdirr\" unknown to libseccomp"
        ),
        "{w:?}"
    );
    let e = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_DENY"}]}"#,
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_DENY\""
    );
    let e = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_NOPE"]}"#,
    ))
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("linux.seccomp.architectures[0]: SCMP_ARCH_NOPE: not supported"),
        "{e}"
    );
}

#[test]
fn rules_equal_to_the_default_are_skipped() {
    let p = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
        {"names":["getpid"],"action":"SCMP_ACT_ALLOW"}]}"#,
    ))
    .unwrap();
    assert_eq!(decide(&p, MKDIR, [0; 6]), errno(1));
    assert_eq!(decide(&p, GETPID, [0; 6]), ALLOW);
}

#[test]
fn exec_allowance_lets_only_the_trampoline_exec_through() {
    let p = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execveat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    ))
    .unwrap();
    let fd = 7;
    let full = with_exec_allowance(&p, fd, None);
    assert_eq!(full.len(), p.len() + EXEC_ALLOWANCE_LEN);
    let empty = libc::AT_EMPTY_PATH as u64;
    assert_eq!(decide(&full, EXECVEAT, [7, 0, 0, 0, empty, 0]), ALLOW);
    // Upper bits of an int argument are ignored by the kernel, and by us.
    assert_eq!(
        decide(&full, EXECVEAT, [7 | 1 << 32, 0, 0, 0, empty, 0]),
        ALLOW
    );
    assert_eq!(decide(&full, EXECVEAT, [8, 0, 0, 0, empty, 0]), errno(1));
    assert_eq!(decide(&full, EXECVEAT, [7, 0, 0, 0, 0, 0]), errno(1));
    assert_eq!(
        decide(&full, EXECVEAT, [7, 0, 0, 0, empty | 0x100, 0]),
        errno(1)
    );
    assert_eq!(decide(&full, MKDIR, [7, 0, 0, 0, empty, 0]), ALLOW);
    // Another architecture's syscall 322 is not execveat.
    assert_eq!(
        run(&full, &data(I386, EXECVEAT, [7, 0, 0, 0, empty, 0])),
        run(&p, &data(I386, EXECVEAT, [7, 0, 0, 0, empty, 0]))
    );
    assert_eq!(with_exec_allowance(&p, -1, None), p);
}

#[test]
fn fork_allowance_lets_only_the_trampolines_clone_through() {
    const CLONE: i32 = 56;
    let p = compile(&sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["execveat","clone"],"action":"SCMP_ACT_ERRNO"}]}"#,
    ))
    .unwrap();
    let cookie: u64 = 0x1234_5678_9abc_def0;
    let full = with_exec_allowance(&p, 7, Some(cookie));
    assert_eq!(
        full.len(),
        p.len() + EXEC_ALLOWANCE_LEN + FORK_ALLOWANCE_LEN
    );
    let flags = crate::spawn::trampoline::CLONE_FLAGS;
    assert_eq!(decide(&full, CLONE, [flags, 0, cookie, 0, 0, 0]), ALLOW);
    // Any other cookie, half of it, or other flags: the profile decides.
    assert_eq!(
        decide(&full, CLONE, [flags, 0, cookie ^ 1, 0, 0, 0]),
        errno(1)
    );
    assert_eq!(
        decide(&full, CLONE, [flags, 0, cookie & 0xffff_ffff, 0, 0, 0]),
        errno(1)
    );
    assert_eq!(
        decide(&full, CLONE, [flags, 0, cookie ^ 1 << 40, 0, 0, 0]),
        errno(1)
    );
    assert_eq!(decide(&full, CLONE, [17, 0, cookie, 0, 0, 0]), errno(1));
    assert_eq!(
        decide(&full, CLONE, [flags | 1 << 32, 0, cookie, 0, 0, 0]),
        errno(1)
    );
    assert_eq!(decide(&full, CLONE, [flags, 0, 0, cookie, 0, 0]), errno(1));
    // The exec allowance is unchanged, and the rest goes to the profile.
    let empty = libc::AT_EMPTY_PATH as u64;
    assert_eq!(decide(&full, EXECVEAT, [7, 0, 0, 0, empty, 0]), ALLOW);
    assert_eq!(decide(&full, EXECVEAT, [8, 0, 0, 0, empty, 0]), errno(1));
    assert_eq!(decide(&full, MKDIR, [0; 6]), ALLOW);
    assert_eq!(
        run(&full, &data(I386, CLONE, [flags, 0, cookie, 0, 0, 0])),
        run(&p, &data(I386, CLONE, [flags, 0, cookie, 0, 0, 0]))
    );
}

fn docker_profile() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../benches/fixtures/large-config.json"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["linux"]["seccomp"].to_string()
}

#[test]
fn docker_default_profile_compiles_and_decides() {
    let j = docker_profile();
    let p = compile(&sec(&j)).unwrap();
    assert!(p.len() + EXEC_ALLOWANCE_LEN <= MAX_INSNS, "{}", p.len());
    assert_eq!(decide(&p, MKDIR, [0; 6]), ALLOW);
    assert_eq!(decide(&p, GETPID, [0; 6]), ALLOW);
    assert_eq!(decide(&p, 169, [0; 6]), errno(1)); // reboot
                                                   // personality(0xffffffff) (query) allowed, PER_LINUX32|... (0x0008) denied.
    assert_eq!(decide(&p, PERSONALITY, [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        decide(&p, PERSONALITY, [0x0004_0000, 0, 0, 0, 0, 0]),
        errno(1)
    );
}

#[test]
fn prepare_resolves_flags_and_listener() {
    let s = sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_TSYNC"],
        "listenerPath":"/run/l.sock","listenerMetadata":"meta",
        "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    let p = prepare(&s, None, true).unwrap();
    assert_eq!(
        p.flags,
        sc::FLAG_LOG | sc::FLAG_TSYNC | sc::FLAG_NEW_LISTENER | sc::FLAG_TSYNC_ESRCH
    );
    assert_eq!(
        p.listener,
        Some(Listener {
            path: "/run/l.sock".into(),
            metadata: "meta".into()
        })
    );
    // A listener path without a NOTIFY rule asks for no listener (and drops
    // WAIT_KILLABLE_RECV, which the kernel accepts only with one).
    let s = sec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/x","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
    );
    let p = prepare(&s, None, true).unwrap();
    assert_eq!((p.flags, p.listener), (0, None));
}

#[test]
fn cache_returns_what_compile_makes() {
    let d = tempfile::tempdir().unwrap();
    let j = docker_profile();
    let s = sec(&j);
    let fresh = load_or_compile(&s, Some(d.path())).unwrap();
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    let cached = cache::read(d.path(), &cache::key(&s)).unwrap();
    assert_eq!(cached, fresh);
    assert_eq!(load_or_compile(&s, Some(d.path())).unwrap(), fresh);
}

#[test]
fn supported_lists_are_truthful() {
    let archs = supported_archs();
    assert!(archs.contains(&"SCMP_ARCH_X86_64") && archs.contains(&"SCMP_ARCH_X86"));
    for a in &archs {
        assert!(compile::arch(a).is_some());
    }
    // Every flag we know is one the kernel under test has (5.x+).
    assert!(supported_flags().contains(&"SECCOMP_FILTER_FLAG_LOG"));
}

#[test]
fn x86_socketcall_argument_rules_compile_and_decide() {
    // Fuzz regression (seccomp target): argument rules on socketcall-multiplexed
    // syscalls with SCMP_ARCH_X86 in the filter. libseccomp 2.5.4 leaks 96-byte
    // blocks inside seccomp_rule_add_array here (not fastrun's; suppressed in
    // fuzz/lsan.supp); the filter itself must still compile and decide.
    let s = sec(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"],
        "syscalls":[{"names":["accept4","bind","socketcall"],"action":"SCMP_ACT_ALLOW",
        "args":[{"index":2,"value":9,"op":"SCMP_CMP_NE"}]}]}"#,
    );
    let prog = compile(&s).unwrap();
    const BIND: i32 = 49;
    assert_eq!(decide(&prog, BIND, [0, 0, 8, 0, 0, 0]), ALLOW);
    assert_eq!(decide(&prog, BIND, [0, 0, 9, 0, 0, 0]), errno(1));
    assert_eq!(decide(&prog, GETPID, [0; 6]), errno(1));
    // The i386 half of the filter has the rule too (socketcall is 102 there).
    let i386 = |nr, a2| run(&prog, &data(I386, nr, [0, 0, a2, 0, 0, 0])).unwrap();
    assert_eq!(i386(102, 8), ALLOW);
    assert_eq!(i386(102, 9), errno(1));
}

const ENOSYS: u32 = errno(libc::ENOSYS as u32);
const X32_BIT: i32 = 0x4000_0000;

#[test]
fn syscalls_above_the_profiles_highest_get_enosys() {
    // getpid (39) and mkdir (83) named: 84 and above are newer than the profile.
    let p = compile(&sec(r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["getpid"],"action":"SCMP_ACT_ALLOW"},
            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#))
    .unwrap();
    assert_eq!(decide(&p, GETPID, [0; 6]), ALLOW);
    assert_eq!(decide(&p, MKDIR, [0; 6]), errno(libc::EPERM as u32));
    assert_eq!(decide(&p, 40, [0; 6]), errno(libc::EPERM as u32));
    assert_eq!(decide(&p, 84, [0; 6]), ENOSYS);
    assert_eq!(decide(&p, 1000, [0; 6]), ENOSYS);
    // x32 numbers (bit 30) are not x86_64's: the filter's own bad-arch action.
    assert_ne!(decide(&p, X32_BIT | 1000, [0; 6]), ENOSYS);
    // Another architecture (not in the filter): not the prefix's business.
    assert_ne!(run(&p, &data(I386, 1000, [0; 6])), Some(ENOSYS));
}

#[test]
fn enosys_prefix_per_architecture_and_x32() {
    let p = compile(&sec(r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS",
            "architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
            "syscalls":[{"names":["getpid","mkdir"],"action":"SCMP_ACT_ALLOW"}]}"#))
    .unwrap();
    // x86_64: mkdir 83 is the highest; i386: getpid 20 / mkdir 39.
    assert_eq!(decide(&p, MKDIR, [0; 6]), ALLOW);
    assert_eq!(decide(&p, 84, [0; 6]), ENOSYS);
    assert_eq!(decide(&p, 60, [0; 6]), 0x8000_0000);
    assert_eq!(run(&p, &data(I386, I386_MKDIR, [0; 6])), Some(ALLOW));
    assert_eq!(run(&p, &data(I386, 40, [0; 6])), Some(ENOSYS));
    assert_eq!(run(&p, &data(I386, 30, [0; 6])), Some(0x8000_0000));
    // x32: the same numbers with bit 30.
    assert_eq!(decide(&p, X32_BIT | MKDIR, [0; 6]), ALLOW);
    assert_eq!(decide(&p, X32_BIT | 84, [0; 6]), ENOSYS);
    assert_eq!(decide(&p, X32_BIT | 60, [0; 6]), 0x8000_0000);
}

#[test]
fn no_enosys_prefix_for_permissive_defaults_or_an_enosys_default() {
    for (default, errno_ret) in [
        ("SCMP_ACT_ALLOW", ""),
        ("SCMP_ACT_LOG", ""),
        ("SCMP_ACT_TRACE", ""),
        ("SCMP_ACT_ERRNO", r#","defaultErrnoRet":38"#),
    ] {
        let j = format!(
            r#"{{"defaultAction":"{default}"{errno_ret},"syscalls":[{{"names":["getpid"],"action":"SCMP_ACT_KILL"}}]}}"#
        );
        let with = compile(&sec(&j)).unwrap();
        let plain = {
            let mut f = crate::sys::libseccomp::Filter::new(
                compile::action(
                    default,
                    if errno_ret.is_empty() { None } else { Some(38) },
                    &|| String::new(),
                )
                .unwrap(),
            )
            .unwrap();
            f.add_rule(crate::sys::libseccomp::ACT_KILL_THREAD, GETPID, &[])
                .unwrap();
            compile::insns(&f.export_bpf().unwrap())
        };
        assert_eq!(with, plain, "{default}");
    }
}

#[test]
fn enosys_prefix_layout_handles_s390_and_long_jumps() {
    use super::enosys::{prefix, ArchMax};
    // s390x: syscall 0 (the multiplexer) gets ENOSYS too.
    let p = prefix(&[ArchMax {
        token: 0x8000_0016,
        max: 400,
    }]);
    let mut prog = p.clone();
    prog.push(Insn {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: ALLOW,
    });
    assert_eq!(run(&prog, &data(0x8000_0016, 0, [0; 6])), Some(ENOSYS));
    assert_eq!(run(&prog, &data(0x8000_0016, 401, [0; 6])), Some(ENOSYS));
    assert_eq!(run(&prog, &data(0x8000_0016, 5, [0; 6])), Some(ALLOW));
    // Many architectures: every jump stays valid (long ones are `ja`).
    let many: Vec<ArchMax> = (0..100)
        .map(|n| ArchMax {
            token: 0x1000 + n,
            max: 10 + n,
        })
        .collect();
    let mut prog = prefix(&many);
    prog.push(Insn {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: ALLOW,
    });
    for a in &many {
        assert_eq!(
            run(&prog, &data(a.token, a.max as i32, [0; 6])),
            Some(ALLOW)
        );
        assert_eq!(
            run(&prog, &data(a.token, a.max as i32 + 1, [0; 6])),
            Some(ENOSYS)
        );
    }
    assert_eq!(run(&prog, &data(0x9999, 5000, [0; 6])), Some(ALLOW));
    // Nothing named anywhere: no prefix.
    assert!(prefix(&[ArchMax {
        token: X86_64,
        max: 0
    }])
    .is_empty());
}
