//! fastrun under the real podman (Debian's 4.3, with conmon), with private storage
//! and `--runtime <fastrun>` or a `containers.conf` runtimes table (see
//! `tests/e2e/mod.rs`).

use crate::common;
use crate::e2e;

use std::path::Path;
use std::time::Duration;

use e2e::*;

#[test]
fn podman_run_rm_output_and_exit_code() {
    let p = Podman::new(PodmanRuntime::Flag);
    let o = p.run(&["--rm"], &["sh", "-c", "echo hello from fastrun; id -u"]);
    o.assert_success();
    assert_eq!(o.stdout, "hello from fastrun\n0\n", "{o}");

    let o = p.run(&["--rm"], &["sh", "-c", "echo to-stderr >&2; exit 7"]);
    assert_eq!(o.status, Some(7), "{o}");
    assert!(o.stderr.contains("to-stderr"), "{o}");

    // podman's default sysctl (net.ipv4.ping_group_range) reached the container.
    let o = p.run(&["--rm"], &["cat", "/proc/sys/net/ipv4/ping_group_range"]);
    o.assert_success();
    assert_eq!(
        o.stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "0"],
        "{o}"
    );

    // A bad command: conmon reports fastrun's message, podman exits 127.
    let o = p.run(&["--rm"], &["/nonexistent"]);
    assert_eq!(o.status, Some(127), "{o}");
    assert!(o.stderr.contains("exec: \"/nonexistent\""), "{o}");
    assert!(p.container_ids().is_empty());
}

#[test]
fn podman_run_tty() {
    let p = Podman::new(PodmanRuntime::Flag);
    let o = p.run_tty(
        &["--rm"],
        &["sh", "-c", "tty; test -t 0 && echo stdin-tty; exit 5"],
    );
    assert_eq!(o.status, Some(5), "{o}");
    // Through two terminals (the container's and script's): \r\r\n line ends.
    let out = o.stdout.replace('\r', "");
    assert!(out.contains("/dev/pts/0\nstdin-tty\n"), "{o}");
}

#[test]
fn podman_detached_exec_top_kill_stop_start_restart_rm() {
    let p = Podman::new(PodmanRuntime::Flag);
    p.run(&["-d", "--name", "n1"], &["sleep", "1000"])
        .assert_success();
    let id = p.inspect("n1", "{{.Id}}");
    assert!(
        Path::new(FASTRUN_DEFAULT_ROOT).join(&id).is_dir(),
        "fastrun's state for {id} (podman passes no --root)"
    );
    let pid: i32 = p.inspect("n1", "{{.State.Pid}}").parse().unwrap();
    assert!(pid > 0);

    let o = p.podman(&[
        "exec",
        "n1",
        "sh",
        "-c",
        "echo ex-$((6*7)); cat /proc/1/cmdline; exit 3",
    ]);
    assert_eq!(o.status, Some(3), "{o}");
    assert_eq!(o.stdout, "ex-42\nsleep\u{0}1000\u{0}", "{o}");

    let o = p.script(&["exec".into(), "-t".into(), "n1".into(), "tty".into()]);
    o.assert_success();
    assert!(o.stdout.contains("/dev/pts/"), "{o}");

    let o = p.podman(&["top", "n1"]);
    o.assert_success();
    assert!(o.stdout.contains("sleep 1000"), "{o}");

    p.podman(&["kill", "-s", "KILL", "n1"]).assert_success();
    wait_for("n1 to exit", Duration::from_secs(20), || {
        p.inspect("n1", "{{.State.Running}}") == "false"
    });
    assert_eq!(p.inspect("n1", "{{.State.ExitCode}}"), "137");

    p.podman(&["start", "n1"]).assert_success();
    assert_eq!(p.inspect("n1", "{{.State.Running}}"), "true");
    let pid2: i32 = p.inspect("n1", "{{.State.Pid}}").parse().unwrap();
    assert_ne!(pid, pid2);

    // sleep as pid 1 ignores SIGTERM: stop ends in SIGKILL after the timeout.
    p.podman(&["stop", "-t", "1", "n1"]).assert_success();
    assert_eq!(p.inspect("n1", "{{.State.Running}}"), "false");
    assert_eq!(p.inspect("n1", "{{.State.ExitCode}}"), "137");

    p.podman(&["start", "n1"]).assert_success();
    let pid3: i32 = p.inspect("n1", "{{.State.Pid}}").parse().unwrap();
    p.podman(&["restart", "-t", "1", "n1"]).assert_success();
    assert_eq!(p.inspect("n1", "{{.State.Running}}"), "true");
    let pid4: i32 = p.inspect("n1", "{{.State.Pid}}").parse().unwrap();
    assert_ne!(pid3, pid4);

    p.podman(&["rm", "-f", "-t", "0", "n1"]).assert_success();
    assert!(p.container_ids().is_empty());
    assert!(!Path::new(FASTRUN_DEFAULT_ROOT).join(&id).exists());
    assert!(cgroup_dirs(&format!("{}/libpod-{id}", p.cgroup_parent)).is_empty());
}

