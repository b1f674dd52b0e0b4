//! cgroups with real containers on this machine (v1 hybrid): limits visible inside and
//! enforced, `update`, `pause`/`resume`, `ps`, `events`, `kill --all`, cleanup at
//! `delete`, bad input leaving nothing behind; and pure cgroup v2 in a private mount
//! namespace with a fresh cgroup2 mount over /sys/fs/cgroup.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// The v1 hierarchies (and the unified tree) where a container's cgroup must appear.
const HIERARCHIES: &[&str] = &[
    "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd",
    "unified",
];

fn cgroup_dir(hierarchy: &str, id: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(hierarchy)
        .join("fastrun")
        .join(id)
}

fn set_resources(b: Bundle, r: Value) -> Bundle {
    b.modify(|c| {
        let res = &mut c["linux"]["resources"];
        for (k, v) in r.as_object().unwrap() {
            res[k] = v.clone();
        }
    })
}

fn read(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Poll `f` until it returns true (panic after [`WAIT`]).
#[track_caller]
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ps_json(root: &StateRoot, id: &str) -> Vec<i64> {
    let o = root.fastrun(&["ps", "--format", "json", id]);
    o.assert_success();
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("ps JSON {e}: {o}"));
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect()
}

/// The last online CPU + 8: a cpuset that cannot exist here.
fn offline_cpus() -> String {
    let online = read("/sys/devices/system/cpu/online");
    let last: u32 = online.rsplit([',', '-']).next().unwrap().parse().unwrap();
    format!("{}-{}", last + 8, last + 11)
}

#[test]
fn limits_are_visible_inside_and_cgroup_is_everywhere() {
    let root = StateRoot::new();
    let b = set_resources(
        Bundle::new("cg-limits").args(&[
            "sh",
            "-c",
            "cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes pids/pids.max cpu/cpu.shares \
             cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us; echo x > /dev/null && echo null-ok; \
             exec sleep 100",
        ]),
        json!({
            "memory": {"limit": 64 << 20},
            "pids": {"limit": 20},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000}
        }),
    );
    let c = Container::new(&root, &b);
    c.create().assert_success();
    // the cgroup exists in every hierarchy, with the limits, before the program runs
    for h in HIERARCHIES {
        assert!(cgroup_dir(h, c.id()).is_dir(), "no cgroup in {h}");
    }
    assert_eq!(
        read(cgroup_dir("memory", c.id()).join("memory.limit_in_bytes")),
        (64u64 << 20).to_string()
    );
    let pid = c.pid().unwrap();
    // the init is in its cgroup in every hierarchy before it runs the program
    let cg = read(format!("/proc/{pid}/cgroup"));
    for l in cg.lines() {
        assert!(
            l.ends_with(&format!("/fastrun/{}", c.id())),
            "init not in its cgroup: {l}"
        );
    }
    c.start().assert_success();
    // what the container sees in its own /sys/fs/cgroup
    let inside = |f: &str| read(format!("/proc/{pid}/root/sys/fs/cgroup/{f}"));
    wait_until("the program to run", || {
        read(format!("/proc/{pid}/cmdline")).starts_with("sleep")
    });
    assert_eq!(inside("memory/memory.limit_in_bytes"), "67108864");
    assert_eq!(inside("pids/pids.max"), "20");
    assert_eq!(inside("cpu/cpu.shares"), "512");
    assert_eq!(inside("cpu/cpu.cfs_quota_us"), "50000");
    assert_eq!(inside("cpu/cpu.cfs_period_us"), "100000");
    // the container's root cgroup is its own: its procs are the container's only
    assert_eq!(inside("pids/cgroup.procs"), pid.to_string());
    c.delete(true).assert_success();
    for h in HIERARCHIES {
        assert!(!cgroup_dir(h, c.id()).exists(), "cgroup left in {h}");
    }
    c.assert_no_leftovers();
}

