//! Log lines, one writer per format, for every front end: the CLI's `--log` file
//! (runc's logrus, text or JSON), libfastrun's log file (JSON) and the shim's log
//! fifo (logrus text with every value quoted). Each function returns one
//! newline-terminated line, to be written with a single `write` so that
//! concurrent writers (O_APPEND) never interleave.

use crate::state_json::push_json_string;

/// `{"level":...,"msg":...,"time":...}` (logrus' JSON formatter, its key order).
pub fn json(level: &str, msg: &str, time: &str) -> String {
    let mut s = String::with_capacity(msg.len() + time.len() + 40);
    s.push_str("{\"level\":");
    push_json_string(&mut s, level);
    s.push_str(",\"msg\":");
    push_json_string(&mut s, msg);
    s.push_str(",\"time\":");
    push_json_string(&mut s, time);
    s.push_str("}\n");
    s
}

/// `time=... level=... msg=...` (logrus' text formatter): a value is quoted
/// unless it is made only of `[A-Za-z0-9-._/@^+]`.
pub fn text(level: &str, msg: &str, time: &str) -> String {
    format!(
        "time={} level={} msg={}\n",
        logfmt_value(time),
        logfmt_value(level),
        logfmt_value(msg)
    )
}

/// `time="..." level=... msg="..."`: logrus text with the time and the message
/// always quoted, the message escaped as a JSON string (a quote or a newline in
/// it cannot end the field or start a fake record). What containerd's shims write
/// to their log fifo.
pub fn quoted_text(level: &str, msg: &str, time: &str) -> String {
    let mut s = String::with_capacity(msg.len() + time.len() + 32);
    s.push_str("time=\"");
    s.push_str(time);
    s.push_str("\" level=");
    s.push_str(level);
    s.push_str(" msg=");
    push_json_string(&mut s, msg);
    s.push('\n');
    s
}

fn logfmt_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._/@^+".contains(&b));
    if plain {
        return v.to_string();
    }
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_formats() {
        assert_eq!(
            json("error", "bad \"x\"\n\tpath\\ \u{1}", "2026-11-29T04:10:22Z"),
            "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\"\\n\\tpath\\\\ \\u0001\",\"time\":\"2026-11-29T04:10:22Z\"}\n"
        );
        assert_eq!(
            text("error", "no \"such\" thing", "T"),
            "time=T level=error msg=\"no \\\"such\\\" thing\"\n"
        );
        assert_eq!(
            quoted_text("warn", "say \"hi\"\nx", "2023-11-14T22:13:20.000005Z"),
            "time=\"2023-11-14T22:13:20.000005Z\" level=warn msg=\"say \\\"hi\\\"\\nx\"\n"
        );
    }
}
