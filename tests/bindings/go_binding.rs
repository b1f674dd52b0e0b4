//! The Go binding (`bindings/go/`): `go test` against libfastrun installed in a temporary
//! prefix (`.ci/install-lib`), with the standard library only (`GOFLAGS=-mod=mod`,
//! `GOPROXY=off`: no module is downloaded), its cgo flags from the installed `fastrun.pc`.
//! Its tests run real containers as root.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn go_test_passes() {
    if Command::new("go").arg("version").output().is_err() {
        eprintln!("skipping: no Go toolchain (`go`; .ci/setup installs golang-go)");
        return;
    }
    let installed = libfastrun::Installed::new();
    let lib = installed.lib();
    let pkg = Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/go");
    let mut cmd = Command::new("go");
    cmd.args(["test", "-count=1", "-v", "."])
        .current_dir(&pkg)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "1")
        // The header and the library's flags come from the installed fastrun.pc
        // (`#cgo pkg-config: fastrun`); only the rpath is ours.
        .env("PKG_CONFIG_PATH", lib.join("pkgconfig"))
        .env("CGO_LDFLAGS", format!("-Wl,-rpath,{}", lib.display()));
    // A fresh build cache per run would recompile the standard library: keep the user's
    // (or a shared one under /tmp when HOME is unset, as in some CI shells).
    if std::env::var_os("HOME").is_none() && std::env::var_os("GOCACHE").is_none() {
        cmd.env("GOCACHE", "/tmp/fastrun-go-cache");
    }
    let o = run_cmd(cmd, None, Duration::from_secs(600));
    println!("{o}");
    o.assert_success();
    assert!(
        o.stdout.contains("\nPASS\n") || o.stdout.starts_with("PASS\n"),
        "{o}"
    );
    // Every test ran (none skipped) when we are root.
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        assert!(!o.stdout.contains("--- SKIP"), "{o}");
    }
}
