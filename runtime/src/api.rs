//! The engine's public API: a [`Context`] (state root and global options) and the
//! lifecycle operations. The CLI, the C ABI and the benchmarks call only this.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Default state root, as `runc` uses `/run/runc` (rootless: see
/// [`crate::rootless::default_root`], which [`Context::default`] uses).
pub const DEFAULT_ROOT: &str = "/run/fastrun";

/// Severity of a message the engine logs through [`Context::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Warning,
    Debug,
}

/// Where the engine sends warnings and debug notes (it never prints).
pub type LogSink = std::sync::Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

/// Global options shared by every operation (the CLI's global flags).
#[derive(Clone)]
pub struct Context {
    /// Directory holding one state directory per container (`--root`).
    pub root: PathBuf,
    /// Use the systemd cgroup driver (`--systemd-cgroup`).
    pub systemd_cgroup: bool,
    /// Receives warnings (e.g. a failed poststop hook) and debug notes.
    pub log: Option<LogSink>,
    /// Where compiled seccomp filters are cached (default: `.seccomp-cache`
    /// under `root`, see [`Context::seccomp_cache_dir`]). Bounded in size; any
    /// problem with it (unwritable, rootless, corrupt) only means compiling again.
    pub seccomp_cache: crate::seccomp::CacheDir,
    /// How container processes are cloned: fork-like, or sharing this process's
    /// memory until their exec (start time independent of the caller's size).
    pub spawn: crate::spawn::SpawnMode,
    /// Append one JSON line per step of each operation to this file (`--trace`;
    /// see [`crate::trace`] for the format).
    pub trace: Option<PathBuf>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("root", &self.root)
            .field("systemd_cgroup", &self.systemd_cgroup)
            .field("log", &self.log.is_some())
            .field("seccomp_cache", &self.seccomp_cache)
            .field("spawn", &self.spawn)
            .field("trace", &self.trace)
            .finish()
    }
}

impl Context {
    /// The directory of the seccomp cache, if caching.
    pub fn seccomp_cache_dir(&self) -> Option<PathBuf> {
        match &self.seccomp_cache {
            crate::seccomp::CacheDir::InRoot => {
                Some(self.root.join(crate::seccomp::CACHE_DIR_IN_ROOT))
            }
            crate::seccomp::CacheDir::At(d) => Some(d.clone()),
            crate::seccomp::CacheDir::Off => None,
        }
    }

    /// Send a debug note to the log sink, if any.
    pub fn debug(&self, msg: &str) {
        if let Some(log) = &self.log {
            log(LogLevel::Debug, msg);
        }
    }

    /// Send a warning to the log sink, if any.
    pub fn warn(&self, msg: &str) {
        if let Some(log) = &self.log {
            log(LogLevel::Warning, msg);
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context {
            root: crate::rootless::default_root(),
            systemd_cgroup: false,
            log: None,
            seccomp_cache: crate::seccomp::CacheDir::InRoot,
            spawn: Default::default(),
            trace: None,
        }
    }
}

/// Options of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The bundle directory (holds `config.json`); relative paths are resolved against the cwd.
    pub bundle: PathBuf,
    /// Where to write the init's host pid (`--pid-file`), written atomically.
    pub pid_file: Option<PathBuf>,
    /// A unix socket to send the pty master to (`--console-socket`).
    pub console_socket: Option<PathBuf>,
    /// Use MS_MOVE + chroot instead of pivot_root (`--no-pivot`).
    pub no_pivot: bool,
    /// Do not create a new session keyring (`--no-new-keyring`).
    pub no_new_keyring: bool,
    /// Pass this many fds after stdio (3..3+N) into the container (`--preserve-fds`).
    pub preserve_fds: u32,
    /// `run` only: keep the container's state after it exits (`--keep`).
    pub keep: bool,
    /// The config as JSON bytes, used instead of reading `<bundle>/config.json`
    /// (the C library loads configs from memory). Relative paths in it (such as
    /// `root.path`) are still resolved against `bundle`.
    pub config: Option<Vec<u8>>,
    /// Fds the init gets as its stdin, stdout and stderr instead of the caller's
    /// 0, 1 and 2 (an embedding host such as the containerd shim passes its fifos).
    /// They stay open in the caller; ignored for fds 0-2 a terminal replaces.
    pub stdio: Option<[std::os::fd::RawFd; 3]>,
}

