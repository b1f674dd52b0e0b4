//! `exec`: run another process in a running container. The helper is cloned into
//! the container's cgroup (CLONE_INTO_CGROUP on v2) but outside its pid namespace,
//! joins every namespace of the init with one `setns` on the pidfd (the pid
//! namespace for its children only), applies the process's identity, rlimits, cwd
//! and capabilities from a precomputed plan, like the init, and execs the sealed
//! trampoline, which forks the process the container sees (CVE-2019-5736 with
//! CAP_SYS_PTRACE: see spawn/trampoline.rs).

use std::os::fd::AsRawFd;
use std::path::Path;

use crate::context::{Context, ExecOptions, Status};
use crate::error::{Error, Result};
use crate::lifecycle::{join_fallback, join_fds, write_pid_file};
use crate::plan::{process_plan, Namespaces, Plan};
use crate::signals;
use crate::spawn::{self, SpawnIo};
use crate::spec::{self, Str};
use crate::state::{Container, Record, Store};
use crate::sys::{caps, pidfd, proc};

/// The process to run: from `--process FILE`, or the container's own process
/// saved at create, with the command line's overrides (as runc does).
fn process_json(opts: &ExecOptions, rec: &Record) -> Result<Vec<u8>> {
    if let Some(json) = &opts.process_json {
        return Ok(json.clone());
    }
    match (&opts.process, &rec.process) {
        (Some(p), _) => {
            std::fs::read(p).map_err(|e| Error::Config(format!("--process {}: {e}", p.display())))
        }
        (None, Some(saved)) => Ok(saved.clone().into_bytes()),
        (None, None) => Err(Error::InvalidState(format!(
            "container {}: no saved process to base exec on; give --process FILE",
            rec.id
        ))),
    }
}

/// The command line's overrides (`exec` flags) on top of the process document.
pub fn apply_overrides<'a>(p: &mut spec::Process<'a>, opts: &'a ExecOptions) -> Result<()> {
    if opts.process.is_none() && opts.process_json.is_none() {
        if opts.args.is_empty() {
            return Err(Error::InvalidArgument(
                "exec: a command is required (or --process FILE)".into(),
            ));
        }
        p.args = opts.args.iter().map(|a| Str::from(a.as_str())).collect();
    }
    for e in &opts.env {
        // Later entries win, so appending overrides the config's value.
        p.env.push(Str::from(e.as_str()));
    }
    if let Some(cwd) = &opts.cwd {
        p.cwd = Str::from(cwd.as_str());
    }
    if let Some((uid, gid)) = opts.user {
        p.user.uid = uid;
        if let Some(g) = gid {
            p.user.gid = g;
        }
    }
    if !opts.additional_gids.is_empty() {
        p.user.additional_gids = opts.additional_gids.clone();
    }
    if !opts.caps.is_empty() {
        let c = p.capabilities.get_or_insert_with(Default::default);
        for cap in &opts.caps {
            if spec::capability_number(cap).is_none() {
                return Err(Error::InvalidArgument(format!(
                    "--cap: unknown capability {cap:?}"
                )));
            }
            // As runc (CVE-2022-29162): bounding, effective and permitted only;
            // inheritable and ambient never grow beyond what the config asked for.
            for set in [&mut c.bounding, &mut c.effective, &mut c.permitted] {
                if !set.iter().any(|s| s.as_str() == cap) {
                    set.push(Str::from(cap.as_str()));
                }
            }
        }
    }
    if opts.no_new_privs {
        p.no_new_privileges = true;
    }
    // runc: without --process, the process has a terminal only with --tty, whatever
    // the container's own `process.terminal` says; a --process file says itself
    // (runc ignores --tty then).
    if opts.process.is_none() && opts.process_json.is_none() {
        p.terminal = opts.tty;
    }
    Ok(())
}

/// The container's seccomp filter (saved at create), for the new process too.
fn seccomp_plan(
    ctx: &Context,
    store: &Store,
    id: &str,
    no_new_privs: bool,
) -> Result<Option<crate::seccomp::SeccompPlan>> {
    let path = store.dir(id)?.join(crate::seccomp::notify::STATE_FILE);
    let buf = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::path("read", &path, e)),
    };
    let s: spec::Seccomp<'_> = serde_json::from_slice(&buf)
        .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    for w in crate::seccomp::compile::unknown_syscalls(&s) {
        ctx.warn(&w);
    }
    crate::seccomp::prepare(&s, ctx.seccomp_cache_dir().as_deref(), no_new_privs).map(Some)
}

