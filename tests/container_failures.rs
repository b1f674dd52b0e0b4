//! Bad input and failures at every stage: each through both `create` and `run`, with
//! exit status 1, a one-line error on stderr saying what and where, the same message
//! as a `level: "error"` line of the JSON log, and nothing left behind.

mod common;

use common::*;
use serde_json::{json, Value};

/// `fastrun --log L --log-format json create|run` of `b` must fail as described.
#[track_caller]
fn assert_fails(b: &Bundle, wants: &[&str]) {
    for cmd in ["create", "run"] {
        let root = StateRoot::new();
        let logs = TempDir::new("fastrun-log-");
        let log = logs.path().join("log.json");
        let pid_file = b.pid_file();
        let _guard = Container::new(&root, b);
        let o = root.fastrun(&[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            cmd,
            "--bundle",
            b.path().to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            b.id(),
        ]);
        assert_eq!(o.status, Some(1), "{cmd}: {o}");
        assert!(o.stdout.is_empty(), "{cmd}: {o}");
        let msg = o.stderr.trim_end();
        assert_eq!(msg.lines().count(), 1, "{cmd}: not one line: {o}");
        for w in wants {
            assert!(msg.contains(w), "{cmd}: want {w:?} in the error: {o}");
        }
        let lines = log_lines(&log);
        let last_error = lines
            .iter()
            .rev()
            .find(|l| l["level"] == "error")
            .unwrap_or_else(|| panic!("{cmd}: no error line in the log: {lines:?}"));
        let logged = last_error["msg"].as_str().unwrap();
        assert!(
            msg.ends_with(logged) || logged.ends_with(msg) || logged == msg,
            "{cmd}: log says {logged:?}, stderr {msg:?}"
        );
        assert!(last_error["time"].is_string(), "{last_error}");
        assert!(!pid_file.exists(), "{cmd}: a failed call left a pid file");
        assert_no_leftovers(root.path(), b.id());
    }
}

fn add_mount(v: &mut Value, m: Value) -> usize {
    let mounts = v["mounts"].as_array_mut().unwrap();
    mounts.push(m);
    mounts.len() - 1
}

#[test]
fn missing_rootfs() {
    let b = Bundle::new("norootfs").modify(|v| v["root"]["path"] = json!("/nonexistent-rootfs"));
    assert_fails(&b, &["root.path", "/nonexistent-rootfs", "No such file"]);
}

#[test]
fn missing_config() {
    let b = Bundle::new("noconfig");
    std::fs::remove_file(b.path().join("config.json")).unwrap();
    assert_fails(&b, &["config.json", "No such file"]);
}

#[test]
fn bad_mount_type() {
    let mut i = 0;
    let b = Bundle::new("badtype").modify(|v| {
        i = add_mount(
            v,
            json!({"destination": "/tmp", "type": "nosuchfs", "source": "x"}),
        );
    });
    assert_fails(&b, &[&format!("mounts[{i}]"), "nosuchfs", "/tmp"]);
}

#[test]
fn bad_mount_option() {
    let mut i = 0;
    let b = Bundle::new("badopt").modify(|v| {
        i = add_mount(
            v,
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                   "options": ["nosuid", "size=banana"]}),
        );
    });
    assert_fails(
        &b,
        &[&format!("mounts[{i}]"), "size=banana", "Invalid argument"],
    );
}

#[test]
fn bind_source_that_does_not_exist() {
    let mut i = 0;
    let b = Bundle::new("bindsrc").modify(|v| {
        i = add_mount(
            v,
            json!({"destination": "/tmp", "type": "bind", "source": "/nonexistent/dir",
                   "options": ["rbind", "ro"]}),
        );
    });
    assert_fails(
        &b,
        &[&format!("mounts[{i}]"), "/nonexistent/dir", "No such file"],
    );
}

#[test]
fn binary_not_in_the_container() {
    let b = Bundle::new("nobin").args(&["nosuch", "arg"]);
    assert_fails(
        &b,
        &["exec: \"nosuch\": executable file not found in $PATH"],
    );
}

