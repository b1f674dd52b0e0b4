//! Facts about processes read from the host's /proc (parent side only: allocates).

/// The start time of a process (field 22 of /proc/PID/stat, in clock ticks since
/// boot), used to tell a pid from a reused one.
pub fn start_time(pid: libc::pid_t) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// Parse field 22 out of a /proc/PID/stat line (the comm field may hold spaces and parens).
pub fn parse_start_time(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // After ")" come fields 3.. separated by spaces: field 22 is the 20th of those.
    after_comm.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// Is `pid` alive, and (when given) still the process that started at `start`?
/// A zombie counts as not alive.
pub fn is_alive(pid: libc::pid_t, start: Option<u64>) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_ascii_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return false;
    }
    match start {
        Some(s) => parse_start_time(&stat) == Some(s),
        None => true,
    }
}

use std::os::unix::fs::MetadataExt;

/// Namespace types and their /proc/PID/ns names.
const NS: &[(libc::c_int, &str)] = &[
    (libc::CLONE_NEWUSER, "user"),
    (libc::CLONE_NEWNS, "mnt"),
    (libc::CLONE_NEWPID, "pid"),
    (libc::CLONE_NEWNET, "net"),
    (libc::CLONE_NEWIPC, "ipc"),
    (libc::CLONE_NEWUTS, "uts"),
    (libc::CLONE_NEWCGROUP, "cgroup"),
    (libc::CLONE_NEWTIME, "time"),
];

/// The namespaces of `pid` that differ from ours (joining one's own user namespace
/// is an error, and joining the others is wasted work).
pub fn differing_namespaces(pid: libc::pid_t) -> libc::c_int {
    let mut flags = 0;
    for (flag, name) in NS {
        let theirs = std::fs::metadata(format!("/proc/{pid}/ns/{name}"));
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}"));
        if let (Ok(t), Ok(o)) = (theirs, ours) {
            if (t.dev(), t.ino()) != (o.dev(), o.ino()) {
                flags |= flag;
            }
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_skips_tricky_comm() {
        let line =
            "1234 (a) b c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_time(line), Some(987654));
    }

    #[test]
    fn own_process_is_alive_with_its_start_time() {
        let me = std::process::id() as libc::pid_t;
        let st = start_time(me).expect("own start time");
        assert!(is_alive(me, Some(st)));
        assert!(!is_alive(me, Some(st + 1)));
    }
}
