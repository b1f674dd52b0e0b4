//! Terminals: the pty master reaches the console socket exactly as go-runc and
//! conmon expect (one message, one SCM_RIGHTS fd), it drives a shell on the
//! container's own devpts, /dev/console is that pty, `exec --tty` works the same
//! way, and a foreground `run` proxies the caller's terminal.

use crate::common;

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use common::*;

const T: Duration = Duration::from_secs(20);

/// What a console-socket receiver got: the data, and every fd of every control message.
struct Received {
    name: Vec<u8>,
    cmsgs: usize,
    fds: Vec<OwnedFd>,
}

/// Listen on `path` in a thread; accept one connection and receive one message.
fn console_socket(path: &std::path::Path) -> std::thread::JoinHandle<Received> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut name = vec![0u8; 256];
        let mut iov = libc::iovec {
            iov_base: name.as_mut_ptr().cast(),
            iov_len: name.len(),
        };
        let mut control = [0u64; 16];
        // SAFETY: plain data; fields set below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: `msg` points to live buffers.
        let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        assert!(n >= 0, "recvmsg: {}", std::io::Error::last_os_error());
        name.truncate(n as usize);
        let (mut cmsgs, mut fds) = (0, Vec::new());
        // SAFETY: walking what the kernel filled in.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                cmsgs += 1;
                if (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(c).cast::<RawFd>();
                    let count = ((*c).cmsg_len - libc::CMSG_LEN(0) as usize) / 4;
                    for i in 0..count {
                        fds.push(OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(i))));
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Received { name, cmsgs, fds }
    })
}

/// Write `input` to the pty master and read until `until` shows up (or timeout).
fn converse(master: &OwnedFd, input: &[u8], until: &str) -> String {
    let mut f = std::fs::File::from(master.try_clone().unwrap());
    use std::io::Write;
    f.write_all(input).unwrap();
    // SAFETY: making our own fd non-blocking.
    unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let mut out = String::new();
    let deadline = Instant::now() + T;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !out.contains(until) {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => break,
        }
    }
    out
}

fn tty_bundle(name: &str) -> Bundle {
    Bundle::new(name).args(&["sh"]).modify(|v| {
        v["process"]["terminal"] = true.into();
        v["process"]["consoleSize"] = serde_json::json!({"height": 31, "width": 97});
    })
}

#[test]
fn create_sends_one_pty_master_to_the_console_socket() {
    let root = StateRoot::new();
    let bundle = tty_bundle("tty-create");
    let sock = bundle.path().join("console.sock");
    let rx = console_socket(&sock);
    let c = Container::new(&root, &bundle);
    let o = root.fastrun(&[
        "create",
        "--bundle",
        bundle.path().to_str().unwrap(),
        "--pid-file",
        bundle.pid_file().to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        c.id(),
    ]);
    o.assert_success();
    let got = rx.join().unwrap();
    assert_eq!(got.cmsgs, 1, "exactly one control message");
    assert_eq!(got.fds.len(), 1, "exactly one fd");
    assert!(!got.name.is_empty());
    c.start().assert_success();
    let out = converse(
        &got.fds[0],
        b"tty; stty size; ls -l /dev/console; echo DONE-$((6*7))\n",
        "DONE-42",
    );
    assert!(
        out.contains("/dev/pts/0"),
        "not the container's devpts: {out}"
    );
    assert!(out.contains("31 97"), "consoleSize not applied: {out}");
    assert!(
        out.contains("136,   0 ") || out.contains("136, 0 "),
        "/dev/console is not the pty: {out}"
    );
    assert!(out.contains("DONE-42"), "{out}");
}

#[test]
fn exec_tty_gets_its_own_pty() {
    let root = StateRoot::new();
    let bundle = Bundle::new("tty-exec").args(&["sleep", "600"]);
    let c = Container::new(&root, &bundle);
    c.create().assert_success();
    c.start().assert_success();
    let sock = bundle.path().join("exec.sock");
    let rx = console_socket(&sock);
    let o = root.fastrun(&[
        "exec",
        "--tty",
        "--detach",
        "--console-socket",
        sock.to_str().unwrap(),
        c.id(),
        "sh",
    ]);
    o.assert_success();
    let got = rx.join().unwrap();
    assert_eq!((got.cmsgs, got.fds.len()), (1, 1));
    let out = converse(
        &got.fds[0],
        b"tty; cat /proc/1/cmdline; echo; echo END-$((1+1))\n",
        "END-2",
    );
    assert!(out.contains("/dev/pts/"), "{out}");
    assert!(
        out.contains("sleep") && out.contains("600"),
        "not in the container's pid namespace: {out}"
    );
}

