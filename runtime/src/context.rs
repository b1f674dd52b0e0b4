//! The types every operation shares: the [`Context`] (state root and global
//! options), the options of each operation, and a container's [`Status`] and
//! [`State`]. Below the operations (`lifecycle`, `cgroup_ops`, `exec`), which the
//! facade in [`crate::api`] calls: nothing here calls an operation.

use std::path::PathBuf;

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
    /// The state record cannot be read (`list` only; `state` says why).
    Unknown,
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
            Status::Unknown => "unknown",
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

/// State JSON as `runc state` prints it (runc's field order and escaping).
impl State {
    /// What `list` shows of a container whose record cannot be read.
    pub fn unknown(id: String) -> State {
        State {
            oci_version: String::new(),
            id,
            status: Status::Unknown,
            pid: 0,
            bundle: PathBuf::new(),
            rootfs: PathBuf::new(),
            created: String::new(),
            owner: String::new(),
            annotations: Vec::new(),
            own_cgroup: false,
            exit_status: None,
        }
    }

    /// Pretty, two-space indented, without a trailing newline.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        crate::state_json::push_state(&mut out, self, Some("  "));
        out
    }

    /// On one line.
    pub fn to_json_compact(&self) -> String {
        let mut out = String::with_capacity(256);
        crate::state_json::push_state(&mut out, self, None);
        out
    }
}
