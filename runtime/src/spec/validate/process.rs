//! Rules for `process` (also the `exec --process` file).

use super::{absolute, err, known, no_nul, Result};
use crate::spec::names::{
    capability_number, rlimit_resource, IOPRIO_CLASSES, SCHED_FLAGS, SCHED_POLICIES,
};
use crate::spec::types::Process;

pub(crate) fn process(p: &Process<'_>) -> Result {
    if p.args.is_empty() {
        return Err(err("process.args", "must not be empty"));
    }
    if p.args[0].is_empty() {
        return Err(err("process.args[0]", "must not be empty"));
    }
    for (i, a) in p.args.iter().enumerate() {
        no_nul(a, || format!("process.args[{i}]"))?;
    }
    if p.cwd.is_empty() {
        return Err(err("process.cwd", "required"));
    }
    absolute(&p.cwd, || "process.cwd".into())?;
    for (i, e) in p.env.iter().enumerate() {
        let path = || format!("process.env[{i}]");
        no_nul(e, path)?;
        match e.split_once('=') {
            None => return Err(err(path(), format!("{:?} is not KEY=value", e.as_str()))),
            Some(("", _)) => return Err(err(path(), "the variable name is empty")),
            Some(_) => {}
        }
    }
    if let Some(caps) = &p.capabilities {
        for (set, names) in caps.sets() {
            for (i, name) in names.iter().enumerate() {
                if capability_number(name).is_none() {
                    return Err(err(
                        format!("process.capabilities.{set}[{i}]"),
                        format!("unknown capability {:?}", name.as_str()),
                    ));
                }
            }
        }
    }
    for (i, r) in p.rlimits.iter().enumerate() {
        if rlimit_resource(&r.typ).is_none() {
            return Err(err(
                format!("process.rlimits[{i}].type"),
                format!("unknown rlimit {:?}", r.typ.as_str()),
            ));
        }
        if r.soft > r.hard {
            return Err(err(
                format!("process.rlimits[{i}]"),
                format!("soft limit {} exceeds hard limit {}", r.soft, r.hard),
            ));
        }
        if p.rlimits[..i].iter().any(|o| o.typ == r.typ) {
            return Err(err(
                format!("process.rlimits[{i}].type"),
                format!("duplicate rlimit {:?}", r.typ.as_str()),
            ));
        }
    }
    if let Some(adj) = p.oom_score_adj {
        if !(-1000..=1000).contains(&adj) {
            return Err(err(
                "process.oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            ));
        }
    }
    if let Some(umask) = p.user.umask {
        if umask > 0o777 {
            return Err(err(
                "process.user.umask",
                format!("{umask:#o} is not a umask"),
            ));
        }
    }
    if let Some(s) = &p.scheduler {
        known(&s.policy, &SCHED_POLICIES, "scheduler policy", || {
            "process.scheduler.policy".into()
        })?;
        for (i, f) in s.flags.iter().enumerate() {
            known(f, &SCHED_FLAGS, "scheduler flag", || {
                format!("process.scheduler.flags[{i}]")
            })?;
        }
        if !(-20..=19).contains(&s.nice) {
            return Err(err(
                "process.scheduler.nice",
                format!("{} is outside -20..19", s.nice),
            ));
        }
    }
    if let Some(io) = &p.io_priority {
        known(&io.class, &IOPRIO_CLASSES, "I/O priority class", || {
            "process.ioPriority.class".into()
        })?;
        if !(0..=7).contains(&io.priority) {
            return Err(err(
                "process.ioPriority.priority",
                format!("{} is outside 0..7", io.priority),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{invalid, s};
    use crate::spec::{IoPriority, Rlimit, Scheduler};

    fn p<'c>(c: &'c mut crate::spec::Config<'static>) -> &'c mut crate::spec::Process<'static> {
        c.process.as_mut().unwrap()
    }

    #[test]
    fn args_not_empty() {
        assert_eq!(
            invalid(|c| p(c).args.clear()),
            "process.args: must not be empty"
        );
        assert_eq!(
            invalid(|c| p(c).args = vec![s("")]),
            "process.args[0]: must not be empty"
        );
    }

    #[test]
    fn cwd_absolute() {
        assert_eq!(invalid(|c| p(c).cwd = s("")), "process.cwd: required");
        assert_eq!(
            invalid(|c| p(c).cwd = s("srv")),
            "process.cwd: must be absolute, not \"srv\""
        );
    }

    #[test]
    fn env_is_key_value() {
        assert_eq!(
            invalid(|c| p(c).env.push(s("FOO"))),
            "process.env[2]: \"FOO\" is not KEY=value"
        );
        assert_eq!(
            invalid(|c| p(c).env.push(s("=x"))),
            "process.env[2]: the variable name is empty"
        );
    }

    #[test]
    fn capability_names_known() {
        assert_eq!(
            invalid(|c| p(c)
                .capabilities
                .as_mut()
                .unwrap()
                .ambient
                .push(s("CAP_FLY"))),
            "process.capabilities.ambient[3]: unknown capability \"CAP_FLY\""
        );
        assert_eq!(
            invalid(|c| p(c).capabilities.as_mut().unwrap().bounding[0] = s("kill")),
            "process.capabilities.bounding[0]: unknown capability \"kill\""
        );
    }

    #[test]
    fn rlimits_known_ordered_unique() {
        let r = |t, soft, hard| Rlimit {
            typ: s(t),
            soft,
            hard,
        };
        assert_eq!(
            invalid(|c| p(c).rlimits.push(r("RLIMIT_FILES", 1, 1))),
            "process.rlimits[1].type: unknown rlimit \"RLIMIT_FILES\""
        );
        assert_eq!(
            invalid(|c| p(c).rlimits[0] = r("RLIMIT_NOFILE", 2048, 1024)),
            "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024"
        );
        assert_eq!(
            invalid(|c| p(c).rlimits.push(r("RLIMIT_NOFILE", 1, 1))),
            "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\""
        );
    }

    #[test]
    fn oom_score_adj_range() {
        assert_eq!(
            invalid(|c| p(c).oom_score_adj = Some(1001)),
            "process.oomScoreAdj: 1001 is outside -1000..1000"
        );
    }

    #[test]
    fn umask_range() {
        assert_eq!(
            invalid(|c| p(c).user.umask = Some(0o1000)),
            "process.user.umask: 0o1000 is not a umask"
        );
    }

    #[test]
    fn scheduler_names_known() {
        let sch = |policy, flags: Vec<_>, nice| {
            Some(Scheduler {
                policy: s(policy),
                flags,
                nice,
                ..Scheduler::default()
            })
        };
        assert_eq!(
            invalid(|c| p(c).scheduler = sch("SCHED_FAST", vec![], 0)),
            "process.scheduler.policy: unknown scheduler policy \"SCHED_FAST\""
        );
        assert_eq!(
            invalid(|c| p(c).scheduler = sch("SCHED_OTHER", vec![s("SCHED_FLAG_X")], 0)),
            "process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_X\""
        );
        assert_eq!(
            invalid(|c| p(c).scheduler = sch("SCHED_OTHER", vec![], 20)),
            "process.scheduler.nice: 20 is outside -20..19"
        );
    }

    #[test]
    fn io_priority_known() {
        assert_eq!(
            invalid(|c| p(c).io_priority = Some(IoPriority {
                class: s("IOPRIO_CLASS_X"),
                priority: 0
            })),
            "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_X\""
        );
        assert_eq!(
            invalid(|c| p(c).io_priority = Some(IoPriority {
                class: s("IOPRIO_CLASS_BE"),
                priority: 8
            })),
            "process.ioPriority.priority: 8 is outside 0..7"
        );
    }

    #[test]
    fn parse_process_validates() {
        let mut buf = br#"{"cwd":"/","args":[],"user":{"uid":0,"gid":0}}"#.to_vec();
        let e = crate::spec::parse_process(&mut buf).unwrap_err();
        assert_eq!(e.to_string(), "process.args: must not be empty");
        let mut buf = br#"{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0}}"#.to_vec();
        let p = crate::spec::parse_process(&mut buf).unwrap();
        assert_eq!(p.args, [s("sh")]);
    }
}