#[test]
fn terminal_without_console_socket_is_refused_for_create() {
    let root = StateRoot::new();
    let bundle = tty_bundle("tty-nosock");
    let c = Container::new(&root, &bundle);
    let o = c.create();
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr.contains("process.terminal") && o.stderr.contains("--console-socket"),
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn console_socket_without_terminal_is_refused() {
    let root = StateRoot::new();
    let bundle = Bundle::new("tty-noterm").args(&["true"]);
    let c = Container::new(&root, &bundle);
    let o = root.fastrun(&[
        "create",
        "--bundle",
        bundle.path().to_str().unwrap(),
        "--console-socket",
        "/tmp/nowhere.sock",
        c.id(),
    ]);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("process.terminal is false"), "{o}");
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn foreground_run_proxies_the_callers_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: `script` (bsdutils) is not installed");
        return;
    }
    let root = StateRoot::new();
    let bundle = tty_bundle("tty-run").args(&["sh", "-c", "tty; stty size; exit 5"]);
    let cmd = format!(
        "stty rows 40 cols 120; {} --root {} run --bundle {} {}",
        fastrun_bin().display(),
        root.path().display(),
        bundle.path().display(),
        bundle.id()
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"]);
    let o = run_cmd(c, None, T);
    assert!(o.stdout.contains("/dev/pts/0"), "{o}");
    assert!(
        o.stdout.contains("40 120"),
        "window size not forwarded: {o}"
    );
    assert_eq!(o.status, Some(5), "{o}");
    assert_no_leftovers(root.path(), bundle.id());
}

/// In a container created with `process.terminal: true` (and a console socket),
/// `exec` without `--tty` runs `sh -c 'tty; echo done'`, then `exec -d` runs
/// `true`. `rt` runs the runtime with its own state root.
fn exec_without_tty_in_a_terminal_container(
    rt: &dyn Fn(&[&str]) -> Output,
    bundle: &std::path::Path,
    id: &str,
) -> (Output, Output) {
    let sock = bundle.join("console.sock");
    let rx = console_socket(&sock);
    rt(&[
        "create",
        "--bundle",
        bundle.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        id,
    ])
    .assert_success();
    let got = rx.join().unwrap();
    assert_eq!(got.fds.len(), 1);
    rt(&["start", id]).assert_success();
    let fg = rt(&["exec", id, "sh", "-c", "tty; echo done"]);
    let detached = rt(&["exec", "-d", id, "true"]);
    drop(got);
    (fg, detached)
}

#[test]
fn exec_has_a_terminal_only_with_tty_as_runc() {
    let root = StateRoot::new();
    let bundle = tty_bundle("tty-exec-cfg").args(&["sleep", "600"]);
    let _c = Container::new(&root, &bundle);
    let (fg, detached) =
        exec_without_tty_in_a_terminal_container(&|a| root.fastrun(a), bundle.path(), bundle.id());
    // No pty: `tty` says so, lines end in "\n" (no ONLCR), and -d needs no socket.
    assert_eq!(fg.stdout, "not a tty\ndone\n", "{fg}");
    assert_eq!(fg.status, Some(0), "{fg}");
    assert_eq!(detached.status, Some(0), "{detached}");
    if !runc::available() {
        eprintln!("runc not installed: not compared");
        return;
    }
    let r = runc::Runc::new();
    let rb = runc::RuncBundle::new(&bundle);
    r.track(rb.id());
    let (rfg, rdetached) =
        exec_without_tty_in_a_terminal_container(&|a| r.runc(a), rb.path(), rb.id());
    assert_eq!(
        (&fg.stdout, fg.status),
        (&rfg.stdout, rfg.status),
        "runc: {rfg}"
    );
    assert_eq!(detached.status, rdetached.status, "runc: {rdetached}");
}

