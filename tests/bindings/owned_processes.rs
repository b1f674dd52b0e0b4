//! The processes the engine owns for an embedding host, through the Rust API
//! (`Context::create_owned`, `wait`, `init_pidfd`, `exec_detached`): the exit status
//! of an init is returned and recorded, and the host's own children are never reaped
//! by the engine's reaper (libfastrun's C and Go tests cover the same through their
//! bindings).

use crate::common;

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::*;
use fastrun_runtime::{Context, CreateOptions, ExecOptions, SpawnMode, Status};

fn opts(b: &Bundle) -> CreateOptions {
    CreateOptions {
        bundle: b.path().to_path_buf(),
        ..Default::default()
    }
}

/// In both spawn modes (the vfork-style one shares this process's memory).
#[test]
fn wait_returns_the_exit_status_and_state_records_it() {
    for mode in [SpawnMode::Fork, SpawnMode::SharedVm] {
        wait_and_state(mode);
    }
}

fn wait_and_state(mode: SpawnMode) {
    let root = StateRoot::new();
    let mut ctx = Context::new(root.path());
    ctx.spawn = mode;
    let b = Bundle::new("owned-wait").args(&["sh", "-c", "sleep 0.2; exit 42"]);
    let id = b.id().to_string();
    ctx.create_owned(&id, &opts(&b)).expect("create");
    assert_eq!(ctx.wait(&id, Some(Duration::ZERO)).unwrap(), None);
    let fd = ctx.init_pidfd(&id).expect("pidfd");
    ctx.start(&id).expect("start");
    assert_eq!(ctx.wait(&id, None).unwrap(), Some(42));
    assert_eq!(ctx.wait(&id, Some(Duration::ZERO)).unwrap(), Some(42));
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 1);
    let st = ctx.state(&id).unwrap();
    assert_eq!((st.status, st.exit_status), (Status::Stopped, Some(42)));
    assert!(
        st.to_json().contains("\"exitStatus\": 42"),
        "{}",
        st.to_json()
    );
    // Another process (the CLI) sees the recorded status too.
    let o = root.fastrun(&["state", &id]);
    o.assert_success();
    assert!(o.stdout.contains("\"exitStatus\": 42"), "{o}");
    ctx.delete(&id, false).unwrap();
    assert!(ctx.wait(&id, Some(Duration::ZERO)).is_err());
    assert_no_leftovers(root.path(), &id);
}

/// The reaper reaps only what the engine started: the host's own child, exiting while
/// the reaper is busy with containers, is still the host's to wait for.
#[test]
fn the_hosts_own_children_are_not_reaped() {
    let root = StateRoot::new();
    let ctx = Context::new(root.path());
    let b = Bundle::new("owned-host").args(&["sh", "-c", "exit 1"]);
    let id = b.id().to_string();
    ctx.create_owned(&id, &opts(&b)).expect("create");
    let mut own = std::process::Command::new("sh")
        .args(["-c", "exit 9"])
        .spawn()
        .unwrap();
    ctx.start(&id).unwrap();
    assert_eq!(ctx.wait(&id, None).unwrap(), Some(1));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(own.wait().unwrap().code(), Some(9));
    ctx.delete(&id, false).unwrap();
    assert_no_leftovers(root.path(), &id);
}

/// exec_detached: reaped by the engine with `reap`, else the caller's (its pidfd).
#[test]
fn detached_exec_pid_and_pidfd() {
    let root = StateRoot::new();
    let ctx = Context::new(root.path());
    let b = Bundle::new("owned-exec").args(&["sleep", "60"]);
    let id = b.id().to_string();
    ctx.create_owned(&id, &opts(&b)).expect("create");
    ctx.start(&id).unwrap();
    let eo = ExecOptions {
        args: vec!["sh".into(), "-c".into(), "exit 5".into()],
        ..Default::default()
    };
    let (pid, fd) = ctx.exec_detached(&id, &eo, false).unwrap();
    // SAFETY: siginfo_t is plain data; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: P_PIDFD (3) on our pidfd, a valid out-pointer.
    let r = unsafe { libc::waitid(3, fd.as_raw_fd() as libc::id_t, &mut info, libc::WEXITED) };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    // SAFETY: set by the successful waitid.
    assert_eq!(unsafe { (info.si_pid(), info.si_status()) }, (pid, 5));

    let (pid, _fd) = ctx.exec_detached(&id, &eo, true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_alive(pid) || std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "exec'd process {pid} not reaped");
        std::thread::sleep(Duration::from_millis(5));
    }
    ctx.kill(&id, libc::SIGKILL, false).unwrap();
    assert_eq!(
        ctx.wait(&id, Some(Duration::from_secs(5))).unwrap(),
        Some(137)
    );
    ctx.delete(&id, false).unwrap();
    assert_no_leftovers(root.path(), &id);
}
