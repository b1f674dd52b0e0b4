//! What the process inside a container sees: each test runs a real container from the
//! busybox rootfs and checks its actual output (pid, hostname, namespaces, mounts,
//! capabilities, ids, limits, masked paths, devices, sysctls, env, stdio, exit codes,
//! fds, namespaces joined by path, user and time namespaces).

use crate::common;

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// The namespaces of a config without the one of `kind`.
fn without_namespace(v: &mut Value, kind: &str) {
    let ns = v["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != kind);
}

fn add_namespace(v: &mut Value, ns: Value) {
    let kind = ns["type"].as_str().unwrap().to_string();
    without_namespace(v, &kind);
    v["linux"]["namespaces"].as_array_mut().unwrap().push(ns);
}

/// The pairs of "Field: value" of /proc/self/status printed by a container.
fn caps_of(status: &str) -> [u64; 5] {
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map(|f| {
        let v = status_field(status, f).unwrap_or_else(|| panic!("{f} missing in {status}"));
        u64::from_str_radix(v, 16).unwrap()
    })
}

#[test]
fn process_is_pid_1() {
    let out = sh_output(
        "pid1",
        "echo $$; cat /proc/1/cmdline | tr '\\0' ' '",
        |_| {},
    );
    assert_eq!(out, "1\nsh -c echo $$; cat /proc/1/cmdline | tr '\\0' ' ' ");
}

#[test]
fn hostname_and_domainname() {
    let out = sh_output(
        "uts",
        "hostname; cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname; uname -n",
        |v| {
            v["hostname"] = json!("box-under-test");
            v["domainname"] = json!("example.test");
        },
    );
    assert_eq!(
        out,
        "box-under-test\nbox-under-test\nexample.test\nbox-under-test\n"
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box-under-test", "the host's hostname changed");
}

#[test]
fn namespaces_differ_from_the_hosts() {
    let kinds = ["mnt", "pid", "ipc", "uts", "net", "cgroup", "user", "time"];
    let script = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = sh_output("ns", &script, |v| {
        add_namespace(v, json!({"type": "cgroup"}))
    });
    let inside: Vec<&str> = out.lines().collect();
    assert_eq!(inside.len(), kinds.len(), "{out}");
    for (k, inner) in kinds.iter().zip(inside) {
        let host = std::fs::read_link(format!("/proc/self/ns/{k}")).unwrap();
        let host = host.to_str().unwrap();
        assert!(inner.starts_with(&format!("{k}:[")), "{inner}");
        if matches!(*k, "user" | "time") {
            assert_eq!(inner, host, "{k}: not asked for, must stay the host's");
        } else {
            assert_ne!(
                inner, host,
                "{k}: the container shares the host's namespace"
            );
        }
    }
}

/// One parsed line of /proc/self/mountinfo.
struct MountLine {
    point: String,
    opts: Vec<String>,
    fstype: String,
}

fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-").expect(l);
            MountLine {
                point: f[4].to_string(),
                opts: f[5].split(',').map(String::from).collect(),
                fstype: f[sep + 1].to_string(),
            }
        })
        .collect()
}

#[test]
fn mount_table() {
    let out = sh_output("mounts", "cat /proc/self/mountinfo", |_| {});
    let mounts = parse_mountinfo(&out);
    let find = |p: &str| {
        mounts
            .iter()
            .rfind(|m| m.point == p)
            .unwrap_or_else(|| panic!("no mount at {p} in:\n{out}"))
    };
    let root = find("/");
    assert!(root.opts.contains(&"ro".into()), "root.readonly: {out}");
    for (point, fstype) in [
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
        ("/sys", "sysfs"),
    ] {
        assert_eq!(find(point).fstype, fstype, "{point}: {out}");
    }
    assert!(find("/dev").opts.contains(&"nosuid".into()), "{out}");
    assert!(
        find("/sys").opts.contains(&"ro".into()),
        "sysfs must be ro: {out}"
    );
    let cg: Vec<&MountLine> = mounts
        .iter()
        .filter(|m| m.point == "/sys/fs/cgroup" || m.point.starts_with("/sys/fs/cgroup/"))
        .collect();
    assert!(
        cg.iter()
            .any(|m| m.fstype == "cgroup" || m.fstype == "cgroup2"),
        "no cgroup hierarchy under /sys/fs/cgroup: {out}"
    );
    for m in &cg {
        assert!(m.opts.contains(&"ro".into()), "{} not ro: {out}", m.point);
    }
    // Nothing of the host's mount table shows: only the rootfs and what the config asks.
    for m in &mounts {
        assert!(
            m.point == "/"
                || ["/proc", "/dev", "/sys"]
                    .iter()
                    .any(|p| m.point.starts_with(p)),
            "unexpected mount {} in the container:\n{out}",
            m.point
        );
    }
}

