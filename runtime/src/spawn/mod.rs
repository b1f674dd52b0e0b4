//! Creating the container's init: the parent side of the spawn.
//!
//! 1. Before the clone: the sync socketpair, fds of namespaces to join, the host's
//!    /dev/null, all moved above the `--preserve-fds` range.
//! 2. `clone3` (namespace flags, `CLONE_PIDFD`, `CLONE_INTO_CGROUP` on v2); the child
//!    runs [`child::main`] over the precomputed plan. No re-exec of the runtime.
//!    The child first joins its v1 cgroups itself (writes `0` to each `tasks`
//!    fd the parent opened) and reports how that went.
//! 3. The parent writes the id maps, moves the child into the v1 cgroups if its
//!    own join failed, sets `oom_score_adj`, then says go; the child reports
//!    ready or a failure.

// The child executor: runs between clone and exec on raw system calls without
// allocating (a pointer-level `VmArg` in the shared-memory mode), so `unsafe` here.
#[allow(unsafe_code)]
mod child;
pub mod describe;
mod idmap;
pub mod netns;
pub mod protocol;
// Hands this process's memory to the child (`clone_vm` with a raw entry point
// and argument): part of the child executor.
#[allow(unsafe_code)]
pub mod shared_vm;
pub mod trampoline;

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::sys::clone::{fork_into, Side};
use crate::sys::socket::send_all;
use crate::sys::{pidfd, Errno};
use protocol::{
    Msg, MARK_NAMES, MSG_CGROUPS, MSG_ERROR, MSG_HOOKS, MSG_PTY, MSG_READY, MSG_SECCOMP_FD,
    MSG_TIME,
};

/// A `--trace` mark the child sent.
fn child_mark(m: &Msg) {
    if let Some(name) = MARK_NAMES.get(m.step as usize) {
        crate::trace::child_mark(name, m.index as u64 | (m.arg as u64) << 32);
    }
}

/// What the parent supplies besides the plan.
pub struct SpawnIo<'a> {
    /// The exec fifo (opened O_RDWR) the init waits on until `start`; None for `run`,
    /// where the init waits on the sync socket instead.
    pub start_fd: Option<RawFd>,
    /// The container's cgroup2 directory for CLONE_INTO_CGROUP (pure v2, or the
    /// unified tree of hybrid).
    pub cgroup_fd: Option<RawFd>,
    /// The `tasks` files (write-only) of the container's v1 cgroups: the child
    /// joins them itself, first thing. Empty on pure v2.
    pub cgroup_tasks: &'a [RawFd],
    /// The systemd driver: `cgroup.procs` (write-only) of the cgroup the child is
    /// born in (the scope's premade directory); it writes `0` there first thing, to
    /// start the grace period systemd's move of it needs (`child::prime_migration`).
    pub cgroup_prime: Option<RawFd>,
    /// A pidfd of the process whose namespaces `plan.ns.join_target` names (exec).
    pub target_pidfd: Option<RawFd>,
    /// Runs in the parent after the clone and before the child goes on, with the
    /// outcome of the child's own cgroup join (the fallback: add it to the v1
    /// cgroups whose `tasks` write failed). An error aborts the spawn.
    pub after_clone: &'a mut dyn FnMut(libc::pid_t, SelfJoin) -> Result<()>,
    /// Runs when the child has made its mounts, before pivot_root (the create
    /// hooks): given the child's pid and pidfd. An error aborts the spawn.
    pub on_hooks: Option<&'a mut dyn FnMut(libc::pid_t, RawFd) -> Result<()>>,
    /// Fds to become the child's 0, 1 and 2 (instead of the caller's).
    pub stdio: Option<[RawFd; 3]>,
    /// Which clone to use.
    pub mode: SpawnMode,
    /// The new network namespace the plan asks for, already made ([`netns`]):
    /// joined instead of `clone3` making one.
    pub netns: Option<OwnedFd>,
    /// Runs in the parent after the go, while the child makes its mounts (the
    /// cgroup's device program); the child makes no device node before it has
    /// returned. Without a rootfs plan (no mounts to overlap) it runs before the
    /// go. An error aborts the spawn.
    pub after_go: Option<&'a mut dyn FnMut() -> Result<()>>,
    /// Runs in the parent once the child has gone on (after `after_go`), with its
    /// pid and start time, while it sets itself up (create stages the record the
    /// commit needs). An error aborts the spawn.
    pub meanwhile: Option<&'a mut dyn FnMut(libc::pid_t, u64) -> Result<()>>,
}