/// The status of a container, as the OCI state reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    /// The OCI name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The OCI state of a container plus what `runc state` adds.
#[derive(Debug, Clone)]
pub struct State {
    pub oci_version: String,
    pub id: String,
    pub status: Status,
    /// Host pid of the init; 0 when stopped.
    pub pid: i32,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 creation time.
    pub created: String,
    pub owner: String,
    pub annotations: Vec<(String, String)>,
    /// False when the container has no cgroup of its own (rootless without write
    /// access to the cgroup tree); the JSON then says `"cgroup": "none"`.
    pub own_cgroup: bool,
    /// Once stopped: the init's exit code (128+N for signal N) when the process that
    /// owned it recorded it ([`Context::create_owned`]); the JSON then has
    /// `"exitStatus"`.
    pub exit_status: Option<i32>,
}

impl Context {
    /// A context with the given state root.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Context {
            root: root.into(),
            ..Default::default()
        }
    }

    /// Create a container: its init exists and waits before the user program.
    /// Returns the init's host pid.
    pub fn create(&self, id: &str, opts: &CreateOptions) -> Result<i32> {
        let trace = crate::trace::begin(self, "create", id);
        let r = (|| {
            let created = crate::lifecycle::create(self, id, opts, true)?;
            // The state is saved: let the init go on to block on the exec fifo.
            crate::trace::mark("commit");
            created.init.commit()?;
            Ok(created.init.pid)
        })();
        trace.finish(&r);
        r
    }

    /// [`Context::create`], the init owned by this process: the engine reaps it when
    /// it exits (a reaper thread, pidfds and `waitid(P_PIDFD)`: no other child of the
    /// process is touched) and records its exit status, which [`Context::wait`]
    /// returns and [`Context::state`] shows. For embedding hosts (libfastrun), whose
    /// process stays the init's parent. Returns the init's host pid.
    pub fn create_owned(&self, id: &str, opts: &CreateOptions) -> Result<i32> {
        let trace = crate::trace::begin(self, "create", id);
        let r = (|| {
            let created = crate::lifecycle::create(self, id, opts, true)?;
            let pid = created.init.pid;
            let fd = created.init.pidfd.try_clone().map_err(|e| Error::Sys {
                op: "dup the init's pidfd",
                source: e,
            })?;
            crate::children::adopt_init(&self.root, id, pid, created.record.start_time, fd)
                .inspect_err(|_| created.init.kill_and_reap())?;
            crate::trace::mark("commit");
            created.init.commit()?;
            Ok(pid)
        })();
        trace.finish(&r);
        r
    }

    /// Wait at most `timeout` (None: no limit) for the init of container `id` to exit
    /// and return its exit code (128+N when killed by signal N), or None when the time
    /// ran out. Every call returns the same code. For an init this process owns
    /// ([`Context::create_owned`]); for another, only a status recorded already (the
    /// container is stopped), else an error: only a parent learns how a child ended.
    pub fn wait(&self, id: &str, timeout: Option<std::time::Duration>) -> Result<Option<i32>> {
        crate::state::validate_id(id)?;
        crate::children::wait(&self.root, id, timeout)
    }

    /// A new pidfd (close-on-exec) on the init of container `id`, which this process
    /// owns ([`Context::create_owned`]): poll it for the init's exit (then
    /// [`Context::wait`] returns at once). The caller closes it; it must not reap the
    /// init with it (the engine does).
    pub fn init_pidfd(&self, id: &str) -> Result<std::os::fd::OwnedFd> {
        crate::state::validate_id(id)?;
        crate::children::init_pidfd(&self.root, id)
    }

    /// Let a created container's init run the user program.
    pub fn start(&self, id: &str) -> Result<()> {
        let trace = crate::trace::begin(self, "start", id);
        let r = crate::lifecycle::start(self, id);
        trace.finish(&r);
        r
    }

    /// Create and start a container, wait for it, and return its exit status
    /// (128+N when killed by signal N). Signals sent to the caller are forwarded.
    /// With `detach`, return 0 once started.
    pub fn run(&self, id: &str, opts: &CreateOptions, detach: bool) -> Result<i32> {
        let trace = crate::trace::begin(self, "run", id);
        let r = if detach {
            self.create(id, opts)
                .and_then(|_| self.start(id))
                .map(|()| 0)
        } else {
            crate::lifecycle::run(self, id, opts)
        };
        trace.finish(&r);
        r
    }

    /// The state of one container. A container whose create is still in
    /// progress does not exist yet, as under runc and crun (docs/compatibility.md):
    /// once create has returned, it is `created`.
    pub fn state(&self, id: &str) -> Result<State> {
        let store = crate::state::Store::new(&self.root);
        let rec = store.load(id)?;
        let st = crate::lifecycle::to_state(&store, rec);
        if st.status == Status::Creating {
            return Err(Error::NotFound(id.to_string()));
        }
        Ok(st)
    }

    /// The states of every container under the root.
    pub fn list(&self) -> Result<Vec<State>> {
        let store = crate::state::Store::new(&self.root);
        let mut out = Vec::new();
        for id in store.ids()? {
            match store.load(&id) {
                Ok(rec) => {
                    let st = crate::lifecycle::to_state(&store, rec);
                    // Still being created: not listed yet (see `state`).
                    if st.status != Status::Creating {
                        out.push(st);
                    }
                }
                // Gone meanwhile, or a create that died before its first record.
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Send a signal to the init, or with `all` to every process of the container.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        crate::lifecycle::kill(self, id, signal, all)
    }

    /// Delete a stopped container; with `force`, kill it first. Deleting a missing
    /// container with `force` succeeds.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let trace = crate::trace::begin(self, "delete", id);
        let r = crate::lifecycle::delete(self, id, force);
        if r.is_ok() {
            crate::children::forget(&self.root, id);
        }
        trace.finish(&r);
        r
    }
}

