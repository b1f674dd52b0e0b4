//! The fastrun engine.
//!
//! Data flows one way:
//! `config.json` bytes → [`spec`] (borrowed, validated) → [`plan`] (owned, C strings,
//! flags resolved) → [`spawn`] (clone3; the child only runs the plan's syscalls) →
//! [`state`] (what later commands read).
//!
//! The CLI, the C ABI (`ffi/`) and the benchmarks call only the API in [`api`].
//! This crate parses no command line and exports no C symbols.

pub mod api;
pub mod cgroups;
mod control;
pub mod error;
mod exec;
pub mod features;
pub mod hooks;
pub mod json;
mod lifecycle;
pub mod plan;
pub mod rootfs;
pub mod rootless;
pub mod seccomp;
mod signals;
pub mod spawn;
pub mod spec;
pub mod state;
pub mod sys;
mod terminal;
mod trace;

/// The pure parts of `exec` and `update` (no container, no file): what the fuzz
/// targets in `fuzz/` drive behind the command-line parser. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::control::update_resources;
    pub use crate::exec::apply_overrides;
}

pub use api::*;
pub use error::{Error, ErrorKind, Result};
pub use spawn::SpawnMode;

/// The version of this engine (the workspace version).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The newest OCI runtime-spec version this engine implements.
pub const OCI_SPEC_VERSION: &str = "1.3.0";
