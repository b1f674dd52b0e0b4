//! fastrun under the real containerd (Debian's 1.6, `io.containerd.runc.v2` shim),
//! started privately by each test (see `tests/e2e/mod.rs`).
//!
//! - the ctr route: `ctr run --runc-binary <fastrun> --runc-root DIR ...`;
//! - the CRI route: fastrun as the default runtime of the CRI plugin
//!   (`runtime_type = "io.containerd.runc.v2"`, `BinaryName`), driven through the CRI
//!   gRPC API by `tests/cri-client` (only with `FASTRUN_E2E_CRI=1`, which `.ci/run`
//!   sets: that client takes a minute or two to build).
//!
//! Every test starts its own containerd (about 50 ms) and namespace, so they run in
//! parallel without sharing anything.

use crate::e2e;

use e2e::scenarios::Route;

// One #[test] per scenario of tests/e2e/scenarios.rs, run by this route.
e2e::scenario_tests!(Route { shim: false };
    ctr_run_rm_output_and_exit_codes,
    ctr_run_killed_exits_137,
    ctr_run_oom_event,
    ctr_run_tty,
    ctr_detached_exec_kill_all_delete,
    ctr_task_ps_pause_resume,
    ctr_shared_pid_namespace,
    ctr_bad_command_shows_fastrun_error,
    cri_pod_lifecycle,
);
