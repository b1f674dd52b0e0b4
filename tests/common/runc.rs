//! runc (Debian's 1.1.5, installed by `.ci/setup`) as the oracle: the same bundle
//! and command line under runc, to compare with what fastrun does.
//!
//! [`Runc`] keeps its own state root and deletes (`--force`) every container it
//! created on drop. A bundle is copied ([`RuncBundle`]) with an absolute
//! `linux.cgroupsPath` under `/fastrun-test-runc/`, so that runc never nests its
//! cgroups under the caller's own (runc's default is relative to them).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::{run_cmd, run_cmd_to_files, Bundle, Output, TempDir, TIMEOUT};

/// Whether runc is installed (the tests that compare with it need it).
pub fn available() -> bool {
    Command::new("runc")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A copy of a [`Bundle`]'s config for runc (absolute root path, own cgroup path).
pub struct RuncBundle {
    dir: TempDir,
    id: String,
}

impl RuncBundle {
    pub fn new(b: &Bundle) -> RuncBundle {
        Self::with(b, |_| {})
    }

    /// The copy, edited by `f` (e.g. `process.terminal` for runc's own run).
    pub fn with(b: &Bundle, f: impl FnOnce(&mut Value)) -> RuncBundle {
        let id = format!("{}-runc", b.id());
        let dir = TempDir::new(&format!("fastrun-runc-bundle-{id}-"));
        let mut c = b.config().clone();
        let root = c["root"]["path"].as_str().unwrap_or("rootfs").to_string();
        if !root.starts_with('/') {
            c["root"]["path"] = Value::from(b.path().join(root).to_str().unwrap());
        }
        c["linux"]["cgroupsPath"] = Value::from(format!("/fastrun-test-runc/{id}"));
        f(&mut c);
        std::fs::write(
            dir.path().join("config.json"),
            serde_json::to_string_pretty(&c).unwrap(),
        )
        .unwrap();
        RuncBundle { dir, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// runc with a private state root.
pub struct Runc {
    root: TempDir,
    ids: Mutex<Vec<String>>,
}

impl Runc {
    pub fn new() -> Runc {
        Runc {
            root: TempDir::new("fastrun-runc-state-"),
            ids: Mutex::new(Vec::new()),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.root.path().to_path_buf()
    }

    /// Delete `id` (`--force`) on drop.
    pub fn track(&self, id: &str) {
        self.ids.lock().unwrap().push(id.to_string());
    }

    /// `runc --root R ARGS...`, not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("runc");
        c.arg("--root").arg(self.root.path()).args(args);
        c
    }

    /// Run `runc --root R ARGS...` with the default timeout.
    pub fn runc(&self, args: &[&str]) -> Output {
        run_cmd(self.command(args), None, TIMEOUT)
    }

    /// `runc run --bundle B ID` in the foreground (stdin /dev/null).
    pub fn run(&self, b: &RuncBundle) -> Output {
        self.ids.lock().unwrap().push(b.id().to_string());
        self.runc(&["run", "--bundle", b.path().to_str().unwrap(), b.id()])
    }

    /// `runc run -d --bundle B ID`, its output in files of the bundle.
    pub fn run_detached(&self, b: &RuncBundle) -> Output {
        self.ids.lock().unwrap().push(b.id().to_string());
        let cmd = self.command(&["run", "-d", "--bundle", b.path().to_str().unwrap(), b.id()]);
        run_cmd_to_files(cmd, b.path(), "run", Duration::from_secs(30))
    }
}

impl Default for Runc {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Runc {
    fn drop(&mut self) {
        for id in self.ids.lock().unwrap().iter() {
            let _ = run_cmd(
                self.command(&["delete", "--force", id]),
                None,
                Duration::from_secs(10),
            );
        }
        // The parent runc made for our cgroup paths (left when another test still uses it).
        if let Ok(dirs) = std::fs::read_dir("/sys/fs/cgroup") {
            for d in dirs.flatten() {
                let _ = std::fs::remove_dir(d.path().join("fastrun-test-runc"));
            }
        }
    }
}