/// When the container's pids cgroup is at its limit (what makes a clone or the
/// trampoline's fork fail with EAGAIN, reported without its reason): a clear error.
fn pids_full_error(cg: Option<&crate::cgroups::Cgroup>) -> Option<Error> {
    let dir = cg?.v1_dir("pids").or_else(|| cg?.v2_dir())?;
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
    let max: u64 = read("pids.max")?.trim().parse().ok()?;
    let current: u64 = read("pids.current")?.trim().parse().ok()?;
    (current >= max).then(|| Error::Sys {
        op: "exec: the container's pids cgroup is full (linux.resources.pids.limit reached)",
        source: std::io::Error::from_raw_os_error(libc::EAGAIN),
    })
}

/// What `exec` ended with.
pub(crate) enum Outcome {
    /// The process's exit code (the foreground exec waited for it).
    Exited(i32),
    /// `--detach`: the process runs, a child of the caller (its pid and pidfd).
    Detached(spawn::Init),
}

/// Run a process in a container.
pub(crate) fn exec(ctx: &Context, id: &str, opts: &ExecOptions) -> Result<Outcome> {
    // Before opening anything: which of the fds to preserve the caller really has.
    let preserve_absent = crate::spawn::absent_fds(opts.preserve_fds);
    let c = Container::peek(ctx, id)?;
    let paused = c.status() == Status::Paused;
    if paused && !opts.ignore_paused {
        return Err(Error::InvalidState(format!(
            "cannot exec in a paused container {id} (resume it first)"
        )));
    }
    let c = c.require(
        "exec in",
        &[Status::Running, Status::Created, Status::Paused],
    )?;
    let (store, rec) = (&c.store, &c.rec);
    let sub = crate::cgroups::SubCgroups::parse(&opts.cgroup)?;
    // The container's own process: its capabilities stand in for a `--process`
    // file that has none (runc), never "all of root's".
    let mut saved_buf = rec.process.clone().map(String::into_bytes);
    crate::trace::mark("state.load");
    let mut buf = process_json(opts, rec)?;
    let mut process = spec::parse_process(&mut buf)?;
    if process.capabilities.is_none() {
        if let Some(b) = saved_buf.as_mut() {
            process.capabilities = spec::parse_process(b)?.capabilities;
        }
    }
    apply_overrides(&mut process, opts)?;
    crate::lifecycle::check_terminal(process.terminal, opts.console_socket.is_some(), opts.detach)?;
    crate::trace::mark("parse");

    // Pin the init with a pidfd, then check it is still the container's.
    let target = pidfd::open(rec.pid).map_err(|e| {
        Error::InvalidState(format!(
            "cannot exec in container {id}: container not running ({})",
            e.into_io()
        ))
    })?;
    if !proc::is_alive(rec.pid, Some(rec.start_time)) {
        return Err(Error::InvalidState(format!(
            "cannot exec in container {id}: container not running"
        )));
    }

    // HOME from the container's passwd when the process has none (runc), read
    // through the init's root.
    let home = crate::plan::home::needs_home(&process.env).then(|| {
        crate::plan::home::home_in_root(
            Path::new(&format!("/proc/{}/root", rec.pid)),
            process.user.uid,
        )
    });
    let join_target = proc::differing_namespaces(rec.pid);
    let plan = std::sync::Arc::new(Plan {
        ns: Namespaces {
            join_target,
            become_root: join_target & libc::CLONE_NEWUSER != 0,
            ..Default::default()
        },
        id_maps: None,
        rootfs: None,
        chroot: None,
        sysctls: Vec::new(),
        hostname: None,
        domainname: None,
        process: process_plan(&process, caps::last_cap(), home.as_deref())?,
        new_keyring: true,
        preserve_fds: opts.preserve_fds,
        preserve_absent,
        hooks_sync: false,
        seccomp: seccomp_plan(ctx, store, id, process.no_new_privileges)?,
        start_hooks: Vec::new(),
        start_state: Default::default(),
        loopback_up: false,
    });
    crate::trace::mark("plan");

    let cg = c.cgroup().filter(|cg| cg.exists());
    // `--ignore-paused` into a paused container: a process that joined the frozen
    // cgroup before its exec would freeze in its setup, and the runtime wait for
    // it forever (runc 1.1.5 does). With a v1 freezer it joins that one last,
    // once it has exec'd; in a frozen cgroup2 tree it would be born frozen.
    let freezer_last = paused;
    let cg = match cg {
        Some(cg) if freezer_last => {
            if !cg.has_v1_freezer() {
                return Err(Error::InvalidState(format!(
                    "cannot exec in paused container {id} on cgroup v2: a new process \
                     is born frozen there, before it can start (resume it first)"
                )));
            }
            if !sub.is_empty() {
                return Err(Error::InvalidState(format!(
                    "cannot exec in paused container {id} with --cgroup (resume it first)"
                )));
            }
            Some(cg.without_v1_freezer())
        }
        cg => cg,
    };
    // `--cgroup`: existing sub-cgroups of the container's, checked before the clone.
    let sub_dirs = match &cg {
        Some(cg) if !sub.is_empty() => Some(cg.sub_dirs(&sub)?),
        None if !sub.is_empty() => {
            return Err(Error::InvalidState(format!(
                "--cgroup: container {id} has no cgroup"
            )))
        }
        _ => None,
    };
    // As the init: born in the cgroup2 cgroup, joins the v1 ones itself. Into
    // sub-cgroups (`--cgroup`) the runtime moves it after the clone (born in the
    // sub-cgroup on pure v2).
    let (v2_fd, tasks) = match (&cg, &sub_dirs) {
        (Some(cg), None) => join_fds(cg)?,
        (Some(cg), Some(_)) if cg.layout().is_v2() => (Some(cg.open_v2_dir_at(&sub)?), Vec::new()),
        _ => (None, Vec::new()),
    };
    let tasks_raw: Vec<libc::c_int> = tasks.iter().map(|f| f.as_raw_fd()).collect();
    crate::trace::mark("cgroup.open");
    let mut after_clone = |pid: libc::pid_t, joined: spawn::SelfJoin| -> Result<()> {
        match (&cg, &sub_dirs) {
            (Some(cg), Some(dirs)) if v2_fd.is_none() => {
                cg.add_pid_to(pid, dirs).map_err(Error::from)
            }
            (Some(cg), None) => join_fallback(ctx, cg, pid, joined),
            _ => Ok(()),
        }
    };

    let mask = signals::forwardable();
    let old = if opts.detach {
        None
    } else {
        Some(signals::block(&mask)?)
    };
    let result = (|| {
        let child = spawn::spawn(
            &plan,
            SpawnIo {
                start_fd: None,
                cgroup_fd: v2_fd.as_ref().map(|f| f.as_raw_fd()),
                cgroup_tasks: &tasks_raw,
                cgroup_prime: None,
                target_pidfd: Some(target.as_raw_fd()),
                stdio: opts.stdio,
                mode: ctx.spawn,
                netns: None,
                after_go: None,
                meanwhile: None,
                after_clone: &mut after_clone,
                on_hooks: None,
            },
        )
        .map_err(|e| pids_full_error(cg.as_ref()).unwrap_or(e))?;
        let mut child = child;
        let notify_fd = child.seccomp_notify.take();
        let setup = || -> Result<()> {
            if let Some(l) = plan.seccomp.as_ref().and_then(|s| s.listener.as_ref()) {
                let fd = notify_fd.ok_or_else(|| {
                    Error::Internal("the exec'd process sent no seccomp notify fd".into())
                })?;
                let st = crate::state::OciState::of(rec, "running", rec.pid);
                crate::seccomp::notify::send(l, &st, child.pid, fd)?;
            }
            if let (Some(master), Some(socket)) = (&child.pty, &opts.console_socket) {
                crate::terminal::send_to_console_socket(socket, master)?;
            }
            if let Some(p) = &opts.pid_file {
                write_pid_file(p, child.pid)?;
            }
            Ok(())
        };
        if let Err(e) = setup() {
            child.kill_and_reap();
            return Err(e);
        }
        let pty = child.pty.take().filter(|_| opts.console_socket.is_none());
        if let Some(master) = &pty {
            crate::terminal::prepare_foreground(0, master.as_raw_fd());
        }
        if let Err(e) = child.commit_and_confirm() {
            child.kill_and_reap();
            return Err(e);
        }
        if freezer_last {
            // It has exec'd: now it freezes with the rest of the container.
            if let Some(Err(e)) = cg.as_ref().map(|cg| cg.join_v1_freezer(child.pid)) {
                child.kill_and_reap();
                return Err(e.into());
            }
        }
        if opts.detach {
            return Ok(Outcome::Detached(child));
        }
        let r = match pty {
            Some(master) => crate::terminal::proxy_until_exit(&child, master, &mask),
            None => signals::forward_until_exit(&child, &mask),
        };
        crate::trace::mark("process");
        r.map(Outcome::Exited)
    })();
    if let Some(old) = old {
        // As for run: late signals for the exited process must not kill us.
        signals::drain_pending(&mask);
        signals::restore(&old);
    }
    result
}
