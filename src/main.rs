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
    // Globals first: they name the log file, which must receive every later error
    // (containerd shows the last error of the log), usage errors included.
    let globals = match cli::parse_globals(args) {
        Ok(g) => g,
        Err(e) => return fail(&mut log::Logger::stderr_only(), &Failure::Usage(e.0)),
    };
    let g = &globals.global;
    let mut log = match log::Logger::open(g.log.as_deref(), g.log_format, g.debug) {
        Ok(l) => l,
        Err(e) => return fail(&mut log::Logger::stderr_only(), &Failure::Other(e)),
    };
    for n in &globals.notes {
        log.debug(n);
    }
    let command = match globals.command() {
        Ok(c) => c,
        Err(e) => return fail(&mut log, &Failure::Usage(e.0)),
    };
    // The log file was opened before we knew which fds the caller preserves: keep it
    // out of 3..3+N, or it could be passed into the container (CVE-2024-21626 class).
    if let Err(e) = log.move_above(3 + command.preserve_fds()) {
        return fail(&mut log, &Failure::Other(e));
    }
    match commands::execute(g, command, &mut log) {
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
