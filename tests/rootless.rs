//! Rootless: fastrun run by an unprivileged host user (nobody). The container gets
//! a user namespace mapping root to that user, devices bound from the host, no
//! cgroup (no delegation here), and a clear refusal when limits are asked for.

mod common;

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
    std::fs::copy(fastrun_bin(), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
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
