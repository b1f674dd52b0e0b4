//! Validation: the rules runc and crun apply before creating anything, with the
//! JSON path of the offending value in each error. Error paths are formatted only
//! when a rule fails.

mod linux;
mod process;
mod resources;
mod seccomp;

pub(crate) use process::process;
pub(crate) use resources::resources;

use super::error::SpecError;
use super::types::{Config, IdMapping, Mount};

/// The destinations under /proc that runc allows mounts on (its checkProcMount:
/// lxcfs and similar bind files there); a mount of any type, as in runc (a file
/// system whose root is a directory then fails on these files, as in runc).
pub const PROC_BIND_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
];

/// The components of `path` inside the container's root, resolved lexically:
/// `.` and empty components dropped, `..` never above the root. The plan resolves
/// container paths with it too (`plan::InRootPath`), so a rule checked here is
/// about the path the child will open.
pub fn in_root_components(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts
}

/// `path` as the plan resolves it inside the container's root (`/a/../proc/` is
/// `/proc`).
fn in_root(path: &str) -> String {
    format!("/{}", in_root_components(path).join("/"))
}

/// The most lines the kernel accepts in `uid_map`/`gid_map` (since 4.15).
const MAX_MAPPINGS: usize = 340;

type Result<T = ()> = std::result::Result<T, SpecError>;

fn err(path: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError::invalid(path, message)
}

/// An absolute path without NUL bytes.
fn absolute(value: &str, path: impl FnOnce() -> String) -> Result {
    if !value.starts_with('/') {
        return Err(err(path(), format!("must be absolute, not {value:?}")));
    }
    no_nul(value, path)
}

/// Text that becomes a C string.
fn no_nul(value: &str, path: impl FnOnce() -> String) -> Result {
    if value.contains('\0') {
        return Err(err(path(), "must not contain a NUL byte"));
    }
    Ok(())
}

/// `value` is one of `known`.
fn known(value: &str, known: &[&str], what: &str, path: impl FnOnce() -> String) -> Result {
    if known.contains(&value) {
        Ok(())
    } else {
        Err(err(path(), format!("unknown {what} {value:?}")))
    }
}

/// Mappings of one kind: sizes > 0, ranges within u32, no overlap in the
/// container or on the host.
fn id_mappings(maps: &[IdMapping], path: &str) -> Result {
    // The kernel takes at most 340 lines in uid_map/gid_map; the cap also bounds
    // the quadratic overlap check.
    if maps.len() > MAX_MAPPINGS {
        return Err(err(path, format!("more than {MAX_MAPPINGS} mappings")));
    }
    for (i, m) in maps.iter().enumerate() {
        if m.size == 0 {
            return Err(err(format!("{path}[{i}].size"), "must be greater than 0"));
        }
        let fits = |start: u32| u64::from(start) + u64::from(m.size) <= 1 << 32;
        if !fits(m.container_id) || !fits(m.host_id) {
            return Err(err(
                format!("{path}[{i}]"),
                "range exceeds the 32-bit id space",
            ));
        }
        let overlaps = |a: u32, b: u32, bsize: u32| {
            u64::from(a) < u64::from(b) + u64::from(bsize)
                && u64::from(b) < u64::from(a) + u64::from(m.size)
        };
        for (j, o) in maps[..i].iter().enumerate() {
            if overlaps(m.container_id, o.container_id, o.size) {
                return Err(err(
                    format!("{path}[{i}]"),
                    format!("container ids overlap {path}[{j}]"),
                ));
            }
            if overlaps(m.host_id, o.host_id, o.size) {
                return Err(err(
                    format!("{path}[{i}]"),
                    format!("host ids overlap {path}[{j}]"),
                ));
            }
        }
    }
    Ok(())
}

fn not_a_version(v: &str) -> SpecError {
    err(
        "ociVersion",
        format!("{v:?} is not a version (expected MAJOR.MINOR.PATCH)"),
    )
}

