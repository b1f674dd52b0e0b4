//! Build script of the `fastrun` CLI: stamps the git commit into `FASTRUN_COMMIT`
//! (for `--version`). The C header of libfastrun is libfastrun's business
//! (`ffi/build.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    stamp_commit(&manifest);
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