/// State JSON as `runc state` prints it (runc's field order and escaping).
impl State {
    /// Pretty, two-space indented, without a trailing newline.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        crate::json::push_state(&mut out, self, Some("  "));
        out
    }

    /// On one line.
    pub fn to_json_compact(&self) -> String {
        let mut out = String::with_capacity(256);
        crate::json::push_state(&mut out, self, None);
        out
    }
}

/// Parse a signal given as a number (`9`), a name (`KILL`) or `SIGKILL`, in any case,
/// or a real-time signal as `RTMIN+N` / `RTMAX-N` (with or without `SIG`).
/// Numbers must be in `0..=64`: 0 checks that the process exists (runc accepts it).
pub fn parse_signal(s: &str) -> Result<i32> {
    let bad = || Error::InvalidArgument(format!("unknown signal \"{s}\""));
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<i32>() {
            Ok(n) if (0..=SIG_MAX).contains(&n) => Ok(n),
            _ => Err(bad()),
        };
    }
    let upper = t.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return rt_offset(rest, SIG_RTMIN, 1).ok_or_else(bad);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return rt_offset(rest, SIG_MAX, -1).ok_or_else(bad);
    }
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
        .ok_or_else(bad)
}

/// The first real-time signal as userland (glibc, and runc/moby) numbers it.
const SIG_RTMIN: i32 = 34;
/// The last signal (`SIGRTMAX`).
const SIG_MAX: i32 = 64;

/// `""` → base; `"+N"` (for RTMIN) or `"-N"` (for RTMAX) → base ± N, within the RT range.
fn rt_offset(rest: &str, base: i32, dir: i32) -> Option<i32> {
    let n = if rest.is_empty() {
        0
    } else {
        let sign = if dir > 0 { '+' } else { '-' };
        let digits = rest.strip_prefix(sign)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i32>().ok()?
    };
    let v = base.checked_add(dir.checked_mul(n)?)?;
    (SIG_RTMIN..=SIG_MAX).contains(&v).then_some(v)
}

