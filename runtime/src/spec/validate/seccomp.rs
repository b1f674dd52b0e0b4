//! Rules for `linux.seccomp`.

use super::{err, known, Result};
use crate::spec::linux::Seccomp;
use crate::spec::names::{SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPS};

/// Actions that return an errno (and so may carry `errnoRet`).
fn takes_errno(action: &str) -> bool {
    matches!(action, "SCMP_ACT_ERRNO" | "SCMP_ACT_TRACE")
}

pub(super) fn seccomp(s: &Seccomp<'_>) -> Result {
    const AT: &str = "linux.seccomp";
    known(&s.default_action, &SECCOMP_ACTIONS, "action", || {
        format!("{AT}.defaultAction")
    })?;
    if s.default_action == "SCMP_ACT_NOTIFY" {
        return Err(err(
            format!("{AT}.defaultAction"),
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    if s.default_errno_ret.is_some() && !takes_errno(&s.default_action) {
        return Err(err(
            format!("{AT}.defaultErrnoRet"),
            "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
        ));
    }
    for (i, a) in s.architectures.iter().enumerate() {
        known(a, &SECCOMP_ARCHES, "architecture", || {
            format!("{AT}.architectures[{i}]")
        })?;
    }
    for (i, f) in s.flags.iter().enumerate() {
        known(f, &SECCOMP_FLAGS, "flag", || format!("{AT}.flags[{i}]"))?;
    }
    if !s.listener_metadata.is_empty() && s.listener_path.is_empty() {
        return Err(err(
            format!("{AT}.listenerMetadata"),
            "given without listenerPath",
        ));
    }
    // Before libseccomp sees it (100 000 rules keep it on the CPU for minutes):
    // every rule libseccomp keeps (its action is not the default's) costs at least
    // one instruction per name and argument, and a kernel filter holds at most
    // MAX_INSNS. The compiled size is checked again after compiling.
    let cost: usize = s
        .syscalls
        .iter()
        .filter(|sc| sc.action != s.default_action || sc.errno_ret != s.default_errno_ret)
        .map(|sc| sc.names.len().saturating_mul(sc.args.len().max(1)))
        .fold(0, usize::saturating_add);
    if cost > crate::sys::seccomp::MAX_INSNS {
        return Err(err(
            format!("{AT}.syscalls"),
            format!(
                "{cost} rules (syscall names by arguments), more than a kernel filter can hold \
                 ({} instructions): the profile cannot be loaded",
                crate::sys::seccomp::MAX_INSNS
            ),
        ));
    }
    for (i, sc) in s.syscalls.iter().enumerate() {
        let at = |field: &str| format!("{AT}.syscalls[{i}].{field}");
        if sc.names.is_empty() {
            return Err(err(at("names"), "must not be empty"));
        }
        for (j, n) in sc.names.iter().enumerate() {
            if n.is_empty() || n.contains('\0') {
                return Err(err(
                    format!("{AT}.syscalls[{i}].names[{j}]"),
                    "must be a syscall name",
                ));
            }
        }
        known(&sc.action, &SECCOMP_ACTIONS, "action", || at("action"))?;
        if sc.errno_ret.is_some() && !takes_errno(&sc.action) {
            return Err(err(
                at("errnoRet"),
                "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
            ));
        }
        if sc.action == "SCMP_ACT_NOTIFY" && s.listener_path.is_empty() {
            return Err(err(
                format!("{AT}.listenerPath"),
                "required when SCMP_ACT_NOTIFY is used",
            ));
        }
        for (j, a) in sc.args.iter().enumerate() {
            if a.index >= 6 {
                return Err(err(
                    format!("{AT}.syscalls[{i}].args[{j}].index"),
                    "must be less than 6",
                ));
            }
            known(&a.op, &SECCOMP_OPS, "operator", || {
                format!("{AT}.syscalls[{i}].args[{j}].op")
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{invalid, s};
    use crate::spec::{Config, Seccomp, SeccompArg, Syscall};

    fn sec<'c>(c: &'c mut Config<'static>) -> &'c mut Seccomp<'static> {
        let l = c.linux.as_mut().unwrap();
        l.seccomp.get_or_insert_with(|| Seccomp {
            default_action: s("SCMP_ACT_ERRNO"),
            syscalls: vec![Syscall {
                names: vec![s("read")],
                action: s("SCMP_ACT_ALLOW"),
                ..Syscall::default()
            }],
            ..Seccomp::default()
        })
    }

    #[test]
    fn base_seccomp_is_valid() {
        let mut c = super::super::tests::base();
        sec(&mut c).architectures = vec![s("SCMP_ARCH_X86_64")];
        c.validate().unwrap();
    }

    #[test]
    fn rule_count_is_bounded_before_compiling() {
        let arg = |v| SeccompArg {
            index: 0,
            value: v,
            op: s("SCMP_CMP_EQ"),
            ..SeccompArg::default()
        };
        let rule = |action: &'static str, n: u64| Syscall {
            names: vec![s("personality")],
            action: s(action),
            args: (0..n).map(arg).collect(),
            ..Syscall::default()
        };
        let e = invalid(|c| {
            sec(c).syscalls = (0..4097).map(|_| rule("SCMP_ACT_ALLOW", 1)).collect();
        });
        assert!(e.starts_with("linux.seccomp.syscalls: 4097 rules"), "{e}");
        // Rules with the default action cost nothing (libseccomp drops them).
        let mut c = super::super::tests::base();
        sec(&mut c).syscalls = (0..5000).map(|_| rule("SCMP_ACT_ERRNO", 1)).collect();
        c.validate().unwrap();
        // Names by arguments.
        let e = invalid(|c| {
            let mut r = rule("SCMP_ACT_ALLOW", 5);
            r.names = (0..1000).map(|_| s("personality")).collect();
            sec(c).syscalls = vec![r];
        });
        assert!(e.starts_with("linux.seccomp.syscalls: 5000 rules"), "{e}");
    }

    #[test]
    fn default_action_known() {
        assert_eq!(
            invalid(|c| sec(c).default_action = s("SCMP_ACT_DENY")),
            "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_DENY\""
        );
        assert_eq!(
            invalid(|c| sec(c).default_action = s("SCMP_ACT_NOTIFY")),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"
        );
        assert_eq!(
            invalid(|c| {
                sec(c).default_action = s("SCMP_ACT_KILL");
                sec(c).default_errno_ret = Some(1);
            }),
            "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
        );
    }

    #[test]
    fn actions_known() {
        assert_eq!(
            invalid(|c| sec(c).syscalls[0].action = s("ALLOW")),
            "linux.seccomp.syscalls[0].action: unknown action \"ALLOW\""
        );
        assert_eq!(
            invalid(|c| sec(c).syscalls[0].errno_ret = Some(1)),
            "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
        );
        assert_eq!(
            invalid(|c| sec(c).syscalls[0].action = s("SCMP_ACT_NOTIFY")),
            "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used"
        );
    }

    #[test]
    fn ops_and_indexes_known() {
        let arg = |index, op| SeccompArg {
            index,
            value: 1,
            value_two: 0,
            op: s(op),
        };
        assert_eq!(
            invalid(
                |c| sec(c).syscalls[0].args = vec![arg(0, "SCMP_CMP_EQ"), arg(1, "SCMP_CMP_XX")]
            ),
            "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_XX\""
        );
        assert_eq!(
            invalid(|c| sec(c).syscalls[0].args = vec![arg(6, "SCMP_CMP_EQ")]),
            "linux.seccomp.syscalls[0].args[0].index: must be less than 6"
        );
    }

    #[test]
    fn syscall_names_not_empty() {
        assert_eq!(
            invalid(|c| sec(c).syscalls[0].names.clear()),
            "linux.seccomp.syscalls[0].names: must not be empty"
        );
        assert_eq!(
            invalid(|c| sec(c).syscalls[0].names.push(s(""))),
            "linux.seccomp.syscalls[0].names[1]: must be a syscall name"
        );
    }

    #[test]
    fn arches_and_flags_known() {
        assert_eq!(
            invalid(|c| sec(c).architectures = vec![s("SCMP_ARCH_Z80")]),
            "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_Z80\""
        );
        assert_eq!(
            invalid(|c| sec(c).flags = vec![s("SECCOMP_FILTER_FLAG_X")]),
            "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_X\""
        );
    }

    #[test]
    fn listener_metadata_needs_path() {
        assert_eq!(
            invalid(|c| sec(c).listener_metadata = s("x")),
            "linux.seccomp.listenerMetadata: given without listenerPath"
        );
    }
}
