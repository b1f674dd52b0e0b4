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

use fastrun_runtime::{parse_signal, CreateOptions, ExecOptions, UpdateOptions};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Value,
    /// A value flag that may be given more than once.
    Multi,
    /// A flag whose value can only be given after `=` (`--rootless[=BOOL]`).
    OptValue,
}

/// One flag: its names (the first is canonical, one-letter names are shorthands),
/// the placeholder of its value and its help line.
pub struct FlagDef {
    names: &'static [&'static str],
    kind: Kind,
    value: &'static str,
    help: &'static str,
}

const fn flag(names: &'static [&'static str], help: &'static str) -> FlagDef {
    FlagDef {
        names,
        kind: Kind::Bool,
        value: "",
        help,
    }
}

const fn opt(names: &'static [&'static str], value: &'static str, help: &'static str) -> FlagDef {
    FlagDef {
        names,
        kind: Kind::Value,
        value,
        help,
    }
}

const fn multi(names: &'static [&'static str], value: &'static str, help: &'static str) -> FlagDef {
    FlagDef {
        names,
        kind: Kind::Multi,
        value,
        help,
    }
}

/// A subcommand: its flags and usage.
pub struct CmdDef {
    pub name: &'static str,
    pub args: &'static str,
    pub summary: &'static str,
    flags: &'static [FlagDef],
    /// Stop flag parsing at the first positional argument (exec, ps).
    stop_at_positional: bool,
}

pub const GLOBAL_FLAGS: &[FlagDef] = &[
    opt(
        &["root"],
        "DIR",
        "root directory for storage of container state (default \"/run/fastrun\")",
    ),
    opt(
        &["log"],
        "FILE",
        "append log lines to FILE (default: stderr only)",
    ),
    opt(
        &["log-format"],
        "FORMAT",
        "log format: text or json (default \"text\")",
    ),
    flag(&["debug"], "enable debug logging"),
    opt(
        &["trace"],
        "FILE",
        "append one JSON line per step of create/start/run/exec/delete to FILE (start and \
         duration in µs)",
    ),
    flag(&["systemd-cgroup"], "use the systemd cgroup driver"),
    FlagDef {
        names: &["rootless"],
        kind: Kind::OptValue,
        value: "[=BOOL]",
        help: "accepted for compatibility, ignored",
    },
    opt(&["criu"], "PATH", "accepted for compatibility, ignored"),
    flag(&["version", "v"], "print the version"),
    flag(&["help", "h"], "show help"),
];

const BUNDLE: FlagDef = opt(
    &["bundle", "b"],
    "DIR",
    "path to the bundle directory (default: the current directory)",
);
const PID_FILE: FlagDef = opt(
    &["pid-file"],
    "FILE",
    "write the process's host pid to FILE",
);
const CONSOLE_SOCKET: FlagDef = opt(
    &["console-socket"],
    "PATH",
    "unix socket that receives the pty master when the process has a terminal",
);
const NO_PIVOT: FlagDef = flag(&["no-pivot"], "do not use pivot_root (for ramdisk roots)");
const NO_NEW_KEYRING: FlagDef = flag(&["no-new-keyring"], "do not create a new session keyring");
const PRESERVE_FDS: FlagDef = opt(
    &["preserve-fds"],
    "N",
    "pass N additional fds (3..3+N) to the process",
);
const FORMAT: FlagDef = opt(&["format", "f"], "FORMAT", "output format: table or json");

