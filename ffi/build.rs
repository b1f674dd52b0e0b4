//! Build script of libfastrun: the shared library's soname (`libfastrun.so.0`), and a
//! warning when the library is built with `panic = "abort"` (the workspace's release
//! profile): then a panic aborts the host instead of becoming FASTRUN_E_INTERNAL. Build
//! the library with `--profile release-lib` (panic = "unwind"), as `.ci/install-lib` does.

/// The ABI major version: bump it on every incompatible change of include/fastrun.h.
const SONAME: &str = "libfastrun.so.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{SONAME}");
    if std::env::var("CARGO_CFG_PANIC").as_deref() == Ok("abort") {
        println!(
            "cargo:warning=libfastrun is built with panic=abort: a panic would abort the host \
             process; build it with `--profile release-lib` (see ffi/build.rs)"
        );
    }
}
