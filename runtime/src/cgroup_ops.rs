//! Operations on a container's cgroup behind the API: `ps`, `pause`, `resume`,
//! `update`, `events` (stats and OOM notifications). Each reads the state record for
//! the cgroup path and works on [`Cgroup`] directly; `kill --all` and the cleanup at
//! `delete` live in `lifecycle`.

use std::time::{Duration, Instant};

use crate::cgroups::{self, oom::OomNotifier, Cgroup, Online, Resources};
use crate::context::{Context, EventsOptions, Status, UpdateOptions};
use crate::error::{Error, Result};
use crate::spec;
use crate::state::Container;

/// How often a running `events` loop checks that the container still exists.
const LIVENESS_TICK: Duration = Duration::from_millis(250);

/// Host pids of every process in the container's cgroup (empty once it is gone).
pub(crate) fn ps(ctx: &Context, id: &str) -> Result<Vec<i32>> {
    let cg = Container::peek(ctx, id)?.require_cgroup()?;
    let mut pids = cg.pids()?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// Freeze a running container.
pub(crate) fn pause(ctx: &Context, id: &str) -> Result<()> {
    Container::load(ctx, id)?
        .require("pause", &[Status::Running])?
        .require_cgroup()?
        .freeze()
        .map_err(Error::from)
}

/// Thaw a paused container.
pub(crate) fn resume(ctx: &Context, id: &str) -> Result<()> {
    Container::load(ctx, id)?
        .require("resume", &[Status::Paused])?
        .require_cgroup()?
        .thaw()
        .map_err(Error::from)
}

/// Change the limits of a created, running or paused container.
pub(crate) fn update(ctx: &Context, id: &str, opts: &UpdateOptions) -> Result<()> {
    let c = Container::load(ctx, id)?.require(
        "update",
        &[Status::Created, Status::Running, Status::Paused],
    )?;
    let res = update_resources(opts, &Online::read())?;
    let cg = c.require_cgroup()?;
    // The conversion names config paths; here the document is `resources`.
    let config_err = |e| match e {
        cgroups::CgroupError::Config(m) => match m.strip_prefix("linux.resources") {
            Some(rest) => Error::Config(format!("resources{rest}")),
            None => Error::Config(m),
        },
        e => e.into(),
    };
    // The systemd driver: what systemd expresses is set on the unit (at runtime),
    // the rest written below.
    let (props, rest) = match &c.rec.systemd_unit {
        Some(_) => {
            let (p, r) = cgroups::systemd::properties(&res).map_err(config_err)?;
            (p, std::borrow::Cow::Owned(r))
        }
        None => (Vec::new(), std::borrow::Cow::Borrowed(&res)),
    };
    let writes = cg.writes(&rest).map_err(config_err)?;
    cg.check(&writes)?;
    if let Some(unit) = &c.rec.systemd_unit {
        cgroups::systemd::Systemd::connect(crate::rootless::is_rootless())?
            .set_properties(unit, &props)?;
    }
    // pure v2: a new device program replaces ours (empty rules, as `update` passes
    // today, leave it alone)
    let device_prog = cg.device_program(&res.devices)?;
    cg.apply(&writes)?;
    if let Some(p) = &device_prog {
        cg.set_device_program(p)?;
    }
    Ok(())
}

/// What `update` writes: the `--resources` document (paths in errors start with
/// `resources`), then runc's individual flags on top. Device rules are not changed
/// by `update` (as runc: rewriting them would briefly deny every device).
pub fn update_resources(opts: &UpdateOptions, online: &Online) -> Result<Resources> {
    let mut res = match &opts.resources_json {
        Some(json) => {
            let mut buf = json.clone();
            let r = spec::parse_resources(&mut buf)?;
            cgroups::from_spec_at(&r, "resources", online)?
        }
        None => Resources::default(),
    };
    res.devices.clear();

    let limit = |v: Option<i64>, flag: &str| -> Result<Option<i64>> {
        match v {
            Some(n) if n < -1 => Err(Error::InvalidArgument(format!(
                "--{flag}: {n} is negative (-1 means unlimited)"
            ))),
            v => Ok(v),
        }
    };
    let memory = limit(opts.memory, "memory")?;
    let swap = limit(opts.memory_swap, "memory-swap")?;
    let reservation = limit(opts.memory_reservation, "memory-reservation")?;
    if memory.is_some() || swap.is_some() || reservation.is_some() {
        let m = res.memory.get_or_insert_with(Default::default);
        if memory.is_some() {
            m.limit = memory;
        }
        if swap.is_some() {
            m.swap = swap;
        }
        if reservation.is_some() {
            m.reservation = reservation;
        }
        if let (Some(s), Some(l)) = (m.swap, m.limit) {
            if s > 0 && l > 0 && s < l {
                return Err(Error::InvalidArgument(format!(
                    "--memory-swap: memory+swap limit {s} must not be below the memory limit {l}"
                )));
            }
        }
    }

    let quota = limit(opts.cpu_quota, "cpu-quota")?;
    let rt_runtime = limit(opts.cpu_rt_runtime, "cpu-rt-runtime")?;
    for (flag, v) in [
        ("cpuset-cpus", &opts.cpuset_cpus),
        ("cpuset-mems", &opts.cpuset_mems),
    ] {
        if let Some(v) = v {
            let (on, what) = if flag == "cpuset-cpus" {
                (&online.cpus, "CPUs")
            } else {
                (&online.mems, "memory nodes")
            };
            match on {
                Some(on) => cgroups::convert::check_cpuset(v, on, &format!("--{flag}"), what)?,
                // still refuse a malformed list
                None => cgroups::convert::check_cpuset(v, v, &format!("--{flag}"), what)?,
            }
        }
    }
    let any_cpu = opts.cpu_shares.is_some()
        || quota.is_some()
        || opts.cpu_period.is_some()
        || opts.cpu_rt_period.is_some()
        || rt_runtime.is_some()
        || opts.cpuset_cpus.is_some()
        || opts.cpuset_mems.is_some();
    if any_cpu {
        let c = res.cpu.get_or_insert_with(Default::default);
        if opts.cpu_shares.is_some() {
            c.shares = opts.cpu_shares;
        }
        if quota.is_some() {
            c.quota = quota;
        }
        if opts.cpu_period.is_some() {
            c.period = opts.cpu_period;
        }
        if opts.cpu_rt_period.is_some() {
            c.realtime_period = opts.cpu_rt_period;
        }
        if rt_runtime.is_some() {
            c.realtime_runtime = rt_runtime;
        }
        if opts.cpuset_cpus.is_some() {
            c.cpus = opts.cpuset_cpus.clone();
        }
        if opts.cpuset_mems.is_some() {
            c.mems = opts.cpuset_mems.clone();
        }
    }

    if let Some(p) = limit(opts.pids_limit, "pids-limit")? {
        res.pids = Some(cgroups::resources::Pids { limit: p });
    }
    if let Some(w) = opts.blkio_weight {
        if w != 0 && !(10..=1000).contains(&w) {
            return Err(Error::InvalidArgument(format!(
                "--blkio-weight: {w} is outside 10..1000"
            )));
        }
        res.block_io.get_or_insert_with(Default::default).weight = Some(w);
    }
    Ok(res)
}

/// One statistics sample: the `data` object of runc's `stats` event.
pub(crate) fn stats(ctx: &Context, id: &str) -> Result<String> {
    Ok(cgroup_stats(ctx, id)?.to_runc_data_json())
}

pub(crate) fn cgroup_stats(ctx: &Context, id: &str) -> Result<crate::cgroups::Stats> {
    Ok(running_cgroup(ctx, id)?.stats()?)
}

/// The cgroup of a container that has not stopped.
fn running_cgroup(ctx: &Context, id: &str) -> Result<Cgroup> {
    let c = Container::peek(ctx, id)?;
    if c.status() == Status::Stopped {
        return Err(Error::InvalidState(format!(
            "container {id} is not running"
        )));
    }
    c.require_cgroup()
}

/// runc's OOM event line.
pub(crate) fn oom_event(id: &str) -> String {
    format!(
        "{{\"type\":\"oom\",\"id\":{}}}",
        serde_json::to_string(id).unwrap_or_else(|_| "\"\"".into())
    )
}

/// `events`: with `opts.stats`, one stats line; otherwise a stats line every
/// `opts.interval` and an `oom` line for every OOM kill, until the container stops or
/// is deleted. Each line (without newline) goes to `sink`; an error from it ends the loop.
/// An OOM notifier registered on the container's cgroup.
pub(crate) fn oom_notifier(ctx: &Context, id: &str) -> Result<OomNotifier> {
    let cg = Container::peek(ctx, id)?.require_cgroup()?;
    Ok(OomNotifier::register(&cg)?)
}

pub(crate) fn events(
    ctx: &Context,
    id: &str,
    opts: &EventsOptions,
    sink: &mut dyn FnMut(&str) -> Result<()>,
) -> Result<()> {
    let cg = running_cgroup(ctx, id)?;
    if opts.stats {
        return sink(&cg.stats()?.to_runc_json(id));
    }
    if opts.interval.is_zero() {
        return Err(Error::InvalidArgument(
            "events: the interval must be greater than 0".into(),
        ));
    }
    // Without a memory controller there are no OOM events; stats still flow.
    let mut oom = OomNotifier::register(&cg).ok();
    let mut next = Instant::now();
    loop {
        let gone = match Container::peek(ctx, id) {
            Ok(c) => c.status() == Status::Stopped,
            Err(Error::NotFound(_)) => true,
            Err(e) => return Err(e),
        };
        if gone {
            // An OOM kill is often what stopped it: report what is pending.
            if let Some(n) = oom.as_mut() {
                if matches!(n.wait(Some(Duration::ZERO)), Ok(Some(k)) if k > 0) {
                    sink(&oom_event(id))?;
                }
            }
            return Ok(());
        }
        let now = Instant::now();
        if now >= next {
            sink(&cg.stats()?.to_runc_json(id))?;
            next = now + opts.interval;
        }
        let wait = next
            .saturating_duration_since(Instant::now())
            .min(LIVENESS_TICK);
        match oom.as_mut().map(|n| n.wait(Some(wait))) {
            Some(Ok(Some(k))) if k > 0 => sink(&oom_event(id))?,
            // 0: the cgroup went away; an error: stop listening, keep the stats
            Some(Ok(Some(_))) | Some(Err(_)) => oom = None,
            Some(Ok(None)) => {}
            None => std::thread::sleep(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn online() -> Online {
        Online {
            cpus: Some("0-1".into()),
            mems: Some("0".into()),
        }
    }

    fn writes(r: &Resources) -> Vec<String> {
        cgroups::resources::v1_writes(r)
            .unwrap()
            .iter()
            .map(|w| w.to_string())
            .collect()
    }

    #[test]
    fn flags_alone() {
        let o = UpdateOptions {
            memory: Some(128 << 20),
            cpu_shares: Some(256),
            cpu_quota: Some(20_000),
            cpu_period: Some(100_000),
            pids_limit: Some(20),
            cpuset_cpus: Some("1".into()),
            blkio_weight: Some(300),
            ..Default::default()
        };
        let r = update_resources(&o, &online()).unwrap();
        assert_eq!(
            writes(&r),
            [
                "cpuset.cpus=1",
                "memory.limit_in_bytes=134217728",
                "cpu.shares=256",
                "cpu.cfs_period_us=100000",
                "cpu.cfs_quota_us=20000",
                "pids.max=20",
                "blkio.weight=300"
            ]
        );
        assert!(update_resources(&UpdateOptions::default(), &online())
            .unwrap()
            .eq(&Resources::default()));
    }

    #[test]
    fn flags_override_the_document() {
        let o = UpdateOptions {
            resources_json: Some(
                br#"{"memory": {"limit": 1048576, "reservation": 4096},
                     "pids": {"limit": 5},
                     "devices": [{"allow": false, "access": "rwm"}]}"#
                    .to_vec(),
            ),
            memory: Some(2 << 20),
            pids_limit: Some(-1),
            ..Default::default()
        };
        let r = update_resources(&o, &online()).unwrap();
        let m = r.memory.as_ref().unwrap();
        assert_eq!((m.limit, m.reservation), (Some(2 << 20), Some(4096)));
        assert_eq!(r.pids.unwrap().limit, -1);
        // device rules are left alone by update
        assert!(r.devices.is_empty());
        assert!(!writes(&r).iter().any(|w| w.starts_with("devices.")));
    }

    #[test]
    fn bad_update_input_names_the_flag_or_path() {
        let e = |o: UpdateOptions| update_resources(&o, &online()).unwrap_err().to_string();
        assert_eq!(
            e(UpdateOptions {
                memory: Some(-5),
                ..Default::default()
            }),
            "--memory: -5 is negative (-1 means unlimited)"
        );
        assert_eq!(
            e(UpdateOptions {
                pids_limit: Some(-3),
                ..Default::default()
            }),
            "--pids-limit: -3 is negative (-1 means unlimited)"
        );
        assert_eq!(
            e(UpdateOptions {
                cpuset_cpus: Some("2-5".into()),
                ..Default::default()
            }),
            "--cpuset-cpus: \"2-5\" is outside the online CPUs 0-1"
        );
        assert!(e(UpdateOptions {
            blkio_weight: Some(5),
            ..Default::default()
        })
        .contains("--blkio-weight"));
        assert!(e(UpdateOptions {
            memory: Some(100),
            memory_swap: Some(50),
            ..Default::default()
        })
        .contains("--memory-swap"));
        let doc = |j: &str| UpdateOptions {
            resources_json: Some(j.as_bytes().to_vec()),
            ..Default::default()
        };
        assert_eq!(
            e(doc(r#"{"pids": {"limit": -7}}"#)),
            "resources.pids.limit: -7 is negative (-1 means unlimited)"
        );
        assert_eq!(
            e(doc(r#"{"cpu": {"cpus": "0-7"}}"#)),
            "resources.cpu.cpus: \"0-7\" is outside the online CPUs 0-1"
        );
        assert!(update_resources(&doc("{not json"), &online()).is_err());
    }

    #[test]
    fn oom_line() {
        assert_eq!(oom_event("c1"), r#"{"type":"oom","id":"c1"}"#);
        assert_eq!(oom_event("a\"b"), r#"{"type":"oom","id":"a\"b"}"#);
    }
}
