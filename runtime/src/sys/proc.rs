//! Facts about processes read from the host's /proc (parent side only: allocates).

/// The start time of a process (field 22 of /proc/PID/stat, in clock ticks since
/// boot), used to tell a pid from a reused one.
pub fn start_time(pid: libc::pid_t) -> Option<u64> {
    let stat = super::fs::read_small(format!("/proc/{pid}/stat")).ok()?;
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
    let Ok(stat) = super::fs::read_small(format!("/proc/{pid}/stat")) else {
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

/// Undoes mountinfo's octal escapes (`\040` for a space).
pub fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = u32::from(oct[0] - b'0') * 64
                    + u32::from(oct[1] - b'0') * 8
                    + u32::from(oct[2] - b'0');
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount of the host's mount table that holds `path` (an absolute, canonical
/// path): its mount point and whether it is shared, from `/proc/self/mountinfo`
/// text. The last mount on a mount point is the visible one.
pub fn mount_holding(
    mountinfo: &str,
    path: &std::path::Path,
) -> Option<(std::path::PathBuf, bool)> {
    let mut best: Option<(std::path::PathBuf, bool)> = None;
    for line in mountinfo.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (Some(mp), Some(sep)) = (f.get(4), f.iter().position(|x| *x == "-")) else {
            continue;
        };
        let mp = std::path::PathBuf::from(unescape_mountinfo(mp));
        if !path.starts_with(&mp) {
            continue;
        }
        let shared = f[6..sep].iter().any(|o| o.starts_with("shared:"));
        let longer = best
            .as_ref()
            .map_or(true, |(b, _)| mp.as_os_str().len() >= b.as_os_str().len());
        if longer {
            best = Some((mp, shared));
        }
    }
    best
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
    #[test]
    fn mount_holding_picks_the_deepest_visible_mount() {
        let mi = "22 1 8:1 / / rw - ext4 /dev/sda rw\n\
                  30 22 0:5 / /tmp rw shared:7 - tmpfs tmpfs rw\n\
                  31 22 0:6 / /tm rw - tmpfs tmpfs rw\n\
                  32 30 0:7 / /tmp/a\\040b rw master:1 - tmpfs tmpfs rw\n";
        let p = std::path::Path::new;
        assert_eq!(
            mount_holding(mi, p("/tmp/x/rootfs")),
            Some((p("/tmp").into(), true))
        );
        assert_eq!(
            mount_holding(mi, p("/tmp/a b/r")),
            Some((p("/tmp/a b").into(), false))
        );
        assert_eq!(mount_holding(mi, p("/tmpx")), Some((p("/").into(), false)));
    }

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
