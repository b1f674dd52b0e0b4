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
pub mod common;

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

/// Host trees where other software on the machine mounts on its own while tests run
/// (container engines' overlays under /var, network namespaces and runtime state
/// under /run, other tests' temporary dirs under /tmp): a new mount there is not
/// the test's, unless it is at or under a watched path or names one.
const BUSY_TREES: &[&str] = &["/tmp", "/var", "/run"];

fn at_or_under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir || path.starts_with(&format!("{dir}/")) || dir.is_empty()
}

impl HostSnapshot {
    /// The host's mounts and the trees of `watched`.
    pub fn take(watched: &[&Path]) -> HostSnapshot {
        HostSnapshot {
            mounts: host_mounts(),
            trees: watched.iter().map(|p| (p.to_path_buf(), tree(p))).collect(),
        }
    }

    /// Whether a mount (`point fstype source` as [`host_mounts`] gives it) is one
    /// the test's containers could have made: at or under a watched path or the
    /// shared rootfs, naming one of them, or anywhere outside [`BUSY_TREES`] (the
    /// system's own trees, where an escape would land).
    fn could_be_ours(&self, mount: &str) -> bool {
        let point = mount.split(' ').next().unwrap_or_default();
        let ours: Vec<String> = self
            .trees
            .iter()
            .map(|(p, _)| p.to_string_lossy().into_owned())
            .chain(std::iter::once(rootfs().to_string_lossy().into_owned()))
            .collect();
        ours.iter()
            .any(|o| at_or_under(point, o) || mount.contains(o.as_str()))
            || !BUSY_TREES.iter().any(|b| at_or_under(point, b))
    }

    /// Panic if a watched tree changed, or if a mount appeared on the host that
    /// the test's containers could have made (see [`HostSnapshot::could_be_ours`]).
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
            .filter(|m| !self.mounts.contains(m) && self.could_be_ours(m))
            .collect();
        assert!(new.is_empty(), "new mounts on the host: {new:#?}");
        for ((p, before), (_, after)) in self.trees.iter().zip(&now.trees) {
            assert_eq!(before, after, "host tree {} changed", p.display());
        }
    }
}

/// The host's mount table as `point fstype source` lines (unescaped mount points),
/// sorted.
pub fn host_mounts() -> Vec<String> {
    let mut v: Vec<String> = mountinfo()
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let point = unescape_mount(f.get(4)?);
            // mount point, and the fs type and source after the separator.
            let sep = f.iter().position(|x| *x == "-")?;
            Some(format!("{point} {}", f[sep + 1..].join(" ")))
        })
        .collect();
    v.sort();
    v
}

/// The host checks look only at what a test could have made, and catch that: a
/// mount left in a watched dir fails them, a mount in an unrelated busy tree (as
/// a container engine's overlay under /var or /tmp) does not.
#[test]
fn host_snapshot_sees_a_leaked_mount_and_ignores_unrelated_ones() {
    let watched = HostDir::empty("snapshot-watched");
    let elsewhere = TempDir::new("unrelated-");
    let snap = HostSnapshot::take(&[watched.path()]);
    let mount = |at: &Path| {
        let o = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "leaktest"])
            .arg(at)
            .output()
            .unwrap();
        assert!(o.status.success(), "mount: {o:?}");
    };
    let umount = |at: &Path| {
        let _ = std::process::Command::new("umount").arg(at).status();
    };
    mount(elsewhere.path());
    let unrelated = std::panic::catch_unwind(|| snap.assert_same());
    let inside = watched.path().join("sub");
    std::fs::create_dir(&inside).unwrap();
    mount(&inside);
    let leaked = std::panic::catch_unwind(|| snap.assert_same());
    umount(&inside);
    umount(elsewhere.path());
    assert!(
        unrelated.is_ok(),
        "an unrelated mount under /tmp failed the check"
    );
    let msg = leaked.expect_err("a mount leaked into a watched dir passed the check");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("leaktest"), "{msg}");
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
