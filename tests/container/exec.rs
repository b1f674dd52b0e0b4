//! `exec` into real containers: what the new process sees (namespaces, cgroup,
//! identity, fds, environment), exit statuses, `--detach`, `--process`, and refusals.

use crate::common;

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
    assert_eq!(o.status, Some(255), "{o}");
    assert!(
        o.stderr
            .contains("exec: \"nosuchbinary\": executable file not found in $PATH"),
        "{o}"
    );
    c.kill("KILL").assert_success();
    c.wait_status("stopped", T);
    let o = root.fastrun(&["exec", c.id(), "true"]);
    assert_eq!(o.status, Some(255), "{o}");
    assert!(o.stderr.contains("stopped"), "{o}");
    let o = root.fastrun(&["exec", "no-such-container", "true"]);
    assert!(o.stderr.contains("does not exist"), "{o}");
}

/// The exit statuses of `exec`'s own failures, in a running container `id`
/// (paused in between), and of a usage error.
fn exec_failure_statuses(rt: &dyn Fn(&[&str]) -> Output, id: &str) -> Vec<(String, Option<i32>)> {
    let mut got = Vec::new();
    let mut note = |what: &str, o: Output| got.push((what.to_string(), o.status));
    note(
        "pid-file in a missing directory",
        rt(&["exec", "--pid-file", "/nonexistent-dir/x.pid", id, "true"]),
    );
    note("missing binary", rt(&["exec", id, "nosuchbinary"]));
    note("no command", rt(&["exec", id]));
    note(
        "no such container",
        rt(&["exec", "no-such-container", "true"]),
    );
    rt(&["pause", id]).assert_success();
    note("paused", rt(&["exec", id, "true"]));
    rt(&["resume", id]).assert_success();
    note(
        "process's own status",
        rt(&["exec", id, "sh", "-c", "exit 3"]),
    );
    note("unknown flag", rt(&["exec", "--bogus", id, "true"]));
    got
}

#[test]
fn exec_failures_exit_255_as_runc() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-255");
    let c = running(&root, &bundle);
    let got = exec_failure_statuses(&|a| root.fastrun(a), c.id());
    let want: Vec<(String, Option<i32>)> = [
        ("pid-file in a missing directory", 255),
        ("missing binary", 255),
        ("no command", 255),
        ("no such container", 255),
        ("paused", 255),
        ("process's own status", 3),
        ("unknown flag", 1),
    ]
    .iter()
    .map(|(w, s)| (w.to_string(), Some(*s)))
    .collect();
    assert_eq!(got, want);
    // The paused container is not left paused, nor a pid file half written.
    assert!(!std::path::Path::new("/nonexistent-dir").exists());
    if !runc::available() {
        eprintln!("runc not installed: not compared");
        return;
    }
    let r = runc::Runc::new();
    let rb = runc::RuncBundle::new(&bundle);
    r.run_detached(&rb).assert_success();
    assert_eq!(exec_failure_statuses(&|a| r.runc(a), rb.id()), want);
}

/// What the shell sees of itself: "PID PGRP SESSION" from /proc/self/stat.
const SELF_PGRP: &str =
    "read pid comm st ppid pgrp sid rest < /proc/self/stat; echo $pid $pgrp $sid";

/// The init's and an exec'd shell's "PID PGRP SESSION", and whether the exec'd one
/// leads its own session.
fn session_of(rt: &dyn Fn(&[&str]) -> Output, id: &str) -> (String, bool) {
    let o = rt(&["exec", id, "sh", "-c", SELF_PGRP]);
    o.assert_success();
    let f: Vec<&str> = o.stdout.split_whitespace().collect();
    assert_eq!(f.len(), 3, "{o}");
    (o.stdout.clone(), f[0] == f[1] && f[1] == f[2])
}

#[test]
fn processes_lead_their_own_session_as_runc() {
    let root = StateRoot::new();
    let b = sh_bundle("exec-pgrp", &format!("{SELF_PGRP}; sleep 600"));
    let c = running(&root, &b);
    let (exec_line, leader) = session_of(&|a| root.fastrun(a), c.id());
    assert!(leader, "exec'd process: {exec_line}");
    wait_until("the init's line", T, || c.output().0.contains('\n'));
    assert_eq!(c.output().0, "1 1 1\n");
    if !runc::available() {
        eprintln!("runc not installed: not compared");
        return;
    }
    let r = runc::Runc::new();
    let rb = runc::RuncBundle::new(&b);
    r.run_detached(&rb).assert_success();
    let (rexec, rleader) = session_of(&|a| r.runc(a), rb.id());
    assert!(rleader, "{rexec}");
    let out = || std::fs::read_to_string(rb.path().join("run.out")).unwrap_or_default();
    wait_until("runc's init line", T, || out().contains('\n'));
    assert_eq!(out(), "1 1 1\n");
}