/// `ociVersion`: 1.0.0 to 1.3.x, with any pre-release or build suffix.
fn version(v: &str) -> Result {
    if v.is_empty() {
        return Err(err("ociVersion", "required"));
    }
    let core = v.split(['-', '+']).next().unwrap_or(v);
    let numeric = |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = core.split('.');
    let (major, minor, patch, extra) = (parts.next(), parts.next(), parts.next(), parts.next());
    let (Some(major), Some(minor), Some(_)) = (
        major.filter(numeric),
        minor.filter(numeric),
        patch.filter(numeric),
    ) else {
        return Err(not_a_version(v));
    };
    if extra.is_some() {
        return Err(not_a_version(v));
    }
    if major != "1" || minor.parse::<u64>().map_or(true, |minor| minor > 3) {
        return Err(err(
            "ociVersion",
            format!("unsupported version {v:?} (fastrun supports 1.0.0 to 1.3.x)"),
        ));
    }
    Ok(())
}

fn mount(m: &Mount<'_>, i: usize) -> Result {
    let at = |field: &str| format!("mounts[{i}].{field}");
    absolute(&m.destination, || at("destination"))?;
    no_nul(&m.source, || at("source"))?;
    if m.typ
        .contains(|c: char| c == '\0' || c.is_whitespace() || c == '/')
    {
        return Err(err(
            at("type"),
            format!("invalid filesystem type {:?}", m.typ.as_str()),
        ));
    }
    let bind = m.options.iter().any(|o| o == "bind" || o == "rbind");
    if m.typ.is_empty() && !bind {
        return Err(err(
            at("type"),
            "required unless options contain \"bind\" or \"rbind\"",
        ));
    }
    // Empty options are ignored (runc; buildah sends them for `-v SRC:DST`).
    for (j, o) in m.options.iter().enumerate() {
        no_nul(o, || format!("mounts[{i}].options[{j}]"))?;
    }
    if m.uid_mappings.is_empty() != m.gid_mappings.is_empty() {
        return Err(err(
            at("uidMappings"),
            "an id-mapped mount needs both uidMappings and gidMappings",
        ));
    }
    id_mappings(&m.uid_mappings, &at("uidMappings"))?;
    id_mappings(&m.gid_mappings, &at("gidMappings"))?;
    let is_bind = bind || m.typ == "bind";
    let idmap = m.options.iter().any(|o| o == "idmap" || o == "ridmap")
        || !m.uid_mappings.is_empty()
        || !m.gid_mappings.is_empty();
    if idmap && !is_bind {
        return Err(err(
            format!("mounts[{i}]"),
            "idmapped mounts are supported for bind mounts only",
        ));
    }
    if idmap && m.uid_mappings.is_empty() {
        return Err(err(
            at("uidMappings"),
            "an id-mapped mount needs both uidMappings and gidMappings",
        ));
    }
    // /proc safety (CVE-2019-16884, CVE-2019-19921): only a real procfs on /proc
    // (a proc mount, or a bind whose source the plan checks is a procfs), and only
    // runc's allow-list of binds below it.
    let dest = in_root(&m.destination);
    if dest == "/proc" && !is_bind && m.typ != "proc" {
        return Err(err(
            format!("mounts[{i}]"),
            format!(
                "/proc must be a mount of type proc, not {:?}",
                m.typ.as_str()
            ),
        ));
    }
    if dest.starts_with("/proc/") && !PROC_BIND_ALLOWED.contains(&dest.as_str()) {
        return Err(err(
            at("destination"),
            format!(
                "{dest}: mounts over /proc are refused (only {} may be mounted on)",
                PROC_BIND_ALLOWED.join(", ")
            ),
        ));
    }
    if is_bind && m.source.is_empty() {
        return Err(err(at("source"), "required for a bind mount"));
    }
    Ok(())
}

/// A config that passed [`Config::validate`]. [`Validated::new`] is the only way to
/// make one and there is no mutable access, so a function that takes it (as
/// `plan::build`) knows every host-independent rule holds and checks only what
/// depends on the host.
#[derive(Debug)]
pub struct Validated<'a>(Config<'a>);

impl<'a> Validated<'a> {
    /// Validate `config`.
    pub fn new(config: Config<'a>) -> std::result::Result<Self, SpecError> {
        config.validate()?;
        Ok(Validated(config))
    }

