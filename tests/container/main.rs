//! Real containers through the CLI and the Rust API: one test binary
//! (`cargo test --test container`), one module per subject. `cargo test --test
//! container MODULE::` runs one of them (e.g. `lifecycle::`, `seccomp::`).
//!
//! - `lifecycle`, `container_contract`, `container_failures`, `container_crash`,
//!   `state_safety`: create → start → kill → delete, what containerd and podman rely
//!   on, bad input at every stage, a runtime killed at any point, concurrent calls.
//! - `container_process`, `exec`, `terminal`, `hooks`, `seccomp`, `userns`,
//!   `rootless`, `cgroups_lifecycle`: what the process sees and what the host
//!   looks like afterwards, per part of the config.
//! - `trace`: `--trace FILE`; `shared_vm`: the vfork-style spawn, in-process;
//!   `runc_parity`: what a client relies on runc for, against runc itself.

#[path = "../common/mod.rs"]
pub mod common;

mod cgroups_lifecycle;
mod container_contract;
mod container_crash;
mod container_failures;
mod container_process;
mod exec;
mod hooks;
mod lifecycle;
mod rootless;
mod runc_parity;
mod seccomp;
mod shared_vm;
mod state_safety;
mod terminal;
mod trace;
mod userns;
