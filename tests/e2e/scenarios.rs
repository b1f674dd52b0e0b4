//! The containerd end-to-end scenarios, shared by the two routes that put fastrun
//! under containerd: runc's shim executing fastrun (`tests/e2e/e2e_containerd.rs`) and
//! fastrun's own shim driving the engine in-process (`tests/e2e/e2e_shim.rs`). Only what
//! differs between the routes is a method of [`Route`].

use std::time::Duration;

use super::*;
use crate::common;
use crate::common::fastrun_bin;

/// Which containerd runtime serves the containers.
#[derive(Clone, Copy)]
pub struct Route {
    /// `io.containerd.fastrun.v2` (fastrun's shim) rather than `io.containerd.runc.v2`
    /// with fastrun as its `BinaryName`.
    pub shim: bool,
}

impl Route {
    /// A private containerd for this route (with the CRI plugin configured if `cri`).
    fn start(self, cri: bool) -> Containerd {
        if self.shim {
            Containerd::start_shim(cri)
        } else {
            Containerd::start(cri)
        }
    }

    /// After `ctr ... --rm` or `ctr task delete`: no engine state (and, with the
    /// shim, no shim process) left.
    #[track_caller]
    fn assert_clean(self, ctd: &Containerd) {
        let ids = ctd.fastrun_ids();
        assert!(ids.is_empty(), "fastrun state left behind: {ids:?}");
        if self.shim {
            assert_no_shim(ctd);
        }
    }

    /// The container `d1` is listed with this route's runtime, and fastrun serves it.
    fn assert_serves(self, ctd: &Containerd) {
        // ctr container list: the container and its runtime.
        let o = ctd.ctr(&["container", "list"]);
        let line = o
            .stdout
            .lines()
            .find(|l| l.starts_with("d1 "))
            .unwrap_or_default();
        let runtime = if self.shim {
            SHIM_RUNTIME
        } else {
            "io.containerd.runc.v2"
        };
        assert!(line.contains(IMAGE) && line.contains(runtime), "{o}");
        if self.shim {
            // The task is served by fastrun's shim, and no runtime binary runs.
            let o = ctd.ctr(&["task", "ls"]);
            assert!(o.stdout.contains("d1"), "{o}");
            assert!(
                !shim_pids(ctd).is_empty(),
                "no containerd-shim-fastrun-v2 runs"
            );
        } else {
            // info: fastrun as the runc shim's binary (the runc options protobuf, in
            // base64: binary_name and root).
            let o = ctd.ctr(&["container", "info", "d1"]);
            let info: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
            let opts = info["Runtime"]["Options"]["value"]
                .as_str()
                .unwrap_or_default();
            let mut b64 = std::process::Command::new("base64");
            b64.arg("-d");
            let decoded = common::run_cmd(b64, Some(opts.as_bytes()), Duration::from_secs(10));
            let bin = fastrun_bin().display().to_string();
            assert!(decoded.stdout.contains(&bin), "{o}\n{decoded}");
        }
    }

    /// fastrun's message for `/nonexistent` as the command reaches ctr's user.
    fn assert_bad_command_error(self, o: &Output) {
        if self.shim {
            assert!(
                o.stderr.contains("/nonexistent") && o.stderr.contains("no such file or directory"),
                "fastrun's message should reach the user: {o}"
            );
        } else {
            assert!(
                o.stderr.contains("OCI runtime create failed")
                    && o.stderr.contains("exec: \"/nonexistent\"")
                    && o.stderr.contains("no such file or directory"),
                "fastrun's message should reach the user: {o}"
            );
        }
    }
}

/// The shims serving this containerd.
pub fn shim_pids(ctd: &Containerd) -> Vec<i32> {
    let addr = ctd.address().display().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if args
            .first()
            .is_some_and(|a| a.ends_with(b"containerd-shim-fastrun-v2"))
            && args.contains(&addr.as_bytes())
        {
            out.push(pid);
        }
    }
    out
}

/// Once every container is deleted, its shim exits.
#[track_caller]
fn assert_no_shim(ctd: &Containerd) {
    wait_for("the shim to exit", Duration::from_secs(10), || {
        shim_pids(ctd).is_empty()
    });
}

