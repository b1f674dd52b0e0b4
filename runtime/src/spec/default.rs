//! The default config that `fastrun spec` writes: runc's (`runc spec`, and
//! `runc spec --rootless`), with `ociVersion` "1.0.2" (crun 1.8.1 accepts only
//! 1.0.x; runc writes "1.0.2-dev").

use super::linux::{Linux, Namespace};
use super::resources::{DeviceCgroup, LinuxResources};
use super::str::Str;
use super::types::{Capabilities, Config, IdMapping, Mount, Process, Rlimit, Root, User};

const VERSION: &str = "1.0.2";

fn strs(v: &[&'static str]) -> Vec<Str<'static>> {
    v.iter().map(|s| Str::borrowed(s)).collect()
}

fn mount(
    dest: &'static str,
    typ: &'static str,
    src: &'static str,
    opts: &[&'static str],
) -> Mount<'static> {
    Mount {
        destination: Str::borrowed(dest),
        typ: Str::borrowed(typ),
        source: Str::borrowed(src),
        options: strs(opts),
        ..Mount::default()
    }
}

/// runc's default config; `rootless` as `runc spec --rootless`, mapping root in
/// the container to the current effective uid and gid (read from
/// `/proc/self/status`, 0 if unreadable).
pub fn default_config(rootless: bool) -> Config<'static> {
    let (uid, gid) = if rootless { effective_ids() } else { (0, 0) };
    default_config_with_ids(rootless, uid, gid)
}

/// [`default_config`] with the host ids that root maps to when `rootless`.
pub fn default_config_with_ids(rootless: bool, host_uid: u32, host_gid: u32) -> Config<'static> {
    let caps = strs(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let process = Process {
        terminal: true,
        user: User::default(),
        args: strs(&["sh"]),
        env: strs(&[
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
        ]),
        cwd: Str::borrowed("/"),
        capabilities: Some(Capabilities {
            bounding: caps.clone(),
            effective: caps.clone(),
            inheritable: Vec::new(),
            permitted: caps.clone(),
            ambient: caps,
        }),
        rlimits: vec![Rlimit {
            typ: Str::borrowed("RLIMIT_NOFILE"),
            hard: 1024,
            soft: 1024,
        }],
        no_new_privileges: true,
        ..Process::default()
    };
    let devpts: &[&str] = if rootless {
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
        ]
    } else {
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]
    };
    let sys = if rootless {
        mount(
            "/sys",
            "none",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        )
    } else {
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )
    };
    let mounts = vec![
        mount("/proc", "proc", "proc", &[]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount("/dev/pts", "devpts", "devpts", devpts),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        sys,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ];
    let ns_types: &[&'static str] = if rootless {
        &["pid", "ipc", "uts", "mount", "user"]
    } else {
        &["pid", "network", "ipc", "uts", "mount"]
    };
    let map = |host_id| {
        vec![IdMapping {
            container_id: 0,
            host_id,
            size: 1,
        }]
    };
    let linux = Linux {
        uid_mappings: if rootless { map(host_uid) } else { Vec::new() },
        gid_mappings: if rootless { map(host_gid) } else { Vec::new() },
        resources: (!rootless).then(|| LinuxResources {
            devices: vec![DeviceCgroup {
                allow: false,
                access: Str::borrowed("rwm"),
                ..DeviceCgroup::default()
            }],
            ..LinuxResources::default()
        }),
        namespaces: ns_types
            .iter()
            .map(|t| Namespace {
                typ: Str::borrowed(t),
                path: Str::default(),
            })
            .collect(),
        masked_paths: strs(&[
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
        ]),
        readonly_paths: strs(&[
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger",
        ]),
        ..Linux::default()
    };
    Config {
        oci_version: Str::borrowed(VERSION),
        process: Some(process),
        root: Some(Root {
            path: Str::borrowed("rootfs"),
            readonly: true,
        }),
        hostname: Str::borrowed("runc"),
        mounts,
        linux: Some(linux),
        ..Config::default()
    }
}

/// [`default_config`] as runc writes it: tab-indented JSON, Go field order, no
/// trailing newline.
pub fn default_config_json(rootless: bool) -> String {
    to_json(&default_config(rootless))
}

fn to_json(config: &Config<'_>) -> String {
    use serde::Serialize;
    let mut out = Vec::with_capacity(4096);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    match config.serialize(&mut ser) {
        // serde_json writes UTF-8 only.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The effective uid and gid (`Uid:`/`Gid:` second fields of /proc/self/status).
fn effective_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Uid:"), field("Gid:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::parse;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../benches/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn equals_runc_spec_but_version() {
        let mut buf = fixture("runc-spec.json");
        let mut runc = parse(&mut buf).unwrap();
        assert_eq!(runc.oci_version, "1.0.2-dev");
        runc.oci_version = Str::borrowed(VERSION);
        assert_eq!(runc, default_config(false));
    }

    #[test]
    fn equals_runc_spec_rootless_but_version() {
        // The fixture was written as root: hostID 0.
        let mut buf = fixture("runc-spec-rootless.json");
        let mut runc = parse(&mut buf).unwrap();
        runc.oci_version = Str::borrowed(VERSION);
        assert_eq!(runc, default_config_with_ids(true, 0, 0));
    }

    #[test]
    fn json_is_runc_byte_for_byte_but_version() {
        for (name, rootless) in [("runc-spec.json", false), ("runc-spec-rootless.json", true)] {
            let runc = String::from_utf8(fixture(name)).unwrap();
            let ours = to_json(&default_config_with_ids(rootless, 0, 0));
            assert_eq!(ours.replace("\"1.0.2\"", "\"1.0.2-dev\""), runc, "{name}");
        }
    }

    #[test]
    fn round_trips() {
        for rootless in [false, true] {
            let c = default_config(rootless);
            let mut json = default_config_json(rootless).into_bytes();
            assert_eq!(parse(&mut json).unwrap(), c);
        }
    }

    #[test]
    fn rootless_maps_the_current_user() {
        let (uid, gid) = effective_ids();
        let c = default_config(true);
        let l = c.linux.unwrap();
        assert_eq!(l.uid_mappings[0].host_id, uid);
        assert_eq!(l.gid_mappings[0].host_id, gid);
    }
}