#[test]
fn readonly_root_refuses_writes() {
    let b = sh_bundle(
        "ro",
        "touch /written 2>&1; echo rc=$?; (echo x > /bin/new) 2>&1; echo rc=$?",
    );
    let o = run_bundle(&b);
    o.assert_success();
    assert_eq!(o.stdout.matches("Read-only file system").count(), 2, "{o}");
    assert!(!o.stdout.contains("rc=0"), "{o}");
}

#[test]
fn writable_root_when_readonly_is_false() {
    let b = sh_bundle("rw", "echo hello > /written && cat /written").own_rootfs();
    assert_eq!(b.config()["root"]["readonly"], false);
    let o = run_bundle(&b);
    o.assert_success();
    assert_eq!(o.stdout, "hello\n");
    let on_host = std::fs::read_to_string(b.path().join("rootfs/written")).unwrap();
    assert_eq!(on_host, "hello\n");
}

const STATUS_SCRIPT: &str = "cat /proc/self/status";

#[test]
fn default_capabilities_are_runcs() {
    let out = sh_output("caps", STATUS_SCRIPT, |_| {});
    // runc's default: CAP_AUDIT_WRITE(29) | CAP_KILL(5) | CAP_NET_BIND_SERVICE(10). The
    // ambient raise needs the cap in the inheritable set, which the default leaves
    // empty: like runc, the ambient set stays empty.
    assert_eq!(
        caps_of(&out),
        [0, 0x2000_0420, 0x2000_0420, 0x2000_0420, 0],
        "Inh Prm Eff Bnd Amb:\n{out}"
    );
}

#[test]
fn custom_capabilities_as_root() {
    let set = json!(["CAP_CHOWN", "CAP_SETUID", "CAP_NET_RAW"]);
    let out = sh_output("caps-root", STATUS_SCRIPT, |v| {
        v["process"]["capabilities"] = json!({
            "bounding": set, "effective": set, "permitted": set,
            "inheritable": [], "ambient": []
        });
    });
    // CHOWN(0) | SETUID(7) | NET_RAW(13)
    assert_eq!(
        caps_of(&out),
        [0, 0x2081, 0x2081, 0x2081, 0],
        "Inh Prm Eff Bnd Amb:\n{out}"
    );
}

#[test]
fn custom_capabilities_as_user_with_ambient() {
    let out = sh_output("caps-user", STATUS_SCRIPT, |v| {
        v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        v["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
            "effective": ["CAP_KILL", "CAP_NET_RAW"],
            "permitted": ["CAP_KILL", "CAP_NET_RAW"],
            "inheritable": ["CAP_KILL", "CAP_NET_RAW"],
            "ambient": ["CAP_NET_RAW"]
        });
    });
    // After execve of a plain file by a non-root user, the kernel keeps the
    // inheritable and bounding sets, and permitted = effective = ambient.
    // KILL(5) = 0x20, NET_RAW(13) = 0x2000, CHOWN(0) = 0x1.
    assert_eq!(
        caps_of(&out),
        [0x2020, 0x2000, 0x2000, 0x2021, 0x2000],
        "Inh Prm Eff Bnd Amb:\n{out}"
    );
}