pub fn ctr_run_rm_output_and_exit_codes(route: Route) {
    let ctd = route.start(false);
    let o = ctd.run(
        &["--rm"],
        "c1",
        &["sh", "-c", "echo hello from fastrun; id -u"],
    );
    o.assert_success();
    assert_eq!(o.stdout, "hello from fastrun\n0\n", "{o}");
    assert_eq!(o.stderr, "", "{o}");

    let o = ctd.run(&["--rm"], "c2", &["sh", "-c", "echo to-stderr >&2; exit 7"]);
    assert_eq!(o.status, Some(7), "{o}");
    assert!(o.stderr.contains("to-stderr"), "{o}");
    route.assert_clean(&ctd);
    assert!(
        ctd.ctr(&["container", "ls", "-q"]).stdout.trim().is_empty(),
        "containers left after --rm"
    );
}

pub fn ctr_run_killed_exits_137(route: Route) {
    let ctd = route.start(false);
    std::thread::scope(|s| {
        let run = s.spawn(|| ctd.run(&["--rm"], "k1", &["sleep", "1000"]));
        ctd.wait_task("k1", "RUNNING");
        ctd.ctr(&["task", "kill", "-s", "KILL", "k1"])
            .assert_success();
        let o = run.join().unwrap();
        assert_eq!(o.status, Some(137), "{o}");
    });
    route.assert_clean(&ctd);
}

/// A process that allocates past the container's memory limit: the cgroup's OOM
/// killer ends it (exit status 137) and containerd gets `/tasks/oom` for the
/// container; fastrun's shim reports it before the `/tasks/exit` it caused. A
/// container that stays within its limit gets none; one whose init survives the
/// kill of a child gets one while it runs on.
pub fn ctr_run_oom_event(route: Route) {
    let ctd = route.start(false);
    let events = ctd.events();
    let limit = ["--rm", "--memory-limit", "33554432"];
    let o = ctd.run(&limit, "fits1", &["sh", "-c", "x=aaaaaaaa; x=$x$x$x$x"]);
    o.assert_success();
    let o = ctd.run(
        &limit,
        "oom1",
        &["sh", "-c", "x=aaaaaaaa; while true; do x=$x$x; done"],
    );
    assert_eq!(o.status, Some(137), "{o}");
    wait_for("the TaskOOM event", Duration::from_secs(10), || {
        !events.lines("/tasks/oom", "oom1").is_empty()
    });
    assert!(
        events.lines("/tasks/oom", "fits1").is_empty(),
        "an OOM event for a container within its limit:\n{}",
        events.text()
    );
    // An OOM kill that the init survives: a child of it is the victim.
    let hog = "sh -c 'x=aaaaaaaa; while true; do x=$x$x; done'; echo survived; sleep 1000";
    ctd.run(
        &["-d", "--memory-limit", "33554432"],
        "oom2",
        &["sh", "-c", hog],
    )
    .assert_success();
    wait_for("the TaskOOM event of oom2", Duration::from_secs(10), || {
        !events.lines("/tasks/oom", "oom2").is_empty()
    });
    assert_eq!(ctd.task("oom2").map(|t| t.1).as_deref(), Some("RUNNING"));
    ctd.ctr(&["task", "kill", "-s", "KILL", "oom2"])
        .assert_success();
    ctd.wait_task("oom2", "STOPPED");
    ctd.ctr(&["task", "delete", "oom2"]).assert_success();
    ctd.ctr(&["container", "rm", "oom2"]).assert_success();
    assert_eq!(
        events.lines("/tasks/oom", "oom2").len(),
        1,
        "{}",
        events.text()
    );
    if route.shim {
        let text = events.text();
        let first = |topic: &str| {
            text.lines()
                .position(|l| l.contains(topic) && l.contains("\"oom1\""))
                .unwrap_or(usize::MAX)
        };
        assert!(
            first("/tasks/oom") < first("/tasks/exit"),
            "TaskOOM should come before the TaskExit:\n{text}"
        );
    }
    route.assert_clean(&ctd);
}

