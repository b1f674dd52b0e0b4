//! `linux.seccomp` with real containers: filters are enforced inside, bad profiles
//! fail cleanly, docker's default profile runs busybox, and a notify listener gets
//! the fd and answers a notification.

use crate::common;

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn with_seccomp(b: Bundle, s: Value) -> Bundle {
    b.modify(|c| c["linux"]["seccomp"] = s)
}

fn deny_mkdir() -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
    })
}

const MKDIR_THEN_TOUCH: &str =
    "mkdir /dev/shm/x || echo mkdir-failed; touch /dev/shm/y && echo touched; test -d /dev/shm/x || echo no-dir";

#[test]
fn denied_mkdir_fails_with_eperm_and_the_rest_works() {
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-mkdir").args(&["sh", "-c", MKDIR_THEN_TOUCH]),
        deny_mkdir(),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
    assert_eq!(o.stdout, "mkdir-failed\ntouched\nno-dir\n", "{o}");
    drop(c);
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn without_no_new_privileges_the_filter_is_loaded_before_dropping_caps() {
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-nnp")
            .args(&["sh", "-c", MKDIR_THEN_TOUCH])
            .modify(|c| {
                c["process"]["noNewPrivileges"] = json!(false);
                // The default capability set has no CAP_SYS_ADMIN: loading after
                // dropping capabilities would fail with EACCES.
                let caps = c["process"]["capabilities"]["effective"].to_string();
                assert!(!caps.contains("CAP_SYS_ADMIN"), "{caps}");
            }),
        deny_mkdir(),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
    assert_eq!(o.stdout, "mkdir-failed\ntouched\nno-dir\n", "{o}");
    drop(c);
    assert_no_leftovers(root.path(), b.id());
}

/// Docker's default profile (from the benchmark fixture).
fn docker_profile() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/fixtures/large-config.json"
    );
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["linux"]["seccomp"].clone()
}

#[test]
fn docker_default_profile_runs_busybox() {
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-docker").args(&[
            "sh",
            "-c",
            "ls / >/dev/null && mkdir /dev/shm/d && ps >/dev/null && id -u && echo ok",
        ]),
        docker_profile(),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert_eq!(o.stdout, "0\nok\n", "{o}");
    // Twice: the second start reads the compiled filter from the cache.
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    drop(c);
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn default_errno_ret_is_returned_for_unlisted_syscalls() {
    // Docker's profile without mkdir/mkdirat: they fall to the default action,
    // here with EPROTO instead of EPERM.
    let mut p = docker_profile();
    p["defaultErrnoRet"] = json!(libc::EPROTO);
    for rule in p["syscalls"].as_array_mut().unwrap() {
        rule["names"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n != "mkdir" && n != "mkdirat");
    }
    p["syscalls"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["names"].as_array().unwrap().is_empty());
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-errno").args(&["sh", "-c", MKDIR_THEN_TOUCH]),
        p,
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert!(o.stderr.contains("Protocol error"), "{o}");
    assert_eq!(o.stdout, "mkdir-failed\ntouched\nno-dir\n", "{o}");
}

#[test]
fn argument_conditions_select_by_value() {
    // personality(PER_LINUX32 = 8) denied, personality(PER_LINUX = 0) allowed.
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-args").args(&[
            "sh",
            "-c",
            "busybox linux64 echo ok64; busybox linux32 echo ok32 || echo denied32",
        ]),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{
                "names": ["personality"],
                "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]
            }]
        }),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert_eq!(o.stdout, "ok64\ndenied32\n", "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
}

#[test]
fn a_profile_denying_execveat_still_starts_through_the_trampoline() {
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-execveat").args(&["echo", "started"]),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]
        }),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert_eq!(o.stdout, "started\n");
    // And with create/start (the filter is loaded before the exec fifo wait).
    let b2 = with_seccomp(
        Bundle::new("sc-execveat2").args(&["sleep", "30"]),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_KILL_PROCESS"}]
        }),
    );
    let c2 = Container::new(&root, &b2);
    c2.create().assert_success();
    c2.start().assert_success();
    c2.wait_status("running", Duration::from_secs(10));
    c2.kill("KILL").assert_success();
    c2.wait_status("stopped", Duration::from_secs(10));
    c2.delete(false).assert_success();
    c2.assert_no_leftovers();
}

