//! Build `bindings/c/version.c` against `include/fastrun.h` and libfastrun.so with the
//! system C compiler, run it, and check what it prints.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding the libfastrun.so built for this test run (`libfastrun` is a
/// dev-dependency, so cargo builds it, with all its crate types, into `deps/`).
fn lib_dir() -> PathBuf {
    let profile = Path::new(env!("CARGO_BIN_EXE_fastrun"))
        .parent()
        .expect("target/<profile>")
        .to_path_buf();
    let candidates = [profile.join("deps"), profile.clone()];
    let newest = candidates
        .iter()
        .filter_map(|d| {
            let m = std::fs::metadata(d.join("libfastrun.so")).ok()?;
            Some((m.modified().ok()?, d.clone()))
        })
        .max();
    match newest {
        Some((_, d)) => d,
        None => panic!(
            "libfastrun.so not found in {} or its deps/: run `cargo build -p libfastrun`",
            profile.display()
        ),
    }
}

#[test]
fn c_program_prints_version() {
    if Command::new("cc").arg("--version").output().is_err() {
        eprintln!("skipping: no C compiler (`cc`) on this machine");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = lib_dir();
    let out_dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c-binding-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join("version");
    let cc = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(root.join("include"))
        .arg(root.join("bindings/c/version.c"))
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lfastrun")
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        cc.status.success(),
        "cc failed: {}\n{}",
        cc.status,
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(&exe).output().expect("run the C program");
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "{}: {}\n{}",
        exe.display(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let first = stdout.lines().next().unwrap_or("");
    assert_eq!(first, format!("libfastrun {}", env!("CARGO_PKG_VERSION")));
    assert!(
        stdout.contains("error 2: unknown signal \"NOSUCHSIGNAL\""),
        "{stdout}"
    );
    std::fs::remove_dir_all(&out_dir).unwrap();
}
