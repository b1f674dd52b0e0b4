//! The engine's public API: a [`Context`] (state root and global options) and the
//! lifecycle operations. The CLI, the C ABI and the benchmarks call only this.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Default state root, as `runc` uses `/run/runc`.
pub const DEFAULT_ROOT: &str = "/run/fastrun";

/// Global options shared by every operation (the CLI's global flags).
#[derive(Debug, Clone)]
pub struct Context {
    /// Directory holding one state directory per container (`--root`).
    pub root: PathBuf,
    /// Use the systemd cgroup driver (`--systemd-cgroup`).
    pub systemd_cgroup: bool,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            root: PathBuf::from(DEFAULT_ROOT),
            systemd_cgroup: false,
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
        let _ = (id, opts);
        Err(not_yet("create"))
    }

    /// Let a created container's init run the user program.
    pub fn start(&self, id: &str) -> Result<()> {
        let _ = id;
        Err(not_yet("start"))
    }

    /// Create and start a container, wait for it, and return its exit status
    /// (128+N when killed by signal N). Signals sent to the caller are forwarded.
    /// With `detach`, return 0 once started.
    pub fn run(&self, id: &str, opts: &CreateOptions, detach: bool) -> Result<i32> {
        let _ = (id, opts, detach);
        Err(not_yet("run"))
    }

    /// The state of one container.
    pub fn state(&self, id: &str) -> Result<State> {
        let _ = id;
        Err(not_yet("state"))
    }

    /// The states of every container under the root.
    pub fn list(&self) -> Result<Vec<State>> {
        Err(not_yet("list"))
    }

    /// Send a signal to the init, or with `all` to every process of the container.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        let _ = (id, signal, all);
        Err(not_yet("kill"))
    }

    /// Delete a stopped container; with `force`, kill it first. Deleting a missing
    /// container with `force` succeeds.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let _ = (id, force);
        Err(not_yet("delete"))
    }
}

/// State JSON as `runc state` prints it.
impl State {
    pub fn to_json(&self) -> String {
        String::new()
    }
}

/// Parse a signal given as a number (`9`), a name (`KILL`) or `SIGKILL`.
pub fn parse_signal(s: &str) -> Result<i32> {
    Err(Error::InvalidArgument(format!("unknown signal \"{s}\"")))
}

/// The default `config.json` that `spec` writes (runc's default).
pub fn default_spec(rootless: bool) -> String {
    let _ = rootless;
    String::new()
}

/// Resolve a bundle path (relative to the cwd) to an absolute path.
pub fn absolute_bundle(bundle: &Path) -> Result<PathBuf> {
    std::path::absolute(bundle).map_err(|e| Error::path("resolve bundle", bundle, e))
}

fn not_yet(op: &str) -> Error {
    Error::Unsupported(format!("{op}: not implemented yet"))
}