fn assert_rejected(name: &str, s: Value, expect: &str) {
    let root = StateRoot::new();
    let b = with_seccomp(Bundle::new(name), s);
    let c = Container::new(&root, &b);
    for o in [c.create(), c.run()] {
        assert_eq!(o.status, Some(1), "{o}");
        assert!(o.stderr.contains(expect), "want {expect:?}: {o}");
        assert_no_leftovers(root.path(), b.id());
    }
}

#[test]
fn unknown_action_is_a_clear_error() {
    assert_rejected(
        "sc-badact",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_DENY"}]
        }),
        "linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_DENY\"",
    );
}

#[test]
fn missing_listener_is_a_clear_error() {
    let dir = TempDir::new("fastrun-sc-nolistener-");
    let path = dir.path().join("absent.sock");
    assert_rejected(
        "sc-nolisten",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": path,
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]
        }),
        "linux.seccomp.listenerPath: connect to",
    );
}

// --- SCMP_ACT_NOTIFY --------------------------------------------------------

/// `struct seccomp_notif` (80 bytes) and `struct seccomp_notif_resp` (24 bytes).
#[repr(C)]
#[derive(Default)]
struct Notif {
    id: u64,
    pid: u32,
    flags: u32,
    nr: i32,
    arch: u32,
    ip: u64,
    args: [u64; 6],
}
#[repr(C)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}
// _IOWR('!', 0, struct seccomp_notif), _IOWR('!', 1, struct seccomp_notif_resp).
const NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const NOTIF_SEND: libc::c_ulong = 0xc018_2101;

/// Accept one connection and take the state JSON and the notify fd.
fn receive_state_and_fd(l: UnixListener) -> (Value, OwnedFd) {
    let (conn, _) = l.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut cbuf = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
    // SAFETY: buffers live across the call.
    let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel wrote one SCM_RIGHTS header into cbuf.
    let fd = unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null(), "no fd came with the state");
        assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
        OwnedFd::from_raw_fd(std::ptr::read_unaligned(
            libc::CMSG_DATA(c) as *const libc::c_int
        ))
    };
    let mut data = buf[..n as usize].to_vec();
    // The rest of the JSON, if the stream split it.
    let mut rest = Vec::new();
    let mut conn = conn;
    let _ = conn.read_to_end(&mut rest);
    data.extend(rest);
    let state: Value = serde_json::from_slice(&data).unwrap();
    (state, fd)
}

/// Accept one connection, take the state JSON and the fd, answer one notification
/// with success (without doing the syscall); returns (state, syscall number).
fn listen_once(l: UnixListener) -> (Value, i32) {
    let (state, fd) = receive_state_and_fd(l);
    let mut req = Notif::default();
    // SAFETY: a notify fd and a zeroed struct of the kernel's size.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV, &mut req as *mut Notif) };
    assert_eq!(r, 0, "NOTIF_RECV: {}", std::io::Error::last_os_error());
    let resp = NotifResp {
        id: req.id,
        val: 0,
        error: 0,
        flags: 0,
    };
    // SAFETY: as above, with the response struct.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_SEND, &resp as *const NotifResp) };
    assert_eq!(r, 0, "NOTIF_SEND: {}", std::io::Error::last_os_error());
    (state, req.nr)
}

#[test]
fn notify_listener_gets_the_fd_and_answers() {
    let dir = TempDir::new("fastrun-sc-listener-");
    let path = dir.path().join("listener.sock");
    let l = UnixListener::bind(&path).unwrap();
    let listener = std::thread::spawn(move || listen_once(l));

    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-notify").args(&[
            "sh",
            "-c",
            "mkdir /dev/shm/n && echo made; test -d /dev/shm/n || echo absent",
        ]),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": path,
            "listenerMetadata": "meta-x",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    let (state, nr) = listener.join().unwrap();
    assert_eq!(o.status, Some(0), "{o}");
    // The listener said "done" without making the directory.
    assert_eq!(o.stdout, "made\nabsent\n", "{o}");
    assert!(nr == libc::SYS_mkdir as i32 || nr == libc::SYS_mkdirat as i32);
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_eq!(state["metadata"], "meta-x");
    assert!(state["ociVersion"].is_string());
    let pid = state["pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert_eq!(state["state"]["pid"].as_i64(), Some(pid));
    assert_eq!(state["state"]["id"], b.id());
    assert_eq!(state["state"]["status"], "creating");
    assert_eq!(
        state["state"]["bundle"]
            .as_str()
            .map(std::path::PathBuf::from),
        Some(b.path().to_path_buf())
    );
    drop(c);
    assert_no_leftovers(root.path(), b.id());
}