#[test]
fn podman_pause_unpause_update() {
    let p = Podman::new(PodmanRuntime::Flag);
    p.run(&["-d", "--name", "n1"], &["sleep", "1000"])
        .assert_success();
    let id = p.inspect("n1", "{{.Id}}");
    p.podman(&["pause", "n1"]).assert_success();
    assert_eq!(p.inspect("n1", "{{.State.Status}}"), "paused");
    p.podman(&["unpause", "n1"]).assert_success();
    assert_eq!(p.inspect("n1", "{{.State.Status}}"), "running");

    p.podman(&["update", "--memory", "64m", "n1"])
        .assert_success();
    let limit = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory{}/libpod-{id}/memory.limit_in_bytes",
        p.cgroup_parent
    ))
    .unwrap();
    assert_eq!(limit.trim(), (64 << 20).to_string());
}

#[test]
fn podman_pid_host() {
    let p = Podman::new(PodmanRuntime::Flag);
    let host_init = std::fs::read_to_string("/proc/1/cmdline").unwrap();
    let o = p.run(&["--rm", "--pid", "host"], &["cat", "/proc/1/cmdline"]);
    o.assert_success();
    assert_eq!(o.stdout, host_init, "{o}");
}

#[test]
fn podman_rootfs_dir() {
    let p = Podman::new(PodmanRuntime::Flag);
    let rootfs = p.dir().join("rootfs");
    common::build_rootfs(&rootfs).unwrap();
    std::fs::write(rootfs.join("marker"), "from the rootfs dir\n").unwrap();
    let o = p.run(
        &["--rm", "--rootfs", rootfs.to_str().unwrap()],
        &["cat", "/marker"],
    );
    o.assert_success();
    assert_eq!(o.stdout, "from the rootfs dir\n", "{o}");
}

#[test]
fn podman_init() {
    let p = Podman::new(PodmanRuntime::Flag);
    let o = p.run(
        &["--rm", "--init"],
        &["sh", "-c", "cat /proc/1/cmdline; echo; echo $$"],
    );
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines[0].starts_with("/run/podman-init\0"), "{o}");
    assert_ne!(lines[1], "1", "{o}");
}

/// `--preserve-fds 1`: fd 3 reaches the container, fd 4 (and conmon's pipes) do not.
#[test]
fn podman_preserve_fds() {
    let p = Podman::new(PodmanRuntime::Flag);
    let f3 = p.dir().join("fd3");
    std::fs::write(&f3, "through fd 3\n").unwrap();
    let mut args = vec!["run".to_string()];
    args.extend(p.container_flags());
    args.extend(
        [
            "--rm",
            "--preserve-fds",
            "1",
            IMAGE,
            "sh",
            "-c",
            "cat <&3; for f in 4 5 6 7 8 9; do test -e /proc/self/fd/$f && echo leaked-$f; done; true",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let o = p.shell(&args, &format!("3<'{}' 4<'{}'", f3.display(), f3.display()));
    o.assert_success();
    assert_eq!(o.stdout, "through fd 3\n", "{o}");
}

/// The containers.conf route: `[engine] runtime = "fastrun"` and
/// `[engine.runtimes] fastrun = ["/path/to/fastrun"]`, no `--runtime` flag.
#[test]
fn podman_containers_conf_runtimes_table() {
    let p = Podman::new(PodmanRuntime::RuntimesTable);
    p.run(&["-d", "--name", "t1"], &["sleep", "1000"])
        .assert_success();
    assert_eq!(p.inspect("t1", "{{.OCIRuntime}}"), "fastrun");
    let id = p.inspect("t1", "{{.Id}}");
    assert!(Path::new(FASTRUN_DEFAULT_ROOT).join(&id).is_dir());
    let o = p.podman(&["exec", "t1", "echo", "exec through the table"]);
    o.assert_success();
    assert_eq!(o.stdout, "exec through the table\n");
    p.podman(&["rm", "-f", "-t", "0", "t1"]).assert_success();
    assert!(!Path::new(FASTRUN_DEFAULT_ROOT).join(&id).exists());
    let o = p.run(&["--rm"], &["sh", "-c", "exit 9"]);
    assert_eq!(o.status, Some(9), "{o}");
}