#[test]
fn user_groups_and_umask() {
    let out = sh_output(
        "user",
        "cat /proc/self/status; echo umask=$(umask); echo id=$(id -u):$(id -g)",
        |v| {
            v["process"]["user"] =
                json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 65534], "umask": 0o027});
        },
    );
    assert_eq!(status_field(&out, "Uid"), Some("1000\t1000\t1000\t1000"));
    assert_eq!(status_field(&out, "Gid"), Some("1000\t1000\t1000\t1000"));
    assert_eq!(status_field(&out, "Groups"), Some("5 65534"));
    assert_eq!(status_field(&out, "Umask"), Some("0027"));
    assert!(out.contains("umask=0027\n"), "{out}");
    assert!(out.contains("id=1000:1000\n"), "{out}");
}

#[test]
fn rlimit_nofile_below_the_hard_limit() {
    let out = sh_output(
        "rlimit",
        "grep 'Max open files' /proc/self/limits; ulimit -n; ulimit -Hn",
        |v| {
            v["process"]["rlimits"] =
                json!([{"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000}]);
        },
    );
    let mut lines = out.lines();
    let limits: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(limits[3..6], ["1000", "2000", "files"], "{out}");
    assert_eq!(lines.collect::<Vec<_>>(), ["1000", "2000"]);
}

#[test]
fn no_new_privileges() {
    let on = sh_output("nnp", STATUS_SCRIPT, |v| {
        v["process"]["noNewPrivileges"] = json!(true)
    });
    assert_eq!(status_field(&on, "NoNewPrivs"), Some("1"));
    let off = sh_output("nnp-off", STATUS_SCRIPT, |v| {
        v["process"]["noNewPrivileges"] = json!(false)
    });
    assert_eq!(status_field(&off, "NoNewPrivs"), Some("0"));
}

#[test]
fn masked_and_readonly_paths() {
    // Make the test mean something on this host: what is masked has content here.
    assert!(std::fs::metadata("/proc/timer_list").is_ok());
    assert!(std::fs::read_dir("/sys/firmware").unwrap().next().is_some());
    let out = sh_output(
        "masked",
        "echo kcore=$(cat /proc/kcore 2>/dev/null | wc -c); \
         echo timer_list=$(wc -c < /proc/timer_list); \
         echo keys=$(cat /proc/keys | wc -c); \
         echo acpi=$(ls -A /proc/acpi | wc -l); \
         echo firmware=$(ls -A /sys/firmware | wc -l); \
         touch /proc/acpi/x 2>/dev/null; echo acpi_write=$?; \
         (echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; echo sys_write=$?; \
         (cat /proc/irq/default_smp_affinity > /proc/irq/default_smp_affinity) 2>&1; \
         echo irq_write=$?",
        |_| {},
    );
    for expected in [
        "kcore=0\n",
        "timer_list=0\n",
        "keys=0\n",
        "acpi=0\n",
        "firmware=0\n",
    ] {
        assert!(out.contains(expected), "want {expected:?} in:\n{out}");
    }
    for f in ["acpi_write", "sys_write", "irq_write"] {
        assert!(!out.contains(&format!("{f}=0")), "{f} succeeded:\n{out}");
    }
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
}

#[test]
fn default_devices_and_links() {
    let out = sh_output(
        "devices",
        "stat -c '%n %F %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; \
         for l in fd stdin stdout stderr ptmx; do echo /dev/$l '->' $(readlink /dev/$l); done; \
         echo zero=$(head -c 5 /dev/zero | wc -c); echo x > /dev/null && echo null_ok",
        |_| {},
    );
    let expected = "\
/dev/null character special file 1:3 666
/dev/zero character special file 1:5 666
/dev/full character special file 1:7 666
/dev/random character special file 1:8 666
/dev/urandom character special file 1:9 666
/dev/tty character special file 5:0 666
/dev/fd -> /proc/self/fd
/dev/stdin -> /proc/self/fd/0
/dev/stdout -> /proc/self/fd/1
/dev/stderr -> /proc/self/fd/2
/dev/ptmx -> pts/ptmx
zero=5
null_ok
";
    assert_eq!(out, expected);
}

#[test]
fn devices_and_links_share_one_open_parent() {
    // The default device nodes and links all go into /dev: its directory is
    // resolved in the root once for them, not once each (15 `openat2` of it in all
    // before). The /dev mount and the mounts below it (pts, shm, mqueue) open it on
    // their own: 4.
    let root = StateRoot::new();
    let b = Bundle::new("dev-parent");
    let Some((_, log)) = strace_run(&root, &b, "openat2,mknodat,symlinkat") else {
        return;
    };
    let opens = log
        .lines()
        .filter(|l| l.contains("openat2(") && l.contains(", \"dev\","))
        .count();
    let made = log
        .lines()
        .filter(|l| l.contains("mknodat(") || l.contains("symlinkat("))
        .count();
    assert_eq!(made, 11, "{log}");
    assert!(opens <= 5, "/dev opened {opens} times: {log}");
}

#[test]
fn linux_devices_are_created() {
    let out = sh_output(
        "lxdev",
        "stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/myfifo /dev/rootnull; \
         echo x > /dev/rootnull && echo write_ok",
        |v| {
            v["linux"]["devices"] = json!([
                {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                 "fileMode": 0o640, "uid": 1000, "gid": 5},
                {"path": "/dev/myfifo", "type": "p", "fileMode": 0o600, "uid": 0, "gid": 0},
                {"path": "/dev/rootnull", "type": "c", "major": 1, "minor": 3,
                 "fileMode": 0o600, "uid": 0, "gid": 0}
            ]);
            // The device cgroup must allow it too (runc's spec denies all by default).
            v["linux"]["resources"]["devices"]
                .as_array_mut()
                .unwrap()
                .push(json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}));
        },
    );
    assert_eq!(
        out,
        "/dev/mynull character special file 1:3 640 1000:5\n\
         /dev/myfifo fifo 0:0 600 0:0\n\
         /dev/rootnull character special file 1:3 600 0:0\n\
         write_ok\n"
    );
}

#[test]
fn sysctls_are_applied_in_the_containers_namespaces() {
    let host_fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let host_shm = std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap();
    let out = sh_output(
        "sysctl",
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax",
        |v| {
            let want_fwd = if host_fwd.trim() == "1" { "0" } else { "1" };
            v["linux"]["sysctl"] =
                json!({"net.ipv4.ip_forward": want_fwd, "kernel.shmmax": "123456789"});
        },
    );
    let want_fwd = if host_fwd.trim() == "1" { "0" } else { "1" };
    assert_eq!(out, format!("{want_fwd}\n123456789\n"));
    // The host's values are untouched.
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_fwd
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/shmmax").unwrap(),
        host_shm
    );
}

