//! `HOME` for a process whose `process.env` has none: the home directory of its
//! uid in the container's `/etc/passwd`, else "/" (runc's rule, for `run` and
//! `exec`). Read by the runtime before the clone (the child never allocates),
//! through the container's root with `openat2(RESOLVE_IN_ROOT)`.

use std::ffi::CString;
use std::path::Path;

use crate::spec;
use crate::sys::fs::{RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};

/// More than any real passwd file; a bigger one is not read (HOME is "/").
const MAX_PASSWD: u64 = 4 << 20;

/// Does `env` lack a usable HOME (missing or empty, as runc's `Getenv` sees it)?
pub fn needs_home(env: &[spec::Str<'_>]) -> bool {
    !env.iter()
        .rev()
        .find_map(|e| e.strip_prefix("HOME="))
        .is_some_and(|h| !h.is_empty())
}

/// The home directory of `uid` in passwd text; None when not listed.
pub fn home_in_passwd(text: &str, uid: u32) -> Option<String> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].trim().parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
    })
}

/// Open `rel` inside the directory `root` (symlinks resolved as if `root` were
/// "/") and read it, bounded. None on any failure.
fn read_in_root(root: &Path, rel: &str) -> Option<String> {
    let root_c = CString::new(root.as_os_str().as_encoded_bytes()).ok()?;
    let dir = crate::sys::fd::open_at(
        libc::AT_FDCWD,
        &root_c,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
    .ok()?;
    let rel_c = CString::new(rel).ok()?;
    let fd = crate::sys::fd::open_at2(
        std::os::fd::AsRawFd::as_raw_fd(&dir),
        &rel_c,
        libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK,
        0,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    )
    .ok()?;
    let file = std::fs::File::from(fd);
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_PASSWD), &mut text).ok()?;
    Some(text)
}

/// HOME for `uid` in the container `root` (a host directory seen as "/"), "/"
/// when passwd is missing or does not list the uid.
pub fn home_in_root(root: &Path, uid: u32) -> String {
    read_in_root(root, "etc/passwd")
        .and_then(|t| home_in_passwd(&t, uid))
        .unwrap_or_else(|| "/".into())
}

/// HOME for `uid` before a container's mounts exist: `/etc/passwd` as the
/// container will see it, i.e. through the last mount of the config that covers
/// it (a bind of a file onto /etc/passwd, or of a directory onto /etc or /), else
/// through the root. A non-bind mount there hides the root's file: "/"; so does a
/// `maskedPaths` entry on it (masks come after the mounts, as in runc).
pub fn home_for_config(config: &spec::Config<'_>, bundle: &Path, root: &Path, uid: u32) -> String {
    let covers = |p: &str, what: &str| {
        crate::plan::InRootPath::new(p, what)
            .is_ok_and(|d| matches!(d.display.as_str(), "/etc/passwd" | "/etc" | "/"))
    };
    let masked = config.linux.as_ref().is_some_and(|l| {
        l.masked_paths
            .iter()
            .any(|p| covers(p.as_str(), "linux.maskedPaths"))
    });
    if masked {
        return "/".into();
    }
    let covering = config.mounts.iter().rev().find_map(|m| {
        let dest = crate::plan::InRootPath::new(&m.destination, "mounts").ok()?;
        let rest = match dest.display.as_str() {
            "/etc/passwd" => "",
            "/etc" => "passwd",
            "/" => "etc/passwd",
            _ => return None,
        };
        Some((m, rest))
    });
    let text = match covering {
        None => read_in_root(root, "etc/passwd"),
        Some((m, rest)) => {
            let bind = m.typ == "bind" || m.options.iter().any(|o| o == "bind" || o == "rbind");
            if !bind {
                None
            } else {
                let src = if Path::new(m.source.as_str()).is_absolute() {
                    Path::new(m.source.as_str()).to_path_buf()
                } else {
                    bundle.join(m.source.as_str())
                };
                if rest.is_empty() {
                    // A file bound onto /etc/passwd: its parent is the "root".
                    match (src.parent(), src.file_name().and_then(|n| n.to_str())) {
                        (Some(dir), Some(name)) => read_in_root(dir, name),
                        _ => None,
                    }
                } else {
                    read_in_root(&src, rest)
                }
            }
        }
    };
    text.and_then(|t| home_in_passwd(&t, uid))
        .unwrap_or_else(|| "/".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup() {
        let t = "root:x:0:0:root:/root:/bin/sh\nbad line\nu:x:1000:1000::/home/u:/bin/sh\n";
        assert_eq!(home_in_passwd(t, 0).as_deref(), Some("/root"));
        assert_eq!(home_in_passwd(t, 1000).as_deref(), Some("/home/u"));
        assert_eq!(home_in_passwd(t, 5), None);
    }

    #[test]
    fn home_needed_unless_set_non_empty() {
        let s = |v: &[&'static str]| v.iter().map(|x| spec::Str::from(*x)).collect::<Vec<_>>();
        assert!(needs_home(&s(&["PATH=/bin"])));
        assert!(needs_home(&s(&["HOME="])));
        assert!(!needs_home(&s(&["HOME=/x"])));
    }
}
