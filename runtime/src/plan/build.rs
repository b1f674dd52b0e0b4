//! Turning a validated [`Config`] into a [`Plan`]: pure except for a few `stat`s of
//! host paths (the rootfs, bind sources), so errors surface before any clone.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::cstr::{cstring, CStrArray, InRootPath, PtrArray};
use super::mount_options::{self, MountOptions};
use super::*;
use crate::error::{Error, Result};
use crate::spec::{self, Config};
use crate::sys::mount_api::{self as m, MountAttr};

/// How the container's cgroups look from the host, for the `cgroup` mount type.
#[derive(Debug, Clone, Default)]
pub enum CgroupView {
    /// No cgroups are managed: a `cgroup` mount gets an empty read-only tmpfs.
    #[default]
    None,
    /// Pure cgroup v2: the container's cgroup directory on the host.
    V2 { path: PathBuf },
    /// v1 or hybrid: each hierarchy's name under /sys/fs/cgroup and the container's
    /// directory in it on the host.
    V1 { hierarchies: Vec<(String, PathBuf)> },
}

/// Everything besides the config that shapes the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// The absolute bundle directory.
    pub bundle: PathBuf,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// Fds of the preserved range the caller did not have open (sorted).
    pub preserve_absent: Vec<u32>,
    pub cgroups: CgroupView,
    /// Highest capability the kernel knows (`/proc/sys/kernel/cap_last_cap`).
    pub last_cap: u32,
    /// Directory of compiled seccomp filters (None: always compile).
    pub seccomp_cache: Option<PathBuf>,
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Bind mounts over /proc that runc allows (lxcfs and similar).
const PROC_BIND_ALLOWED: &[&str] = &[
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

/// Build the plan for a container's init from a validated config.
pub fn build(config: &Config<'_>, input: &PlanInput) -> Result<Plan> {
    let linux = config.linux.as_ref();
    let process = config
        .process
        .as_ref()
        .ok_or_else(|| Error::Config("process: required to create a container".into()))?;

    let (mut ns, user_ns) = namespaces(config)?;
    if matches!(input.cgroups, CgroupView::V1 { .. })
        && ns.clone_flags & libc::CLONE_NEWCGROUP as u64 != 0
    {
        // A new cgroup namespace is rooted where its creator is at that moment. On
        // v1 and hybrid the init joins its v1 cgroups after the clone: it creates the
        // namespace once it is in them (as runc), so that its cgroups are its root.
        ns.clone_flags &= !(libc::CLONE_NEWCGROUP as u64);
        ns.unshare_flags |= libc::CLONE_NEWCGROUP;
    }
    let id_maps = if ns.clone_flags & libc::CLONE_NEWUSER as u64 != 0 {
        let l = linux.ok_or_else(|| {
            Error::Config("linux.uidMappings: required with a new user namespace".into())
        })?;
        Some(IdMaps {
            uid_map: id_map(&l.uid_mappings),
            gid_map: id_map(&l.gid_mappings),
        })
    } else {
        None
    };

    let new_mount_ns = ns.clone_flags & libc::CLONE_NEWNS as u64 != 0;
    let rootfs = if new_mount_ns {
        Some(rootfs_plan(config, input, user_ns)?)
    } else {
        None
    };

    let mut sysctls = Vec::new();
    if let Some(l) = linux {
        for (name, value) in l.sysctl.iter() {
            let what = format!("linux.sysctl[{name:?}]");
            let rel = name.replace('.', "/");
            if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                return Err(Error::Config(format!("{what}: invalid sysctl name")));
            }
            sysctls.push(Sysctl {
                name: name.to_string(),
                rel_path: cstring(&rel, &what)?,
                value: cstring(value, &what)?,
            });
        }
    }

    let opt_cstr = |s: &str, what: &str| -> Result<Option<CString>> {
        if s.is_empty() {
            Ok(None)
        } else {
            cstring(s, what).map(Some)
        }
    };

    Ok(Plan {
        ns,
        id_maps,
        rootfs,
        sysctls,
        hostname: opt_cstr(&config.hostname, "hostname")?,
        domainname: opt_cstr(&config.domainname, "domainname")?,
        process: process_plan(process, input.last_cap)?,
        new_keyring: !input.no_new_keyring,
        preserve_fds: input.preserve_fds,
        preserve_absent: input.preserve_absent.clone(),
        hooks_sync: config.hooks.as_ref().is_some_and(|h| {
            !h.prestart.is_empty() || !h.create_runtime.is_empty() || !h.create_container.is_empty()
        }),
        seccomp: match linux.and_then(|l| l.seccomp.as_ref()) {
            Some(s) => Some(crate::seccomp::prepare(s, input.seccomp_cache.as_deref())?),
            None => None,
        },
    })
}