/// Linux signal names without the `SIG` prefix.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The default `config.json` that `spec` writes: runc's default (`runc spec`), with
/// `ociVersion` 1.0.2 so that every runtime (crun 1.8.1 accepts only 1.0.x) takes it.
/// With `rootless`, runc's rootless variant.
pub fn default_spec(rootless: bool) -> String {
    crate::spec::default_config_json(rootless)
}

/// Resolve a bundle path (relative to the cwd) to an absolute path.
pub fn absolute_bundle(bundle: &Path) -> Result<PathBuf> {
    std::path::absolute(bundle).map_err(|e| Error::path("resolve bundle", bundle, e))
}

/// Parse and validate a config given as JSON bytes (what `create` does with
/// [`CreateOptions::config`]); a syntax error names its line and column.
pub fn validate_config(json: &[u8]) -> Result<()> {
    let mut buf = Vec::new();
    load_config(json, &mut buf).map(drop)
}

/// Parse and validate `json` in `buf` (a copy: the parser rewrites it in place).
pub(crate) fn load_config<'a>(
    json: &[u8],
    buf: &'a mut Vec<u8>,
) -> Result<crate::spec::Config<'a>> {
    buf.clear();
    buf.extend_from_slice(json);
    crate::spec::load(buf).map_err(|e| {
        let e = match e.kind {
            crate::spec::SpecErrorKind::Syntax => {
                crate::spec::locate_syntax_error(json, &e.path).unwrap_or(e)
            }
            _ => e,
        };
        Error::from(e)
    })
}

// ---------------------------------------------------------------------------
// exec, and the operations on a container's cgroup (see `control`).
// ---------------------------------------------------------------------------

/// Options of `exec`: either a `process.json` (`--process`) or a command plus
/// overrides of the container's process.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// A file holding an OCI `process` object (`--process`); `args` is then ignored.
    pub process: Option<PathBuf>,
    /// An OCI `process` object as JSON, used as `process` is (the C library's
    /// in-memory `--process`); wins over `process`.
    pub process_json: Option<Vec<u8>>,
    /// The command and its arguments.
    pub args: Vec<String>,
    /// A unix socket to send the pty master to (`--console-socket`).
    pub console_socket: Option<PathBuf>,
    /// Allocate a pty (`--tty`).
    pub tty: bool,
    /// Return once the process runs (`--detach`).
    pub detach: bool,
    /// Where to write the process's host pid (`--pid-file`).
    pub pid_file: Option<PathBuf>,
    /// Pass this many fds after stdio into the process (`--preserve-fds`).
    pub preserve_fds: u32,
    /// `KEY=VALUE` entries added to the environment (`--env`).
    pub env: Vec<String>,
    /// The working directory (`--cwd`).
    pub cwd: Option<String>,
    /// `(uid, gid)` to run as (`--user UID[:GID]`).
    pub user: Option<(u32, Option<u32>)>,
    /// Supplementary groups (`--additional-gids`).
    pub additional_gids: Vec<u32>,
    /// Capabilities added to the process (`--cap`).
    pub caps: Vec<String>,
    /// Set no_new_privs (`--no-new-privs`).
    pub no_new_privs: bool,
    /// SELinux label (`--process-label`).
    pub process_label: Option<String>,
    /// AppArmor profile (`--apparmor`).
    pub apparmor: Option<String>,
    /// Sub-cgroup to join (`--cgroup`), as runc's `[controller:]path` entries.
    pub cgroup: Vec<String>,
    /// Exec even when the container is paused (`--ignore-paused`).
    pub ignore_paused: bool,
    /// Fds the process gets as stdin, stdout and stderr instead of the caller's
    /// (see [`CreateOptions::stdio`]).
    pub stdio: Option<[std::os::fd::RawFd; 3]>,
}