/// Make `sub1` under the container's cgroup (relative path `rel`) in every
/// hierarchy that has it; returns the directories made.
fn make_sub_cgroups(rel: &str) -> Vec<std::path::PathBuf> {
    let mut made = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let base = h.path().join(rel);
        if base.is_dir() {
            let d = base.join("sub1");
            std::fs::create_dir(&d).unwrap();
            // v1 cpuset: a new cgroup takes no task before it has cpus and mems.
            for f in ["cpuset.cpus", "cpuset.mems"] {
                if let Ok(v) = std::fs::read_to_string(base.join(f)) {
                    std::fs::write(d.join(f), v.trim()).unwrap();
                }
            }
            made.push(d);
        }
    }
    assert!(!made.is_empty(), "no cgroup directory {rel}");
    made
}

/// What `exec --cgroup ...` gives in container `id`: the exec'd process's
/// /proc/self/cgroup lines in `sub1` (its base path elided), sorted, or the exit
/// status.
fn exec_cgroup(
    rt: &dyn Fn(&[&str]) -> Output,
    id: &str,
    flag: &str,
) -> Result<Vec<String>, Option<i32>> {
    let o = rt(&["exec", "--cgroup", flag, id, "cat", "/proc/self/cgroup"]);
    if o.status != Some(0) {
        return Err(o.status);
    }
    // "N:CONTROLLERS:/<the container's cgroup>/sub1" → "N:CONTROLLERS:…/sub1".
    let mut l: Vec<String> = o
        .stdout
        .lines()
        .filter(|l| l.ends_with("/sub1"))
        .map(|l| format!("{}:…/sub1", l.rsplit_once(':').unwrap().0))
        .collect();
    l.sort();
    Ok(l)
}

#[test]
fn exec_cgroup_joins_an_existing_sub_cgroup_as_runc() {
    let root = StateRoot::new();
    let bundle = sleeper("exec-subcg");
    let c = running(&root, &bundle);
    let subs = make_sub_cgroups(&format!("fastrun/{}", c.id()));
    let rt = |a: &[&str]| root.fastrun(a);
    let all = exec_cgroup(&rt, c.id(), "sub1").unwrap();
    // Every hierarchy of the container's cgroup (v1 ones and the unified tree).
    assert_eq!(all.len(), subs.len(), "{all:?}");
    let one = exec_cgroup(&rt, c.id(), "freezer,pids:sub1").unwrap();
    assert_eq!(one.len(), 2, "{one:?}");
    assert!(
        one.iter()
            .all(|l| l.contains("freezer") || l.contains("pids")),
        "{one:?}"
    );
    let o = root.fastrun(&["exec", "--cgroup", "..", c.id(), "true"]);
    assert_eq!(o.status, Some(255), "{o}");
    assert!(o.stderr.contains("not a sub-cgroup"), "{o}");
    let o = root.fastrun(&["exec", "--cgroup", "nonexistent", c.id(), "true"]);
    assert_eq!(o.status, Some(255), "{o}");
    assert!(
        o.stderr.contains("nonexistent") && o.stderr.contains("does not exist"),
        "{o}"
    );
    let o = root.fastrun(&["exec", "--cgroup", "nosuchctrl:sub1", c.id(), "true"]);
    assert_eq!(o.status, Some(255), "{o}");
    assert!(
        o.stderr.contains("unknown controller \"nosuchctrl\""),
        "{o}"
    );
    for d in &subs {
        std::fs::remove_dir(d).unwrap();
    }
    if !runc::available() {
        eprintln!("runc not installed: not compared");
        return;
    }
    let r = runc::Runc::new();
    let rb = runc::RuncBundle::new(&bundle);
    r.run_detached(&rb).assert_success();
    let rsubs = make_sub_cgroups(&format!("fastrun-test-runc/{}", rb.id()));
    let rt = |a: &[&str]| r.runc(a);
    let rall = exec_cgroup(&rt, rb.id(), "sub1");
    let rone = exec_cgroup(&rt, rb.id(), "freezer,pids:sub1");
    let rup = exec_cgroup(&rt, rb.id(), "..");
    let rmissing = exec_cgroup(&rt, rb.id(), "nonexistent");
    for d in &rsubs {
        let _ = std::fs::remove_dir(d);
    }
    assert_eq!(rall, Ok(all));
    assert_eq!(rone, Ok(one));
    assert_eq!(rup, Err(Some(255)));
    assert_eq!(rmissing, Err(Some(255)));
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
