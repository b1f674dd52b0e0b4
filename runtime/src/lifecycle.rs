//! The container lifecycle behind the API: create, start, run, state, list, kill,
//! delete. Each operation reads the state record, never the whole config again
//! (except create/run, which parse it once).

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cgroups::systemd::{self as sd, Systemd};
use crate::cgroups::{self, Cgroup, Driver, Layout};
use crate::context::{Context, CreateOptions, Status};
use crate::error::{Error, Result};
use crate::hooks::{self, Hook, Place, SavedHooks};
use crate::plan::{self, CgroupView, PlanInput};
use crate::signals;
use crate::spawn::{self, Init, SpawnIo};
use crate::state::{self, cgroup_of, Container, Lock, Record, Store, EXEC_FIFO};
use crate::sys::{self, caps, fs, pidfd, proc};
use crate::trace;

/// What `create` made.
pub(crate) struct Created {
    pub init: Init,
    pub record: Record,
    /// The container's cgroup (None: rootless without one), for `run`'s cleanup:
    /// no second layout detection.
    pub cgroup: Option<Cgroup>,
    /// The id's lock, for `run` to hold until its init has exec'd.
    pub lock: Option<Lock>,
    /// The systemd driver's connection, for `run`'s cleanup (one connection).
    pub systemd: Option<Systemd>,
}

/// Holds the id's lock for the whole create; removes what a failed create made
/// (cgroup, state dir), unless disarmed.
struct CreateGuard<'a> {
    store: &'a Store,
    id: &'a str,
    lock: Option<Lock>,
    cgroup: Option<Cgroup>,
    /// The systemd driver's unit (stopped and reset on failure).
    systemd_unit: Option<String>,
    armed: bool,
}

impl Drop for CreateGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(cg) = &self.cgroup {
                let _ = cg.kill_everything();
            }
            if let Some(unit) = &self.systemd_unit {
                let _ =
                    Systemd::connect(crate::rootless::is_rootless()).and_then(|mut s| s.stop(unit));
            }
            if let Some(cg) = &self.cgroup {
                let _ = cg.destroy();
            }
            if let Some(lock) = &self.lock {
                let _ = self.store.remove(self.id, lock);
            }
        }
    }
}

/// How the container's cgroup looks from inside, for the `cgroup` mount.
fn cgroup_view(cg: &Cgroup) -> CgroupView {
    if cg.layout().is_v2() {
        return match cg.v2_dir() {
            Some(path) => CgroupView::V2 { path },
            None => CgroupView::None,
        };
    }
    let depth = cg.rel_path().components().count();
    let mut hierarchies: Vec<(String, PathBuf)> = cg
        .v1_dirs()
        .into_iter()
        .filter_map(|dir| {
            let mountpoint = dir.ancestors().nth(depth)?;
            let name = mountpoint.file_name()?.to_str()?.to_string();
            Some((name, dir))
        })
        .collect();
    if let Some(dir) = cg.v2_dir() {
        hierarchies.push(("unified".to_string(), dir));
    }
    CgroupView::V1 { hierarchies }
}

fn make_fifo(dir: &Path, min_fd: u32) -> Result<OwnedFd> {
    let path = dir.join(EXEC_FIFO);
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Internal("NUL in state path".into()))?;
    sys::fd::mkfifo(&c, 0o600).map_err(|e| Error::path("mkfifo", &path, e.into_io()))?;
    // O_RDWR never blocks on a fifo; the init inherits it and blocks in read()
    // until `start` writes. Above the preserved fd range, close-on-exec.
    let fd = sys::fd::open_at(libc::AT_FDCWD, &c, libc::O_RDWR | libc::O_CLOEXEC, 0)
        .map_err(|e| Error::path("open", &path, e.into_io()))?;
    sys::fd::dup_above(&fd, min_fd as libc::c_int).map_err(|e| Error::Sys {
        op: "dup exec fifo",
        source: e.into_io(),
    })
}

/// Write the pid file atomically (temp file + rename), as containerd expects.
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path).map_err(|e| Error::path("resolve pid file", path, e))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("pid")
    ));
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::path("write pid file", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::path("write pid file", &path, e))
}

/// The terminal options must agree: a pty goes to the console socket, or (only in
/// the foreground) to the caller's terminal.
pub(crate) fn check_terminal(terminal: bool, socket: bool, detached: bool) -> Result<()> {
    match (terminal, socket) {
        (true, false) if detached => Err(Error::Config(
            "process.terminal: a terminal needs --console-socket when the runtime does not stay in the foreground"
                .into(),
        )),
        (false, true) => Err(Error::Config(
            "--console-socket given but process.terminal is false".into(),
        )),
        _ => Ok(()),
    }
}

/// The container's cgroup as the config asks for it, and the writes
/// `linux.resources` becomes: checked before anything is made.
struct CgroupPlan {
    cg: Cgroup,
    /// Its path relative to each hierarchy's root.
    rel: PathBuf,
    writes: Vec<cgroups::resources::Write>,
    /// Pure v2: the device rules as an eBPF program.
    device_prog: Option<Vec<crate::sys::bpf::Insn>>,
    rootless: bool,
    /// `linux.cgroupsPath` was given.
    given_path: bool,
    /// The systemd driver: the unit to make and its properties.
    unit: Option<sd::Unit>,
    sd_props: sd::Properties,
    systemd: Option<Systemd>,
    /// The mount table the layout was read from (v1 and hybrid hosts), for the plan.
    mountinfo: Option<String>,
}

