//! `exec` into real containers: what the new process sees (namespaces, cgroup,
//! identity, fds, environment), exit statuses, `--detach`, `--process`, and refusals.

mod common;

use std::time::Duration;

use common::*;

const T: Duration = Duration::from_secs(20);

/// A running container whose init sleeps.
fn running<'a>(root: &'a StateRoot, bundle: &'a Bundle) -> Container<'a> {
    let c = Container::new(root, bundle);
    c.create().assert_success();
    c.start().assert_success();
    c.wait_status("running", T);
    c
}

fn sleeper(name: &str) -> Bundle {
    Bundle::new(name)
        .args(&["sleep", "600"])
        .modify(|v| v["hostname"] = "exec-host".into())
}

#[test]
fn exec_joins_the_containers_namespaces_and_cgroup() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-ns");
    let c = running(&root, &bundle);
    let init = c.pid().unwrap();
    let o = root.fastrun(&[
        "exec",
        c.id(),
        "sh",
        "-c",
        "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; for n in mnt pid net ipc uts; do \
         [ \"$(readlink /proc/self/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" ] && echo same-$n; done; \
         grep memory /proc/self/cgroup",
    ]);
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "exec-host", "{o}");
    assert_eq!(lines[1].trim(), "sleep 600", "{o}");
    for n in ["mnt", "pid", "net", "ipc", "uts"] {
        assert!(
            lines.contains(&format!("same-{n}").as_str()),
            "{n} not joined: {o}"
        );
    }
    assert!(
        o.stdout.contains(&format!("/fastrun/{}", c.id())),
        "exec'd process not in the container's cgroup: {o}"
    );
    // And the init is pid 1 there, not the host's init.
    let host_pid_ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    let init_pid_ns = std::fs::read_link(format!("/proc/{init}/ns/pid")).unwrap();
    assert_ne!(host_pid_ns, init_pid_ns);
}

#[test]
fn exec_returns_the_exit_status_and_stdio() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-status");
    let c = running(&root, &bundle);
    let o = root.fastrun_with(
        &["exec", c.id(), "sh", "-c", "cat; echo err >&2; exit 7"],
        Some(b"from stdin\n"),
        T,
    );
    assert_eq!(o.status, Some(7), "{o}");
    assert_eq!(o.stdout, "from stdin\n");
    assert_eq!(o.stderr, "err\n");
    let o = root.fastrun(&["exec", c.id(), "sh", "-c", "kill -9 $$"]);
    assert_eq!(o.status, Some(137), "{o}");
}

#[test]
fn exec_detach_writes_the_host_pid() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-detach");
    let c = running(&root, &bundle);
    let pid_file = bundle.path().join("exec.pid");
    let o = root.fastrun(&[
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        c.id(),
        "sleep",
        "300",
    ]);
    o.assert_success();
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{o}");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, "sleep\x00300\x00");
    let init = c.pid().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap(),
        std::fs::read_link(format!("/proc/{init}/ns/pid")).unwrap()
    );
    // It shows up among the container's processes (the cgroup).
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cgroup.contains(&format!("/fastrun/{}", c.id())), "{cgroup}");
}

#[test]
fn exec_process_file_sets_identity_env_and_cwd() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-process");
    let c = running(&root, &bundle);
    let process = serde_json::json!({
        "args": ["sh", "-c", "id -u; id -g; id -G; pwd; echo $FOO; umask"],
        "env": ["PATH=/bin", "FOO=bar"],
        "cwd": "/tmp",
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 63},
        "terminal": false
    });
    let file = bundle.path().join("process.json");
    std::fs::write(&file, process.to_string()).unwrap();
    let o = root.fastrun(&["exec", "--process", file.to_str().unwrap(), c.id()]);
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        lines,
        ["1000", "1000", "1000 5 6", "/tmp", "bar", "0077"],
        "{o}"
    );
}

#[test]
fn exec_overrides_user_env_cwd_and_caps() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-flags");
    let c = running(&root, &bundle);
    let o = root.fastrun(&[
        "exec",
        "--user",
        "1000:1000",
        "--env",
        "A=1",
        "--cwd",
        "/tmp",
        c.id(),
        "sh",
        "-c",
        "id -u; pwd; echo $A",
    ]);
    o.assert_success();
    assert_eq!(o.stdout, "1000\n/tmp\n1\n", "{o}");

    // runc's default set plus CAP_SYS_ADMIN (bit 21).
    let o = root.fastrun(&[
        "exec",
        "--cap",
        "CAP_SYS_ADMIN",
        c.id(),
        "grep",
        "CapEff",
        "/proc/self/status",
    ]);
    o.assert_success();
    let eff = u64::from_str_radix(o.stdout.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(eff, 0x20000420 | 1 << 21, "{o}");
    // Without it, the default set only.
    let o = root.fastrun(&["exec", c.id(), "grep", "CapEff", "/proc/self/status"]);
    let eff = u64::from_str_radix(o.stdout.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(eff, 0x20000420, "{o}");
}

#[test]
fn exec_sees_only_stdio_and_preserved_fds_and_no_runtime_env() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-fds");
    let c = running(&root, &bundle);
    let script = format!(
        "exec 3</etc/hostname 4</etc/hostname; HOST_ONLY_SECRET=1 {} --root {} exec --preserve-fds 1 {} \
         sh -c 'ls /proc/self/fd; env'",
        fastrun_bin().display(),
        root.path().display(),
        c.id()
    );
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", &script]);
    let o = run_cmd(cmd, None, T);
    o.assert_success();
    let fds: Vec<&str> = o
        .stdout
        .lines()
        .take_while(|l| l.parse::<u32>().is_ok())
        .collect();
    // 0-2, the preserved 3, and ls's own directory fd (4); never the runtime's.
    assert_eq!(fds, ["0", "1", "2", "3", "4"], "{o}");
    assert!(
        !o.stdout.contains("HOST_ONLY_SECRET"),
        "runtime env leaked: {o}"
    );
}

#[test]
fn exec_refuses_stopped_containers_and_missing_binaries() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-refuse");
    let c = running(&root, &bundle);
    let o = root.fastrun(&["exec", c.id(), "nosuchbinary"]);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr
            .contains("exec: \"nosuchbinary\": executable file not found in $PATH"),
        "{o}"
    );
    c.kill("KILL").assert_success();
    c.wait_status("stopped", T);
    let o = root.fastrun(&["exec", c.id(), "true"]);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("stopped"), "{o}");
    let o = root.fastrun(&["exec", "no-such-container", "true"]);
    assert!(o.stderr.contains("does not exist"), "{o}");
}

#[test]
fn exec_leads_its_own_session_and_process_group() {
    // As under runc (issue 16 item 4: getpgrp() gave 0).
    let root = StateRoot::new();
    let b = sleeper("exec-session");
    let _c = running(&root, &b);
    let o = root.fastrun(&["exec", b.id(), "cat", "/proc/self/stat"]);
    o.assert_success();
    let f: Vec<&str> = o.stdout.rsplit_once(") ").unwrap().1.split(' ').collect();
    let pid = o.stdout.split(' ').next().unwrap();
    assert_eq!((f[2], f[3]), (pid, pid), "{o}");
}