/// Options of `update`: a `LinuxResources` JSON object (`--resources`) and
/// individual overrides applied on top of it (runc's order).
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// A `LinuxResources` JSON document, as read from the file or stdin.
    pub resources_json: Option<Vec<u8>>,
    /// `memory.limit` in bytes (-1: unlimited).
    pub memory: Option<i64>,
    /// `memory.swap` in bytes (-1: unlimited).
    pub memory_swap: Option<i64>,
    /// `memory.reservation` in bytes.
    pub memory_reservation: Option<i64>,
    /// `cpu.shares`.
    pub cpu_shares: Option<u64>,
    /// `cpu.quota` in microseconds (-1: unlimited).
    pub cpu_quota: Option<i64>,
    /// `cpu.period` in microseconds.
    pub cpu_period: Option<u64>,
    /// `cpu.realtimePeriod` in microseconds (`--cpu-rt-period`).
    pub cpu_rt_period: Option<u64>,
    /// `cpu.realtimeRuntime` in microseconds (`--cpu-rt-runtime`, -1: unlimited).
    pub cpu_rt_runtime: Option<i64>,
    /// `cpu.cpus` (cpuset list).
    pub cpuset_cpus: Option<String>,
    /// `cpu.mems` (cpuset list).
    pub cpuset_mems: Option<String>,
    /// `pids.limit` (0 or -1: unlimited).
    pub pids_limit: Option<i64>,
    /// `blockIO.weight`.
    pub blkio_weight: Option<u16>,
}

impl Context {
    /// Run a new process in a running container. Returns its exit status, or 0
    /// once it runs with `detach`.
    pub fn exec(&self, id: &str, opts: &ExecOptions) -> Result<i32> {
        let trace = crate::trace::begin(self, "exec", id);
        let r = crate::exec::exec(self, id, opts).map(|o| match o {
            crate::exec::Outcome::Exited(code) => code,
            crate::exec::Outcome::Detached(_) => 0,
        });
        trace.finish(&r);
        r
    }

    /// Run a new process in a running container and return once it runs (`opts.detach`
    /// is implied): its host pid and a pidfd on it. The process is a child of the
    /// caller. With `reap`, the engine reaps it when it exits (as
    /// [`Context::create_owned`] does for inits; its status is dropped): the pidfd is
    /// then only for polling. Without, the caller owns it and must reap it
    /// (`waitid(P_PIDFD)` on the pidfd), else it stays a zombie, and in a container with
    /// its own pid namespace the init cannot exit.
    pub fn exec_detached(
        &self,
        id: &str,
        opts: &ExecOptions,
        reap: bool,
    ) -> Result<(i32, std::os::fd::OwnedFd)> {
        let trace = crate::trace::begin(self, "exec", id);
        let opts = ExecOptions {
            detach: true,
            ..opts.clone()
        };
        let r = crate::exec::exec(self, id, &opts).and_then(|o| match o {
            crate::exec::Outcome::Detached(child) => {
                let pid = child.pid;
                if !reap {
                    return Ok((pid, child.pidfd));
                }
                let dup = child.pidfd.try_clone().map_err(|e| Error::Sys {
                    op: "dup the exec'd process's pidfd",
                    source: e,
                });
                let dup = dup.inspect_err(|_| child.kill_and_reap())?;
                crate::children::adopt_exec(child.pidfd)?;
                Ok((pid, dup))
            }
            crate::exec::Outcome::Exited(_) => Err(Error::Internal(
                "a detached exec waited for its process".into(),
            )),
        });
        trace.finish(&r);
        r
    }

    /// The host pids of every process in the container's cgroup, sorted (also after
    /// the init has exited; empty once the cgroup is gone).
    pub fn ps(&self, id: &str) -> Result<Vec<i32>> {
        crate::control::ps(self, id)
    }

    /// Freeze every process of a running container (`state` then reports `paused`).
    pub fn pause(&self, id: &str) -> Result<()> {
        crate::control::pause(self, id)
    }