fn plan_cgroup(ctx: &Context, id: &str, config: &crate::spec::Config<'_>) -> Result<CgroupPlan> {
    let linux = config.linux.as_ref();
    let cgroups_path = linux
        .map(|l| l.cgroups_path.as_str())
        .filter(|p| !p.is_empty());
    let rootless = crate::rootless::is_rootless();
    let (layout, mountinfo) = Layout::detect_keeping_mountinfo()?;
    // The systemd driver: the unit, and a connection made before anything is.
    let mut unit = if ctx.systemd_cgroup {
        if !layout.is_v2() {
            return Err(Error::Unsupported(
                "systemd cgroup driver: fastrun supports it on cgroup v2 (unified) hosts only; \
                 this host has cgroup v1 hierarchies (use the cgroupfs driver)"
                    .into(),
            ));
        }
        Some(sd::unit_for(cgroups_path, id, rootless)?)
    } else {
        None
    };
    // A connection made now: systemd sets it up while the plan is made. Rootless,
    // the user's manager puts its units under its own cgroup (runc asks it too).
    let mut systemd = match &mut unit {
        Some(u) => {
            let mut sd = Systemd::connect(rootless)?;
            if rootless {
                u.cgroup = sd.manager_cgroup()?.join(&u.cgroup);
            }
            Some(sd)
        }
        None => None,
    };
    let rel = match &unit {
        Some(u) => u.cgroup.clone(),
        None => match (rootless && cgroups_path.is_none() && layout.is_v2())
            .then(crate::rootless::own_v2_cgroup_parent)
            .flatten()
        {
            // rootless on pure v2 without a path: under the parent of our own cgroup
            // (a systemd user session's delegated subtree), as runc
            Some(parent) => cgroups::path::resolve(
                Driver::Cgroupfs,
                Some(&parent.join(id).to_string_lossy()),
                id,
            )?,
            None => cgroups::path::resolve(Driver::Cgroupfs, cgroups_path, id)?,
        },
    };
    // linux.resources → cgroup writes, checked before anything is made.
    let cg = Cgroup::new(layout, &rel);
    let cg = if rootless {
        cg.best_effort_extras()
    } else {
        cg
    };
    let res = cgroups::for_container(linux)?;
    // systemd: the limits it expresses become unit properties (with the
    // `org.systemd.property.*` annotations); the rest is written to the files.
    let (sd_props, rest) = match &unit {
        Some(_) => {
            let (mut props, rest) = sd::properties(&res)?;
            props.extend(sd::annotation_properties(
                config
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.as_ref(), v.as_ref())),
            )?);
            (props, std::borrow::Cow::Owned(rest))
        }
        None => (Vec::new(), std::borrow::Cow::Borrowed(&res)),
    };
    let mut writes = cg.writes(&rest)?;
    if rootless {
        // as runc: v1 device rules are not enforced rootless (only root of the
        // initial user namespace may write devices.allow/deny)
        writes.retain(|w| w.target != cgroups::resources::Target::V1("devices"));
    }
    cg.check(&writes)?;
    // pure v2: the device rules become an eBPF program (systemd: none when the
    // unit's own program says the rules exactly, see `sd::properties`)
    if unit.is_some() && !res.devices.is_empty() && rest.devices.is_empty() {
        ctx.debug(
            "systemd cgroup driver: the unit's DeviceAllow enforces the device rules \
             exactly; fastrun attaches no device program of its own",
        );
    }
    let device_prog = cg.device_program(&rest.devices)?;
    Ok(CgroupPlan {
        cg,
        rel,
        writes,
        device_prog,
        rootless,
        given_path: cgroups_path.is_some(),
        unit,
        sd_props,
        systemd: systemd.take(),
        mountinfo,
    })
}

/// The record of a container being created (pid 0 until its init exists).
fn new_record(
    id: &str,
    config: &crate::spec::Config<'_>,
    process: &crate::spec::Process<'_>,
    bundle: &Path,
    rel: &Path,
) -> Record {
    let root_path = config.root.as_ref().map(|r| r.path.as_str()).unwrap_or("");
    Record {
        id: id.to_string(),
        oci_version: config.oci_version.to_string(),
        pid: 0,
        start_time: 0,
        rootfs: if root_path.starts_with('/') {
            PathBuf::from(root_path)
        } else {
            bundle.join(root_path)
        },
        bundle: bundle.to_path_buf(),
        created: state::rfc3339_now(),
        owner_uid: sys::geteuid(),
        annotations: config
            .annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cgroup: Some(rel.to_path_buf()),
        cgroup_layout: None,
        systemd_unit: None,
        own_pid_ns: false,
        hooks: SavedHooks::from_spec(config.hooks.as_ref()),
        process: serde_json::to_string(process).ok(),
    }
}

/// Fail when the container's cgroup exists with processes in it, or frozen.
fn check_cgroup_free(cg: &Cgroup, rel: &Path) -> Result<()> {
    if cg.exists() && !cg.pids()?.is_empty() {
        return Err(Error::InvalidState(format!(
            "linux.cgroupsPath: cgroup {} is in use by other processes",
            rel.display()
        )));
    }
    // A frozen cgroup (or one under a frozen parent) would freeze the init as it
    // joins, before it reports anything: fail as runc does, before making anything.
    if cg.exists() && cg.is_frozen_for_new_processes()? {
        return Err(frozen(rel));
    }
    Ok(())
}

fn frozen(rel: &Path) -> Error {
    Error::InvalidState(format!(
        "linux.cgroupsPath: container's cgroup {} unexpectedly frozen",
        rel.display()
    ))
}

