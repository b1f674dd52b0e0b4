//! Self-tests of the shared harness (tests/common).

use crate::common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn rootfs_runs_busybox_in_a_chroot() {
    let rootfs = rootfs();
    assert!(rootfs.join("bin/busybox").is_file());
    for d in ["proc", "sys", "dev", "tmp", "etc"] {
        assert!(rootfs.join(d).is_dir(), "{d}");
    }
    let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot", "/sbin/chroot"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chroot(8) (coreutils)");
    let mut c = Command::new(chroot);
    c.arg(rootfs)
        .args([
            "/bin/sh",
            "-c",
            "echo hello; id -u; grep ^user: /etc/passwd; [ -d /tmp ] && pwd",
        ])
        .env_clear()
        .env("PATH", "/bin");
    let o = run_cmd(c, None, Duration::from_secs(10));
    o.assert_success();
    assert_eq!(
        o.stdout, "hello\n0\nuser:x:1000:1000:user:/tmp:/bin/sh\n/\n",
        "{o}"
    );
}

#[test]
fn run_cmd_times_out_and_captures() {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "echo out; echo err >&2; exit 3"]);
    let o = run_cmd(c, None, Duration::from_secs(10));
    assert_eq!(
        (o.status, o.stdout.as_str(), o.stderr.as_str()),
        (Some(3), "out\n", "err\n")
    );

    let mut c = Command::new("/bin/sh");
    c.args(["-c", "cat"]);
    let o = run_cmd(c, Some(b"piped"), Duration::from_secs(10));
    assert_eq!(o.stdout, "piped");

    let mut c = Command::new("/bin/sleep");
    c.arg("30");
    let t = std::time::Instant::now();
    let o = run_cmd(c, None, Duration::from_millis(200));
    assert!(o.timed_out && o.status.is_none(), "{o}");
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn bundle_from_fastrun_spec() {
    let b = Bundle::new("bundle").args(&["sh", "-c", "echo hi"]);
    let text = std::fs::read_to_string(b.path().join("config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["process"]["args"],
        serde_json::json!(["sh", "-c", "echo hi"])
    );
    assert_eq!(v["process"]["terminal"], false);
    assert_eq!(v["root"]["path"], rootfs().to_str().unwrap());
    let marker = format!("{MARKER}={}", b.id());
    assert!(v["process"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == &marker));

    let b = b.own_rootfs().modify(|c| c["hostname"] = "box".into());
    assert!(b.path().join("rootfs/bin/sh").exists());
    assert_eq!(b.config()["hostname"], "box");
    let path = b.path().to_path_buf();
    drop(b);
    assert!(!path.exists(), "bundle not removed");
}

#[test]
fn state_root_is_unique_and_removed() {
    let a = StateRoot::new();
    let b = StateRoot::new();
    assert_ne!(a.path(), b.path());
    let p = a.path().to_path_buf();
    std::fs::write(p.join("x"), "x").unwrap();
    drop(a);
    assert!(!p.exists());
    let o = b.fastrun(&["--version"]);
    // `--version` after --root is still a global flag.
    o.assert_success();
    assert!(o.stdout.starts_with("fastrun version "), "{o}");
}

#[test]
fn leak_check_sees_marked_processes() {
    let root = StateRoot::new();
    let id = unique_id("leak");
    assert_no_leftovers(root.path(), &id);

    let mut c = Command::new("/bin/sleep");
    c.arg("30").env(MARKER, &id);
    let mut child = c.spawn().unwrap();
    // `spawn` returns once the child has begun its exec, but the kernel fills
    // in the new image's environment pointers a moment later: until then
    // /proc/PID/environ reads empty. Wait (bounded) for the marker to show.
    let want = format!("process {}", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut found = leftovers(root.path(), &id);
    while !found.iter().any(|f| f.starts_with(&want)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
        found = leftovers(root.path(), &id);
    }
    assert!(found.iter().any(|f| f.starts_with(&want)), "{found:?}");
    child.kill().unwrap();
    child.wait().unwrap();

    std::fs::create_dir(root.path().join(&id)).unwrap();
    assert!(leftovers(root.path(), &id)[0].starts_with("state directory"));
}

#[test]
fn container_drop_cleans_up_even_when_the_engine_cannot() {
    let root = StateRoot::new();
    let bundle = Bundle::new("drop");
    {
        let c = Container::new(&root, &bundle);
        // Whatever the engine does today, dropping the guard must leave nothing.
        let _ = c.create();
    }
    assert_no_leftovers(root.path(), bundle.id());
}