pub const COMMANDS: &[CmdDef] = &[
    CmdDef {
        name: "spec",
        args: "",
        summary: "write a default config.json into the bundle",
        flags: &[
            BUNDLE,
            flag(&["rootless"], "write a spec for a rootless container"),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "create",
        args: "<container-id>",
        summary: "create a container (its process waits for \"start\")",
        flags: &[
            BUNDLE,
            PID_FILE,
            CONSOLE_SOCKET,
            NO_PIVOT,
            NO_NEW_KEYRING,
            PRESERVE_FDS,
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "start",
        args: "<container-id>",
        summary: "run the user program of a created container",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "run",
        args: "<container-id>",
        summary: "create and start a container, wait for it and exit with its status",
        flags: &[
            BUNDLE,
            PID_FILE,
            CONSOLE_SOCKET,
            flag(&["detach", "d"], "return once the container runs"),
            NO_PIVOT,
            NO_NEW_KEYRING,
            PRESERVE_FDS,
            flag(&["keep"], "keep the container's state after it exits"),
            flag(&["no-subreaper"], "accepted for compatibility, ignored"),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "state",
        args: "<container-id>",
        summary: "print the state of a container as JSON",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "list",
        args: "",
        summary: "list the containers",
        flags: &[
            FORMAT,
            flag(&["quiet", "q"], "print only the container ids"),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "kill",
        args: "<container-id> [SIGNAL]",
        summary: "send a signal (default SIGTERM) to the container's init",
        flags: &[flag(
            &["all", "a"],
            "send the signal to every process of the container",
        )],
        stop_at_positional: false,
    },
    CmdDef {
        name: "delete",
        args: "<container-id>",
        summary: "delete a stopped container",
        flags: &[flag(&["force", "f"], "kill the container first if it runs")],
        stop_at_positional: false,
    },
    CmdDef {
        name: "exec",
        args: "<container-id> [COMMAND [ARGS...]]",
        summary: "run a new process in a running container",
        flags: &[
            opt(
                &["process", "p"],
                "FILE",
                "a JSON file holding an OCI process object",
            ),
            CONSOLE_SOCKET,
            flag(&["tty", "t"], "allocate a pseudo-terminal"),
            flag(&["detach", "d"], "return once the process runs"),
            PID_FILE,
            PRESERVE_FDS,
            multi(
                &["env", "e"],
                "KEY=VALUE",
                "set an environment variable (repeatable)",
            ),
            opt(&["cwd"], "DIR", "working directory of the process"),
            opt(&["user", "u"], "UID[:GID]", "user and group ids"),
            multi(
                &["additional-gids", "g"],
                "GID",
                "an additional group id (repeatable)",
            ),
            multi(&["cap", "c"], "CAP", "add a capability (repeatable)"),
            flag(&["no-new-privs"], "set no_new_privs for the process"),
            opt(&["process-label"], "LABEL", "SELinux label of the process"),
            opt(&["apparmor"], "PROFILE", "AppArmor profile of the process"),
            multi(
                &["cgroup"],
                "[CONTROLLER:]PATH",
                "run in a sub-cgroup (repeatable)",
            ),
            flag(&["ignore-paused"], "exec even when the container is paused"),
        ],
        stop_at_positional: true,
    },
    CmdDef {
        name: "ps",
        args: "<container-id> [PS ARGS...]",
        summary: "list the processes of a container",
        flags: &[FORMAT],
        stop_at_positional: true,
    },
    CmdDef {
        name: "pause",
        args: "<container-id>",
        summary: "freeze every process of a container",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "resume",
        args: "<container-id>",
        summary: "thaw a paused container",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "update",
        args: "<container-id>",
        summary: "change the resource limits of a container",
        flags: &[
            opt(
                &["resources", "r"],
                "FILE",
                "a JSON LinuxResources object (\"-\" reads stdin)",
            ),
            opt(
                &["memory"],
                "BYTES",
                "memory limit (e.g. 64m; -1: unlimited)",
            ),
            opt(
                &["memory-swap"],
                "BYTES",
                "memory+swap limit (-1: unlimited)",
            ),
            opt(&["memory-reservation"], "BYTES", "memory soft limit"),
            opt(
                &["cpu-shares", "cpu-share"],
                "N",
                "CPU shares (relative weight)",
            ),
            opt(&["cpu-quota"], "USEC", "CPU CFS quota per period"),
            opt(&["cpu-period"], "USEC", "CPU CFS period"),
            opt(&["cpu-rt-period"], "USEC", "CPU real-time period"),
            opt(
                &["cpu-rt-runtime"],
                "USEC",
                "CPU real-time runtime per period",
            ),
            opt(&["cpuset-cpus"], "LIST", "CPUs allowed (e.g. 0-1)"),
            opt(&["cpuset-mems"], "LIST", "memory nodes allowed"),
            opt(&["pids-limit"], "N", "maximum number of processes"),
            opt(&["blkio-weight"], "N", "block I/O weight (10-1000)"),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "events",
        args: "<container-id>",
        summary: "print container statistics as JSON events",
        flags: &[
            flag(&["stats"], "print one statistics sample and exit"),
            opt(
                &["interval"],
                "DURATION",
                "interval between samples (default 5s)",
            ),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "features",
        args: "",
        summary: "print the features this runtime supports, as JSON",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "checkpoint",
        args: "<container-id>",
        summary: "not supported",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "restore",
        args: "<container-id>",
        summary: "not supported",
        flags: &[],
        stop_at_positional: false,
    },
];

/// The usage line of a flag, as help prints it.
pub fn flag_usage(f: &FlagDef) -> (String, &'static str) {
    let mut s = String::new();
    let mut names: Vec<&str> = f.names.to_vec();
    names.sort_by_key(|n| n.len() > 1);
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(if n.len() == 1 { "-" } else { "--" });
        s.push_str(n);
    }
    match f.kind {
        Kind::Bool => {}
        Kind::OptValue => s.push_str(f.value),
        Kind::Value | Kind::Multi => {
            s.push(' ');
            s.push_str(f.value);
        }
    }
    (s, f.help)
}

impl CmdDef {
    pub fn flags(&self) -> &'static [FlagDef] {
        self.flags
    }
}

/// Find a command by name.
pub fn command(name: &str) -> Option<&'static CmdDef> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Flags and positional arguments as they were given.
#[derive(Debug, Default)]
struct Matches {
    /// (canonical name, value); booleans have "true"/"false".
    flags: Vec<(&'static str, String)>,
    positionals: Vec<String>,
    help: bool,
}

impl Matches {
    fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn values(&self, name: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn bool(&self, name: &str) -> bool {
        self.value(name) == Some("true")
    }

    /// A path flag; an empty value counts as not given.
    fn path(&self, name: &str) -> Option<PathBuf> {
        self.value(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// `--preserve-fds N` (0 when not given).
    fn preserve_fds(&self) -> Result<u32> {
        self.value("preserve-fds")
            .map_or(Ok(0), |v| parse_num("preserve-fds", v))
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Parse the flags of one command (or of the globals, `cmd == None`) in `args`.
/// Globals stop at the first positional (the subcommand).
fn parse_flags(
    cmd_name: Option<&str>,
    defs: &'static [FlagDef],
    stop_at_positional: bool,
    args: &[String],
) -> Result<Matches> {
    let for_cmd = match cmd_name {
        Some(c) => format!(" for \"{c}\""),
        None => String::new(),
    };
    let mut m = Matches::default();
    let mut i = 0;
    let mut raw = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if raw || (stop_at_positional && !m.positionals.is_empty()) {
            m.positionals.push(a.clone());
            continue;
        }
        if a == "--" {
            raw = true;
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            m.positionals.push(a.clone());
            continue;
        }
        let body = a.strip_prefix("--").unwrap_or(&a[1..]);
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        if name.is_empty() || name.starts_with('-') {
            return err(format!("bad flag syntax: \"{a}\"{for_cmd}"));
        }
        let Some(def) = defs.iter().find(|d| d.names.contains(&name)) else {
            if name == "help" || name == "h" {
                m.help = true;
                continue;
            }
            return err(format!("unknown flag \"{a}\"{for_cmd}"));
        };
        let canonical = def.names[0];
        let value = match (def.kind, inline) {
            (Kind::Bool | Kind::OptValue, None) => "true".to_string(),
            (Kind::Bool, Some(v)) => match parse_bool(v) {
                Some(b) => b.to_string(),
                None => {
                    return err(format!(
                        "invalid boolean value \"{v}\" for flag \"-{name}\"{for_cmd}"
                    ))
                }
            },
            (_, Some(v)) => v.to_string(),
            (_, None) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => return err(format!("flag needs an argument: \"{a}\"{for_cmd}")),
            },
        };
        m.flags.push((canonical, value));
    }
    Ok(m)
}

/// The global flags, parsed: what comes before the subcommand.
#[derive(Debug, Clone)]
pub struct Globals {
    pub global: Global,
    /// Notes worth a debug log line (ignored flags).
    pub notes: Vec<String>,
    /// `--version` / `--help` given before any subcommand.
    early: Option<Command>,
    /// The subcommand and its arguments.
    rest: Vec<String>,
}

/// Parse the global flags (the start of the command line, without `argv[0]`). The
/// caller opens the log with them before parsing the rest, so that a usage error in
/// the subcommand is logged too.
pub fn parse_globals(args: &[String]) -> Result<Globals> {
    // In "stop at positional" mode, the subcommand and everything after it are the
    // positionals.
    let gm = parse_flags(None, GLOBAL_FLAGS, true, args)?;
    let mut notes = Vec::new();
    let mut global = Global::default();
    if let Some(v) = gm.value("root") {
        if v.is_empty() {
            return err("--root must not be empty");
        }
        global.root = Some(PathBuf::from(v));
    }
    global.log = gm.path("log");
    if let Some(v) = gm.value("log-format") {
        global.log_format = match v {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return err(format!("unknown log-format \"{v}\" (want text or json)")),
        };
    }
    global.debug = gm.bool("debug");
    global.trace = gm.path("trace");
    global.systemd_cgroup = gm.bool("systemd-cgroup");
    if let Ok(v) = std::env::var("FASTRUN_SPAWN") {
        global.spawn = match v.parse() {
            Ok(m) => m,
            Err(e) => return err(format!("FASTRUN_SPAWN: {e}")),
        };
    }
    if let Some(v) = gm.value("rootless") {
        notes.push(format!("--rootless={v} is accepted and ignored"));
        global.rootless = Some(v.to_string());
    }
    if let Some(v) = gm.value("criu") {
        notes.push(format!("--criu={v} is accepted and ignored"));
        global.criu = Some(v.to_string());
    }
    let early = if gm.bool("version") {
        Some(Command::Version)
    } else if gm.bool("help") || gm.positionals.is_empty() {
        Some(Command::Help(None))
    } else {
        None
    };
    Ok(Globals {
        global,
        notes,
        early,
        rest: gm.positionals,
    })
}

impl Globals {
    /// Parse the subcommand and its arguments.
    pub fn command(&self) -> Result<Command> {
        if let Some(c) = &self.early {
            return Ok(c.clone());
        }
        let (name, rest) = self.rest.split_first().expect("a subcommand");
        if name == "help" || name == "h" {
            return match rest.first() {
                None => Ok(Command::Help(None)),
                Some(c) => match command(c) {
                    Some(def) => Ok(Command::Help(Some(def.name))),
                    None => err(format!("unknown command \"{c}\"")),
                },
            };
        }
        match command(name) {
            Some(def) => parse_command(def, rest),
            None => err(format!(
                "unknown command \"{name}\" (see \"fastrun --help\")"
            )),
        }
    }
}

/// Parse the whole command line (without `argv[0]`).
#[cfg(test)]
pub fn parse(args: &[String]) -> Result<Invocation> {
    let g = parse_globals(args)?;
    let command = g.command()?;
    Ok(Invocation {
        global: g.global,
        command,
        notes: g.notes,
    })
}

fn missing_id<T>(def: &CmdDef) -> Result<T> {
    err(format!(
        "\"{}\" requires a container id (usage: fastrun {} {})",
        def.name, def.name, def.args
    ))
}

fn exactly_one(def: &CmdDef, m: &Matches) -> Result<String> {
    match m.positionals.len() {
        1 => Ok(m.positionals[0].clone()),
        0 => missing_id(def),
        n => err(format!(
            "\"{}\" requires exactly 1 argument, got {n} (usage: fastrun {} {})",
            def.name, def.name, def.args
        )),
    }
}

fn no_args(def: &CmdDef, m: &Matches) -> Result<()> {
    match m.positionals.first() {
        None => Ok(()),
        Some(a) => err(format!("\"{}\" takes no arguments, got \"{a}\"", def.name)),
    }
}

fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| UsageError(format!("invalid value \"{v}\" for --{flag}: want a number")))
}

fn parse_format(v: Option<&str>) -> Result<Format> {
    match v {
        None | Some("table") => Ok(Format::Table),
        Some("json") => Ok(Format::Json),
        Some(o) => err(format!(
            "invalid format option \"{o}\" (want table or json)"
        )),
    }
}

fn create_options(m: &Matches) -> Result<CreateOptions> {
    Ok(CreateOptions {
        bundle: m.path("bundle").unwrap_or_else(|| PathBuf::from(".")),
        pid_file: m.path("pid-file"),
        console_socket: m.path("console-socket"),
        no_pivot: m.bool("no-pivot"),
        no_new_keyring: m.bool("no-new-keyring"),
        preserve_fds: m.preserve_fds()?,
        keep: m.bool("keep"),
        config: None,
        stdio: None,
    })
}

/// `UID[:GID]`.
fn parse_user(v: &str) -> Result<(u32, Option<u32>)> {
    let bad = || UsageError(format!("invalid --user \"{v}\": want UID[:GID]"));
    let (u, g) = match v.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (v, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = match g {
        Some(g) => Some(g.parse().map_err(|_| bad())?),
        None => None,
    };
    Ok((uid, gid))
}

/// A size as runc's `--memory` takes it (docker's `RAMInBytes`): `-1`, or an integer
/// with an optional binary unit `b k m g t p` (optionally followed by `b`), any case.
pub fn parse_bytes(flag: &str, v: &str) -> Result<i64> {
    let bad = || {
        UsageError(format!(
            "invalid value \"{v}\" for --{flag}: want a size like 64m"
        ))
    };
    if v == "-1" {
        return Ok(-1);
    }
    let lower = v.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    if digits_end == 0 {
        return Err(bad());
    }
    let n: i64 = lower[..digits_end].parse().map_err(|_| bad())?;
    let unit = lower[digits_end..].trim();
    let shift = match unit
        .strip_suffix('b')
        .filter(|u| !u.is_empty())
        .unwrap_or(unit)
    {
        "" | "b" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(bad()),
    };
    n.checked_mul(1i64 << shift).ok_or_else(bad)
}

/// A Go duration: a sequence of decimal numbers with units `ns us µs ms s m h`.
pub fn parse_duration(v: &str) -> Result<Duration> {
    let bad = || UsageError(format!("invalid duration \"{v}\" (e.g. 5s, 500ms, 1m30s)"));
    let mut rest = v;
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_end == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_end..];
        total += n * scale;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

fn parse_command(def: &'static CmdDef, args: &[String]) -> Result<Command> {
    let unsupported = matches!(def.name, "checkpoint" | "restore");
    if unsupported {
        // Accept any flags: the answer is always "not supported" (even to --help).
        return Ok(Command::Unsupported(def.name));
    }
    let m = parse_flags(Some(def.name), def.flags, def.stop_at_positional, args)?;
    if m.help {
        return Ok(Command::Help(Some(def.name)));
    }
    let cmd = match def.name {
        "spec" => {
            no_args(def, &m)?;
            Command::Spec {
                bundle: m.path("bundle").unwrap_or_else(|| PathBuf::from(".")),
                rootless: m.bool("rootless"),
            }
        }
        "create" => Command::Create {
            id: exactly_one(def, &m)?,
            opts: create_options(&m)?,
        },
        "run" => Command::Run {
            id: exactly_one(def, &m)?,
            opts: create_options(&m)?,
            detach: m.bool("detach"),
        },
        "start" => Command::Start {
            id: exactly_one(def, &m)?,
        },
        "state" => Command::State {
            id: exactly_one(def, &m)?,
        },
        "pause" => Command::Pause {
            id: exactly_one(def, &m)?,
        },
        "resume" => Command::Resume {
            id: exactly_one(def, &m)?,
        },
        "delete" => Command::Delete {
            id: exactly_one(def, &m)?,
            force: m.bool("force"),
        },
        "list" => {
            no_args(def, &m)?;
            Command::List {
                format: parse_format(m.value("format"))?,
                quiet: m.bool("quiet"),
            }
        }
        "kill" => {
            let (id, sig) = match m.positionals.as_slice() {
                [] => return missing_id(def),
                [id] => (id.clone(), "SIGTERM"),
                [id, sig] => (id.clone(), sig.as_str()),
                _ => {
                    return err(format!(
                        "\"kill\" takes at most 2 arguments (usage: fastrun kill {})",
                        def.args
                    ))
                }
            };
            let signal = parse_signal(sig).map_err(|e| UsageError(e.to_string()))?;
            Command::Kill {
                id,
                signal,
                all: m.bool("all"),
            }
        }
        "exec" => {
            let Some(id) = m.positionals.first().cloned() else {
                return missing_id(def);
            };
            let mut args: Vec<String> = m.positionals[1..].to_vec();
            if args.first().map(String::as_str) == Some("--") {
                args.remove(0);
            }
            // No command and no --process: the engine refuses it (exit 255, as
            // runc, whose check comes after the container's).
            let process = m.path("process");
            let mut gids = Vec::new();
            for g in m.values("additional-gids") {
                gids.push(parse_num("additional-gids", &g)?);
            }
            for e in m.values("env") {
                if !e.contains('=') || e.starts_with('=') {
                    return err(format!("invalid --env \"{e}\": want KEY=VALUE"));
                }
            }
            let opts = ExecOptions {
                process,
                process_json: None,
                args,
                console_socket: m.path("console-socket"),
                tty: m.bool("tty"),
                detach: m.bool("detach"),
                pid_file: m.path("pid-file"),
                preserve_fds: m.preserve_fds()?,
                env: m.values("env"),
                cwd: m.value("cwd").map(str::to_string),
                user: m.value("user").map(parse_user).transpose()?,
                additional_gids: gids,
                caps: m.values("cap"),
                no_new_privs: m.bool("no-new-privs"),
                process_label: m.value("process-label").map(str::to_string),
                apparmor: m.value("apparmor").map(str::to_string),
                cgroup: m.values("cgroup"),
                ignore_paused: m.bool("ignore-paused"),
                stdio: None,
            };
            Command::Exec { id, opts }
        }
        "ps" => {
            let Some(id) = m.positionals.first().cloned() else {
                return missing_id(def);
            };
            let format = parse_format(m.value("format"))?;
            let ps_args = m.positionals[1..].to_vec();
            if format == Format::Json && !ps_args.is_empty() {
                return err("\"ps\": ps arguments are not allowed with --format json");
            }
            Command::Ps {
                id,
                format,
                ps_args,
            }
        }
        "update" => {
            let id = exactly_one(def, &m)?;
            let opt_i64 = |name: &str| -> Result<Option<i64>> {
                m.value(name).map(|v| parse_num(name, v)).transpose()
            };
            let opt_u64 = |name: &str| -> Result<Option<u64>> {
                m.value(name).map(|v| parse_num(name, v)).transpose()
            };
            let opt_bytes = |name: &str| -> Result<Option<i64>> {
                m.value(name).map(|v| parse_bytes(name, v)).transpose()
            };
            let opts = UpdateOptions {
                resources_json: None,
                memory: opt_bytes("memory")?,
                memory_swap: opt_bytes("memory-swap")?,
                memory_reservation: opt_bytes("memory-reservation")?,
                cpu_shares: opt_u64("cpu-shares")?,
                cpu_quota: opt_i64("cpu-quota")?,
                cpu_period: opt_u64("cpu-period")?,
                cpu_rt_period: opt_u64("cpu-rt-period")?,
                cpu_rt_runtime: opt_i64("cpu-rt-runtime")?,
                cpuset_cpus: m.value("cpuset-cpus").map(str::to_string),
                cpuset_mems: m.value("cpuset-mems").map(str::to_string),
                pids_limit: opt_i64("pids-limit")?,
                blkio_weight: m
                    .value("blkio-weight")
                    .map(|v| parse_num("blkio-weight", v))
                    .transpose()?,
            };
            Command::Update {
                id,
                resources: m.path("resources"),
                opts,
            }
        }
        "events" => {
            let interval = match m.value("interval") {
                Some(v) => parse_duration(v)?,
                None => Duration::from_secs(5),
            };
            if interval.is_zero() {
                return err("--interval must be greater than 0");
            }
            Command::Events {
                id: exactly_one(def, &m)?,
                stats: m.bool("stats"),
                interval,
            }
        }
        "features" => {
            no_args(def, &m)?;
            Command::Features
        }
        other => return err(format!("unknown command \"{other}\"")),
    };
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<Invocation> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&args)
    }

    fn cmd(line: &str) -> Command {
        p(line).unwrap_or_else(|e| panic!("{line:?}: {e}")).command
    }

    fn perr(line: &str) -> String {
        match p(line) {
            Ok(i) => panic!("{line:?} parsed: {:?}", i.command),
            Err(e) => e.0,
        }
    }

    #[test]
    fn containerd_globals() {
        let i = p(
            "--root /run/containerd/runc/default --log /b/log.json --log-format json \
                   --systemd-cgroup --criu /usr/sbin/criu --debug --rootless=false state c1",
        )
        .unwrap();
        assert_eq!(
            i.global.root,
            Some(PathBuf::from("/run/containerd/runc/default"))
        );
        assert_eq!(i.global.log, Some(PathBuf::from("/b/log.json")));
        assert_eq!(i.global.log_format, LogFormat::Json);
        assert!(i.global.debug && i.global.systemd_cgroup);
        assert_eq!(i.global.rootless.as_deref(), Some("false"));
        assert_eq!(i.global.criu.as_deref(), Some("/usr/sbin/criu"));
        assert_eq!(i.notes.len(), 2);
        assert!(matches!(i.command, Command::State { id } if id == "c1"));
    }

    #[test]
    fn podman_globals_eq_and_single_dash() {
        let i = p("--log-format=json --log=/x/log -root=/r -debug=true -systemd-cgroup kill c 9")
            .unwrap();
        assert_eq!(i.global.log_format, LogFormat::Json);
        assert_eq!(i.global.log, Some(PathBuf::from("/x/log")));
        assert_eq!(i.global.root, Some(PathBuf::from("/r")));
        assert!(i.global.debug && i.global.systemd_cgroup);
        assert!(matches!(
            i.command,
            Command::Kill {
                signal: 9,
                all: false,
                ..
            }
        ));
        let i = p("--debug=false state c").unwrap();
        assert!(!i.global.debug);
        let i = p("--rootless state c").unwrap();
        assert_eq!(i.global.rootless.as_deref(), Some("true"));
        let i = p("--rootless=auto state c").unwrap();
        assert_eq!(i.global.rootless.as_deref(), Some("auto"));
    }

    #[test]
    fn global_errors() {
        assert_eq!(perr("--foo state c"), "unknown flag \"--foo\"");
        assert!(perr("--log-format xml state c").contains("log-format"));
        assert!(perr("--root").contains("needs an argument"));
        assert!(perr("frobnicate c").contains("unknown command \"frobnicate\""));
        assert!(perr("--debug=maybe state c").contains("invalid boolean"));
    }

    #[test]
    fn version_and_help() {
        for l in ["--version", "-v", "-version", "--root /x --version"] {
            assert!(matches!(cmd(l), Command::Version), "{l}");
        }
        for l in ["--help", "-h", "", "help"] {
            assert!(matches!(cmd(l), Command::Help(None)), "{l}");
        }
        assert!(matches!(
            cmd("create --help"),
            Command::Help(Some("create"))
        ));
        assert!(matches!(cmd("help kill"), Command::Help(Some("kill"))));
        assert!(matches!(cmd("exec -h"), Command::Help(Some("exec"))));
    }

    #[test]
    fn create_forms() {
        let c = cmd(
            "create --bundle /b --pid-file /b/init.pid --console-socket /s.sock \
                     --no-pivot --no-new-keyring --preserve-fds 2 c1",
        );
        let Command::Create { id, opts } = c else {
            panic!()
        };
        assert_eq!(id, "c1");
        assert_eq!(opts.bundle, PathBuf::from("/b"));
        assert_eq!(opts.pid_file, Some(PathBuf::from("/b/init.pid")));
        assert_eq!(opts.console_socket, Some(PathBuf::from("/s.sock")));
        assert!(opts.no_pivot && opts.no_new_keyring);
        assert_eq!(opts.preserve_fds, 2);

        let Command::Create { opts, .. } = cmd("create -b=/b --pid-file=/p --preserve-fds=1 c1")
        else {
            panic!()
        };
        assert_eq!(opts.bundle, PathBuf::from("/b"));
        assert_eq!(opts.pid_file, Some(PathBuf::from("/p")));
        assert_eq!(opts.preserve_fds, 1);

        // -b defaults to the cwd; flags may follow the id (urfave reorders them).
        let Command::Create { id, opts } = cmd("create c1 -bundle /b2") else {
            panic!()
        };
        assert_eq!((id.as_str(), opts.bundle), ("c1", PathBuf::from("/b2")));
        let Command::Create { opts, .. } = cmd("create c1") else {
            panic!()
        };
        assert_eq!(opts.bundle, PathBuf::from("."));
    }

    #[test]
    fn create_errors() {
        assert_eq!(
            perr("create --foo c1"),
            "unknown flag \"--foo\" for \"create\""
        );
        assert!(perr("create --bundle /b").contains("requires a container id"));
        assert!(perr("create c1 c2").contains("exactly 1"));
        assert!(perr("create --bundle").contains("needs an argument"));
        assert!(perr("create --preserve-fds x c").contains("preserve-fds"));
        assert!(perr("create --no-pivot=yes c").contains("invalid boolean"));
        // After "--" everything is positional.
        assert!(perr("create c1 -- --bundle").contains("exactly 1"));
        assert!(matches!(cmd("create -- -c1"), Command::Create { id, .. } if id == "-c1"));
    }

    #[test]
    fn run_forms() {
        let Command::Run { id, opts, detach } =
            cmd("run -b /b -d --keep --no-subreaper --pid-file /p c1")
        else {
            panic!()
        };
        assert_eq!(id, "c1");
        assert!(detach && opts.keep);
        assert_eq!(opts.bundle, PathBuf::from("/b"));
        let Command::Run { detach, .. } = cmd("run --detach=false c1") else {
            panic!()
        };
        assert!(!detach);
    }

    #[test]
    fn kill_forms() {
        let k = |l| match cmd(l) {
            Command::Kill { id, signal, all } => (id, signal, all),
            c => panic!("{c:?}"),
        };
        assert_eq!(k("kill c1"), ("c1".into(), 15, false));
        assert_eq!(k("kill c1 9"), ("c1".into(), 9, false));
        assert_eq!(k("kill --all c1 9"), ("c1".into(), 9, true));
        assert_eq!(k("kill -a c1 KILL"), ("c1".into(), 9, true));
        assert_eq!(k("kill c1 SIGKILL"), ("c1".into(), 9, false));
        assert_eq!(k("kill c1 sigusr1 --all"), ("c1".into(), 10, true));
        assert!(perr("kill c1 SIGFOO").contains("unknown signal"));
        assert!(perr("kill c1 9 9").contains("at most 2"));
        assert!(perr("kill").contains("container id"));
    }

    #[test]
    fn delete_state_start() {
        assert!(matches!(
            cmd("delete c1"),
            Command::Delete { force: false, .. }
        ));
        assert!(matches!(
            cmd("delete --force c1"),
            Command::Delete { force: true, .. }
        ));
        assert!(matches!(
            cmd("delete c1 -f"),
            Command::Delete { force: true, .. }
        ));
        assert!(matches!(cmd("start c1"), Command::Start { id } if id == "c1"));
        assert!(matches!(cmd("pause c1"), Command::Pause { .. }));
        assert!(matches!(cmd("resume c1"), Command::Resume { .. }));
        assert!(perr("start").contains("requires a container id"));
        assert!(perr("state a b").contains("exactly 1"));
        assert!(perr("delete --all c1").contains("unknown flag \"--all\" for \"delete\""));
    }

    #[test]
    fn exec_containerd_and_conmon() {
        let Command::Exec { id, opts } = cmd("exec --process /t/process.json --console-socket /s \
             --detach --pid-file /t/exec.pid --preserve-fds 1 c1")
        else {
            panic!()
        };
        assert_eq!(id, "c1");
        assert_eq!(opts.process, Some(PathBuf::from("/t/process.json")));
        assert!(opts.detach && !opts.tty);
        assert_eq!(opts.preserve_fds, 1);
        assert!(opts.args.is_empty());

        let Command::Exec { opts, .. } =
            cmd("exec --tty --process=/p.json -d --pid-file=/x.pid c1")
        else {
            panic!()
        };
        assert!(opts.tty && opts.detach);
    }

    #[test]
    fn exec_args_after_id() {
        let Command::Exec { id, opts } = cmd("exec -e A=1 --env B=2 -u 1000:100 -g 5 -g 6 \
             --cwd /tmp --cap CAP_KILL --no-new-privs -t c1 ls -la --color --tty")
        else {
            panic!()
        };
        assert_eq!(id, "c1");
        assert_eq!(opts.args, ["ls", "-la", "--color", "--tty"]);
        assert!(opts.tty);
        assert_eq!(opts.env, ["A=1", "B=2"]);
        assert_eq!(opts.user, Some((1000, Some(100))));
        assert_eq!(opts.additional_gids, [5, 6]);
        assert_eq!(opts.cwd.as_deref(), Some("/tmp"));
        assert_eq!(opts.caps, ["CAP_KILL"]);
        assert!(opts.no_new_privs);

        let Command::Exec { opts, .. } = cmd("exec c1 -- sh -c true") else {
            panic!()
        };
        assert_eq!(opts.args, ["sh", "-c", "true"]);
        let Command::Exec { opts, .. } = cmd("exec --user 7 c1 id") else {
            panic!()
        };
        assert_eq!(opts.user, Some((7, None)));

        assert!(perr("exec").contains("container id"));
        assert!(perr("exec --user x c1 ls").contains("--user"));
        assert!(perr("exec --env NOVALUE c1 ls").contains("KEY=VALUE"));
        assert!(perr("exec --bogus c1 ls").contains("unknown flag \"--bogus\" for \"exec\""));
    }

    #[test]
    fn ps_list() {
        assert!(matches!(
            cmd("ps --format json c1"),
            Command::Ps { format: Format::Json, ref ps_args, .. } if ps_args.is_empty()
        ));
        let Command::Ps {
            ps_args, format, ..
        } = cmd("ps c1 -ef")
        else {
            panic!()
        };
        assert_eq!((ps_args, format), (vec!["-ef".to_string()], Format::Table));
        assert!(perr("ps -f yaml c1").contains("invalid format"));
        assert!(matches!(
            cmd("list"),
            Command::List {
                format: Format::Table,
                quiet: false
            }
        ));
        assert!(matches!(
            cmd("list -f json -q"),
            Command::List {
                format: Format::Json,
                quiet: true
            }
        ));
        assert!(matches!(
            cmd("list --format=json"),
            Command::List {
                format: Format::Json,
                ..
            }
        ));
        assert!(perr("list c1").contains("takes no arguments"));
    }

    #[test]
    fn update_forms() {
        let Command::Update {
            id,
            resources,
            opts,
        } = cmd("update --resources - c1")
        else {
            panic!()
        };
        assert_eq!(id, "c1");
        assert_eq!(resources, Some(PathBuf::from("-")));
        assert!(opts.memory.is_none());
        let Command::Update {
            resources, opts, ..
        } = cmd("update --resources=/r.json \
             --memory 64m --memory-swap=-1 --cpu-shares 512 --cpu-quota -1 \
             --cpu-period 100000 --cpuset-cpus 0-1 --pids-limit 10 --blkio-weight 500 c1")
        else {
            panic!()
        };
        assert_eq!(resources, Some(PathBuf::from("/r.json")));
        assert_eq!(opts.memory, Some(64 << 20));
        assert_eq!(opts.memory_swap, Some(-1));
        assert_eq!(opts.cpu_shares, Some(512));
        assert_eq!(opts.cpu_quota, Some(-1));
        assert_eq!(opts.cpu_period, Some(100000));
        assert_eq!(opts.cpuset_cpus.as_deref(), Some("0-1"));
        assert_eq!(opts.pids_limit, Some(10));
        assert_eq!(opts.blkio_weight, Some(500));
        // runc's spelling of the shares flag, and the real-time flags
        let Command::Update { opts, .. } =
            cmd("update --cpu-share 256 --cpu-rt-period 1000000 --cpu-rt-runtime 950000 c1")
        else {
            panic!()
        };
        assert_eq!(opts.cpu_shares, Some(256));
        assert_eq!(opts.cpu_rt_period, Some(1_000_000));
        assert_eq!(opts.cpu_rt_runtime, Some(950_000));
        assert!(perr("update --memory lots c1").contains("--memory"));
        assert!(perr("update --cpu-shares -5 c1").contains("cpu-shares"));
    }

    #[test]
    fn events_features_spec() {
        assert!(matches!(
            cmd("events --stats c1"),
            Command::Events { stats: true, .. }
        ));
        let Command::Events { interval, .. } = cmd("events --interval=2s c1") else {
            panic!()
        };
        assert_eq!(interval, Duration::from_secs(2));
        assert!(matches!(cmd("features"), Command::Features));
        assert!(matches!(
            cmd("spec --rootless -b /x"),
            Command::Spec { rootless: true, ref bundle } if bundle == &PathBuf::from("/x")
        ));
        assert!(perr("spec c1").contains("takes no arguments"));
    }

    #[test]
    fn checkpoint_restore_unsupported() {
        for l in [
            "checkpoint --help",
            "checkpoint --image-path /p --work-path /w --leave-running --file-locks c1",
            "restore --detach --pid-file /f --bundle /b -no-subreaper --image-path /p c1",
        ] {
            assert!(matches!(cmd(l), Command::Unsupported(_)), "{l}");
        }
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_bytes("m", "1024").unwrap(), 1024);
        assert_eq!(parse_bytes("m", "1k").unwrap(), 1024);
        assert_eq!(parse_bytes("m", "2MB").unwrap(), 2 << 20);
        assert_eq!(parse_bytes("m", "1g").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("m", "-1").unwrap(), -1);
        assert!(parse_bytes("m", "").is_err());
        assert!(parse_bytes("m", "m").is_err());
        assert!(parse_bytes("m", "99999999999999p").is_err());
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        for bad in ["", "5", "s", "5x", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