/// Make the container's cgroup and apply its limits but the device program, which
/// is returned for the spawn to attach (see [`DeferredDevices`]). None: rootless
/// without a cgroup.
fn make_cgroup(
    ctx: &Context,
    cgp: CgroupPlan,
    record: &mut Record,
) -> Result<(Option<Cgroup>, Option<DeferredDevices>)> {
    let CgroupPlan {
        cg,
        rel,
        writes,
        device_prog,
        rootless,
        given_path,
        ..
    } = cgp;
    let rel = &rel;
    // Rootless without write access to the cgroup tree and without a cgroupsPath:
    // like runc, no cgroup of its own when no limit needs one; a clear error when
    // one does. A given cgroupsPath (a cgroup handed over to the user) must work.
    let cg = match cg.create() {
        Ok(()) => Some(cg),
        Err(e)
            if rootless
                && !given_path
                && matches!(
                    e.errno(),
                    Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS)
                ) =>
        {
            // the hierarchies made before the refusal (none of them is ours to keep)
            let _ = cg.destroy();
            if let Some(w) = writes.first() {
                return Err(Error::Config(format!(
                    "linux.resources: cannot set {w}: {e}: a rootless container needs a \
                     delegated cgroup for limits (give linux.cgroupsPath a cgroup you own, \
                     remove the limits, or run as root)"
                )));
            }
            ctx.debug(&format!("rootless: running without a cgroup ({e})"));
            record.cgroup = None;
            record.cgroup_layout = None;
            None
        }
        Err(e) => return Err(e.into()),
    };
    trace::mark("cgroup.create");
    if let Some(cg) = &cg {
        // Made now under a frozen parent: frozen too (removed by the guard).
        if cg.is_frozen_for_new_processes()? {
            return Err(frozen(rel));
        }
        cg.apply(&writes)?;
    }
    let devices = cg
        .as_ref()
        .and(device_prog)
        .map(|prog| DeferredDevices { prog, rootless });
    Ok((cg, devices))
}

/// The device program of a pure-v2 cgroup, attached once the init is cloned
/// (`SpawnIo::after_go`): while it makes its mounts (the kernel's verifier takes
/// ~100 µs of a start), and it waits for it before it makes any device node; an
/// init without mounts of its own waits for it before it goes on at all.
struct DeferredDevices {
    prog: Vec<crate::sys::bpf::Insn>,
    rootless: bool,
}