/// `exec` forks the process that runs the user program from the sealed trampoline
/// (CVE-2019-5736 with CAP_SYS_PTRACE): a profile denying every way to fork still
/// lets exactly that one through, and nothing else.
#[test]
fn a_profile_denying_fork_still_execs_and_still_denies_fork() {
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-nofork").args(&["sleep", "600"]),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["clone", "clone3", "fork", "vfork"], "action": "SCMP_ACT_ERRNO"}]
        }),
    );
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    c.wait_status("running", Duration::from_secs(20));
    for spawn in ["fork", "vm"] {
        let mut cmd = root.command(&[
            "exec",
            c.id(),
            "sh",
            "-c",
            "echo in; /bin/true & wait; echo forked",
        ]);
        cmd.env("FASTRUN_SPAWN", spawn);
        let o = run_cmd(cmd, None, Duration::from_secs(30));
        // The exec'd shell ran; its own fork was denied (busybox sh then exits 2).
        assert_eq!(o.stdout, "in\n", "{o}");
        assert!(o.stderr.contains("can't fork"), "the shell could fork: {o}");
        assert_eq!(o.status, Some(2), "{o}");
    }
    c.kill("KILL").assert_success();
    c.wait_status("stopped", Duration::from_secs(20));
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn exec_joins_the_containers_filter() {
    let root = StateRoot::new();
    let b = with_seccomp(Bundle::new("sc-exec").args(&["sleep", "600"]), deny_mkdir());
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    c.wait_status("running", Duration::from_secs(20));
    let o = root.fastrun(&["exec", c.id(), "sh", "-c", MKDIR_THEN_TOUCH]);
    assert_eq!(o.status, Some(0), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
    assert_eq!(o.stdout, "mkdir-failed\ntouched\nno-dir\n", "{o}");
    // The same with --process (no bundle config involved).
    let process = b.path().join("process.json");
    let mut p = b.config()["process"].clone();
    p["args"] = json!(["mkdir", "/dev/shm/p"]);
    std::fs::write(&process, p.to_string()).unwrap();
    let o = root.fastrun(&["exec", "--process", process.to_str().unwrap(), c.id()]);
    assert_ne!(o.status, Some(0), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
    c.kill("KILL").assert_success();
    c.wait_status("stopped", Duration::from_secs(20));
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn exec_hands_its_notify_fd_to_the_listener() {
    let dir = TempDir::new("fastrun-sc-exec-listener-");
    let path = dir.path().join("listener.sock");
    let l = UnixListener::bind(&path).unwrap();
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-exec-notify").args(&["sleep", "600"]),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": path,
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        }),
    );
    let c = Container::new(&root, &b);
    // The init's fd first (create), then the exec'd process's.
    let first = std::thread::spawn({
        let l = l.try_clone().unwrap();
        move || {
            // Take the init's message (until the runtime closes), then drop the fd.
            let (mut conn, _) = l.accept().unwrap();
            let mut sink = Vec::new();
            let _ = conn.read_to_end(&mut sink);
        }
    });
    c.create().assert_success();
    first.join().unwrap();
    c.start().assert_success();
    c.wait_status("running", Duration::from_secs(20));
    let listener = std::thread::spawn(move || listen_once(l));
    let o = root.fastrun(&[
        "exec",
        c.id(),
        "sh",
        "-c",
        "mkdir /dev/shm/e && echo made; test -d /dev/shm/e || echo absent",
    ]);
    let (state, _) = listener.join().unwrap();
    assert_eq!(o.status, Some(0), "{o}");
    assert_eq!(o.stdout, "made\nabsent\n", "{o}");
    assert_eq!(state["state"]["status"], "running");
    assert_eq!(state["state"]["pid"].as_i64(), c.pid().map(i64::from));
    assert_ne!(
        state["pid"], state["state"]["pid"],
        "pid is the exec'd process"
    );
    c.kill("KILL").assert_success();
    c.wait_status("stopped", Duration::from_secs(20));
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

// --- as runc ---------------------------------------------------------------

/// Run bundle `b` under runc too (with runc's own state root) and return its
/// output; None when runc is not installed.
fn under_runc(b: &Bundle) -> Option<Output> {
    if !runc::available() {
        eprintln!("runc not installed: not compared");
        return None;
    }
    let r = runc::Runc::new();
    let rb = runc::RuncBundle::new(b);
    Some(r.run(&rb))
}

#[test]
fn unknown_syscall_names_are_skipped_with_a_warning_as_runc() {
    let root = StateRoot::new();
    let b = with_seccomp(
        Bundle::new("sc-unknown").args(&["sh", "-c", MKDIR_THEN_TOUCH]),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "fastrun_no_such_syscall", "mkdirat"],
                          "action": "SCMP_ACT_ERRNO"}]
        }),
    );
    let log = b.path().join("log.json");
    let _c = Container::new(&root, &b);
    let o = root.fastrun(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        b.id(),
    ]);
    assert_eq!(o.status, Some(0), "{o}");
    assert_eq!(o.stdout, "mkdir-failed\ntouched\nno-dir\n", "{o}");
    let warned = log_lines(&log).iter().any(|l| {
        l["level"] == "warning"
            && l["msg"].as_str().is_some_and(|m| {
                m.contains("linux.seccomp.syscalls[0].names[1]")
                    && m.contains("fastrun_no_such_syscall")
            })
    });
    assert!(warned, "no warning in {:?}", log_lines(&log));
    assert_no_leftovers(root.path(), b.id());
    if let Some(r) = under_runc(&b) {
        assert_eq!((r.status, &r.stdout), (o.status, &o.stdout), "runc: {r}");
    }
}

