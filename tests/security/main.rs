//! Known container-runtime escapes, each mounted for real from inside a container
//! (root inside) against fastrun, and the host checked afterwards. One module per
//! family; SECURITY.md maps each defence to its CVE and its test here.
//!
//! - `exe`: CVE-2019-5736, overwriting the runtime binary through `/proc/self/exe`.
//! - `ptrace`: CVE-2019-5736 again, by a container with `CAP_SYS_PTRACE`.
//! - `fds`: CVE-2024-21626, leaked fds and `/proc/self/fd/N` as the cwd; exec hygiene.
//! - `mounts`: CVE-2021-30465 / CVE-2024-45310 symlinked and raced mount destinations,
//!   `/proc` tricks (CVE-2019-16884, CVE-2019-19921), masks with a container-controlled
//!   `/dev/null` (CVE-2025-31133), `/dev` and `/dev/console` tricks (CVE-2025-52565).
//! - `names`: ids, cgroupsPath and annotations used as paths.
//! - `privs`: capabilities, modules, mount, ptrace, file caps and setuid under NNP.
//! - `config_escapes`: escapes through what a config asks for (issue 15): missing
//!   capabilities, `exec --cap`, sysctls, `root.path` without a mount namespace,
//!   startContainer hooks, device rule order, `--no-pivot`, raced `/proc`, seccomp size.
//! - `exhaustion`: fork bomb, memory hog, a container that never has its output read.

#[path = "../common/mod.rs"]
mod common;

mod config_escapes;
mod exe;
mod exhaustion;
mod fds;
mod mounts;
mod names;
mod privs;
mod ptrace;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// The timeout of one container command in these tests.
pub const T: Duration = Duration::from_secs(30);

/// Link more busybox applets into a private rootfs.
pub fn add_applets(rootfs: &Path, applets: &[&str]) {
    for a in applets {
        let link = rootfs.join("bin").join(a);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink("busybox", &link).unwrap();
        }
    }
}

/// The rootfs directory of a bundle made with [`Bundle::own_rootfs`].
pub fn rootfs_of(bundle: &Bundle) -> PathBuf {
    bundle.path().join("rootfs")
}

/// Every entry under `dir` (recursively), as paths relative to it, sorted; a missing
/// directory gives an empty list.
pub fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(base, &p, out);
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// A snapshot of what the host looks like from the test process: its mount table
/// (the lines, without the fields that change on their own) and the content of some
/// watched trees. Compare two snapshots with [`HostSnapshot::assert_same`].
pub struct HostSnapshot {
    mounts: Vec<String>,
    trees: Vec<(PathBuf, Vec<String>)>,
}

impl HostSnapshot {
    /// The host's mounts (those not made by other tests: lines naming `fastrun-`
    /// temporary dirs of concurrent tests are left out) and the trees of `watched`.
    pub fn take(watched: &[&Path]) -> HostSnapshot {
        HostSnapshot {
            mounts: host_mounts(),
            trees: watched.iter().map(|p| (p.to_path_buf(), tree(p))).collect(),
        }
    }

    /// Panic if a watched tree changed, or if a mount appeared on the host that is
    /// not one of a concurrent test's temporary dirs.
    #[track_caller]
    pub fn assert_same(&self) {
        let now = HostSnapshot::take(
            &self
                .trees
                .iter()
                .map(|(p, _)| p.as_path())
                .collect::<Vec<_>>(),
        );
        let new: Vec<&String> = now
            .mounts
            .iter()
            .filter(|m| !self.mounts.contains(m))
            .collect();
        assert!(new.is_empty(), "new mounts on the host: {new:#?}");
        for ((p, before), (_, after)) in self.trees.iter().zip(&now.trees) {
            assert_eq!(before, after, "host tree {} changed", p.display());
        }
    }
}

/// The mount points of the host's mount table, except the temporary dirs of tests
/// (`/tmp/fastrun-*`), which concurrent tests create and remove on their own.
pub fn host_mounts() -> Vec<String> {
    let mut v: Vec<String> = mountinfo()
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let point = *f.get(4)?;
            if point.starts_with("/tmp/fastrun-") || point.starts_with("/run/netns") {
                return None;
            }
            // mount point, and the fs type and source after the separator.
            let sep = f.iter().position(|x| *x == "-")?;
            Some(format!("{point} {}", f[sep + 1..].join(" ")))
        })
        .collect();
    v.sort();
    v
}

/// Wait until `path` exists (or panic after `timeout`).
#[track_caller]
pub fn wait_for_file(path: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `Cap*` line `name` of a `/proc/<pid>/status` text, as a bit set.
pub fn cap_field(status: &str, name: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {status}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

/// A host directory outside every rootfs (a "host path" attacks aim at), with a
/// marker file in it; removed on drop.
pub struct HostDir {
    dir: TempDir,
}

impl HostDir {
    pub fn new(name: &str) -> HostDir {
        let dir = TempDir::new(&format!("fastrun-sec-host-{name}-"));
        std::fs::write(dir.path().join("HOST_MARKER"), "host secret\n").unwrap();
        HostDir { dir }
    }

    /// An empty host directory (no marker).
    pub fn empty(name: &str) -> HostDir {
        HostDir {
            dir: TempDir::new(&format!("fastrun-sec-host-{name}-")),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn as_str(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }
}
