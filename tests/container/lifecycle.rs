//! A real container through the CLI: create → state → start → kill → delete, and
//! `run`, with the leak checks of the harness. (More in container_*.rs.)

use crate::common;

use std::time::Duration;

use common::*;

#[test]
fn create_start_kill_delete() {
    let root = StateRoot::new();
    let bundle = Bundle::new("life").args(&["sleep", "60"]);
    let c = Container::new(&root, &bundle);
    let o = c.create();
    o.assert_success();
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "create printed: {o}"
    );
    let st = c.state_json();
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], c.id());
    assert_eq!(st["pid"].as_i64(), c.pid().map(i64::from));
    c.start().assert_success();
    c.wait_status("running", Duration::from_secs(10));
    c.kill("KILL").assert_success();
    c.wait_status("stopped", Duration::from_secs(10));
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn run_returns_the_exit_status() {
    let root = StateRoot::new();
    let bundle = Bundle::new("run").args(&["sh", "-c", "echo out; exit 7"]);
    let c = Container::new(&root, &bundle);
    let o = c.run();
    assert_eq!(o.status, Some(7), "{o}");
    assert_eq!(o.stdout, "out\n");
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

/// `linux.sysctl` is written although `readonlyPaths` has /proc/sys (runc's order:
/// sysctls, then masks and read-only paths). podman sets
/// net.ipv4.ping_group_range on every container.
#[test]
fn sysctl_with_readonly_proc_sys() {
    let root = StateRoot::new();
    let bundle = Bundle::new("sysctl")
        .args(&[
            "sh",
            "-c",
            "cat /proc/sys/net/ipv4/ping_group_range; echo 1 > /proc/sys/net/ipv4/ip_forward || echo ro",
        ])
        .modify(|v| {
            v["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ping_group_range": "0 0"});
            let ro = v["linux"]["readonlyPaths"].as_array().cloned().unwrap_or_default();
            assert!(ro.iter().any(|p| p == "/proc/sys"), "spec: {ro:?}");
        });
    let c = Container::new(&root, &bundle);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert_eq!(
        o.stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "ro"],
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

/// An exec that the kernel refuses after the commit (E2BIG: argv and env must fit
/// in a quarter of RLIMIT_STACK, with a floor of 128 KiB) is reported by `run` with
/// its reason, not as a silent exit status 127.
#[test]
fn run_reports_an_exec_the_kernel_refuses() {
    let root = StateRoot::new();
    let long = "x".repeat(100_000);
    let bundle = Bundle::new("run-e2big")
        .args(&["echo", &long, &long])
        .modify(|v| {
            v["process"]["rlimits"] = serde_json::json!([
                {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
                {"type": "RLIMIT_STACK", "hard": 16384, "soft": 16384}
            ]);
        });
    let c = Container::new(&root, &bundle);
    let o = c.run();
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr.contains("exec: \"echo\": argument list too long"),
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}