pub fn ctr_run_tty(route: Route) {
    let ctd = route.start(false);
    let o = ctd.run_tty(
        &["--rm"],
        "t1",
        &["sh", "-c", "tty; test -t 0 && echo stdin-tty; exit 4"],
    );
    assert_eq!(o.status, Some(4), "{o}");
    // Through two terminals (the container's and script's): \r\r\n line ends.
    let out = o.stdout.replace('\r', "");
    assert!(out.contains("/dev/pts/0\nstdin-tty\n"), "{o}");
    route.assert_clean(&ctd);
}

pub fn ctr_detached_exec_kill_all_delete(route: Route) {
    let ctd = route.start(false);
    ctd.run(&["-d"], "d1", &["sleep", "1000"]).assert_success();
    let pid = ctd.wait_task("d1", "RUNNING");
    assert!(pid > 0);
    assert_eq!(ctd.fastrun_ids(), ["d1"]);

    route.assert_serves(&ctd);

    // Plain exec: output and exit status.
    let o = ctd.exec(
        &[],
        "d1",
        "e1",
        &["sh", "-c", "echo in-$((6*7)); cat /proc/1/cmdline; exit 3"],
    );
    assert_eq!(o.status, Some(3), "{o}");
    assert_eq!(o.stdout, "in-42\nsleep\u{0}1000\u{0}", "{o}");

    // exec -t: a terminal through the console socket.
    let o = ctd.exec_tty("d1", "e2", &["sh", "-c", "tty; exit 5"]);
    assert_eq!(o.status, Some(5), "{o}");
    assert!(o.stdout.contains("/dev/pts/"), "{o}");

    // exec -d: runs on after ctr returns.
    ctd.exec(&["-d"], "d1", "e3", &["sleep", "4242"])
        .assert_success();
    wait_for("the detached exec", Duration::from_secs(10), || {
        !pids_with_cmdline(&["sleep", "4242"]).is_empty()
    });

    // kill -a -s KILL: the init and the exec'd process.
    ctd.ctr(&["task", "kill", "-a", "-s", "KILL", "d1"])
        .assert_success();
    ctd.wait_task("d1", "STOPPED");
    wait_for("the exec'd sleep to die", Duration::from_secs(10), || {
        pids_with_cmdline(&["sleep", "4242"]).is_empty()
    });
    ctd.ctr(&["task", "delete", "d1"]).assert_success();
    route.assert_clean(&ctd);
    assert!(ctd.task("d1").is_none());
    ctd.ctr(&["container", "rm", "d1"]).assert_success();
    assert!(cgroup_dirs(&format!("{}/d1", ctd.ns)).is_empty());
}

pub fn ctr_task_ps_pause_resume(route: Route) {
    let ctd = route.start(false);
    ctd.run(&["-d"], "p1", &["sleep", "1000"]).assert_success();
    let pid = ctd.wait_task("p1", "RUNNING");
    ctd.exec(&["-d"], "p1", "e1", &["sleep", "4343"])
        .assert_success();
    wait_for("the detached exec", Duration::from_secs(10), || {
        !pids_with_cmdline(&["sleep", "4343"]).is_empty()
    });
    let exec_pid = pids_with_cmdline(&["sleep", "4343"])[0];

    // PID and INFO: the exec's details (containerd.runc.v1.ProcessDetails, printed
    // as `&ProcessDetails{ExecID:e1,...}`), none (`-`) for the init.
    let o = ctd.ctr(&["task", "ps", "p1"]);
    o.assert_success();
    let rows: Vec<(i32, String)> = o
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (p, info) = l.trim().split_once(char::is_whitespace)?;
            Some((p.parse().ok()?, info.trim().to_string()))
        })
        .collect();
    let info = |p: i32| rows.iter().find(|r| r.0 == p).map(|r| r.1.as_str());
    assert_eq!(info(pid), Some("-"), "{o}");
    assert!(
        info(exec_pid).is_some_and(|i| i.contains("ExecID:e1,")),
        "{o}"
    );

    ctd.ctr(&["task", "pause", "p1"]).assert_success();
    ctd.wait_task("p1", "PAUSED");
    let freezer = format!("/sys/fs/cgroup/freezer/{}/p1/freezer.state", ctd.ns);
    let frozen = std::fs::read_to_string(&freezer).unwrap_or_default();
    assert_eq!(frozen.trim(), "FROZEN", "{freezer}");
    ctd.ctr(&["task", "resume", "p1"]).assert_success();
    ctd.wait_task("p1", "RUNNING");
    let thawed = std::fs::read_to_string(&freezer).unwrap_or_default();
    assert_eq!(thawed.trim(), "THAWED", "{freezer}");
    ctd.ctr(&["task", "kill", "-a", "-s", "KILL", "p1"])
        .assert_success();
    ctd.wait_task("p1", "STOPPED");
    ctd.ctr(&["task", "delete", "p1"]).assert_success();
    route.assert_clean(&ctd);
}

