//! fastrun under real container engines, each started privately by the test: one
//! test binary (`cargo test --test e2e`); `cargo test --test e2e e2e_docker::` runs
//! one engine's tests. The helpers (images, private containerd, podman, Docker,
//! buildah, the shared containerd scenarios) are in `mod.rs` and its modules.

#[path = "../common/mod.rs"]
pub mod common;
#[path = "mod.rs"]
pub mod e2e;

mod e2e_buildah;
mod e2e_containerd;
mod e2e_docker;
mod e2e_podman;
mod e2e_podman_rootless;
mod e2e_shim;
