//! The command line: raw arguments → one validated [`Invocation`].
//!
//! runc's grammar (urfave/cli v1 over Go's `flag` package): global flags come before the
//! subcommand; every flag may be written `-name` or `--name`, with its value as the next
//! argument or after `=`; boolean flags take no value but accept `=true`/`=false`. After
//! the subcommand, flags may follow positional arguments (urfave reorders them) until
//! `--`, except for `exec` and `ps`, whose flag parsing stops at the container id: what
//! follows is the command's own arguments.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use fastrun_runtime::{CreateOptions, ExecOptions, UpdateOptions};

mod parser;
mod tables;
#[cfg(test)]
mod tests;
mod values;

#[cfg(test)]
pub use parser::parse;
pub use parser::parse_globals;
pub use tables::{command, flag_usage, CmdDef, FlagDef, COMMANDS, GLOBAL_FLAGS};

/// A command-line error: the message is printed on one line, the exit status is 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, UsageError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(UsageError(msg.into()))
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `list` and `ps` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
}

/// The global flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Global {
    pub root: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub log_format: LogFormat,
    pub debug: bool,
    pub systemd_cgroup: bool,
    /// `--rootless` as given (accepted and ignored).
    pub rootless: Option<String>,
    /// `--criu` as given (accepted and ignored).
    pub criu: Option<String>,
    /// How container processes are cloned (`FASTRUN_SPAWN=auto|fork|vm`).
    pub spawn: fastrun_runtime::SpawnMode,
    /// `--trace FILE`: append one JSON line per step of the operation.
    pub trace: Option<PathBuf>,
}

/// One validated command.
#[derive(Debug, Clone)]
pub enum Command {
    /// Print the global help, or one command's help.
    Help(Option<&'static str>),
    Version,
    Spec {
        bundle: PathBuf,
        rootless: bool,
    },
    Create {
        id: String,
        opts: CreateOptions,
    },
    Start {
        id: String,
    },
    Run {
        id: String,
        opts: CreateOptions,
        detach: bool,
    },
    State {
        id: String,
    },
    List {
        format: Format,
        quiet: bool,
    },
    Kill {
        id: String,
        signal: i32,
        all: bool,
    },
    Delete {
        id: String,
        force: bool,
    },
    Exec {
        id: String,
        opts: ExecOptions,
    },
    Ps {
        id: String,
        format: Format,
        ps_args: Vec<String>,
    },
    Pause {
        id: String,
    },
    Resume {
        id: String,
    },
    Update {
        id: String,
        /// `--resources`: a file, or `-` for stdin; read when the command runs.
        resources: Option<PathBuf>,
        opts: UpdateOptions,
    },
    Events {
        id: String,
        stats: bool,
        interval: Duration,
    },
    Features,
    /// checkpoint / restore: always fails.
    Unsupported(&'static str),
}

impl Command {
    /// The `--preserve-fds` count: the fds 3..3+N belong to the caller.
    pub fn preserve_fds(&self) -> u32 {
        match self {
            Command::Create { opts, .. } | Command::Run { opts, .. } => opts.preserve_fds,
            Command::Exec { opts, .. } => opts.preserve_fds,
            _ => 0,
        }
    }
}

/// The whole command line, parsed (the binary parses in two steps, see [`parse_globals`]).
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct Invocation {
    pub global: Global,
    pub command: Command,
    /// Notes worth a debug log line (ignored flags).
    pub notes: Vec<String>,
}
