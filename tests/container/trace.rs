//! `fastrun --trace FILE`: one JSON line per step of create/start/run/exec/delete,
//! the container process's own steps included, tiling the operation's time.

use crate::common;

use common::*;
use serde_json::Value;

/// The lines of operation number `n` (0-based) in the file: each ends with `total`.
fn op(lines: &[Value], n: usize) -> Vec<Value> {
    lines
        .split_inclusive(|l| l["step"] == "total")
        .nth(n)
        .unwrap_or_else(|| panic!("no operation {n} in {lines:#?}"))
        .to_vec()
}

/// Checks one operation's lines: its name and id on each, the steps of `want` in
/// this order (others may come between), `init.*` steps made by the init, starts
/// that follow each other, and durations that add up to the total.
#[track_caller]
fn check(lines: &[Value], name: &str, id: &str, want: &[&str]) {
    let steps: Vec<&str> = lines.iter().map(|l| l["step"].as_str().unwrap()).collect();
    for l in lines {
        assert_eq!(l["op"], name, "{l}");
        assert_eq!(l["id"], id, "{l}");
        let by = l["by"].as_str().unwrap();
        let step = l["step"].as_str().unwrap();
        assert_eq!(by == "init", step.starts_with("init."), "{l}");
        assert!(l["start_us"].is_u64() && l["dur_us"].is_u64(), "{l}");
    }
    let mut at = 0;
    for w in want {
        match steps[at..].iter().position(|s| s == w) {
            Some(i) => at += i + 1,
            None => panic!("step {w} missing or out of order in {steps:?}"),
        }
    }
    let total = lines.last().unwrap();
    assert_eq!(total["step"], "total");
    assert_eq!(total["ok"], true, "{total}");
    assert!(total["start_unix_us"].as_u64().unwrap() > 1_700_000_000_000_000);
    let body = &lines[..lines.len() - 1];
    let mut next = 0;
    for l in body {
        assert_eq!(
            l["start_us"].as_u64().unwrap(),
            next,
            "steps must tile: {l}"
        );
        next += l["dur_us"].as_u64().unwrap();
    }
    let sum: u64 = body.iter().map(|l| l["dur_us"].as_u64().unwrap()).sum();
    let total = total["dur_us"].as_u64().unwrap();
    assert!(total > 0 && sum <= total, "sum {sum} total {total}");
    assert!(
        (total - sum) * 10 <= total,
        "steps cover {sum} of {total} µs: {steps:?}"
    );
    assert!(
        body.iter()
            .filter(|l| l["dur_us"].as_u64().unwrap() > 0)
            .count()
            * 2
            > body.len(),
        "most steps take time: {lines:#?}"
    );
}

/// What the runtime and the init do for a new container, in order.
/// (`netns.*`: only where a helper thread can run beside the runtime, see
/// [`create_steps`].)
const CREATE_STEPS: &[&str] = &[
    "parse",
    // a thread makes the new network namespace meanwhile (spawn::netns)
    "netns.start",
    "cgroup.plan",
    "state.create",
    "cgroup.create",
    "cgroup.apply",
    "cgroup.open",
    "plan",
    "netns.wait",
    "spawn.prepare",
    "init.cgroup_join",
    "init.namespaces",
    "init.mounts",
    "init.devices",
    "init.masks",
    "init.switch_root",
    "init.process",
    "init.identity",
    "spawn.ready",
    "state.save",
];

/// [`CREATE_STEPS`] on this host: the network namespace is made beside the
/// runtime's work only when it may run on more than one CPU.
fn create_steps() -> Vec<&'static str> {
    let mut steps = CREATE_STEPS.to_vec();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        steps.retain(|s| !s.starts_with("netns."));
    }
    steps
}

#[test]
fn run_is_traced_from_parse_to_the_last_rmdir() {
    let root = StateRoot::new();
    let dir = TempDir::new("fastrun-trace-");
    let file = dir.path().join("trace.json");
    let b = Bundle::new("trace-run");
    let o = root.fastrun(&[
        "--trace",
        file.to_str().unwrap(),
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        b.id(),
    ]);
    o.assert_success();
    let lines = trace_lines(&file);
    let mut want = create_steps();
    want.extend([
        // The init waits for the commit as the sealed stub (no steps of its own).
        "commit",
        "exec",
        "container",
        "cgroup.rmdir",
        "state.remove",
    ]);
    check(&lines, "run", b.id(), &want);
    // The init had its own pid namespace: nothing can be left in its cgroup, so
    // the rmdirs alone remove it, with no scan of every hierarchy for processes.
    assert!(
        !lines.iter().any(|l| l["step"] == "cgroup.kill"),
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap()["step"], "total");
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn lifecycle_and_exec_are_traced() {
    let root = StateRoot::new();
    let dir = TempDir::new("fastrun-trace-");
    let file = dir.path().join("trace.json");
    let f = file.to_str().unwrap();
    let b = Bundle::new("trace-life").args(&["sleep", "100"]);
    let c = Container::new(&root, &b);
    let mut cmd = root.command(&[
        "--trace",
        f,
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        c.id(),
    ]);
    cmd.stdin(std::process::Stdio::null());
    run_cmd_to_files(cmd, dir.path(), "create", TIMEOUT).assert_success();
    root.fastrun(&["--trace", f, "start", c.id()])
        .assert_success();
    root.fastrun(&["--trace", f, "exec", c.id(), "true"])
        .assert_success();
    root.fastrun(&["--trace", f, "delete", "--force", c.id()])
        .assert_success();
    let lines = trace_lines(&file);
    let mut create = create_steps();
    create.push("commit");
    check(&op(&lines, 0), "create", c.id(), &create);
    check(
        &op(&lines, 1),
        "start",
        c.id(),
        &["state.load", "status", "start.fifo", "state.fifo_remove"],
    );
    check(
        &op(&lines, 2),
        "exec",
        c.id(),
        &[
            "state.load",
            "parse",
            "plan",
            "cgroup.open",
            "spawn.prepare",
            "init.cgroup_join",
            "init.namespaces",
            "init.identity",
            "spawn.ready",
            "commit",
            "exec",
            "process",
        ],
    );
    check(
        &op(&lines, 3),
        "delete",
        c.id(),
        &[
            "state.load",
            "kill",
            "cgroup.rmdir",
            "state.remove",
            "state.unlock",
        ],
    );
    assert_eq!(lines.iter().filter(|l| l["step"] == "total").count(), 4);
}
