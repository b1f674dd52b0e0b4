//! Rules for `linux` (resources and seccomp have their own files).

use super::{absolute, err, id_mappings, known, no_nul, resources, seccomp, Result};
use crate::spec::linux::Linux;
use crate::spec::names::{
    namespace_flag, sysctl_dotted, sysctl_namespace, sysctl_rel_path, MEMORY_POLICY_FLAGS,
    MEMORY_POLICY_MODES, PERSONALITY_DOMAINS, ROOTFS_PROPAGATIONS, TIME_CLOCKS,
};

pub(super) fn linux(l: &Linux<'_>) -> Result {
    namespaces(l)?;
    id_mappings(&l.uid_mappings, "linux.uidMappings")?;
    id_mappings(&l.gid_mappings, "linux.gidMappings")?;
    match l.namespace("user") {
        Some(ns) if ns.path.is_empty() => {
            for (name, maps) in [
                ("uidMappings", &l.uid_mappings),
                ("gidMappings", &l.gid_mappings),
            ] {
                if maps.is_empty() {
                    return Err(err(
                        format!("linux.{name}"),
                        "required when a new user namespace is created",
                    ));
                }
            }
        }
        Some(_) => {}
        None => {
            if !l.uid_mappings.is_empty() || !l.gid_mappings.is_empty() {
                let name = if l.uid_mappings.is_empty() {
                    "gidMappings"
                } else {
                    "uidMappings"
                };
                return Err(err(
                    format!("linux.{name}"),
                    "given without a user namespace",
                ));
            }
        }
    }
    for (clock, offset) in l.time_offsets.iter() {
        known(clock, &TIME_CLOCKS, "clock", || {
            format!("linux.timeOffsets.{clock}")
        })?;
        if offset.nanosecs >= 1_000_000_000 {
            return Err(err(
                format!("linux.timeOffsets.{clock}.nanosecs"),
                "must be less than 1000000000",
            ));
        }
    }
    if !l.time_offsets.is_empty() && l.namespace("time").is_none() {
        return Err(err("linux.timeOffsets", "given without a time namespace"));
    }
    for (i, d) in l.devices.iter().enumerate() {
        let at = |field: &str| format!("linux.devices[{i}].{field}");
        if !matches!(d.typ.as_str(), "c" | "b" | "u" | "p") {
            return Err(err(
                at("type"),
                format!(
                    "unknown device type {:?} (expected c, b, u or p)",
                    d.typ.as_str()
                ),
            ));
        }
        absolute(&d.path, || at("path"))?;
        // Lexically, as the plan resolves it (`..` never climbs above the root).
        let depth = std::path::Path::new(d.path.as_str())
            .components()
            .fold(0usize, |depth, c| match c {
                std::path::Component::Normal(_) => depth + 1,
                std::path::Component::ParentDir => depth.saturating_sub(1),
                _ => depth,
            });
        if depth == 0 {
            return Err(err(
                at("path"),
                format!(
                    "{:?} names the container's root, not a device",
                    d.path.as_str()
                ),
            ));
        }
        for (field, v) in [("major", d.major), ("minor", d.minor)] {
            match v {
                None if d.typ != "p" => {
                    return Err(err(
                        at(field),
                        format!("required for type {:?}", d.typ.as_str()),
                    ))
                }
                None => {}
                Some(n) if n < 0 => return Err(err(at(field), "must not be negative")),
                Some(n) if n > i64::from(u32::MAX) => {
                    return Err(err(at(field), "must be at most 4294967295"))
                }
                Some(_) => {}
            }
        }
    }
    no_nul(&l.cgroups_path, || "linux.cgroupsPath".into())?;
    if l.cgroups_path.split(['/', ':']).any(|c| c == "..") {
        return Err(err(
            "linux.cgroupsPath",
            "must not contain \"..\" components",
        ));
    }
    if let Some(r) = &l.resources {
        resources(r, "linux.resources")?;
    }
    if !l.rootfs_propagation.is_empty() {
        known(
            &l.rootfs_propagation,
            &ROOTFS_PROPAGATIONS,
            "propagation",
            || "linux.rootfsPropagation".into(),
        )?;
    }
    if let Some(s) = &l.seccomp {
        seccomp::seccomp(s)?;
    }
    for (name, _) in l.sysctl.iter() {
        sysctl(l, name)?;
    }
    for (field, paths) in [
        ("maskedPaths", &l.masked_paths),
        ("readonlyPaths", &l.readonly_paths),
    ] {
        for (i, p) in paths.iter().enumerate() {
            absolute(p, || format!("linux.{field}[{i}]"))?;
        }
        // runc: masks would have to be made in the host's mount namespace.
        if !paths.is_empty() && l.namespace("mount").is_none() {
            return Err(err(
                format!("linux.{field}"),
                "unable to restrict paths without a mount namespace of the container's own",
            ));
        }
    }
    if let Some(p) = &l.personality {
        known(
            &p.domain,
            &PERSONALITY_DOMAINS,
            "personality domain",
            || "linux.personality.domain".into(),
        )?;
        if let Some(f) = p.flags.first() {
            return Err(err(
                "linux.personality.flags[0]",
                format!("unknown flag {:?} (none are defined)", f.as_str()),
            ));
        }
    }
    if let Some(rdt) = &l.intel_rdt {
        let mb = &rdt.mem_bw_schema;
        if !mb.is_empty() && (!mb.starts_with("MB:") || mb.contains('\n')) {
            return Err(err(
                "linux.intelRdt.memBwSchema",
                "must start with \"MB:\" and be one line",
            ));
        }
    }
    if let Some(mp) = &l.memory_policy {
        known(&mp.mode, &MEMORY_POLICY_MODES, "memory policy mode", || {
            "linux.memoryPolicy.mode".into()
        })?;
        for (i, f) in mp.flags.iter().enumerate() {
            known(f, &MEMORY_POLICY_FLAGS, "memory policy flag", || {
                format!("linux.memoryPolicy.flags[{i}]")
            })?;
        }
    }
    for (name, dev) in l.net_devices.iter() {
        for (path, n) in [
            (format!("linux.netDevices.{name}"), name.as_str()),
            (format!("linux.netDevices.{name}.name"), dev.name.as_str()),
        ] {
            if n.contains(['/', '\0']) || n.contains(char::is_whitespace) || n == "." || n == ".." {
                return Err(err(path, format!("{n:?} is not an interface name")));
            }
        }
        if name.is_empty() {
            return Err(err("linux.netDevices", "an interface name is empty"));
        }
    }
    if !l.net_devices.is_empty() && l.namespace("network").is_none() {
        return Err(err("linux.netDevices", "given without a network namespace"));
    }
    Ok(())
}