/// How the child's own join of its v1 cgroups went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfJoin {
    /// No `tasks` files were given.
    NotAsked,
    /// The child is in every cgroup it was given.
    Done,
    /// The write to the `tasks` file number `index` failed with `errno` (the
    /// later ones were still tried): the parent must move the child.
    Failed { index: u32, errno: i32 },
}

/// How the init is cloned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SpawnMode {
    /// Shared memory when the caller is large (see [`SpawnMode::resolve`]).
    #[default]
    Auto,
    /// Fork-like: the child gets a copy-on-write copy of the caller. Its cost grows
    /// with the memory the caller has touched.
    Fork,
    /// vfork-style: the child shares the caller's memory until its exec (see
    /// [`shared_vm`]); falls back to `Fork` where the plan needs it.
    SharedVm,
}

/// Above this peak RSS a caller uses the shared-memory spawn in `Auto` mode.
const LARGE_HOST_KB: libc::c_long = 64 << 10;

impl std::str::FromStr for SpawnMode {
    type Err = String;

    /// `auto`, `fork` or `vm`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" | "" => Ok(SpawnMode::Auto),
            "fork" => Ok(SpawnMode::Fork),
            "vm" => Ok(SpawnMode::SharedVm),
            _ => Err(format!(
                "unknown spawn mode \"{s}\" (want auto, fork or vm)"
            )),
        }
    }
}

impl SpawnMode {
    /// Whether the spawn of `plan` shares memory.
    pub fn shares_memory(self, plan: &Plan) -> bool {
        let wanted = match self {
            SpawnMode::Fork => false,
            SpawnMode::SharedVm => true,
            SpawnMode::Auto => peak_rss_kb() >= LARGE_HOST_KB,
        };
        wanted && shared_vm::supported(plan)
    }
}

/// Whether a procfs can be mounted for a pid namespace we are not in (asked once).
fn proc_takes_pidns() -> bool {
    static P: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *P.get_or_init(crate::sys::mount_api::proc_takes_pidns)
}

fn peak_rss_kb() -> libc::c_long {
    crate::sys::process::max_rss_kib().unwrap_or(0)
}

/// A spawned init, ready and blocked before the user program.
#[derive(Debug)]
pub struct Init {
    pub pid: libc::pid_t,
    pub pidfd: OwnedFd,
    /// The pty master when the process has a terminal.
    pub pty: Option<OwnedFd>,
    sock: OwnedFd,
    /// The seccomp notify fd the init sent (SCMP_ACT_NOTIFY), for the listener.
    pub seccomp_notify: Option<OwnedFd>,
    /// argv[0] of the process, for the message of an exec that fails after commit.
    arg0: String,
    /// The startContainer hooks' paths, for the message of one that fails.
    hook_paths: Vec<String>,
    /// The init's start time (`/proc/PID/stat` field 22), read while it waits
    /// for the go: read later, during the init's exec of the trampoline, the
    /// same read took 140 µs median instead of ~35 µs. 0 when unreadable.
    pub start_time: u64,
    /// A container's init (not an exec'd process): its start time is read.
    is_init: bool,
}