impl DeferredDevices {
    fn attach(&self, ctx: &Context, cg: &Cgroup) -> Result<()> {
        match cg.set_device_program(&self.prog) {
            Ok(()) => Ok(()),
            // as runc: a rootless container in a delegated cgroup cannot load
            // BPF programs; the device rules are then not enforced
            Err(e) if self.rootless && e.errno() == Some(libc::EPERM) => {
                ctx.debug(&format!("rootless: device rules not enforced ({e})"));
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Create a container. With `fifo`, the init is committed (it waits for `start`);
/// without, it execs as soon as the caller commits (run).
///
/// The steps, in order: read the config, plan the cgroup, make the state directory
/// with a first record, make the cgroup, build the plan, spawn the init (the create
/// hooks run while it waits), record it and commit. Until the end, a failure
/// removes what was made (`CreateGuard`).
pub(crate) fn create(ctx: &Context, id: &str, opts: &CreateOptions, fifo: bool) -> Result<Created> {
    // Before opening anything: which of the fds to preserve the caller really has.
    let preserve_absent = crate::spawn::absent_fds(opts.preserve_fds);
    state::validate_id(id)?;
    let bundle = crate::spec::absolute_bundle(&opts.bundle)?;
    let mut buf = Vec::new();
    let config = match &opts.config {
        Some(json) => crate::spec::load_config(json, &mut buf)?,
        None => crate::spec::load_file(&bundle.join("config.json"), &mut buf)?,
    };
    let process = check_process(&config, opts, fifo)?;
    trace::mark("parse");
    // A new network namespace is made meanwhile, beside the steps up to the spawn.
    let mut netns = spawn::netns::Premade::start(&plan::namespaces_of(&config)?);
    if netns.is_some() {
        trace::mark("netns.start");
    }
    let mut cgp = plan_cgroup(ctx, id, &config)?;
    trace::mark("cgroup.plan");
    let mut systemd = cgp.systemd.take();
    let mountinfo = cgp.mountinfo.take();

    let store = Store::new(&ctx.root);
    let (dir, lock) = store.create_dir(id)?;
    let mut guard = CreateGuard {
        store: &store,
        id,
        lock: Some(lock),
        cgroup: None,
        systemd_unit: None,
        armed: true,
    };

    check_cgroup_free(&cgp.cg, &cgp.rel)?;

    let mut record = new_record(id, &config, process, &bundle, &cgp.rel);
    record.cgroup_layout = Some(cgp.cg.layout().clone());
    record.systemd_unit = cgp.unit.as_ref().map(|u| u.name.clone());
    // A first record (pid 0: "creating") so that `delete --force` can clean up
    // after a runtime killed at any point from here on: it is saved before the
    // cgroup exists, else a kill in between leaves a cgroup no record names.
    store.save(&record)?;
    trace::mark("state.create");

    let (cg, sd_join, devices) = setup_cgroup(ctx, cgp, &mut record, &mut guard)?;
    trace::mark("cgroup.apply");
    let (v2_fd, tasks) = match &cg {
        Some(cg) if sd_join.is_none() => join_fds(cg)?,
        _ => (None, Vec::new()),
    };
    // systemd, as root: the init is born in the scope's directory, made now
    let premade = match (&cg, &sd_join) {
        (Some(cg), Some(j)) if !crate::rootless::is_rootless() => {
            sd::premade_scope_dir(&j.unit, cg)
        }
        _ => None,
    };
    let (v2_fd, prime) = match premade {
        Some((dir, procs)) => (Some(dir), Some(procs)),
        None => (v2_fd, None),
    };
    trace::mark("cgroup.open");

    let input = PlanInput {
        bundle,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        preserve_absent,
        cgroups: cg.as_ref().map(cgroup_view).unwrap_or_default(),
        runtime_in_userns: crate::rootless::in_user_namespace(),
        last_cap: caps::last_cap(),
        seccomp_cache: ctx.seccomp_cache_dir(),
        start_state: hook_state(&record, "created", plan::STATE_PID_PLACEHOLDER),
        mountinfo,
    };
    let plan = build_plan(ctx, &config, &input, &dir, &mut record)?;

    let fifo_fd = if fifo {
        Some(make_fifo(&dir, 3 + opts.preserve_fds)?)
    } else {
        None
    };
    trace::mark("plan");
    let netns_fd = netns.as_mut().and_then(|n| {
        let fd = n.namespace(&plan);
        trace::mark("netns.wait");
        fd
    });
    // The init is born in its cgroup2 cgroup (CLONE_INTO_CGROUP) and joins its v1
    // ones itself before it goes on; we move it where that failed.
    let mut after_clone = |pid: libc::pid_t, joined: spawn::SelfJoin| -> Result<()> {
        match (&cg, &sd_join, systemd.as_mut()) {
            (Some(cg), Some(j), Some(sd)) => systemd_join(ctx, sd, j, cg, pid),
            (Some(cg), _, _) => join_fallback(ctx, cg, pid, joined),
            _ => Ok(()),
        }
    };
    let mut on_hooks = |pid: libc::pid_t, pidfd: RawFd| -> Result<()> {
        // `lo` is up before the hooks run, as in runc
        if let Some(n) = netns.take() {
            n.finish()?;
        }
        create_hooks(&config, &record, &plan, pid, pidfd)
    };
    let mut after_go = || -> Result<()> {
        if let (Some(cg), Some(d)) = (&cg, &devices) {
            d.attach(ctx, cg)?;
            trace::mark("cgroup.devices");
        }
        Ok(())
    };
    // The record with the init's pid, written while the init sets itself up: once
    // it is ready, one rename puts it in place.
    let mut staged = None;
    let mut meanwhile = |pid: libc::pid_t, start_time: u64| -> Result<()> {
        let mut r = record.clone();
        r.pid = pid;
        r.start_time = start_time;
        staged = Some(store.stage(&r)?);
        trace::mark("state.stage");
        Ok(())
    };
    let mut init = spawn::spawn(
        &plan,
        SpawnIo {
            start_fd: fifo_fd.as_ref().map(|f| f.as_raw_fd()),
            cgroup_fd: v2_fd.as_ref().map(|f| f.as_raw_fd()),
            cgroup_tasks: &tasks.iter().map(|f| f.as_raw_fd()).collect::<Vec<_>>(),
            cgroup_prime: prime.as_ref().map(|f| f.as_raw_fd()),
            target_pidfd: None,
            stdio: opts.stdio,
            mode: ctx.spawn,
            netns: netns_fd,
            after_clone: &mut after_clone,
            after_go: if devices.is_some() {
                Some(&mut after_go)
            } else {
                None
            },
            meanwhile: Some(&mut meanwhile),
            on_hooks: if plan.hooks_sync {
                Some(&mut on_hooks)
            } else {
                None
            },
        },
    )?;
    // `lo` up before the init may go on (the helper was quicker than the init's setup)
    if let Some(Err(e)) = netns.take().map(spawn::netns::Premade::finish) {
        init.kill_and_reap();
        return Err(e);
    }
    if let Err(e) = record_init(&store, &mut record, &mut init, &plan, opts, fifo, staged) {
        init.kill_and_reap();
        return Err(e);
    }
    guard.armed = false;
    Ok(Created {
        init,
        record,
        cgroup: cg,
        lock: guard.lock.take(),
        systemd,
    })
}

/// Create, step "read the config": the process to start, checked against how it
/// is started (terminal, console socket, detached), and the sysctls against the
/// namespaces.
fn check_process<'c, 'a>(
    config: &'c crate::spec::Config<'a>,
    opts: &CreateOptions,
    fifo: bool,
) -> Result<&'c crate::spec::Process<'a>> {
    let process = config
        .process
        .as_ref()
        .ok_or_else(|| Error::Config("process: required to create a container".into()))?;
    check_terminal(process.terminal, opts.console_socket.is_some(), fifo)?;
    plan::check_sysctl_namespaces(config)?;
    Ok(process)
}

/// Create, step "make the cgroup": with the cgroupfs driver, made and its limits
/// applied now; with the systemd driver, what to do once the init exists (the
/// unit is made with it). From here on a failure removes the cgroup (also one
/// half made) and stops the unit.
fn setup_cgroup(
    ctx: &Context,
    mut cgp: CgroupPlan,
    record: &mut Record,
    guard: &mut CreateGuard<'_>,
) -> Result<(Option<Cgroup>, Option<SystemdJoin>, Option<DeferredDevices>)> {
    guard.cgroup = Some(cgp.cg.clone());
    let sd_join = match cgp.unit.take() {
        Some(unit) => {
            guard.systemd_unit = record.systemd_unit.clone();
            Some(SystemdJoin {
                unit,
                props: std::mem::take(&mut cgp.sd_props),
                writes: std::mem::take(&mut cgp.writes),
                device_prog: cgp.device_prog.take(),
            })
        }
        None => None,
    };
    let (cg, devices) = match &sd_join {
        Some(_) => (Some(cgp.cg), None),
        None => make_cgroup(ctx, cgp, record)?,
    };
    guard.cgroup = cg.clone();
    Ok((cg, sd_join, devices))
}

/// Create, step "build the plan": the plan for the init; the seccomp profile kept
/// in the state directory for `exec` (which joins the same filter, compiled again
/// or from the cache); what the plan decided written into the record.
fn build_plan(
    ctx: &Context,
    config: &crate::spec::Validated<'_>,
    input: &PlanInput,
    dir: &Path,
    record: &mut Record,
) -> Result<std::sync::Arc<plan::Plan>> {
    let plan = std::sync::Arc::new(plan::build(config, input)?);
    if let Some(sc) = config.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
        for w in crate::seccomp::compile::unknown_syscalls(sc) {
            ctx.warn(&w);
        }
        let path = dir.join(crate::seccomp::notify::STATE_FILE);
        let json = serde_json::to_vec(sc)
            .map_err(|e| Error::Internal(format!("serialize linux.seccomp: {e}")))?;
        std::fs::write(&path, json).map_err(|e| Error::path("write", &path, e))?;
    }
    record.own_pid_ns = plan.ns.clone_flags & libc::CLONE_NEWPID as u64 != 0;
    if let Some(r) = &plan.rootfs {
        record.rootfs = PathBuf::from(r.path.to_string_lossy().into_owned());
    }
    Ok(plan)
}

/// Create, step "hooks": prestart and createRuntime in our namespaces,
/// createContainer in the container's, while the init waits after its mounts,
/// before pivot_root.
fn create_hooks(
    config: &crate::spec::Config<'_>,
    record: &Record,
    plan: &plan::Plan,
    pid: libc::pid_t,
    pidfd: RawFd,
) -> Result<()> {
    let Some(h) = config.hooks.as_ref() else {
        return Ok(());
    };
    let state = hook_state(record, "creating", pid);
    let conv = |v: &[crate::spec::Hook<'_>]| v.iter().map(Hook::from_spec).collect::<Vec<_>>();
    // As runc: the runtime's environment for hooks without `env`, the
    // bundle as working directory (runc's create runs in it).
    let in_bundle = hooks::Env {
        fallback: None,
        cwd: Some(&record.bundle),
    };
    hooks::run_all_in(
        "prestart",
        &conv(&h.prestart),
        &state,
        Place::Runtime,
        in_bundle,
    )?;
    hooks::run_all_in(
        "createRuntime",
        &conv(&h.create_runtime),
        &state,
        Place::Runtime,
        in_bundle,
    )?;
    // createContainer runs as from runc's init before pivot_root: in the
    // container's root, with the process's environment.
    let flags = proc::differing_namespaces(pid);
    let process_env: Vec<String> = config
        .process
        .as_ref()
        .map(|p| p.env.iter().map(|e| e.to_string()).collect())
        .unwrap_or_default();
    let root = plan
        .rootfs
        .as_ref()
        .map(|r| PathBuf::from(std::ffi::OsStr::from_bytes(r.path.to_bytes())));
    let r = hooks::run_all_in(
        "createContainer",
        &conv(&h.create_container),
        &state,
        Place::Container { pidfd, flags },
        hooks::Env {
            fallback: Some(&process_env),
            cwd: root.as_deref(),
        },
    );
    trace::mark("hooks.create");
    r
}

/// Create, last step: the console to its socket, the record with the init's pid,
/// the seccomp notify fd to its listener, the pid file; with `fifo`, the commit
/// (the init goes on to wait for `start`). A failure here kills the init.
fn record_init(
    store: &Store,
    record: &mut Record,
    init: &mut Init,
    plan: &plan::Plan,
    opts: &CreateOptions,
    fifo: bool,
    staged: Option<state::Staged>,
) -> Result<()> {
    let notify_fd = init.seccomp_notify.take();
    if let (Some(master), Some(socket)) = (&init.pty, &opts.console_socket) {
        crate::terminal::send_to_console_socket(socket, master)?;
    }
    record.pid = init.pid;
    record.start_time = init.start_time;
    // Staged with the pid the init had at the go: the one followed since, unless
    // the exec trampoline forked (a joined pid namespace).
    match staged.filter(|s| s.is_of(record)) {
        Some(s) => s.commit()?,
        None => store.save(record)?,
    }
    trace::mark("state.save");
    if let Some(l) = plan.seccomp.as_ref().and_then(|s| s.listener.as_ref()) {
        let fd = notify_fd.ok_or_else(|| {
            Error::Internal("the container init sent no seccomp notify fd".into())
        })?;
        let st = state::OciState::of(record, "creating", record.pid);
        crate::seccomp::notify::send(l, &st, record.pid, fd)?;
    }
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, init.pid)?;
        trace::mark("pid_file");
    }
    if fifo {
        // The state is saved: let the init go on to block on the exec fifo,
        // still under the lock (a delete waiting for it finds it created).
        trace::mark("commit");
        init.commit()?;
    }
    Ok(())
}

/// What the systemd driver does after the clone.
struct SystemdJoin {
    unit: sd::Unit,
    props: sd::Properties,
    writes: Vec<cgroups::resources::Write>,
    device_prog: Option<Vec<crate::sys::bpf::Insn>>,
}

/// The systemd driver, after the clone: systemd makes the unit with the init (still
/// waiting) in it, then the runtime writes what systemd does not express and
/// attaches the device program, as the cgroupfs driver does before the clone.
fn systemd_join(
    ctx: &Context,
    systemd: &mut Systemd,
    j: &SystemdJoin,
    cg: &Cgroup,
    pid: libc::pid_t,
) -> Result<()> {
    let SystemdJoin {
        unit,
        props,
        writes,
        device_prog,
    } = j;
    let desc = format!("fastrun container {}", unit.name);
    systemd.start(unit, &desc, Some(pid), props)?;
    trace::mark("systemd.start");
    // systemd moved the init: check it did, where we expect (never run a container
    // outside its cgroup)
    let want = format!("0::/{}", unit.cgroup.display());
    let have = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    if !have.lines().any(|l| l == want) {
        return Err(Error::Sys {
            op: "systemd cgroup driver",
            source: std::io::Error::other(format!(
                "unit {} started but the init {pid} is not in its cgroup /{} (it is in {:?})",
                unit.name,
                unit.cgroup.display(),
                have.trim()
            )),
        });
    }
    // limits systemd set but cannot enforce: the cgroup lacks their controller
    let controllers = cg
        .v2_dir()
        .and_then(|d| std::fs::read_to_string(d.join("cgroup.controllers")).ok())
        .unwrap_or_default();
    let mut missing: Vec<String> = props
        .iter()
        .filter_map(|(n, _)| sd::controller_of(n).map(|c| (n, c)))
        .filter(|(_, c)| !controllers.split_whitespace().any(|x| x == *c))
        .map(|(n, c)| format!("{n} (no {c} controller)"))
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        ctx.warn(&format!(
            "systemd cgroup driver: unit {} has the properties {} but its cgroup /{} has \
             the controllers [{}]: systemd records them without enforcing them",
            unit.name,
            missing.join(", "),
            unit.cgroup.display(),
            controllers.trim()
        ));
    }
    cg.apply(writes)?;
    if let Some(p) = device_prog {
        match cg.set_device_program(p) {
            Ok(()) => {}
            // as with the cgroupfs driver: rootless cannot load BPF programs (the
            // unit's DeviceAllow still applies, systemd's program)
            Err(e) if crate::rootless::is_rootless() && e.errno() == Some(libc::EPERM) => ctx
                .debug(&format!(
                    "rootless: device rules not enforced by fastrun ({e})"
                )),
            Err(e) => return Err(e.into()),
        }
    }
    trace::mark("cgroup.apply");
    Ok(())
}

/// What a new process of the container `cg` joins its cgroups with: the cgroup2
/// directory for CLONE_INTO_CGROUP and the v1 `tasks` files it writes itself.
pub(crate) fn join_fds(cg: &Cgroup) -> Result<(Option<OwnedFd>, Vec<OwnedFd>)> {
    if cg.is_best_effort() {
        // Rootless: joins the named and unified hierarchies may refuse are skipped;
        // the runtime moves the process (`join_fallback`), as before the self-join.
        return Ok((None, Vec::new()));
    }
    let v2 = if cg.v2_dir().is_some() {
        Some(cg.open_v2_dir()?)
    } else {
        None
    };
    Ok((v2, cg.open_v1_tasks()?))
}

/// After the clone: where the new process could not join its v1 cgroups itself
/// (an older kernel, a write refused), the runtime moves it (`cgroup.procs`).
pub(crate) fn join_fallback(
    ctx: &Context,
    cg: &Cgroup,
    pid: libc::pid_t,
    joined: spawn::SelfJoin,
) -> Result<()> {
    match joined {
        spawn::SelfJoin::Done => Ok(()),
        spawn::SelfJoin::NotAsked if cg.is_best_effort() => Ok(cg.add_pid(pid)?),
        spawn::SelfJoin::NotAsked => Ok(cg.add_pid_v1(pid)?),
        spawn::SelfJoin::Failed { index, errno } => {
            ctx.debug(&format!(
                "cgroup: process {pid} could not join its v1 cgroup {} itself ({}); \
                 the runtime moves it",
                cg.v1_dirs()
                    .get(index as usize)
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
                std::io::Error::from_raw_os_error(errno)
            ));
            Ok(cg.add_pid_v1(pid)?)
        }
    }
}

/// The OCI state JSON given to hooks.
pub(crate) fn hook_state(rec: &Record, status: &str, pid: i32) -> String {
    state::OciState::of(rec, status, pid).to_json()
}

/// poststart hooks; on failure the container is killed and the error returned.
/// `cwd`: the hooks' working directory (`run`: the bundle, as runc's `run` has
/// moved there; `start`: the caller's).
fn poststart_hooks(rec: &Record, init_pidfd: RawFd, cwd: Option<&Path>) -> Result<()> {
    let Some(h) = rec.hooks.as_ref().filter(|h| !h.poststart.is_empty()) else {
        return Ok(());
    };
    let state = hook_state(rec, "running", rec.pid);
    let env = hooks::Env {
        fallback: None,
        cwd,
    };
    hooks::run_all_in("poststart", &h.poststart, &state, Place::Runtime, env).inspect_err(|_| {
        let _ = pidfd::send_signal(init_pidfd, libc::SIGKILL);
    })
}

/// Let a created container run its program.
pub(crate) fn start(ctx: &Context, id: &str) -> Result<()> {
    let mut c = Container::load(ctx, id)?;
    trace::mark("state.load");
    c = c.require("start", &[Status::Created])?;
    let rec = &c.rec;
    let init = open_init(rec).ok_or_else(|| {
        Error::InvalidState(format!(
            "cannot start container {id}: container not running"
        ))
    })?;
    // startContainer hooks: the init runs them itself once let go (plan.start_hooks).
    trace::mark("status");
    let fifo = c.file(EXEC_FIFO);
    let c_path = CString::new(fifo.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Internal("NUL in state path".into()))?;
    // Non-blocking: ENXIO means no reader, i.e. the init is gone.
    let fd = match fs::openat(
        libc::AT_FDCWD,
        &c_path,
        libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        0,
    ) {
        Ok(fd) => fd,
        Err(e) if e.0 == libc::ENXIO => {
            return Err(Error::InvalidState(format!(
                "cannot start container {id}: container not running"
            )))
        }
        Err(e) => return Err(Error::path("open", &fifo, e.into_io())),
    };
    let r = fs::write_all(fd, b"s");
    fs::close(fd);
    r.map_err(|e| Error::path("write", &fifo, e.into_io()))?;
    trace::mark("start.fifo");
    std::fs::remove_file(&fifo).map_err(|e| Error::path("remove", &fifo, e))?;
    trace::mark("state.fifo_remove");
    let r = poststart_hooks(rec, init.as_raw_fd(), None).inspect_err(|_| {
        // As runc (not the runtime-spec's "warn and go on"): a failing poststart
        // hook fails the command and the container is killed and removed, its
        // poststop hooks run (see docs/compatibility.md).
        let _ = kill_and_wait(rec, false);
        if let Ok(lock) = c.held() {
            let _ = destroy(ctx, &c.store, lock, rec, c.cgroup());
        }
    });
    if rec.hooks.as_ref().is_some_and(|h| !h.poststart.is_empty()) {
        trace::mark("hooks.poststart");
    }
    c.unlock();
    trace::mark("state.unlock");
    r
}

/// Open a pidfd on the container's init, checking it is still the same process.
fn open_init(rec: &Record) -> Option<OwnedFd> {
    if rec.pid <= 0 {
        return None;
    }
    let fd = pidfd::open(rec.pid).ok()?;
    // Checked after opening: from here on the pidfd pins this very process.
    proc::is_alive(rec.pid, Some(rec.start_time)).then_some(fd)
}

/// Send a signal to the init (or, with `all`, every process of the container).
pub(crate) fn kill(ctx: &Context, id: &str, signal: i32, all: bool) -> Result<()> {
    // Under the lock: a create in progress is signalled once it has committed,
    // never half made (its init killed during setup).
    let c = Container::load(ctx, id)?;
    trace::mark("state.load");
    if all {
        // Every process of the cgroup, also after the init has exited.
        if let Some(cg) = c.cgroup().filter(|cg| cg.exists()) {
            let r = cg.kill_all(signal).map_err(Error::from);
            trace::mark("cgroup.kill");
            return r;
        }
    }
    let init = open_init(&c.rec);
    let Some(fd) = init else {
        if all {
            return Ok(());
        }
        return Err(Error::InvalidState(format!(
            "cannot kill container {id}: container not running"
        )));
    };
    pidfd::send_signal(fd.as_raw_fd(), signal).map_err(|e| Error::Sys {
        op: "kill",
        source: e.into_io(),
    })
}

/// Wait until the process behind `fd` has exited (it is not our child: poll).
fn wait_exit(fd: RawFd, timeout: Duration) -> bool {
    // An embedding host's signals (Go preempts its threads with SIGURG) interrupt
    // the poll: sys::poll goes on waiting for the rest of the time.
    let deadline = std::time::Instant::now() + timeout;
    sys::poll::readable(fd, Some(deadline)).unwrap_or(false)
}

/// Delete a container.
pub(crate) fn delete(ctx: &Context, id: &str, force: bool) -> Result<()> {
    let store = Store::new(&ctx.root);
    let lock = match store.lock(id) {
        Err(Error::NotFound(_)) if force => return Ok(()),
        other => other?,
    };
    trace::mark("state.lock");
    let rec = match store.load(id) {
        Ok(r) => r,
        // A state directory without a record: a create that died before its first
        // one (it held the lock we hold now), before it made anything else.
        Err(Error::NotFound(_)) => return store.remove(id, &lock),
        Err(e @ Error::CorruptState { .. }) if !force => return Err(e),
        Err(Error::CorruptState { path, reason }) => {
            ctx.warn(&format!(
                "{}: damaged state record ({reason}): removing what the id names",
                path.display()
            ));
            return destroy_damaged(ctx, &store, &lock, id, &path);
        }
        Err(e) => return Err(e),
    };
    let st = state::status(&store, &rec);
    trace::mark("state.load");
    // systemd sets a new connection up while the container is killed
    let sd = rec
        .systemd_unit
        .as_ref()
        .and_then(|_| Systemd::connect(crate::rootless::is_rootless()).ok());
    match st {
        Status::Stopped | Status::Creating => {}
        Status::Created => kill_and_wait(&rec, false)?,
        Status::Running | Status::Paused if force => kill_and_wait(&rec, st == Status::Paused)?,
        s => {
            return Err(Error::InvalidState(format!(
                "cannot delete container {id} that is not stopped: {}",
                s.as_str()
            )))
        }
    }
    trace::mark("kill");
    let r = destroy_in(ctx, &store, &lock, &rec, cgroup_of(&rec), sd, None);
    // The last close of the removed directory frees its inode (on a disk, it can wait).
    drop(lock);
    trace::mark("state.unlock");
    r
}

/// `delete --force` of a container whose record cannot be read: what is in the
/// cgroup the record still names (if that much can be read) and in the default
/// cgroup of the id is killed, the systemd scope the record names (or, with the
/// systemd driver, the id's default scope) stopped, those cgroups removed, then the
/// state directory.
fn destroy_damaged(ctx: &Context, store: &Store, lock: &Lock, id: &str, path: &Path) -> Result<()> {
    let driver = if ctx.systemd_cgroup {
        Driver::Systemd
    } else {
        Driver::Cgroupfs
    };
    let rootless = crate::rootless::is_rootless();
    // A record with one bad field is still JSON: its other fields can be read.
    let partial = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let field = |k: &str| {
        partial
            .as_ref()
            .and_then(|v| v.get(k)?.as_str().map(String::from))
    };
    let mut rels: Vec<PathBuf> = field("cgroup").map(PathBuf::from).into_iter().collect();
    if let Ok(rel) = cgroups::path::resolve(driver, None, id) {
        rels.push(rel);
    }
    // Only scopes: fastrun makes nothing else, and a damaged name must not stop
    // some other unit of the machine.
    let mut units: Vec<String> = field("systemd_unit").into_iter().collect();
    if ctx.systemd_cgroup {
        if let Ok(u) = sd::unit_for(None, id, rootless) {
            units.push(u.name);
        }
    }
    units.retain(|u| u.ends_with(".scope"));
    units.dedup();
    let cgs: Vec<Cgroup> = rels.iter().filter_map(|r| Cgroup::load(r).ok()).collect();
    let mut first_err = None;
    for cg in &cgs {
        if let Err(e) = cg.kill_everything() {
            first_err.get_or_insert(e.into());
        }
    }
    if !units.is_empty() {
        match Systemd::connect(rootless) {
            Ok(mut sd) => {
                for u in &units {
                    if let Err(e) = sd.stop(u) {
                        first_err.get_or_insert(e.into());
                    }
                }
            }
            Err(e) => {
                first_err.get_or_insert(e.into());
            }
        }
    }
    for cg in &cgs {
        if let Err(e) = cg.destroy() {
            first_err.get_or_insert(e.into());
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    store.remove(id, lock)
}

/// Remove what a container leaves: processes still in its cgroup, the cgroup, the
/// state; then run the poststop hooks (a failure there is only a warning).
fn destroy(
    ctx: &Context,
    store: &Store,
    lock: &Lock,
    rec: &Record,
    cg: Option<Cgroup>,
) -> Result<()> {
    destroy_in(ctx, store, lock, rec, cg, None, None)
}

/// [`destroy`], the poststop hooks running in `cwd` (`run`: the bundle, as runc).
fn destroy_in(
    ctx: &Context,
    store: &Store,
    lock: &Lock,
    rec: &Record,
    cg: Option<Cgroup>,
    systemd: Option<Systemd>,
    cwd: Option<&Path>,
) -> Result<()> {
    let r = destroy_quietly(store, lock, rec, cg, systemd);
    if let Some(h) = rec.hooks.as_ref().filter(|h| !h.poststop.is_empty()) {
        let state = hook_state(rec, "stopped", 0);
        let env = hooks::Env {
            fallback: None,
            cwd,
        };
        if let Err(e) = hooks::run_all_in("poststop", &h.poststop, &state, Place::Runtime, env) {
            ctx.warn(&e.to_string());
        }
        trace::mark("hooks.poststop");
    }
    r
}

/// `systemd`: a connection to stop the unit with (else one is made).
fn destroy_quietly(
    store: &Store,
    lock: &Lock,
    rec: &Record,
    cg: Option<Cgroup>,
    systemd: Option<Systemd>,
) -> Result<()> {
    trace::mark("cgroup.load");
    // Usually nothing is left (the init and its pid namespace are gone): the
    // rmdirs alone then remove the cgroup. A systemd unit is stopped first.
    if let Some(cg) = cg.as_ref().filter(|_| rec.systemd_unit.is_none()) {
        if cg.destroy_if_empty() {
            trace::mark("cgroup.rmdir");
            let r = store.remove(&rec.id, lock);
            trace::mark("state.remove");
            return r;
        }
    }
    if let Some(cg) = cg {
        cg.kill_everything()?;
        trace::mark("cgroup.kill");
        if let Some(unit) = &rec.systemd_unit {
            let mut sd = match systemd {
                Some(sd) => sd,
                None => Systemd::connect(crate::rootless::is_rootless())?,
            };
            sd.stop(unit)?;
            trace::mark("systemd.stop");
        }
        // Unconditionally: a create killed while making the cgroup leaves some
        // hierarchies' directories without the primary one `exists` looks at.
        cg.destroy()?;
        trace::mark("cgroup.rmdir");
    }
    let r = store.remove(&rec.id, lock);
    trace::mark("state.remove");
    r
}

fn kill_and_wait(rec: &Record, thaw: bool) -> Result<()> {
    if let Some(fd) = open_init(rec) {
        let _ = pidfd::send_signal(fd.as_raw_fd(), libc::SIGKILL);
        // A frozen init dies only once thawed (after the signal: no user code runs).
        if let Some(cg) = cgroup_of(rec).filter(|_| thaw) {
            let _ = cg.thaw();
        }
        if !wait_exit(fd.as_raw_fd(), Duration::from_secs(10)) {
            return Err(Error::InvalidState(format!(
                "container {}: init {} did not exit after SIGKILL",
                rec.id, rec.pid
            )));
        }
    }
    Ok(())
}

/// Create, start and wait: the foreground `run`. Signals are forwarded to the init.
pub(crate) fn run(ctx: &Context, id: &str, opts: &CreateOptions) -> Result<i32> {
    let mask = signals::forwardable();
    let old = signals::block(&mask)?;
    let result = (|| {
        let created = create(ctx, id, opts, false)?;
        let mut created = created;
        let pty = created
            .init
            .pty
            .take()
            .filter(|_| opts.console_socket.is_none());
        if let Some(master) = &pty {
            crate::terminal::prepare_foreground(0, master.as_raw_fd());
        }
        let pidfd = created.init.pidfd.as_raw_fd();
        // The init runs the startContainer hooks before its exec.
        let confirmed = created.init.commit_and_confirm();
        drop(created.lock.take());
        let code = confirmed
            .and_then(|()| poststart_hooks(&created.record, pidfd, Some(&created.record.bundle)))
            .and_then(|()| match pty {
                Some(master) => crate::terminal::proxy_until_exit(&created.init, master, &mask),
                None => signals::forward_until_exit(&created.init, &mask),
            });
        trace::mark("container");
        if code.is_err() {
            created.init.kill_and_reap();
        }
        if let (Ok(c), true) = (&code, opts.keep) {
            let rec = &created.record;
            crate::children::record_exit(&ctx.root, id, rec.pid, rec.start_time, *c);
        }
        if !opts.keep {
            let cg = created.cgroup.take();
            let sd = created.systemd.take();
            let rec = &created.record;
            // Under the id's lock again (create released it): a concurrent
            // delete --force may have removed the container meanwhile.
            let store = Store::new(&ctx.root);
            match store.lock(id) {
                Ok(lock) => destroy_in(ctx, &store, &lock, rec, cg, sd, Some(&rec.bundle))?,
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        code
    })();
    // Signals that arrived for the container after it exited are moot: swallow
    // them (as runc does) rather than let the restored mask deliver them to us, which
    // would turn the container's exit status into our own death by that signal.
    signals::drain_pending(&mask);
    signals::restore(&old);
    result
}