/// A sysctl is written only into a namespace of the container's own (runc's
/// rules); host-wide ones are refused. Whether a joined namespace (by path) is
/// the host's own is checked at create (`plan::check_sysctl_namespaces`).
fn sysctl(l: &Linux<'_>, name: &str) -> Result {
    if name.is_empty() {
        return Err(err("linux.sysctl", "a name is empty"));
    }
    let at = || format!("linux.sysctl[{name:?}]");
    no_nul(name, at)?;
    if sysctl_rel_path(name).is_none() {
        return Err(err(at(), "invalid name: an empty, \".\" or \"..\" part"));
    }
    let dotted = sysctl_dotted(name);
    if dotted == "kernel.hostname" {
        return Err(err(
            at(),
            "not allowed: it conflicts with the \"hostname\" field (set that instead)",
        ));
    }
    match sysctl_namespace(&dotted) {
        None => Err(err(
            at(),
            "not in a namespace of the container's own: it would change the host",
        )),
        Some(ns) if l.namespace(ns).is_none() => Err(err(
            at(),
            format!(
                "needs a {ns} namespace of the container's own (linux.namespaces): \
                 without one it would change the host's"
            ),
        )),
        Some(_) => Ok(()),
    }
}

fn namespaces(l: &Linux<'_>) -> Result {
    for (i, ns) in l.namespaces.iter().enumerate() {
        if namespace_flag(&ns.typ).is_none() {
            return Err(err(
                format!("linux.namespaces[{i}].type"),
                format!("unknown namespace {:?}", ns.typ.as_str()),
            ));
        }
        if l.namespaces[..i].iter().any(|o| o.typ == ns.typ) {
            return Err(err(
                format!("linux.namespaces[{i}].type"),
                format!("duplicate namespace {:?}", ns.typ.as_str()),
            ));
        }
        if !ns.path.is_empty() {
            absolute(&ns.path, || format!("linux.namespaces[{i}].path"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{base, invalid, s};
    use crate::spec::{
        Config, Device, IdMapping, IntelRdt, Linux, MemoryPolicy, Namespace, NetDevice,
        Personality, TimeOffset,
    };

    fn l<'c>(c: &'c mut Config<'static>) -> &'c mut Linux<'static> {
        c.linux.as_mut().unwrap()
    }
    fn ns(t: &'static str, p: &'static str) -> Namespace<'static> {
        Namespace {
            typ: s(t),
            path: s(p),
        }
    }

    #[test]
    fn namespace_types_known_unique_absolute() {
        assert_eq!(
            invalid(|c| l(c).namespaces[2].typ = s("pidd")),
            "linux.namespaces[2].type: unknown namespace \"pidd\""
        );
        assert_eq!(
            invalid(|c| l(c).namespaces.push(ns("pid", ""))),
            "linux.namespaces[5].type: duplicate namespace \"pid\""
        );
        assert_eq!(
            invalid(|c| l(c).namespaces[1].path = s("run/netns/x")),
            "linux.namespaces[1].path: must be absolute, not \"run/netns/x\""
        );
    }

    #[test]
    fn user_namespace_needs_mappings() {
        let m = IdMapping {
            container_id: 0,
            host_id: 1000,
            size: 1,
        };
        assert_eq!(
            invalid(|c| l(c).namespaces.push(ns("user", ""))),
            "linux.uidMappings: required when a new user namespace is created"
        );
        assert_eq!(
            invalid(|c| {
                l(c).namespaces.push(ns("user", ""));
                l(c).uid_mappings = vec![m];
            }),
            "linux.gidMappings: required when a new user namespace is created"
        );
        assert_eq!(
            invalid(|c| l(c).gid_mappings = vec![m]),
            "linux.gidMappings: given without a user namespace"
        );
        let mut c = super::super::tests::base();
        l(&mut c).namespaces.push(ns("user", "/proc/1/ns/user"));
        c.validate().unwrap();
    }

    #[test]
    fn mappings_valid() {
        assert_eq!(
            invalid(|c| {
                l(c).namespaces.push(ns("user", ""));
                l(c).uid_mappings = vec![IdMapping {
                    container_id: 0,
                    host_id: 1000,
                    size: 0,
                }];
            }),
            "linux.uidMappings[0].size: must be greater than 0"
        );
    }

    #[test]
    fn time_offsets_clocks() {
        let off = TimeOffset {
            secs: 1,
            nanosecs: 0,
        };
        assert_eq!(
            invalid(|c| {
                l(c).namespaces.push(ns("time", ""));
                l(c).time_offsets.push("realtime", off);
            }),
            "linux.timeOffsets.realtime: unknown clock \"realtime\""
        );
        assert_eq!(
            invalid(|c| l(c).time_offsets.push("boottime", off)),
            "linux.timeOffsets: given without a time namespace"
        );
        assert_eq!(
            invalid(|c| {
                l(c).namespaces.push(ns("time", ""));
                l(c).time_offsets.push(
                    "monotonic",
                    TimeOffset {
                        secs: 0,
                        nanosecs: 1_000_000_000,
                    },
                );
            }),
            "linux.timeOffsets.monotonic.nanosecs: must be less than 1000000000"
        );
    }

    #[test]
    fn devices_type_and_numbers() {
        let dev = |t, major, minor| Device {
            typ: s(t),
            path: s("/dev/fuse"),
            major,
            minor,
            ..Device::default()
        };
        assert_eq!(
            invalid(|c| l(c).devices = vec![dev("x", Some(1), Some(1))]),
            "linux.devices[0].type: unknown device type \"x\" (expected c, b, u or p)"
        );
        assert_eq!(
            invalid(|c| l(c).devices = vec![dev("c", None, Some(1))]),
            "linux.devices[0].major: required for type \"c\""
        );
        assert_eq!(
            invalid(|c| l(c).devices = vec![dev("b", Some(8), None)]),
            "linux.devices[0].minor: required for type \"b\""
        );
        assert_eq!(
            invalid(|c| l(c).devices = vec![dev("c", Some(-1), Some(0))]),
            "linux.devices[0].major: must not be negative"
        );
        assert_eq!(
            invalid(|c| l(c).devices = vec![Device {
                path: s("dev/x"),
                ..dev("p", None, None)
            }]),
            "linux.devices[0].path: must be absolute, not \"dev/x\""
        );
        for root in ["/", "//", "/.", "/..", "/dev/.."] {
            assert_eq!(
                invalid(|c| l(c).devices = vec![Device {
                    path: s(root),
                    ..dev("p", None, None)
                }]),
                format!("linux.devices[0].path: {root:?} names the container's root, not a device")
            );
        }
        let mut c = super::super::tests::base();
        l(&mut c).devices = vec![dev("p", None, None)];
        c.validate().unwrap();
    }

    #[test]
    fn cgroups_path_no_dotdot() {
        assert_eq!(
            invalid(|c| l(c).cgroups_path = s("/a/../../b")),
            "linux.cgroupsPath: must not contain \"..\" components"
        );
        assert_eq!(
            invalid(|c| l(c).cgroups_path = s("system.slice:..:x")),
            "linux.cgroupsPath: must not contain \"..\" components"
        );
        let mut c = super::super::tests::base();
        l(&mut c).cgroups_path = s("/a/..b/c");
        c.validate().unwrap();
    }

    #[test]
    fn rootfs_propagation_known() {
        assert_eq!(
            invalid(|c| l(c).rootfs_propagation = s("rshare")),
            "linux.rootfsPropagation: unknown propagation \"rshare\""
        );
        for ok in crate::spec::ROOTFS_PROPAGATIONS {
            let mut c = super::super::tests::base();
            l(&mut c).rootfs_propagation = s(ok);
            c.validate().unwrap();
        }
    }

    #[test]
    fn sysctl_names_not_empty() {
        assert_eq!(
            invalid(|c| l(c).sysctl.push("", s("1"))),
            "linux.sysctl: a name is empty"
        );
    }

    #[test]
    fn sysctls_only_in_the_containers_own_namespaces() {
        let set = |c: &mut Config<'static>, name: &'static str| l(c).sysctl.push(name, s("1"));
        let drop_ns = |c: &mut Config<'static>, t: &str| {
            l(c).namespaces.retain(|n| n.typ != t);
            c.hostname = s("");
        };
        // The base config has pid, network, ipc, uts and mount namespaces.
        for ok in [
            "net.ipv4.ip_forward",
            "net.ipv4.ping_group_range",
            "net/ipv4/conf/eth0.100/rp_filter",
            "kernel.msgmax",
            "kernel.shm_rmid_forced",
            "fs.mqueue.queues_max",
            "kernel.domainname",
        ] {
            let mut c = base();
            set(&mut c, ok);
            c.validate().unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (name, why) in [
            (
                "kernel.core_pattern",
                "not in a namespace of the container's own",
            ),
            (
                "kernel/core_pattern",
                "not in a namespace of the container's own",
            ),
            (
                "vm.drop_caches",
                "not in a namespace of the container's own",
            ),
            ("kernel.hostname", "conflicts with the \"hostname\" field"),
            ("net.ipv4..ip_forward", "invalid name"),
            ("net/../kernel/core_pattern", "invalid name"),
            ("net.ipv4.ip_forward.", "invalid name"),
        ] {
            let e = invalid(|c| set(c, name));
            assert!(e.starts_with(&format!("linux.sysctl[{name:?}]: ")), "{e}");
            assert!(e.contains(why), "{name}: {e}");
        }
        for (name, ns) in [
            ("net.ipv4.ip_forward", "network"),
            ("kernel.msgmax", "ipc"),
            ("fs.mqueue.queues_max", "ipc"),
            ("kernel.domainname", "uts"),
        ] {
            let e = invalid(|c| {
                set(c, name);
                drop_ns(c, ns);
            });
            assert!(e.contains(&format!("needs a {ns} namespace")), "{e}");
        }
    }

    #[test]
    fn masked_and_readonly_paths_absolute() {
        assert_eq!(
            invalid(|c| l(c).masked_paths[3] = s("proc/keys")),
            "linux.maskedPaths[3]: must be absolute, not \"proc/keys\""
        );
        assert_eq!(
            invalid(|c| l(c).readonly_paths.push(s("sys"))),
            "linux.readonlyPaths[5]: must be absolute, not \"sys\""
        );
    }

    #[test]
    fn personality_domain_known() {
        assert_eq!(
            invalid(|c| l(c).personality = Some(Personality {
                domain: s("LINUX64"),
                flags: vec![]
            })),
            "linux.personality.domain: unknown personality domain \"LINUX64\""
        );
    }

    #[test]
    fn intel_rdt_mem_bw_schema() {
        assert_eq!(
            invalid(|c| l(c).intel_rdt = Some(IntelRdt {
                mem_bw_schema: s("L3:0=20"),
                ..IntelRdt::default()
            })),
            "linux.intelRdt.memBwSchema: must start with \"MB:\" and be one line"
        );
    }

    #[test]
    fn memory_policy_known() {
        let mp = |mode, flags| {
            Some(MemoryPolicy {
                mode: s(mode),
                nodes: s("0"),
                flags,
            })
        };
        assert_eq!(
            invalid(|c| l(c).memory_policy = mp("MPOL_X", vec![])),
            "linux.memoryPolicy.mode: unknown memory policy mode \"MPOL_X\""
        );
        assert_eq!(
            invalid(|c| l(c).memory_policy = mp("MPOL_BIND", vec![s("MPOL_F_X")])),
            "linux.memoryPolicy.flags[0]: unknown memory policy flag \"MPOL_F_X\""
        );
    }

    #[test]
    fn net_devices_names() {
        assert_eq!(
            invalid(|c| l(c).net_devices.push("eth0", NetDevice { name: s("../x") })),
            "linux.netDevices.eth0.name: \"../x\" is not an interface name"
        );
        assert_eq!(
            invalid(|c| {
                l(c).namespaces.retain(|n| n.typ != "network");
                l(c).net_devices.push("eth0", NetDevice::default());
            }),
            "linux.netDevices: given without a network namespace"
        );
    }
}
