//! Control groups: layout detection (v1, hybrid, v2), path rules, the manager
//! ([`Cgroup`]), resource conversion ([`resources`]), freezer, stats and OOM events.
//!
//! Pure logic (mountinfo parsing, path rules, value conversions, stats parsing) is
//! kept apart from I/O so that it is unit-tested without root; the I/O lives in
//! [`manager`], [`stats`] and [`oom`]. Everything writes the cgroup files
//! directly: see `README.md` in this folder for why no cgroup crate is used.
//!
//! How the engine uses it during `create`:
//! 1. `let layout = Layout::detect()?;`
//!    `let rel = path::resolve(driver, spec_cgroups_path, id)?;`
//!    `let cg = Cgroup::new(layout, rel);`
//! 2. Before anything is made: `let resources = for_container(config.linux)?;`
//!    (the spec's device rules, then [`resources::default_device_rules`], then an
//!    allow rule per `linux.devices` entry, as runc and crun do; see [`convert`]),
//!    `let writes = cg.writes(&resources)?; cg.check(&writes)?;`.
//!    On pure v2 also `let prog = cg.device_program(&resources.devices)?;`.
//!    Then, before the clone: `cg.create()?; cg.apply(&writes)?;` and
//!    `cg.set_device_program(&prog)?` when there is one.
//! 3. The cgroup2 tree (pure v2, or the unified tree of hybrid): `let fd =
//!    cg.open_v2_dir()?` and pass it to `clone3` with `CLONE_INTO_CGROUP` (the child
//!    starts inside that cgroup). v1 hierarchies (v1 and hybrid): `let tasks =
//!    cg.open_v1_tasks()?` before the clone; the child writes `0` to each first
//!    thing (see [`manager::Cgroup::open_v1_tasks`] for why that is fast); if one
//!    of its writes fails, the runtime does `cg.add_pid_v1(child)?` before letting
//!    the child go on.
//! 4. On `delete` and at the end of `run`: `cg.destroy_if_empty()` (one rmdir per
//!    hierarchy); when something is left, and on a failed create,
//!    `cg.kill_everything()`, then `cg.destroy()`.

pub mod convert;
pub mod devices;
pub mod layout;
pub mod manager;
pub mod oom;
pub mod path;
pub mod resources;
pub mod stats;
pub mod systemd;

mod fsutil;

use std::path::PathBuf;

pub use convert::{for_container, from_spec, from_spec_at, Online};
pub use layout::{Hierarchy, Layout};
pub use manager::{Cgroup, SubCgroups};
pub use path::{resolve as resolve_path, Driver};
pub use resources::{Flavor, Probe, Resources, Target, Write};
pub use stats::Stats;

/// Errors of the cgroup room. Each message names the file and the value involved.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Writing a value to a cgroup file failed.
    #[error("cgroup: write {value} to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    /// Another operation on a path failed; `op` reads like "cgroup: mkdir".
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file's content could not be parsed.
    #[error("cgroup: parse {}: {msg}", path.display())]
    Parse { path: PathBuf, msg: String },
    /// The configuration asks for something invalid (bad path, bad value, bad key).
    #[error("{0}")]
    Config(String),
    /// Not possible on this machine or with this layout.
    #[error("{0}")]
    Unsupported(String),
    /// The cgroup is not in a state that allows the operation (freeze timed out...).
    #[error("{0}")]
    State(String),
    /// systemd (the systemd driver) refused or failed; the message names the unit
    /// and carries systemd's own message.
    #[error("systemd cgroup driver: {0}")]
    Systemd(String),
}

impl CgroupError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CgroupError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn write(
        path: impl Into<PathBuf>,
        value: impl Into<String>,
        source: std::io::Error,
    ) -> Self {
        CgroupError::Write {
            path: path.into(),
            value: value.into(),
            source,
        }
    }

    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            CgroupError::Write { source, .. } | CgroupError::Io { source, .. } => {
                source.raw_os_error()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_error_names_file_and_value() {
        let e = CgroupError::write(
            "/sys/fs/cgroup/memory/fastrun/x/memory.limit_in_bytes",
            "1234",
            std::io::Error::from_raw_os_error(libc::EBUSY),
        );
        let msg = e.to_string();
        assert!(msg.starts_with(
            "cgroup: write 1234 to /sys/fs/cgroup/memory/fastrun/x/memory.limit_in_bytes: "
        ));
        let engine: crate::error::Error = e.into();
        assert_eq!(engine.to_string(), msg);
        assert_eq!(engine.errno(), Some(libc::EBUSY));
        assert_eq!(engine.kind(), crate::error::ErrorKind::System);
    }

    #[test]
    fn config_error_maps_to_config() {
        let engine: crate::error::Error = CgroupError::Config("bad".into()).into();
        assert_eq!(engine.kind(), crate::error::ErrorKind::InvalidConfig);
        let engine: crate::error::Error = CgroupError::Unsupported("no".into()).into();
        assert_eq!(engine.kind(), crate::error::ErrorKind::Unsupported);
    }

    /// The engine error keeps the cgroup error as it is (no path/value folded into
    /// a `PathBuf`), and words a parse failure as the bug it is.
    #[test]
    fn engine_error_keeps_the_cgroup_error() {
        use crate::error::{Error, ErrorKind};
        let e: Error =
            CgroupError::write("/f", "1", std::io::Error::from_raw_os_error(libc::EBUSY)).into();
        assert!(matches!(&e, Error::Cgroup(CgroupError::Write { value, .. }) if value == "1"));
        let e: Error = CgroupError::Parse {
            path: "/x".into(),
            msg: "bad".into(),
        }
        .into();
        assert_eq!(e.to_string(), "internal error: cgroup: parse /x: bad");
        assert_eq!(e.kind(), ErrorKind::Internal);
        let e: Error = CgroupError::State("frozen".into()).into();
        assert_eq!(
            (e.kind(), e.to_string().as_str()),
            (ErrorKind::InvalidState, "frozen")
        );
    }
}
