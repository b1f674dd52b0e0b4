//! `--trace FILE` (and libfastrun's `trace_file`): where an operation's time goes.
//!
//! An operation (`create`, `start`, `run`, `exec`, `delete`, `kill`) is a timeline of
//! *marks*: the runtime marks the end of each of its steps ([`mark`]), the
//! container's process marks the end of each of its own (monotonic timestamps in
//! fixed-size messages over the sync socket, see [`crate::spawn::protocol::MSG_TIME`]).
//! Merged in time order, each mark closes the step that began at the mark before
//! it (the first at the operation's start), so the steps tile the operation:
//! their durations add up to the `total` line. When the runtime and the child
//! work at the same time, the overlap goes to whichever step ends first.
//!
//! When the operation ends, one JSON line per step is appended to the file (in a
//! single `write`, so concurrent operations do not interleave their lines):
//! `{"op":"run","id":"c1","step":"init.mounts","by":"init","start_us":812,"dur_us":95}`
//! - `start_us`: microseconds since the operation began (CLOCK_MONOTONIC);
//! - `by`: `runtime` or `init` (the container's process, also for `exec`);
//! - a last line `"step":"total"` with the whole duration, `start_unix_us` (the
//!   wall-clock start, microseconds since the epoch) and `ok` (the outcome).
//!
//! Without a trace file nothing is recorded: each mark is a thread-local check.

use std::cell::RefCell;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::sys::monotonic_ns;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Runtime,
    Init,
}

struct Mark {
    t: u64,
    step: &'static str,
    by: By,
}

struct Recorder {
    op: &'static str,
    id: String,
    path: PathBuf,
    log: Option<crate::context::LogSink>,
    t0: u64,
    unix0_us: u128,
    marks: Vec<Mark>,
}

thread_local! {
    static CURRENT: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// Fault injection, test (debug) builds only: `FASTRUN_TEST_CRASH_AT=OP:STEP` makes
/// the process SIGKILL itself when operation OP (`create`, `start`, `run`, `exec`,
/// `delete`, `kill`) reaches the mark STEP (the step names of `--trace`), so that
/// tests can check what a runtime killed at that very point leaves.
/// `FASTRUN_TEST_CRASH_AT=@FILE` reads `OP:STEP` from FILE instead and fires once:
/// the process that gets there first removes FILE and dies, later ones (the same
/// variable in a long-lived daemon's environment: containerd starting the shim) run
/// normally until the test writes FILE again. Release builds ignore the variable.
#[cfg(debug_assertions)]
mod crash {
    use std::cell::Cell;
    use std::path::PathBuf;
    use std::sync::OnceLock;

    thread_local! {
        static OP: Cell<&'static str> = const { Cell::new("") };
    }

    enum Target {
        Always(String, String),
        /// `OP:STEP` read from the file at each step, the file removed when it fires.
        Once(PathBuf),
    }

    fn target() -> Option<&'static Target> {
        static T: OnceLock<Option<Target>> = OnceLock::new();
        T.get_or_init(|| {
            let v = std::env::var("FASTRUN_TEST_CRASH_AT").ok()?;
            if let Some(file) = v.strip_prefix('@') {
                return Some(Target::Once(PathBuf::from(file)));
            }
            let (op, step) = v.split_once(':')?;
            Some(Target::Always(op.to_string(), step.to_string()))
        })
        .as_ref()
    }

    /// Whether `op` is now the current operation (not nested in another).
    pub(super) fn begin(op: &'static str) -> bool {
        OP.with(|o| {
            let outer = o.get().is_empty();
            if outer {
                o.set(op)
            }
            outer
        })
    }

    pub(super) fn end() {
        OP.with(|o| o.set(""));
    }

    pub(super) fn at(step: &str) {
        let cur = OP.with(|o| o.get());
        if cur.is_empty() {
            return;
        }
        match target() {
            Some(Target::Always(op, s)) if s == step && op == cur => crate::sys::clone::kill_self(),
            Some(Target::Once(file)) => {
                let Ok(v) = std::fs::read_to_string(file) else {
                    return;
                };
                if v.trim() == format!("{cur}:{step}") && std::fs::remove_file(file).is_ok() {
                    crate::sys::clone::kill_self()
                }
            }
            _ => {}
        }
    }
}

