//! Resource exhaustion from inside: a fork bomb under a pids limit, a memory hog
//! under a memory limit, and a container whose output nobody reads. The runtime
//! keeps answering (`state`, `exec`, `kill`), and `delete --force` cleans up.
//!
//! The limits are asked for in `linux.resources`. Where this build does not apply
//! them yet, the test writes the same value into the container's cgroup between
//! `create` and `start` (and says so): the attack must never run unbounded.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;

/// The container's v1 cgroup directory for `controller`, from its init's
/// /proc/PID/cgroup.
fn cgroup_dir(pid: i32, controller: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = text
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            ctrls
                .split(',')
                .any(|c| c == controller)
                .then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("no {controller} cgroup in {text}"));
    assert!(rel.contains("fastrun"), "not the container's cgroup: {rel}");
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(rel.trim_start_matches('/'))
}

/// Make sure `file` in the container's cgroup holds `value`: applied by the runtime
/// from linux.resources, or written here. Panics if it cannot be set.
fn ensure_limit(dir: &Path, file: &str, value: &str) {
    let path = dir.join(file);
    let now = std::fs::read_to_string(&path).unwrap_or_default();
    if now.trim() != value {
        eprintln!(
            "note: {} is {:?}: linux.resources not applied by this build, set by the test",
            path.display(),
            now.trim()
        );
        std::fs::write(&path, value).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), value);
}

/// The runtime answers while the container misbehaves.
#[track_caller]
fn assert_responsive(root: &StateRoot, c: &Container) {
    let o = root.fastrun_with(&["state", c.id()], None, Duration::from_secs(10));
    o.assert_success();
    let o = root.fastrun_with(&["list"], None, Duration::from_secs(10));
    o.assert_success();
    assert!(o.stdout.contains(c.id()), "{o}");
}

#[test]
fn fork_bomb_is_contained_and_cleaned_up() {
    let root = StateRoot::new();
    let b = Bundle::new("forkbomb")
        .args(&["sh", "-c", "f() { f | f & }; f; sleep 600"])
        .modify(|v| v["linux"]["resources"]["pids"] = json!({"limit": 64}));
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let pids = cgroup_dir(c.pid().unwrap(), "pids");
    ensure_limit(&pids, "pids.max", "64");
    c.start().assert_success();
    // Wait until the bomb hits the limit.
    let deadline = Instant::now() + T;
    loop {
        let events = std::fs::read_to_string(pids.join("pids.events")).unwrap_or_default();
        if events.split_whitespace().nth(1).is_some_and(|n| n != "0") {
            break;
        }
        assert!(Instant::now() < deadline, "the bomb never hit the limit");
        std::thread::sleep(Duration::from_millis(20));
    }
    let current: u32 = std::fs::read_to_string(pids.join("pids.current"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(current <= 64, "{current} processes");
    assert_responsive(&root, &c);
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn memory_hog_is_killed_at_its_limit() {
    let root = StateRoot::new();
    let limit = (64u64 << 20).to_string();
    let b = Bundle::new("memhog")
        .args(&["sh", "-c", "x=0123456789abcdef; while :; do x=$x$x; done"])
        .modify(|v| {
            v["linux"]["resources"]["memory"] = json!({"limit": 64 << 20, "swap": 64 << 20})
        });
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let mem = cgroup_dir(c.pid().unwrap(), "memory");
    ensure_limit(&mem, "memory.limit_in_bytes", &limit);
    if mem.join("memory.memsw.limit_in_bytes").exists() {
        ensure_limit(&mem, "memory.memsw.limit_in_bytes", &limit);
    }
    c.start().assert_success();
    c.wait_status("stopped", T);
    // Killed by the cgroup's OOM killer, not stopped by anything else.
    let oom = std::fs::read_to_string(mem.join("memory.oom_control")).unwrap_or_default();
    assert!(
        oom.lines()
            .any(|l| l.starts_with("oom_kill ") && l != "oom_kill 0"),
        "the hog was not OOM-killed in its cgroup: {oom}"
    );
    assert_responsive(&root, &c);
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

/// A container writes to a stdout nobody reads (the pipe fills and it blocks),
/// with a stdin nobody writes to: `run` in the foreground is stuck waiting for it,
/// but the runtime answers, exec works, and kill/delete end it.
#[test]
fn unread_output_does_not_block_the_runtime() {
    let root = StateRoot::new();
    let b = Bundle::new("unread").args(&[
        "sh",
        "-c",
        "while :; do echo 0123456789abcdef0123456789abcdef; done",
    ]);
    let c = Container::new(&root, &b);
    let (out_r, out_w) = std::io::pipe().unwrap();
    let (in_r, _in_w) = std::io::pipe().unwrap();
    let mut run = root
        .command(&["run", "--bundle", b.path().to_str().unwrap(), c.id()])
        .stdin(Stdio::from(in_r))
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    c.wait_status("running", T);
    // Let it fill the pipe and block.
    std::thread::sleep(Duration::from_millis(300));
    assert_responsive(&root, &c);
    let o = root.fastrun_with(&["exec", c.id(), "echo", "alive"], None, T);
    o.assert_success();
    assert_eq!(o.stdout, "alive\n");
    c.kill("KILL").assert_success();
    let deadline = Instant::now() + T;
    let status = loop {
        if let Some(s) = run.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "run never returned after kill");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(137));
    drop(out_r);
    c.delete(true);
    c.assert_no_leftovers();

    // Detached, the same container blocked on its output is deleted by force.
    let b = Bundle::new("unread-detached").args(&[
        "sh",
        "-c",
        "while :; do echo 0123456789abcdef0123456789abcdef; done",
    ]);
    let c = Container::new(&root, &b);
    let (out_r, out_w) = std::io::pipe().unwrap();
    let st = root
        .command(&[
            "run",
            "--detach",
            "--bundle",
            b.path().to_str().unwrap(),
            c.id(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    c.wait_status("running", T);
    std::thread::sleep(Duration::from_millis(300));
    assert_responsive(&root, &c);
    c.delete(true).assert_success();
    c.assert_no_leftovers();
    drop(out_r);
}