#[test]
fn env_is_exactly_the_configs() {
    let b = Bundle::new("env").args(&["env"]).modify(|v| {
        let env = v["process"]["env"].as_array_mut().unwrap();
        env.push(json!("FOO=bar baz"));
        env.push(json!("EMPTY="));
        env.push(json!("HOME=/root"));
    });
    let o = run_bundle(&b);
    o.assert_success();
    let mut got: Vec<&str> = o.stdout.lines().collect();
    let mut want: Vec<String> = b.config()["process"]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{o}");
}

#[test]
fn cwd_is_the_configs() {
    let out = sh_output("cwd", "pwd", |v| v["process"]["cwd"] = json!("/tmp"));
    assert_eq!(out, "/tmp\n");
}

#[test]
fn args_are_looked_up_in_the_containers_path() {
    let b = Bundle::new("path")
        .args(&["echo", "hello", "two words"])
        .modify(|v| {
            let env = v["process"]["env"].as_array_mut().unwrap();
            env.retain(|e| !e.as_str().unwrap().starts_with("PATH="));
            env.push(json!("PATH=/nonexistent:/usr/bin:/bin"));
        });
    let o = run_bundle(&b);
    o.assert_success();
    assert_eq!(o.stdout, "hello two words\n");
}

#[test]
fn stdin_is_inherited() {
    let b = Bundle::new("stdin").args(&["cat"]);
    let o = run_bundle_with(&b, &[], Some(b"through the container\n"));
    o.assert_success();
    assert_eq!(o.stdout, "through the container\n");
}

