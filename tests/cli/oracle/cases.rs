//! The cases: a name, a config mutation, a command line. Each runs under runc and
//! fastrun with the same bundle; see observe.rs for what is compared.

use serde_json::{json, Value};

use super::observe::{default_spec, Case, Ctx, Mode, OBSERVE, REPORT};

fn push(v: &mut Value, path: &str, item: Value) {
    let mut cur = v;
    for p in path.split('.') {
        cur = &mut cur[p];
    }
    if !cur.is_array() {
        *cur = json!([]);
    }
    cur.as_array_mut().unwrap().push(item);
}

fn env(v: &mut Value, var: &str) {
    push(v, "process.env", var.into());
}

fn add_ns(v: &mut Value, ns: &str) {
    push(v, "linux.namespaces", json!({"type": ns}));
}

fn remove_ns(v: &mut Value, ns: &str) {
    if let Some(a) = v["linux"]["namespaces"].as_array_mut() {
        a.retain(|n| n["type"] != ns);
    }
}

fn userns(v: &mut Value) {
    add_ns(v, "user");
    v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
}

const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The system calls the observer, busybox `sleep` and both runtimes' last steps
/// need; everything else gets the default action.
const ALLOW: &[&str] = &[
    "access",
    "arch_prctl",
    "brk",
    "capget",
    "capset",
    "chdir",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fchdir",
    "fchown",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getpgrp",
    "getpid",
    "getppid",
    "getrandom",
    "getresgid",
    "getresuid",
    "getrlimit",
    "getsid",
    "gettid",
    "getuid",
    "ioctl",
    "lseek",
    "lstat",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "clock_nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pipe2",
    "prctl",
    "pread64",
    "prlimit64",
    "read",
    "readlink",
    "readlinkat",
    "rseq",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "set_robust_list",
    "set_tid_address",
    "setgid",
    "setgroups",
    "setresgid",
    "setresuid",
    "setsid",
    "setuid",
    "sigaltstack",
    "socket",
    "stat",
    "statfs",
    "statx",
    "tgkill",
    "umask",
    "uname",
    "wait4",
    "write",
    "writev",
    "clone",
    "fork",
    "vfork",
    "kill",
    "waitid",
    "getpriority",
];

fn seccomp_allowlist(default_errno: bool) -> Value {
    let mut p = json!({
        "defaultAction": if default_errno { "SCMP_ACT_ERRNO" } else { "SCMP_ACT_ALLOW" },
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ALLOW, "action": "SCMP_ACT_ALLOW"}]
    });
    if !default_errno {
        p["syscalls"] = json!([
            {"names": ["getpriority", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["sethostname"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_EQ"}]},
        ]);
    }
    p
}

fn hooks_all(v: &mut Value, c: &Ctx) {
    v["hooks"] = json!({
        "prestart": [c.hook("prestart")],
        "createRuntime": [c.hook("createRuntime")],
        "createContainer": [c.hook("createContainer")],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c",
            "env > /oracle-out/hook.startContainer.env; pwd > /oracle-out/hook.startContainer.cwd; \
             cat > /oracle-out/hook.startContainer.stdin"]}],
        "poststart": [c.hook("poststart")],
        "poststop": [c.hook("poststop")],
    });
}

