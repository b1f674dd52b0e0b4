//! libfastrun for the binding tests: the libfastrun.so/.a cargo built for this test run
//! (`libfastrun` is a dev-dependency of the root package), installed into a temporary
//! prefix with `.ci/install-lib` (soname links, header, fastrun.pc), as a user would.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, Once};

use super::TempDir;

/// Directories to remove when the test process exits (for values kept in statics,
/// which are never dropped).
static AT_EXIT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn remove_at_exit() {
    if let Ok(dirs) = AT_EXIT.lock() {
        for d in dirs.iter() {
            super::remove_tree(d);
        }
    }
}

/// The directory holding the libfastrun.so and .a built for this test run: `deps/` or
/// the profile directory, whichever is newer.
pub fn built_lib_dir() -> PathBuf {
    let profile = Path::new(env!("CARGO_BIN_EXE_fastrun"))
        .parent()
        .expect("target/<profile>")
        .to_path_buf();
    let candidates = [profile.join("deps"), profile.clone()];
    let newest = candidates
        .iter()
        .filter_map(|d| {
            let m = std::fs::metadata(d.join("libfastrun.so")).ok()?;
            std::fs::metadata(d.join("libfastrun.a")).ok()?;
            Some((m.modified().ok()?, d.clone()))
        })
        .max();
    match newest {
        Some((_, d)) => d,
        None => panic!(
            "libfastrun.so/.a not found in {} or its deps/: run `cargo build -p libfastrun`",
            profile.display()
        ),
    }
}

/// libfastrun installed under a temporary prefix (removed on drop).
pub struct Installed {
    dir: TempDir,
}

impl Installed {
    /// Run `.ci/install-lib <tmp>/prefix <built_lib_dir>` and check what it installed.
    pub fn new() -> Installed {
        let dir = TempDir::new("fastrun-libfastrun-");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let prefix = dir.path().join("prefix");
        let o = Command::new(root.join(".ci/install-lib"))
            .arg(&prefix)
            .arg(built_lib_dir())
            .output()
            .expect("run .ci/install-lib");
        assert!(
            o.status.success(),
            ".ci/install-lib: {}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        for f in [
            "lib/libfastrun.so",
            "lib/libfastrun.so.0",
            "lib/libfastrun.a",
            "include/fastrun.h",
            "lib/pkgconfig/fastrun.pc",
        ] {
            assert!(prefix.join(f).exists(), "{f} not installed");
        }
        Installed { dir }
    }

    /// The prefix: `lib/`, `include/`, `lib/pkgconfig/`.
    /// `pkg-config ARGS fastrun` against this prefix, split into words.
    pub fn pkg_config(&self, args: &[&str]) -> Vec<String> {
        let o = Command::new("pkg-config")
            .env("PKG_CONFIG_PATH", self.prefix().join("lib/pkgconfig"))
            .args(args)
            .arg("fastrun")
            .output()
            .expect("run pkg-config");
        assert!(
            o.status.success(),
            "pkg-config {args:?} fastrun: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout)
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect()
    }

    /// The flags that link a program statically against this prefix's libfastrun.a.
    pub fn static_link_args(&self) -> Vec<String> {
        let mut args = self.pkg_config(&["--cflags"]);
        args.push(self.prefix().join("lib/libfastrun.a").display().to_string());
        args.extend(
            self.pkg_config(&["--static", "--libs-only-l"])
                .into_iter()
                .filter(|f| f != "-lfastrun"),
        );
        args
    }

    pub fn prefix(&self) -> PathBuf {
        self.dir.path().join("prefix")
    }

    pub fn lib(&self) -> PathBuf {
        self.prefix().join("lib")
    }

    /// Remove the prefix when the test process exits, for an `Installed` kept in a static
    /// (shared by the tests of a file), where Drop never runs.
    pub fn remove_at_exit(&self) {
        static REGISTER: Once = Once::new();
        REGISTER.call_once(|| {
            // SAFETY: registering a plain extern "C" fn without arguments; it only
            // locks a static Mutex.
            unsafe { libc::atexit(remove_at_exit) };
        });
        AT_EXIT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.dir.path().to_path_buf());
    }

    /// A scratch directory next to the prefix (removed with it).
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for Installed {
    fn default() -> Self {
        Self::new()
    }
}

/// `cc -std=c99 -Wall -Wextra -Werror -pedantic -g ARGS -o OUT`, asserting success.
pub fn cc(args: &[String], out: &Path) {
    let o = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .args(args)
        .arg("-o")
        .arg(out)
        .output()
        .expect("run cc");
    assert!(
        o.status.success(),
        "cc {args:?} failed: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}
