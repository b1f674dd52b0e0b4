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
    version_script();
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

    let mut config = cbindgen::Config::from_file(&config_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", config_path.display()));
    // The version of the header, to compare with fastrun_version() at run time.
    let v = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} unset"));
    config.after_includes = Some(format!(
        "\n/** The version of this header (libfastrun's is fastrun_version()). */\n\
         #define FASTRUN_VERSION_MAJOR {}\n#define FASTRUN_VERSION_MINOR {}\n\
         #define FASTRUN_VERSION_PATCH {}\n#define FASTRUN_VERSION_STRING \"{}\"",
        v("CARGO_PKG_VERSION_MAJOR"),
        v("CARGO_PKG_VERSION_MINOR"),
        v("CARGO_PKG_VERSION_PATCH"),
        v("CARGO_PKG_VERSION"),
    ));
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

/// Versioned symbols: every exported `fastrun_*` function gets the version node of the
/// ABI major version (`FASTRUN_0`), defined by a version script. rustc passes its own
/// (anonymous) script naming each export first, which wins over ours for the
/// assignment: a `.symver NAME, NAME@@FASTRUN_0` directive per function (the names
/// read from src/lib.rs, the directives included there) binds each to the node.
fn version_script() {
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let src = dir.join("src/lib.rs");
    println!("cargo:rerun-if-changed={}", src.display());
    let text = std::fs::read_to_string(&src).expect("read src/lib.rs");
    let mut names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("extern \"C\" fn ").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split('(').next())
        .filter(|n| n.starts_with("fastrun_"))
        .collect();
    names.sort();
    names.dedup();
    assert!(!names.is_empty(), "no fastrun_* function in src/lib.rs");
    let node = format!(
        "FASTRUN_{}",
        std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap()
    );
    let mut map = format!("{node} {{\n  global:\n");
    let mut symver = String::new();
    for n in names {
        map.push_str(&format!("    {n};\n"));
        symver.push_str(&format!(
            "std::arch::global_asm!(\".symver {n}, {n}@@{node}\");\n"
        ));
    }
    map.push_str("  local:\n    *;\n};\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("fastrun.map");
    std::fs::write(&out, map).expect("write the version script");
    let rs = out.with_file_name("symver.rs");
    std::fs::write(&rs, symver).expect("write the .symver directives");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        out.display()
    );
}
