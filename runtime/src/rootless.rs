//! Rootless: what changes when the runtime is not root of the initial user
//! namespace (runc's rule: an unprivileged user, or uid 0 inside a user namespace
//! such as rootless podman's). The one home of these rules:
//!
//! - **State root** ([`default_root`]): `/run/fastrun`, or `$XDG_RUNTIME_DIR/fastrun`
//!   when `XDG_RUNTIME_DIR` is set and non-empty and the runtime is rootless, except
//!   for uid 0 in a user namespace with `USER=root` (runc's backward-compatibility
//!   case). An unset `XDG_RUNTIME_DIR` keeps `/run/fastrun`, as runc keeps
//!   `/run/runc`. The XDG directory is made mode 01700 (sticky: not pruned, as the
//!   XDG spec asks and runc does).
//! - **cgroups** (applied in `lifecycle::create`): without write access to the cgroup
//!   tree and without a `linux.cgroupsPath`, the container gets no cgroup of its own,
//!   unless `linux.resources` asks for a limit, which is then a clear error. A given
//!   `cgroupsPath` (a cgroup handed over to the user) must work. v1 device rules are
//!   not written (only root of the initial namespace may write `devices.*`); on v2 a
//!   device program that cannot be loaded is skipped. On pure cgroup v2 without a
//!   `cgroupsPath`, the container goes under the parent of the runtime's own cgroup
//!   (a systemd user session's delegated subtree), as runc does.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::context::DEFAULT_ROOT;

/// The directory name under `$XDG_RUNTIME_DIR`.
pub const XDG_SUBDIR: &str = "fastrun";

/// Whether a `/proc/self/uid_map` text is the initial user namespace's (one full
/// range `0 0 4294967295`).
pub fn is_initial_uid_map(text: &str) -> bool {
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .filter(|f: &Vec<&str>| !f.is_empty())
        .collect();
    matches!(lines.as_slice(), [l] if l.as_slice() == ["0", "0", "4294967295"])
}

/// Whether this process runs in a user namespace other than the initial one.
/// Without `/proc/self/uid_map` (no user namespace support), false.
pub fn in_user_namespace() -> bool {
    static IN_USERNS: OnceLock<bool> = OnceLock::new();
    *IN_USERNS.get_or_init(|| {
        crate::sys::fs::read_small("/proc/self/uid_map").is_ok_and(|m| !is_initial_uid_map(&m))
    })
}

/// Rootless: not root, or root of a user namespace other than the initial one.
pub fn is_rootless() -> bool {
    crate::sys::geteuid() != 0 || in_user_namespace()
}

/// The default state root for this process (see the module docs).
pub fn default_root() -> PathBuf {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    if xdg.is_none() {
        // the common case (root, or a user without a session): no uid_map read
        return PathBuf::from(DEFAULT_ROOT);
    }
    default_root_for(
        crate::sys::geteuid(),
        in_user_namespace(),
        xdg.as_deref(),
        std::env::var_os("USER").as_deref(),
    )
}

/// [`default_root`] for given facts (pure).
pub fn default_root_for(
    euid: u32,
    in_userns: bool,
    xdg_runtime_dir: Option<&OsStr>,
    user: Option<&OsStr>,
) -> PathBuf {
    let Some(xdg) = xdg_runtime_dir.filter(|d| !d.is_empty()) else {
        return PathBuf::from(DEFAULT_ROOT);
    };
    let honour = if euid != 0 {
        true
    } else if !in_userns {
        // real root: /run/fastrun, even with XDG_RUNTIME_DIR=/run/user/0
        false
    } else {
        user != Some(OsStr::new("root"))
    };
    if honour {
        Path::new(xdg).join(XDG_SUBDIR)
    } else {
        PathBuf::from(DEFAULT_ROOT)
    }
}

/// Whether `root` is the XDG default state root of this process (made sticky).
pub(crate) fn is_xdg_root(root: &Path) -> bool {
    root != Path::new(DEFAULT_ROOT) && root == default_root()
}