    /// Thaw a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        crate::control::resume(self, id)
    }

    /// Change the resource limits of a created, running or paused container: the
    /// `--resources` document, then the individual options on top of it. Device
    /// rules are not changed.
    pub fn update(&self, id: &str, opts: &UpdateOptions) -> Result<()> {
        crate::control::update(self, id, opts)
    }

    /// One sample of the container's statistics, as the JSON object runc puts in
    /// the `data` field of a `stats` event.
    pub fn stats(&self, id: &str) -> Result<String> {
        crate::control::stats(self, id)
    }

    /// The same sample, typed (what a supervisor converts to its own format:
    /// containerd's shim builds its metrics protobuf from it).
    pub fn cgroup_stats(&self, id: &str) -> Result<crate::cgroups::Stats> {
        crate::control::cgroup_stats(self, id)
    }

    /// A registered OOM notifier for the container's cgroup (v1 `memory.oom_control`
    /// eventfd, v2 `memory.events`): poll its descriptor, then call
    /// [`crate::cgroups::oom::OomNotifier::take_pending`]. For a supervisor that
    /// watches many containers from one thread (containerd's shim).
    pub fn oom_notifier(&self, id: &str) -> Result<crate::cgroups::oom::OomNotifier> {
        crate::control::oom_notifier(self, id)
    }

    /// runc's `events`: JSON lines (`{"type":"stats","id":..,"data":..}` and
    /// `{"type":"oom","id":..}`) handed to `sink` without a newline. With
    /// `opts.stats`, one stats line; otherwise a loop that ends when the container
    /// stops or is deleted, or when `sink` fails.
    pub fn events(
        &self,
        id: &str,
        opts: &EventsOptions,
        sink: &mut dyn FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        crate::control::events(self, id, opts, sink)
    }
}

/// Options of `events`.
#[derive(Debug, Clone)]
pub struct EventsOptions {
    /// One stats line and return (`--stats`).
    pub stats: bool,
    /// Time between stats lines (`--interval`, default 5 s).
    pub interval: std::time::Duration,
}

impl Default for EventsOptions {
    fn default() -> Self {
        EventsOptions {
            stats: false,
            interval: std::time::Duration::from_secs(5),
        }
    }
}

/// The OCI runtime features document (`features`), as JSON.
pub fn features() -> Result<String> {
    Ok(crate::features::features_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_numbers() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("15").unwrap(), 15);
        assert_eq!(parse_signal("1").unwrap(), 1);
        assert_eq!(parse_signal("64").unwrap(), 64);
        assert_eq!(parse_signal("0").unwrap(), 0);
        for bad in ["65", "-1", "+9", "99999999999", "", " ", "9x"] {
            assert!(parse_signal(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn signal_names() {
        assert_eq!(parse_signal("KILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("SIGKILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("term").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("SigHup").unwrap(), libc::SIGHUP);
        assert_eq!(parse_signal("WINCH").unwrap(), libc::SIGWINCH);
        assert_eq!(parse_signal("CHLD").unwrap(), libc::SIGCHLD);
        for bad in ["SIG", "FOO", "SIGFOO", "KILLL", "SIGSIGKILL"] {
            let e = parse_signal(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn signal_realtime() {
        assert_eq!(parse_signal("RTMIN").unwrap(), 34);
        assert_eq!(parse_signal("SIGRTMIN").unwrap(), 34);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), 35);
        assert_eq!(parse_signal("sigrtmin+30").unwrap(), 64);
        assert_eq!(parse_signal("RTMAX").unwrap(), 64);
        assert_eq!(parse_signal("RTMAX-2").unwrap(), 62);
        for bad in [
            "RTMIN+31", "RTMIN-1", "RTMAX+1", "RTMAX-31", "RTMIN+", "RTMIN+x",
        ] {
            assert!(parse_signal(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn default_spec_is_valid_json() {
        for rootless in [false, true] {
            let s = default_spec(rootless);
            let v: serde_json::Value = serde_json::from_str(&s).expect("valid JSON");
            // 1.0.x: the version every runtime accepts (crun 1.8.1 refuses others).
            assert!(v["ociVersion"].as_str().unwrap().starts_with("1.0."));
            assert_eq!(v["process"]["args"][0], "sh");
            assert_eq!(v["root"]["path"], "rootfs");
            let ns: Vec<&str> = v["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["type"].as_str().unwrap())
                .collect();
            assert_eq!(ns.contains(&"network"), !rootless);
            assert_eq!(ns.contains(&"user"), rootless);
            assert_eq!(v["linux"]["resources"].is_null(), rootless);
            assert_eq!(v["mounts"].as_array().unwrap().len(), 7);
        }
    }
}