impl Init {
    /// Commit: the state is saved. Without an exec fifo (`run`) the init then execs
    /// the user program; with one (`create`) it waits for `start`.
    pub fn commit(&self) -> Result<()> {
        send_all(self.sock.as_raw_fd(), b"x").map_err(|e| Error::Sys {
            op: "start the container process",
            source: e.into_io(),
        })
    }

    /// Commit a process that has no exec fifo (run, exec) and wait until it has
    /// exec'd: the sync socket is close-on-exec, so EOF means the exec happened;
    /// a message means it failed, and says why.
    pub fn commit_and_confirm(&self) -> Result<()> {
        crate::trace::mark("commit");
        self.commit()?;
        let mut m = Msg::recv(self.sock.as_raw_fd());
        // --trace: the child's last marks come before its exec
        while let Ok(Some(t)) = m.as_ref().map(|m| m.filter(|m| m.kind == MSG_TIME)) {
            child_mark(&t);
            m = Msg::recv(self.sock.as_raw_fd());
        }
        let r = match m {
            Ok(None) => Ok(()),
            // Killed before it read the commit byte: a SEQPACKET peer that closes
            // with unread data resets the connection. Gone either way; its exit
            // status tells the rest.
            Err(Errno(libc::ECONNRESET)) => Ok(()),
            Ok(Some(m)) if m.kind == MSG_ERROR && m.step == protocol::Step::StartHook as u32 => {
                let i = m.index as usize;
                let why = match m.arg {
                    child::HOOK_TIMED_OUT => "timed out".to_string(),
                    child::HOOK_NOT_STARTED => format!("could not start it: {}", Errno(m.errno)),
                    code => format!("exit status {code}"),
                };
                Err(Error::Hook(format!(
                    "hooks.startContainer[{i}] ({}): {why} (its output is on the container's stderr)",
                    self.hook_paths.get(i).map_or("", |p| p.as_str())
                )))
            }
            Ok(Some(m)) if m.kind == MSG_ERROR => {
                let errno = Errno(m.errno);
                Err(Error::Init {
                    step: protocol::Step::Exec.as_str(),
                    field: Some("process.args".into()),
                    message: describe::exec_message(&self.arg0, errno),
                    errno: m.errno,
                })
            }
            Ok(Some(_)) => Err(Error::Internal("unexpected message after commit".into())),
            Err(e) => Err(Error::Sys {
                op: "wait for the container process to start",
                source: e.into_io(),
            }),
        };
        crate::trace::mark("exec");
        r
    }

    /// Wait for the init to exit and return its exit code (128+N for signal N).
    pub fn wait(&self) -> Result<i32> {
        let status = pidfd::wait(self.pidfd.as_raw_fd()).map_err(|e| Error::Sys {
            op: "wait for the container",
            source: e.into_io(),
        })?;
        Ok(pidfd::exit_code(status))
    }

    /// SIGKILL the init and reap it (cleanup after a failure).
    pub fn kill_and_reap(&self) {
        let _ = pidfd::send_signal(self.pidfd.as_raw_fd(), libc::SIGKILL);
        let _ = pidfd::wait(self.pidfd.as_raw_fd());
    }
}

fn sys(op: &'static str) -> impl Fn(Errno) -> Error {
    move |e| Error::Sys {
        op,
        source: e.into_io(),
    }
}

/// An fd moved to a number at or above `min`, close-on-exec.
fn above(fd: OwnedFd, min: u32) -> Result<OwnedFd> {
    if fd.as_raw_fd() >= min as RawFd {
        return Ok(fd);
    }
    crate::sys::fd::dup_above(&fd, min as RawFd).map_err(|e| Error::Sys {
        op: "dup fd above preserved range",
        source: e.into_io(),
    })
}

fn open_owned(path: &std::path::Path, flags: libc::c_int) -> Result<OwnedFd> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::InvalidArgument(format!("{}: NUL in path", path.display())))?;
    crate::sys::fd::open_at(libc::AT_FDCWD, &c, flags | libc::O_CLOEXEC, 0)
        .map_err(|e| Error::path("open", path, e.into_io()))
}

