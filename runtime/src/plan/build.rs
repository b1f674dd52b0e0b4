//! Turning a validated [`Config`] into a [`Plan`]: pure except for a few `stat`s of
//! host paths (the rootfs, bind sources), so errors surface before any clone.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use super::cstr::{cstring, CStrArray, InRootPath, PtrArray};
use super::mount_options::{self, MountOptions};
use super::*;
use crate::error::{Error, Result};
use crate::spec::{self, Config, Validated};
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
    /// The runtime itself runs in a user namespace other than the initial one (e.g.
    /// rootless podman's): devices are bound from the host, as in a container
    /// with its own user namespace (mknod is refused there).
    pub runtime_in_userns: bool,
    /// Highest capability the kernel knows (`/proc/sys/kernel/cap_last_cap`).
    pub last_cap: u32,
    /// Directory of compiled seccomp filters (None: always compile).
    pub seccomp_cache: Option<PathBuf>,
    /// The startContainer hooks' state JSON (status "created") with `"pid":0`,
    /// which the init replaces with its own pid.
    pub start_state: String,
    /// The text of `/proc/self/mountinfo` if the caller has just read it (the
    /// cgroup layout of a v1 or hybrid host): not read a second time.
    pub mountinfo: Option<String>,
}

/// Our mount table: the caller's copy, else read now.
fn mountinfo(input: &PlanInput) -> std::io::Result<std::borrow::Cow<'_, str>> {
    match &input.mountinfo {
        Some(text) => Ok(std::borrow::Cow::Borrowed(text)),
        None => crate::sys::fs::read_small("/proc/self/mountinfo").map(std::borrow::Cow::Owned),
    }
}

