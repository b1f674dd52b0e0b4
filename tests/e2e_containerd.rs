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

mod common;
mod e2e;

use e2e::scenarios::{self, Route};

const ROUTE: Route = Route { shim: false };

#[test]
fn ctr_run_rm_output_and_exit_codes() {
    scenarios::ctr_run_rm_output_and_exit_codes(ROUTE);
}

#[test]
fn ctr_run_killed_exits_137() {
    scenarios::ctr_run_killed_exits_137(ROUTE);
}

#[test]
fn ctr_run_oom_event() {
    scenarios::ctr_run_oom_event(ROUTE);
}

#[test]
fn ctr_run_tty() {
    scenarios::ctr_run_tty(ROUTE);
}

#[test]
fn ctr_detached_exec_kill_all_delete() {
    scenarios::ctr_detached_exec_kill_all_delete(ROUTE);
}

#[test]
fn ctr_task_ps_pause_resume() {
    scenarios::ctr_task_ps_pause_resume(ROUTE);
}

#[test]
fn ctr_shared_pid_namespace() {
    scenarios::ctr_shared_pid_namespace(ROUTE);
}

#[test]
fn ctr_bad_command_shows_fastrun_error() {
    scenarios::ctr_bad_command_shows_fastrun_error(ROUTE);
}

#[test]
fn cri_pod_lifecycle() {
    scenarios::cri_pod_lifecycle(ROUTE);
}
