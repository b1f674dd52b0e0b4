//! The library faces of the engine: one test binary (`cargo test --test bindings`).
//!
//! - `c_binding`: libfastrun installed into a temporary prefix, the C programs of
//!   `bindings/c/` built against it and run.
//! - `go_binding`: `go test` in `bindings/go/` against the same installation.
//! - `owned_processes`: the processes the engine owns for an embedding host,
//!   through the Rust API.

#[path = "../common/mod.rs"]
pub mod common;

mod c_binding;
mod go_binding;
mod owned_processes;