#[test]
fn stdout_and_stderr_are_separate() {
    let b = sh_bundle("stdio", "echo out; echo err >&2; echo out2");
    let o = run_bundle(&b);
    o.assert_success();
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str()),
        ("out\nout2\n", "err\n")
    );
}

#[test]
fn run_propagates_exit_codes() {
    for code in [0, 1, 7, 255] {
        let b = sh_bundle("exit", &format!("exit {code}"));
        let o = run_bundle(&b);
        assert_eq!(o.status, Some(code), "{o}");
    }
}

/// `run --pid-file F` in the background, for tests that signal it.
struct BackgroundRun {
    root: StateRoot,
    bundle: Bundle,
    proc_: Option<Background>,
}

impl BackgroundRun {
    fn start(bundle: Bundle) -> BackgroundRun {
        let root = StateRoot::new();
        let pid_file = bundle.pid_file();
        let cmd = root.command(&[
            "run",
            "--bundle",
            bundle.path().to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            bundle.id(),
        ]);
        let proc_ = Some(Background::spawn(cmd));
        BackgroundRun {
            root,
            bundle,
            proc_,
        }
    }

    fn wait_pid(&self) -> i32 {
        let mut pid = None;
        wait_until("the pid file", TIMEOUT, || {
            pid = std::fs::read_to_string(self.bundle.pid_file())
                .ok()
                .and_then(|s| s.trim().parse().ok());
            pid.is_some()
        });
        pid.unwrap()
    }

    /// Send `sig` to the `run` process every 2 ms until it exits (also while it
    /// cleans up after the container exited: such signals must not kill it).
    fn signal_until_exit(&mut self, sig: i32) -> Output {
        let p = self.proc_.as_mut().unwrap();
        wait_until("run to exit after signals", TIMEOUT, || {
            p.signal(sig);
            std::thread::sleep(Duration::from_millis(2));
            p.exited()
        });
        self.finish()
    }

    fn finish(&mut self) -> Output {
        let o = self.proc_.take().unwrap().wait(TIMEOUT);
        assert_no_leftovers(self.root.path(), self.bundle.id());
        o
    }
}

impl Drop for BackgroundRun {
    fn drop(&mut self) {
        drop(self.proc_.take());
        drop(Container::new(&self.root, &self.bundle));
    }
}

#[test]
fn run_exits_137_when_the_container_is_killed() {
    let mut r = BackgroundRun::start(Bundle::new("kill9").args(&["sleep", "60"]));
    let pid = r.wait_pid();
    assert!(process_alive(pid));
    // SAFETY: kill(2) with a pid and a signal; no memory is involved.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let o = r.finish();
    assert_eq!(o.status, Some(137), "{o}");
}

#[test]
fn run_forwards_sigterm_to_a_handler_in_pid_1() {
    // pid 1 ignores SIGTERM without a handler: the trap proves the signal arrived
    // (early signals, before the trap is set, are ignored; they are repeated).
    let mut r = BackgroundRun::start(sh_bundle(
        "term",
        "trap 'echo got TERM; exit 43' TERM; while :; do sleep 0.05; done",
    ));
    r.wait_pid();
    let o = r.signal_until_exit(libc::SIGTERM);
    assert_eq!(o.status, Some(43), "{o}");
    assert!(o.stdout.starts_with("got TERM\n"), "{o}");
}

#[test]
fn run_exits_143_when_sigterm_kills_the_container() {
    // Without a pid namespace the process is not a namespace init: SIGTERM kills it.
    let b = Bundle::new("term143")
        .args(&["sleep", "60"])
        .modify(|v| without_namespace(v, "pid"));
    let mut r = BackgroundRun::start(b);
    r.wait_pid();
    let o = r.signal_until_exit(libc::SIGTERM);
    assert_eq!(o.status, Some(143), "{o}");
}