/// The fds of the preserved range `3..3+n` that are not open now (sorted). Call it
/// before the runtime opens anything: an fd the runtime opens later may take one of
/// these numbers (a pidfd, a namespace of the host, the state directory, a log), and
/// must not reach the container as if the caller had passed it (CVE-2024-21626).
pub fn absent_fds(n: u32) -> Vec<u32> {
    (3..3u32.saturating_add(n))
        .filter(|&fd| crate::sys::fd::cloexec(fd as RawFd).is_none())
        .collect()
}

/// Open the bind trees the plan marks `preopen` (in a user namespace the child
/// could not open a source only the host's root may read), in order.
fn preopen_trees(r: &crate::plan::RootfsPlan, min: u32) -> Result<Vec<OwnedFd>> {
    let mut out = Vec::with_capacity(r.preopened);
    for m in &r.mounts {
        if let crate::plan::MountKind::Bind {
            preopen: Some(_),
            source,
            ..
        } = &m.kind
        {
            let tree = crate::rootfs::open_bind_tree(m).map_err(|e| {
                let field = m.field();
                Error::Config(format!(
                    "{field}: bind {} on {}: {}: {}",
                    source.to_string_lossy(),
                    m.dest.display,
                    e.op.name(),
                    e.errno
                ))
            })?;
            out.push(above(tree.into_owned(), min)?);
        }
    }
    Ok(out)
}