/// `exec --tty -d --console-socket --user 1000` runs a shell; it reports its pty's
/// owner and mode bits. `rt` runs the runtime with its own state root.
fn exec_pty_owner(rt: &dyn Fn(&[&str]) -> Output, dir: &std::path::Path, id: &str) -> String {
    let sock = dir.join("exec-owner.sock");
    let rx = console_socket(&sock);
    rt(&[
        "exec",
        "--tty",
        "--detach",
        "--user",
        "1000:1000",
        "--console-socket",
        sock.to_str().unwrap(),
        id,
        "sh",
    ])
    .assert_success();
    let got = rx.join().unwrap();
    let out = converse(
        &got.fds[0],
        b"echo OWNER-$(stat -c %u:%g:%a $(tty))-EN''D; exit\n",
        "-END",
    );
    let at = out.rfind("OWNER-").expect(&out);
    out[at..].split("-END").next().unwrap().to_string()
}

#[test]
fn a_pty_belongs_to_the_processs_uid_as_runc() {
    let root = StateRoot::new();
    let bundle = Bundle::new("tty-owner").args(&["sleep", "600"]);
    let c = Container::new(&root, &bundle);
    c.create().assert_success();
    c.start().assert_success();
    let owner = exec_pty_owner(&|a| root.fastrun(a), bundle.path(), c.id());
    assert_eq!(owner, "OWNER-1000:5:620");
    if !runc::available() {
        eprintln!("runc not installed: not compared");
        return;
    }
    let r = runc::Runc::new();
    let rb = runc::RuncBundle::new(&bundle);
    r.run_detached(&rb).assert_success();
    assert_eq!(exec_pty_owner(&|a| r.runc(a), rb.path(), rb.id()), owner);
}

/// What a foreground `run` with a terminal prints, its stdin and stdout `script`'s
/// pty, or its stdout redirected to a file (`to_file`). The "^@" echoed for the
/// byte `script` types when its own stdin (/dev/null) ends is taken out.
fn foreground_output(
    runtime: &str,
    state: &std::path::Path,
    bundle: &std::path::Path,
    id: &str,
    to_file: bool,
) -> String {
    let file = bundle.join("foreground.out");
    let cmd = format!(
        "{runtime} --root {} run --bundle {} {id}{}",
        state.display(),
        bundle.display(),
        if to_file {
            format!(" > {}", file.display())
        } else {
            String::new()
        }
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"]);
    let o = run_cmd(c, None, T);
    assert_eq!(o.status, Some(0), "{o}");
    let out = if to_file {
        std::fs::read_to_string(&file).unwrap()
    } else {
        o.stdout
    };
    out.replace("^@", "")
}

#[test]
fn foreground_terminal_output_keeps_bare_newlines_as_runc() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: `script` (bsdutils) is not installed");
        return;
    }
    let root = StateRoot::new();
    let bundle = tty_bundle("tty-onlcr").args(&["sh", "-c", "sleep 0.2; echo one; echo two"]);
    let fastrun = fastrun_bin().to_str().unwrap();
    let (id, path) = (bundle.id(), bundle.path());
    // The pty adds no "\r" (ONLCR cleared); a terminal still shows new lines
    // (output processing stays on in its raw mode).
    let piped = foreground_output(fastrun, root.path(), path, id, true);
    assert_no_leftovers(root.path(), bundle.id());
    assert_eq!(piped, "one\ntwo\n");
    let shown = foreground_output(fastrun, root.path(), path, id, false);
    assert_eq!(shown, "one\r\ntwo\r\n");
    assert_no_leftovers(root.path(), bundle.id());
    if !runc::available() {
        eprintln!("runc not installed: not compared");
        return;
    }
    let r = runc::Runc::new();
    let rb = runc::RuncBundle::new(&bundle);
    r.track(rb.id());
    let (rid, rpath) = (rb.id(), rb.path());
    assert_eq!(
        foreground_output("runc", &r.root(), rpath, rid, true),
        piped
    );
    assert_eq!(
        foreground_output("runc", &r.root(), rpath, rid, false),
        shown
    );
}