#[test]
fn limits_are_printed_by_the_program_itself() {
    let root = StateRoot::new();
    let b = set_resources(
        Bundle::new("cg-print").args(&[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max \
             /sys/fs/cgroup/cpu/cpu.shares; echo x > /dev/null && echo null-ok",
        ]),
        json!({"memory": {"limit": 48 << 20}, "pids": {"limit": 7}, "cpu": {"shares": 300}}),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    o.assert_success();
    // the default device rules are applied after the spec's "deny all": /dev/null works
    assert_eq!(o.stdout, "50331648\n7\n300\nnull-ok\n", "{o}");
    drop(c);
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn memory_hog_is_oom_killed() {
    let root = StateRoot::new();
    // dd allocates its block: 128 MiB under a 32 MiB limit (no swap allowed).
    let b = set_resources(
        Bundle::new("cg-oom").args(&[
            "/bin/busybox",
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=128M",
            "count=1",
        ]),
        json!({"memory": {"limit": 32 << 20, "swap": 32 << 20}}),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(137), "not OOM-killed: {o}");
    drop(c);
    assert_no_leftovers(root.path(), b.id());

    // the same program without a limit completes
    let b = Bundle::new("cg-nooom").args(&[
        "/bin/busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=128M",
        "count=1",
    ]);
    let c = Container::new(&root, &b);
    c.run().assert_success();
}

/// `fastrun events` running in the background, killed on drop.
struct Events {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Events {
    fn spawn(root: &StateRoot, args: &[&str]) -> Events {
        let mut child = root
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn fastrun events");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Events { child, lines }
    }

    #[track_caller]
    fn next(&self) -> Option<String> {
        self.lines.recv_timeout(Duration::from_secs(30)).ok()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn events_report_stats_then_the_oom_kill_and_end_with_the_container() {
    let root = StateRoot::new();
    let b = set_resources(
        Bundle::new("cg-evoom").args(&[
            "/bin/busybox",
            "dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=128M",
            "count=1",
        ]),
        json!({"memory": {"limit": 32 << 20, "swap": 32 << 20}}),
    );
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let mut ev = Events::spawn(&root, &["events", "--interval", "200ms", c.id()]);
    // a first stats line means the OOM watch is registered
    let first: Value = serde_json::from_str(&ev.next().expect("a first event")).unwrap();
    assert_eq!(first["type"], "stats");
    assert_eq!(first["id"], c.id());
    c.start().assert_success();
    let mut seen_oom = false;
    while let Some(l) = ev.next() {
        let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
        if v["type"] == "oom" {
            assert_eq!(v, json!({"type": "oom", "id": c.id()}));
            seen_oom = true;
        }
    }
    assert!(seen_oom, "no oom event");
    // the stream ended by itself: the container stopped
    let st = ev.child.wait().unwrap();
    assert!(st.success(), "events: {st}");
    c.wait_status("stopped", WAIT);
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let root = StateRoot::new();
    // a bounded bomb: 40 background sleeps under pids.max = 8
    let b = set_resources(
        Bundle::new("cg-pids").args(&[
            "sh",
            "-c",
            "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); echo $i; done; \
             cat /sys/fs/cgroup/pids/pids.current",
        ]),
        json!({"pids": {"limit": 8}}),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert!(o.stderr.contains("can't fork"), "{o}");
    let started: Vec<u32> = o
        .stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let last = *started.last().unwrap_or(&0);
    // the shell itself is one task: at most 7 sleeps could start
    assert!(last < 8, "started {last} sleeps under pids.max=8: {o}");
    drop(c);
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn update_changes_live_limits() {
    let root = StateRoot::new();
    let b = set_resources(
        Bundle::new("cg-update").args(&["sleep", "100"]),
        json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 20}, "cpu": {"shares": 512}}),
    );
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let pid = c.pid().unwrap();
    let inside = |f: &str| read(format!("/proc/{pid}/root/sys/fs/cgroup/{f}"));
    assert_eq!(inside("memory/memory.limit_in_bytes"), "67108864");
    root.fastrun(&[
        "update",
        "--memory",
        "128m",
        "--pids-limit",
        "30",
        "--cpu-share",
        "700",
        "--cpu-quota",
        "20000",
        c.id(),
    ])
    .assert_success();
    assert_eq!(inside("memory/memory.limit_in_bytes"), "134217728");
    assert_eq!(inside("pids/pids.max"), "30");
    assert_eq!(inside("cpu/cpu.shares"), "700");
    assert_eq!(inside("cpu/cpu.cfs_quota_us"), "20000");
    // a resources document on stdin, with a flag on top of it
    let o = root.fastrun_with(
        &["update", "--resources", "-", "--pids-limit", "40", c.id()],
        Some(br#"{"memory": {"limit": 100663296}, "pids": {"limit": 5}}"#),
        TIMEOUT,
    );
    o.assert_success();
    assert_eq!(inside("memory/memory.limit_in_bytes"), "100663296");
    assert_eq!(inside("pids/pids.max"), "40");
    // bad input: clear errors, nothing changed
    let bad = offline_cpus();
    let o = root.fastrun(&["update", "--cpuset-cpus", &bad, c.id()]);
    o.assert_failure();
    assert!(
        o.stderr.contains(&format!(
            "--cpuset-cpus: \"{bad}\" is outside the online CPUs"
        )),
        "{o}"
    );
    let o = root.fastrun_with(
        &["update", "-r", "-", c.id()],
        Some(br#"{"pids": {"limit": -4}}"#),
        TIMEOUT,
    );
    o.assert_failure();
    assert!(
        o.stderr.contains("resources.pids.limit: -4 is negative"),
        "{o}"
    );
    let o = root.fastrun_with(
        &["update", "-r", "-", c.id()],
        Some(br#"{"unified": {"foo.bar": "1"}}"#),
        TIMEOUT,
    );
    o.assert_failure();
    assert!(
        o.stderr
            .contains("resources.unified[\"foo.bar\"]: unknown key"),
        "{o}"
    );
    assert_eq!(inside("pids/pids.max"), "40");
    c.kill("KILL").assert_success();
    c.wait_status("stopped", WAIT);
    let o = root.fastrun(&["update", "--memory", "1g", c.id()]);
    o.assert_failure();
    assert!(o.stderr.contains("it is stopped"), "{o}");
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let root = StateRoot::new();
    let b = Bundle::new("cg-pause").args(&["sh", "-c", "sleep 100 & exec sleep 100"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let o = root.fastrun(&["pause", c.id()]);
    o.assert_failure();
    assert!(o.stderr.contains("it is created, not running"), "{o}");
    c.start().assert_success();
    c.wait_status("running", WAIT);
    let o = root.fastrun(&["resume", c.id()]);
    o.assert_failure();
    assert!(o.stderr.contains("it is running, not paused"), "{o}");

    // `running` means started, not that the shell has forked yet: freezing it
    // before would leave one process for good.
    wait_until("two processes", || ps_json(&root, c.id()).len() == 2);
    root.fastrun(&["pause", c.id()]).assert_success();
    assert_eq!(c.state_json()["status"], "paused");
    let freezer = cgroup_dir("freezer", c.id()).join("freezer.state");
    assert_eq!(read(&freezer), "FROZEN");
    wait_until("two processes", || ps_json(&root, c.id()).len() == 2);
    // A task frozen by the v1 freezer reports D (uninterruptible), not S; under
    // load the last task may get there a moment after freezer.state says FROZEN.
    let frozen = |p: &i64| {
        let st = read(format!("/proc/{p}/status"));
        st.lines()
            .any(|l| l.starts_with("State:") && l.contains("D ("))
    };
    wait_until("every process frozen", || {
        ps_json(&root, c.id()).iter().all(&frozen)
    });
    let o = root.fastrun(&["pause", c.id()]);
    o.assert_failure();
    assert!(o.stderr.contains("it is paused, not running"), "{o}");

    root.fastrun(&["resume", c.id()]).assert_success();
    assert_eq!(c.state_json()["status"], "running");
    assert_eq!(read(&freezer), "THAWED");
    let pid = c.pid().unwrap();
    let st = read(format!("/proc/{pid}/status"));
    assert!(st.contains("State:\tS"), "{st}");

    // a paused container is deleted with --force only, and nothing stays frozen
    root.fastrun(&["pause", c.id()]).assert_success();
    let o = c.delete(false);
    o.assert_failure();
    assert!(o.stderr.contains("paused"), "{o}");
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn ps_lists_the_init_and_its_child() {
    let root = StateRoot::new();
    let b = Bundle::new("cg-ps").args(&["sh", "-c", "sleep 100 & wait"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let pid = c.pid().unwrap();
    assert_eq!(ps_json(&root, c.id()), [i64::from(pid)]);
    c.start().assert_success();
    wait_until("the child", || ps_json(&root, c.id()).len() == 2);
    let pids = ps_json(&root, c.id());
    assert!(pids.contains(&i64::from(pid)), "{pids:?}");
    let child = pids.iter().find(|&&p| p != i64::from(pid)).unwrap();
    assert!(read(format!("/proc/{child}/cmdline")).starts_with("sleep"));
    // the table form runs the host's ps and keeps the container's lines
    let o = root.fastrun(&["ps", c.id()]);
    o.assert_success();
    assert!(o.stdout.starts_with("UID"), "{o}");
    assert_eq!(o.stdout.lines().count(), 3, "{o}");
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn events_stats_is_runc_json() {
    let root = StateRoot::new();
    let b = set_resources(
        Bundle::new("cg-stats").args(&["sh", "-c", "sleep 100 & wait"]),
        json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}),
    );
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    wait_until("the child", || ps_json(&root, c.id()).len() == 2);
    let o = root.fastrun(&["events", "--stats", c.id()]);
    o.assert_success();
    assert_eq!(o.stdout.lines().count(), 1, "{o}");
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o}"));
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], c.id());
    let d = &v["data"];
    assert_eq!(d["memory"]["usage"]["limit"], 64u64 << 20);
    assert!(d["memory"]["usage"]["usage"].as_u64().unwrap() > 0, "{d}");
    assert!(d["memory"]["raw"]["cache"].is_u64(), "{d}");
    assert_eq!(d["pids"]["current"], 2);
    assert_eq!(d["pids"]["limit"], 50);
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap() > 0, "{d}");
    assert!(d["cpu"]["usage"]["percpu"].is_array(), "{d}");
    assert!(d["blkio"].is_object() && d["hugetlb"].is_object(), "{d}");
    c.kill("KILL").assert_success();
    c.wait_status("stopped", WAIT);
    let o = root.fastrun(&["events", "--stats", c.id()]);
    o.assert_failure();
    assert!(o.stderr.contains("is not running"), "{o}");
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn kill_all_reaches_every_process() {
    let root = StateRoot::new();
    let b = Bundle::new("cg-killall").args(&["sh", "-c", "sleep 100 & sleep 100 & wait"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    wait_until("the children", || ps_json(&root, c.id()).len() == 3);
    root.fastrun(&["kill", "--all", c.id(), "TERM"])
        .assert_success();
    wait_until("every process to exit", || {
        ps_json(&root, c.id()).is_empty()
    });
    c.wait_status("stopped", WAIT);
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn kill_all_after_the_init_has_exited() {
    let root = StateRoot::new();
    // no pid namespace: the background child outlives the init
    let b = Bundle::new("cg-orphan")
        .args(&["sh", "-c", "sleep 100 & exit 0"])
        .modify(|c| {
            let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| n["type"] != "pid");
        });
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let init = c.pid().unwrap();
    c.start().assert_success();
    c.wait_status("stopped", WAIT);
    wait_until("only the child", || {
        let p = ps_json(&root, c.id());
        p.len() == 1 && p[0] != i64::from(init)
    });
    let child = ps_json(&root, c.id())[0];
    assert!(read(format!("/proc/{child}/cmdline")).starts_with("sleep"));
    // the init is gone, so a plain kill has no target; --all still reaches the child
    root.fastrun(&["kill", "--all", c.id(), "KILL"])
        .assert_success();
    wait_until("the child to die", || ps_json(&root, c.id()).is_empty());
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn run_and_delete_kill_what_outlives_an_init_without_a_pid_namespace() {
    // The end of `run` and `delete` remove an empty cgroup with rmdirs alone; a
    // refused rmdir (here: a background child in the host's pid namespace) must
    // still end in the scan that kills what is left, as runc does. Both wait for
    // the kill: nothing of the container may be running once they return.
    let root = StateRoot::new();
    let no_pidns = |c: &mut Value| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
    };
    let b = Bundle::new("cg-run-orphan")
        .args(&["sh", "-c", "sleep 100 & exit 0"])
        .modify(no_pidns);
    let o = root.fastrun(&["run", "--bundle", b.path().to_str().unwrap(), b.id()]);
    o.assert_success();
    assert_no_leftovers(root.path(), b.id());

    let b = Bundle::new("cg-del-orphan")
        .args(&["sh", "-c", "sleep 100 & exit 0"])
        .modify(no_pidns);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    c.wait_status("stopped", WAIT);
    assert_eq!(
        marked_processes(b.id()).len(),
        1,
        "the background sleep outlives the init"
    );
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

/// The files `fastrun --root ROOT ARGS` (and its children) opened, as strace logs
/// them into `log`; the command must succeed.
fn strace_opens(root: &StateRoot, log: &Path, args: &[&str]) -> String {
    strace_calls(root, log, "open,openat,openat2", args).1
}

#[test]
fn create_reads_the_mount_table_once() {
    // On a v1 or hybrid host the cgroup layout comes from /proc/self/mountinfo, and
    // the plan needs the same table (the root's parent mount): one read for both.
    if !have_strace() {
        eprintln!("strace missing: skipped (.ci/setup installs it)");
        return;
    }
    let root = StateRoot::new();
    let b = Bundle::new("cg-mountinfo-once");
    let log = strace_opens(
        &root,
        &b.path().join("strace.txt"),
        &["run", "--bundle", b.path().to_str().unwrap(), b.id()],
    );
    let opens = log
        .lines()
        .filter(|l| l.contains("\"/proc/self/mountinfo\""))
        .count();
    assert_eq!(opens, 1, "{log}");
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn a_start_without_limits_looks_up_no_limit_files() {
    // The machine facts behind limits (the online CPU and memory-node lists for a
    // cpuset, swap accounting and the current limit for memory, BFQ for block I/O)
    // are read only when the config sets such limits: a plain `run` does not touch
    // them. (A cpuset outside the online CPUs is still refused: see
    // `bad_resources_leave_nothing_behind`; memory limits with swap and their
    // order: `update_changes_live_limits` and the unit tests of `resources`.)
    let root = StateRoot::new();
    let b = Bundle::new("cg-no-probe");
    let calls = "open,openat,stat,newfstatat,statx,access,faccessat2";
    let Some((_, log)) = strace_run(&root, &b, calls) else {
        return;
    };
    for file in [
        "/sys/devices/system/cpu/online",
        "/sys/devices/system/node/online",
        "bfq.weight",
        "memory.memsw.limit_in_bytes",
        "memory.limit_in_bytes",
    ] {
        assert!(!log.contains(file), "{file} looked up: {log}");
    }
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn v1_cgroup_binds_go_straight_into_their_fresh_tmpfs() {
    // On v1/hybrid the `cgroup` mount is a tmpfs the runtime makes, with one bind of
    // the container's cgroup per hierarchy in it. Each bind goes onto a directory made
    // directly in that tmpfs (mkdirat + move_mount by name from its mount fd), not
    // through a walk from the container's root per hierarchy (3 openat2 each before);
    // the container still sees every hierarchy, read-only, as its own cgroup.
    if !have_strace() {
        eprintln!("strace missing: skipped (.ci/setup installs it)");
        return;
    }
    let root = StateRoot::new();
    let b = Bundle::new("cg-binds").args(&["cat", "/proc/self/mountinfo"]);
    let (o, trace) = strace_calls(
        &root,
        &b.path().join("strace.txt"),
        "openat2,mkdirat,move_mount",
        &["run", "--bundle", b.path().to_str().unwrap(), b.id()],
    );
    let walks: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("openat2(") && l.contains("\"sys/fs/cgroup/"))
        .collect();
    assert!(walks.is_empty(), "walks below the cgroup tmpfs: {walks:#?}");
    for h in HIERARCHIES {
        let made = format!("\"{h}\", 0755)");
        assert!(
            trace
                .lines()
                .any(|l| l.contains("mkdirat(") && l.contains(&made)),
            "no mkdirat of {h} in the tmpfs:\n{trace}"
        );
        let line = o
            .stdout
            .lines()
            .find(|l| l.split(' ').nth(4) == Some(&format!("/sys/fs/cgroup/{h}")))
            .unwrap_or_else(|| panic!("/sys/fs/cgroup/{h} not mounted: {}", o.stdout));
        // the bound directory: the container's cgroup (as seen from its cgroup
        // namespace when it has one)
        let own = format!("/fastrun/{}", b.id());
        let bound = line.split(' ').nth(3).unwrap_or("");
        assert!(
            bound == "/" || bound == own,
            "{h} is not the container's cgroup: {line}"
        );
        assert!(line.contains(" ro,"), "{h} not read-only: {line}");
    }
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn later_operations_use_the_cgroup_layout_in_the_record() {
    // `create` saves where the hierarchies are mounted; `state`, `pause`, `kill`,
    // `delete` use that (checked with a statfs each) instead of reading
    // /proc/self/mountinfo again, as runc keeps its cgroup paths. A saved layout
    // that no longer matches the host is detected again.
    let root = StateRoot::new();
    let b = Bundle::new("cg-layout").args(&["sleep", "100"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let opens_mountinfo = |args: &[&str]| -> bool {
        strace_opens(&root, &b.path().join("strace.txt"), args).contains("mountinfo")
    };
    if have_strace() {
        assert!(!opens_mountinfo(&["state", c.id()]), "state read mountinfo");
        assert!(!opens_mountinfo(&["pause", c.id()]), "pause read mountinfo");
        assert_eq!(c.state_json()["status"], "paused");
        assert!(
            !opens_mountinfo(&["resume", c.id()]),
            "resume read mountinfo"
        );
    } else {
        eprintln!("strace missing: the mountinfo checks are skipped (.ci/setup installs it)");
    }
    // A layout that no longer matches: every operation still finds the cgroup.
    let state = root.path().join(c.id()).join("state.json");
    let text = read(&state).replace("\"/sys/fs/cgroup/", "\"/nonexistent/cgroup/");
    std::fs::write(&state, text).unwrap();
    root.fastrun(&["pause", c.id()]).assert_success();
    assert_eq!(c.state_json()["status"], "paused");
    assert_eq!(
        read(cgroup_dir("freezer", c.id()).join("freezer.state")),
        "FROZEN"
    );
    root.fastrun(&["resume", c.id()]).assert_success();
    assert_eq!(c.state_json()["status"], "running");
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn bad_resources_leave_nothing_behind() {
    let root = StateRoot::new();
    let bad_cpus = offline_cpus();
    let cases: Vec<(Value, String)> = vec![
        (
            json!({"cpu": {"cpus": bad_cpus}}),
            format!("linux.resources.cpu.cpus: \"{bad_cpus}\" is outside the online CPUs"),
        ),
        (
            json!({"unified": {"foo.bar": "1"}}),
            "linux.resources.unified[\"foo.bar\"]: unknown key".to_string(),
        ),
        (
            json!({"memory": {"limit": -5}}),
            "linux.resources.memory.limit: -5 is negative".to_string(),
        ),
        (
            json!({"pids": {"limit": -2}}),
            "linux.resources.pids.limit: -2 is negative".to_string(),
        ),
        (
            json!({"network": {"classID": 7}}),
            "the net_cls controller is not mounted".to_string(),
        ),
    ];
    for (res, want) in cases {
        let b = set_resources(Bundle::new("cg-bad").args(&["true"]), res.clone());
        let c = Container::new(&root, &b);
        let o = c.create();
        o.assert_failure();
        assert!(o.stderr.contains(&want), "{res}: want {want:?}: {o}");
        for h in HIERARCHIES {
            assert!(!cgroup_dir(h, c.id()).exists(), "{res}: cgroup made in {h}");
        }
        c.assert_no_leftovers();
    }
    // a cgroupsPath escaping with ..
    let b = Bundle::new("cg-badpath")
        .modify(|c| c["linux"]["cgroupsPath"] = json!("/fastrun/../../escape"));
    let c = Container::new(&root, &b);
    let o = c.create();
    o.assert_failure();
    assert!(o.stderr.contains("cgroupsPath"), "{o}");
    assert!(!Path::new("/sys/fs/cgroup/memory/escape").exists());
    c.assert_no_leftovers();
}

// ---------------------------------------------------------------------------
// Joining the cgroups on v1 and hybrid: the init (and an exec'd process) writes `0`
// to each v1 hierarchy's `tasks` file itself, first thing; the cgroup2 tree is
// joined with CLONE_INTO_CGROUP; the runtime moves it where its own write fails.
// ---------------------------------------------------------------------------

/// Checks a `/proc/<pid>/cgroup` text: one line per hierarchy of [`HIERARCHIES`],
/// each naming `want` as its path.
#[track_caller]
fn assert_cgroup_lines(text: &str, want: &str) {
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), HIERARCHIES.len(), "{text}");
    for l in lines {
        let path = l.splitn(3, ':').nth(2).unwrap_or("");
        assert_eq!(path, want, "not in its cgroup: {l}\n{text}");
    }
}

fn with_cgroup_ns(b: Bundle) -> Bundle {
    b.modify(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "cgroup"}))
    })
}

/// `runc run` of the same bundle (state in a temp root); its stdout. The bundle
/// must name its cgroup (`linux.cgroupsPath`): without one, runc nests it under the
/// caller's own cgroup, which may belong to the machine.
fn runc_run(b: &Bundle) -> Output {
    assert!(
        b.config()["linux"]["cgroupsPath"].is_string(),
        "runc_run needs linux.cgroupsPath"
    );
    let state = TempDir::new("runc-state-");
    let mut c = Command::new("runc");
    c.arg("--root")
        .arg(state.path())
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(format!("{}-runc", b.id()));
    run_cmd(c, None, TIMEOUT)
}

#[test]
fn init_reads_its_own_cgroups_first() {
    let root = StateRoot::new();
    // the container's program reads /proc/self/cgroup before anything else
    let b = Bundle::new("cg-self").args(&["cat", "/proc/self/cgroup"]);
    let o = Container::new(&root, &b).run();
    o.assert_success();
    assert_cgroup_lines(&o.stdout, &format!("/fastrun/{}", b.id()));

    // in its own cgroup namespace, its cgroups are the root of every hierarchy
    // (the namespace is made once the init is in them), as with runc
    let b = with_cgroup_ns(Bundle::new("cg-self-ns").args(&["cat", "/proc/self/cgroup"]));
    let path = format!("/fastrun/{}", b.id());
    let b = b.modify(|c| c["linux"]["cgroupsPath"] = json!(path));
    let o = Container::new(&root, &b).run();
    o.assert_success();
    assert_cgroup_lines(&o.stdout, "/");
    let r = runc_run(&b);
    r.assert_success();
    assert_eq!(o.stdout, r.stdout, "fastrun and runc differ");
    for h in HIERARCHIES {
        assert!(!cgroup_dir(h, b.id()).exists(), "cgroup left in {h}");
    }
}

#[test]
fn nested_cgroups_path_with_new_parents_gets_cpuset_values_at_each_level() {
    // The usual create makes only the leaf (its parents exist); a cgroupsPath
    // whose parents are new is made level by level, each cpuset level filled in
    // from its parent (the kernel refuses tasks in a cpuset without CPUs).
    let root = StateRoot::new();
    let top = unique_id("fastrun-nest");
    let b = Bundle::new("cg-nest").args(&["cat", "/sys/fs/cgroup/cpuset/cpuset.cpus"]);
    let path = format!("/{top}/a/{}", b.id());
    let b = b.modify(|c| c["linux"]["cgroupsPath"] = json!(path));
    let host_cpus = read("/sys/fs/cgroup/cpuset/cpuset.cpus");
    let o = Container::new(&root, &b).run();
    let mid = Path::new("/sys/fs/cgroup/cpuset").join(&top).join("a");
    let mid_cpus = read(mid.join("cpuset.cpus"));
    // the parents stay (as with runc): remove them here, deepest first
    for h in HIERARCHIES {
        let base = Path::new("/sys/fs/cgroup").join(h).join(&top);
        let _ = std::fs::remove_dir(base.join("a"));
        let _ = std::fs::remove_dir(&base);
    }
    o.assert_success();
    assert_eq!(o.stdout.trim(), host_cpus.trim(), "{o}");
    assert_eq!(mid_cpus.trim(), host_cpus.trim());
}

#[test]
fn the_v1_cgroup_mount_is_read_only_nosuid_nodev_noexec_at_every_level() {
    // The runc spec's `cgroup` mount ("ro", nosuid, noexec, nodev) on a v1 or
    // hybrid host: a tmpfs with the container's cgroup of each hierarchy bound
    // below it. Every one of those mounts carries the options, whichever step
    // set them; a write to any level fails.
    let root = StateRoot::new();
    let b = Bundle::new("cg-mount-ro").args(&[
        "sh",
        "-c",
        "grep ' /sys/fs/cgroup' /proc/self/mountinfo; \
         for d in /sys/fs/cgroup /sys/fs/cgroup/memory; do \
           touch $d/x 2>/dev/null && echo wrote-$d; done; true",
    ]);
    let o = Container::new(&root, &b).run();
    o.assert_success();
    assert!(!o.stdout.contains("wrote-"), "{o}");
    let lines: Vec<&str> = o.stdout.lines().filter(|l| l.contains(" - ")).collect();
    // the tmpfs and one bind per hierarchy
    assert!(lines.len() >= 1 + HIERARCHIES.len() - 1, "{o}");
    for l in &lines {
        let opts = l.split_whitespace().nth(5).unwrap();
        for want in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(opts.split(',').any(|o| o == want), "{want} missing: {l}");
        }
    }
}

#[test]
fn device_rules_hold_for_nodes_the_init_creates() {
    let root = StateRoot::new();
    // /dev/full is made by the init (linux.devices, allowed); /dev/mem's number is
    // not allowed: creating the node works (`c *:* m`), opening it does not
    let b = Bundle::new("cg-dev")
        .args(&[
            "sh",
            "-c",
            "echo x > /dev/full; echo full=$?; mknod /dev/m c 1 1 && echo mknod-ok; \
             head -c1 /dev/m; echo mem=$?; head -c1 /dev/null; echo null=$?",
        ])
        .modify(|c| {
            c["linux"]["devices"] = json!([{"path": "/dev/full", "type": "c", "major": 1,
                "minor": 7, "fileMode": 438, "uid": 0, "gid": 0}]);
            for set in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("CAP_MKNOD"));
            }
        });
    let o = Container::new(&root, &b).run();
    o.assert_success();
    assert!(o.stderr.contains("No space left on device"), "{o}");
    assert!(o.stdout.contains("full=1"), "{o}");
    assert!(o.stdout.contains("mknod-ok"), "{o}");
    assert!(o.stdout.contains("mem=1"), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
    assert!(o.stdout.contains("null=0"), "{o}");
}

#[test]
fn userns_container_joins_every_cgroup() {
    let root = StateRoot::new();
    let b = with_cgroup_ns(
        Bundle::new("cg-userns")
            .args(&["sh", "-c", "cat /proc/self/cgroup; exec sleep 100"])
            .modify(|v| {
                v["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "user"}));
                v["linux"]["uidMappings"] =
                    json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
                v["linux"]["gidMappings"] =
                    json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
            }),
    );
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let pid = c.pid().unwrap();
    // from the host: in the container's cgroup of every hierarchy before start
    assert_cgroup_lines(
        &read(format!("/proc/{pid}/cgroup")),
        &format!("/fastrun/{}", c.id()),
    );
    c.start().assert_success();
    wait_until("the init's output", || c.output().0.lines().count() >= 10);
    c.delete(true).assert_success();
    // from inside: the root of its own cgroup namespace
    assert_cgroup_lines(&c.output().0, "/");
    for h in HIERARCHIES {
        assert!(!cgroup_dir(h, c.id()).exists(), "cgroup left in {h}");
    }
}

#[test]
fn exec_joins_every_cgroup() {
    let root = StateRoot::new();
    let b = Bundle::new("cg-exec").args(&["sleep", "100"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let o = c.fastrun(&["exec", c.id(), "cat", "/proc/self/cgroup"]);
    o.assert_success();
    assert_cgroup_lines(&o.stdout, &format!("/fastrun/{}", c.id()));
    c.delete(true).assert_success();
}

#[test]
fn a_failed_self_join_falls_back_to_the_runtime() {
    // Test builds only: FASTRUN_TEST_BREAK_SELF_JOIN hands the init a read-only
    // `tasks` fd for the last hierarchy, so its own write fails for real.
    let root = StateRoot::new();
    let log = TempDir::new("cg-fallback-log-");
    let log_file = log.path().join("log.json");
    let b = with_cgroup_ns(Bundle::new("cg-fallback").args(&[
        "sh",
        "-c",
        "cat /proc/self/cgroup; exec sleep 100",
    ]));
    let c = Container::new(&root, &b);
    let mut cmd = root.command(&[
        "--debug",
        "--log",
        log_file.to_str().unwrap(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "--pid-file",
        b.pid_file().to_str().unwrap(),
        c.id(),
    ]);
    cmd.env("FASTRUN_TEST_BREAK_SELF_JOIN", "1");
    let out_file = log.path().join("create.out");
    run_cmd_to_files(cmd, log.path(), "create", TIMEOUT).assert_success();
    let pid = c.pid().unwrap();
    assert_cgroup_lines(
        &read(format!("/proc/{pid}/cgroup")),
        &format!("/fastrun/{}", c.id()),
    );
    let fell_back = |lines: &[Value]| {
        lines.iter().any(|l| {
            l["msg"]
                .as_str()
                .is_some_and(|m| m.contains("could not join its v1 cgroup"))
        })
    };
    assert!(fell_back(&log_lines(&log_file)), "no fallback in the log");
    // the same for an exec'd process
    let mut cmd = root.command(&[
        "--debug",
        "--log",
        log_file.to_str().unwrap(),
        "--log-format",
        "json",
        "exec",
        c.id(),
        "cat",
        "/proc/self/cgroup",
    ]);
    cmd.env("FASTRUN_TEST_BREAK_SELF_JOIN", "1");
    let o = run_cmd(cmd, None, TIMEOUT);
    o.assert_success();
    assert_cgroup_lines(&o.stdout, "/");
    assert!(
        log_lines(&log_file)
            .iter()
            .filter(|l| l["msg"]
                .as_str()
                .is_some_and(|m| m.contains("could not join its v1 cgroup")))
            .count()
            >= 2,
        "no fallback for exec in the log"
    );
    c.start().assert_success();
    wait_until("the init's output", || {
        std::fs::read_to_string(&out_file).is_ok_and(|s| s.lines().count() >= 10)
    });
    assert_cgroup_lines(&read(&out_file), "/");
    c.delete(true).assert_success();
    for h in HIERARCHIES {
        assert!(!cgroup_dir(h, c.id()).exists(), "cgroup left in {h}");
    }
}

// ---------------------------------------------------------------------------
// Pure cgroup v2: each fastrun invocation runs in a private mount namespace with a
// fresh cgroup2 mount over /sys/fs/cgroup. The cgroup2 hierarchy is the one the host
// shows at /sys/fs/cgroup/unified, so the host sees the same directories there.
// ---------------------------------------------------------------------------

pub(crate) const V2_WRAPPER: &str =
    "umount -R /sys/fs/cgroup 2>/dev/null; mount -t cgroup2 none /sys/fs/cgroup && exec \"$@\"";

fn v2(root: &StateRoot, args: &[&str]) -> Output {
    let mut c = Command::new("unshare");
    c.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        V2_WRAPPER,
        "sh",
    ])
    .arg(fastrun_bin())
    .arg("--root")
    .arg(root.path())
    .args(args);
    run_cmd(c, None, TIMEOUT)
}

/// A container driven through [`v2`]; on drop, deleted in the same view, its
/// processes killed, and its cgroup removed from the host view as a last resort.
struct V2Container<'a> {
    root: &'a StateRoot,
    bundle: &'a Bundle,
}

impl V2Container<'_> {
    fn id(&self) -> &str {
        self.bundle.id()
    }
    fn run(&self, args: &[&str]) -> Output {
        let mut a = args.to_vec();
        a.push(self.id());
        v2(self.root, &a)
    }
    fn status(&self) -> String {
        let o = self.run(&["state"]);
        o.assert_success();
        let v: Value = serde_json::from_str(&o.stdout).unwrap();
        v["status"].as_str().unwrap().to_string()
    }
    fn host_dir(&self) -> PathBuf {
        cgroup_dir("unified", self.id())
    }
}

impl Drop for V2Container<'_> {
    fn drop(&mut self) {
        let _ = self.run(&["delete", "--force"]);
        for p in marked_processes(self.id()) {
            // SAFETY: kill(2) with a pid and a signal; no memory is involved.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        if self.host_dir().exists() {
            let _ = std::fs::write(self.host_dir().join("cgroup.kill"), "1");
            std::thread::sleep(Duration::from_millis(100));
            let _ = std::fs::remove_dir(self.host_dir());
        }
    }
}

#[test]
fn exec_ignore_paused_starts_the_process_frozen_with_the_container() {
    // runc 1.1.5 hangs here: its exec'd process joins the frozen freezer cgroup
    // before it has exec'd, so the runtime waits forever for its setup (and
    // fastrun did the same, deaf to SIGTERM). The process now joins the freezer
    // once it has exec'd: `exec` returns, the process is frozen with the rest of
    // the container, and runs on resume.
    let root = StateRoot::new();
    let b = Bundle::new("cg-exec-paused").args(&["sleep", "100"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    root.fastrun(&["pause", c.id()]).assert_success();
    let pid_file = b.path().join("exec.pid");
    let o = root.fastrun(&[
        "exec",
        "--ignore-paused",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        c.id(),
        "sh",
        "-c",
        "echo ran > /dev/shm/exec-ran; sleep 100",
    ]);
    o.assert_success();
    assert!(!o.timed_out, "{o}");
    let pid = read(&pid_file);
    let freezer = cgroup_dir("freezer", c.id());
    wait_until("the exec'd process in the frozen freezer cgroup", || {
        read(freezer.join("cgroup.procs")).lines().any(|l| l == pid)
    });
    assert_eq!(read(freezer.join("freezer.state")), "FROZEN");
    wait_until("the exec'd process frozen", || {
        read(format!("/proc/{pid}/status"))
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("D ("))
    });
    // it joined the container's other cgroups too
    let cg = read(format!("/proc/{pid}/cgroup"));
    for h in ["memory", "pids", "devices"] {
        assert!(
            cg.lines()
                .any(|l| l.contains(h) && l.ends_with(&format!("/fastrun/{}", c.id()))),
            "{h}: {cg}"
        );
    }
    root.fastrun(&["resume", c.id()]).assert_success();
    let init = c.pid().unwrap();
    wait_until("the exec'd process ran after resume", || {
        std::fs::read_to_string(format!("/proc/{init}/root/dev/shm/exec-ran"))
            .is_ok_and(|t| t == "ran\n")
    });
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn cgroup_v2_exec_ignore_paused_is_refused_not_hung() {
    // On cgroup v2 a process is born frozen in a frozen cgroup, before its setup:
    // no way to exec it; refuse clearly instead of hanging (as runc does).
    let root = StateRoot::new();
    let b = Bundle::new("cg-v2-exec-paused").args(&["sleep", "100"]);
    let c = V2Container {
        root: &root,
        bundle: &b,
    };
    c.run(&["run", "--detach", "--bundle", b.path().to_str().unwrap()])
        .assert_success();
    c.run(&["pause"]).assert_success();
    let o = v2(&root, &["exec", "--ignore-paused", c.id(), "true"]);
    assert!(!o.timed_out, "{o}");
    o.assert_failure();
    assert!(
        o.stderr.contains("paused") && o.stderr.contains("cgroup v2"),
        "{o}"
    );
    assert_eq!(c.status(), "paused");
    c.run(&["resume"]).assert_success();
    v2(&root, &["exec", c.id(), "true"]).assert_success();
    c.run(&["delete", "--force"]).assert_success();
    assert!(!c.host_dir().exists());
    assert_no_leftovers(root.path(), c.id());
}

#[test]
fn cgroup_v2_clone_into_cgroup_freeze_kill_delete() {
    let root = StateRoot::new();
    let b = Bundle::new("cg-v2").args(&["sh", "-c", "sleep 100 & sleep 100 & wait"]);
    let c = V2Container {
        root: &root,
        bundle: &b,
    };
    let pid_file = b.pid_file();
    c.run(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
    ])
    .assert_success();
    let pid = read(&pid_file);
    // born in its v2 cgroup (CLONE_INTO_CGROUP); no v1 cgroup was made for it
    let cg = read(format!("/proc/{pid}/cgroup"));
    assert!(
        cg.lines().any(|l| l == format!("0::/fastrun/{}", c.id())),
        "{cg}"
    );
    for l in cg.lines().filter(|l| !l.starts_with("0::")) {
        assert!(!l.contains(c.id()), "v1 cgroup used on pure v2: {l}");
    }
    for h in HIERARCHIES.iter().filter(|h| **h != "unified") {
        assert!(!cgroup_dir(h, c.id()).exists(), "v1 cgroup made in {h}");
    }
    assert!(c.host_dir().is_dir());
    assert_eq!(c.status(), "created");
    c.run(&["start"]).assert_success();
    let ps = || -> Vec<i64> {
        let o = c.run(&["ps", "--format", "json"]);
        o.assert_success();
        serde_json::from_str::<Vec<i64>>(&o.stdout).unwrap()
    };
    wait_until("three processes", || ps().len() == 3);
    assert_eq!(c.status(), "running");

    // pause / resume through cgroup.freeze
    c.run(&["pause"]).assert_success();
    assert_eq!(c.status(), "paused");
    assert_eq!(read(c.host_dir().join("cgroup.freeze")), "1");
    assert!(read(c.host_dir().join("cgroup.events")).contains("frozen 1"));
    let o = c.run(&["pause"]);
    o.assert_failure();
    assert!(o.stderr.contains("it is paused, not running"), "{o}");
    c.run(&["resume"]).assert_success();
    assert_eq!(c.status(), "running");
    assert!(read(c.host_dir().join("cgroup.events")).contains("frozen 0"));

    // events --stats works with what this view has
    let o = c.run(&["events", "--stats"]);
    o.assert_success();
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["type"], "stats");

    // kill --all with SIGKILL goes through cgroup.kill
    v2(&root, &["kill", "--all", c.id(), "KILL"]).assert_success();
    wait_until("every process to exit", || ps().is_empty());
    wait_until("stopped", || c.status() == "stopped");
    c.run(&["delete"]).assert_success();
    assert!(!c.host_dir().exists());
    assert_no_leftovers(root.path(), c.id());
}

/// Runs `script` in a pure-v2 container that may mknod, with `rules` appended to its
/// `linux.resources.devices`; returns the output after checking nothing is left.
fn v2_devices_run(name: &str, rules: Value, script: &str) -> Output {
    let root = StateRoot::new();
    let b = Bundle::new(name).args(&["sh", "-c", script]).modify(|c| {
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_MKNOD"));
        }
        let devs = &mut c["linux"]["resources"]["devices"];
        if !devs.is_array() {
            *devs = json!([{"allow": false, "access": "rwm"}]);
        }
        devs.as_array_mut()
            .unwrap()
            .extend(rules.as_array().unwrap().iter().cloned());
    });
    let c = V2Container {
        root: &root,
        bundle: &b,
    };
    let o = c.run(&["run", "--bundle", b.path().to_str().unwrap()]);
    assert!(!c.host_dir().exists(), "v2 cgroup left: {o}");
    assert_no_leftovers(root.path(), c.id());
    o
}

/// /dev/net/tun's numbers: not among the default allowed devices, and opening it
/// needs no capability (only the device rules decide).
const TUN_SCRIPT: &str = "mknod /dev/xtun c 10 200 || exit 9
(exec 3</dev/xtun) && echo tun-r=ok
(exec 3<>/dev/xtun) && echo tun-rw=ok
echo x >/dev/null && echo null=ok
[ \"$(head -c 3 /dev/zero | wc -c)\" = 3 ] && echo zero=ok
true";

#[test]
fn cgroup_v2_device_program_is_attached_while_the_init_mounts() {
    // Pure v2: the device rules are a BPF program, whose load (the kernel's
    // verifier) costs ~100 µs. The runtime attaches it after the clone, while the
    // init makes its mounts, and the init waits for it before it makes any device
    // node (`init.wait_devices`); the rules still hold for the container's process
    // (`cgroup_v2_device_rules_are_enforced`).
    let root = StateRoot::new();
    let dir = TempDir::new("fastrun-trace-");
    let file = dir.path().join("trace.json");
    let b = Bundle::new("cg-v2-dev-late").args(&["true"]);
    let c = V2Container {
        root: &root,
        bundle: &b,
    };
    let o = c.run(&[
        "--trace",
        file.to_str().unwrap(),
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
    ]);
    o.assert_success();
    let lines = trace_lines(&file);
    let text = read(&file);
    let step = |name: &str| -> (u64, u64) {
        let l = lines
            .iter()
            .find(|l| l["step"] == name)
            .unwrap_or_else(|| panic!("no {name}: {text}"));
        let start = l["start_us"].as_u64().unwrap();
        (start, start + l["dur_us"].as_u64().unwrap())
    };
    let end = |name: &str| step(name).1;
    let start = |name: &str| step(name).0;
    assert!(
        end("spawn.prepare") <= end("cgroup.devices"),
        "after the clone: {text}"
    );
    assert!(end("cgroup.devices") <= end("init.wait_devices"), "{text}");
    assert!(end("init.wait_devices") <= start("init.devices"), "{text}");
    assert!(!c.host_dir().exists(), "v2 cgroup left: {o}");
    assert_no_leftovers(root.path(), c.id());
}

#[test]
fn cgroup_v2_device_rules_are_enforced() {
    // the defaults: /dev/null and /dev/zero work, mknod of any char device is
    // allowed, opening c 10:200 is refused
    let o = v2_devices_run("cg-v2-dev-deny", json!([]), TUN_SCRIPT);
    o.assert_success();
    assert!(o.stdout.contains("null=ok"), "{o}");
    assert!(o.stdout.contains("zero=ok"), "{o}");
    assert!(!o.stdout.contains("tun-r=ok"), "{o}");
    assert!(!o.stdout.contains("tun-rw=ok"), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");

    // allowed for rw by the spec
    let o = v2_devices_run(
        "cg-v2-dev-allow",
        json!([{"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}]),
        TUN_SCRIPT,
    );
    o.assert_success();
    assert!(o.stdout.contains("tun-r=ok"), "{o}");
    assert!(o.stdout.contains("tun-rw=ok"), "{o}");
    assert!(o.stdout.contains("null=ok"), "{o}");
    assert!(!o.stderr.contains("Operation not permitted"), "{o}");

    // read only: O_RDWR asks for more and is refused
    let o = v2_devices_run(
        "cg-v2-dev-ro",
        json!([{"allow": true, "type": "c", "major": 10, "minor": 200, "access": "r"}]),
        TUN_SCRIPT,
    );
    o.assert_success();
    assert!(o.stdout.contains("tun-r=ok"), "{o}");
    assert!(!o.stdout.contains("tun-rw=ok"), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
}

#[test]
fn cgroup_v2_bad_device_rule_leaves_nothing_behind() {
    let o = v2_devices_run(
        "cg-v2-dev-bad",
        // No r, w or m at all (other letters alone are ignored, as runc ignores them).
        json!([{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "xz"}]),
        "true",
    );
    o.assert_failure();
    assert!(o.stderr.contains("linux.resources.devices"), "{o}");
}

#[test]
fn cgroup_v2_limits_hold_from_the_inits_first_read() {
    // The limits and the device program are in place before the container's
    // process runs: its very first reads see them.
    let root = StateRoot::new();
    let b = Bundle::new("cg-v2-limits")
        .args(&[
            "sh",
            "-c",
            "cat /sys/fs/cgroup/hugetlb.2MB.max; \
             mknod /dev/xtun c 10 200 && (exec 3</dev/xtun) && echo tun-open",
        ])
        .modify(|c| {
            for set in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("CAP_MKNOD"));
            }
            c["linux"]["resources"] = json!({
                "devices": [{"allow": false, "access": "rwm"}],
                "unified": {"hugetlb.2MB.max": "4194304"},
            });
        });
    let c = V2Container {
        root: &root,
        bundle: &b,
    };
    let o = c.run(&["run", "--bundle", b.path().to_str().unwrap()]);
    assert!(o.stdout.starts_with("4194304\n"), "{o}");
    assert!(!o.stdout.contains("tun-open"), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
    assert!(!c.host_dir().exists(), "{o}");
    assert_no_leftovers(root.path(), c.id());
}

#[test]
fn cgroup_v2_limit_the_kernel_refuses_fails_the_create_and_leaves_nothing() {
    // Refused by the kernel, not by the config check: nothing is left.
    let root = StateRoot::new();
    let b = Bundle::new("cg-v2-refused").modify(|c| {
        c["linux"]["resources"] = json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "unified": {"hugetlb.2MB.max": "bogus"},
        });
    });
    let c = V2Container {
        root: &root,
        bundle: &b,
    };
    let o = c.run(&["run", "--bundle", b.path().to_str().unwrap()]);
    o.assert_failure();
    assert!(
        o.stderr.contains("hugetlb.2MB.max") && o.stderr.contains("Invalid argument"),
        "{o}"
    );
    assert!(!c.host_dir().exists(), "{o}");
    assert!(marked_processes(c.id()).is_empty(), "{o}");
    assert_no_leftovers(root.path(), c.id());
}