fn id_map(m: &[spec::IdMapping]) -> String {
    m.iter()
        .map(|e| format!("{} {} {}\n", e.container_id, e.host_id, e.size))
        .collect()
}

/// Namespaces to create and to join; the bool says whether the container runs in
/// a user namespace (created or joined).
fn namespaces(config: &Config<'_>) -> Result<(Namespaces, bool)> {
    let mut ns = Namespaces::default();
    let Some(linux) = config.linux.as_ref() else {
        return Ok((ns, false));
    };
    let mut joins_user = false;
    for (i, n) in linux.namespaces.iter().enumerate() {
        let flag = spec::namespace_flag(&n.typ).ok_or_else(|| {
            Error::Config(format!(
                "linux.namespaces[{i}].type: unknown namespace {:?}",
                n.typ.as_str()
            ))
        })?;
        if n.path.is_empty() {
            ns.clone_flags |= flag as u64;
        } else {
            if flag == libc::CLONE_NEWUSER {
                joins_user = true;
            }
            ns.join.push(JoinNs {
                flag,
                path: PathBuf::from(n.path.as_str()),
            });
        }
    }
    // Join the user namespace first: the others are owned by it.
    ns.join.sort_by_key(|j| j.flag != libc::CLONE_NEWUSER);
    if !linux.time_offsets.is_empty() {
        let mut s = String::new();
        for (clock, off) in linux.time_offsets.iter() {
            s.push_str(&format!("{} {} {}\n", clock, off.secs, off.nanosecs));
        }
        ns.clone_flags &= !(libc::CLONE_NEWTIME as u64);
        ns.time_offsets = Some(cstring(&s, "linux.timeOffsets")?);
    }
    if joins_user {
        // Namespaces created after joining a user namespace must be owned by it:
        // the child unshares them after setns instead of clone3 creating them.
        let keep = libc::CLONE_NEWPID as u64;
        ns.unshare_flags = (ns.clone_flags & !keep) as libc::c_int;
        ns.clone_flags &= keep;
    }
    let user_ns = joins_user || ns.clone_flags & libc::CLONE_NEWUSER as u64 != 0;
    ns.become_root = user_ns;
    Ok((ns, user_ns))
}

