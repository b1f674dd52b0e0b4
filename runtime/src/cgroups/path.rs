//! Where a container's cgroup goes: `linux.cgroupsPath` rules.
//!
//! The rule (cgroupfs driver):
//! - absent or empty: `/fastrun/<id>`;
//! - absolute (`/a/b`): that path from the root of every hierarchy;
//! - relative (`a/b`): **also from the root of every hierarchy**. runc joins a relative
//!   path under the runtime's own cgroup; we do not, because the runtime's own cgroup
//!   may belong to someone else (a service manager, or here the machine's
//!   `memory:/process_api/...`), and a container must not land inside it. This is what
//!   runc does when it runs in the root cgroup, the common case.
//! - `.` and empty components are dropped; `..`, a NUL byte, or a path naming the root
//!   cgroup itself are refused.
//!
//! The systemd form `slice:prefix:name` is only meaningful with the systemd driver:
//! [`Driver::Systemd`] resolves it to the unit's cgroup (see [`super::systemd`]).

use std::path::{Component, Path, PathBuf};

use super::CgroupError;

/// The runtime's default parent for containers without a `cgroupsPath`.
pub const DEFAULT_PARENT: &str = "fastrun";

/// The cgroup driver (`--systemd-cgroup` selects systemd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Driver {
    /// Direct writes to cgroupfs (the default).
    #[default]
    Cgroupfs,
    /// Ask systemd to create a scope (needs systemd on the machine).
    Systemd,
}

/// Resolves `linux.cgroupsPath` to a path relative to each hierarchy's root
/// (`fastrun/<id>`, never starting with `/`).
pub fn resolve(
    driver: Driver,
    cgroups_path: Option<&str>,
    id: &str,
) -> Result<PathBuf, CgroupError> {
    if driver == Driver::Systemd {
        let unit = super::systemd::unit_for(cgroups_path, id, crate::rootless::is_rootless())?;
        return Ok(unit.cgroup);
    }
    match cgroups_path {
        None | Some("") => {
            check_id(id)?;
            Ok(Path::new(DEFAULT_PARENT).join(id))
        }
        Some(p) => normalize(p),
    }
}

/// Splits the systemd form `slice:prefix:name` into its three parts.
pub fn parse_systemd_path(p: &str) -> Result<(&str, &str, &str), CgroupError> {
    let parts: Vec<&str> = p.split(':').collect();
    match parts.as_slice() {
        [slice, prefix, name] if !name.is_empty() => Ok((slice, prefix, name)),
        _ => Err(CgroupError::Config(format!(
            "linux.cgroupsPath: expected \"slice:prefix:name\" for the systemd cgroup driver, \
             got {p:?}"
        ))),
    }
}

fn check_id(id: &str) -> Result<(), CgroupError> {
    if id.is_empty() || id == "." || id == ".." || id.contains('/') || id.contains('\0') {
        return Err(CgroupError::Config(format!(
            "cgroup: container id {id:?} cannot name a cgroup directory"
        )));
    }
    Ok(())
}

/// Normalizes a cgroupfs-driver path (absolute or relative) to a relative one.
pub fn normalize(p: &str) -> Result<PathBuf, CgroupError> {
    if p.contains('\0') {
        return Err(CgroupError::Config(format!(
            "linux.cgroupsPath: {p:?} contains a NUL byte"
        )));
    }
    let mut out = PathBuf::new();
    for c in Path::new(p).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                return Err(CgroupError::Config(format!(
                    "linux.cgroupsPath: {p:?} contains a \"..\" component"
                )))
            }
            Component::Prefix(_) => {
                return Err(CgroupError::Config(format!(
                    "linux.cgroupsPath: {p:?} is not a valid path"
                )))
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(CgroupError::Config(format!(
            "linux.cgroupsPath: {p:?} names the root cgroup; a container needs its own cgroup"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: Option<&str>) -> String {
        resolve(Driver::Cgroupfs, p, "ctr1")
            .unwrap()
            .display()
            .to_string()
    }

    #[test]
    fn default_is_fastrun_id() {
        assert_eq!(ok(None), "fastrun/ctr1");
        assert_eq!(ok(Some("")), "fastrun/ctr1");
    }

    #[test]
    fn absolute_and_relative_both_from_root() {
        assert_eq!(ok(Some("/a/b")), "a/b");
        assert_eq!(ok(Some("a/b")), "a/b");
        assert_eq!(ok(Some("/default/ctr1")), "default/ctr1");
        assert_eq!(ok(Some("//a/./b/")), "a/b");
    }

    #[test]
    fn refused() {
        for p in ["/a/../b", "..", "a/..", "/", "//", "a\0b", "."] {
            let e = resolve(Driver::Cgroupfs, Some(p), "x").unwrap_err();
            assert!(
                matches!(e, CgroupError::Config(_)),
                "{p:?} should be refused: {e}"
            );
        }
        for id in ["", "..", "a/b"] {
            assert!(resolve(Driver::Cgroupfs, None, id).is_err());
        }
    }

    #[test]
    fn colon_path_is_literal_with_cgroupfs() {
        assert_eq!(
            ok(Some("system.slice:docker:abc")),
            "system.slice:docker:abc"
        );
    }

    #[test]
    fn systemd_driver_resolves_to_the_units_cgroup() {
        let p = resolve(Driver::Systemd, Some("system.slice:fastrun:x"), "x").unwrap();
        assert_eq!(p, Path::new("system.slice/fastrun-x.scope"));
        assert!(resolve(Driver::Systemd, Some("/a/b"), "x").is_err());
    }

    #[test]
    fn systemd_form() {
        assert_eq!(
            parse_systemd_path("system.slice:docker:abc").unwrap(),
            ("system.slice", "docker", "abc")
        );
        assert!(parse_systemd_path("/a/b").is_err());
        assert!(parse_systemd_path("a:b").is_err());
    }
}
