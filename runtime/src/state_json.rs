//! runc's `state` and `list` JSON, written by hand (runc's field order, layout and
//! escaping), shared by the CLI and the C ABI: no serializer on the path of `state`
//! and `list`. Its string escaping is the one the log lines use too.

use std::fmt::Write as _;

use crate::context::State;

/// `s` as a JSON string literal (with quotes), escaped per RFC 8259.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_json_string(&mut out, s);
    out
}

pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // U+2028/2029 are valid JSON but break JavaScript consumers; Go escapes them.
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The fields of runc's `containerState`, in its order. `indent` is `None` for the
/// compact form (`list --format json`), or the indentation of the object's fields.
pub(crate) fn push_state(out: &mut String, st: &State, indent: Option<&str>) {
    let (nl, ind, sep) = match indent {
        Some(i) => ("\n", i, ": "),
        None => ("", "", ":"),
    };
    let outer = &ind[..ind.len().saturating_sub(2)];
    let mut annotations: Vec<&(String, String)> = st.annotations.iter().collect();
    annotations.sort_by(|a, b| a.0.cmp(&b.0));
    let mut fields: Vec<(&str, String)> = vec![
        ("ociVersion", json_string(&st.oci_version)),
        ("id", json_string(&st.id)),
        ("pid", st.pid.to_string()),
        ("status", json_string(st.status.as_str())),
        ("bundle", json_string(&st.bundle.to_string_lossy())),
        ("rootfs", json_string(&st.rootfs.to_string_lossy())),
        ("created", json_string(&st.created)),
    ];
    if !annotations.is_empty() {
        let mut a = String::from("{");
        a.push_str(nl);
        for (i, (k, v)) in annotations.iter().enumerate() {
            a.push_str(ind);
            if indent.is_some() {
                a.push_str("  ");
            }
            push_json_string(&mut a, k);
            a.push_str(sep);
            push_json_string(&mut a, v);
            if i + 1 < annotations.len() {
                a.push(',');
            }
            a.push_str(nl);
        }
        a.push_str(ind);
        a.push('}');
        fields.push(("annotations", a));
    }
    fields.push(("owner", json_string(&st.owner)));
    if !st.own_cgroup {
        // not in runc's state: only for a container without a cgroup of its own
        fields.push(("cgroup", json_string("none")));
    }
    if let Some(code) = st.exit_status {
        // not in runc's state: the init's exit status, when its owner recorded it
        fields.push(("exitStatus", code.to_string()));
    }
    out.push('{');
    out.push_str(nl);
    for (i, (k, v)) in fields.iter().enumerate() {
        out.push_str(ind);
        push_json_string(out, k);
        out.push_str(sep);
        out.push_str(v);
        if i + 1 < fields.len() {
            out.push(',');
        }
        out.push_str(nl);
    }
    out.push_str(outer);
    out.push('}');
}

/// A compact JSON array of states (`list --format json`), without a newline.
pub fn states_to_json(states: &[State]) -> String {
    let mut out = String::from("[");
    for (i, st) in states.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_state(&mut out, st, None);
    }
    out.push(']');
    out
}
