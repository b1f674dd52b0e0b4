//! The containerd end-to-end scenarios of `tests/e2e_containerd.rs`, run with
//! fastrun's own shim: `ctr run --runtime io.containerd.fastrun.v2` and a CRI
//! runtime of `runtime_type = "io.containerd.fastrun.v2"` (the shim binary first in
//! containerd's PATH). containerd then never executes a runtime binary: the shim
//! drives the engine in-process. After each scenario: no shim process, state,
//! mount or cgroup left.
//!
//! Needs `target/debug/containerd-shim-fastrun-v2` (`cargo test --workspace` or
//! `cargo build -p containerd-shim-fastrun-v2` builds it).

mod common;
mod e2e;

use e2e::scenarios::{self, Route};

const ROUTE: Route = Route { shim: true };

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
fn ctr_runtime_config_path() {
    scenarios::ctr_runtime_config_path(ROUTE);
}

#[test]
fn cri_pod_lifecycle() {
    scenarios::cri_pod_lifecycle(ROUTE);
}
