//! The daemon's log: the `log` fifo containerd creates in the bundle, one line
//! per record in logrus' text format, which containerd copies into its own log:
//! `time="2024-01-02T03:04:05.123456789Z" level=info msg="..."`. The same lines
//! as the `containerd-shim` crate's logger (`RUST_LOG` sets the level, `-debug`
//! raises it to debug at least).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{LevelFilter, Metadata, Record};

struct FifoLogger {
    file: Mutex<File>,
}

impl log::Log for FifoLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format_line(
            SystemTime::now(),
            record.level(),
            &record.args().to_string(),
        );
        // One write per record: containerd copies raw bytes from the fifo, so a
        // record must not be interleaved with another. A reader that went away
        // (EPIPE, SIGPIPE is ignored) is not an error of the shim's.
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Opens the `log` fifo of the working directory (the bundle) and installs the
/// logger.
pub fn init(debug: bool) -> Result<(), String> {
    let file = OpenOptions::new()
        .write(true)
        .open("log")
        .map_err(|e| format!("open log fifo: {e}"))?;
    log::set_max_level(level(debug, std::env::var("RUST_LOG").ok().as_deref()));
    log::set_boxed_logger(Box::new(FifoLogger {
        file: Mutex::new(file),
    }))
    .map_err(|e| e.to_string())
}

/// `RUST_LOG` (a level name; info by default or when unreadable), at least debug
/// with `-debug`.
fn level(debug: bool, env: Option<&str>) -> LevelFilter {
    let l = env
        .and_then(|s| s.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Info);
    if debug && l < LevelFilter::Debug {
        LevelFilter::Debug
    } else {
        l
    }
}

/// One logrus line (`fastrun_runtime::log_line::quoted_text`).
fn format_line(t: SystemTime, level: log::Level, msg: &str) -> String {
    fastrun_runtime::log_line::quoted_text(&level.as_str().to_lowercase(), msg, &rfc3339(t))
}

/// RFC 3339 in UTC with the nanoseconds Go's RFC3339Nano prints (trailing zeros
/// dropped, no fraction for a whole second): the engine's clock format.
fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    fastrun_runtime::state::rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn timestamps_as_go_rfc3339nano() {
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(951_782_400, 0)), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339(at(1_700_000_000, 123_456_789)),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(
            rfc3339(at(1_700_000_000, 120_000_000)),
            "2023-11-14T22:13:20.12Z"
        );
        assert_eq!(
            rfc3339(at(4_102_444_799, 1)),
            "2099-12-31T23:59:59.000000001Z"
        );
        assert_eq!(rfc3339(at(1_709_251_199, 0)), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn logrus_lines() {
        assert_eq!(
            format_line(at(1_700_000_000, 5_000), log::Level::Warn, "say \"hi\"\nx"),
            "time=\"2023-11-14T22:13:20.000005Z\" level=warn msg=\"say \\\"hi\\\"\\nx\"\n"
        );
        assert_eq!(
            format_line(at(0, 0), log::Level::Info, "ok"),
            "time=\"1970-01-01T00:00:00Z\" level=info msg=\"ok\"\n"
        );
    }

    #[test]
    fn records_are_written_whole_to_the_file() {
        use log::Log;
        let path = std::env::temp_dir().join(format!("shim-logger-test-{}", std::process::id()));
        let file = File::create(&path).unwrap();
        let logger = FifoLogger {
            file: Mutex::new(file),
        };
        // The only test that sets the global level.
        log::set_max_level(LevelFilter::Info);
        for (level, msg) in [(log::Level::Error, "one"), (log::Level::Debug, "hidden")] {
            logger.log(
                &Record::builder()
                    .level(level)
                    .args(format_args!("{msg}"))
                    .build(),
            );
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with("time=\"") && text.ends_with(" level=error msg=\"one\"\n"),
            "{text}"
        );
    }

    #[test]
    fn level_from_rust_log_and_debug() {
        assert_eq!(level(false, None), LevelFilter::Info);
        assert_eq!(level(true, None), LevelFilter::Debug);
        assert_eq!(level(false, Some("error")), LevelFilter::Error);
        assert_eq!(level(false, Some("bogus")), LevelFilter::Info);
        assert_eq!(level(true, Some("off")), LevelFilter::Debug);
        assert_eq!(level(true, Some("trace")), LevelFilter::Trace);
        assert_eq!(level(false, Some("TRACE")), LevelFilter::Trace);
    }
}