fn propagation_flags(s: &str) -> Option<libc::c_ulong> {
    Some(match s {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

fn resolve_in_bundle(bundle: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        bundle.join(p)
    }
}

fn rootfs_plan(config: &Config<'_>, input: &PlanInput, user_ns: bool) -> Result<RootfsPlan> {
    let root = config
        .root
        .as_ref()
        .ok_or_else(|| Error::Config("root.path: required".into()))?;
    let host_root = resolve_in_bundle(&input.bundle, &root.path);
    let host_root = std::fs::canonicalize(&host_root)
        .map_err(|e| Error::Config(format!("root.path: {}: {}", host_root.display(), e)))?;
    if !host_root.is_dir() {
        return Err(Error::Config(format!(
            "root.path: {}: not a directory",
            host_root.display()
        )));
    }
    let linux = config.linux.as_ref();
    let prop = linux.map(|l| l.rootfs_propagation.as_str()).unwrap_or("");
    let root_propagation = if prop.is_empty() {
        libc::MS_SLAVE | libc::MS_REC
    } else {
        propagation_flags(prop).ok_or_else(|| {
            Error::Config(format!(
                "linux.rootfsPropagation: unknown propagation {prop:?}"
            ))
        })?
    };

    let mut mounts = Vec::with_capacity(config.mounts.len());
    let mut idmaps = Vec::new();
    for (i, mnt) in config.mounts.iter().enumerate() {
        mount_steps(i, mnt, input, &mut mounts, &mut idmaps)?;
    }

    let mut devices = Vec::new();
    for (path, major, minor) in DEFAULT_DEVICES {
        devices.push(device_step(
            path,
            libc::S_IFCHR | 0o666,
            *major,
            *minor,
            0,
            0,
            user_ns,
            "default devices",
        )?);
    }
    if let Some(l) = linux {
        for (i, d) in l.devices.iter().enumerate() {
            let what = format!("linux.devices[{i}]");
            let kind = match d.typ.as_str() {
                "c" | "u" => libc::S_IFCHR,
                "b" => libc::S_IFBLK,
                "p" => libc::S_IFIFO,
                t => {
                    return Err(Error::Config(format!(
                        "{what}.type: unknown device type {t:?}"
                    )))
                }
            };
            let mode = kind | (d.file_mode.unwrap_or(0o666) & 0o7777);
            let major = d.major.unwrap_or(0);
            let minor = d.minor.unwrap_or(0);
            if !(0..=u32::MAX as i64).contains(&major) || !(0..=u32::MAX as i64).contains(&minor) {
                return Err(Error::Config(format!("{what}: major/minor out of range")));
            }
            // A config device replaces a default one at the same path.
            devices.retain(|x: &DeviceStep| {
                x.path.display
                    != InRootPath::new(&d.path, &what)
                        .map(|p| p.display)
                        .unwrap_or_default()
            });
            devices.push(device_step(
                &d.path,
                mode,
                major as u32,
                minor as u32,
                d.uid.unwrap_or(0),
                d.gid.unwrap_or(0),
                user_ns,
                &what,
            )?);
        }
    }

    let mut links = Vec::new();
    for (path, target) in DEFAULT_LINKS {
        links.push(LinkStep {
            target: cstring(target, "default links")?,
            path: InRootPath::new(path, "default links")?,
        });
    }

    let paths = |list: &[spec::Str<'_>], what: &str| -> Result<Vec<InRootPath>> {
        list.iter()
            .enumerate()
            .map(|(i, p)| InRootPath::new(p, &format!("{what}[{i}]")))
            .collect()
    };
    let (masked, readonly_paths) = match linux {
        Some(l) => (
            paths(&l.masked_paths, "linux.maskedPaths")?,
            paths(&l.readonly_paths, "linux.readonlyPaths")?,
        ),
        None => (Vec::new(), Vec::new()),
    };

    Ok(RootfsPlan {
        path: cstring(&host_root.to_string_lossy(), "root.path")?,
        root_propagation,
        rootfs_propagation: None,
        readonly: root.readonly,
        mounts,
        devices,
        links,
        masked,
        readonly_paths,
        no_pivot: input.no_pivot,
        idmaps,
        console: match config.process.as_ref() {
            Some(p) if p.terminal => Some(InRootPath::new("/dev/console", "process.terminal")?),
            _ => None,
        },
    })
}

const DEFAULT_DEVICES: &[(&str, u32, u32)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const DEFAULT_LINKS: &[(&str, &str)] = &[
    ("/dev/fd", "/proc/self/fd"),
    ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"),
    ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/ptmx", "pts/ptmx"),
];

#[allow(clippy::too_many_arguments)]
fn device_step(
    path: &str,
    mode: libc::mode_t,
    major: u32,
    minor: u32,
    uid: u32,
    gid: u32,
    user_ns: bool,
    what: &str,
) -> Result<DeviceStep> {
    let p = InRootPath::new(path, what)?;
    if !p.display.starts_with("/dev/") {
        return Err(Error::Config(format!(
            "{what}.path: {path:?}: devices must be under /dev"
        )));
    }
    Ok(DeviceStep {
        bind_from: if user_ns {
            Some(cstring(&p.display, what)?)
        } else {
            None
        },
        path: p,
        mode,
        dev: libc::makedev(major, minor),
        uid,
        gid,
    })
}

fn attr_of(set: u64, clr: u64) -> MountAttr {
    MountAttr {
        attr_set: set,
        attr_clr: clr,
        ..Default::default()
    }
}

fn mount_steps(
    i: usize,
    mnt: &spec::Mount<'_>,
    input: &PlanInput,
    out: &mut Vec<MountStep>,
    idmaps: &mut Vec<IdMaps>,
) -> Result<()> {
    let what = format!("mounts[{i}]");
    let dest = InRootPath::new(&mnt.destination, &format!("{what}.destination"))?;
    let opts: MountOptions = mount_options::parse(mnt.options.iter().map(|s| s.as_str()));
    let typ = mnt.typ.as_str();
    let is_bind = opts.bind || typ == "bind";
    let idmap = if opts.idmap || !mnt.uid_mappings.is_empty() || !mnt.gid_mappings.is_empty() {
        if !is_bind {
            return Err(Error::Config(format!(
                "{what}: idmapped mounts are supported for bind mounts only"
            )));
        }
        if mnt.uid_mappings.is_empty() || mnt.gid_mappings.is_empty() {
            return Err(Error::Config(format!(
                "{what}.uidMappings: an idmapped mount needs both uidMappings and gidMappings"
            )));
        }
        let maps = IdMaps {
            uid_map: id_map(&mnt.uid_mappings),
            gid_map: id_map(&mnt.gid_mappings),
        };
        let index = match idmaps.iter().position(|m| *m == maps) {
            Some(i) => i,
            None => {
                idmaps.push(maps);
                idmaps.len() - 1
            }
        };
        Some((index, opts.idmap_recursive))
    } else {
        None
    };

    // /proc safety (CVE-2019-16884, CVE-2019-19921): only a real procfs on /proc,
    // and only runc's allow-list of binds below it.
    if dest.display == "/proc" && (is_bind || typ != "proc") {
        return Err(Error::Config(format!(
            "{what}: /proc must be a mount of type proc, not {typ:?}"
        )));
    }
    if dest.display.starts_with("/proc/") && !PROC_BIND_ALLOWED.contains(&dest.display.as_str()) {
        return Err(Error::Config(format!(
            "{what}.destination: {}: mounts over /proc are refused (only {} may be bind-mounted)",
            dest.display,
            PROC_BIND_ALLOWED.join(", ")
        )));
    }
    let no_symlink = matches!(dest.display.as_str(), "/proc" | "/sys" | "/dev");

    if is_bind {
        if mnt.source.is_empty() {
            return Err(Error::Config(format!(
                "{what}.source: required for a bind mount"
            )));
        }
        let source = resolve_in_bundle(&input.bundle, &mnt.source);
        let meta = std::fs::metadata(&source)
            .map_err(|e| Error::Config(format!("{what}.source: {}: {e}", source.display())))?;
        out.push(MountStep {
            config_index: i,
            dest,
            kind: MountKind::Bind {
                source: cstring(&source.to_string_lossy(), &format!("{what}.source"))?,
                recursive: opts.recursive,
                attr: attr_of(opts.attr_set, opts.attr_clr),
                rec_attr: attr_of(opts.rec_attr_set, opts.rec_attr_clr),
                idmap,
            },
            propagation: opts.propagation,
            dest_is_file: !meta.is_dir(),
            no_symlink,
            type_name: "bind".into(),
        });
        return Ok(());
    }
    if typ.is_empty() {
        return Err(Error::Config(format!(
            "{what}.type: required for a non-bind mount"
        )));
    }
    if typ == "cgroup" || typ == "cgroup2" {
        return cgroup_steps(i, dest, &opts, input, out);
    }
    let mut options = Vec::with_capacity(opts.sb_flags.len() + opts.data.len());
    for f in &opts.sb_flags {
        options.push(FsOption {
            key: cstring(f, &format!("{what}.options"))?,
            value: None,
        });
    }
    for (k, v) in &opts.data {
        options.push(FsOption {
            key: cstring(k, &format!("{what}.options"))?,
            value: v
                .as_deref()
                .map(|v| cstring(v, &format!("{what}.options")))
                .transpose()?,
        });
    }
    if !mnt.source.is_empty() {
        // The source names the device or label for fs mounts ("tmpfs", "shm", "/dev/sda1").
        options.push(FsOption {
            key: c"source".into(),
            value: Some(cstring(&mnt.source, &format!("{what}.source"))?),
        });
    }
    out.push(MountStep {
        config_index: i,
        dest,
        kind: MountKind::Fs {
            fstype: cstring(typ, &format!("{what}.type"))?,
            options,
            attrs: opts.attr_set,
        },
        propagation: opts.propagation,
        dest_is_file: false,
        no_symlink,
        type_name: typ.to_string(),
    });
    Ok(())
}

/// The `cgroup` mount: the container's own cgroup directories, read-only as asked.
fn cgroup_steps(
    i: usize,
    dest: InRootPath,
    opts: &MountOptions,
    input: &PlanInput,
    out: &mut Vec<MountStep>,
) -> Result<()> {
    let what = format!("mounts[{i}]");
    let bind_attr = attr_of(
        opts.attr_set | m::MOUNT_ATTR_NOSUID | m::MOUNT_ATTR_NODEV | m::MOUNT_ATTR_NOEXEC,
        opts.attr_clr,
    );
    let tmpfs = |dest: InRootPath, attrs: u64| MountStep {
        config_index: i,
        dest,
        kind: MountKind::Fs {
            fstype: c"tmpfs".into(),
            options: vec![FsOption {
                key: c"mode".into(),
                value: Some(c"755".into()),
            }],
            attrs,
        },
        propagation: 0,
        dest_is_file: false,
        no_symlink: false,
        type_name: "cgroup".into(),
    };
    // The container's own cgroup directory of the host, bound read-only as asked.
    let bind = |dest: InRootPath, source: &PathBuf| -> Result<MountStep> {
        Ok(MountStep {
            config_index: i,
            dest,
            kind: MountKind::Bind {
                source: cstring(&source.to_string_lossy(), &what)?,
                recursive: false,
                attr: bind_attr,
                rec_attr: MountAttr::default(),
                idmap: None,
            },
            propagation: 0,
            dest_is_file: false,
            no_symlink: false,
            type_name: "cgroup".into(),
        })
    };
    match &input.cgroups {
        CgroupView::None => out.push(tmpfs(
            dest,
            m::MOUNT_ATTR_RDONLY
                | m::MOUNT_ATTR_NOSUID
                | m::MOUNT_ATTR_NODEV
                | m::MOUNT_ATTR_NOEXEC,
        )),
        CgroupView::V2 { path } => out.push(bind(dest, path)?),
        CgroupView::V1 { hierarchies } => {
            let base = dest.display.clone();
            out.push(tmpfs(
                dest,
                m::MOUNT_ATTR_NOSUID | m::MOUNT_ATTR_NODEV | m::MOUNT_ATTR_NOEXEC,
            ));
            for (name, path) in hierarchies {
                out.push(bind(
                    InRootPath::new(&format!("{base}/{name}"), &what)?,
                    path,
                )?);
            }
            if opts.attr_set & m::MOUNT_ATTR_RDONLY != 0 {
                out.push(MountStep {
                    config_index: i,
                    dest: InRootPath::new(&base, &what)?,
                    kind: MountKind::Setattr {
                        attr: attr_of(m::MOUNT_ATTR_RDONLY, 0),
                    },
                    propagation: 0,
                    dest_is_file: false,
                    no_symlink: false,
                    type_name: "cgroup".into(),
                });
            }
        }
    }
    Ok(())
}

/// The process part of a plan (also used alone by `exec`).
pub fn process_plan(p: &spec::Process<'_>, last_cap: u32) -> Result<ProcessPlan> {
    if p.args.is_empty() {
        return Err(Error::Config("process.args: must not be empty".into()));
    }
    let argv = CStrArray::new(p.args.iter().map(|s| s.as_str()), "process.args")?;
    let envp = CStrArray::new(p.env.iter().map(|s| s.as_str()), "process.env")?;
    let arg0 = p.args[0].as_str();
    let exec_candidates = if arg0.contains('/') {
        vec![cstring(arg0, "process.args[0]")?]
    } else {
        let path = p
            .env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(DEFAULT_PATH);
        path.split(':')
            .map(|dir| {
                let dir = if dir.is_empty() { "." } else { dir };
                cstring(&format!("{dir}/{arg0}"), "process.args[0]")
            })
            .collect::<Result<Vec<_>>>()?
    };

    let caps = match &p.capabilities {
        None => None,
        Some(c) => {
            let mask = |names: &[spec::Str<'_>], set: &str| -> Result<u64> {
                let mut m = 0u64;
                for (i, n) in names.iter().enumerate() {
                    let num = spec::capability_number(n).ok_or_else(|| {
                        Error::Config(format!(
                            "process.capabilities.{set}[{i}]: unknown capability {:?}",
                            n.as_str()
                        ))
                    })?;
                    // Capabilities the running kernel does not know are ignored, as runc does.
                    if u32::from(num) <= last_cap {
                        m |= 1u64 << num;
                    }
                }
                Ok(m)
            };
            Some(crate::sys::caps::CapSets {
                bounding: mask(&c.bounding, "bounding")?,
                effective: mask(&c.effective, "effective")?,
                permitted: mask(&c.permitted, "permitted")?,
                inheritable: mask(&c.inheritable, "inheritable")?,
                ambient: mask(&c.ambient, "ambient")?,
            })
        }
    };

    let mut rlimits = Vec::with_capacity(p.rlimits.len());
    for (i, r) in p.rlimits.iter().enumerate() {
        let resource = spec::rlimit_resource(&r.typ).ok_or_else(|| {
            Error::Config(format!(
                "process.rlimits[{i}].type: unknown rlimit {:?}",
                r.typ.as_str()
            ))
        })?;
        rlimits.push(Rlimit {
            name: r.typ.to_string(),
            resource,
            soft: r.soft,
            hard: r.hard,
        });
    }

    let trampoline_argv = exec_candidates
        .iter()
        .map(|c| PtrArray::with_head(c, &argv))
        .collect();
    Ok(ProcessPlan {
        trampoline_argv,
        argv,
        envp,
        exec_candidates,
        cwd: cstring(if p.cwd.is_empty() { "/" } else { &p.cwd }, "process.cwd")?,
        uid: p.user.uid,
        gid: p.user.gid,
        additional_gids: p.user.additional_gids.clone(),
        umask: p.user.umask.map(|u| u as libc::mode_t),
        caps,
        last_cap,
        rlimits,
        no_new_privs: p.no_new_privileges,
        oom_score_adj: p.oom_score_adj,
        terminal: p.terminal,
        console_size: p.console_size.as_ref().map(|c| {
            (
                c.height.min(u16::MAX as u64) as u16,
                c.width.min(u16::MAX as u64) as u16,
            )
        }),
    })
}
