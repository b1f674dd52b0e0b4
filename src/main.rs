//! fastrun: an OCI container runtime with runc's command line.
//!
//! The CLI is thin: [`cli`] turns the arguments into one validated command, [`commands`]
//! makes one engine call and formats its output, [`log`] writes runc-style log lines.

mod cli;
mod commands;
mod help;
mod log;
mod output;

use std::io::Write;

use commands::Failure;

fn main() {
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
    {
        Ok(a) => a,
        Err(a) => {
            eprintln!("fastrun: argument is not valid UTF-8: {a:?}");
            std::process::exit(1);
        }
    };
    std::process::exit(real_main(&args));
}

fn real_main(args: &[String]) -> i32 {
    let inv = match cli::parse(args) {
        Ok(i) => i,
        Err(e) => {
            // The log file is still wanted for errors (containerd reads it): open it if
            // the global flags were well-formed enough to name it.
            let mut log = best_effort_logger(args);
            return fail(&mut log, &Failure::Usage(e.0));
        }
    };
    let mut log = match log::Logger::open(
        inv.global.log.as_deref(),
        inv.global.log_format,
        inv.global.debug,
    ) {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "fastrun: {e}");
            return 1;
        }
    };
    for n in &inv.notes {
        log.debug(n);
    }
    match commands::execute(&inv.global, inv.command, &mut log) {
        Ok(code) => code,
        Err(f) => fail(&mut log, &f),
    }
}

/// Log and print an error; the exit status is 1.
fn fail(log: &mut log::Logger, f: &Failure) -> i32 {
    let msg = f.to_string();
    log.error(&msg);
    let line = match f {
        Failure::Usage(_) => format!("fastrun: {msg}\n"),
        _ => format!("{msg}\n"),
    };
    let _ = std::io::stderr().write_all(line.as_bytes());
    1
}

/// A logger for errors found while parsing: `--log`/`--log-format` are picked out of the
/// global flags if they can be.
fn best_effort_logger(args: &[String]) -> log::Logger {
    let mut path = None;
    let mut format = cli::LogFormat::Text;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if !a.starts_with('-') {
            break;
        }
        let body = a.trim_start_matches('-');
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let mut value = || value.clone().or_else(|| it.next().cloned());
        match name {
            "log" => path = value(),
            "log-format" => {
                let json = value().as_deref() == Some("json");
                format = if json {
                    cli::LogFormat::Json
                } else {
                    cli::LogFormat::Text
                };
            }
            "root" | "criu" => {
                value();
            }
            _ => {}
        }
    }
    log::Logger::open(path.as_deref().map(std::path::Path::new), format, false)
        .unwrap_or_else(|_| log::Logger::stderr_only())
}
