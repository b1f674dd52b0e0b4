//! The contract containerd's runc shim and podman rely on
//! (docs/runtime-interface.md): create leaves a blocked init and no
//! runtime process, start runs the program, state/list formats, kill forms and
//! messages, delete rules, duplicate and invalid ids.

use crate::common;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::{json, Value};

/// A bundle whose process waits: `sleep 60`.
fn sleeper(name: &str) -> Bundle {
    Bundle::new(name).args(&["sleep", "60"])
}

/// The arguments of process `pid`.
fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn ppid(pid: i32) -> i32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status_field(&status, "PPid").unwrap().parse().unwrap()
}

#[test]
fn create_leaves_the_init_blocked_until_start() {
    let root = StateRoot::new();
    let shared = TempDir::new("fastrun-shared-");
    let b = Bundle::new("blocked").modify(|v| {
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/tmp", "type": "bind",
            "source": shared.path(), "options": ["rbind", "rw"]
        }));
        v["process"]["args"] = json!(["sh", "-c", "touch /tmp/ran; exec sleep 60"]);
    });
    let c = Container::new(&root, &b);
    let o = c.create();
    o.assert_success();
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "create printed: {o}"
    );
    let pid = c.pid().expect("pid file");
    assert!(process_alive(pid));
    assert_eq!(c.state_json()["status"], "created");
    // The user program has not run, even given time.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !shared.path().join("ran").exists(),
        "the program ran before start"
    );
    assert_ne!(cmdline(pid).first().map(String::as_str), Some("sh"));
    // No runtime process stays behind: the only process of the container is the init,
    // and its parent is not a fastrun process (it was reparented).
    assert_eq!(marked_processes(c.id()), [pid]);
    let parent = ppid(pid);
    assert_ne!(parent, std::process::id() as i32);
    assert!(
        !cmdline(parent)
            .first()
            .is_some_and(|a| a.ends_with("fastrun")),
        "the init's parent {parent} is a fastrun process: {:?}",
        cmdline(parent)
    );

    c.start().assert_success();
    wait_until("the program to run", TIMEOUT, || {
        shared.path().join("ran").exists()
    });
    assert_eq!(c.state_json()["status"], "running");
    wait_until("exec of sleep", TIMEOUT, || cmdline(pid) == ["sleep", "60"]);
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

/// Seconds since the epoch of an RFC 3339 time, through GNU date.
fn rfc3339_to_unix(t: &str) -> Option<u64> {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let shape = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b'T')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    let mut rest = &t[19.min(t.len())..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let zone_ok = rest == "Z"
        || (rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.as_bytes()[3] == b':');
    if !shape || !zone_ok {
        return None;
    }
    let mut c = Command::new("date");
    c.args(["-u", "-d", t, "+%s"]);
    run_cmd(c, None, TIMEOUT).stdout.trim().parse().ok()
}

