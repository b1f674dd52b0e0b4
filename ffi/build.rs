//! Build script of libfastrun:
//! - generates the C header from `src/lib.rs` with cbindgen (`cbindgen.toml`) into
//!   `$OUT_DIR/fastrun.h` (exposed as `FASTRUN_FRESH_HEADER` for `tests/header.rs`),
//!   and copies it to `include/fastrun.h` at the top of the repository when
//!   `FASTRUN_UPDATE_HEADER=1` (`FASTRUN_UPDATE_HEADER=1 cargo build -p libfastrun`);
//! - the shared library's soname (`libfastrun.so.0`), and a warning when the library
//!   is built with `panic = "abort"` (the workspace's release profile): then a panic
//!   aborts the host instead of becoming FASTRUN_E_INTERNAL. Build the library with
//!   `--profile release-lib` (panic = "unwind"), as `.ci/install-lib` does.

/// The ABI major version: bump it on every incompatible change of include/fastrun.h.
const SONAME: &str = "libfastrun.so.0";

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    header(&manifest, &out_dir);
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{SONAME}");
    if std::env::var("CARGO_CFG_PANIC").as_deref() == Ok("abort") {
        println!(
            "cargo:warning=libfastrun is built with panic=abort: a panic would abort the host \
             process; build it with `--profile release-lib` (see ffi/build.rs)"
        );
    }
}

fn header(manifest: &Path, out_dir: &Path) {
    let src = manifest.join("src/lib.rs");
    let config_path = manifest.join("cbindgen.toml");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-changed={}", config_path.display());
    println!("cargo:rerun-if-env-changed=FASTRUN_UPDATE_HEADER");
    let fresh = out_dir.join("fastrun.h");
    println!("cargo:rustc-env=FASTRUN_FRESH_HEADER={}", fresh.display());

    let config = cbindgen::Config::from_file(&config_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", config_path.display()));
    // Parse only the one source file: no `cargo metadata`, no recursion into the
    // workspace, fast.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(&src)
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen on {}: {e}", src.display()));
    bindings.write_to_file(&fresh);

    if std::env::var_os("FASTRUN_UPDATE_HEADER").is_some_and(|v| v == "1") {
        let include = manifest.join("../include");
        let committed = include.join("fastrun.h");
        std::fs::create_dir_all(&include).expect("create include/");
        std::fs::copy(&fresh, &committed)
            .unwrap_or_else(|e| panic!("copy to {}: {e}", committed.display()));
        println!("cargo:warning=updated {}", committed.display());
    }
}
