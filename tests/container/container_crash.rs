//! Crash safety: `fastrun create` killed with SIGKILL at any point, then
//! `delete --force` must clean everything (state dir, cgroups, processes, mounts) and
//! be idempotent.
//!
//! Two sweeps: a deterministic one that kills the runtime on entry to each of its
//! system calls in turn (strace's `inject=SYSCALL:signal=KILL:when=N`, the runtime
//! only: the container's init is not traced), and one that kills it after a growing
//! delay. Every container gets a guard that force-deletes it and kills its processes
//! even when an assertion fails.

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// Whether the crash left nothing once `delete --force` ran twice. Processes of a
/// killed runtime may need a moment to notice and exit: wait a little for those.
#[track_caller]
fn force_delete_cleans_up(root: &StateRoot, id: &str, what: &str) {
    for round in 1..=2 {
        let o = root.fastrun(&["delete", "--force", id]);
        assert_eq!(o.status, Some(0), "{what}: delete --force #{round}: {o}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = leftovers(root.path(), id);
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: left behind after delete --force:\n  {}",
            left.join("\n  ")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The system calls `fastrun create` makes, as (name, occurrence) pairs in order.
fn syscall_points(root: &StateRoot) -> Vec<(String, usize)> {
    let b = Bundle::new("probe").args(&["sleep", "60"]);
    let trace = b.path().join("trace.txt");
    let _guard = Container::new(root, &b);
    let mut c = Command::new("strace");
    c.arg("-o")
        .arg(&trace)
        .arg(fastrun_bin())
        .arg("--root")
        .arg(root.path())
        .args(["create", "--bundle"])
        .arg(b.path())
        .arg("--pid-file")
        .arg(b.pid_file())
        .arg(b.id());
    run_cmd_to_files(c, b.path(), "strace", TIMEOUT).assert_success();
    let text = std::fs::read_to_string(&trace).unwrap();
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut points = Vec::new();
    for line in text.lines() {
        let Some((name, _)) = line.split_once('(') else {
            continue;
        };
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            continue;
        }
        let n = seen.entry(name.to_string()).or_default();
        *n += 1;
        points.push((name.to_string(), *n));
    }
    points
}

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn killed_at_every_system_call_of_create() {
    if !strace_available() {
        eprintln!("skipping: strace is not installed (.ci/setup installs it)");
        return;
    }
    let root = StateRoot::new();
    let points = syscall_points(&root);
    assert!(points.len() > 50, "too few system calls traced: {points:?}");
    let (mut killed, mut completed) = (0, 0);
    for (name, n) in &points {
        let b = Bundle::new("crash").args(&["sleep", "60"]);
        let _guard = Container::new(&root, &b);
        let mut c = Command::new("strace");
        c.args(["-o", "/dev/null", "-e"])
            .arg(format!("inject={name}:signal=KILL:when={n}"))
            .arg(fastrun_bin())
            .arg("--root")
            .arg(root.path())
            .args(["create", "--bundle"])
            .arg(b.path())
            .arg("--pid-file")
            .arg(b.pid_file())
            .arg(b.id());
        let o = run_cmd_to_files(c, b.path(), "create", TIMEOUT);
        assert!(!o.timed_out, "{o}");
        if o.success() {
            completed += 1;
        } else {
            killed += 1;
        }
        force_delete_cleans_up(&root, b.id(), &format!("killed at {name} #{n}"));
    }
    eprintln!(
        "{} kill points: {killed} creates killed, {completed} completed",
        points.len()
    );
    assert!(killed > 0, "strace never killed the runtime");
}

#[test]
fn killed_after_a_growing_delay() {
    let root = StateRoot::new();
    let (mut killed, mut completed) = (0, 0);
    for i in 0..40u64 {
        let b = Bundle::new("crashdelay").args(&["sleep", "60"]);
        let _guard = Container::new(&root, &b);
        let mut c = root.command(&[
            "create",
            "--bundle",
            b.path().to_str().unwrap(),
            "--pid-file",
            b.pid_file().to_str().unwrap(),
            b.id(),
        ]);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = c.spawn().unwrap();
        std::thread::sleep(Duration::from_micros(i * 250));
        // SAFETY: kill(2) of our own child, not yet reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let status = child.wait().unwrap();
        if status.success() {
            completed += 1;
        } else {
            killed += 1;
        }
        force_delete_cleans_up(&root, b.id(), &format!("killed after {} µs", i * 250));
    }
    eprintln!("delay sweep: {killed} creates killed, {completed} completed");
}

#[test]
fn run_killed_while_the_container_runs() {
    // `run` is the container's only waiter: SIGKILL to it must not leave the state
    // un-deletable.
    let root = StateRoot::new();
    let b = Bundle::new("runkilled").args(&["sleep", "60"]);
    let _guard = Container::new(&root, &b);
    let mut cmd = root.command(&[
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        "--pid-file",
        b.pid_file().to_str().unwrap(),
        b.id(),
    ]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let killed = std::panic::catch_unwind(|| {
        wait_until("the pid file", TIMEOUT, || b.pid_file().exists());
    });
    // SAFETY: kill(2) of our own child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    if let Err(e) = killed {
        std::panic::resume_unwind(e);
    }
    let init = std::fs::read_to_string(b.pid_file()).unwrap();
    let init: i32 = init.trim().parse().unwrap();
    force_delete_cleans_up(&root, b.id(), "run killed");
    assert!(
        !process_alive(init),
        "the container survived delete --force"
    );
}