#[test]
fn state_has_every_field() {
    let root = StateRoot::new();
    let b = sleeper("state").modify(|v| {
        v["annotations"] = json!({"org.example.key": "value", "other": ""});
    });
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let st = c.state_json();
    let obj = st.as_object().unwrap();
    for k in [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
        "annotations",
    ] {
        assert!(obj.contains_key(k), "state lacks {k}: {st:#}");
    }
    assert!(st["ociVersion"]
        .as_str()
        .is_some_and(|v| v.starts_with("1.")));
    assert_eq!(st["id"], c.id());
    assert_eq!(st["pid"], json!(c.pid().unwrap()));
    assert_eq!(st["status"], "created");
    assert_eq!(st["bundle"], b.path().to_str().unwrap());
    assert_eq!(st["rootfs"], rootfs().to_str().unwrap());
    // As runc 1.1.5's `state`: the owner is empty (`list` names it).
    assert_eq!(st["owner"], "");
    assert_eq!(st["annotations"], b.config()["annotations"]);
    let created = st["created"].as_str().unwrap();
    let t = rfc3339_to_unix(created).unwrap_or_else(|| panic!("not RFC 3339: {created}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(t <= now && now - t < 120, "created {created} is not now");

    c.start().assert_success();
    assert_eq!(c.state_json()["status"], "running");
    c.kill("KILL").assert_success();
    c.wait_status("stopped", TIMEOUT);
    let st = c.state_json();
    assert_eq!(st["status"], "stopped");
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn list_table_quiet_and_json() {
    let root = StateRoot::new();
    let b1 = sleeper("list-a");
    let b2 = sleeper("list-b");
    let c1 = Container::new(&root, &b1);
    let c2 = Container::new(&root, &b2);
    c1.create().assert_success();
    c2.create().assert_success();
    c2.start().assert_success();

    let o = root.fastrun(&["list"]);
    o.assert_success();
    let mut lines = o.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    );
    let mut rows: Vec<Vec<String>> = lines
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    rows.sort();
    assert_eq!(rows.len(), 2, "{o}");
    for (row, (c, b, status)) in rows
        .iter()
        .zip([(&c1, &b1, "created"), (&c2, &b2, "running")])
    {
        let st = c.state_json();
        let want = [
            c.id(),
            &c.pid().unwrap().to_string(),
            status,
            b.path().to_str().unwrap(),
            st["created"].as_str().unwrap(),
            "root",
        ];
        assert_eq!(row, &want, "{o}");
    }

    let o = root.fastrun(&["list", "-q"]);
    o.assert_success();
    let mut ids: Vec<&str> = o.stdout.lines().collect();
    ids.sort();
    assert_eq!(ids, [c1.id(), c2.id()]);

    let o = root.fastrun(&["list", "--format", "json"]);
    o.assert_success();
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o}"));
    let mut arr = v.as_array().unwrap().clone();
    arr.sort_by_key(|e| e["id"].as_str().unwrap().to_string());
    assert_eq!(arr.len(), 2);
    for (e, c) in arr.iter().zip([&c1, &c2]) {
        // `state` as runc's: the same, but for the owner `list` names.
        let mut st = c.state_json();
        st["owner"] = "root".into();
        assert_eq!(e, &st, "list JSON entry differs from state");
    }

    // An empty root lists a header only, JSON `null` (runc's encoding of its empty
    // list), and nothing with -q.
    let empty = StateRoot::new();
    let o = empty.fastrun(&["list", "-q"]);
    assert_eq!((o.status, o.stdout.as_str()), (Some(0), ""));
    let o = empty.fastrun(&["list", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&o.stdout).ok(),
        Some(Value::Null),
        "{o}"
    );
}

#[test]
fn kill_accepts_number_name_and_sig_name() {
    for sig in ["9", "KILL", "SIGKILL"] {
        let root = StateRoot::new();
        let b = sleeper("killform");
        let c = Container::new(&root, &b);
        c.create().assert_success();
        c.start().assert_success();
        let o = c.kill(sig);
        assert!(o.success(), "kill {sig}: {o}");
        c.wait_status("stopped", TIMEOUT);
        c.delete(false).assert_success();
        c.assert_no_leftovers();
    }
}

#[test]
fn kill_all_signals_every_process() {
    let root = StateRoot::new();
    let b = sh_bundle("killall", "sleep 61 & sleep 62 & wait");
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    wait_until("three processes", TIMEOUT, || {
        marked_processes(c.id()).len() == 3
    });
    c.fastrun(&["kill", "--all", c.id(), "KILL"])
        .assert_success();
    wait_until("every process to die", TIMEOUT, || {
        marked_processes(c.id()).iter().all(|p| !process_alive(*p))
    });
    c.wait_status("stopped", TIMEOUT);
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn kill_of_a_stopped_container_says_not_running() {
    let root = StateRoot::new();
    let b = sleeper("killstopped");
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    c.kill("KILL").assert_success();
    c.wait_status("stopped", TIMEOUT);
    let o = c.kill("KILL");
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("container not running"), "{o}");
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn delete_of_a_running_container_needs_force() {
    let root = StateRoot::new();
    let b = sleeper("delrunning");
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let pid = c.pid().unwrap();
    let o = c.delete(false);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("running"), "{o}");
    assert_eq!(c.state_json()["status"], "running");
    assert!(process_alive(pid));
    let o = c.delete(true);
    o.assert_success();
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{o}");
    assert!(!process_alive(pid));
    c.assert_no_leftovers();
}

#[test]
fn delete_of_a_created_container_kills_the_init() {
    let root = StateRoot::new();
    let b = sleeper("delcreated");
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let pid = c.pid().unwrap();
    c.delete(false).assert_success();
    wait_until("the init to die", TIMEOUT, || !process_alive(pid));
    c.assert_no_leftovers();
}

#[test]
fn missing_containers() {
    let root = StateRoot::new();
    let id = unique_id("missing");
    let o = root.fastrun(&["delete", "--force", &id]);
    assert_eq!(o.status, Some(0), "delete --force must be idempotent: {o}");
    for args in [
        vec!["delete", id.as_str()],
        vec!["state", id.as_str()],
        vec!["kill", id.as_str(), "9"],
        vec!["start", id.as_str()],
    ] {
        let o = root.fastrun(&args);
        assert_eq!(o.status, Some(1), "{o}");
        assert!(o.stderr.contains("does not exist"), "{o}");
    }
    assert_no_leftovers(root.path(), &id);
}

#[test]
fn delete_force_twice() {
    let root = StateRoot::new();
    let b = sleeper("deltwice");
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    c.delete(true).assert_success();
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn duplicate_id_is_refused_and_the_existing_container_untouched() {
    let root = StateRoot::new();
    let b = sleeper("dup");
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let before = c.state_json();
    let pid = c.pid().unwrap();

    let other = Bundle::with_id(b.id()).args(&["sh", "-c", "exit 3"]);
    let pid_file = other.pid_file();
    let o = root.fastrun(&[
        "create",
        "--bundle",
        other.path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        b.id(),
    ]);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("already exists"), "{o}");
    assert!(!pid_file.exists(), "the refused create wrote a pid file");
    let o = root.fastrun(&["run", "--bundle", other.path().to_str().unwrap(), b.id()]);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("already exists"), "{o}");

    assert_eq!(c.state_json(), before);
    assert!(process_alive(pid));
    c.start().assert_success();
    c.wait_status("running", TIMEOUT);
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn invalid_ids_are_refused() {
    let root = StateRoot::new();
    let b = sleeper("invalid");
    for id in ["../escape", "a/b", ".hidden", "", "with space", "x\ny", "é"] {
        let o = root.fastrun(&["create", "--bundle", b.path().to_str().unwrap(), id]);
        assert_eq!(o.status, Some(1), "{id:?}: {o}");
        assert!(o.stderr.contains("invalid container id"), "{id:?}: {o}");
        let o = root.fastrun(&["state", id]);
        assert_eq!(o.status, Some(1), "{id:?}: {o}");
    }
    let entries: Vec<_> = std::fs::read_dir(root.path())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(entries.is_empty(), "state root not empty: {entries:?}");
    assert!(!root.path().parent().unwrap().join("escape").exists());
}

#[test]
fn start_twice_fails() {
    let root = StateRoot::new();
    let b = sleeper("starttwice");
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let o = c.start();
    assert_eq!(o.status, Some(1), "{o}");
    assert_eq!(c.state_json()["status"], "running");
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}
