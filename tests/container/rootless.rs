//! Rootless: fastrun run by an unprivileged host user (nobody). The container gets
//! a user namespace mapping root to that user, devices bound from the host, no
//! cgroup (no delegation here), and a clear refusal when limits are asked for.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::json;

const NOBODY: u32 = 65534;

/// A copy of the fastrun binary any user can run, in a directory any user can read.
fn public_fastrun(dir: &Path) -> PathBuf {
    let bin = dir.join("fastrun");
    copy_executable(fastrun_bin(), &bin);
    bin
}

fn as_nobody(bin: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin)
        .args(args)
        .env_remove("XDG_RUNTIME_DIR");
    run_cmd(c, None, Duration::from_secs(20))
}

fn open_to_all(p: &Path) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
}

/// A rootless bundle made by `fastrun spec --rootless` run as nobody.
fn rootless_bundle(dir: &Path, bin: &Path, args: serde_json::Value, resources: bool) -> PathBuf {
    let bundle = dir.join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    open_to_all(&bundle);
    as_nobody(
        bin,
        &["spec", "--rootless", "--bundle", bundle.to_str().unwrap()],
    )
    .assert_success();
    let path = bundle.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        v["linux"]["uidMappings"][0]["hostID"], NOBODY,
        "spec --rootless maps root to the caller"
    );
    v["root"]["path"] = rootfs().to_str().unwrap().into();
    v["process"]["terminal"] = false.into();
    v["process"]["args"] = args;
    if resources {
        v["linux"]["resources"] = json!({"pids": {"limit": 50}});
    }
    std::fs::write(&path, v.to_string()).unwrap();
    bundle
}

#[test]
fn an_unprivileged_user_runs_a_container() {
    let dir = TempDir::new("fastrun-rootless-");
    open_to_all(dir.path());
    let bin = public_fastrun(dir.path());
    let bundle = rootless_bundle(
        dir.path(),
        &bin,
        json!([
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; cat /proc/self/setgroups; ls -l /dev/null"
        ]),
        false,
    );
    let state = dir.path().join("state");
    let id = unique_id("rootless");
    let o = as_nobody(
        &bin,
        &[
            "--root",
            state.to_str().unwrap(),
            "run",
            "--bundle",
            bundle.to_str().unwrap(),
            &id,
        ],
    );
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "0", "{o}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "65534", "1"],
        "{o}"
    );
    assert_eq!(lines[2], "deny", "{o}");
    assert!(lines[3].starts_with("crw-rw-rw-"), "{o}");
    assert_no_leftovers(&state, &id);
}

#[test]
fn rootless_limits_without_delegation_are_refused_clearly() {
    let dir = TempDir::new("fastrun-rootless-");
    open_to_all(dir.path());
    let bin = public_fastrun(dir.path());
    let bundle = rootless_bundle(dir.path(), &bin, json!(["true"]), true);
    let state = dir.path().join("state");
    let id = unique_id("rootless-res");
    let o = as_nobody(
        &bin,
        &[
            "--root",
            state.to_str().unwrap(),
            "run",
            "--bundle",
            bundle.to_str().unwrap(),
            &id,
        ],
    );
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr.contains("linux.resources") && o.stderr.contains("delegated cgroup"),
        "{o}"
    );
    assert_no_leftovers(&state, &id);
}

/// `fastrun` as nobody with `XDG_RUNTIME_DIR` set and no `--root`: the state goes to
/// `$XDG_RUNTIME_DIR/fastrun` (made 01700, as runc makes `$XDG_RUNTIME_DIR/runc`),
/// `state` says the container has no cgroup of its own, `features` says so for new
/// containers; without `XDG_RUNTIME_DIR` the default stays `/run/fastrun` (runc's
/// `/run/runc`), which nobody cannot write.
#[test]
fn rootless_state_root_is_xdg_runtime_dir() {
    let dir = TempDir::new("fastrun-rootless-");
    open_to_all(dir.path());
    let bin = public_fastrun(dir.path());
    let bundle = rootless_bundle(dir.path(), &bin, json!(["sleep", "100"]), false);
    let xdg = dir.path().join("xdg");
    std::fs::create_dir(&xdg).unwrap();
    std::os::unix::fs::chown(&xdg, Some(NOBODY), Some(NOBODY)).unwrap();
    let id = unique_id("rootless-xdg");
    let with_xdg = |args: &[&str]| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(args)
            .env("XDG_RUNTIME_DIR", &xdg);
        run_cmd(c, None, Duration::from_secs(20))
    };
    let o = with_xdg(&["run", "-d", "--bundle", bundle.to_str().unwrap(), &id]);
    o.assert_success();
    let root = xdg.join("fastrun");
    let st = std::fs::metadata(&root).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((st.uid(), st.mode() & 0o7777), (NOBODY, 0o1700));
    assert!(root.join(&id).is_dir());
    assert!(!Path::new("/run/fastrun").join(&id).exists());

    let o = with_xdg(&["state", &id]);
    o.assert_success();
    let s: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        (&s["status"], &s["cgroup"]),
        (&"running".into(), &"none".into())
    );
    let o = with_xdg(&["features"]);
    o.assert_success();
    let f: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(f["annotations"]["run.fastrun.rootless"], "true");
    assert_eq!(f["annotations"]["run.fastrun.cgroup"], "none");

    // As root: no "cgroup" field (runc's state), and a cgroup of its own.
    let mut c = Command::new(fastrun_bin());
    c.arg("features");
    let f: serde_json::Value =
        serde_json::from_str(&run_cmd(c, None, Duration::from_secs(20)).stdout).unwrap();
    assert_eq!(f["annotations"]["run.fastrun.rootless"], "false");
    assert_eq!(f["annotations"]["run.fastrun.cgroup"], "own");

    // Without XDG_RUNTIME_DIR: /run/fastrun, as runc's /run/runc, which nobody
    // cannot write (whether or not a root container made it already: the test
    // must not depend on that).
    let other = unique_id("rootless-noxdg");
    let o = as_nobody(
        &bin,
        &["create", "--bundle", bundle.to_str().unwrap(), &other],
    );
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr.contains("/run/fastrun") && o.stderr.contains("Permission denied"),
        "{o}"
    );
    assert!(!Path::new("/run/fastrun").join(&other).exists());

    with_xdg(&["delete", "--force", &id]).assert_success();
    assert_no_leftovers(&root, &id);
    // Nothing left, not even the directory of per-id lock files (#18): as runc.
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{}: {left:?}", root.display());
}

