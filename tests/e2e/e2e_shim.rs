//! The containerd end-to-end scenarios of `tests/e2e/e2e_containerd.rs`, run with
//! fastrun's own shim: `ctr run --runtime io.containerd.fastrun.v2` and a CRI
//! runtime of `runtime_type = "io.containerd.fastrun.v2"` (the shim binary first in
//! containerd's PATH). containerd then never executes a runtime binary: the shim
//! drives the engine in-process. After each scenario: no shim process, state,
//! mount or cgroup left.
//!
//! Needs `target/debug/containerd-shim-fastrun-v2` (`cargo test --workspace` or
//! `cargo build -p containerd-shim-fastrun-v2` builds it).

use crate::e2e;

use e2e::scenarios::Route;

// One #[test] per scenario of tests/e2e/scenarios.rs, run by this route.
e2e::scenario_tests!(Route { shim: true };
    ctr_run_rm_output_and_exit_codes,
    ctr_run_killed_exits_137,
    ctr_run_oom_event,
    ctr_run_tty,
    ctr_detached_exec_kill_all_delete,
    ctr_task_ps_pause_resume,
    ctr_shared_pid_namespace,
    ctr_bad_command_shows_fastrun_error,
    ctr_runtime_config_path,
    cri_pod_lifecycle,
);

use std::time::{Duration, Instant};

use crate::common::{leftovers, TempDir, MARKER};
use e2e::{scenarios::shim_pids, Containerd};

/// Issue #18: the shim SIGKILLed in the middle of a task create, at each step of
/// the engine's create (the engine's crash switch, which the shim honours in debug
/// builds: `FASTRUN_TEST_CRASH_AT=@FILE` in containerd's environment, one kill per
/// write of FILE). `ctr run` fails; containerd's cleanup after the dead shim (the
/// shim binary's `delete` action) must leave nothing of the container: no shim, no
/// process, no cgroup in any hierarchy, no mount, no state directory or lock file;
/// and a new create of the same id then works and leaves nothing either.
#[test]
fn shim_killed_mid_create_leaves_nothing_and_the_id_works_again() {
    if !cfg!(debug_assertions) {
        eprintln!("skipping: the crash switch exists in debug builds only");
        return;
    }
    let dir = TempDir::new("fastrun-shim-crash-");
    let switch = dir.path().join("crash-at");
    let at = format!("@{}", switch.display());
    let ctd = Containerd::start_shim_env(&[("FASTRUN_TEST_CRASH_AT", &at)]);
    let root = ctd.fastrun_root().join(&ctd.ns);
    let nothing_left = |id: &str| {
        let mut left = leftovers(&root, id);
        let lock = root.join(".locks").join(id);
        if lock.exists() {
            left.push(format!("lock file {}", lock.display()));
        }
        // The dead shim's socket: /run/containerd/s/<sha256("<address>/<ns>/<id>")>.
        let key = format!("{}/{}/{id}", ctd.address().display(), ctd.ns);
        let o = e2e::cmd("sh", &["-c", "printf %s \"$1\" | sha256sum", "sh", &key]);
        let hash = o
            .stdout
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let socket = std::path::Path::new("/run/containerd/s").join(hash);
        if socket.exists() {
            left.push(format!("shim socket {}", socket.display()));
        }
        let shims = shim_pids(&ctd);
        if !shims.is_empty() {
            left.push(format!("shim processes {shims:?}"));
        }
        left
    };
    // Bounded: containerd cleans up after a dead shim in the background.
    let settle = |id: &str, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = nothing_left(id);
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: left behind:\n  {}\n--- containerd log ---\n{}",
                left.join("\n  "),
                ctd.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let steps = [
        "state.create",
        "cgroup.create",
        "spawn.clone",
        "spawn.ready",
        "state.save",
        "commit",
    ];
    for step in steps {
        let id = e2e::unique("shimcrash");
        let env = format!("{MARKER}={id}");
        std::fs::write(&switch, format!("create:{step}")).unwrap();
        let o = ctd.run(&["--rm", "--env", &env], &id, &["echo", "hello"]);
        assert!(
            !switch.exists(),
            "the shim did not reach {step} (no such step?): {o}"
        );
        assert!(
            !o.success(),
            "ctr run should fail when the shim dies at {step}: {o}"
        );
        // containerd runs `shim delete` after the shim's connection closed.
        settle(&id, &format!("the shim killed at {step}"));
        // The same id again, the shim alive this time.
        let o = ctd.run(&["--rm", "--env", &env], &id, &["echo", "hello"]);
        o.assert_success();
        assert_eq!(o.stdout, "hello\n", "{o}");
        settle(&id, &format!("a run after the shim was killed at {step}"));
        eprintln!("shim killed at create:{step}: cleaned up, {id} ran again");
    }
}
