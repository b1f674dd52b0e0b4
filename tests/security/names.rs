//! Names that become paths: container ids (the state directory, the cgroup),
//! `linux.cgroupsPath`, and annotations. Path-looking values are refused or have
//! no effect; nothing is created or removed outside the state root.

use serde_json::json;

use super::*;

const BAD_IDS: &[&str] = &[
    "",
    ".",
    "..",
    "../victim",
    "a/b",
    "/tmp/abs",
    ".hidden",
    "a/../../victim",
    "id\nwith-newline",
    "id with space",
    "x\u{e9}",
];

#[test]
fn bad_container_ids_are_refused_by_every_command() {
    // --root is <top>/root; `..` would reach <top>, where a victim dir waits.
    let top = TempDir::new("fastrun-sec-ids-");
    let state = top.path().join("root");
    std::fs::create_dir(top.path().join("victim")).unwrap();
    std::fs::write(top.path().join("victim/state.json"), "{}").unwrap();
    let before = HostSnapshot::take(&[top.path()]);
    let bundle = Bundle::new("bad-ids");
    for id in BAD_IDS {
        for args in [
            vec!["create", "--bundle", bundle.path().to_str().unwrap(), id],
            vec!["run", "--bundle", bundle.path().to_str().unwrap(), id],
            vec!["state", id],
            vec!["kill", id, "KILL"],
            vec!["delete", "--force", id],
            vec!["exec", id, "true"],
        ] {
            let mut c = std::process::Command::new(fastrun_bin());
            c.arg("--root").arg(&state).args(&args);
            let o = run_cmd(c, None, T);
            o.assert_failure();
            assert!(
                o.stderr.contains("container id") || o.stderr.contains("does not exist"),
                "{args:?}: the error should be about the id: {o}"
            );
        }
    }
    // Nothing was created, nothing removed.
    before.assert_same();
    assert!(tree(&state).is_empty(), "{:?}", tree(&state));
}

#[test]
fn cgroups_path_cannot_escape() {
    let root = StateRoot::new();
    for path in [
        "/../../fastrun-sec-escape",
        "../fastrun-sec-escape",
        "/fastrun/../../fastrun-sec-escape",
        "..",
        "/a/../../..",
    ] {
        let b = Bundle::new("cgpath").modify(|v| v["linux"]["cgroupsPath"] = path.into());
        let c = Container::new(&root, &b);
        let o = c.create();
        o.assert_failure();
        assert!(o.stderr.contains("cgroupsPath"), "{path}: {o}");
        c.assert_no_leftovers();
    }
    for ctrl in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        assert!(
            !ctrl.path().join("fastrun-sec-escape").exists(),
            "cgroup created at {}",
            ctrl.path().display()
        );
    }
    assert!(!Path::new("/sys/fs/fastrun-sec-escape").exists());
}

/// Annotations are data: path-looking keys and values (including runc's
/// potentially unsafe ones) create nothing anywhere.
#[test]
fn annotations_with_paths_do_nothing() {
    let root = StateRoot::new();
    let top = HostDir::empty("annotations");
    let target = top.path().join("created");
    let before = HostSnapshot::take(&[top.path()]);
    let b = Bundle::new("annotations").modify(|v| {
        v["annotations"] = json!({
            "../../../../..": target.to_str().unwrap(),
            target.to_str().unwrap(): "../../x",
            "org.criu.config": target.to_str().unwrap(),
            "org.systemd.property.ExecStartPre": format!("/bin/touch {}", target.display()),
            "io.kubernetes.cri.sandbox-log-directory": target.to_str().unwrap(),
        });
    });
    let c = Container::new(&root, &b);
    c.run().assert_success();
    c.assert_no_leftovers();
    before.assert_same();
    assert!(!target.exists());
}
