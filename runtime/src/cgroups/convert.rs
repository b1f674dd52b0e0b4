//! The OCI `linux.resources` object ([`crate::spec::LinuxResources`]) → [`Resources`],
//! with the checks that need the machine: a cpuset must name online CPUs and memory
//! nodes. Everything here runs before a cgroup is made, so that bad input leaves
//! nothing behind.
//!
//! Device rules at create: an allow rule (`rwm`) for each `linux.devices` entry
//! first (as crun does; `p` entries have no device cgroup rule; runc adds none),
//! then the spec's `linux.resources.devices` rules in order, then the default
//! allowed devices ([`default_device_rules`]), as runc. Rules written later win:
//! the resources' rules decide over the `linux.devices` entries (a "deny all" there
//! denies them, as in runc), and the defaults come after the usual "deny all".

use std::collections::BTreeMap;

use super::resources::{
    default_device_rules, BlockIo, Cpu, DeviceRule, HugepageLimit, Memory, Network, Pids,
    RdmaLimit, Resources, ThrottleDevice, WeightDevice,
};
use super::CgroupError;
use crate::spec;

/// Where the kernel lists the online CPUs.
pub const CPU_ONLINE: &str = "/sys/devices/system/cpu/online";
/// Where the kernel lists the online memory nodes (absent without NUMA support).
pub const NODE_ONLINE: &str = "/sys/devices/system/node/online";

/// The machine's online CPUs and memory nodes, as the kernel lists them (`0-1`).
/// `None`: unknown, not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Online {
    pub cpus: Option<String>,
    pub mems: Option<String>,
}

impl Online {
    /// [`Online::read`] when `res` names a cpuset (the only use of the lists), else
    /// nothing read: unknown, not checked.
    pub fn for_resources(res: Option<&spec::LinuxResources<'_>>) -> Online {
        let cpuset = res
            .and_then(|r| r.cpu.as_ref())
            .is_some_and(|c| !c.cpus.is_empty() || !c.mems.is_empty());
        if cpuset {
            Online::read()
        } else {
            Online::default()
        }
    }

    /// Reads [`CPU_ONLINE`] and [`NODE_ONLINE`].
    pub fn read() -> Online {
        let rd = |p: &str| {
            crate::sys::fs::read_small(p)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        Online {
            cpus: rd(CPU_ONLINE),
            mems: rd(NODE_ONLINE),
        }
    }
}

/// A cpuset list (`0-3,7`) as inclusive ranges; `None` when malformed.
fn ranges(list: &str) -> Option<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    for part in list.trim().split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let v = part.trim().parse().ok()?;
                (v, v)
            }
        };
        if a > b {
            return None;
        }
        out.push((a, b));
    }
    Some(out)
}