pub fn spec_cases() -> Vec<Case> {
    vec![
        Case::run("spec-default", |_, _| {}),
        Case::run("spec-create-start", |_, _| {}).mode(Mode::CreateStart),
        Case::run("spec-terminal", |v, _| {
            v["process"]["terminal"] = true.into();
            v["process"]["consoleSize"] = json!({"height": 31, "width": 97});
        }),
        Case::run("spec-rootless", |v, c| {
            let spec = default_spec(true);
            let keep = v["mounts"].as_array().unwrap().last().cloned().unwrap();
            v["linux"] = spec["linux"].clone();
            v["linux"]["cgroupsPath"] = format!("/{}", c.id).into();
            v["mounts"] = spec["mounts"].clone();
            push(v, "mounts", keep);
        }),
        Case::run("spec-user-1000", |v, _| {
            v["process"]["user"] =
                json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 65534], "umask": 23});
            v["process"]["cwd"] = "/tmp".into();
        }),
        Case::run("spec-userns", |v, _| userns(v)),
        Case::run("spec-writable-root", |_, _| {}).fresh(),
        Case::run("spec-extra-mounts", |v, c| {
            std::fs::create_dir_all(c.bundle.join("data")).unwrap();
            push(
                v,
                "mounts",
                json!({"destination": "/mnt", "type": "bind",
                "source": c.bundle.join("data").to_str().unwrap(),
                "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]}),
            );
            push(
                v,
                "mounts",
                json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777", "size=1m", "noatime"]}),
            );
            push(
                v,
                "mounts",
                json!({"destination": "/etc/hostname", "type": "bind",
                "source": c.bundle.join("hook.sh").to_str().unwrap(), "options": ["bind", "ro"]}),
            );
        }),
        Case::run("spec-caps-full", |v, _| {
            let caps = json!(ALL_CAPS);
            v["process"]["capabilities"] = json!({"bounding": caps, "effective": caps,
                "permitted": caps, "inheritable": caps, "ambient": caps});
            v["process"]["noNewPrivileges"] = false.into();
        }),
        Case::run("spec-caps-user-ambient", |v, _| {
            let caps = json!(["CAP_NET_RAW", "CAP_CHOWN"]);
            v["process"]["capabilities"] = json!({"bounding": caps, "effective": caps,
                "permitted": caps, "inheritable": caps, "ambient": ["CAP_NET_RAW"]});
            v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        }),
        Case::run("spec-rlimits", |v, _| {
            v["process"]["rlimits"] = json!([
                {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
                {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                {"type": "RLIMIT_NPROC", "soft": 1000, "hard": 2000},
                {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608},
            ]);
        }),
        Case::run("spec-sysctls", |v, _| {
            v["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1",
                "net.ipv4.ping_group_range": "0 1000", "kernel.shmmax": "4096",
                "fs.mqueue.msg_max": "20", "net.ipv4.tcp_keepalive_time": "600"});
            env(v, "ORACLE_SYSCTLS=net.ipv4.tcp_keepalive_time");
        }),
        Case::run("spec-seccomp-deny", |v, _| {
            v["linux"]["seccomp"] = seccomp_allowlist(false);
        }),
        Case::run("spec-seccomp-allowlist", |v, _| {
            v["linux"]["seccomp"] = seccomp_allowlist(true);
        }),
        Case::run("spec-hostname", |v, _| {
            v["hostname"] = "oracle-host".into();
            v["domainname"] = "example.org".into();
        }),
        Case::run("spec-hooks", hooks_all),
        Case::run("spec-hooks-env", |v, c| {
            let mut h = c.hook("prestart");
            h["env"] = json!(["FOO=bar", "PATH=/bin"]);
            h["timeout"] = 5.into();
            v["hooks"] = json!({"prestart": [h]});
        }),
        Case::run("spec-host-namespaces", |v, _| {
            for ns in ["pid", "network", "ipc", "uts"] {
                remove_ns(v, ns);
            }
            v["mounts"].as_array_mut().unwrap().retain(|m| {
                m["destination"] != "/sys"
                    && m["destination"] != "/sys/fs/cgroup"
                    && m["destination"] != "/dev/mqueue"
            });
            v["hostname"] = Value::Null;
        }),
        Case::run("spec-cgroupns", |v, _| add_ns(v, "cgroup")),
        Case::run("spec-join-ns-by-path", |v, _| {
            // The test's (the host's) network and ipc namespaces (never uts: a
            // hostname would be the host's).
            for ns in ["network", "ipc"] {
                remove_ns(v, ns);
            }
            let me = std::process::id();
            push(
                v,
                "linux.namespaces",
                json!({"type": "network", "path": format!("/proc/{me}/ns/net")}),
            );
            push(
                v,
                "linux.namespaces",
                json!({"type": "ipc", "path": format!("/proc/{me}/ns/ipc")}),
            );
            v["mounts"]
                .as_array_mut()
                .unwrap()
                .retain(|m| m["destination"] != "/dev/mqueue");
        }),
        Case::run("spec-process-misc", |v, _| {
            v["process"]["oomScoreAdj"] = 100.into();
            v["process"]["cwd"] = "/tmp".into();
            v["process"]["args"] = json!([OBSERVE, REPORT, "two words", ""]);
            env(v, "EMPTY=");
            env(v, "HOME=/custom");
        }),
        Case::run("spec-env-duplicates", |v, _| {
            env(v, "DUP=first");
            env(v, "OTHER=x");
            env(v, "DUP=second");
            env(v, "PATH=/oracle:/bin");
        }),
        Case::run("spec-masks", |v, _| {
            push(v, "linux.maskedPaths", "/etc/passwd".into());
            push(v, "linux.maskedPaths", "/nonexistent".into());
            push(v, "linux.readonlyPaths", "/tmp".into());
            push(v, "linux.readonlyPaths", "/nonexistent2".into());
        }),
        Case::run("spec-devices", |v, _| {
            push(
                v,
                "linux.devices",
                json!({"path": "/dev/fuse", "type": "c", "major": 10,
                "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}),
            );
            push(
                v,
                "linux.devices",
                json!({"path": "/dev/loop-oracle", "type": "b",
                "major": 7, "minor": 200, "fileMode": 384, "uid": 1000, "gid": 5}),
            );
            push(
                v,
                "linux.resources.devices",
                json!({"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}),
            );
        }),
        Case::run("spec-propagation-slave", |v, _| {
            v["linux"]["rootfsPropagation"] = "slave".into();
        }),
        Case::run("spec-propagation-private", |v, _| {
            v["linux"]["rootfsPropagation"] = "private".into();
        }),
        Case::run("spec-nnp-off", |v, _| {
            v["process"]["noNewPrivileges"] = false.into();
        }),
        Case::run("spec-exit-code", |v, _| {
            v["process"]["args"] =
                json!(["sh", "-c", "/oracle/observe /oracle-out/report; exit 3"]);
        }),
        Case::run("spec-killed", |v, _| {
            v["process"]["args"] =
                json!(["sh", "-c", "/oracle/observe /oracle-out/report; kill -9 $$"]);
        }),
    ]
}

pub fn issue16_cases() -> Vec<Case> {
    let sleep_steps = |extra: Vec<Vec<&'static str>>| {
        let mut s = vec![vec!["run", "-d", "--bundle", "{B}", "{ID}"]];
        s.extend(extra);
        s.push(vec!["kill", "{ID}", "KILL"]);
        s.push(vec!["@stopped"]);
        s.push(vec!["delete", "{ID}"]);
        Mode::Steps(s)
    };
    let sleep = |v: &mut Value, _: &Ctx| v["process"]["args"] = json!(["sleep", "30"]);
    vec![
        Case::run("i01-exec-terminal-config", |v, _| {
            v["process"]["terminal"] = true.into()
        })
        .mode(Mode::Exec(vec![])),
        Case::run("i01-exec-d-terminal-config", |v, _| {
            v["process"]["terminal"] = true.into()
        })
        .mode(Mode::Exec(vec!["-d"])),
        Case::run("i01-exec-process-file-terminal", |v, c| {
            let mut p = v["process"].clone();
            p["terminal"] = true.into();
            std::fs::write(c.bundle.join("process.json"), p.to_string()).unwrap();
        })
        .mode(Mode::Exec(vec!["--process", "{B}/process.json"])),
        Case::run("i02-exec-errors", sleep).mode(sleep_steps(vec![
            vec![
                "exec",
                "--pid-file",
                "/nonexistent-oracle/dir/pid",
                "{ID}",
                "true",
            ],
            vec!["pause", "{ID}"],
            vec!["exec", "{ID}", "true"],
            vec!["resume", "{ID}"],
            vec!["exec", "{ID}", "sh", "-c", "exit 7"],
            vec!["exec", "{ID}", "/nonexistent-binary"],
        ])),
        Case::run("i03-exec-cgroup", sleep).mode(sleep_steps(vec![
            vec!["exec", "--cgroup", "..", "{ID}", "true"],
            vec!["exec", "--cgroup", "nonexistent", "{ID}", "true"],
            vec!["exec", "--cgroup", "memory:nonexistent", "{ID}", "true"],
        ])),
        Case::run("i05-pty-owner", |v, _| {
            v["process"]["terminal"] = true.into();
            v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        }),
        Case::run("i08-i10-seccomp-errno-default", |v, _| {
            v["linux"]["seccomp"] = seccomp_allowlist(true);
        }),
        Case::run("i09-seccomp-unknown-name", |v, _| {
            let mut p = seccomp_allowlist(false);
            push(
                &mut p,
                "syscalls",
                json!({"names": ["oracle_no_such_syscall", "getpriority"], "action": "SCMP_ACT_ERRNO"}),
            );
            v["linux"]["seccomp"] = p;
        }),
        Case::run("i11-propagation-shared", |v, _| {
            v["linux"]["rootfsPropagation"] = "shared".into();
        }),
        Case::run("i11-propagation-rshared", |v, _| {
            v["linux"]["rootfsPropagation"] = "rshared".into();
        }),
        Case::run("i11-propagation-unbindable", |v, _| {
            v["linux"]["rootfsPropagation"] = "unbindable".into();
        }),
        Case::run("i12-dev-readonly", |v, _| {
            for m in v["mounts"].as_array_mut().unwrap() {
                if m["destination"] == "/dev" {
                    push(m, "options", "ro".into());
                }
            }
        }),
        Case::run("i13-bind-host-proc", |v, _| {
            remove_ns(v, "pid");
            for m in v["mounts"].as_array_mut().unwrap() {
                if m["destination"] == "/proc" {
                    *m = json!({"destination": "/proc", "type": "bind", "source": "/proc",
                        "options": ["rbind", "nosuid", "nodev", "noexec"]});
                }
            }
        }),
        Case::run("i14-userns-root-only-source", |v, c| {
            use std::os::unix::fs::PermissionsExt;
            let d = c.bundle.join("secret");
            std::fs::create_dir_all(d.join("inner")).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
            userns(v);
            push(
                v,
                "mounts",
                json!({"destination": "/mnt", "type": "bind",
                "source": d.join("inner").to_str().unwrap(), "options": ["rbind", "ro"]}),
            );
        }),
        Case::run("i15-device-outside-dev", |v, _| {
            push(
                v,
                "linux.devices",
                json!({"path": "/mnt/mydev", "type": "c", "major": 1,
                "minor": 3, "fileMode": 438, "uid": 0, "gid": 0}),
            );
        })
        .fresh(),
        Case::run("i16-device-rule-rwa", |v, _| {
            push(
                v,
                "linux.resources.devices",
                json!({"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwa"}),
            );
        }),
        Case::run("i17-cpu-realtime", |v, c| {
            // Under a new parent, whose cpu.rt_runtime_us starts at 0 on v1.
            v["linux"]["cgroupsPath"] = format!("/{0}-parent/{0}", c.id).into();
            v["linux"]["resources"]["cpu"] =
                json!({"realtimeRuntime": 1000, "realtimePeriod": 1000000});
        }),
        Case::run("i18-empty-mount-option", |v, c| {
            std::fs::create_dir_all(c.bundle.join("data")).unwrap();
            push(
                v,
                "mounts",
                json!({"destination": "/mnt", "type": "bind",
                "source": c.bundle.join("data").to_str().unwrap(),
                "options": ["", "rw", "private", "rbind"]}),
            );
        }),
        Case::run("i19-home-from-passwd", |v, _| {
            v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        }),
        Case::run("i20-missing-cwd", |v, _| {
            v["process"]["cwd"] = "/new/sub".into();
        })
        .fresh(),
        Case::run("i23-failing-poststart", |v, c| {
            // The process outlives the hook: is it killed when the hook fails?
            v["process"]["args"] =
                json!(["sh", "-c", "sleep 1; /oracle/observe /oracle-out/report"]);
            v["hooks"] = json!({"poststart": [{"path": "/bin/false"}],
                "poststop": [c.hook("poststop")]});
        }),
        Case::run("i25-kill-signal-0", sleep).mode(sleep_steps(vec![
            vec!["kill", "-a", "{ID}", "0"],
            vec!["kill", "{ID}", "0"],
            vec!["kill", "--all", "{ID}", "SIGCONT"],
        ])),
    ]
}

pub fn exec_cases() -> Vec<Case> {
    vec![
        Case::run("exec-plain", |_, _| {}).mode(Mode::Exec(vec![])),
        Case::run("exec-tty", |_, _| {}).mode(Mode::Exec(vec![
            "-t",
            "-d",
            "--console-socket",
            "{SOCK}",
        ])),
        Case::run("exec-detach", |_, _| {}).mode(Mode::Exec(vec!["-d"])),
        Case::run("exec-user", |_, _| {}).mode(Mode::Exec(vec![
            "--user",
            "1000:1000",
            "--additional-gids",
            "5",
        ])),
        Case::run("exec-env-cwd", |_, _| {}).mode(Mode::Exec(vec![
            "--env",
            "FOO=bar",
            "--env",
            "PATH=/oracle",
            "--cwd",
            "/tmp",
        ])),
        Case::run("exec-cap", |_, _| {}).mode(Mode::Exec(vec!["--cap", "CAP_SYS_ADMIN"])),
        Case::run("exec-no-new-privs", |v, _| {
            v["process"]["noNewPrivileges"] = false.into()
        })
        .mode(Mode::Exec(vec!["--no-new-privs"])),
        Case::run("exec-userns", |v, _| userns(v)).mode(Mode::Exec(vec![])),
        Case::run("exec-seccomp", |v, _| {
            v["linux"]["seccomp"] = seccomp_allowlist(false)
        })
        .mode(Mode::Exec(vec![])),
    ]
}

/// A config captured from a real client (tests/cli/oracle/fixtures, see its README):
/// bind sources the client made (`/FIXTURE/NAME`) become files or directories in
/// the bundle; a terminal stays a terminal.
fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/cli/oracle/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn client(name: &'static str, file: &'static str) -> Case {
    let base = fixture(file);
    let terminal = base["process"]["terminal"] == json!(true);
    Case::run(name, move |v, c| {
        v["process"]["terminal"] = terminal.into();
        for m in v["mounts"].as_array_mut().unwrap() {
            let Some(src) = m["source"]
                .as_str()
                .and_then(|s| s.strip_prefix("/FIXTURE/"))
            else {
                continue;
            };
            let dst = m["destination"].as_str().unwrap_or("");
            let p = c.bundle.join("fixture").join(src);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            if dst.starts_with("/etc/") || dst.starts_with("/run/.") {
                std::fs::write(&p, format!("{src}\n")).unwrap();
            } else {
                std::fs::create_dir_all(&p).unwrap();
            }
            m["source"] = p.to_str().unwrap().into();
        }
    })
    .base(base)
    .fresh()
}

pub fn client_cases() -> Vec<Case> {
    vec![
        client("docker-default", "docker-default"),
        client("docker-options", "docker-options"),
        client("podman-default", "podman-default"),
        client("podman-options", "podman-options"),
        client("podman-tty", "podman-tty"),
        client("podman-exec", "podman-default").mode(Mode::Exec(vec!["--env", "X=1"])),
        client("containerd-ctr", "containerd-ctr"),
        client("containerd-ctr-tty", "containerd-ctr-tty"),
        client("containerd-exec", "containerd-ctr").mode(Mode::Exec(vec![
            "--process-label",
            "",
            "--user",
            "0:0",
        ])),
        client("buildah-run", "buildah-run"),
        client("buildah-volume", "buildah-volume"),
    ]
}

pub fn lifecycle_cases() -> Vec<Case> {
    let sleep = |v: &mut Value, _: &Ctx| v["process"]["args"] = json!(["sleep", "30"]);
    vec![
        Case::run("life-basic", sleep).mode(Mode::Steps(vec![
            vec!["create", "--bundle", "{B}", "{ID}"],
            vec!["state", "{ID}"],
            vec!["list"],
            vec!["list", "-q"],
            vec!["list", "--format", "json"],
            vec!["start", "{ID}"],
            vec!["state", "{ID}"],
            vec!["ps", "{ID}"],
            vec!["pause", "{ID}"],
            vec!["state", "{ID}"],
            vec!["resume", "{ID}"],
            vec!["kill", "{ID}", "KILL"],
            vec!["@stopped"],
            vec!["state", "{ID}"],
            vec!["delete", "{ID}"],
            vec!["state", "{ID}"],
            vec!["list", "--format", "json"],
        ])),
        Case::run("life-errors", sleep).mode(Mode::Steps(vec![
            vec!["start", "{ID}"],
            vec!["state", "{ID}"],
            vec!["delete", "{ID}"],
            vec!["kill", "{ID}"],
            vec!["pause", "{ID}"],
            vec!["exec", "{ID}", "true"],
            vec!["create", "--bundle", "{B}", "{ID}"],
            vec!["create", "--bundle", "{B}", "{ID}"],
            vec!["exec", "{ID}", "true"],
            vec!["kill", "{ID}", "NOSUCHSIG"],
            vec!["kill", "{ID}", "99"],
            vec!["resume", "{ID}"],
            vec!["start", "{ID}"],
            vec!["start", "{ID}"],
            vec!["delete", "{ID}"],
            vec!["kill", "{ID}", "KILL"],
            vec!["@stopped"],
            vec!["kill", "{ID}", "KILL"],
            vec!["start", "{ID}"],
            vec!["exec", "{ID}", "true"],
            vec!["delete", "{ID}"],
            vec!["delete", "--force", "{ID}"],
        ])),
        Case::run("life-bad-config", |v, _| v["process"]["args"] = json!([])).mode(Mode::Steps(
            vec![
                vec!["run", "--bundle", "{B}", "{ID}"],
                vec!["state", "{ID}"],
            ],
        )),
        Case::run("life-missing-binary", |v, _| {
            v["process"]["args"] = json!(["/nonexistent-binary"])
        })
        .mode(Mode::Steps(vec![
            vec!["run", "--bundle", "{B}", "{ID}"],
            vec!["state", "{ID}"],
        ])),
        Case::run("life-not-executable", |v, _| {
            v["process"]["args"] = json!(["/etc/passwd"])
        })
        .mode(Mode::Steps(vec![vec!["run", "--bundle", "{B}", "{ID}"]])),
        Case::run("life-bad-json", |v, _| {
            v["process"]["user"]["uid"] = "zero".into();
        })
        .mode(Mode::Steps(vec![vec!["run", "--bundle", "{B}", "{ID}"]])),
        Case::run("life-missing-rootfs", |v, c| {
            v["root"]["path"] = c.bundle.join("nope").to_str().unwrap().into();
        })
        .mode(Mode::Steps(vec![vec!["run", "--bundle", "{B}", "{ID}"]])),
        Case::run("life-run-detached", |_, _| {}).mode(Mode::Steps(vec![
            vec!["run", "-d", "--bundle", "{B}", "{ID}"],
            vec!["@stopped"],
            vec!["state", "{ID}"],
            vec!["delete", "{ID}"],
        ])),
        Case::run("life-spec", |_, _| {}).mode(Mode::Steps(vec![
            vec!["@fresh", "{B}/spec"],
            vec!["spec", "--bundle", "{B}/spec"],
            vec!["@cat", "{B}/spec/config.json"],
            vec!["spec", "--bundle", "{B}/spec"],
            vec!["@fresh", "{B}/spec"],
            vec!["spec", "--rootless", "--bundle", "{B}/spec"],
            vec!["@cat", "{B}/spec/config.json"],
            vec!["spec", "--bundle", "{B}/nonexistent"],
        ])),
        // No AppArmor and no SELinux on this host.
        Case::run("life-apparmor-profile", |v, _| {
            v["process"]["apparmorProfile"] = "docker-default".into();
        }),
        Case::run("life-selinux-label", |v, _| {
            v["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0".into();
        }),
        Case::run("life-mount-label", |v, _| {
            v["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0".into();
        }),
        Case::run("life-oom-negative", |v, _| {
            v["process"]["oomScoreAdj"] = (-500).into()
        })
        .mode(Mode::Steps(vec![vec!["run", "--bundle", "{B}", "{ID}"]])),
        Case::run("life-rlimit-above-hard", |v, _| {
            v["process"]["rlimits"] =
                json!([{"type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576}]);
        })
        .mode(Mode::Steps(vec![vec!["run", "--bundle", "{B}", "{ID}"]])),
        Case::run("life-sysctl-host-ns", |v, _| {
            // runc refuses a network sysctl without a network namespace; a runtime
            // that accepted it would write the host's: give it the host's own value
            // so that the host stays as it is whatever the runtime does.
            remove_ns(v, "network");
            let key = "/proc/sys/net/ipv4/tcp_keepalive_time";
            let now = std::fs::read_to_string(key).unwrap();
            v["linux"]["sysctl"] = json!({"net.ipv4.tcp_keepalive_time": now.trim()});
        })
        .mode(Mode::Steps(vec![vec!["run", "--bundle", "{B}", "{ID}"]])),
        Case::run("life-sysctl-unknown", |v, _| {
            v["linux"]["sysctl"] = json!({"kernel.oracle_no_such_key": "1"});
        })
        .mode(Mode::Steps(vec![vec!["run", "--bundle", "{B}", "{ID}"]])),
        Case::run("life-bad-id", |_, _| {}).mode(Mode::Steps(vec![
            vec!["run", "--bundle", "{B}", "../evil"],
            vec!["run", "--bundle", "{B}", ""],
            vec!["state", "a/b"],
        ])),
    ]
}