/// Pure cgroup v2 (a private mount namespace with a fresh cgroup2 mount) with a
/// subtree delegated to nobody, who runs from inside it (as in a systemd user
/// session): without a cgroupsPath the container goes under the parent of the
/// runtime's own cgroup (runc's rule); a cgroupsPath inside the subtree is used as
/// given; both are removed at delete.
#[test]
fn rootless_on_cgroup_v2_uses_a_delegated_subtree() {
    let unified = Path::new("/sys/fs/cgroup/unified");
    if !unified.join("cgroup.procs").exists() {
        eprintln!("skipped: no cgroup2 tree at {}", unified.display());
        return;
    }
    let dir = TempDir::new("fastrun-rootless-");
    open_to_all(dir.path());
    let bin = public_fastrun(dir.path());
    let bundle = rootless_bundle(dir.path(), &bin, json!(["cat", "/proc/self/cgroup"]), false);
    // see the host's cgroup paths from inside: no cgroup namespace
    let path = bundle.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "cgroup");
    std::fs::write(&path, v.to_string()).unwrap();
    let state = dir.path().join("state");
    let deleg = unique_id("deleg");
    let host_deleg = unified.join(&deleg);
    struct Rm(PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            for _ in 0..50 {
                let mut dirs: Vec<PathBuf> = std::fs::read_dir(&self.0)
                    .map(|rd| {
                        rd.flatten()
                            .map(|e| e.path())
                            .filter(|p| p.is_dir())
                            .collect()
                    })
                    .unwrap_or_default();
                dirs.push(self.0.clone());
                if dirs
                    .iter()
                    .all(|d| std::fs::remove_dir(d).is_ok() || !d.exists())
                {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let _rm = Rm(host_deleg.clone());

    let run = |id: &str, cgroups_path: Option<&str>| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let Some(p) = cgroups_path {
            v["linux"]["cgroupsPath"] = p.into();
        }
        std::fs::write(&path, v.to_string()).unwrap();
        let script = format!(
            "set -e; umount -R /sys/fs/cgroup; mount -t cgroup2 cgroup2 /sys/fs/cgroup; \
             D=/sys/fs/cgroup/{deleg}; mkdir -p $D/session; chown -R 65534:65534 $D; \
             echo $$ > $D/session/cgroup.procs; \
             exec setpriv --reuid=65534 --regid=65534 --clear-groups {} --root {} run --bundle {} {id}",
            bin.display(),
            state.display(),
            bundle.display()
        );
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private", "sh", "-c", &script]);
        run_cmd(c, None, Duration::from_secs(30))
    };
    let id = unique_id("v2-default");
    let o = run(&id, None);
    o.assert_success();
    let v2_line = |o: &Output| {
        o.stdout
            .lines()
            .find(|l| l.starts_with("0::"))
            .map(String::from)
    };
    assert_eq!(v2_line(&o), Some(format!("0::/{deleg}/{id}")), "{o}");
    assert!(!host_deleg.join(&id).exists(), "removed at delete");
    assert_no_leftovers(&state, &id);

    let id = unique_id("v2-path");
    let o = run(&id, Some(&format!("/{deleg}/explicit")));
    o.assert_success();
    assert_eq!(v2_line(&o), Some(format!("0::/{deleg}/explicit")), "{o}");
    assert!(!host_deleg.join("explicit").exists(), "removed at delete");
    assert_no_leftovers(&state, &id);
}