/// Checks that every entry of the cpuset list `value` is within `online` (both in the
/// kernel's list syntax). `path` names the field in the error, e.g.
/// `linux.resources.cpu.cpus: "9-12" is outside the online CPUs 0-1`.
pub fn check_cpuset(value: &str, online: &str, path: &str, what: &str) -> Result<(), CgroupError> {
    let Some(want) = ranges(value) else {
        return Err(CgroupError::Config(format!(
            "{path}: {value:?} is not a list like \"0-3,7\""
        )));
    };
    // An unreadable online list is not the user's fault: do not check then.
    let Some(have) = ranges(online) else {
        return Ok(());
    };
    // Merge adjacent online ranges ("0-3,4-7" → 0-7), then each wanted range must lie
    // inside one of them (ranges may be huge: "0-4294967295").
    let mut have = have;
    have.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for (a, b) in have {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let covered = want
        .iter()
        .all(|&(a, b)| merged.iter().any(|&(ha, hb)| ha <= a && b <= hb));
    if !covered {
        return Err(CgroupError::Config(format!(
            "{path}: {value:?} is outside the online {what} {online}"
        )));
    }
    Ok(())
}

/// [`from_spec_at`] for a config's `linux.resources` on this machine.
pub fn from_spec(res: &spec::LinuxResources<'_>) -> Result<Resources, CgroupError> {
    from_spec_at(res, "linux.resources", &Online::for_resources(Some(res)))
}

/// Maps every block of `res` (`at` is its JSON path, for errors: `linux.resources` or
/// `resources`) and checks the cpuset against `online`. The spec's own validation
/// (negative limits, malformed lists, bad unified keys) has run already when `res`
/// comes from [`crate::spec::load_file`] or [`crate::spec::parse_resources`]; the
/// checks that repeat it here keep this function safe on its own.
pub fn from_spec_at(
    res: &spec::LinuxResources<'_>,
    at: &str,
    online: &Online,
) -> Result<Resources, CgroupError> {
    let limit = |v: Option<i64>, field: &str| -> Result<Option<i64>, CgroupError> {
        match v {
            Some(n) if n < -1 => Err(CgroupError::Config(format!(
                "{at}.{field}: {n} is negative (-1 means unlimited)"
            ))),
            v => Ok(v),
        }
    };
    let mut out = Resources::default();

    for (i, d) in res.devices.iter().enumerate() {
        let kind = match d.typ.as_str() {
            "" => None,
            t => match t.chars().next() {
                Some(c) if t.len() == 1 && matches!(c, 'a' | 'b' | 'c') => Some(c),
                _ => {
                    return Err(CgroupError::Config(format!(
                        "{at}.devices[{i}].type: unknown device type {t:?} (expected a, c or b)"
                    )))
                }
            },
        };
        let access = spec::device_access(&d.access);
        if access.is_empty() && !d.access.is_empty() {
            return Err(CgroupError::Config(format!(
                "{at}.devices[{i}].access: {:?} has none of r, w and m",
                d.access.as_str()
            )));
        }
        let rule = DeviceRule {
            allow: d.allow,
            kind,
            major: limit(d.major, &format!("devices[{i}].major"))?,
            minor: limit(d.minor, &format!("devices[{i}].minor"))?,
            access: (!access.is_empty()).then_some(access),
        };
        rule.line()
            .map_err(|e| CgroupError::Config(format!("{at}.devices[{i}]: {}", strip_prefix(&e))))?;
        out.devices.push(rule);
    }

    if let Some(m) = &res.memory {
        out.memory = Some(Memory {
            limit: limit(m.limit, "memory.limit")?,
            reservation: limit(m.reservation, "memory.reservation")?,
            swap: limit(m.swap, "memory.swap")?,
            kernel: limit(m.kernel, "memory.kernel")?,
            kernel_tcp: limit(m.kernel_tcp, "memory.kernelTCP")?,
            swappiness: m.swappiness,
            disable_oom_killer: m.disable_oom_killer,
        });
    }

    if let Some(c) = &res.cpu {
        let cpus = (!c.cpus.is_empty()).then(|| c.cpus.to_string());
        let mems = (!c.mems.is_empty()).then(|| c.mems.to_string());
        if let (Some(v), Some(on)) = (&cpus, &online.cpus) {
            check_cpuset(v, on, &format!("{at}.cpu.cpus"), "CPUs")?;
        }
        if let (Some(v), Some(on)) = (&mems, &online.mems) {
            check_cpuset(v, on, &format!("{at}.cpu.mems"), "memory nodes")?;
        }
        if c.idle.is_some_and(|i| i != 0 && i != 1) {
            return Err(CgroupError::Config(format!(
                "{at}.cpu.idle: must be 0 or 1"
            )));
        }
        out.cpu = Some(Cpu {
            shares: c.shares,
            quota: limit(c.quota, "cpu.quota")?,
            burst: c.burst,
            period: c.period,
            realtime_runtime: limit(c.realtime_runtime, "cpu.realtimeRuntime")?,
            realtime_period: c.realtime_period,
            cpus,
            mems,
            idle: c.idle,
        });
    }

    if let Some(p) = &res.pids {
        out.pids = Some(Pids {
            limit: limit(Some(p.limit), "pids.limit")?.unwrap_or(0),
        });
    }

    if let Some(b) = &res.block_io {
        let throttle = |v: &[spec::ThrottleDevice]| {
            v.iter()
                .map(|t| ThrottleDevice {
                    major: t.major,
                    minor: t.minor,
                    rate: t.rate,
                })
                .collect::<Vec<_>>()
        };
        out.block_io = Some(BlockIo {
            weight: b.weight,
            leaf_weight: b.leaf_weight,
            weight_device: b
                .weight_device
                .iter()
                .map(|w| WeightDevice {
                    major: w.major,
                    minor: w.minor,
                    weight: w.weight,
                    leaf_weight: w.leaf_weight,
                })
                .collect(),
            throttle_read_bps_device: throttle(&b.throttle_read_bps_device),
            throttle_write_bps_device: throttle(&b.throttle_write_bps_device),
            throttle_read_iops_device: throttle(&b.throttle_read_iops_device),
            throttle_write_iops_device: throttle(&b.throttle_write_iops_device),
        });
    }

    out.hugepage_limits = res
        .hugepage_limits
        .iter()
        .map(|h| HugepageLimit {
            page_size: h.page_size.to_string(),
            limit: h.limit,
        })
        .collect();

    if let Some(n) = &res.network {
        out.network = Some(Network {
            class_id: n.class_id,
            priorities: n
                .priorities
                .iter()
                .map(|p| (p.name.to_string(), p.priority))
                .collect(),
        });
    }

    out.rdma = res
        .rdma
        .iter()
        .map(|(dev, r)| {
            (
                dev.to_string(),
                RdmaLimit {
                    hca_handles: r.hca_handles,
                    hca_objects: r.hca_objects,
                },
            )
        })
        .collect::<BTreeMap<_, _>>();

    for (k, v) in res.unified.iter() {
        super::resources::check_unified_key(k)
            .map_err(|e| CgroupError::Config(format!("{at}.unified: {}", strip_prefix(&e))))?;
        out.unified.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// The message of a `Config` error without its leading "linux.resources.x: " part.
fn strip_prefix(e: &CgroupError) -> String {
    let m = e.to_string();
    match m.split_once(": ") {
        Some((head, rest)) if head.starts_with("linux.resources") => rest.to_string(),
        _ => m,
    }
}

/// What `create` applies: [`from_spec`] of `linux.resources` (empty when absent), with
/// the device rules of a container (see the module docs): an allow per
/// `linux.devices` entry, the spec's rules, then the default allowed devices.
pub fn for_container(linux: Option<&spec::Linux<'_>>) -> Result<Resources, CgroupError> {
    for_container_with(
        linux,
        &Online::for_resources(linux.and_then(|l| l.resources.as_ref())),
    )
}

/// [`for_container`] with the online lists given (for tests).
pub fn for_container_with(
    linux: Option<&spec::Linux<'_>>,
    online: &Online,
) -> Result<Resources, CgroupError> {
    let mut res = match linux.and_then(|l| l.resources.as_ref()) {
        Some(r) => from_spec_at(r, "linux.resources", online)?,
        None => Resources::default(),
    };
    let mut rules = Vec::new();
    for (i, d) in linux
        .map(|l| l.devices.as_slice())
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let kind = match d.typ.as_str() {
            "c" | "u" => 'c',
            "b" => 'b',
            // fifos are not covered by the device cgroup
            "p" => continue,
            t => {
                return Err(CgroupError::Config(format!(
                    "linux.devices[{i}].type: unknown device type {t:?} (expected c, b, u or p)"
                )))
            }
        };
        let (Some(major), Some(minor)) = (d.major, d.minor) else {
            return Err(CgroupError::Config(format!(
                "linux.devices[{i}]: major and minor are required for type {:?}",
                d.typ.as_str()
            )));
        };
        if major < 0 || minor < 0 {
            return Err(CgroupError::Config(format!(
                "linux.devices[{i}]: negative device number {major}:{minor}"
            )));
        }
        rules.push(DeviceRule {
            allow: true,
            kind: Some(kind),
            major: Some(major),
            minor: Some(minor),
            access: Some("rwm".into()),
        });
    }
    rules.append(&mut res.devices);
    rules.extend(default_device_rules());
    res.devices = rules;
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::resources::{v1_writes, v2_writes};

    fn online() -> Online {
        Online {
            cpus: Some("0-1".into()),
            mems: Some("0".into()),
        }
    }

    fn parse(json: &str) -> Result<Resources, CgroupError> {
        let mut buf = json.as_bytes().to_vec();
        let r = crate::spec::parse_resources(&mut buf).expect("valid resources JSON");
        from_spec_at(&r, "linux.resources", &online())
    }

    fn pairs(r: &Resources) -> Vec<String> {
        v1_writes(r)
            .unwrap()
            .iter()
            .map(|w| w.to_string())
            .collect()
    }

    #[test]
    fn cpuset_ranges() {
        assert!(check_cpuset("0-1", "0-1", "p", "CPUs").is_ok());
        assert!(check_cpuset("1", "0-1", "p", "CPUs").is_ok());
        assert!(check_cpuset("0,1", "0-1", "p", "CPUs").is_ok());
        assert!(check_cpuset("4,6-7", "0-3,4-7", "p", "CPUs").is_ok());
        assert!(check_cpuset("5", "0-3,6-7", "p", "CPUs").is_err());
        assert!(check_cpuset("3-6", "0-3,6-7", "p", "CPUs").is_err());
        assert!(check_cpuset("3-5", "0-3,4-7", "p", "CPUs").is_ok());
        assert!(check_cpuset("0-4294967295", "0-1", "p", "CPUs").is_err());
        let e = check_cpuset("9-12", "0-1", "linux.resources.cpu.cpus", "CPUs")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "linux.resources.cpu.cpus: \"9-12\" is outside the online CPUs 0-1"
        );
        let e = check_cpuset("3-1", "0-7", "x.cpus", "CPUs").unwrap_err();
        assert!(e.to_string().contains("is not a list"), "{e}");
        // unreadable online list: not checked
        assert!(check_cpuset("5", "garbage", "p", "CPUs").is_ok());
    }

    #[test]
    fn every_block_maps() {
        let r = parse(
            r#"{
            "devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}],
            "memory": {"limit": 67108864, "reservation": 1048576, "swap": 134217728,
                       "kernel": -1, "swappiness": 10, "disableOOMKiller": true},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000,
                    "realtimeRuntime": 950000, "realtimePeriod": 1000000,
                    "cpus": "0-1", "mems": "0", "idle": 0},
            "pids": {"limit": 32},
            "blockIO": {"weight": 500, "leafWeight": 300,
                        "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
                        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                        "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2000}],
                        "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 30}],
                        "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 40}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]},
            "rdma": {"mlx5_1": {"hcaHandles": 3}},
            "unified": {"memory.high": "50000000"}
        }"#,
        )
        .unwrap();
        assert_eq!(r.devices.len(), 2);
        assert_eq!(r.devices[1].line().unwrap(), "c 10:200 rw");
        assert!(!r.devices[0].allow);
        let m = r.memory.as_ref().unwrap();
        assert_eq!(
            (m.limit, m.reservation, m.swap, m.kernel),
            (Some(64 << 20), Some(1 << 20), Some(128 << 20), Some(-1))
        );
        assert_eq!((m.swappiness, m.disable_oom_killer), (Some(10), Some(true)));
        let c = r.cpu.as_ref().unwrap();
        assert_eq!(c.shares, Some(512));
        assert_eq!(c.cpus.as_deref(), Some("0-1"));
        assert_eq!(c.mems.as_deref(), Some("0"));
        assert_eq!(c.realtime_runtime, Some(950_000));
        assert_eq!(r.pids.unwrap().limit, 32);
        let b = r.block_io.as_ref().unwrap();
        assert_eq!(b.weight, Some(500));
        assert_eq!(b.weight_device[0].weight, Some(100));
        assert_eq!(b.throttle_write_iops_device[0].rate, 40);
        assert_eq!(r.hugepage_limits[0].page_size, "2MB");
        assert_eq!(
            r.network.as_ref().unwrap().priorities[0],
            ("eth0".into(), 5)
        );
        assert_eq!(r.rdma["mlx5_1"].hca_handles, Some(3));
        assert_eq!(r.unified["memory.high"], "50000000");
        // and it turns into writes for both flavors
        let v1 = pairs(&Resources {
            unified: BTreeMap::new(),
            ..r.clone()
        });
        for want in [
            "devices.deny=a *:* rwm",
            "devices.allow=c 10:200 rw",
            "memory.limit_in_bytes=67108864",
            "cpu.shares=512",
            "pids.max=32",
            "blkio.weight=500",
            "hugetlb.2MB.limit_in_bytes=4194304",
            "net_cls.classid=1048577",
            "rdma.max=mlx5_1 hca_handle=3 hca_object=max",
        ] {
            assert!(v1.iter().any(|p| p == want), "{want} missing from {v1:?}");
        }
        let v2: Vec<String> = v2_writes(&Resources {
            cpu: Some(Cpu {
                realtime_runtime: None,
                realtime_period: None,
                ..c.clone()
            }),
            ..r.clone()
        })
        .unwrap()
        .iter()
        .map(|w| w.to_string())
        .collect();
        for want in [
            "cpu.weight=20",
            "memory.max=67108864",
            "memory.high=50000000",
        ] {
            assert!(v2.iter().any(|p| p == want), "{want} missing from {v2:?}");
        }
    }

    #[test]
    fn empty_and_absent_blocks() {
        let r = parse("{}").unwrap();
        assert_eq!(r, Resources::default());
        let r = parse(r#"{"pids": {"limit": -1}}"#).unwrap();
        assert_eq!(pairs(&r), ["pids.max=max"]);
    }

    #[test]
    fn cpuset_outside_online_is_refused_with_its_path() {
        let mut buf = br#"{"cpu": {"cpus": "9-12"}}"#.to_vec();
        let r = crate::spec::parse_resources(&mut buf).unwrap();
        let e = from_spec_at(&r, "linux.resources", &online()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.resources.cpu.cpus: \"9-12\" is outside the online CPUs 0-1"
        );
        let e = from_spec_at(&r, "resources", &online()).unwrap_err();
        assert!(e.to_string().starts_with("resources.cpu.cpus: "), "{e}");
        let mut buf = br#"{"cpu": {"mems": "1"}}"#.to_vec();
        let r = crate::spec::parse_resources(&mut buf).unwrap();
        let e = from_spec_at(&r, "linux.resources", &online()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.resources.cpu.mems: \"1\" is outside the online memory nodes 0"
        );
        // unknown online lists: not checked
        assert!(from_spec_at(&r, "linux.resources", &Online::default()).is_ok());
    }

    #[test]
    fn negative_limits_are_refused_even_unvalidated() {
        let res = spec::LinuxResources {
            memory: Some(spec::Memory {
                limit: Some(-5),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = from_spec_at(&res, "linux.resources", &online()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "linux.resources.memory.limit: -5 is negative (-1 means unlimited)"
        );
        let res = spec::LinuxResources {
            pids: Some(spec::Pids { limit: -2 }),
            ..Default::default()
        };
        assert!(from_spec_at(&res, "x", &online())
            .unwrap_err()
            .to_string()
            .starts_with("x.pids.limit: -2"));
    }

    fn linux_json(json: &str) -> Resources {
        let mut buf = format!(r#"{{"ociVersion": "1.0.2", "linux": {json}}}"#).into_bytes();
        let c = crate::spec::parse(&mut buf).expect("valid config");
        for_container_with(c.linux.as_ref(), &online()).unwrap()
    }

    #[test]
    fn container_device_rules_follow_runc() {
        let r = linux_json(
            r#"{"resources": {"devices": [{"allow": false, "access": "rwm"}]},
                "devices": [{"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229},
                            {"type": "u", "path": "/dev/x", "major": 7, "minor": 1},
                            {"type": "p", "path": "/dev/fifo"}]}"#,
        );
        let lines: Vec<String> = r
            .devices
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    if d.allow { "allow" } else { "deny" },
                    d.line().unwrap()
                )
            })
            .collect();
        let defaults = default_device_rules().len();
        assert_eq!(lines.len(), 2 + 1 + defaults);
        // linux.devices first, so that the spec's rules decide over them
        assert_eq!(lines[0], "allow c 10:229 rwm");
        assert_eq!(lines[1], "allow c 7:1 rwm");
        // the spec's deny-all next, so that the defaults after it take effect
        assert_eq!(lines[2], "deny a *:* rwm");
        assert_eq!(lines[3], "allow c *:* m");
        assert!(lines.contains(&"allow c 1:3 rwm".to_string()));
        // The eBPF program (v2) decides as the v1 lists: /dev/fuse denied, the
        // defaults allowed.
        let prog = crate::cgroups::devices::compile(&r.devices).unwrap();
        let eval = crate::cgroups::devices::tests::eval;
        use crate::cgroups::devices::{ACC_READ, ACC_WRITE, DEV_CHAR};
        let (chr, rw) = (DEV_CHAR, ACC_READ | ACC_WRITE);
        assert_eq!(
            eval(&prog, chr, 10, 229, rw),
            0,
            "linux.devices entry under deny-all"
        );
        assert_eq!(eval(&prog, chr, 1, 3, rw), 1, "/dev/null");
        // without resources: the defaults alone
        let r = linux_json("{}");
        assert_eq!(r.devices, default_device_rules());
        assert!(r.memory.is_none() && r.cpu.is_none());
        // no linux section at all
        let r = for_container_with(None, &online()).unwrap();
        assert_eq!(r.devices, default_device_rules());
    }

    #[test]
    fn container_resources_keep_limits() {
        let r =
            linux_json(r#"{"resources": {"memory": {"limit": 1048576}, "pids": {"limit": 5}}}"#);
        assert_eq!(r.memory.unwrap().limit, Some(1 << 20));
        assert_eq!(r.pids.unwrap().limit, 5);
    }
}
