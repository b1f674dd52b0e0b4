//! fastrun: an OCI container runtime with runc's command line.
//!
//! The CLI is thin: [`cli`] turns the arguments into one validated command, [`commands`]
//! makes one engine call and formats its output, [`log`] writes runc-style log lines.

// No std runtime init: `main` below is the C entry point. std's `lang_start` would
// read /proc/self/maps (the main thread's stack guard), set up a sigaltstack and
// SIGSEGV/SIGBUS handlers for stack-overflow messages, all before our first line;
// `runtime_init` keeps the two parts of it fastrun relies on, explicitly. Not under
// `cargo test`: the test harness brings its own `main`.
#![cfg_attr(not(test), no_main)]
#![deny(unsafe_code)]

mod cli;
mod commands;
mod help;
mod log;
mod output;

use std::io::Write;

use commands::Failure;

/// A bump arena in front of malloc (see `sys::arena`): a `fastrun` process lives for one
/// operation.
#[global_allocator]
static ALLOC: fastrun_runtime::sys::arena::CliArena = fastrun_runtime::sys::arena::CliArena::new();

/// The C entry point and the runtime init it does instead of std's.
// Compiled under `cargo test` too (unexported there: the harness has its own main).
// The C entry point: reads the argv the C runtime hands over (raw pointers).
#[allow(unsafe_code)]
#[cfg_attr(test, allow(dead_code))]
mod entry {
    use std::ffi::{c_char, c_int, CStr, OsStr};
    use std::os::unix::ffi::OsStrExt;

    use fastrun_runtime::sys::{fd, poll};

    /// The process entry point (called by the C runtime with the real argv).
    ///
    /// # Safety
    /// `argv` holds `argc` valid NUL-terminated strings, as the C runtime guarantees.
    #[cfg_attr(not(test), no_mangle)]
    pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
        runtime_init();
        let mut args = Vec::with_capacity(argc.max(1) as usize - 1);
        for i in 1..argc.max(0) as usize {
            // SAFETY: i < argc, so argv[i] is a valid C string (the caller's contract).
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            match std::str::from_utf8(arg.to_bytes()) {
                Ok(a) => args.push(a.to_string()),
                Err(_) => {
                    eprintln!(
                        "fastrun: argument is not valid UTF-8: {:?}",
                        OsStr::from_bytes(arg.to_bytes())
                    );
                    std::process::exit(1);
                }
            }
        }
        // process::exit, not a return: it runs std's cleanup (flushes stdout).
        std::process::exit(super::real_main(&args));
    }

    /// What std's runtime init did that fastrun needs, without the rest.
    fn runtime_init() {
        // Fds 0-2 that are closed get /dev/null: else the first files the runtime
        // opens (state, exec fifo) would become "stdout" and receive output.
        let mut fds = [0, 1, 2].map(|fd| poll::entry(fd, 0));
        // A zero timeout (a deadline of now) never blocks.
        let polled = poll::poll(&mut fds, Some(std::time::Instant::now())).is_ok();
        for (i, p) in fds.iter().enumerate() {
            let closed = if polled {
                p.revents & libc::POLLNVAL != 0
            } else {
                fd::cloexec(i as c_int).is_none()
            };
            if closed {
                // The lowest free fd is the closed one (fds below it are open); if
                // /dev/null cannot be opened there is nothing better to do than go on.
                let _ = fd::open_leak(c"/dev/null", libc::O_RDWR);
            }
        }
        // SIGPIPE ignored (as std does): a write to a closed pipe or socket (the sync
        // socket of a dead init, `fastrun list | head`) is an EPIPE error to report,
        // not a silent death. The init resets it to the default before exec.
        fastrun_runtime::sys::signal::ignore_sigpipe();
    }
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
    // runc's rule: every failure of `exec` itself, once its command line parsed,
    // exits 255, so that callers can tell it from the exec'd process's own status.
    let failed = if matches!(command, cli::Command::Exec { .. }) {
        EXEC_FAILED
    } else {
        1
    };
    match commands::execute(g, command, &mut log) {
        Ok(code) => code,
        Err(f) => {
            fail(&mut log, &f);
            failed
        }
    }
}

/// The exit status of a failed `exec` (runc's `fatalWithCode(..., 255)`).
const EXEC_FAILED: i32 = 255;

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
