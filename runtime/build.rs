//! Link libseccomp (used before the clone to compile `linux.seccomp` to BPF).
//!
//! Statically when `libseccomp.a` is found (Debian's libseccomp-dev ships it): the
//! binary then runs on hosts without libseccomp and never loads a shared library
//! for seccomp. Otherwise dynamically. `FASTRUN_LIBSECCOMP_LINK=static|dylib`
//! forces one; `FASTRUN_LIBSECCOMP_DIR` names the directory holding the library.

use std::path::{Path, PathBuf};
use std::process::Command;

fn libdir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("FASTRUN_LIBSECCOMP_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Ok(out) = Command::new("pkg-config")
        .args(["--variable=libdir", "libseccomp"])
        .output()
    {
        let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !s.is_empty() {
            return Some(PathBuf::from(s));
        }
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    [
        format!("/usr/lib/{arch}-linux-gnu"),
        "/usr/lib64".into(),
        "/usr/lib".into(),
        "/usr/local/lib".into(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|d| d.join("libseccomp.a").exists() || d.join("libseccomp.so").exists())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=FASTRUN_LIBSECCOMP_LINK");
    println!("cargo:rerun-if-env-changed=FASTRUN_LIBSECCOMP_DIR");
    let want = std::env::var("FASTRUN_LIBSECCOMP_LINK").unwrap_or_default();
    let dir = libdir();
    let has_static = dir
        .as_deref()
        .is_some_and(|d: &Path| d.join("libseccomp.a").exists());
    let musl = std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl");
    match &dir {
        // the musl target links its own libc.a: a search path holding glibc's would
        // shadow it, so only libseccomp.a is handed over, from a directory of its own
        Some(d) if musl && has_static => {
            let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("seccomp");
            std::fs::create_dir_all(&out).expect("create OUT_DIR/seccomp");
            std::fs::copy(d.join("libseccomp.a"), out.join("libseccomp.a"))
                .expect("copy libseccomp.a");
            println!("cargo:rustc-link-search=native={}", out.display());
        }
        Some(d) => println!("cargo:rustc-link-search=native={}", d.display()),
        None => {}
    }
    let linkage = match want.as_str() {
        "dylib" => "dylib",
        "static" if !has_static => {
            panic!("FASTRUN_LIBSECCOMP_LINK=static but no libseccomp.a was found (install libseccomp-dev or set FASTRUN_LIBSECCOMP_DIR)")
        }
        _ if has_static => "static",
        _ => "dylib",
    };
    println!("cargo:rustc-link-lib={linkage}=seccomp");
    println!("cargo:rustc-env=FASTRUN_LIBSECCOMP_LINKAGE={linkage}");
}