/// `run --preserve-fds N` with fds 3, 4 and 5 open (not close-on-exec) in the caller.
fn run_with_open_fds(name: &str, preserve: &str) -> Output {
    let root = StateRoot::new();
    let b = sh_bundle(
        name,
        "ls /proc/$$/fd; if [ -e /proc/$$/fd/3 ]; then cat <&3; fi",
    );
    let _guard = Container::new(&root, &b);
    let fd3 = TempDir::new("fastrun-fd3-");
    std::fs::write(fd3.path().join("f"), "content of fd 3\n").unwrap();
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg("exec 3<\"$0\" 4>/dev/null 5</etc/passwd; shift; exec \"$@\"")
        .arg(fd3.path().join("f"))
        .arg("--")
        .arg(fastrun_bin())
        .arg("--root")
        .arg(root.path())
        .args(["run", "--preserve-fds", preserve, "--bundle"])
        .arg(b.path())
        .arg(b.id());
    let o = run_cmd(c, None, TIMEOUT);
    assert_no_leftovers(root.path(), b.id());
    o
}

#[test]
fn preserve_fds_passes_exactly_n_fds() {
    let o = run_with_open_fds("fds2", "2");
    o.assert_success();
    assert_eq!(o.stdout, "0\n1\n2\n3\n4\ncontent of fd 3\n");
}

#[test]
fn no_fd_leaks_without_preserve_fds() {
    let o = run_with_open_fds("fds0", "0");
    o.assert_success();
    assert_eq!(o.stdout, "0\n1\n2\n");
}

#[test]
fn no_pivot_works() {
    let b = sh_bundle("nopivot", "ls /; cat /proc/self/mountinfo");
    let o = run_bundle_with(&b, &["--no-pivot"], None);
    o.assert_success();
    let mut lines = o.stdout.lines();
    let listing: Vec<&str> = lines.by_ref().take(7).collect();
    assert_eq!(
        listing,
        ["bin", "dev", "etc", "proc", "root", "sys", "tmp"],
        "{o}"
    );
    let rest: String = lines.map(|l| format!("{l}\n")).collect();
    for m in parse_mountinfo(&rest) {
        assert!(
            m.point == "/"
                || ["/proc", "/dev", "/sys"]
                    .iter()
                    .any(|p| m.point.starts_with(p)),
            "host mount {} visible with --no-pivot:\n{o}",
            m.point
        );
    }
}