    /// The config, giving up the proof (to change it).
    pub fn into_inner(self) -> Config<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for Validated<'a> {
    type Target = Config<'a>;

    fn deref(&self) -> &Config<'a> {
        &self.0
    }
}

impl Config<'_> {
    /// Check the config against the runtime-spec and the rules runc applies at
    /// create time. The first problem found is returned, with its JSON path.
    pub fn validate(&self) -> std::result::Result<(), SpecError> {
        version(&self.oci_version)?;
        let root = self.root.as_ref().ok_or_else(|| err("root", "required"))?;
        if root.path.is_empty() {
            return Err(err("root.path", "required"));
        }
        no_nul(&root.path, || "root.path".into())?;
        let proc = self
            .process
            .as_ref()
            .ok_or_else(|| err("process", "required"))?;
        process(proc)?;
        for (i, m) in self.mounts.iter().enumerate() {
            mount(m, i)?;
        }
        if let Some(hooks) = &self.hooks {
            for (name, list) in hooks.lists() {
                for (i, h) in list.iter().enumerate() {
                    absolute(&h.path, || format!("hooks.{name}[{i}].path"))?;
                    if h.timeout.is_some_and(|t| t <= 0) {
                        return Err(err(
                            format!("hooks.{name}[{i}].timeout"),
                            "must be greater than 0",
                        ));
                    }
                }
            }
            // startContainer hooks run from the init after `start`, so the init waits
            // for `start` running the runtime's code instead of the sealed stub. A
            // container process holding CAP_SYS_PTRACE over the runtime's credentials
            // (no user namespace of its own) could ptrace it then (CVE-2019-5736).
            let user_ns = self
                .linux
                .as_ref()
                .is_some_and(|l| l.namespace("user").is_some());
            let ptrace = proc
                .capabilities
                .as_ref()
                .is_some_and(|c| c.bounding.iter().any(|n| n.as_str() == "CAP_SYS_PTRACE"));
            if !hooks.start_container.is_empty() && ptrace && !user_ns {
                return Err(err(
                    "hooks.startContainer",
                    "not with CAP_SYS_PTRACE in process.capabilities.bounding and no user \
                     namespace of the container's own: the init running the hooks would be \
                     open to ptrace from the container",
                ));
            }
        }
        let uts = self
            .linux
            .as_ref()
            .is_some_and(|l| l.namespace("uts").is_some());
        for (name, value) in [
            ("hostname", &self.hostname),
            ("domainname", &self.domainname),
        ] {
            if !value.is_empty() && !uts {
                return Err(err(
                    name,
                    format!("unable to set {name} without a private UTS namespace"),
                ));
            }
        }
        match &self.linux {
            Some(l) => linux::linux(l),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::spec::{default_config_with_ids, Hook, Hooks, Str};

    /// A valid config (runc's default, no terminal).
    pub(crate) fn base() -> Config<'static> {
        let mut c = default_config_with_ids(false, 0, 0);
        c.process.as_mut().unwrap().terminal = false;
        c
    }

    /// The validation error of `base()` changed by `f`.
    pub(crate) fn invalid(f: impl FnOnce(&mut Config<'static>)) -> String {
        let mut c = base();
        f(&mut c);
        match c.validate() {
            Err(e) => e.to_string(),
            Ok(()) => panic!("accepted: {c:?}"),
        }
    }

    pub(crate) fn s(v: &'static str) -> Str<'static> {
        Str::borrowed(v)
    }

    #[test]
    fn start_container_hooks_refuse_cap_sys_ptrace_without_a_user_namespace() {
        let hook = || Hook {
            path: s("/bin/true"),
            ..Default::default()
        };
        let e = invalid(|c| {
            c.hooks = Some(Hooks {
                start_container: vec![hook()],
                ..Default::default()
            });
            let caps = c.process.as_mut().unwrap().capabilities.as_mut().unwrap();
            caps.bounding.push(s("CAP_SYS_PTRACE"));
        });
        assert!(
            e.starts_with("hooks.startContainer: not with CAP_SYS_PTRACE"),
            "{e}"
        );
        // Without the capability, or with a user namespace of its own: fine.
        let mut c = base();
        c.hooks = Some(Hooks {
            start_container: vec![hook()],
            ..Default::default()
        });
        c.validate().unwrap();
    }

    #[test]
    fn base_is_valid() {
        base().validate().unwrap();
        crate::spec::default_config(true).validate().unwrap();
    }

    #[test]
    fn oci_version_range() {
        for ok in [
            "1.0.0",
            "1.0.2-dev",
            "1.1.0",
            "1.2.1",
            "1.3.0",
            "1.3.7+build",
            "1.0.0-rc5",
        ] {
            let mut c = base();
            c.oci_version = s(ok);
            c.validate().unwrap();
        }
        assert_eq!(
            invalid(|c| c.oci_version = s("2.0.0")),
            "ociVersion: unsupported version \"2.0.0\" (fastrun supports 1.0.0 to 1.3.x)"
        );
        assert!(
            invalid(|c| c.oci_version = s("1.4.0")).starts_with("ociVersion: unsupported version")
        );
        assert!(
            invalid(|c| c.oci_version = s("0.9.0")).starts_with("ociVersion: unsupported version")
        );
        assert_eq!(
            invalid(|c| c.oci_version = s("1.0")),
            "ociVersion: \"1.0\" is not a version (expected MAJOR.MINOR.PATCH)"
        );
        assert!(invalid(|c| c.oci_version = s("1.0.0.0")).contains("is not a version"));
        assert!(invalid(|c| c.oci_version = s("1.x.0")).contains("is not a version"));
        assert_eq!(invalid(|c| c.oci_version = s("")), "ociVersion: required");
    }

    #[test]
    fn root_required() {
        assert_eq!(invalid(|c| c.root = None), "root: required");
        assert_eq!(
            invalid(|c| c.root.as_mut().unwrap().path = s("")),
            "root.path: required"
        );
    }

    #[test]
    fn process_required() {
        assert_eq!(invalid(|c| c.process = None), "process: required");
    }

    #[test]
    fn mount_destination_absolute() {
        assert_eq!(
            invalid(|c| c.mounts[4].destination = s("dev/mqueue")),
            "mounts[4].destination: must be absolute, not \"dev/mqueue\""
        );
    }

    #[test]
    fn mount_type_and_options_sane() {
        assert_eq!(
            invalid(|c| c.mounts[0].typ = s("pr oc")),
            "mounts[0].type: invalid filesystem type \"pr oc\""
        );
        assert_eq!(
            invalid(|c| c.mounts[0].typ = s("")),
            "mounts[0].type: required unless options contain \"bind\" or \"rbind\""
        );
        assert_eq!(
            invalid(|c| c.mounts[1].source = Str::owned("tm\0pfs".into())),
            "mounts[1].source: must not contain a NUL byte"
        );
        let mut c = base();
        c.mounts[0].typ = s("");
        c.mounts[0].options = vec![s("rbind")];
        c.validate().unwrap();
    }

    #[test]
    fn mount_id_mappings() {
        let m = IdMapping {
            container_id: 0,
            host_id: 1000,
            size: 10,
        };
        assert_eq!(
            invalid(|c| c.mounts[0].uid_mappings = vec![m]),
            "mounts[0].uidMappings: an id-mapped mount needs both uidMappings and gidMappings"
        );
        assert_eq!(
            invalid(|c| {
                c.mounts[0].uid_mappings = vec![m];
                c.mounts[0].gid_mappings = vec![IdMapping { size: 0, ..m }];
            }),
            "mounts[0].gidMappings[0].size: must be greater than 0"
        );
    }

    #[test]
    fn hook_paths_absolute_and_timeouts_positive() {
        let hook = |path, timeout| Hook {
            path: s(path),
            timeout,
            ..Hook::default()
        };
        assert_eq!(
            invalid(|c| c.hooks = Some(Hooks {
                poststart: vec![hook("/bin/true", None), hook("true", None)],
                ..Hooks::default()
            })),
            "hooks.poststart[1].path: must be absolute, not \"true\""
        );
        assert_eq!(
            invalid(|c| c.hooks = Some(Hooks {
                create_runtime: vec![hook("/bin/true", Some(0))],
                ..Hooks::default()
            })),
            "hooks.createRuntime[0].timeout: must be greater than 0"
        );
    }

    #[test]
    fn hostname_needs_uts_namespace() {
        assert_eq!(
            invalid(|c| c
                .linux
                .as_mut()
                .unwrap()
                .namespaces
                .retain(|n| n.typ != "uts")),
            "hostname: unable to set hostname without a private UTS namespace"
        );
        assert_eq!(
            invalid(|c| {
                c.hostname = s("");
                c.domainname = s("example.org");
                c.linux = None;
            }),
            "domainname: unable to set domainname without a private UTS namespace"
        );
    }

    #[test]
    fn id_mapping_rules() {
        let m = |c, h, s| IdMapping {
            container_id: c,
            host_id: h,
            size: s,
        };
        id_mappings(&[m(0, 1000, 1), m(1, 100000, 65536)], "x").unwrap();
        assert_eq!(
            id_mappings(&[m(0, 1000, 10), m(5, 5000, 1)], "linux.uidMappings")
                .unwrap_err()
                .to_string(),
            "linux.uidMappings[1]: container ids overlap linux.uidMappings[0]"
        );
        assert_eq!(
            id_mappings(&[m(0, 1000, 10), m(100, 1009, 1)], "linux.gidMappings")
                .unwrap_err()
                .to_string(),
            "linux.gidMappings[1]: host ids overlap linux.gidMappings[0]"
        );
        assert_eq!(
            id_mappings(&[m(u32::MAX, 0, 2)], "m")
                .unwrap_err()
                .to_string(),
            "m[0]: range exceeds the 32-bit id space"
        );
    }

    /// The mount rules that only the plan checked before (#17): the config alone
    /// decides them, so validation reports them, before anything is looked up.
    #[test]
    fn mount_rules_the_config_alone_decides() {
        let add = |m: Mount<'static>| {
            move |c: &mut Config<'static>| {
                c.mounts.push(m);
            }
        };
        let n = base().mounts.len();
        let mount = |dest: &'static str,
                     typ: &'static str,
                     source: &'static str,
                     opts: &[&'static str]| Mount {
            destination: s(dest),
            typ: s(typ),
            source: s(source),
            options: opts.iter().map(|o| s(o)).collect(),
            ..Default::default()
        };
        assert_eq!(
            invalid(add(mount("/proc", "tmpfs", "tmpfs", &[]))),
            format!("mounts[{n}]: /proc must be a mount of type proc, not \"tmpfs\"")
        );
        assert!(
            invalid(add(mount("/a/../proc/kcore", "", "/x", &["bind"]))).starts_with(&format!(
                "mounts[{n}].destination: /proc/kcore: mounts over /proc are refused (only \
             /proc/cpuinfo, "
            ))
        );
        assert_eq!(
            invalid(add(mount("/m", "tmpfs", "tmpfs", &["idmap"]))),
            format!("mounts[{n}]: idmapped mounts are supported for bind mounts only")
        );
        assert_eq!(
            invalid(add(mount("/m", "", "/x", &["rbind", "ridmap"]))),
            format!(
                "mounts[{n}].uidMappings: an id-mapped mount needs both uidMappings and \
                 gidMappings"
            )
        );
        assert_eq!(
            invalid(add(mount("/m", "bind", "", &[]))),
            format!("mounts[{n}].source: required for a bind mount")
        );
        // What stays allowed: a bind of an allowed /proc file, a procfs on /proc.
        let mut c = base();
        c.mounts.push(mount("/proc/cpuinfo", "", "/x", &["bind"]));
        c.mounts.push(mount("/proc", "proc", "proc", &[]));
        c.validate().unwrap();
    }

    #[test]
    fn device_numbers_fit_32_bits() {
        let e = invalid(|c| {
            c.linux.as_mut().unwrap().devices.push(crate::spec::Device {
                typ: s("c"),
                path: s("/dev/big"),
                major: Some(1 << 32),
                minor: Some(0),
                ..Default::default()
            })
        });
        assert_eq!(e, "linux.devices[0].major: must be at most 4294967295");
    }
}
