//! Output formatting: runc's state JSON, `list`'s table and JSON, by hand.

use std::fmt::Write as _;

#[cfg(test)]
use fastrun_runtime::state_json::json_string;
use fastrun_runtime::State;

/// `state`: the state as pretty JSON (2-space indent), newline-terminated.
pub fn state_json(st: &State) -> String {
    let mut out = st.to_json();
    out.push('\n');
    out
}

/// `list --format json`: a compact JSON array, newline-terminated; `null` when
/// there is no container, as runc prints its empty list.
pub fn list_json(states: &[State]) -> String {
    if states.is_empty() {
        return "null\n".into();
    }
    let mut out = fastrun_runtime::state_json::states_to_json(states);
    out.push('\n');
    out
}

/// `list -q`: one id a line.
pub fn list_quiet(states: &[State]) -> String {
    let mut out = String::new();
    for st in states {
        out.push_str(&st.id);
        out.push('\n');
    }
    out
}

/// `list`: runc's table, aligned like Go's `tabwriter.NewWriter(w, 12, 1, 3, ' ', 0)`:
/// every column but the last is as wide as its widest cell plus 3, at least 12.
pub fn list_table(states: &[State]) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "ID".into(),
        "PID".into(),
        "STATUS".into(),
        "BUNDLE".into(),
        "CREATED".into(),
        "OWNER".into(),
    ]];
    for st in states {
        rows.push([
            st.id.clone(),
            st.pid.to_string(),
            st.status.as_str().to_string(),
            st.bundle.to_string_lossy().into_owned(),
            st.created.clone(),
            st.owner.clone(),
        ]);
    }
    tabulate(&rows)
}

/// Go tabwriter (minwidth 12, padding 3, space padding) for rows of equal length.
pub fn tabulate<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < N {
                let width = (widths[i] + 3).max(12);
                let pad = width - cell.chars().count();
                out.extend(std::iter::repeat(' ').take(pad));
            }
        }
        out.push('\n');
    }
    out
}

/// `ps --format json`: a JSON array of pids.
pub fn pids_json(pids: &[i32]) -> String {
    let mut out = String::from("[");
    for (i, p) in pids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{p}");
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastrun_runtime::Status;
    use std::path::PathBuf;

    fn st(id: &str, annotations: Vec<(String, String)>) -> State {
        State {
            oci_version: "1.3.0".into(),
            id: id.into(),
            status: Status::Running,
            pid: 4242,
            bundle: PathBuf::from("/b/\"q\""),
            rootfs: PathBuf::from("/b/rootfs"),
            created: "2026-11-29T04:10:22.123456789Z".into(),
            owner: "root".into(),
            annotations,
            own_cgroup: true,
            exit_status: None,
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(json_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(json_string("\u{1}\u{1f}"), r#""\u0001\u001f""#);
        assert_eq!(json_string("é ✓ \u{2028}"), "\"é ✓ \\u2028\"");
    }

    #[test]
    fn state_pretty() {
        let s = state_json(&st("c1", vec![]));
        assert_eq!(
            s,
            "{\n  \"ociVersion\": \"1.3.0\",\n  \"id\": \"c1\",\n  \"pid\": 4242,\n  \"status\": \"running\",\n  \"bundle\": \"/b/\\\"q\\\"\",\n  \"rootfs\": \"/b/rootfs\",\n  \"created\": \"2026-11-29T04:10:22.123456789Z\",\n  \"owner\": \"root\"\n}\n"
        );
        let s = state_json(&st(
            "c1",
            vec![("z".into(), "1".into()), ("a".into(), "x\ny".into())],
        ));
        assert!(
            s.contains(
                "  \"annotations\": {\n    \"a\": \"x\\ny\",\n    \"z\": \"1\"\n  },\n  \"owner\""
            ),
            "{s}"
        );
        // rootless without a cgroup of its own: said after the owner
        let mut no_cg = st("c1", vec![]);
        no_cg.own_cgroup = false;
        let s = state_json(&no_cg);
        assert!(
            s.ends_with("  \"owner\": \"root\",\n  \"cgroup\": \"none\"\n}\n"),
            "{s}"
        );
    }

    #[test]
    fn list_formats() {
        let states = [st("c1", vec![("k".into(), "v".into())]), st("c2", vec![])];
        let j = list_json(&states);
        assert!(j.starts_with("[{\"ociVersion\":\"1.3.0\",\"id\":\"c1\",\"pid\":4242,"));
        assert!(j.contains("\"annotations\":{\"k\":\"v\"},\"owner\":\"root\"},{"));
        assert!(j.ends_with("}]\n"));
        assert_eq!(list_json(&[]), "null\n");
        assert_eq!(list_quiet(&states), "c1\nc2\n");
        let t = list_table(&states[1..]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "ID          PID         STATUS      BUNDLE      CREATED                          OWNER"
        );
        assert_eq!(
            lines[1],
            "c2          4242        running     /b/\"q\"      2026-11-29T04:10:22.123456789Z   root"
        );
        assert_eq!(pids_json(&[1, 22]), "[1,22]\n");
        assert_eq!(pids_json(&[]), "[]\n");
    }
}
