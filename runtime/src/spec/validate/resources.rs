//! Rules for `linux.resources` (also the `update --resources` file). `at` is the
//! path of the resources object (`linux.resources` or `resources`).

use super::{err, Result};
use crate::spec::resources::LinuxResources;

/// `-1` (unlimited) or a non-negative value.
fn limit(v: Option<i64>, path: impl FnOnce() -> String) -> Result {
    match v {
        Some(n) if n < -1 => Err(err(path(), format!("{n} is negative (-1 means unlimited)"))),
        _ => Ok(()),
    }
}

/// A cpuset list: `0-3,7`.
fn cpu_list(v: &str) -> bool {
    v.split(',').all(|part| {
        let mut ends = part.splitn(2, '-');
        ends.all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A hugepage size: `2MB`, `64KB`, `1GB`.
fn page_size(v: &str) -> bool {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(&v[digits..], "KB" | "MB" | "GB" | "TB" | "PB")
}

pub(crate) fn resources(r: &LinuxResources<'_>, at: &str) -> Result {
    for (i, d) in r.devices.iter().enumerate() {
        let path = |f: &str| format!("{at}.devices[{i}].{f}");
        if !matches!(d.typ.as_str(), "" | "a" | "c" | "b") {
            return Err(err(
                path("type"),
                format!(
                    "unknown device type {:?} (expected a, c or b)",
                    d.typ.as_str()
                ),
            ));
        }
        // Letters other than r, w and m are ignored (runc); a rule must keep one.
        if !d.access.is_empty() && crate::spec::device_access(&d.access).is_empty() {
            return Err(err(
                path("access"),
                format!("{:?} has none of r, w and m", d.access.as_str()),
            ));
        }
        limit(d.major, || path("major"))?;
        limit(d.minor, || path("minor"))?;
    }
    if let Some(m) = &r.memory {
        let fields = [
            ("limit", m.limit),
            ("reservation", m.reservation),
            ("swap", m.swap),
            ("kernel", m.kernel),
            ("kernelTCP", m.kernel_tcp),
        ];
        for (name, v) in fields {
            limit(v, || format!("{at}.memory.{name}"))?;
        }
        if let (Some(swap), Some(lim)) = (m.swap, m.limit) {
            if swap > 0 && lim > 0 && swap < lim {
                return Err(err(
                    format!("{at}.memory.swap"),
                    "memory+swap limit must not be below the memory limit",
                ));
            }
        }
        if let Some(sw) = m.swappiness {
            if sw > 100 {
                return Err(err(
                    format!("{at}.memory.swappiness"),
                    format!("{sw} is outside 0..100"),
                ));
            }
        }
    }
    if let Some(c) = &r.cpu {
        limit(c.quota, || format!("{at}.cpu.quota"))?;
        limit(c.realtime_runtime, || format!("{at}.cpu.realtimeRuntime"))?;
        if let (Some(burst), Some(quota)) = (c.burst, c.quota) {
            if quota > 0 && burst > quota.unsigned_abs() {
                return Err(err(format!("{at}.cpu.burst"), "must not exceed quota"));
            }
        }
        if c.idle.is_some_and(|i| i != 0 && i != 1) {
            return Err(err(format!("{at}.cpu.idle"), "must be 0 or 1"));
        }
        for (name, v) in [("cpus", &c.cpus), ("mems", &c.mems)] {
            if !v.is_empty() && !cpu_list(v) {
                return Err(err(
                    format!("{at}.cpu.{name}"),
                    format!("{:?} is not a list like \"0-3,7\"", v.as_str()),
                ));
            }
        }
    }
    if let Some(p) = &r.pids {
        limit(Some(p.limit), || format!("{at}.pids.limit"))?;
    }
    if let Some(b) = &r.block_io {
        for (i, w) in b.weight_device.iter().enumerate() {
            if w.weight.is_none() && w.leaf_weight.is_none() {
                return Err(err(
                    format!("{at}.blockIO.weightDevice[{i}]"),
                    "needs weight or leafWeight",
                ));
            }
        }
    }
    for (i, h) in r.hugepage_limits.iter().enumerate() {
        if !page_size(&h.page_size) {
            return Err(err(
                format!("{at}.hugepageLimits[{i}].pageSize"),
                format!("{:?} is not a size like \"2MB\"", h.page_size.as_str()),
            ));
        }
    }
    if let Some(n) = &r.network {
        for (i, p) in n.priorities.iter().enumerate() {
            if p.name.is_empty() || p.name.contains(['/', '\0']) {
                return Err(err(
                    format!("{at}.network.priorities[{i}].name"),
                    "must be an interface name",
                ));
            }
        }
    }
    for (dev, rdma) in r.rdma.iter() {
        if rdma.hca_handles.is_none() && rdma.hca_objects.is_none() {
            return Err(err(
                format!("{at}.rdma.{dev}"),
                "needs hcaHandles or hcaObjects",
            ));
        }
    }
    for (file, _) in r.unified.iter() {
        if file.is_empty()
            || file.contains(['/', '\0'])
            || file.as_str() == "."
            || file.as_str() == ".."
        {
            return Err(err(
                format!("{at}.unified"),
                format!("{:?} is not a cgroup file name", file.as_str()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{invalid, s};
    use crate::spec::{
        BlockIo, Config, Cpu, HugepageLimit, LinuxResources, Memory, Pids, Rdma, WeightDevice,
    };

    fn r<'c>(c: &'c mut Config<'static>) -> &'c mut LinuxResources<'static> {
        c.linux
            .as_mut()
            .unwrap()
            .resources
            .get_or_insert_with(LinuxResources::default)
    }

    #[test]
    fn device_rules() {
        assert_eq!(
            invalid(|c| r(c).devices[0].typ = s("x")),
            "linux.resources.devices[0].type: unknown device type \"x\" (expected a, c or b)"
        );
        assert_eq!(
            invalid(|c| r(c).devices[0].access = s("xa")),
            "linux.resources.devices[0].access: \"xa\" has none of r, w and m"
        );
    }

    #[test]
    fn memory_not_negative() {
        assert_eq!(
            invalid(|c| r(c).memory = Some(Memory {
                limit: Some(-2),
                ..Memory::default()
            })),
            "linux.resources.memory.limit: -2 is negative (-1 means unlimited)"
        );
        assert_eq!(
            invalid(|c| r(c).memory = Some(Memory {
                kernel_tcp: Some(-5),
                ..Memory::default()
            })),
            "linux.resources.memory.kernelTCP: -5 is negative (-1 means unlimited)"
        );
        assert_eq!(
            invalid(|c| r(c).memory = Some(Memory {
                swappiness: Some(101),
                ..Memory::default()
            })),
            "linux.resources.memory.swappiness: 101 is outside 0..100"
        );
        assert_eq!(
            invalid(|c| r(c).memory = Some(Memory {
                limit: Some(100),
                swap: Some(50),
                ..Memory::default()
            })),
            "linux.resources.memory.swap: memory+swap limit must not be below the memory limit"
        );
        let mut c = super::super::tests::base();
        r(&mut c).memory = Some(Memory {
            limit: Some(-1),
            swap: Some(-1),
            ..Memory::default()
        });
        c.validate().unwrap();
    }

    #[test]
    fn cpu_rules() {
        let cpu = |f: fn(&mut Cpu<'static>)| {
            move |c: &mut Config<'static>| {
                let mut cpu = Cpu::default();
                f(&mut cpu);
                r(c).cpu = Some(cpu);
            }
        };
        assert_eq!(
            invalid(cpu(|c| c.quota = Some(-3))),
            "linux.resources.cpu.quota: -3 is negative (-1 means unlimited)"
        );
        assert_eq!(
            invalid(cpu(|c| c.realtime_runtime = Some(-3))),
            "linux.resources.cpu.realtimeRuntime: -3 is negative (-1 means unlimited)"
        );
        assert_eq!(
            invalid(cpu(|c| {
                c.quota = Some(1000);
                c.burst = Some(2000);
            })),
            "linux.resources.cpu.burst: must not exceed quota"
        );
        assert_eq!(
            invalid(cpu(|c| c.idle = Some(2))),
            "linux.resources.cpu.idle: must be 0 or 1"
        );
        assert_eq!(
            invalid(cpu(|c| c.cpus = s("0-"))),
            "linux.resources.cpu.cpus: \"0-\" is not a list like \"0-3,7\""
        );
        assert!(super::cpu_list("0-3,7") && super::cpu_list("1"));
    }

    #[test]
    fn pids_not_negative() {
        assert_eq!(
            invalid(|c| r(c).pids = Some(Pids { limit: -2 })),
            "linux.resources.pids.limit: -2 is negative (-1 means unlimited)"
        );
    }

    #[test]
    fn block_io_weight_device_needs_a_weight() {
        assert_eq!(
            invalid(|c| r(c).block_io = Some(BlockIo {
                weight_device: vec![WeightDevice {
                    major: 8,
                    minor: 0,
                    weight: None,
                    leaf_weight: None
                }],
                ..BlockIo::default()
            })),
            "linux.resources.blockIO.weightDevice[0]: needs weight or leafWeight"
        );
    }

    #[test]
    fn hugepage_size_format() {
        assert_eq!(
            invalid(|c| r(c).hugepage_limits = vec![HugepageLimit {
                page_size: s("2M"),
                limit: 1
            }]),
            "linux.resources.hugepageLimits[0].pageSize: \"2M\" is not a size like \"2MB\""
        );
    }

    #[test]
    fn rdma_needs_a_limit() {
        assert_eq!(
            invalid(|c| r(c).rdma.push("mlx5_1", Rdma::default())),
            "linux.resources.rdma.mlx5_1: needs hcaHandles or hcaObjects"
        );
    }

    #[test]
    fn unified_keys_are_file_names() {
        assert_eq!(
            invalid(|c| r(c).unified.push("../cgroup.procs", s("1"))),
            "linux.resources.unified: \"../cgroup.procs\" is not a cgroup file name"
        );
    }

    #[test]
    fn parse_resources_validates_with_its_root() {
        let mut buf = br#"{"pids":{"limit":-5}}"#.to_vec();
        let e = crate::spec::parse_resources(&mut buf).unwrap_err();
        assert_eq!(
            e.to_string(),
            "resources.pids.limit: -5 is negative (-1 means unlimited)"
        );
        let mut buf = br#"{"memory":{"limit":1048576},"cpu":{"shares":512}}"#.to_vec();
        let res = crate::spec::parse_resources(&mut buf).unwrap();
        assert_eq!(res.memory.unwrap().limit, Some(1048576));
    }
}
