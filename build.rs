//! Build script of the `fastrun` CLI:
//! - stamps the git commit into `FASTRUN_COMMIT` (for `--version`);
//! - generates the C header of libfastrun (`ffi/src/lib.rs`) with cbindgen into
//!   `$OUT_DIR/fastrun.h` (exposed as `FASTRUN_FRESH_HEADER` for `tests/header.rs`), and
//!   copies it to `include/fastrun.h` when `FASTRUN_UPDATE_HEADER=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    stamp_commit(&manifest);
    header(&manifest, &out_dir);
}

fn git(manifest: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new("git")
        .arg("-C")
        .arg(manifest)
        .args(args)
        .output()
        .ok()?;
    if !o.status.success() {
        return None;
    }
    let s = String::from_utf8(o.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn stamp_commit(manifest: &Path) {
    let commit = git(manifest, &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=FASTRUN_COMMIT={commit}");
    // Re-run when HEAD moves: HEAD itself (another branch checked out) and the ref it
    // points to (a new commit), wherever git keeps them (worktrees have their own HEAD
    // and share refs with the main repository). Only existing files are named: cargo
    // reruns every time for a missing one.
    let abs = |p: String| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            manifest.join(p)
        }
    };
    let mut watch = Vec::new();
    if let Some(git_dir) = git(manifest, &["rev-parse", "--git-dir"]).map(abs) {
        watch.push(git_dir.join("HEAD"));
        let common = git(manifest, &["rev-parse", "--git-common-dir"])
            .map(abs)
            .unwrap_or(git_dir);
        if let Some(r) = git(manifest, &["symbolic-ref", "-q", "HEAD"]) {
            watch.push(common.join(r));
        }
        watch.push(common.join("packed-refs"));
    }
    for p in watch.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}

fn header(manifest: &Path, out_dir: &Path) {
    let src = manifest.join("ffi/src/lib.rs");
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
        let committed = manifest.join("include/fastrun.h");
        std::fs::create_dir_all(manifest.join("include")).expect("create include/");
        std::fs::copy(&fresh, &committed)
            .unwrap_or_else(|e| panic!("copy to {}: {e}", committed.display()));
        println!("cargo:warning=updated {}", committed.display());
    }
}
