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
