//! Log lines as runc (logrus) writes them: `--log FILE` appends, `--log-format`
//! chooses between logrus' text and JSON formatters.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::LogFormat;

/// Where log lines go: the `--log` file, or stderr (debug lines only, with `--debug`).
pub struct Logger {
    /// Shared with the engine's log sink (one fd, never a clone at a low number).
    file: Option<std::sync::Arc<File>>,
    format: LogFormat,
    debug: bool,
}

impl Logger {
    /// A logger that writes nothing (before the command line is parsed).
    pub fn stderr_only() -> Self {
        Logger {
            file: None,
            format: LogFormat::Text,
            debug: false,
        }
    }

    /// Open (append, create with mode 0644) the `--log` file, if any.
    pub fn open(path: Option<&Path>, format: LogFormat, debug: bool) -> Result<Self, String> {
        let file = match path {
            None => None,
            Some(p) => Some(
                OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o644)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(p)
                    .map(std::sync::Arc::new)
                    .map_err(|e| format!("open log file {}: {e}", p.display()))?,
            ),
        };
        Ok(Logger {
            file,
            format,
            debug,
        })
    }

    /// Log an error to the log file (the caller prints it on stderr).
    pub fn error(&mut self, msg: &str) {
        if self.file.is_some() {
            self.write("error", msg);
        }
    }

    /// Log a debug line (with `--debug`): to the log file, or to stderr without one.
    pub fn debug(&mut self, msg: &str) {
        if !self.debug {
            return;
        }
        if self.file.is_some() {
            self.write("debug", msg);
        } else {
            let line = format_line(LogFormat::Text, "debug", msg, &now_rfc3339());
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }

    /// Move the log file's fd to `min` or above (close-on-exec), if it is lower.
    pub fn move_above(&mut self, min: u32) -> Result<(), String> {
        use std::os::fd::AsRawFd;
        let Some(f) = &self.file else { return Ok(()) };
        if f.as_raw_fd() >= min as i32 {
            return Ok(());
        }
        let fd = fastrun_runtime::sys::fd::dup_above(f.as_ref(), min as libc::c_int)
            .map_err(|e| format!("move the log file above fd {min}: {}", e.into_io()))?;
        // The old fd closes on drop.
        self.file = Some(std::sync::Arc::new(File::from(fd)));
        Ok(())
    }

    /// A sink for the engine's own messages: warnings go to stderr and the log
    /// file, debug notes (with `--debug`) to the log file or stderr.
    pub fn sink(&self) -> fastrun_runtime::LogSink {
        let file = self.file.clone();
        let (format, debug) = (self.format, self.debug);
        std::sync::Arc::new(move |level: fastrun_runtime::LogLevel, msg: &str| {
            let name = match level {
                fastrun_runtime::LogLevel::Warning => "warning",
                fastrun_runtime::LogLevel::Debug if debug => "debug",
                fastrun_runtime::LogLevel::Debug => return,
            };
            match &file {
                Some(f) => {
                    let _ =
                        (&**f).write_all(format_line(format, name, msg, &now_rfc3339()).as_bytes());
                    if level == fastrun_runtime::LogLevel::Warning {
                        let _ = writeln!(std::io::stderr(), "{msg}");
                    }
                }
                None => {
                    let line = format_line(LogFormat::Text, name, msg, &now_rfc3339());
                    let _ = std::io::stderr().write_all(line.as_bytes());
                }
            }
        })
    }

    fn write(&mut self, level: &str, msg: &str) {
        let line = format_line(self.format, level, msg, &now_rfc3339());
        if let Some(f) = self.file.as_ref() {
            // One write per line so concurrent writers do not interleave (O_APPEND).
            let _ = (&**f).write_all(line.as_bytes());
        }
    }
}

/// One log line, newline-terminated (`fastrun_runtime::log_line` writes it).
pub fn format_line(format: LogFormat, level: &str, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Json => fastrun_runtime::log_line::json(level, msg, time),
        LogFormat::Text => fastrun_runtime::log_line::text(level, msg, time),
    }
}

/// Now as `YYYY-MM-DDTHH:MM:SSZ` (logrus's RFC 3339 timestamps, to the second).
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    fastrun_runtime::state::rfc3339(secs as i64, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines() {
        let l = format_line(
            LogFormat::Json,
            "error",
            "bad \"x\"\n\tpath\\ \u{1}",
            "2026-11-29T04:10:22Z",
        );
        assert_eq!(
            l,
            "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\"\\n\\tpath\\\\ \\u0001\",\"time\":\"2026-11-29T04:10:22Z\"}\n"
        );
    }

    #[test]
    fn text_lines() {
        let l = format_line(LogFormat::Text, "error", "no \"such\" thing", "T");
        assert_eq!(l, "time=T level=error msg=\"no \\\"such\\\" thing\"\n");
        let l = format_line(LogFormat::Text, "debug", "plain", "2026-11-29T04:10:22Z");
        assert_eq!(l, "time=\"2026-11-29T04:10:22Z\" level=debug msg=plain\n");
    }

    #[test]
    fn log_file_appends() {
        let dir = std::env::temp_dir().join(format!("fastrun-log-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.json");
        for _ in 0..2 {
            let mut l = Logger::open(Some(&path), LogFormat::Json, true).unwrap();
            l.error("boom");
            l.debug("dbg");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("{\"level\":\"error\",\"msg\":\"boom\",\"time\":\""));
        assert!(lines[1].starts_with("{\"level\":\"debug\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