/// A container in another's pid namespace: when its init exits, the shim sends
/// `kill --all ID 9`, which must reach the container's other processes although
/// the init is gone.
pub fn ctr_shared_pid_namespace(route: Route) {
    let ctd = route.start(false);
    ctd.run(&["-d"], "host1", &["sleep", "1000"])
        .assert_success();
    let pid = ctd.wait_task("host1", "RUNNING");
    let ns = format!("pid:/proc/{pid}/ns/pid");
    ctd.run(&["-d", "--with-ns", &ns], "guest1", &["sleep", "1001"])
        .assert_success();
    ctd.wait_task("guest1", "RUNNING");
    let o = ctd.exec(&[], "guest1", "e1", &["cat", "/proc/1/cmdline"]);
    o.assert_success();
    assert_eq!(
        o.stdout, "sleep\u{0}1000\u{0}",
        "pid 1 is the first container's: {o}"
    );
    ctd.exec(&["-d"], "guest1", "e2", &["sleep", "4444"])
        .assert_success();
    wait_for("the detached exec", Duration::from_secs(10), || {
        !pids_with_cmdline(&["sleep", "4444"]).is_empty()
    });

    ctd.ctr(&["task", "kill", "-s", "KILL", "guest1"])
        .assert_success();
    ctd.wait_task("guest1", "STOPPED");
    wait_for(
        "kill --all to end the guest's exec'd process",
        Duration::from_secs(10),
        || pids_with_cmdline(&["sleep", "4444"]).is_empty(),
    );
    assert_eq!(ctd.task("host1").map(|t| t.1).as_deref(), Some("RUNNING"));
    ctd.ctr(&["task", "delete", "guest1"]).assert_success();
    ctd.ctr(&["task", "kill", "-s", "KILL", "host1"])
        .assert_success();
    ctd.wait_task("host1", "STOPPED");
    ctd.ctr(&["task", "delete", "host1"]).assert_success();
    route.assert_clean(&ctd);
}