/// No `PATH` in `process.env` (or an empty one): a bare command name is not looked
/// up anywhere, as runc (Go's `exec.LookPath`) and crun do; runc fails the same way.
#[test]
fn bare_command_without_path_in_the_env() {
    for env in [json!(["TERM=xterm"]), json!(["PATH=", "TERM=xterm"])] {
        let b = Bundle::new("nopath")
            .args(&["sh", "-c", "true"])
            .modify(|v| {
                let marker = v["process"]["env"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|e| e.as_str().unwrap().starts_with(MARKER))
                    .unwrap()
                    .clone();
                let mut env = env.clone();
                env.as_array_mut().unwrap().push(marker);
                v["process"]["env"] = env;
            });
        assert_fails(&b, &["exec: \"sh\": executable file not found in $PATH"]);

        // The oracle, with the same bundle.
        let runc_root = TempDir::new("fastrun-runc-root-");
        let mut c = std::process::Command::new("runc");
        c.arg("--root")
            .arg(runc_root.path())
            .args(["run", "--bundle"])
            .arg(b.path())
            .arg(b.id());
        let o = run_cmd(c, None, std::time::Duration::from_secs(30));
        assert_eq!(o.status, Some(1), "runc: {o}");
        assert!(
            o.stderr
                .contains("exec: \\\"sh\\\": executable file not found in $PATH"),
            "runc: {o}"
        );
    }
    // A PATH with the directory still finds it.
    let b = Bundle::new("withpath")
        .args(&["sh", "-c", "echo found"])
        .modify(|v| v["process"]["env"] = json!(["PATH=/bin"]));
    let root = StateRoot::new();
    let c = Container::new(&root, &b);
    let o = c.run();
    o.assert_success();
    assert_eq!(o.stdout, "found\n", "{o}");
}

#[test]
fn absolute_binary_not_in_the_container() {
    let b = Bundle::new("nobinabs").args(&["/bin/nosuch"]);
    assert_fails(&b, &["exec: \"/bin/nosuch\"", "No such file or directory"]);
}

#[test]
fn hard_rlimit_above_the_machines() {
    let b = Bundle::new("rlimit").modify(|v| {
        v["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1_048_576}]);
    });
    assert_fails(
        &b,
        &[
            "RLIMIT_NOFILE",
            "Operation not permitted",
            "CAP_SYS_RESOURCE",
        ],
    );
}

#[test]
fn cwd_that_does_not_exist() {
    let b = Bundle::new("cwd").modify(|v| v["process"]["cwd"] = json!("/nonexistent"));
    assert_fails(&b, &["process.cwd", "/nonexistent", "No such file"]);
}

#[test]
fn empty_args() {
    let b = Bundle::new("noargs").args(&[]);
    assert_fails(&b, &["process.args"]);
}

#[test]
fn invalid_json_names_line_and_column() {
    let b = Bundle::new("badjson");
    std::fs::write(
        b.path().join("config.json"),
        "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\"args\": [\"true\"]}\n  \"root\": {}\n}\n",
    )
    .unwrap();
    assert_fails(&b, &["config.json", "invalid JSON", "line 4, column"]);
}

#[test]
fn tmpfs_over_proc_is_refused() {
    let b = Bundle::new("proctmpfs").modify(|v| {
        let m = v["mounts"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|m| m["destination"] == "/proc")
            .unwrap();
        m["type"] = json!("tmpfs");
        m["source"] = json!("tmpfs");
    });
    assert_fails(&b, &["mounts[0]", "/proc", "tmpfs"]);
}

#[test]
fn symlinked_proc_in_the_rootfs_is_refused() {
    for target in ["/tmp", "etc"] {
        let b = Bundle::new("procsymlink").own_rootfs();
        let proc_ = b.path().join("rootfs/proc");
        std::fs::remove_dir(&proc_).unwrap();
        std::os::unix::fs::symlink(target, &proc_).unwrap();
        assert_fails(&b, &["/proc", "symlink", "refused"]);
    }
}

#[test]
fn unknown_namespace_type() {
    let b = Bundle::new("badns").modify(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "nosuchns"}));
    });
    assert_fails(&b, &["linux.namespaces", "nosuchns"]);
}

#[test]
fn namespace_path_that_does_not_exist() {
    let b = Bundle::new("nsmissing").modify(|v| {
        let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "network", "path": "/run/netns/fastrun-nonexistent"}));
    });
    assert_fails(&b, &["/run/netns/fastrun-nonexistent"]);
}