#[test]
fn pid_file_holds_the_inits_host_pid() {
    let root = StateRoot::new();
    let b = Bundle::new("pidfile").args(&["sleep", "60"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let pid = c.pid().expect("pid file");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(status_field(&status, "NSpid"), Some(&*format!("{pid}\t1")));
    assert_eq!(c.state_json()["pid"], json!(pid));
    c.start().assert_success();
    c.wait_status("running", TIMEOUT);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x0060\x00");
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

/// A network namespace made with `ip netns add`, deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new(name: &str) -> NetNs {
        let name = format!("{name}-{}", std::process::id());
        let mut c = Command::new("ip");
        c.args(["netns", "add", &name]);
        run_cmd(c, None, TIMEOUT).assert_success();
        NetNs(name)
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let mut c = Command::new("ip");
        c.args(["netns", "del", &self.0]);
        let _ = run_cmd(c, None, TIMEOUT);
    }
}

#[test]
fn joins_a_network_namespace_by_path() {
    let ns = NetNs::new("ft-join");
    let ino = std::fs::metadata(ns.path()).unwrap().ino();
    let out = sh_output("joinnet", "readlink /proc/self/ns/net", |v| {
        add_namespace(v, json!({"type": "network", "path": ns.path()}));
    });
    assert_eq!(out, format!("net:[{ino}]\n"));
}

/// A new network namespace (and no user namespace) is made by a thread of the
/// runtime while it plans the cgroup and builds the plan, and the init joins it
/// (`spawn::netns`): the init's clone3 does not make one. What the process sees is
/// what a cloned namespace gives: its own, with one interface, `lo`, up
/// (`runc_parity::loopback_is_up_in_a_new_network_namespace` compares with runc).
#[test]
fn a_new_network_namespace_is_made_beside_the_runtimes_work() {
    let root = StateRoot::new();
    let b = sh_bundle(
        "netns-beside",
        "readlink /proc/self/ns/net; cat /sys/class/net/lo/flags; ls /sys/class/net; \
         grep -c : /proc/net/dev",
    );
    let Some((o, log)) = strace_run(&root, &b, "clone3,unshare,setns") else {
        return;
    };
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    let seen: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(seen.len(), 4, "{}", o.stdout);
    assert!(seen[0].starts_with("net:["), "{}", o.stdout);
    assert_ne!(
        seen[0],
        host.to_str().unwrap(),
        "the host's network namespace"
    );
    assert_eq!(&seen[1..], ["0x9", "lo", "1"], "{}", o.stdout);

    let pid_of = |l: &str| l.split_whitespace().next().unwrap_or("").to_string();
    let clones: Vec<&str> = log.lines().filter(|l| l.contains("clone3(")).collect();
    assert!(!clones.is_empty(), "{log}");
    assert!(
        clones.iter().all(|l| !l.contains("CLONE_NEWNET")),
        "the init's clone3 made the network namespace: {log}"
    );
    let made: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("unshare(CLONE_NEWNET"))
        .collect();
    assert_eq!(made.len(), 1, "one namespace made by the runtime: {log}");
    let joined: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("setns(") && l.contains("CLONE_NEWNET"))
        .collect();
    assert_eq!(joined.len(), 1, "the init joins it: {log}");
    assert_ne!(
        pid_of(made[0]),
        pid_of(joined[0]),
        "made by a thread of the runtime, not the init: {log}"
    );
}

/// With a user namespace the network namespace must be owned by it: the init's
/// clone3 makes both, as before, and the container's root administers its `lo`.
#[test]
fn a_network_namespace_beside_a_user_namespace_is_the_inits() {
    let root = StateRoot::new();
    let b = sh_bundle(
        "netns-userns",
        "cat /sys/class/net/lo/flags; ip link set lo down && cat /sys/class/net/lo/flags",
    )
    .modify(|v| {
        with_userns(v);
        for set in ["bounding", "effective", "permitted"] {
            v["process"]["capabilities"][set] = json!(["CAP_NET_ADMIN"]);
        }
    });
    let Some((o, log)) = strace_run(&root, &b, "clone3,unshare,setns") else {
        return;
    };
    assert_eq!(o.stdout, "0x9\n0x8\n", "{}", o.stdout);
    assert!(
        log.lines().any(|l| l.contains("clone3(")
            && l.contains("CLONE_NEWUSER")
            && l.contains("CLONE_NEWNET")),
        "{log}"
    );
    assert!(!log.contains("unshare(CLONE_NEWNET"), "{log}");
}

const USERNS_MAP: u32 = 100_000;

fn with_userns(v: &mut Value) {
    add_namespace(v, json!({"type": "user"}));
    let map = json!([{"containerID": 0, "hostID": USERNS_MAP, "size": 65536}]);
    v["linux"]["uidMappings"] = map.clone();
    v["linux"]["gidMappings"] = map;
}

#[test]
fn user_namespace_maps_root() {
    let out = sh_output(
        "userns",
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map",
        with_userns,
    );
    let norm: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        norm,
        ["0", "0", "0 100000 65536", "0 100000 65536"],
        "{out}"
    );
}

