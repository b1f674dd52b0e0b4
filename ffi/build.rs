//! Build script of libfastrun: the shared library's soname (`libfastrun.so.0`), and a
//! warning when the library is built with `panic = "abort"` (the workspace's release
//! profile): then a panic aborts the host instead of becoming FASTRUN_E_INTERNAL. Build
//! the library with `--profile release-lib` (panic = "unwind"), as `.ci/install-lib` does.

/// The ABI major version: bump it on every incompatible change of include/fastrun.h.
const SONAME: &str = "libfastrun.so.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{SONAME}");
    version_script();
    if std::env::var("CARGO_CFG_PANIC").as_deref() == Ok("abort") {
        println!(
            "cargo:warning=libfastrun is built with panic=abort: a panic would abort the host \
             process; build it with `--profile release-lib` (see ffi/build.rs)"
        );
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
