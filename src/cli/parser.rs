//! The parser: raw arguments → flags and positionals → one [`Command`].

use std::path::PathBuf;
use std::time::Duration;

use fastrun_runtime::{parse_signal, CreateOptions, ExecOptions, UpdateOptions};

use super::tables::{command, CmdDef, FlagDef, Kind, GLOBAL_FLAGS};
use super::values::{parse_bool, parse_bytes, parse_duration, parse_format, parse_num, parse_user};
#[cfg(test)]
use super::Invocation;
use super::{err, Command, Format, Global, LogFormat, Result, UsageError};

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
