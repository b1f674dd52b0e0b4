//! buildah (Debian's 1.28) with fastrun as its runtime: private storage
//! (`--root/--runroot` under a temp dir), `--runtime <fastrun>` with
//! `--runtime-flag root=<temp dir>/fastrun-root`, `--network none` (buildah would
//! otherwise set up podman's CNI bridge, which turns on the host's forwarding) and a
//! cgroup parent of the test's own. The e2e busybox image comes from its OCI archive
//! (`oci-archive:`, see [`images`]).
//!
//! [`Buildah::finish`] removes the working containers and images and checks that
//! nothing is left: no fastrun state, cgroup, process or mount. On drop (a failed
//! test) the same cleanup runs without the checks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::*;
use crate::common::{fastrun_bin, mountinfo, run_cmd, Output, TempDir};

/// A private buildah (see the module docs).
pub struct Buildah {
    dir: TempDir,
    /// `--cgroup-parent` of the working containers and of `bud`.
    pub cgroup_parent: String,
    finished: bool,
}

impl Buildah {
    pub fn new() -> Buildah {
        Buildah {
            dir: TempDir::new("fastrun-e2e-buildah-"),
            cgroup_parent: format!("/{}", unique("fte2e-buildah")),
            finished: false,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// fastrun's `--root` (through `--runtime-flag root=...`).
    pub fn fastrun_root(&self) -> PathBuf {
        self.dir().join("fastrun-root")
    }

    /// The global flags: private storage.
    pub fn global_flags(&self) -> Vec<String> {
        let d = self.dir().display();
        vec![
            "--root".into(),
            format!("{d}/root"),
            "--runroot".into(),
            format!("{d}/runroot"),
            "--storage-driver".into(),
            "overlay".into(),
        ]
    }

    /// The flags of `run` and `bud` that pick fastrun and keep off the network.
    pub fn runtime_flags(&self) -> Vec<String> {
        vec![
            "--runtime".into(),
            fastrun_bin().display().to_string(),
            "--runtime-flag".into(),
            format!("root={}", self.fastrun_root().display()),
            "--network".into(),
            "none".into(),
        ]
    }

    /// `buildah <globals> ARGS...`, not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("buildah");
        c.args(self.global_flags()).args(args);
        c.env("TMPDIR", self.dir());
        c
    }

    pub fn buildah(&self, args: &[&str]) -> Output {
        run_cmd(self.command(args), None, CMD_TIMEOUT)
    }

    /// `buildah from --cgroup-parent P --name NAME oci-archive:<busybox>`.
    pub fn busybox_container(&self, name: &str) -> Output {
        let archive = format!("oci-archive:{}", images().busybox.display());
        self.buildah(&[
            "from",
            "--quiet",
            "--cgroup-parent",
            &self.cgroup_parent,
            "--name",
            name,
            &archive,
        ])
    }

    /// `buildah run <runtime flags> FLAGS NAME -- ARGS...`.
    pub fn run(&self, flags: &[&str], name: &str, args: &[&str]) -> Output {
        let v = self.run_args(flags, name, args);
        self.buildah(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn run_args(&self, flags: &[&str], name: &str, args: &[&str]) -> Vec<String> {
        let mut v = vec!["run".to_string()];
        v.extend(self.runtime_flags());
        v.extend(flags.iter().map(|s| s.to_string()));
        v.push(name.into());
        v.push("--".into());
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// `buildah run -t ...` on a pseudo-terminal.
    pub fn run_tty(&self, name: &str, args: &[&str]) -> Output {
        let mut v = vec!["buildah".to_string()];
        v.extend(self.global_flags());
        v.extend(self.run_args(&["-t"], name, args));
        under_script(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `buildah bud <runtime flags> --cgroup-parent P -f FILE -t TAG CONTEXT`.
    pub fn bud(&self, containerfile: &Path, tag: &str, context: &Path) -> Output {
        let mut v = vec!["bud".to_string(), "--quiet".into()];
        v.extend(self.runtime_flags());
        v.extend([
            "--cgroup-parent".into(),
            self.cgroup_parent.clone(),
            "-f".into(),
            containerfile.display().to_string(),
            "-t".into(),
            tag.into(),
            context.display().to_string(),
        ]);
        run_cmd(
            self.command(&v.iter().map(String::as_str).collect::<Vec<_>>()),
            None,
            Duration::from_secs(120),
        )
    }

    /// Remove the containers and images, then check that nothing is left.
    pub fn finish(mut self) {
        self.finished = true;
        let left = self.teardown();
        assert!(
            left.is_empty(),
            "left behind by buildah/fastrun:\n  {}",
            left.join("\n  ")
        );
    }

    fn teardown(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        for args in [&["rm", "--all"][..], &["rmi", "--all", "--force"]] {
            let o = self.buildah(args);
            if !o.success() {
                left.push(format!("{o}"));
            }
        }
        let ids = state_ids(&self.fastrun_root());
        if !ids.is_empty() {
            left.push(format!("fastrun state: {ids:?}"));
            force_delete_all(&self.fastrun_root());
        }
        for d in cgroup_dirs(&self.cgroup_parent) {
            let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            left.push(format!("cgroup {} (processes {procs:?})", d.display()));
        }
        for f in remove_cgroup_tree(&self.cgroup_parent) {
            left.push(format!("cannot remove {f}"));
        }
        let dir = self.dir().display().to_string();
        let mounts: Vec<String> = mountinfo()
            .into_iter()
            .filter_map(|l| l.split(' ').nth(4).map(String::from))
            .filter(|m| m.starts_with(&format!("{dir}/")))
            .collect();
        if !mounts.is_empty() {
            left.push(format!("mounts: {mounts:?}"));
        }
        // The TempDir detaches any mount left and removes the storage.
        left
    }
}

impl Default for Buildah {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Buildah {
    fn drop(&mut self) {
        if !self.finished {
            let left = self.teardown();
            if !left.is_empty() {
                eprintln!("e2e: cleaned up after a failed test: {left:?}");
            }
        }
    }
}