/// Build the plan for a container's init from a validated config: the rules that
/// do not depend on the host are [`spec::validate`](crate::spec::Validated)'s; what
/// is checked here is what only the host can answer (the root and bind sources on
/// disk, a procfs bind source, the running kernel's capabilities).
pub fn build(config: &Validated<'_>, input: &PlanInput) -> Result<Plan> {
    let linux = config.linux.as_ref();
    let process = config
        .process
        .as_ref()
        .ok_or_else(|| not_validated("process"))?;

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
        let l = linux.ok_or_else(|| not_validated("linux.uidMappings"))?;
        Some(IdMaps {
            uid_map: id_map(&l.uid_mappings),
            gid_map: id_map(&l.gid_mappings),
        })
    } else {
        None
    };

    let new_mount_ns = ns.clone_flags & libc::CLONE_NEWNS as u64 != 0;
    let (rootfs, chroot) = if new_mount_ns {
        (Some(rootfs_plan(config, input, user_ns)?), None)
    } else {
        let root = host_root(config, input)?;
        (None, Some(cstring(&root.to_string_lossy(), "root.path")?))
    };

    let mut sysctls = Vec::new();
    if let Some(l) = linux {
        for (name, value) in l.sysctl.iter() {
            let what = format!("linux.sysctl[{name:?}]");
            let rel = spec::names::sysctl_rel_path(name)
                .ok_or_else(|| Error::Config(format!("{what}: invalid sysctl name")))?;
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

    // HOME from the container's passwd when process.env has none (runc).
    let home = if super::home::needs_home(&process.env) {
        let root_path = match (&rootfs, &config.root) {
            (Some(r), _) => Some(PathBuf::from(r.path.to_string_lossy().into_owned())),
            (None, Some(root)) => Some(resolve_in_bundle(&input.bundle, &root.path)),
            (None, None) => None,
        };
        Some(match root_path {
            Some(r) => super::home::home_for_config(config, &input.bundle, &r, process.user.uid),
            None => "/".to_string(),
        })
    } else {
        None
    };
    // startContainer hooks without `env` get the process's environment as the
    // process gets it (runc runs them from its init, after HOME is set).
    let home_var = home.as_ref().map(|h| format!("HOME={h}"));
    let start_env: Vec<&str> = dedup_env(&process.env)
        .into_iter()
        .chain(home_var.as_deref())
        .collect();
    let loopback_up = (ns.clone_flags | ns.unshare_flags as u64) & libc::CLONE_NEWNET as u64 != 0;
    Ok(Plan {
        ns,
        id_maps,
        rootfs,
        chroot,
        sysctls,
        hostname: opt_cstr(&config.hostname, "hostname")?,
        domainname: opt_cstr(&config.domainname, "domainname")?,
        process: process_plan(process, input.last_cap, home.as_deref())?,
        new_keyring: !input.no_new_keyring,
        preserve_fds: input.preserve_fds,
        preserve_absent: input.preserve_absent.clone(),
        hooks_sync: config.hooks.as_ref().is_some_and(|h| {
            !h.prestart.is_empty() || !h.create_runtime.is_empty() || !h.create_container.is_empty()
        }),
        seccomp: match linux.and_then(|l| l.seccomp.as_ref()) {
            Some(s) => Some(crate::seccomp::prepare(
                s,
                input.seccomp_cache.as_deref(),
                process.no_new_privileges,
            )?),
            None => None,
        },
        start_hooks: match config.hooks.as_ref() {
            Some(h) => h
                .start_container
                .iter()
                .enumerate()
                .map(|(i, h)| hook_plan(h, &start_env, &format!("hooks.startContainer[{i}]")))
                .collect::<Result<_>>()?,
            None => Vec::new(),
        },
        start_state: split_state(&input.start_state),
        loopback_up,
    })
}

/// A rule that `spec::validate` owns did not hold: the caller skipped validation
/// (a bug), not a config error.
fn not_validated(what: impl std::fmt::Display) -> Error {
    Error::Internal(format!("{what}: the config was not validated"))
}

/// A hook the init runs; without `env`, it gets the container process's
/// environment (runc's init runs it with the environment it has set for the
/// process), never the runtime's.
fn hook_plan(h: &spec::Hook<'_>, process_env: &[&str], what: &str) -> Result<HookPlan> {
    let path = cstring(&h.path, &format!("{what}.path"))?;
    let argv = if h.args.is_empty() {
        CStrArray::new([h.path.as_str()], &format!("{what}.path"))?
    } else {
        CStrArray::new(h.args.iter().map(|a| a.as_str()), &format!("{what}.args"))?
    };
    Ok(HookPlan {
        trampoline_argv: PtrArray::with_head(&path, &argv),
        envp: match &h.env {
            Some(env) => CStrArray::new(env.iter().map(|e| e.as_str()), &format!("{what}.env"))?,
            None => CStrArray::new(process_env.iter().copied(), &format!("{what}.env"))?,
        },
        argv,
        path,
        timeout: h
            .timeout
            .filter(|t| *t > 0)
            .map(|t| t.min(i64::from(u32::MAX)) as u32),
    })
}

/// The pid the startContainer hooks' state JSON is written with (a pid of 0 is
/// left out of a hook's state): the init puts its own in its place.
pub const STATE_PID_PLACEHOLDER: i32 = i32::MAX;

/// The state JSON cut around the value of its `"pid":` field (the placeholder).
fn split_state(state: &str) -> (Vec<u8>, Vec<u8>) {
    let pid = format!("\"pid\":{STATE_PID_PLACEHOLDER}");
    match state.find(&pid) {
        Some(i) => {
            let (head, tail) = state.split_at(i + "\"pid\":".len());
            (
                head.as_bytes().to_vec(),
                tail.as_bytes()[pid.len() - "\"pid\":".len()..].to_vec(),
            )
        }
        None => (state.as_bytes().to_vec(), Vec::new()),
    }
}

/// The host side of the sysctl rules (the config side is in `spec::validate`): a
/// sysctl's namespace joined by path must not be the runtime's own (the host's),
/// else the write changes the host (runc checks the network namespace; fastrun
/// checks IPC and UTS too). Run before anything is created.
pub fn check_sysctl_namespaces(config: &Config<'_>) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Some(l) = config.linux.as_ref() else {
        return Ok(());
    };
    for (name, _) in l.sysctl.iter() {
        let Some(typ) = spec::names::sysctl_namespace(&spec::names::sysctl_dotted(name)) else {
            continue;
        };
        let Some((i, ns)) = l
            .namespaces
            .iter()
            .enumerate()
            .find(|(_, n)| n.typ == typ && !n.path.is_empty())
        else {
            continue;
        };
        let own = match typ {
            "network" => "/proc/self/ns/net",
            "ipc" => "/proc/self/ns/ipc",
            _ => "/proc/self/ns/uts",
        };
        let stat = |p: &str| {
            std::fs::metadata(p).map_err(|e| {
                Error::Config(format!(
                    "linux.sysctl[{name:?}]: linux.namespaces[{i}].path: {p}: {e}"
                ))
            })
        };
        let (a, b) = (stat(own)?, stat(&ns.path)?);
        if a.dev() == b.dev() && a.ino() == b.ino() {
            return Err(Error::Config(format!(
                "linux.sysctl[{name:?}]: linux.namespaces[{i}].path {:?} is the host's {typ} \
                 namespace: the sysctl would change the host's",
                ns.path.as_str()
            )));
        }
    }
    Ok(())
}

