//! fastrun under the real Docker (Debian's docker.io 20.10 on containerd 1.6):
//! `daemon.json` registers it (`"runtimes": {"fastrun": {"path": ...}}`), containers
//! run with `--runtime fastrun`, and where the outcome is the runtime's the same
//! scenario runs with dockerd's built-in `--runtime runc` and both must agree.
//!
//! Each test starts its own dockerd + containerd (see `tests/e2e/docker.rs`: every
//! path under a temp dir, no bridge, no iptables or forwarding change, its own cgroup
//! parent) and ends with [`Docker::finish`]: the daemons stopped by pid, then no
//! runtime state, cgroup, process, shim or mount may be left. Scenarios that do not
//! depend on each other run concurrently on one daemon.

use crate::common;
use crate::e2e;

use std::time::{Duration, Instant};

use e2e::docker::*;
use e2e::*;

/// Run `f(runtime)` for fastrun and runc at the same time.
fn both(f: impl Fn(&str) + Sync) {
    std::thread::scope(|s| {
        let hs: Vec<_> = RUNTIMES.iter().map(|rt| s.spawn(|| f(rt))).collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

/// `docker run --rm`: output, exit codes 0 and 1, 137 after `docker kill`; `-d` +
/// `logs` + `stop` (SIGTERM handled: 0; ignored, `-t 2`: SIGKILL, 137); `docker
/// wait`; `docker events` (start, die); `docker cp` both ways.
#[test]
fn docker_run_exit_codes_logs_stop_wait_events_cp() {
    let d = Docker::start(false);
    let since = now_unix().to_string();
    both(|rt| {
        let o = d.run(
            rt,
            &["--rm"],
            &["sh", "-c", "echo hello from $0; id -u", rt],
        );
        o.assert_success();
        assert_eq!(o.stdout, format!("hello from {rt}\n0\n"), "{o}");
        let o = d.run(rt, &["--rm"], &["sh", "-c", "echo to-stderr >&2; exit 1"]);
        assert_eq!(o.status, Some(1), "{o}");
        assert!(o.stderr.contains("to-stderr"), "{o}");

        // 137: docker kill.
        let name = format!("{rt}-killed");
        std::thread::scope(|s| {
            let run = s.spawn(|| d.run(rt, &["--rm", "--name", &name], &["sleep", "1000"]));
            wait_for("the container to run", Duration::from_secs(30), || {
                d.docker(&["inspect", "--format", "{{.State.Running}}", &name])
                    .stdout
                    .trim()
                    == "true"
            });
            d.docker(&["kill", &name]).assert_success();
            let o = run.join().unwrap();
            assert_eq!(o.status, Some(137), "{o}");
        });

        // -d, logs, stop with SIGTERM handled.
        let name = format!("{rt}-term");
        let script = "trap 'echo got-term; exit 0' TERM; echo ready; \
                      while true; do sleep 0.1; done";
        d.run(rt, &["-d", "--name", &name], &["sh", "-c", script])
            .assert_success();
        wait_for("the logs", Duration::from_secs(20), || {
            d.docker(&["logs", &name]).stdout.contains("ready")
        });
        // Exit status 0, not 137: the trap ended it, not the SIGKILL after 10 s.
        d.docker(&["stop", &name]).assert_success();
        assert_eq!(d.inspect(&name, "{{.State.ExitCode}}"), "0");
        assert_eq!(d.docker(&["logs", &name]).stdout, "ready\ngot-term\n");

        // SIGTERM ignored (sleep as pid 1): SIGKILL after -t 2.
        let name = format!("{rt}-ignore");
        d.run(rt, &["-d", "--name", &name], &["sleep", "1000"])
            .assert_success();
        let t = Instant::now();
        d.docker(&["stop", "-t", "2", &name]).assert_success();
        assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(d.inspect(&name, "{{.State.ExitCode}}"), "137");

        // docker wait.
        let name = format!("{rt}-wait");
        d.run(
            rt,
            &["-d", "--name", &name],
            &["sh", "-c", "sleep 1; exit 5"],
        )
        .assert_success();
        let o = d.docker(&["wait", &name]);
        o.assert_success();
        assert_eq!(o.stdout.trim(), "5", "{o}");

        // docker cp both ways (running container).
        let name = format!("{rt}-cp");
        d.run(rt, &["-d", "--name", &name], &["sleep", "1000"])
            .assert_success();
        let host = d.dir().join(format!("{rt}-cp-in"));
        std::fs::write(&host, "into the container\n").unwrap();
        d.docker(&["cp", host.to_str().unwrap(), &format!("{name}:/tmp/in")])
            .assert_success();
        let o = d.docker(&["exec", &name, "cat", "/tmp/in"]);
        assert_eq!(o.stdout, "into the container\n", "{o}");
        d.docker(&["exec", &name, "sh", "-c", "echo out of it > /tmp/out"])
            .assert_success();
        let back = d.dir().join(format!("{rt}-cp-out"));
        d.docker(&["cp", &format!("{name}:/tmp/out"), back.to_str().unwrap()])
            .assert_success();
        assert_eq!(std::fs::read_to_string(&back).unwrap(), "out of it\n");
        d.docker(&["rm", "-f", &name]).assert_success();
        for n in ["term", "ignore", "wait"] {
            d.docker(&["rm", &format!("{rt}-{n}")]).assert_success();
        }
    });
    // docker events: start and die of each container.
    for rt in RUNTIMES {
        let name = format!("{rt}-wait");
        let ev = d.events_since(&since, &[&format!("container={name}")]);
        for e in ["start", "die"] {
            assert!(
                ev.iter().any(|l| *l == format!("{e} {name}")),
                "no {e} event for {name}: {ev:?}"
            );
        }
    }
    d.finish();
}

/// `run -it` and `exec -it` on a real pty: the initial size and a resize
/// (SIGWINCH to the client) reach the container's terminal.
#[test]
fn docker_tty_and_resize() {
    let d = Docker::start(false);
    let shared = d.dir().join("tty-sync");
    std::fs::create_dir_all(&shared).unwrap();
    let vol = format!("{}:/s", shared.display());
    both(|rt| {
        // The client's terminal is 30x100; once the container has seen that size
        // (the client sends it just after the start) it says so through a file in
        // a volume, and the terminal becomes 40x120 with a SIGWINCH to the client.
        // Each wait is bounded (10 s); the last size seen is printed either way.
        let wait_size = |size: &str| {
            format!(
                "i=0; while [ \"$(stty size 2>/dev/null)\" != \"{size}\" ] && [ $i -lt 200 ]; \
                 do sleep 0.05; i=$((i+1)); done; stty size"
            )
        };
        let line = |docker_args: &str, ready: &str| {
            let inner = format!(
                "{}; touch /s/{ready}; {}",
                wait_size("30 100"),
                wait_size("40 120")
            );
            let host_ready = shared.join(ready);
            format!(
                "stty rows 30 cols 100; docker {docker_args} sh -c '{inner}' </dev/tty & \
                 i=0; while [ ! -e {} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; \
                 stty rows 40 cols 120; kill -WINCH $!; wait $!",
                host_ready.display()
            )
        };
        let o = d.script(&line(
            &format!("run --rm -it --runtime {rt} --network none -v {vol} {IMAGE}"),
            &format!("{rt}-run"),
        ));
        o.assert_success();
        let out = o.stdout.replace('\r', "");
        assert!(out.contains("30 100\n40 120\n"), "{rt}: {o}");

        let name = format!("{rt}-tty");
        d.run(rt, &["-d", "-v", &vol, "--name", &name], &["sleep", "1000"])
            .assert_success();
        let o = d.script(&line(&format!("exec -it {name}"), &format!("{rt}-exec")));
        o.assert_success();
        let out = o.stdout.replace('\r', "");
        assert!(out.contains("30 100\n40 120\n"), "{rt}: {o}");
        let o = d.script(&format!("docker exec -it {name} sh -c 'tty; exit 4'"));
        assert_eq!(o.status, Some(4), "{o}");
        assert!(o.stdout.contains("/dev/pts/"), "{o}");
        d.docker(&["rm", "-f", &name]).assert_success();
    });
    d.finish();
}

/// `exec` (status, `-u`, `-w`, `-e`, `-d`), 10 in parallel, a missing and a
/// non-executable command (as runc: 127 and 126), `top`, `stats --no-stream`.
#[test]
fn docker_exec_top_stats() {
    let d = Docker::start(false);
    both(|rt| {
        let name = format!("{rt}-ex");
        d.run(rt, &["-d", "--name", &name], &["sleep", "1000"])
            .assert_success();
        let o = d.docker(&["exec", &name, "sh", "-c", "echo in-$((6*7)); exit 3"]);
        assert_eq!(o.status, Some(3), "{o}");
        assert_eq!(o.stdout, "in-42\n", "{o}");
        let o = d.docker(&[
            "exec",
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            "-e",
            "FOO=bar",
            &name,
            "sh",
            "-c",
            "id -u; id -g; pwd; echo $FOO",
        ]);
        o.assert_success();
        assert_eq!(o.stdout, "1000\n1000\n/tmp\nbar\n", "{o}");
        let tag = if rt == FASTRUN { "4242" } else { "4243" };
        d.docker(&["exec", "-d", &name, "sleep", tag])
            .assert_success();
        wait_for("the detached exec", Duration::from_secs(10), || {
            !pids_with_cmdline(&["sleep", tag]).is_empty()
        });
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..10)
                .map(|i| {
                    let (name, d) = (&name, &d);
                    s.spawn(move || {
                        let o = d.docker(&["exec", name, "sh", "-c", &format!("echo {i}")]);
                        o.assert_success();
                        assert_eq!(o.stdout, format!("{i}\n"), "{o}");
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        });
        let o = d.docker(&["top", &name]);
        o.assert_success();
        assert!(o.stdout.contains("sleep 1000"), "{o}");
        assert!(o.stdout.contains(&format!("sleep {tag}")), "{o}");
        let o = d.docker(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.PIDs}} {{.MemUsage}}",
            &name,
        ]);
        o.assert_success();
        let f: Vec<&str> = o.stdout.split_whitespace().collect();
        assert_eq!(f.first(), Some(&name.as_str()), "{o}");
        assert_eq!(f.get(1), Some(&"2"), "two processes: {o}");
        assert!(!o.stdout.contains("0B /"), "{o}");
        d.docker(&["rm", "-f", &name]).assert_success();
        wait_for("the exec'd sleep to die", Duration::from_secs(10), || {
            pids_with_cmdline(&["sleep", tag]).is_empty()
        });
    });
    // Bad commands: the same status as runc, and the runtime's message.
    let mut status = Vec::new();
    for rt in RUNTIMES {
        let name = format!("{rt}-bad");
        d.run(rt, &["-d", "--name", &name], &["sleep", "1000"])
            .assert_success();
        let missing = d.docker(&["exec", &name, "/nonexistent"]);
        let noexec = d.docker(&["exec", &name, "/etc/passwd"]);
        // (docker exec prints the runtime's error on stdout.)
        assert!(missing.stdout.contains("\"/nonexistent\""), "{missing}");
        assert!(noexec.stdout.contains("\"/etc/passwd\""), "{noexec}");
        let run_missing = d.run(rt, &["--rm"], &["/nonexistent"]);
        assert!(
            run_missing.stderr.contains("\"/nonexistent\""),
            "{run_missing}"
        );
        status.push((missing.status, noexec.status, run_missing.status));
        d.docker(&["rm", "-f", &name]).assert_success();
    }
    assert_eq!(status[0], status[1], "fastrun vs runc");
    assert_eq!(status[0], (Some(126), Some(126), Some(127)), "{status:?}");
    d.finish();
}

/// `pause`/`unpause`, `kill` and `rm -f` while paused, `kill -s USR1`,
/// `--stop-signal`, `docker restart`, `--restart=always` and `on-failure:2`,
/// `--init`.
#[test]
fn docker_pause_signals_restart_init() {
    let d = Docker::start(false);
    both(|rt| {
        let p = format!("{rt}-pause");
        d.run(rt, &["-d", "--name", &p], &["sleep", "1000"])
            .assert_success();
        d.docker(&["pause", &p]).assert_success();
        assert_eq!(d.inspect(&p, "{{.State.Status}}"), "paused");
        assert_eq!(d.cgroup_file(&p, "freezer", "freezer.state"), "FROZEN");
        d.docker(&["unpause", &p]).assert_success();
        assert_eq!(d.inspect(&p, "{{.State.Status}}"), "running");
        d.docker(&["pause", &p]).assert_success();
        d.docker(&["kill", &p]).assert_success();
        d.wait_inspect(&p, "{{.State.Status}}", "exited");
        assert_eq!(d.inspect(&p, "{{.State.ExitCode}}"), "137");
        d.docker(&["start", &p]).assert_success();
        d.docker(&["pause", &p]).assert_success();
        d.docker(&["rm", "-f", &p]).assert_success();

        // kill -s USR1 reaches a trap; --stop-signal is what stop sends.
        let u = format!("{rt}-usr1");
        let trap = "trap 'echo got-usr1' USR1; trap 'echo stop-usr2; exit 0' USR2; \
                    echo ready; while true; do sleep 0.1; done";
        d.run(
            rt,
            &["-d", "--stop-signal", "USR2", "--name", &u],
            &["sh", "-c", trap],
        )
        .assert_success();
        wait_for("ready", Duration::from_secs(20), || {
            d.docker(&["logs", &u]).stdout.contains("ready")
        });
        d.docker(&["kill", "-s", "USR1", &u]).assert_success();
        wait_for("got-usr1", Duration::from_secs(20), || {
            d.docker(&["logs", &u]).stdout.contains("got-usr1")
        });
        assert_eq!(d.inspect(&u, "{{.State.Running}}"), "true");
        d.docker(&["stop", &u]).assert_success();
        assert_eq!(d.inspect(&u, "{{.State.ExitCode}}"), "0");
        assert!(d.docker(&["logs", &u]).stdout.ends_with("stop-usr2\n"));
        d.docker(&["rm", &u]).assert_success();

        // docker restart: a new init.
        let r = format!("{rt}-restart");
        d.run(rt, &["-d", "--name", &r], &["sleep", "1000"])
            .assert_success();
        let pid = d.pid(&r);
        d.docker(&["restart", "-t", "1", &r]).assert_success();
        assert_eq!(d.inspect(&r, "{{.State.Running}}"), "true");
        assert_ne!(d.pid(&r), pid);
        d.docker(&["rm", "-f", &r]).assert_success();

        // --restart=always: restarted after each exit; on-failure:2: twice.
        let a = format!("{rt}-always");
        d.run(
            rt,
            &["-d", "--restart=always", "--name", &a],
            &["sh", "-c", "sleep 0.2; exit 3"],
        )
        .assert_success();
        wait_for("two restarts", Duration::from_secs(30), || {
            d.inspect(&a, "{{.RestartCount}}")
                .parse::<u32>()
                .unwrap_or(0)
                >= 2
        });
        d.docker(&["rm", "-f", &a]).assert_success();
        let f = format!("{rt}-onfail");
        d.run(
            rt,
            &["-d", "--restart=on-failure:2", "--name", &f],
            &["sh", "-c", "exit 3"],
        )
        .assert_success();
        wait_for("on-failure:2 to give up", Duration::from_secs(30), || {
            d.inspect(&f, "{{.RestartCount}} {{.State.Status}}") == "2 exited"
        });
        assert_eq!(d.inspect(&f, "{{.State.ExitCode}}"), "3");
        d.docker(&["rm", &f]).assert_success();

        // --init: docker-init is pid 1, the command its child.
        let o = d.run(
            rt,
            &["--rm", "--init"],
            &["sh", "-c", "cat /proc/1/cmdline; echo; echo $$"],
        );
        o.assert_success();
        let lines: Vec<&str> = o.stdout.lines().collect();
        assert!(lines[0].starts_with("/sbin/docker-init\0"), "{o}");
        assert_ne!(lines[1], "1", "{o}");
    });
    d.finish();
}

/// The name of OOM run number `attempt` of `rt` in [`docker_resources_oom_update`].
fn oom_name(rt: &str, attempt: usize) -> String {
    match attempt {
        1 => format!("{rt}-oom"),
        n => format!("{rt}-oom-{n}"),
    }
}

/// `--memory 20m` with a hog (OOMKilled, 137, an `oom` event), `--pids-limit`,
/// `--cpus`/`--cpuset-cpus`, `docker update` of a running container.
#[test]
fn docker_resources_oom_update() {
    let d = Docker::start(false);
    let since = now_unix().to_string();
    both(|rt| {
        // The runc shim watches for OOM only once the runtime's `start` has
        // returned: a hog that is killed before would make no `oom` event,
        // whatever the runtime (and dockerd then reports OOMKilled false). And
        // the shim publishes the OOM (its eventfd watcher) and the exit (its
        // reaper) from two goroutines: dockerd sets OOMKilled only when the OOM
        // comes first, which a loaded machine sometimes reverses, whatever the
        // runtime. The kill is checked every time, the flag in one of three runs.
        let mut flags = Vec::new();
        for attempt in 1..=3 {
            let name = oom_name(rt, attempt);
            let o = d.run(
                rt,
                &["--memory", "20m", "--name", &name],
                &[
                    "sh",
                    "-c",
                    "sleep 1; x=aaaaaaaa; while true; do x=$x$x; done",
                ],
            );
            assert_eq!(o.status, Some(137), "{o}");
            flags.push(d.inspect(&name, "{{.State.OOMKilled}}"));
            d.docker(&["rm", &name]).assert_success();
            if flags.last().is_some_and(|f| f == "true") {
                break;
            }
        }
        assert_eq!(
            flags.last().map(String::as_str),
            Some("true"),
            "{rt}: {flags:?}"
        );

        let o = d.run(
            rt,
            &["--rm", "--pids-limit", "10"],
            &[
                "sh",
                "-c",
                "cat /sys/fs/cgroup/pids/pids.max; for i in $(seq 20); do sleep 5 & done",
            ],
        );
        assert_eq!(o.stdout.trim(), "10", "{o}");
        assert!(o.stderr.contains("can't fork"), "{o}");

        let name = format!("{rt}-cpu");
        d.run(
            rt,
            &["-d", "--cpus", "0.5", "--cpuset-cpus", "0", "--name", &name],
            &["sleep", "1000"],
        )
        .assert_success();
        assert_eq!(d.cgroup_file(&name, "cpu", "cpu.cfs_quota_us"), "50000");
        assert_eq!(d.cgroup_file(&name, "cpuset", "cpuset.cpus"), "0");
        let o = d.docker(&["exec", &name, "nproc"]);
        assert_eq!(o.stdout.trim(), "1", "{o}");

        // docker update: the runtime's `update`.
        d.docker(&[
            "update",
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "1.5",
            "--pids-limit",
            "50",
            &name,
        ])
        .assert_success();
        assert_eq!(
            d.cgroup_file(&name, "memory", "memory.limit_in_bytes"),
            (64 << 20).to_string()
        );
        assert_eq!(d.cgroup_file(&name, "cpu", "cpu.cfs_quota_us"), "150000");
        assert_eq!(d.cgroup_file(&name, "pids", "pids.max"), "50");
        d.docker(&["rm", "-f", &name]).assert_success();
    });
    for rt in RUNTIMES {
        // The run whose OOMKilled was true has all three events.
        let runs: Vec<Vec<String>> = (1..=3)
            .map(|attempt| {
                let name = oom_name(rt, attempt);
                let ev = d.events_since(&since, &[&format!("container={name}")]);
                ["start", "oom", "die"]
                    .iter()
                    .filter(|e| !ev.iter().any(|l| *l == format!("{e} {name}")))
                    .map(|e| format!("{name}: no {e} event"))
                    .collect()
            })
            .collect();
        assert!(runs.iter().any(Vec::is_empty), "{rt}: {runs:?}");
    }
    d.finish();
}

/// `--read-only` + `--tmpfs`, `--cap-drop ALL`/`--cap-add`, no-new-privileges,
/// seccomp (default, unconfined, a custom profile), `--user`, `--device`, host and
/// named volumes (`:ro` enforced), `--ulimit`.
#[test]
fn docker_security_options_volumes_devices() {
    let d = Docker::start(false);
    let profile = d.dir().join("seccomp.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let custom = format!("seccomp={}", profile.display());
    let host_dir = d.dir().join("volume-src");
    std::fs::create_dir_all(&host_dir).unwrap();
    let out = |rt: &str, flags: &[&str], script: &str| {
        let o = d.run(rt, &[&["--rm"][..], flags].concat(), &["sh", "-c", script]);
        o.stdout.clone() + &o.stderr
    };
    both(|rt| {
        let o = out(
            rt,
            &["--read-only", "--tmpfs", "/run:size=1m"],
            "touch /x 2>&1; touch /run/x && echo tmpfs-ok; grep ' /run ' /proc/self/mounts",
        );
        assert!(o.contains("Read-only file system"), "{rt}: {o}");
        assert!(o.contains("tmpfs-ok\ntmpfs /run tmpfs"), "{rt}: {o}");

        let o = out(
            rt,
            &["--cap-drop", "ALL"],
            "grep CapEff /proc/self/status; touch /tmp/f; chown 1 /tmp/f || echo chown-denied",
        );
        assert!(o.contains("CapEff:\t0000000000000000\n"), "{rt}: {o}");
        assert!(o.contains("chown-denied"), "{rt}: {o}");
        let o = out(
            rt,
            &["--cap-drop", "ALL", "--cap-add", "CHOWN"],
            "grep CapEff /proc/self/status; touch /tmp/f; chown 1 /tmp/f && echo chown-ok",
        );
        assert!(
            o.contains("CapEff:\t0000000000000001\nchown-ok"),
            "{rt}: {o}"
        );

        let o = out(
            rt,
            &["--security-opt", "no-new-privileges"],
            "grep NoNewPrivs /proc/self/status",
        );
        assert!(o.contains("NoNewPrivs:\t1"), "{rt}: {o}");

        let o = out(rt, &[], "grep Seccomp: /proc/self/status");
        assert!(o.contains("Seccomp:\t2"), "{rt}: default profile: {o}");
        let o = out(
            rt,
            &["--security-opt", "seccomp=unconfined"],
            "grep Seccomp: /proc/self/status",
        );
        assert!(o.contains("Seccomp:\t0"), "{rt}: unconfined: {o}");
        let o = out(
            rt,
            &["--security-opt", &custom],
            "mkdir /tmp/d || echo mkdir-denied; touch /tmp/f && echo touch-ok",
        );
        assert!(
            o.contains("Operation not permitted") && o.contains("mkdir-denied\ntouch-ok"),
            "{rt}: custom profile: {o}"
        );

        let o = out(rt, &["--user", "1000:1000"], "id -u; id -g");
        assert_eq!(o, "1000\n1000\n", "{rt}");

        let o = out(
            rt,
            &["--device", "/dev/zero:/dev/myzero"],
            "head -c 5 /dev/myzero | wc -c; test -e /dev/kmsg || echo no-kmsg",
        );
        assert_eq!(
            o.split_whitespace().collect::<Vec<_>>(),
            ["5", "no-kmsg"],
            "{rt}"
        );

        // Host volumes.
        let v = format!("{}:/data", host_dir.display());
        let o = out(rt, &["-v", &v], &format!("echo from-{rt} > /data/{rt}"));
        assert_eq!(o, "", "{rt}");
        assert_eq!(
            std::fs::read_to_string(host_dir.join(rt)).unwrap(),
            format!("from-{rt}\n")
        );
        let o = out(
            rt,
            &["-v", &format!("{v}:ro")],
            &format!("cat /data/{rt}; touch /data/ro 2>&1 || echo ro-denied"),
        );
        assert!(o.contains(&format!("from-{rt}\n")), "{rt}: {o}");
        assert!(o.contains("Read-only file system\nro-denied"), "{rt}: {o}");
        assert!(!host_dir.join("ro").exists());
        // Named volumes.
        let vol = format!("{rt}-vol:/v");
        assert_eq!(out(rt, &["-v", &vol], "echo named > /v/f"), "", "{rt}");
        let o = out(
            rt,
            &["-v", &format!("{vol}:ro")],
            "cat /v/f; touch /v/g 2>&1 || echo ro-denied",
        );
        assert!(
            o.contains("named\n") && o.contains("ro-denied"),
            "{rt}: {o}"
        );

        let o = out(
            rt,
            &["--ulimit", "nofile=512:1024", "--ulimit", "nproc=300:400"],
            "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu",
        );
        assert_eq!(o, "512\n1024\n300\n400\n", "{rt}");
    });
    for rt in RUNTIMES {
        d.docker(&["volume", "rm", &format!("{rt}-vol")])
            .assert_success();
    }
    d.finish();
}

/// Read a host sysctl.
fn host_sysctl(name: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{}", name.replace('.', "/")))
        .unwrap()
        .trim()
        .to_string()
}

/// `--sysctl` with `--network none` (net.*) and a private IPC namespace (kernel.msg*):
/// applied inside, the host unchanged; `--pid host`, `--ipc host`, `--uts host`,
/// `--hostname`.
#[test]
fn docker_sysctl_and_namespaces() {
    let d = Docker::start(false);
    let host_net = host_sysctl("net.ipv4.tcp_keepalive_probes");
    let host_ipc = host_sysctl("kernel.msgmnb");
    let ns = |n: &str| std::fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
    let (host_ipc_ns, host_uts_ns) = (ns("ipc"), ns("uts"));
    let host_init = std::fs::read_to_string("/proc/1/cmdline").unwrap();
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    both(|rt| {
        let o = d.run(
            rt,
            &[
                "--rm",
                "--sysctl",
                "net.ipv4.tcp_keepalive_probes=3",
                "--sysctl",
                "kernel.msgmnb=12345",
            ],
            &[
                "cat",
                "/proc/sys/net/ipv4/tcp_keepalive_probes",
                "/proc/sys/kernel/msgmnb",
            ],
        );
        o.assert_success();
        assert_eq!(o.stdout, "3\n12345\n", "{rt}: {o}");

        let o = d.run(rt, &["--rm", "--pid", "host"], &["cat", "/proc/1/cmdline"]);
        assert_eq!(o.stdout, host_init, "{rt}: {o}");
        let o = d.run(
            rt,
            &["--rm", "--ipc", "host", "--uts", "host"],
            &[
                "sh",
                "-c",
                "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname",
            ],
        );
        assert_eq!(
            o.stdout,
            format!(
                "{}\n{}\n{host_name}",
                host_ipc_ns.display(),
                host_uts_ns.display()
            ),
            "{rt}: {o}"
        );
        let o = d.run(rt, &["--rm", "--hostname", "fastbox"], &["hostname"]);
        assert_eq!(o.stdout, "fastbox\n", "{rt}: {o}");
    });
    assert_eq!(host_sysctl("net.ipv4.tcp_keepalive_probes"), host_net);
    assert_eq!(host_sysctl("kernel.msgmnb"), host_ipc);
    d.finish();
}

/// Puts a host sysctl back (if a broken runtime changed it) on drop.
struct RestoreSysctl(&'static str, String);

impl Drop for RestoreSysctl {
    fn drop(&mut self) {
        if host_sysctl(self.0) != self.1 {
            let _ = std::fs::write(format!("/proc/sys/{}", self.0.replace('.', "/")), &self.1);
        }
    }
}

/// `--sysctl` of a namespace the container shares with the host (`--network host`:
/// net.*, `--ipc host`: kernel.msg*) is refused, and the host is unchanged; runc
/// refuses it too.
#[test]
fn docker_sysctl_host_namespace_refused() {
    let d = Docker::start(false);
    let net = "net.ipv4.tcp_keepalive_probes";
    let ipc = "kernel.msgmnb";
    let _guards = [
        RestoreSysctl(net, host_sysctl(net)),
        RestoreSysctl(ipc, host_sysctl(ipc)),
    ];
    let (host_net, host_ipc) = (host_sysctl(net), host_sysctl(ipc));
    let new_net = if host_net == "3" { "4" } else { "3" };
    let new_ipc = if host_ipc == "12345" {
        "12346"
    } else {
        "12345"
    };
    both(|rt| {
        let o = d.run(
            rt,
            &[
                "--rm",
                "--network",
                "host",
                "--sysctl",
                &format!("{net}={new_net}"),
            ],
            &["true"],
        );
        o.assert_failure();
        assert!(o.stderr.contains(net), "{rt}: {o}");
        let o = d.run(
            rt,
            &[
                "--rm",
                "--ipc",
                "host",
                "--sysctl",
                &format!("{ipc}={new_ipc}"),
            ],
            &["true"],
        );
        o.assert_failure();
        assert!(o.stderr.contains(ipc), "{rt}: {o}");
    });
    assert_eq!(host_sysctl(net), host_net, "the host's {net} changed");
    assert_eq!(host_sysctl(ipc), host_ipc, "the host's {ipc} changed");
    d.finish();
}

/// `docker build` (classic builder) whose RUN steps run under fastrun (dockerd's
/// default runtime), and the image's HEALTHCHECK turning healthy, then unhealthy.
#[test]
fn docker_build_and_healthcheck() {
    let d = Docker::start(false);
    let ctx = d.dir().join("build");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM {IMAGE}\n\
             RUN echo built > /built && id -u >> /built && test ! -t 0 && echo no-tty >> /built\n\
             RUN mkdir /tmp/app && chown 1000:1000 /tmp/app\n\
             USER 1000:1000\n\
             WORKDIR /tmp/app\n\
             RUN id -u > uid && pwd > cwd && echo ok > status\n\
             HEALTHCHECK --interval=1s --timeout=5s --retries=1 CMD grep -q ok /tmp/app/status\n\
             CMD [\"sleep\", \"1000\"]\n"
        ),
    )
    .unwrap();
    let o = run_cmd_long(d.command(&[
        "build",
        "--rm=false",
        "-t",
        "localhost/derived:latest",
        ctx.to_str().unwrap(),
    ]));
    o.assert_success();
    // The RUN steps' containers (kept by --rm=false) ran with fastrun.
    let o = d.docker(&["ps", "-a", "-q", "--no-trunc"]);
    let steps: Vec<&str> = o.stdout.split_whitespace().collect();
    assert!(steps.len() >= 2, "{o}");
    for id in &steps {
        assert_eq!(d.inspect(id, "{{.HostConfig.Runtime}}"), FASTRUN);
    }
    let mut rm = vec!["rm"];
    rm.extend(steps.iter());
    d.docker(&rm).assert_success();

    both(|rt| {
        let o = d.run_image(
            rt,
            &["--rm"],
            "localhost/derived:latest",
            &["sh", "-c", "cat /built uid cwd; id -u; pwd"],
        );
        o.assert_success();
        assert_eq!(
            o.stdout, "built\n0\nno-tty\n1000\n/tmp/app\n1000\n/tmp/app\n",
            "{o}"
        );

        let name = format!("{rt}-health");
        d.run_image(
            rt,
            &["-d", "--name", &name],
            "localhost/derived:latest",
            &[],
        )
        .assert_success();
        d.wait_inspect(&name, "{{.State.Health.Status}}", "healthy");
        d.docker(&["exec", &name, "sh", "-c", "echo sick > /tmp/app/status"])
            .assert_success();
        d.wait_inspect(&name, "{{.State.Health.Status}}", "unhealthy");
        d.docker(&["rm", "-f", &name]).assert_success();
    });
    d.finish();
}

fn run_cmd_long(c: std::process::Command) -> common::Output {
    common::run_cmd(c, None, Duration::from_secs(180))
}

/// 20 containers started in parallel, then removed in parallel.
#[test]
fn docker_twenty_in_parallel() {
    let d = Docker::start(false);
    let names: Vec<String> = (0..20).map(|i| format!("par{i}")).collect();
    std::thread::scope(|s| {
        let hs: Vec<_> = names
            .iter()
            .map(|n| {
                let d = &d;
                s.spawn(move || {
                    d.run(FASTRUN, &["-d", "--name", n], &["sleep", "1000"])
                        .assert_success();
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    let ids: Vec<String> = names.iter().map(|n| d.id(n)).collect();
    let mut state = d.state_ids();
    state.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(state, want, "fastrun serves all 20");
    for n in &names {
        assert_eq!(d.inspect(n, "{{.State.Running}}"), "true");
    }
    std::thread::scope(|s| {
        for n in &names {
            let d = &d;
            s.spawn(move || {
                d.docker(&["rm", "-f", n]).assert_success();
            });
        }
    });
    assert!(d.state_ids().is_empty(), "{:?}", d.state_ids());
    for id in &ids {
        assert!(cgroup_dirs(&format!("{}/{id}", d.cgroup_parent)).is_empty());
    }
    d.finish();
}

/// `live-restore`: dockerd stops (SIGTERM) and starts again while a fastrun
/// container runs on; then `exec` and `stop` work.
#[test]
fn docker_live_restore() {
    let mut d = Docker::start(true);
    d.run(FASTRUN, &["-d", "--name", "lr"], &["sleep", "1000"])
        .assert_success();
    let pid = d.pid("lr");
    d.restart_dockerd();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the container died with dockerd"
    );
    assert_eq!(d.inspect("lr", "{{.State.Running}}"), "true");
    assert_eq!(d.pid("lr"), pid);
    let o = d.docker(&["exec", "lr", "cat", "/proc/1/cmdline"]);
    assert_eq!(o.stdout, "sleep\u{0}1000\u{0}", "{o}");
    d.docker(&["stop", "-t", "1", "lr"]).assert_success();
    assert_eq!(d.inspect("lr", "{{.State.ExitCode}}"), "137");
    d.docker(&["rm", "lr"]).assert_success();
    d.finish();
}
