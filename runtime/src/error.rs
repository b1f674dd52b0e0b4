//! The engine's error type: one enum, with a [`ErrorKind`] for exit codes and the C ABI.

use std::path::PathBuf;

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A coarse classification of errors, stable across versions: the C ABI maps it to codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorKind {
    /// The configuration (config.json, process.json, resources) is invalid.
    InvalidConfig = 1,
    /// An argument given to the API is invalid (bad id, unknown signal, ...).
    InvalidArgument = 2,
    /// No container with this id exists.
    NotFound = 3,
    /// A container with this id already exists.
    AlreadyExists = 4,
    /// The container is not in a state that allows the operation.
    InvalidState = 5,
    /// A system call failed.
    System = 6,
    /// The operation is not supported by this build or this machine.
    Unsupported = 7,
    /// An internal error (a bug).
    Internal = 8,
}

/// Every error the engine returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An invalid configuration; the message names the JSON path.
    #[error("{0}")]
    Config(String),
    /// An invalid argument to the API.
    #[error("{0}")]
    InvalidArgument(String),
    /// No such container.
    #[error("container \"{0}\" does not exist")]
    NotFound(String),
    /// The id is taken.
    #[error("container with id \"{0}\" already exists")]
    AlreadyExists(String),
    /// The container's state does not allow the operation.
    #[error("{0}")]
    InvalidState(String),
    /// A system call failed on a path.
    #[error("{op} {path}: {source}")]
    Path {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The container's init failed during setup: `step` is where (the child's
    /// step, e.g. `Mount`), `field` the config field it was working on when there
    /// is one (e.g. `mounts[3]`, `process.rlimits[0]`), `message` the whole line,
    /// which names the step, the field or path, and the errno.
    #[error("{message}")]
    Init {
        step: &'static str,
        field: Option<String>,
        message: String,
        errno: i32,
    },
    /// A hook failed; the message names the hook kind, index and path.
    #[error("{0}")]
    Hook(String),
    /// A container's state record cannot be read (truncated, not JSON, wrong
    /// fields): the container is `unknown` until `delete --force` removes it.
    #[error("{path}: damaged state record: {reason}")]
    CorruptState { path: PathBuf, reason: String },
    /// Not supported here.
    #[error("{0}")]
    Unsupported(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
    /// A cgroup operation failed (the message names the file and the value).
    #[error("{}", cgroup_message(.0))]
    Cgroup(#[from] crate::cgroups::CgroupError),
}

/// A cgroup error as the engine words it: a parse failure of a kernel file is a
/// bug ("internal error: ..."), everything else reads as the cgroup room says.
fn cgroup_message(e: &crate::cgroups::CgroupError) -> String {
    match e {
        crate::cgroups::CgroupError::Parse { .. } => format!("internal error: {e}"),
        e => e.to_string(),
    }
}

impl Error {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) => ErrorKind::InvalidConfig,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::AlreadyExists(_) => ErrorKind::AlreadyExists,
            Error::InvalidState(_) | Error::CorruptState { .. } => ErrorKind::InvalidState,
            Error::Path { .. } | Error::Sys { .. } | Error::Init { .. } => ErrorKind::System,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Hook(_) => ErrorKind::System,
            Error::Internal(_) => ErrorKind::Internal,
            Error::Cgroup(e) => {
                use crate::cgroups::CgroupError as C;
                match e {
                    C::Write { .. } | C::Io { .. } | C::Systemd(_) => ErrorKind::System,
                    C::Parse { .. } => ErrorKind::Internal,
                    C::Config(_) => ErrorKind::InvalidConfig,
                    C::Unsupported(_) => ErrorKind::Unsupported,
                    C::State(_) => ErrorKind::InvalidState,
                }
            }
        }
    }

    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Path { source, .. } | Error::Sys { source, .. } => source.raw_os_error(),
            Error::Init { errno, .. } => Some(*errno),
            Error::Cgroup(e) => e.errno(),
            _ => None,
        }
    }

    /// The config field an error is about, when the engine knows it apart from
    /// the message (the init's setup steps).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Init { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// Shorthand for a failed call on a path.
    pub fn path(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Path {
            op,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for a failed call with the current errno.
    pub fn last_os(op: &'static str) -> Self {
        Error::Sys {
            op,
            source: std::io::Error::last_os_error(),
        }
    }
}