fn id_map(m: &[spec::IdMapping]) -> String {
    m.iter()
        .map(|e| format!("{} {} {}\n", e.container_id, e.host_id, e.size))
        .collect()
}

/// Namespaces to create and to join; the bool says whether the container runs in
/// a user namespace (created or joined).
/// The namespaces `config` creates and joins, as its plan will have them (the
/// spawn's early work needs them before the plan exists).
pub fn namespaces_of(config: &Config<'_>) -> Result<Namespaces> {
    namespaces(config).map(|(ns, _)| ns)
}

fn namespaces(config: &Config<'_>) -> Result<(Namespaces, bool)> {
    let mut ns = Namespaces::default();
    let Some(linux) = config.linux.as_ref() else {
        return Ok((ns, false));
    };
    let mut joins_user = false;
    for (i, n) in linux.namespaces.iter().enumerate() {
        let flag = spec::namespace_flag(&n.typ)
            .ok_or_else(|| not_validated(format!("linux.namespaces[{i}].type")))?;
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
    // A new cgroup namespace is rooted at its creator's cgroups: the child unshares
    // it once the parent has moved it into the container's (on v1 it cannot be
    // cloned into them), as runc does, never at clone time in the caller's.
    let cgroup = libc::CLONE_NEWCGROUP as u64;
    if ns.clone_flags & cgroup != 0 {
        ns.clone_flags &= !cgroup;
        ns.unshare_flags |= libc::CLONE_NEWCGROUP;
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

/// `root.path`, absolute and resolved on the host, checked to be a directory.
fn host_root(config: &Config<'_>, input: &PlanInput) -> Result<PathBuf> {
    let root = config
        .root
        .as_ref()
        .ok_or_else(|| not_validated("root.path"))?;
    let host_root = resolve_in_bundle(&input.bundle, &root.path);
    let host_root = std::fs::canonicalize(&host_root)
        .map_err(|e| Error::Config(format!("root.path: {}: {}", host_root.display(), e)))?;
    if !host_root.is_dir() {
        return Err(Error::Config(format!(
            "root.path: {}: not a directory",
            host_root.display()
        )));
    }
    Ok(host_root)
}

fn rootfs_plan(config: &Config<'_>, input: &PlanInput, user_ns: bool) -> Result<RootfsPlan> {
    let bind_devices = user_ns || input.runtime_in_userns;
    let root = config
        .root
        .as_ref()
        .ok_or_else(|| not_validated("root.path"))?;
    let host_root = host_root(config, input)?;
    let linux = config.linux.as_ref();
    let prop = linux.map(|l| l.rootfs_propagation.as_str()).unwrap_or("");
    let asked = if prop.is_empty() {
        libc::MS_SLAVE | libc::MS_REC
    } else {
        propagation_flags(prop).ok_or_else(|| not_validated("linux.rootfsPropagation"))?
    };
    // runc sets the asked propagation on "/" of the new mount namespace first.
    // An unbindable one would stop every bind (the root's included): start
    // rslave and make the new root unbindable after the switch instead (crun).
    let (root_propagation, rootfs_propagation) = if asked & libc::MS_UNBINDABLE != 0 {
        (libc::MS_SLAVE | libc::MS_REC, Some(asked))
    } else {
        (asked, None)
    };
    // pivot_root (and MS_MOVE) refuse a new root whose parent mount is shared:
    // make that mount private first when it is (runc's rootfsParentMountPrivate).
    let parent_private = match mountinfo(input)
        .ok()
        .and_then(|mi| crate::sys::proc::mount_holding(&mi, &host_root))
    {
        Some((mp, shared_on_host)) => {
            let changed = root_propagation & libc::MS_REC != 0 || mp == Path::new("/");
            let shared = if changed {
                root_propagation & libc::MS_SHARED != 0
            } else {
                shared_on_host
            };
            match shared {
                true => Some(cstring(&mp.to_string_lossy(), "root.path")?),
                false => None,
            }
        }
        None => None,
    };

    let mut mounts = Vec::with_capacity(config.mounts.len());
    let mut idmaps = Vec::new();
    for (i, mnt) in config.mounts.iter().enumerate() {
        mount_steps(i, mnt, input, &mut mounts, &mut idmaps)?;
    }
    // In a user namespace the child cannot open what only the host's root may
    // (a 0700 bind source): the runtime opens those trees before the clone.
    let mut preopened = 0;
    if user_ns {
        for m in mounts.iter_mut() {
            if let MountKind::Bind {
                preopen,
                idmap: None,
                ..
            } = &mut m.kind
            {
                *preopen = Some(preopened);
                preopened += 1;
            }
        }
    }
    // A read-only /dev is mounted writable and made read-only at the end, once
    // the mounts, devices and links under it are in place (runc).
    let mut dev_readonly = None;
    for m in mounts.iter_mut() {
        if let (MountKind::Fs { attrs, .. }, "/dev") = (&mut m.kind, m.dest.display.as_str()) {
            if *attrs & m::MOUNT_ATTR_RDONLY != 0 {
                *attrs &= !m::MOUNT_ATTR_RDONLY;
                dev_readonly = Some(m.config_index);
            } else {
                dev_readonly = None;
            }
        }
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
            bind_devices,
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
                _ => return Err(not_validated(format!("{what}.type"))),
            };
            let mode = kind | (d.file_mode.unwrap_or(0o666) & 0o7777);
            let number = |n: Option<i64>, field: &str| {
                u32::try_from(n.unwrap_or(0)).map_err(|_| not_validated(format!("{what}.{field}")))
            };
            let (major, minor) = (number(d.major, "major")?, number(d.minor, "minor")?);
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
                major,
                minor,
                d.uid.unwrap_or(0),
                d.gid.unwrap_or(0),
                bind_devices,
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
        parent_private,
        rootfs_propagation,
        readonly: root.readonly,
        mounts,
        devices,
        links,
        masked,
        readonly_paths,
        no_pivot: input.no_pivot,
        no_pivot_hide: if input.no_pivot {
            full_proc_and_sysfs_outside(input, &host_root)?
        } else {
            Vec::new()
        },
        idmaps,
        console: match config.process.as_ref() {
            Some(p) if p.terminal => Some(InRootPath::new("/dev/console", "process.terminal")?),
            _ => None,
        },
        dev_readonly,
        preopened,
        cwd: match config.process.as_ref() {
            Some(p) => {
                Some(InRootPath::new(&p.cwd, "process.cwd")?).filter(|c| !c.names.is_empty())
            }
            None => None,
        },
    })
}

/// Mount points of full (root of the file system) procfs and sysfs mounts that
/// are not under `root`, from our mount table (the container's new mount
/// namespace starts as a copy of it).
fn full_proc_and_sysfs_outside(input: &PlanInput, root: &Path) -> Result<Vec<CString>> {
    let table =
        mountinfo(input).map_err(|e| Error::path("read", Path::new("/proc/self/mountinfo"), e))?;
    let mut out = Vec::new();
    for line in table.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let Some(sep) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        let (Some(fs_root), Some(point), Some(fstype)) = (f.get(3), f.get(4), f.get(sep + 1))
        else {
            continue;
        };
        if *fs_root != "/" || !matches!(*fstype, "proc" | "sysfs") {
            continue;
        }
        let point = crate::sys::proc::unescape_mountinfo(point);
        if Path::new(&point).starts_with(root) {
            continue;
        }
        out.push(cstring(&point, "--no-pivot")?);
    }
    Ok(out)
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
    // Anywhere inside the root, as runc allows (`/mnt/mydev`): the path is
    // resolved in the root like every mount destination.
    let p = InRootPath::new(path, what)?;
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
        if !is_bind || mnt.uid_mappings.is_empty() || mnt.gid_mappings.is_empty() {
            return Err(not_validated(format!("{what}.uidMappings")));
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

    // /proc safety (CVE-2019-16884, CVE-2019-19921): only a real procfs on /proc
    // (a proc mount, or as runc a bind whose source is a procfs: rootless
    // `--pid host`), and only runc's allow-list of binds below it. What the config
    // alone decides is `spec::validate`'s; the bind source's file system is the
    // host's to tell.
    let procfs_only = dest.display == "/proc" && is_bind;
    if procfs_only {
        let source = resolve_in_bundle(&input.bundle, &mnt.source);
        let magic = cstring(&source.to_string_lossy(), &format!("{what}.source"))
            .ok()
            .and_then(|c| crate::sys::fs::statfs_magic(&c).ok());
        if magic != Some(crate::sys::fs::PROC_SUPER_MAGIC) {
            return Err(Error::Config(format!(
                "{what}: /proc must be a procfs: the bind source {} is not one",
                source.display()
            )));
        }
    }
    let no_symlink = matches!(dest.display.as_str(), "/proc" | "/sys" | "/dev");

    if is_bind {
        let source = resolve_in_bundle(&input.bundle, &mnt.source);
        let meta = std::fs::metadata(&source)
            .map_err(|e| Error::Config(format!("{what}.source: {}: {e}", source.display())))?;
        out.push(MountStep {
            config_index: Some(i),
            dest,
            kind: MountKind::Bind {
                source: cstring(&source.to_string_lossy(), &format!("{what}.source"))?,
                recursive: opts.recursive,
                procfs_only,
                preopen: None,
                attr: attr_of(opts.attr_set, opts.attr_clr),
                rec_attr: attr_of(opts.rec_attr_set, opts.rec_attr_clr),
                idmap,
            },
            propagation: opts.propagation,
            dest_is_file: !meta.is_dir(),
            no_symlink,
            type_name: "bind".into(),
            at: At::Root,
        });
        return Ok(());
    }
    if typ.is_empty() {
        return Err(not_validated(format!("{what}.type")));
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
        config_index: Some(i),
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
        at: At::Root,
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
        config_index: Some(i),
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
        at: At::Root,
    };
    // The container's own cgroup directory of the host, bound read-only as asked.
    let bind = |dest: InRootPath, source: &PathBuf, attr: MountAttr, at: At| -> Result<MountStep> {
        Ok(MountStep {
            config_index: Some(i),
            dest,
            kind: MountKind::Bind {
                source: cstring(&source.to_string_lossy(), &what)?,
                recursive: false,
                procfs_only: false,
                preopen: None,
                attr,
                rec_attr: MountAttr::default(),
                idmap: None,
            },
            propagation: 0,
            dest_is_file: false,
            no_symlink: false,
            type_name: "cgroup".into(),
            at,
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
        CgroupView::V2 { path } => out.push(bind(dest, path, bind_attr, At::Root)?),
        CgroupView::V1 { hierarchies } => {
            let base = dest.display.clone();
            out.push(tmpfs(
                dest,
                m::MOUNT_ATTR_NOSUID | m::MOUNT_ATTR_NODEV | m::MOUNT_ATTR_NOEXEC,
            ));
            // The binds get their attributes with the tmpfs, in one recursive
            // mount_setattr once all are in place (one call instead of one per
            // hierarchy); nothing runs in the container before. Each goes onto a
            // directory made directly in the fresh tmpfs (At::InLastFs: 4 system
            // calls a hierarchy instead of 9 with a walk from the root).
            for (name, path) in hierarchies {
                let dest = InRootPath::new(&format!("{base}/{name}"), &what)?;
                out.push(bind(dest, path, MountAttr::default(), At::InLastFs)?);
            }
            out.push(MountStep {
                config_index: Some(i),
                dest: InRootPath::new(&base, &what)?,
                kind: MountKind::Setattr {
                    attr: bind_attr,
                    recursive: true,
                },
                propagation: 0,
                dest_is_file: false,
                no_symlink: false,
                type_name: "cgroup".into(),
                at: At::LastFs,
            });
        }
    }
    Ok(())
}

/// `process.env` with one entry per name, as runc sets it: a name keeps the place of
/// its first entry and the value of its last (`exec --env` appends its overrides).
fn dedup_env<'a>(env: &'a [spec::Str<'_>]) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::with_capacity(env.len());
    let mut index = std::collections::HashMap::with_capacity(env.len());
    for e in env {
        let e = e.as_str();
        let name = e.split_once('=').map_or(e, |(n, _)| n);
        match index.get(name) {
            Some(&i) => out[i] = e,
            None => {
                index.insert(name, out.len());
                out.push(e);
            }
        }
    }
    out
}

/// The process part of a plan (also used alone by `exec`); `home` is appended
/// to the environment as `HOME=` (see [`super::home`]). `p` has passed
/// `spec::validate`'s process rules (a config's, or `exec`'s `parse_process` and
/// its checked overrides).
pub fn process_plan(
    p: &spec::Process<'_>,
    last_cap: u32,
    home: Option<&str>,
) -> Result<ProcessPlan> {
    if p.args.is_empty() {
        return Err(not_validated("process.args"));
    }
    let argv = CStrArray::new(p.args.iter().map(|s| s.as_str()), "process.args")?;
    let home = home.map(|h| format!("HOME={h}"));
    let env = dedup_env(&p.env);
    let envp = CStrArray::new(env.iter().copied().chain(home.as_deref()), "process.env")?;
    let arg0 = p.args[0].as_str();
    let exec_candidates = if arg0.contains('/') {
        vec![cstring(arg0, "process.args[0]")?]
    } else {
        // No PATH (or an empty one) searches nowhere, as runc (Go's exec.LookPath)
        // and crun: the exec then fails with "executable file not found in $PATH".
        let path = p
            .env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("");
        path.split(':')
            .filter(|_| !path.is_empty())
            .map(|dir| {
                let dir = if dir.is_empty() { "." } else { dir };
                cstring(&format!("{dir}/{arg0}"), "process.args[0]")
            })
            .collect::<Result<Vec<_>>>()?
    };

    // No `capabilities` means none at all (runc): every set empty, the bounding
    // set included. `exec` fills the field from the container's own process first.
    let caps = match &p.capabilities {
        None => Some(crate::sys::caps::CapSets::default()),
        Some(c) => {
            let mask = |names: &[spec::Str<'_>], set: &str| -> Result<u64> {
                let mut m = 0u64;
                for (i, n) in names.iter().enumerate() {
                    let num = spec::capability_number(n)
                        .ok_or_else(|| not_validated(format!("process.capabilities.{set}[{i}]")))?;
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
        let resource = spec::rlimit_resource(&r.typ)
            .ok_or_else(|| not_validated(format!("process.rlimits[{i}].type")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_cut_around_the_pid() {
        let (head, tail) = split_state(&format!(
            r#"{{"ociVersion":"1.0.2","id":"c","status":"created","pid":{STATE_PID_PLACEHOLDER},"bundle":"/b"}}"#
        ));
        assert_eq!(
            String::from_utf8(head).unwrap(),
            r#"{"ociVersion":"1.0.2","id":"c","status":"created","pid":"#
        );
        assert_eq!(String::from_utf8(tail).unwrap(), r#","bundle":"/b"}"#);
    }

    #[test]
    fn mountinfo_escapes_are_decoded() {
        use crate::sys::proc::unescape_mountinfo;
        assert_eq!(unescape_mountinfo(r"/a\040b\011c\134d"), "/a b\tc\\d");
        assert_eq!(unescape_mountinfo(r"/plain"), "/plain");
        assert_eq!(unescape_mountinfo(r"/end\04"), r"/end\04");
    }

    #[test]
    fn sysctl_names_read_as_runc_reads_them() {
        use crate::spec::names::{sysctl_dotted, sysctl_namespace, sysctl_rel_path};
        assert_eq!(
            sysctl_dotted("net/ipv4/conf/eth0.100/rp_filter"),
            "net.ipv4.conf.eth0/100.rp_filter"
        );
        assert_eq!(
            sysctl_rel_path("net/ipv4/conf/eth0.100/rp_filter").as_deref(),
            Some("net/ipv4/conf/eth0.100/rp_filter")
        );
        assert_eq!(
            sysctl_rel_path("net.ipv4.ip_forward").as_deref(),
            Some("net/ipv4/ip_forward")
        );
        for bad in [
            "net/../kernel/core_pattern",
            "net..x",
            ".net.x",
            "net.x.",
            "net/./x",
        ] {
            assert_eq!(sysctl_rel_path(bad), None, "{bad}");
        }
        assert_eq!(sysctl_namespace("kernel.shm_rmid_forced"), Some("ipc"));
        assert_eq!(sysctl_namespace("fs.mqueue.msg_max"), Some("ipc"));
        assert_eq!(sysctl_namespace("net.core.somaxconn"), Some("network"));
        assert_eq!(sysctl_namespace("kernel.domainname"), Some("uts"));
        assert_eq!(sysctl_namespace("kernel.core_pattern"), None);
        assert_eq!(sysctl_namespace("kernel.shm_next_id"), None);
    }
}