/// Ends the operation's trace when finished or dropped (written either way).
pub(crate) struct Op {
    owner: bool,
    /// This operation set the fault injection's current operation (debug builds).
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    crash_op: bool,
}

/// Start tracing operation `op` on container `id` when the context has a trace
/// file. Nested operations (`run --detach` = create + start) go into the outer one.
pub(crate) fn begin(ctx: &crate::context::Context, op: &'static str, id: &str) -> Op {
    #[cfg(debug_assertions)]
    let crash_op = crash::begin(op);
    #[cfg(not(debug_assertions))]
    let crash_op = false;
    let Some(path) = &ctx.trace else {
        return Op {
            owner: false,
            crash_op,
        };
    };
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_some() {
            return Op {
                owner: false,
                crash_op,
            };
        }
        *c = Some(Recorder {
            op,
            id: id.to_string(),
            path: path.clone(),
            log: ctx.log.clone(),
            t0: monotonic_ns(),
            unix0_us: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros())
                .unwrap_or(0),
            marks: Vec::with_capacity(48),
        });
        Op {
            owner: true,
            crash_op,
        }
    })
}

impl Op {
    /// End the operation with its outcome and write its lines.
    pub(crate) fn finish<T>(mut self, r: &crate::error::Result<T>) {
        self.end(r.is_ok());
    }

    fn end(&mut self, ok: bool) {
        #[cfg(debug_assertions)]
        if std::mem::take(&mut self.crash_op) {
            crash::end();
        }
        if !self.owner {
            return;
        }
        self.owner = false;
        let Some(rec) = CURRENT.with(|c| c.borrow_mut().take()) else {
            return;
        };
        rec.write(monotonic_ns(), ok);
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        self.end(false);
    }
}

/// Whether an operation is being traced on this thread (the child then records
/// its own marks).
pub(crate) fn active() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// The runtime finished `step` now.
pub(crate) fn mark(step: &'static str) {
    #[cfg(debug_assertions)]
    crash::at(step);
    CURRENT.with(|c| {
        if let Some(rec) = c.borrow_mut().as_mut() {
            rec.marks.push(Mark {
                t: monotonic_ns(),
                step,
                by: By::Runtime,
            });
        }
    });
}

/// The container's process finished `step` at `t` (CLOCK_MONOTONIC ns).
pub(crate) fn child_mark(step: &'static str, t: u64) {
    CURRENT.with(|c| {
        if let Some(rec) = c.borrow_mut().as_mut() {
            rec.marks.push(Mark {
                t,
                step,
                by: By::Init,
            });
        }
    });
}

impl Recorder {
    fn write(mut self, t_end: u64, ok: bool) {
        self.marks.sort_by_key(|m| m.t);
        let id = serde_json::to_string(&self.id).unwrap_or_else(|_| "\"\"".into());
        let us = |ns: u64| ns / 1000;
        let mut out = String::with_capacity(96 * (self.marks.len() + 1));
        let mut prev = self.t0;
        for m in &self.marks {
            let t = m.t.clamp(prev, t_end);
            out.push_str(&format!(
                "{{\"op\":\"{}\",\"id\":{id},\"step\":\"{}\",\"by\":\"{}\",\"start_us\":{},\"dur_us\":{}}}\n",
                self.op,
                m.step,
                match m.by {
                    By::Runtime => "runtime",
                    By::Init => "init",
                },
                us(prev - self.t0),
                us(t - self.t0) - us(prev - self.t0),
            ));
            prev = t;
        }
        out.push_str(&format!(
            "{{\"op\":\"{}\",\"id\":{id},\"step\":\"total\",\"by\":\"runtime\",\"start_us\":0,\"dur_us\":{},\"start_unix_us\":{},\"ok\":{ok}}}\n",
            self.op,
            us(t_end.max(self.t0) - self.t0),
            self.unix0_us,
        ));
        let r = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(&self.path)
            .and_then(|mut f| f.write_all(out.as_bytes()));
        if let (Err(e), Some(log)) = (r, &self.log) {
            log(
                crate::context::LogLevel::Warning,
                &format!("--trace {}: {e}", self.path.display()),
            );
        }
    }
}