/// Spawn the init for `plan`; returns once it is ready and waiting for start.
pub fn spawn(shared: &Arc<Plan>, mut io: SpawnIo<'_>) -> Result<Init> {
    let plan: &Plan = shared;
    let vm = io.mode.shares_memory(plan);
    let min = 3 + plan.preserve_fds;
    let (parent_sock, child_sock) =
        crate::sys::fd::socketpair(libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC).map_err(|e| {
            Error::Sys {
                op: "socketpair",
                source: e.into_io(),
            }
        })?;
    let parent_sock = above(parent_sock, min)?;
    let child_sock = above(child_sock, min)?;

    // Joining the pid namespace of a running container (exec, or a pid namespace
    // joined by path): the child stays outside it, joins it for its children only,
    // and its trampoline forks the process the container sees (see [`trampoline`]).
    // A procfs for a pid namespace we are not in needs the kernel's `pidns`
    // parameter (6.18): without it a joined path keeps the old way.
    let joins_pid_path = plan.ns.join.iter().any(|j| j.flag == libc::CLONE_NEWPID);
    // startContainer hooks run from the init after `start`: then the init waits for
    // `start` itself instead of the stub (and the stub never forks).
    let stub_waits = plan.start_hooks.is_empty();
    let fork = trampoline::AVAILABLE
        && stub_waits
        && ((io.target_pidfd.is_some() && plan.ns.join_target & libc::CLONE_NEWPID != 0)
            || (joins_pid_path && (plan.rootfs.is_none() || proc_takes_pidns())));
    let mut join_fds = Vec::with_capacity(plan.ns.join.len());
    let mut pid_ns_join: Option<OwnedFd> = None;
    for j in &plan.ns.join {
        let fd = open_owned(&j.path, libc::O_RDONLY)
            .map_err(|e| Error::Config(format!("linux.namespaces: {}: {e}", j.path.display())))?;
        if j.flag == libc::CLONE_NEWPID && !fork {
            pid_ns_join = Some(fd);
        } else {
            join_fds.push((j.flag, above(fd, min)?));
        }
    }
    // A network namespace made beforehand ([`netns`]): joined, with its `lo` up.
    let mut clone_flags = plan.ns.clone_flags;
    let mut loopback_up = plan.loopback_up;
    if let Some(fd) = io.netns.take().filter(|_| netns::applies(&plan.ns)) {
        join_fds.push((libc::CLONE_NEWNET, above(fd, min)?));
        clone_flags &= !(libc::CLONE_NEWNET as u64);
        loopback_up = false;
    }
    // The device program goes on while the child mounts (it waits before /dev).
    let wait_devices = io.after_go.is_some() && plan.rootfs.is_some();
    let proc_pidns = join_fds
        .iter()
        .find(|(flag, _)| *flag == libc::CLONE_NEWPID)
        .map_or(-1, |(_, fd)| fd.as_raw_fd());
    let join_raw: Vec<(libc::c_int, RawFd)> = join_fds
        .iter()
        .map(|(flag, fd)| (*flag, fd.as_raw_fd()))
        .collect();
    let idmap_fds = match &plan.rootfs {
        Some(r) => r
            .idmaps
            .iter()
            .map(|m| above(idmap::userns_fd(m)?, min))
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let idmap_raw: Vec<RawFd> = idmap_fds.iter().map(|f| f.as_raw_fd()).collect();
    let host_root = crate::sys::geteuid() == 0;
    let tree_fds = match &plan.rootfs {
        // An unprivileged runtime cannot clone trees: the child opens them.
        Some(r) if r.preopened > 0 && host_root => preopen_trees(r, min)?,
        _ => Vec::new(),
    };
    let tree_raw: Vec<RawFd> = tree_fds.iter().map(|f| f.as_raw_fd()).collect();
    let start_fd = match io.start_fd {
        Some(fd) if fd < min as RawFd => {
            return Err(Error::Internal(
                "exec fifo below the preserved fd range".into(),
            ));
        }
        other => other,
    };
    let cookie = if fork {
        crate::sys::random_u64().map_err(sys("getrandom"))?
    } else {
        0
    };
    let trampoline = if trampoline::AVAILABLE {
        let sync = trampoline::Sync {
            sock: child_sock.as_raw_fd(),
            fifo: start_fd.unwrap_or(-1),
            fork,
            tty: fork && plan.process.terminal,
            cookie,
        };
        Some(above(
            trampoline::memfd(true, stub_waits.then_some(sync))?,
            min,
        )?)
    } else {
        None
    };

    // A pid namespace to join applies to children of the cloning thread.
    let pid_ns_source = match (&pid_ns_join, io.target_pidfd) {
        (Some(fd), _) => Some(fd.as_raw_fd()),
        (None, Some(t)) if plan.ns.join_target & libc::CLONE_NEWPID != 0 && !fork => Some(t),
        _ => None,
    };
    // The filter the child loads: known before the clone, so the child only copies
    // a pointer to the kernel.
    let trace = crate::trace::active();
    let seccomp_prog = plan.seccomp.as_ref().map(|s| {
        crate::seccomp::with_exec_allowance(
            &s.program,
            trampoline.as_ref().map_or(-1, |f| f.as_raw_fd()),
            fork.then_some(cookie),
        )
    });
    crate::trace::mark("spawn.prepare");
    let c = if vm {
        shared_vm::clone(shared_vm::Job {
            plan: Arc::clone(shared),
            join: join_raw,
            idmaps: idmap_raw,
            trees: tree_raw,
            seccomp: seccomp_prog.unwrap_or_default(),
            child_sock: Arc::new(std::sync::Mutex::new(Some(child_sock))),
            parent_sock: parent_sock.as_raw_fd(),
            start_fd: start_fd.unwrap_or(-1),
            target: io.target_pidfd.unwrap_or(-1),
            trampoline: trampoline.as_ref().map_or(-1, |f| f.as_raw_fd()),
            join_pid_ns: fork,
            proc_pidns,
            stdio: io.stdio.unwrap_or([-1; 3]),
            ns_flags: clone_flags,
            cgroup_fd: io.cgroup_fd,
            pid_ns: pid_ns_source,
            cgroup_tasks: io.cgroup_tasks.to_vec(),
            cgroup_prime: io.cgroup_prime.unwrap_or(-1),
            trace,
            loopback_up,
            wait_devices,
        })?
    } else {
        let c = fork_child(
            plan,
            &child::ChildFds {
                seccomp: seccomp_prog.as_deref().unwrap_or(&[]),
                sock: child_sock.as_raw_fd(),
                join: &join_raw,
                start_fd: start_fd.unwrap_or(-1),
                parent_sock: parent_sock.as_raw_fd(),
                target: io.target_pidfd.unwrap_or(-1),
                idmaps: &idmap_raw,
                trees: &tree_raw,
                trampoline: trampoline.as_ref().map_or(-1, |f| f.as_raw_fd()),
                join_pid_ns: fork,
                proc_pidns,
                stdio: io.stdio.unwrap_or([-1; 3]),
                signals_default: false,
                cgroup_tasks: io.cgroup_tasks,
                cgroup_prime: io.cgroup_prime.unwrap_or(-1),
                trace,
                loopback_up,
                wait_devices,
            },
            clone_flags,
            io.cgroup_fd,
            pid_ns_source,
        )?;
        drop(child_sock);
        c
    };
    crate::trace::mark("spawn.clone");
    let pid = c.pid;
    let pidfd = c.into_pidfd();
    let mut init = Init {
        pid,
        pidfd,
        pty: None,
        sock: parent_sock,
        seccomp_notify: None,
        arg0: plan
            .process
            .argv
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default(),
        hook_paths: plan
            .start_hooks
            .iter()
            .map(|h| h.path.to_string_lossy().into_owned())
            .collect(),
        start_time: 0,
        // A container's init (not an exec'd process): its start time goes in the record.
        is_init: io.target_pidfd.is_none(),
    };

    let asked = !io.cgroup_tasks.is_empty();
    // Without mounts to overlap: before the go, with the other work after the clone.
    let mut before_go = if wait_devices {
        None
    } else {
        io.after_go.take()
    };
    let after_clone = &mut *io.after_clone;
    let mut after_clone = |pid, joined| {
        after_clone(pid, joined)?;
        before_go.as_mut().map_or(Ok(()), |f| f())
    };
    if let Err(e) = prepare_child(plan, &mut init, asked, &mut after_clone) {
        init.kill_and_reap();
        return Err(e);
    }
    if let Some(f) = io.after_go.as_mut() {
        if let Err(e) = f() {
            init.kill_and_reap();
            return Err(e);
        }
        // A child that failed meanwhile is gone: its report is read below.
        let _ = send_all(init.sock.as_raw_fd(), b"d");
    }
    if let Some(f) = io.meanwhile.as_mut() {
        if let Err(e) = f(init.pid, init.start_time) {
            init.kill_and_reap();
            return Err(e);
        }
    }
    let mut reset_seen = false;
    loop {
        match Msg::recv_with_fd(init.sock.as_raw_fd()) {
            Ok(Some((m, fd))) if m.kind == MSG_PTY => match fd {
                Some(fd) => init.pty = Some(fd),
                None => {
                    init.kill_and_reap();
                    return Err(Error::Internal("pty message without an fd".into()));
                }
            },
            Ok(Some((m, fd))) if m.kind == MSG_SECCOMP_FD => match fd {
                Some(fd) => init.seccomp_notify = Some(fd),
                None => {
                    init.kill_and_reap();
                    return Err(Error::Internal("seccomp message without an fd".into()));
                }
            },
            Ok(Some((m, _))) if m.kind == MSG_HOOKS => {
                let r = match io.on_hooks.as_mut() {
                    Some(f) => f(init.pid, init.pidfd.as_raw_fd()),
                    None => Ok(()),
                };
                if let Err(e) = r.and_then(|()| {
                    send_all(init.sock.as_raw_fd(), b"h").map_err(sys("resume the container init"))
                }) {
                    init.kill_and_reap();
                    return Err(e);
                }
            }
            Ok(Some((m, _))) if m.kind == MSG_TIME => child_mark(&m),
            Ok(Some((m, _))) if m.kind == MSG_READY => {
                crate::trace::mark("spawn.ready");
                if trampoline.is_some() && stub_waits {
                    if let Err(e) = trampoline_report(plan, &mut init) {
                        init.kill_and_reap();
                        return Err(e);
                    }
                }
                return Ok(init);
            }
            Ok(Some((m, _))) if m.kind == MSG_ERROR => {
                let _ = pidfd::wait(init.pidfd.as_raw_fd());
                return Err(describe::child_error(plan, &m));
            }
            // The child closed its end with a byte of ours unread (the "d" it had
            // not reached: it failed first): the kernel reports the reset once,
            // then what the child sent is still there to read.
            Err(Errno(libc::ECONNRESET)) if !reset_seen => reset_seen = true,
            Ok(_) | Err(_) => {
                let status = pidfd::wait(init.pidfd.as_raw_fd())
                    .map(pidfd::exit_code)
                    .unwrap_or(-1);
                return Err(Error::Internal(format!(
                    "container init exited during setup without reporting why (exit status {status})"
                )));
            }
        }
    }
}

/// After READY the child execs the trampoline, which reports: index 0 when it is
/// the same process (it now waits for the commit), else the pid of the process it
/// forked (exec), which from now on is the one the runtime follows. The forking
/// process has exited by then: reap it.
fn trampoline_report(plan: &Plan, init: &mut Init) -> Result<()> {
    let m = match Msg::recv(init.sock.as_raw_fd()) {
        Ok(Some(m)) => m,
        Ok(None) | Err(_) => {
            let status = pidfd::wait(init.pidfd.as_raw_fd())
                .map(pidfd::exit_code)
                .unwrap_or(-1);
            return Err(Error::Internal(format!(
                "container process exited before its exec trampoline reported (exit status {status})"
            )));
        }
    };
    if m.kind == MSG_ERROR {
        let _ = pidfd::wait(init.pidfd.as_raw_fd());
        return Err(describe::child_error(plan, &m));
    }
    if m.kind != trampoline::MSG_STUB {
        return Err(Error::Internal(format!(
            "unexpected message {} from the exec trampoline",
            m.kind
        )));
    }
    if m.index == 0 {
        return Ok(());
    }
    let pid = m.index as libc::pid_t;
    let fd = pidfd::open(pid).map_err(sys("pidfd_open of the exec'd process"))?;
    // The stub cloned it with CLONE_PARENT: a child of ours. Anything else (a pid a
    // process in the container managed to send) is refused.
    if !pidfd::is_child(fd.as_raw_fd()) || pid == init.pid {
        let _ = pidfd::send_signal(fd.as_raw_fd(), libc::SIGKILL);
        return Err(Error::Internal(format!(
            "the exec trampoline reported pid {pid}, which is not a child of the runtime"
        )));
    }
    let status = pidfd::wait(init.pidfd.as_raw_fd()).map_err(sys("reap the exec trampoline"))?;
    if pidfd::exit_code(status) != 0 {
        let _ = pidfd::send_signal(fd.as_raw_fd(), libc::SIGKILL);
        let _ = pidfd::wait(fd.as_raw_fd());
        return Err(Error::Internal(format!(
            "the exec trampoline exited with status {}",
            pidfd::exit_code(status)
        )));
    }
    init.pid = pid;
    init.pidfd = fd;
    if init.is_init {
        // The container's init is this process from now on: its start time.
        init.start_time = crate::sys::proc::start_time(pid).unwrap_or(0);
    }
    Ok(())
}

/// The fork-like clone: the child runs [`child::main`] on a copy of our memory.
fn fork_child(
    plan: &Plan,
    fds: &child::ChildFds<'_>,
    clone_flags: u64,
    cgroup_fd: Option<RawFd>,
    pid_ns: Option<RawFd>,
) -> Result<crate::sys::clone::Cloned> {
    let own_pid_ns = match pid_ns {
        Some(source) => {
            let own = open_owned("/proc/self/ns/pid".as_ref(), libc::O_RDONLY)?;
            crate::sys::process::setns(source, libc::CLONE_NEWPID)
                .map_err(sys("join pid namespace"))?;
            Some(own)
        }
        None => None,
    };
    let cloned = fork_into(clone_flags, cgroup_fd);
    if let Some(own) = &own_pid_ns {
        // Back into our own pid namespace (always allowed).
        let _ = crate::sys::process::setns(own.as_raw_fd(), libc::CLONE_NEWPID);
    }
    match cloned.map_err(sys("clone3"))? {
        Side::Child => child::main(plan, fds),
        Side::Parent(c) => Ok(c),
    }
}

fn prepare_child(
    plan: &Plan,
    init: &mut Init,
    cgroups_asked: bool,
    after_clone: &mut dyn FnMut(libc::pid_t, SelfJoin) -> Result<()>,
) -> Result<()> {
    if let Some(maps) = &plan.id_maps {
        write_proc(
            init.pid,
            "uid_map",
            &maps.uid_map,
            "linux.uidMappings: write",
        )?;
        if crate::sys::geteuid() != 0 {
            // Unprivileged: gid_map is only writable once setgroups is denied.
            write_proc(init.pid, "setgroups", "deny", "linux.gidMappings: write")?;
        }
        write_proc(
            init.pid,
            "gid_map",
            &maps.gid_map,
            "linux.gidMappings: write",
        )?;
    }
    // The child joined its v1 cgroups meanwhile (it does not wait for the maps).
    let joined = if cgroups_asked {
        match Msg::recv(init.sock.as_raw_fd()) {
            Ok(Some(m)) if m.kind == MSG_CGROUPS && m.index == u32::MAX => SelfJoin::Done,
            Ok(Some(m)) if m.kind == MSG_CGROUPS => SelfJoin::Failed {
                index: m.index,
                errno: m.errno,
            },
            Ok(Some(m)) if m.kind == MSG_ERROR => return Err(describe::child_error(plan, &m)),
            _ => {
                return Err(Error::Internal(
                    "container init exited before joining its cgroups".into(),
                ))
            }
        }
    } else {
        SelfJoin::NotAsked
    };
    crate::trace::mark("spawn.parent");
    after_clone(init.pid, joined)?;
    if let Some(adj) = plan.process.oom_score_adj {
        write_proc(init.pid, "oom_score_adj", &adj.to_string(), "write").map_err(|e| {
            match e.errno() {
                Some(libc::EACCES) | Some(libc::EPERM) => Error::Config(format!(
                "process.oomScoreAdj: {adj}: {e} (lowering oom_score_adj needs CAP_SYS_RESOURCE)"
            )),
                _ => e,
            }
        })?;
    }
    crate::trace::mark("spawn.go");
    send_all(init.sock.as_raw_fd(), b"g").map_err(sys("signal the container init"))?;
    // Read while the child goes on (a process's start time never changes; the init
    // keeps its pid through its execs).
    if init.is_init {
        init.start_time = crate::sys::proc::start_time(init.pid).unwrap_or(0);
    }
    Ok(())
}

fn write_proc(pid: libc::pid_t, file: &str, content: &str, op: &'static str) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, content).map_err(|e| Error::path(op, path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_modes_parse_by_name() {
        assert_eq!("auto".parse(), Ok(SpawnMode::Auto));
        assert_eq!("".parse(), Ok(SpawnMode::Auto));
        assert_eq!("fork".parse(), Ok(SpawnMode::Fork));
        assert_eq!("vm".parse(), Ok(SpawnMode::SharedVm));
        let e = "VM".parse::<SpawnMode>().unwrap_err();
        assert!(
            e.contains("\"VM\"") && e.contains("auto, fork or vm"),
            "{e}"
        );
    }
}