/// Docker's default profile without `faccessat2`.
fn docker_profile_without_faccessat2() -> Value {
    let mut p = docker_profile();
    let mut found = false;
    for rule in p["syscalls"].as_array_mut().unwrap() {
        rule["names"].as_array_mut().unwrap().retain(|n| {
            let hit = n == "faccessat2";
            found |= hit;
            !hit
        });
    }
    assert!(found, "the fixture profile lists faccessat2");
    p
}

#[test]
fn a_profile_denying_faccessat2_still_finds_the_program_as_runc() {
    // Without noNewPrivileges the filter is loaded before the program is looked up.
    for nnp in [false, true] {
        let root = StateRoot::new();
        let b = with_seccomp(
            Bundle::new("sc-faccessat2")
                .args(&["echo", "found"])
                .modify(|c| c["process"]["noNewPrivileges"] = json!(nnp)),
            docker_profile_without_faccessat2(),
        );
        let c = Container::new(&root, &b);
        let o = c.run();
        assert_eq!(
            (o.status, o.stdout.as_str()),
            (Some(0), "found\n"),
            "nnp {nnp}: {o}"
        );
        // A missing program is still reported as such.
        let b2 = with_seccomp(
            Bundle::new("sc-faccessat2-missing")
                .args(&["no-such-program"])
                .modify(|c| c["process"]["noNewPrivileges"] = json!(nnp)),
            docker_profile_without_faccessat2(),
        );
        let c2 = Container::new(&root, &b2);
        let o2 = c2.run();
        assert_ne!(o2.status, Some(0), "{o2}");
        assert!(o2.stderr.contains("no-such-program"), "{o2}");
        drop((c, c2));
        assert_no_leftovers(root.path(), b.id());
        if let Some(r) = under_runc(&b) {
            assert_eq!((r.status, &r.stdout), (o.status, &o.stdout), "runc: {r}");
        }
    }
}

/// A static program (in `b`'s own rootfs at /nr) that prints the errno of
/// `syscall(N)` for each number N of its arguments (0 when it succeeds).
fn with_syscall_prober(b: Bundle) -> Bundle {
    let b = b.own_rootfs();
    let src = b.path().join("nr.c");
    std::fs::write(
        &src,
        r#"#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        errno = 0;
        long r = syscall(atol(argv[i]), 0, 0, 0, 0, 0, 0);
        printf("%s=%d\n", argv[i], r < 0 ? errno : 0);
    }
    return 0;
}
"#,
    )
    .unwrap();
    let out = std::process::Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(b.path().join("rootfs/nr"))
        .arg(&src)
        .output()
        .expect("cc (build-essential) is needed to build the syscall prober");
    assert!(out.status.success(), "cc: {out:?}");
    b
}

