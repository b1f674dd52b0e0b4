//! One validated [`Command`] → one engine call → output.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use fastrun_runtime::{Context, Error};

use crate::cli::{Command, Format, Global};
use crate::log::Logger;
use crate::{help, output};

/// Why a command failed. Every failure exits with status 1.
#[derive(Debug)]
pub enum Failure {
    /// A command-line error (printed with a `fastrun: ` prefix).
    Usage(String),
    /// The engine's error, printed as it is.
    Engine(Error),
    /// Any other error at the edges (I/O on stdout, files the CLI reads).
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Other(m) => f.write_str(m),
            Failure::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Engine(e)
    }
}

type Result<T> = std::result::Result<T, Failure>;

/// Write `s` on stdout. A closed stdout (EPIPE) is not an error worth reporting.
fn out(s: &str) -> Result<()> {
    let mut o = std::io::stdout().lock();
    match o.write_all(s.as_bytes()).and_then(|_| o.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Other(format!("write to stdout: {e}"))),
    }
}

/// Make a path absolute against the cwd (the engine may change directory).
fn abs(p: Option<PathBuf>) -> Result<Option<PathBuf>> {
    p.map(|p| {
        std::path::absolute(&p).map_err(|e| Failure::Other(format!("resolve {}: {e}", p.display())))
    })
    .transpose()
}

fn context(g: &Global) -> Context {
    let mut ctx = Context::new(
        g.root
            .clone()
            .unwrap_or_else(fastrun_runtime::rootless::default_root),
    );
    ctx.systemd_cgroup = g.systemd_cgroup;
    ctx.spawn = g.spawn;
    ctx.trace = g.trace.clone();
    ctx
}