/// Whether a container of this process without a `cgroupsPath` would get a cgroup
/// of its own: always as root; rootless, when the place of new cgroups is
/// writable (the parent of our own cgroup on pure v2, else the `fastrun` parent, or
/// the hierarchy root where it does not exist yet, in the first managed v1 hierarchy).
pub fn default_cgroup_writable() -> bool {
    if !is_rootless() {
        return true;
    }
    let Ok(layout) = crate::cgroups::Layout::detect() else {
        return false;
    };
    let dir = if layout.is_v2() {
        let parent = own_v2_cgroup_parent().unwrap_or_else(|| PathBuf::from("/"));
        layout
            .unified()
            .map(|u| u.join(parent.strip_prefix("/").unwrap_or(&parent)))
    } else {
        layout
            .hierarchies()
            .iter()
            .find(|h| !h.is_named())
            .map(|h| h.mountpoint.clone())
            .map(|m| {
                let parent = m.join(crate::cgroups::path::DEFAULT_PARENT);
                if parent.is_dir() {
                    parent
                } else {
                    m
                }
            })
    };
    dir.and_then(|d| std::ffi::CString::new(d.into_os_string().into_encoded_bytes()).ok())
        .is_some_and(|c| crate::sys::fs::is_writable(&c))
}

/// The parent of this process's own cgroup v2 path (`0::/a/b/c` → `/a/b`), where a
/// rootless container without a `cgroupsPath` goes on pure v2, as runc does. None
/// in the root cgroup or when /proc/self/cgroup has no v2 line.
pub fn own_v2_cgroup_parent() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    v2_parent_of(&text)
}

fn v2_parent_of(proc_self_cgroup: &str) -> Option<PathBuf> {
    let own = proc_self_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))?
        .trim();
    let parent = Path::new(own).parent()?;
    (parent != Path::new("/")).then(|| parent.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn initial_uid_map() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        assert!(!is_initial_uid_map("         0       1001          1\n"));
        assert!(!is_initial_uid_map(
            "0 1001 1\n1 100000 65536\n" // rootless podman's namespace
        ));
        assert!(!is_initial_uid_map("0 0 4294967294\n"));
    }

    #[test]
    fn state_root_follows_runc() {
        let run = PathBuf::from("/run/fastrun");
        let xdg = PathBuf::from("/run/user/1001/fastrun");
        // real root: never XDG
        assert_eq!(default_root_for(0, false, os("/run/user/1001"), None), run);
        // an unprivileged user: XDG when set and non-empty
        assert_eq!(
            default_root_for(1001, false, os("/run/user/1001"), None),
            xdg
        );
        assert_eq!(default_root_for(1001, false, os(""), None), run);
        assert_eq!(default_root_for(1001, false, None, None), run);
        // uid 0 in a user namespace (rootless podman): XDG unless USER=root
        assert_eq!(
            default_root_for(0, true, os("/run/user/1001"), os("alice")),
            xdg
        );
        assert_eq!(default_root_for(0, true, os("/run/user/1001"), None), xdg);
        assert_eq!(
            default_root_for(0, true, os("/run/user/1001"), os("root")),
            run
        );
        assert_eq!(default_root_for(0, true, None, os("alice")), run);
    }

    #[test]
    fn v2_parent() {
        let f =
            "1:cpu:/x\n0::/user.slice/user-1000.slice/user@1000.service/app.slice/podman.scope\n";
        assert_eq!(
            v2_parent_of(f),
            Some(PathBuf::from(
                "/user.slice/user-1000.slice/user@1000.service/app.slice"
            ))
        );
        assert_eq!(v2_parent_of("0::/\n"), None);
        assert_eq!(v2_parent_of("0::/a\n"), None);
        assert_eq!(v2_parent_of("1:cpu:/a/b\n"), None);
    }
}
