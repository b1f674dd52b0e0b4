//! CVE-2024-21626 and fd hygiene: host directory fds handed to the runtime (as a
//! careless caller or an embedding program would), `process.cwd` and `exec --cwd`
//! set to `/proc/self/fd/N` for every N the runtime might hold, and what the
//! container's processes find in `/proc/self/fd`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::*;

/// Open `dir` as a directory fd (O_PATH would do too: both can be fchdir'ed to).
fn dir_fd(dir: &Path) -> OwnedFd {
    std::fs::File::open(dir).unwrap().into()
}

/// Make `cmd` start with the fds `first..first+fds.len()` open on `fds` (not
/// close-on-exec), and with its cwd in `cwd`: the runtime starts with host
/// directories open, which none of the container's processes may reach.
fn with_leaked_fds(cmd: &mut Command, fds: &[OwnedFd], first: i32, cwd: &Path) {
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    cmd.current_dir(cwd);
    // SAFETY: between fork and exec only dup2/fcntl are called (async-signal-safe);
    // `raw` is moved in and not reallocated.
    unsafe {
        cmd.pre_exec(move || {
            for (i, fd) in raw.iter().enumerate() {
                let target = first + i as i32;
                if *fd == target {
                    libc::fcntl(target, libc::F_SETFD, 0);
                } else if libc::dup2(*fd, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // Nothing else is inherited (the test's own environment may hold fds).
            let next = (first + raw.len() as i32) as libc::c_uint;
            libc::syscall(
                libc::SYS_close_range,
                next,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            Ok(())
        });
    }
}

/// Host dirs with a marker, open at fds 3..=20 of the runtime, its cwd one of them.
struct Leaks {
    host: HostDir,
    fds: Vec<OwnedFd>,
}

impl Leaks {
    fn new(name: &str) -> Leaks {
        let host = HostDir::new(name);
        let fds = (3..=20).map(|_| dir_fd(host.path())).collect();
        Leaks { host, fds }
    }

    fn command(&self, root: &StateRoot, args: &[&str]) -> Command {
        let mut c = root.command(args);
        with_leaked_fds(&mut c, &self.fds, 3, self.host.path());
        c
    }

    /// The output may not show anything of the host dir.
    #[track_caller]
    fn assert_unreached(&self, o: &Output) {
        for text in [&o.stdout, &o.stderr] {
            assert!(
                !text.contains("HOST_MARKER") && !text.contains("host secret"),
                "the container reached the host directory: {o}"
            );
        }
        assert_eq!(tree(self.host.path()), ["HOST_MARKER"], "host dir changed");
    }
}

/// The script a container runs in `cwd`: where it is, and what it can see there
/// and one level up (the classic escape walks up from a leaked host directory).
const LOOK: &str = "pwd; ls -a; ls -a ..; cat HOST_MARKER ../HOST_MARKER 2>&1; \
                    touch escaped 2>&1; echo end";

#[test]
fn cve_2024_21626_process_cwd_proc_self_fd_n_never_reaches_the_host() {
    let leaks = Leaks::new("cwd");
    let root = StateRoot::new();
    for n in 3..=20 {
        let bundle = Bundle::new("21626-cwd")
            .args(&["sh", "-c", LOOK])
            .modify(|v| v["process"]["cwd"] = format!("/proc/self/fd/{n}").into());
        let c = Container::new(&root, &bundle);
        let cmd = leaks.command(
            &root,
            &["run", "--bundle", bundle.path().to_str().unwrap(), c.id()],
        );
        let o = run_cmd(cmd, None, T);
        leaks.assert_unreached(&o);
        if o.success() {
            // Only a cwd inside the container is acceptable.
            let pwd = o.stdout.lines().next().unwrap_or("");
            assert!(
                pwd.starts_with('/') && !pwd.contains("fastrun-sec-host"),
                "cwd /proc/self/fd/{n}: {o}"
            );
        } else {
            assert!(
                o.stderr.contains("process.cwd") || o.stderr.contains("cwd"),
                "cwd /proc/self/fd/{n}: the refusal should name the cwd: {o}"
            );
        }
        c.delete(true);
        c.assert_no_leftovers();
    }
}

#[test]
fn cve_2024_21626_exec_cwd_proc_self_fd_n_never_reaches_the_host() {
    let leaks = Leaks::new("exec-cwd");
    let root = StateRoot::new();
    let bundle = Bundle::new("21626-exec").args(&["sleep", "600"]);
    let c = Container::new(&root, &bundle);
    run_cmd(
        leaks.command(
            &root,
            &[
                "create",
                "--bundle",
                bundle.path().to_str().unwrap(),
                "--pid-file",
                bundle.pid_file().to_str().unwrap(),
                c.id(),
            ],
        ),
        None,
        T,
    )
    .assert_success();
    run_cmd(leaks.command(&root, &["start", c.id()]), None, T).assert_success();
    for n in 3..=20 {
        let cwd = format!("/proc/self/fd/{n}");
        let o = run_cmd(
            leaks.command(&root, &["exec", "--cwd", &cwd, c.id(), "sh", "-c", LOOK]),
            None,
            T,
        );
        leaks.assert_unreached(&o);
        if o.success() {
            let pwd = o.stdout.lines().next().unwrap_or("");
            assert!(
                pwd.starts_with('/') && !pwd.contains("fastrun-sec-host"),
                "exec --cwd {cwd}: {o}"
            );
        } else {
            assert!(o.stderr.contains("cwd"), "exec --cwd {cwd}: {o}");
        }
    }
    // The init (whose cwd is /) never saw them either.
    let init = c.pid().unwrap();
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{init}/fd"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut fds = fds;
    fds.sort();
    assert_eq!(fds, ["0", "1", "2"], "the init holds more than stdio");
}

/// The fds of the shell inside (listed by a child `ls`, so without its own fds).
const LIST_FDS: &str = "ls -l /proc/$$/fd";

/// The `(fd, target)` pairs of an `ls -l /proc/PID/fd` output.
fn fd_list(out: &str) -> Vec<(u32, String)> {
    out.lines()
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ")?;
            let n = left.rsplit(' ').next()?.parse().ok()?;
            Some((n, target.to_string()))
        })
        .collect()
}

fn fd_numbers(out: &str) -> Vec<u32> {
    fd_list(out).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn cve_2024_21626_container_processes_see_only_stdio() {
    let leaks = Leaks::new("fd-list");
    let root = StateRoot::new();
    let bundle = Bundle::new("21626-fds").args(&["sh", "-c", LIST_FDS]);
    let c = Container::new(&root, &bundle);
    let o = run_cmd(
        leaks.command(
            &root,
            &["run", "--bundle", bundle.path().to_str().unwrap(), c.id()],
        ),
        None,
        T,
    );
    o.assert_success();
    assert_eq!(fd_numbers(&o.stdout), [0, 1, 2], "{o}");
    leaks.assert_unreached(&o);

    // `run --preserve-fds 8` with only fd 3 open: the init gets fd 3 and nothing of
    // the runtime's in 4..10.
    let host = HostDir::new("run-fds-one");
    let bundle = Bundle::new("21626-run-preserve").args(&["sleep", "600"]);
    let c = Container::new(&root, &bundle);
    let mut cmd = root.command(&[
        "run",
        "--detach",
        "--preserve-fds",
        "8",
        "--pid-file",
        bundle.pid_file().to_str().unwrap(),
        "--bundle",
        bundle.path().to_str().unwrap(),
        c.id(),
    ]);
    with_leaked_fds(&mut cmd, &[dir_fd(host.path())], 3, host.path());
    run_cmd(cmd, None, T).assert_success();
    let fds = host_fd_list(c.pid().unwrap());
    let numbers: Vec<u32> = fds.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [0, 1, 2, 3], "fds passed to the init: {fds:?}");
}

/// `(fd, target)` of a process, read from the host.
fn host_fd_list(pid: i32) -> Vec<(u32, String)> {
    let mut fds: Vec<(u32, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().parse().unwrap(),
                std::fs::read_link(e.path())
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    fds.sort();
    fds
}

/// `fastrun exec` handed host fds without `--preserve-fds`: none reaches the exec'd
/// process; with `--preserve-fds 1`, fd 3 only; and asking for more fds than the
/// caller has open never hands over one of the runtime's own fds instead.
#[test]
fn exec_passes_only_stdio_and_the_preserved_fds() {
    let leaks = Leaks::new("exec-fds");
    let root = StateRoot::new();
    let bundle = Bundle::new("exec-hygiene").args(&["sleep", "600"]);
    let c = Container::new(&root, &bundle);
    c.create().assert_success();
    c.start().assert_success();

    let mut cmd = leaks.command(&root, &["exec", c.id(), "sh", "-c", LIST_FDS]);
    cmd.env("FASTRUN_SEC_RUNTIME_ENV", "host-only");
    let o = run_cmd(cmd, None, T);
    o.assert_success();
    assert_eq!(fd_numbers(&o.stdout), [0, 1, 2], "{o}");
    leaks.assert_unreached(&o);

    let o = run_cmd(
        leaks.command(
            &root,
            &[
                "exec",
                "--preserve-fds",
                "1",
                c.id(),
                "sh",
                "-c",
                &format!("{LIST_FDS}; env"),
            ],
        ),
        None,
        T,
    );
    o.assert_success();
    assert_eq!(fd_numbers(&o.stdout), [0, 1, 2, 3], "{o}");
    assert!(!o.stdout.contains("FASTRUN_SEC_RUNTIME_ENV"), "{o}");

    // Only fd 3 is open in the caller, 8 are asked for: fds 4..10 must not be the
    // runtime's (a pidfd of the init, the host's pid namespace, the state directory).
    let host = HostDir::new("exec-fds-one");
    let one = [dir_fd(host.path())];
    let pid_file = bundle.path().join("exec.pid");
    let mut cmd = root.command(&[
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--preserve-fds",
        "8",
        c.id(),
        "sleep",
        "600",
    ]);
    with_leaked_fds(&mut cmd, &one, 3, host.path());
    run_cmd(cmd, None, T).assert_success();
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let fds = host_fd_list(pid.trim().parse().unwrap());
    let numbers: Vec<u32> = fds.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        [0, 1, 2, 3],
        "fds reached the exec'd process without being passed: {fds:?}"
    );
    assert_eq!(fds[3].1, host.as_str());
}

/// The CLI opens its `--log` file before it knows which fds the caller
/// preserves: with more fds asked for than the caller has open, the log file
/// must still never be one of them.
#[test]
fn the_log_file_never_becomes_a_preserved_fd() {
    let root = StateRoot::new();
    let bundle = Bundle::new("log-fd").args(&["sleep", "600"]);
    let c = Container::new(&root, &bundle);
    c.create().assert_success();
    c.start().assert_success();
    let host = HostDir::new("log-fd-one");
    let one = [dir_fd(host.path())];
    let log = bundle.path().join("fastrun.log");
    let pid_file = bundle.path().join("exec.pid");
    let mut cmd = Command::new(fastrun_bin());
    cmd.args([
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "--root",
    ])
    .arg(root.path())
    .args([
        "exec",
        "--detach",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--preserve-fds",
        "8",
    ])
    .args([c.id(), "sleep", "600"]);
    with_leaked_fds(&mut cmd, &one, 3, host.path());
    run_cmd(cmd, None, T).assert_success();
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let fds = host_fd_list(pid.trim().parse().unwrap());
    assert!(
        !fds.iter().any(|(_, target)| target.contains("fastrun.log")),
        "the runtime's log file reached the container: {fds:?}"
    );
    assert_eq!(
        fds.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "{fds:?}"
    );
}
