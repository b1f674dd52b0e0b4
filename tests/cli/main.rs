//! The CLI as a caller and as runc's stand-in sees it: one test binary
//! (`cargo test --test cli`), one module per part.
//!
//! - `cli`: the command-line contract (output shapes, exit codes, errors, help).
//! - `harness`: self-tests of the shared harness (`tests/common`).
//! - `oracle`: runc as the oracle, the same bundle and command line under both.

#[path = "../common/mod.rs"]
pub mod common;

mod cli;
mod harness;
mod oracle;