/// Run one command; returns the exit status on success.
pub fn execute(global: &Global, command: Command, log: &mut Logger) -> Result<i32> {
    let mut ctx = context(global);
    ctx.log = Some(log.sink());
    match command {
        Command::Help(None) => out(&help::global())?,
        Command::Help(Some(name)) => {
            let def = crate::cli::command(name)
                .ok_or_else(|| Failure::Usage(format!("unknown command \"{name}\"")))?;
            out(&help::command(def))?;
        }
        Command::Version => out(&format!(
            "fastrun version {}\ncommit: {}\nspec: {}\n",
            fastrun_runtime::version(),
            env!("FASTRUN_COMMIT"),
            fastrun_runtime::OCI_SPEC_VERSION
        ))?,
        Command::Spec { bundle, rootless } => spec(&bundle, rootless)?,
        Command::Create { id, mut opts } => {
            opts.pid_file = abs(opts.pid_file)?;
            opts.console_socket = abs(opts.console_socket)?;
            log.debug(&format!("create {id}: bundle {}", opts.bundle.display()));
            ctx.create(&id, &opts)?;
        }
        Command::Start { id } => ctx.start(&id)?,
        Command::Run {
            id,
            mut opts,
            detach,
        } => {
            opts.pid_file = abs(opts.pid_file)?;
            opts.console_socket = abs(opts.console_socket)?;
            log.debug(&format!("run {id}: bundle {}", opts.bundle.display()));
            return Ok(ctx.run(&id, &opts, detach)?);
        }
        Command::State { id } => {
            let mut st = ctx.state(&id)?;
            // runc's `state` leaves the owner empty (its `list` fills it in).
            st.owner.clear();
            out(&output::state_json(&st))?;
        }
        Command::List { format, quiet } => {
            let states = match ctx.list() {
                Ok(s) => s,
                // No root yet means no containers (runc prints an empty list).
                Err(Error::Path { ref source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            let text = if quiet {
                output::list_quiet(&states)
            } else if format == Format::Json {
                output::list_json(&states)
            } else {
                output::list_table(&states)
            };
            out(&text)?;
        }
        Command::Kill { id, signal, all } => {
            log.debug(&format!("kill {id}: signal {signal}, all={all}"));
            ctx.kill(&id, signal, all)?;
        }
        Command::Delete { id, force } => ctx.delete(&id, force)?,
        Command::Exec { id, mut opts } => {
            opts.process = abs(opts.process)?;
            opts.pid_file = abs(opts.pid_file)?;
            opts.console_socket = abs(opts.console_socket)?;
            return Ok(ctx.exec(&id, &opts)?);
        }
        Command::Ps {
            id,
            format,
            ps_args,
        } => {
            let pids = ctx.ps(&id)?;
            match format {
                Format::Json => out(&output::pids_json(&pids))?,
                Format::Table => out(&ps_table(&pids, &ps_args)?)?,
            }
        }
        Command::Pause { id } => ctx.pause(&id)?,
        Command::Resume { id } => ctx.resume(&id)?,
        Command::Update {
            id,
            resources,
            mut opts,
        } => {
            if let Some(r) = resources {
                opts.resources_json = Some(read_resources(&r)?);
            }
            ctx.update(&id, &opts)?;
        }
        Command::Events {
            id,
            stats,
            interval,
        } => {
            let opts = fastrun_runtime::EventsOptions { stats, interval };
            // A closed stdout (EPIPE) ends the loop quietly; other write errors fail.
            let mut stop: Option<Option<Failure>> = None;
            let r = ctx.events(&id, &opts, &mut |line| {
                let mut o = std::io::stdout().lock();
                match writeln!(o, "{line}").and_then(|_| o.flush()) {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        stop = Some(
                            (e.kind() != std::io::ErrorKind::BrokenPipe)
                                .then(|| Failure::Other(format!("write to stdout: {e}"))),
                        );
                        Err(Error::InvalidState("stdout closed".into()))
                    }
                }
            });
            match stop {
                Some(Some(f)) => return Err(f),
                Some(None) => {}
                None => r?,
            }
        }
        Command::Features => {
            let f = fastrun_runtime::features()?;
            out(f.trim_end())?;
            out("\n")?;
        }
        Command::Unsupported(name) => {
            log.debug(&format!("{name} was called"));
            return Err(Failure::Other(
                "checkpoint/restore is not supported".to_string(),
            ));
        }
    }
    Ok(0)
}

/// `spec`: write the default config.json into the bundle; never overwrite one.
fn spec(bundle: &Path, rootless: bool) -> Result<()> {
    let text = fastrun_runtime::default_spec(rootless);
    if text.is_empty() {
        return Err(Failure::Other("spec: not implemented yet".into()));
    }
    let path = bundle.join("config.json");
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                Failure::Other(format!("File {} exists. Remove it first", path.display()))
            }
            _ => Failure::Other(format!("create {}: {e}", path.display())),
        })?;
    f.write_all(text.as_bytes())
        .map_err(|e| Failure::Other(format!("write {}: {e}", path.display())))
}

/// `update --resources FILE|-`.
fn read_resources(r: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    if r.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::Other(format!("read resources from stdin: {e}")))?;
    } else {
        buf = std::fs::read(r)
            .map_err(|e| Failure::Other(format!("read resources {}: {e}", r.display())))?;
    }
    Ok(buf)
}

/// `ps` (table): run the host's `ps` with the given arguments (default `-ef`) and keep
/// the header and the lines whose PID column is one of the container's pids.
fn ps_table(pids: &[i32], ps_args: &[String]) -> Result<String> {
    let default = ["-ef".to_string()];
    let args = if ps_args.is_empty() {
        &default[..]
    } else {
        ps_args
    };
    let ps = ["/bin/ps", "/usr/bin/ps"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("ps");
    let o = std::process::Command::new(ps)
        .args(args)
        .output()
        .map_err(|e| Failure::Other(format!("run {ps}: {e}")))?;
    if !o.status.success() {
        return Err(Failure::Other(format!(
            "{ps} {}: {}: {}",
            args.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Failure::Other("ps: couldn't find PID field in ps output".into()))?;
    let mut res = String::from(header);
    res.push('\n');
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            res.push_str(l);
            res.push('\n');
        }
    }
    Ok(res)
}