#[test]
fn user_namespace_uid_seen_from_the_host() {
    let root = StateRoot::new();
    let b = Bundle::new("userns-host")
        .args(&["sleep", "60"])
        .modify(with_userns);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    c.wait_status("running", TIMEOUT);
    let pid = c.pid().unwrap();
    wait_until("the init to exec sleep", TIMEOUT, || {
        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep\0"))
    });
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let u = USERNS_MAP;
    assert_eq!(
        status_field(&status, "Uid"),
        Some(&*format!("{u}\t{u}\t{u}\t{u}"))
    );
    assert_eq!(
        status_field(&status, "Gid"),
        Some(&*format!("{u}\t{u}\t{u}\t{u}"))
    );
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

#[test]
fn time_namespace_offsets() {
    const OFFSET: f64 = 864_000.0; // ten days
    let out = sh_output("timens", "cat /proc/uptime", |v| {
        add_namespace(v, json!({"type": "time"}));
        v["linux"]["timeOffsets"] = json!({
            "boottime": {"secs": OFFSET as i64, "nanosecs": 0},
            "monotonic": {"secs": OFFSET as i64, "nanosecs": 0}
        });
    });
    let host: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let inside: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
    let shift = inside - host;
    assert!(
        (OFFSET - 60.0..=OFFSET + 1.0).contains(&shift),
        "uptime inside {inside}, host {host}: shift {shift}"
    );
}

/// Set `sig` to SIG_IGN with the raw system call (glibc's `signal` refuses its
/// reserved 32 and 33).
fn ignore_raw(sig: i32) -> std::io::Result<()> {
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let ign = KernelSigaction {
        handler: libc::SIG_IGN,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction with a valid kernel sigaction and no old-action pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &ign as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            8usize,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn signals_the_caller_ignores_are_default_in_the_container() {
    use std::os::unix::process::CommandExt;
    let b = Bundle::new("sigign").args(&["cat", "/proc/self/status"]);
    let root = StateRoot::new();
    let _guard = Container::new(&root, &b);
    let mut cmd = root.command(&["run", "--bundle", b.path().to_str().unwrap(), b.id()]);
    // A caller that ignores classic, glibc-reserved and real-time signals.
    // SAFETY: only async-signal-safe raw system calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGHUP, libc::SIGTERM, 32, 33, 40, 64] {
                ignore_raw(sig)?;
            }
            Ok(())
        });
    }
    let o = run_cmd(cmd, None, TIMEOUT);
    o.assert_success();
    assert_eq!(
        status_field(&o.stdout, "SigIgn"),
        Some("0000000000000000"),
        "{o}"
    );
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn cgroup_namespace_is_rooted_at_the_containers_cgroup() {
    // As under runc: every hierarchy's path is `/`, and the cgroup mounts show the
    // container's cgroups as their root (the namespace is made after the process
    // joined them, v1 included, where the child cannot be cloned into a cgroup).
    let out = sh_output(
        "cgroupns",
        "cat /proc/self/cgroup; echo ---; grep cgroup /proc/self/mountinfo",
        |v| add_namespace(v, json!({"type": "cgroup"})),
    );
    let (cgroups, mounts) = out.split_once("---").unwrap();
    for l in cgroups.lines() {
        assert!(l.ends_with(":/"), "not rooted at the namespace: {l}\n{out}");
    }
    for l in mounts.lines().filter(|l| l.contains(" - cgroup")) {
        let root = l.split(' ').nth(3).unwrap();
        assert_eq!(
            root, "/",
            "cgroup mount not rooted at the namespace: {l}\n{out}"
        );
    }
}

/// (pid, pgrp, session) from /proc/self/stat text.
pub fn pid_pgrp_session(stat: &str) -> (i64, i64, i64) {
    let pid = stat.split(' ').next().unwrap().parse().unwrap();
    let rest: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    (pid, rest[2].parse().unwrap(), rest[3].parse().unwrap())
}

#[test]
fn init_leads_its_own_session_and_process_group() {
    // As under runc: not the caller's group and session (outside the pid namespace,
    // where getpgrp() and getsid() give 0).
    let b = Bundle::new("session").args(&["cat", "/proc/self/stat"]);
    let o = run_bundle(&b);
    o.assert_success();
    assert_eq!(pid_pgrp_session(&o.stdout), (1, 1, 1), "{o}");
}