/// fastrun's shim only: `ctr run --runtime-config-path FILE` (runtimeoptions.v1.Options
/// with a ConfigPath, what CRI sends for a runtime whose options name a ConfigPath):
/// the runc-style options in FILE are used (a `Root`: the state goes to
/// `<Root>/<namespace>`); a misspelt option or a missing file is refused, naming it.
pub fn ctr_runtime_config_path(route: Route) {
    assert!(route.shim, "runtimeoptions are fastrun's shim's");
    let ctd = route.start(false);
    let root = ctd.dir().join("custom-root");
    ctd.add_root(&root);
    let file = ctd.dir().join("fastrun-options.toml");
    let path = file.to_str().unwrap();
    std::fs::write(
        &file,
        format!(
            "# runc-style options\nRoot = \"{}\"\nNoPivotRoot = false\n\
             BinaryName = \"/ignored\"\n",
            root.display()
        ),
    )
    .unwrap();
    let flags = ["--runtime-config-path", path];
    ctd.run(&[&["-d"][..], &flags].concat(), "r1", &["sleep", "1000"])
        .assert_success();
    ctd.wait_task("r1", "RUNNING");
    assert_eq!(state_ids(&root.join(&ctd.ns)), ["r1"]);
    assert!(ctd.fastrun_ids().is_empty(), "state in the default root");
    let o = ctd.exec(&[], "r1", "e1", &["echo", "exec-ok"]);
    assert_eq!(o.stdout, "exec-ok\n", "{o}");
    ctd.ctr(&["task", "kill", "-s", "KILL", "r1"])
        .assert_success();
    ctd.wait_task("r1", "STOPPED");
    ctd.ctr(&["task", "delete", "r1"]).assert_success();
    assert!(state_ids(&root.join(&ctd.ns)).is_empty());
    ctd.ctr(&["container", "rm", "r1"]).assert_success();

    std::fs::write(&file, "SystemdCgroups = true\n").unwrap();
    let o = ctd.run(&[&["--rm"][..], &flags].concat(), "r2", &["true"]);
    o.assert_failure();
    assert!(
        o.stderr.contains(path) && o.stderr.contains("unknown option \"SystemdCgroups\""),
        "{o}"
    );
    let missing = ctd.dir().join("missing.toml");
    let missing = missing.to_str().unwrap();
    let o = ctd.run(&["--rm", "--runtime-config-path", missing], "r3", &["true"]);
    o.assert_failure();
    assert!(
        o.stderr.contains(missing) && o.stderr.contains("No such file"),
        "{o}"
    );
    route.assert_clean(&ctd);
    assert!(state_ids(&root.join(&ctd.ns)).is_empty());
}

pub fn ctr_bad_command_shows_fastrun_error(route: Route) {
    let ctd = route.start(false);
    let o = ctd.run(&["--rm"], "bad1", &["/nonexistent"]);
    o.assert_failure();
    route.assert_bad_command_error(&o);
    route.assert_clean(&ctd);
}

// ---------------------------------------------------------------------------
// The CRI route
// ---------------------------------------------------------------------------

/// The CRI client binary, or None (with a message) when the CRI tests are off.
fn cri_client() -> Option<std::path::PathBuf> {
    if std::env::var("FASTRUN_E2E_CRI").as_deref() != Ok("1") {
        eprintln!(
            "skipping: CRI tests run with FASTRUN_E2E_CRI=1 (.ci/run sets it) after \
             `cargo build --manifest-path tests/cri-client/Cargo.toml`"
        );
        return None;
    }
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cri-client/target/debug/fastrun-cri-client");
    assert!(
        bin.exists(),
        "{} is missing: cargo build --manifest-path tests/cri-client/Cargo.toml",
        bin.display()
    );
    Some(bin)
}

fn cri_pod(route: Route, resources: bool) {
    let Some(client) = cri_client() else {
        return;
    };
    let ctd = route.start(true);
    let logs = ctd.dir().join("pod-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut c = std::process::Command::new(client);
    c.arg("--socket")
        .arg(ctd.address())
        .args([
            "--image",
            IMAGE,
            "--cgroup-parent",
            &ctd.cri_cgroup_parent(),
        ])
        .arg("--log-dir")
        .arg(&logs)
        .args(["--resources", if resources { "true" } else { "false" }]);
    let o = common::run_cmd(c, None, Duration::from_secs(120));
    assert!(o.success() && o.stdout.contains("ok: all steps"), "{o}");
    // The pod ran on fastrun (its state root), and nothing of it is left.
    assert!(ctd.log().contains("RunPodSandbox"), "{}", ctd.log());
    // The CRI runtime's Root (with the shim: read from its options file) was used:
    // `<Root>/<namespace>`.
    assert!(ctd.cri_fastrun_root().join(CRI_NS).is_dir());
    let left = state_ids(&ctd.cri_fastrun_root().join(CRI_NS));
    assert!(left.is_empty(), "fastrun state left: {left:?}");
    if route.shim {
        assert_no_shim(&ctd);
    }
}

/// RunPodSandbox, CreateContainer (with a memory limit), StartContainer, ExecSync,
/// UpdateContainerResources, ContainerStats, StopContainer, RemoveContainer,
/// StopPodSandbox, RemovePodSandbox.
pub fn cri_pod_lifecycle(route: Route) {
    cri_pod(route, true);
}
