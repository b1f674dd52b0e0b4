//! The fastrun engine.
//!
//! Data flows one way:
//! `config.json` bytes → [`spec`] (borrowed, validated) → [`plan`] (owned, C strings,
//! flags resolved) → [`spawn`] (clone3; the child only runs the plan's syscalls) →
//! [`state`] (what later commands read).
//!
//! The CLI, the C ABI (`ffi/`) and the benchmarks call only the API in [`api`].
//! This crate parses no command line and exports no C symbols.
//!
//! `unsafe` lives in two rooms only (ARCHITECTURE.md): [`sys`], the typed syscall
//! wrappers, and the child executor (`spawn::child`, `spawn::shared_vm`).
//! Everything else is `deny(unsafe_code)`.

#![deny(unsafe_code)]

#[macro_use]
mod macros;

pub mod api;
mod cgroup_ops;
pub mod cgroups;
mod children;
mod context;
pub mod error;
mod exec;
pub mod features;
pub(crate) mod hooks;
mod lifecycle;
pub mod log_line;
// The plan and the seccomp compiler are internals: public only with the
// `internals` feature, for the fuzz targets and the benchmarks.
#[cfg(feature = "internals")]
pub mod plan;
#[cfg(not(feature = "internals"))]
#[allow(dead_code)]
pub(crate) mod plan;
pub(crate) mod rootfs;
pub mod rootless;
#[cfg(feature = "internals")]
pub mod seccomp;
#[cfg(not(feature = "internals"))]
#[allow(dead_code)]
pub(crate) mod seccomp;
mod signals;
pub(crate) mod spawn;
pub mod spec;
pub mod state;
pub mod state_json;
// The syscall room: safe wrappers over raw system calls, each block with its
// `// SAFETY:` note.
#[allow(unsafe_code)]
pub mod sys;
mod terminal;
mod trace;

/// The pure parts of `exec` and `update` (no container, no file): what the fuzz
/// targets in `fuzz/` drive behind the command-line parser. Not a stable API.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::cgroup_ops::update_resources;
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