#[test]
fn syscalls_newer_than_the_profile_fail_with_enosys_as_runc() {
    // Docker's profile (default ERRNO): 1000 and 460 are newer than anything it
    // names; getppid (110) is allowed; personality with a bad argument (135 with
    // a value it does not allow) falls to the default, EPERM.
    let root = StateRoot::new();
    let b = with_seccomp(
        with_syscall_prober(Bundle::new("sc-enosys")).args(&["/nr", "1000", "460", "110"]),
        docker_profile(),
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert_eq!(o.stdout, "1000=38\n460=38\n110=0\n", "{o}");
    drop(c);
    assert_no_leftovers(root.path(), b.id());
    if let Some(r) = under_runc(&b) {
        assert_eq!((r.status, &r.stdout), (o.status, &o.stdout), "runc: {r}");
    }
    // Unlisted syscalls below the highest named keep the default errno: vhangup
    // (153), and 400 (a hole in x86_64's table: runc's rule knows no holes).
    let mut p = docker_profile();
    p["defaultErrnoRet"] = json!(libc::EACCES);
    let b = with_seccomp(
        with_syscall_prober(Bundle::new("sc-enosys-holes")).args(&["/nr", "153", "400", "1000"]),
        p,
    );
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert_eq!(o.stdout, "153=13\n400=13\n1000=38\n", "{o}");
    drop(c);
    if let Some(r) = under_runc(&b) {
        assert_eq!((r.status, &r.stdout), (o.status, &o.stdout), "runc: {r}");
    }
}

/// A NOTIFY rule on `name`; `nnp` is process.noNewPrivileges.
fn notify_on(name: &str, listener: &std::path::Path, nnp: bool) -> Bundle {
    with_seccomp(
        Bundle::new("sc-notify-early").modify(|c| c["process"]["noNewPrivileges"] = json!(nnp)),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": listener,
            "syscalls": [{"names": [name], "action": "SCMP_ACT_NOTIFY"}]
        }),
    )
}

#[test]
fn notify_on_syscalls_the_runtime_needs_first_is_refused_as_runc() {
    let dir = TempDir::new("fastrun-sc-early-");
    let path = dir.path().join("listener.sock");
    let _l = UnixListener::bind(&path).unwrap();
    for (name, nnp, field) in [
        ("write", true, "names[0]"),
        ("sendmsg", true, "names[0]"),
        ("setresuid", false, "names[0]"),
    ] {
        let root = StateRoot::new();
        let b = notify_on(name, &path, nnp);
        let c = Container::new(&root, &b);
        for o in [c.create(), c.run()] {
            assert!(!o.timed_out, "{o}");
            assert_eq!(o.status, Some(1), "{o}");
            let want = format!(
                "linux.seccomp.syscalls[0].{field}: SCMP_ACT_NOTIFY cannot be used for {name:?}"
            );
            assert!(o.stderr.contains(&want), "want {want:?}: {o}");
            assert_no_leftovers(root.path(), b.id());
        }
        if name == "write" {
            // runc refuses it too.
            if let Some(r) = under_runc(&b) {
                assert_eq!(r.status, Some(1), "{r}");
                assert!(
                    r.stderr
                        .contains("SCMP_ACT_NOTIFY cannot be used for the write syscall"),
                    "{r}"
                );
            }
        }
    }
}

#[test]
fn notify_on_close_does_not_hang_the_start() {
    // The init used to close its copy of the notify fd before the listener had
    // it: blocked on its own filter, with the runtime waiting for it.
    let dir = TempDir::new("fastrun-sc-close-");
    let path = dir.path().join("listener.sock");
    let l = UnixListener::bind(&path).unwrap();
    // The listener takes the fd and closes it: the process's later `close` calls
    // then fail with ENOSYS (nobody answers), which `echo` does not mind.
    let listener = std::thread::spawn(move || receive_state_and_fd(l).0);
    let root = StateRoot::new();
    let b = notify_on("close", &path, true).args(&["sh", "-c", "echo started"]);
    let c = Container::new(&root, &b);
    let o = root.fastrun_with(
        &["run", "--bundle", b.path().to_str().unwrap(), b.id()],
        None,
        Duration::from_secs(20),
    );
    assert!(!o.timed_out, "{o}");
    let state = listener.join().unwrap();
    assert_eq!(state["state"]["id"], b.id());
    assert_eq!((o.status, o.stdout.as_str()), (Some(0), "started\n"), "{o}");
    drop(c);
    assert_no_leftovers(root.path(), b.id());
}
