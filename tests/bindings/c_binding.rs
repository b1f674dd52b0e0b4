//! The C binding (`bindings/c/`): install libfastrun into a temporary prefix with
//! `.ci/install-lib` (from the libfastrun.so/.a cargo built for this test run), build the
//! C programs with the system `cc` against the installed header and `fastrun.pc`,
//! linked dynamically and statically, and run them:
//! - `version.c`: the version and the error convention (no root needed);
//! - `test_fastrun.c`: real containers (run, create/start/state/kill/delete, detached
//!   run, error paths, fd and child hygiene), both links; built with LeakSanitizer
//!   (a leak fails the test); and under valgrind (memory errors, definite leaks and fds
//!   left open fail the test), without containers there: valgrind 3.19 does not know
//!   pidfd_open/pidfd_send_signal/clone3, which the engine needs;
//! - `example.c`: the README's example;
//! - `process_test.c`: the processes the library owns (exit statuses under stress and
//!   whatever the host does with SIGCHLD, detached exec'd processes, pidfds).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn root_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// libfastrun installed in a temporary prefix, and the C programs built against it.
struct Built {
    /// Kept for its Drop (removes the prefix and the programs).
    _installed: libfastrun::Installed,
    prefix: PathBuf,
    version: PathBuf,
    test_dynamic: PathBuf,
    test_static: PathBuf,
    /// Fully static (`cc -static`), linked with `pkg-config --static --libs`.
    test_full_static: PathBuf,
    /// Dynamically linked, with LeakSanitizer.
    test_lsan: PathBuf,
    example: PathBuf,
    /// `process_test.c`, dynamically linked.
    process: PathBuf,
}

/// Install and build once per test process (the tests run in parallel).
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let installed = libfastrun::Installed::new();
        // `Built` lives in a static (never dropped): remove its files at exit.
        installed.remove_at_exit();
        let prefix = installed.prefix();
        let src = |name: &str| root_dir().join("bindings/c").join(name);
        let s = |p: &Path| p.to_str().unwrap().to_string();
        let libdir = prefix.join("lib");
        // Dynamic: the flags of fastrun.pc, and an rpath to the prefix.
        let mut dynamic = installed.pkg_config(&["--cflags", "--libs"]);
        dynamic.push(format!("-Wl,-rpath,{}", libdir.display()));
        // Static: libfastrun.a and the system libraries fastrun.pc lists as private.
        let static_ = installed.static_link_args();
        let exe = |name: &str| installed.scratch().join(name);
        let build = |source: &str, flags: &[String], out: &Path| {
            let mut args = vec![s(&src(source))];
            args.extend_from_slice(flags);
            libfastrun::cc(&args, out);
        };
        build("version.c", &dynamic, &exe("version"));
        build("test_fastrun.c", &dynamic, &exe("test_dynamic"));
        build("test_fastrun.c", &static_, &exe("test_static"));
        // The line an embedder would write: pkg-config alone, no path to the archive.
        let mut full = vec!["-static".to_string()];
        full.extend(installed.pkg_config(&["--static", "--cflags", "--libs"]));
        build("test_fastrun.c", &full, &exe("test_full_static"));
        let mut lsan = vec!["-fsanitize=leak".to_string()];
        lsan.extend_from_slice(&dynamic);
        build("test_fastrun.c", &lsan, &exe("test_lsan"));
        build("example.c", &dynamic, &exe("example"));
        let mut threaded = dynamic.clone();
        threaded.push("-pthread".into());
        build("process_test.c", &threaded, &exe("process_test"));
        Built {
            prefix,
            version: exe("version"),
            test_dynamic: exe("test_dynamic"),
            test_static: exe("test_static"),
            test_full_static: exe("test_full_static"),
            test_lsan: exe("test_lsan"),
            example: exe("example"),
            process: exe("process_test"),
            _installed: installed,
        }
    })
}

/// The shared libraries an executable needs (its DT_NEEDED entries).
fn needed_libs(exe: &Path) -> String {
    let o = Command::new("readelf")
        .arg("-d")
        .arg(exe)
        .output()
        .expect("run readelf");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn c_program_prints_version() {
    if !have("cc") || !have("pkg-config") {
        eprintln!("skipping: no C compiler (`cc`) or pkg-config on this machine");
        return;
    }
    let b = built();
    let o = run_cmd(Command::new(&b.version), None, TIMEOUT);
    o.assert_success();
    let first = o.stdout.lines().next().unwrap_or("");
    assert_eq!(first, format!("libfastrun {}", env!("CARGO_PKG_VERSION")));
    assert!(
        o.stdout
            .contains("error 2: unknown signal \"NOSUCHSIGNAL\""),
        "{o}"
    );
    assert!(o.stderr.is_empty(), "{o}");
}

#[test]
fn installed_library_has_the_soname_and_the_static_program_does_not_need_it() {
    if !have("cc") || !have("pkg-config") {
        eprintln!("skipping: no C compiler (`cc`) or pkg-config on this machine");
        return;
    }
    let b = built();
    let so = std::fs::canonicalize(b.prefix.join("lib/libfastrun.so")).unwrap();
    assert_eq!(
        so.file_name().unwrap().to_str().unwrap(),
        format!("libfastrun.so.{}", env!("CARGO_PKG_VERSION"))
    );
    let o = Command::new("readelf").arg("-d").arg(&so).output().unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Library soname: [libfastrun.so.0]"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(needed_libs(&b.test_dynamic).contains("[libfastrun.so.0]"));
    let st = needed_libs(&b.test_static);
    assert!(!st.contains("libfastrun"), "static program needs: {st}");
}

/// `cc -static` with the `pkg-config --static` line makes a program without any
/// shared library or interpreter.
#[test]
fn pkg_config_static_line_links_a_fully_static_program() {
    if !have("cc") || !have("pkg-config") {
        eprintln!("skipping: no C compiler (`cc`) or pkg-config on this machine");
        return;
    }
    let b = built();
    let o = Command::new("readelf")
        .args(["-l", "-d"])
        .arg(&b.test_full_static)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.contains("INTERP"), "{text}");
    assert!(!text.contains("(NEEDED)"), "{text}");
}

/// The symbols of an object file or archive defined and global, with nm. `bfd`: name
/// the BFD target (cargo's archive embeds LLVM bitcode, which sends plain nm to the
/// host's LLVM plugin; the installed one has none and works with plain nm).
fn global_symbols(file: &Path, bfd: bool) -> Vec<String> {
    let mut cmd = Command::new("nm");
    if bfd {
        cmd.arg("--target=elf64-x86-64");
    }
    let o = cmd
        .args(["-g", "--defined-only", "--format=posix"])
        .arg(file)
        .output()
        .expect("run nm");
    assert!(
        o.status.success(),
        "nm: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.ends_with(':') && !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// libfastrun.a exposes only fastrun_* (libseccomp's seccomp_*, zmalloc, the Rust
/// runtime: local), and libfastrun.so's functions carry the version node FASTRUN_0.
#[test]
fn installed_libraries_export_only_versioned_fastrun_symbols() {
    if !have("cc") || !have("pkg-config") || std::env::consts::ARCH != "x86_64" {
        eprintln!("skipping: needs cc, pkg-config, x86_64");
        return;
    }
    let b = built();
    // Before: what cargo built exports libseccomp's symbols.
    let raw = global_symbols(&libfastrun::built_lib_dir().join("libfastrun.a"), true);
    assert!(
        raw.iter().any(|s| s == "seccomp_init"),
        "{} symbols",
        raw.len()
    );
    let syms = global_symbols(&b.prefix.join("lib/libfastrun.a"), false);
    let foreign: Vec<&String> = syms.iter().filter(|s| !s.starts_with("fastrun_")).collect();
    assert!(foreign.is_empty(), "non-fastrun globals: {foreign:?}");
    for f in [
        "fastrun_context_new",
        "fastrun_container_wait",
        "fastrun_container_pidfd",
    ] {
        assert!(syms.iter().any(|s| s == f), "{f} missing: {syms:?}");
    }
    let o = Command::new("objdump")
        .arg("-T")
        .arg(b.prefix.join("lib/libfastrun.so"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let exported: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" g ") && l.contains(".text"))
        .collect();
    assert!(exported.len() >= 28, "{text}");
    for l in &exported {
        assert!(
            l.contains("FASTRUN_0")
                && l.trim_end()
                    .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && l.contains("fastrun_"),
            "unversioned or foreign export: {l}"
        );
    }
}

/// Run `test_fastrun` (the given build, optionally under a wrapper such as valgrind)
/// with fresh bundles and root; check its output and that nothing is left behind.
fn run_test_program(
    exe: &Path,
    name: &str,
    wrapper: &[&str],
    env: &[(&str, &str)],
    timeout: Duration,
) -> Output {
    let root = StateRoot::new();
    let prefix = unique_id(name);
    let run_bundle = Bundle::with_id(&format!("{prefix}-run")).args(&[
        "sh",
        "-c",
        "echo hello from the C test; exit 7",
    ]);
    let sleep_bundle = Bundle::with_id(&format!("{prefix}-sleep")).args(&["sleep", "60"]);
    // Cleanup even when the program fails halfway (delete --force, kill marked processes).
    let _guards = [
        Container::new(&root, &run_bundle),
        Container::new(&root, &sleep_bundle),
    ];
    let detached = Bundle::with_id(&format!("{prefix}-detached"));
    let _guard = Container::new(&root, &detached);

    let mut cmd = match wrapper.split_first() {
        Some((w, rest)) => {
            let mut c = Command::new(w);
            c.args(rest).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.arg(root.path())
        .arg(run_bundle.path())
        .arg(sleep_bundle.path())
        .arg(&prefix)
        .envs(env.iter().copied());
    let o = run_cmd(cmd, None, timeout);
    println!("{o}");
    o.assert_success();
    let containers = !env.iter().any(|(k, _)| *k == "FASTRUN_TEST_NO_CONTAINERS");
    assert_eq!(
        o.stdout.contains("hello from the C test\n"),
        containers,
        "{o}"
    );
    assert!(o.stdout.contains("checks passed"), "{o}");
    assert!(!o.stdout.contains("FAIL"), "{o}");
    for id in ["run", "sleep", "detached"] {
        assert_no_leftovers(root.path(), &format!("{prefix}-{id}"));
    }
    o
}

#[test]
fn c_test_program_runs_containers_dynamic_and_static() {
    if !have("cc") || !have("pkg-config") || !is_root() {
        eprintln!("skipping: needs root, `cc` and pkg-config");
        return;
    }
    let b = built();
    // FASTRUN_SPAWN_VM=2: the vfork-style spawn from a C host.
    for (exe, name, env) in [
        (&b.test_dynamic, "cdyn", &[][..]),
        (&b.test_static, "cstatic", &[][..]),
        (&b.test_full_static, "cfull", &[][..]),
        (&b.test_dynamic, "cvm", &[("FASTRUN_TEST_SPAWN", "2")][..]),
    ] {
        let o = run_test_program(exe, name, &[], env, Duration::from_secs(120));
        // libfastrun prints nothing on the host's stdio: stderr stays empty.
        assert!(
            o.stderr.is_empty(),
            "{name}: something printed on stderr: {o}"
        );
    }
}

#[test]
fn c_test_program_leaks_nothing_under_leak_sanitizer() {
    if !have("cc") || !have("pkg-config") || !is_root() {
        eprintln!("skipping: needs root, `cc` and pkg-config");
        return;
    }
    let b = built();
    // LeakSanitizer reports at exit and makes the program exit non-zero on a leak.
    let o = run_test_program(
        &b.test_lsan,
        "clsan",
        &[],
        &[("LSAN_OPTIONS", "exitcode=23:report_objects=1")],
        Duration::from_secs(120),
    );
    assert!(!o.stderr.contains("LeakSanitizer"), "{o}");
}

#[test]
fn c_test_program_is_clean_under_valgrind() {
    if !have("cc") || !have("pkg-config") || !is_root() || !have("valgrind") {
        eprintln!("skipping: needs root, `cc`, pkg-config and valgrind (.ci/setup installs it)");
        return;
    }
    let b = built();
    let o = run_test_program(
        &b.test_dynamic,
        "cvg",
        &[
            "valgrind",
            "--error-exitcode=99",
            "--leak-check=full",
            "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite",
            "--track-fds=yes",
        ],
        &[("FASTRUN_TEST_NO_CONTAINERS", "1")],
        Duration::from_secs(300),
    );
    assert!(o.stderr.contains("ERROR SUMMARY: 0 errors"), "{o}");
    assert!(
        o.stderr.contains("definitely lost: 0 bytes") || o.stderr.contains("no leaks are possible"),
        "{o}"
    );
    // At exit, only stdio and what the program inherited (cargo's jobserver, ...) are
    // open: valgrind names where each other fd was opened.
    assert!(o.stderr.contains("FILE DESCRIPTORS: "), "{o}");
    let leaked = fds_opened_by_the_program(&o.stderr);
    assert!(leaked.is_empty(), "fds left open at exit: {leaked:?}\n{o}");
}

/// From valgrind's `--track-fds=yes` report: the fds above 2 open at exit that were not
/// inherited from the parent, with the line saying where they were opened.
fn fds_opened_by_the_program(report: &str) -> Vec<String> {
    let lines: Vec<&str> = report
        .lines()
        .map(|l| l.split_once("== ").map_or(l, |(_, rest)| rest).trim())
        .collect();
    let mut leaked = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.strip_prefix("Open file descriptor ") else {
            continue;
        };
        let fd: i32 = rest
            .split(':')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(-1);
        let next = lines.get(i + 1).copied().unwrap_or("");
        if fd > 2 && !next.contains("<inherited from parent>") {
            leaked.push(format!("{l} {next}"));
        }
    }
    leaked
}

#[test]
fn valgrind_fd_report_parsing() {
    let report = "==1== FILE DESCRIPTORS: 5 open (3 std) at exit.\n\
                  ==1== Open file descriptor 251:\n\
                  ==1==    <inherited from parent>\n\
                  ==1== Open file descriptor 7: /tmp/log\n\
                  ==1==    at 0x1: open (in /lib/libc.so.6)\n";
    let leaked = fds_opened_by_the_program(report);
    assert_eq!(leaked.len(), 1, "{leaked:?}");
    assert!(leaked[0].starts_with("Open file descriptor 7: /tmp/log"));
}

#[test]
fn c_example_runs_a_container() {
    if !have("cc") || !have("pkg-config") || !is_root() {
        eprintln!("skipping: needs root, `cc` and pkg-config");
        return;
    }
    let b = built();
    let root = StateRoot::new();
    let bundle = Bundle::new("cexample").args(&["sh", "-c", "exit 3"]);
    let _guard = Container::new(&root, &bundle);
    let mut cmd = Command::new(&b.example);
    cmd.arg(root.path()).arg(bundle.path()).arg(bundle.id());
    let o = run_cmd(cmd, None, TIMEOUT);
    o.assert_success();
    assert_eq!(
        o.stdout,
        format!("container {} exited with status 3\n", bundle.id())
    );
    assert_no_leftovers(root.path(), bundle.id());

    // An error: the same program on a missing bundle.
    let mut cmd = Command::new(&b.example);
    cmd.arg(root.path()).arg("/nonexistent").arg("x");
    let o = run_cmd(cmd, None, TIMEOUT);
    o.assert_failure();
    assert!(
        o.stderr.contains("/nonexistent/config.json") && o.stderr.contains("code 6, errno 2"),
        "{o}"
    );
}

/// Run `process_test MODE ARGS` on a fresh root with a bundle running `script`; checks
/// it passed and that none of its containers is left behind.
fn process_test(name: &str, script: &str, mode: &[&str], timeout: Duration) -> Output {
    process_test_with(name, script, mode, timeout, |_| {})
}

/// [`process_test`] with the bundle's config changed by `modify`.
fn process_test_with(
    name: &str,
    script: &str,
    mode: &[&str],
    timeout: Duration,
    modify: impl FnOnce(&mut serde_json::Value),
) -> Output {
    let b = built();
    let root = StateRoot::new();
    let prefix = unique_id(name);
    let bundle = Bundle::with_id(&format!("{prefix}-bundle"))
        .args(&["sh", "-c", script])
        .modify(modify);
    let mut cmd = Command::new(&b.process);
    cmd.arg(root.path())
        .arg(bundle.path())
        .arg(&prefix)
        .args(mode);
    let o = run_cmd(cmd, None, timeout);
    println!("{o}");
    // Whatever happened: no container of this test left.
    let names = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.starts_with(&prefix))
                    .collect()
            })
            .unwrap_or_default()
    };
    let left = names(root.path());
    for id in &left {
        let _ = root.fastrun(&["delete", "--force", id]);
    }
    o.assert_success();
    assert!(o.stdout.contains("checks passed"), "{o}");
    assert!(left.is_empty(), "containers left: {left:?}");
    // Nor their lock files (a delete racing the reaper's record of an exit left some).
    let locks = names(&root.path().join(".locks"));
    assert!(locks.is_empty(), "lock files left: {locks:?}");
    o
}

fn can_run_containers() -> bool {
    if !have("cc") || !have("pkg-config") || !is_root() {
        eprintln!("skipping: needs root, `cc` and pkg-config");
        return false;
    }
    true
}

/// 16 threads x 100 lifecycles on one context (create+start+wait and run, each with
/// its own exit status), in both spawn modes: no status lost.
#[test]
fn c_no_exit_status_lost_under_stress() {
    if !can_run_containers() {
        return;
    }
    for spawn in ["1", "2"] {
        let o = process_test(
            &format!("cstress{spawn}"),
            "exit XYZ",
            &["stress", "16", "100", spawn],
            Duration::from_secs(900),
        );
        assert!(o.stdout.contains("lost 0 of 1600"), "{o}");
    }
}

/// The host ignores SIGCHLD, blocks it, or reaps every child in its handler.
#[test]
fn c_exit_status_whatever_the_host_does_with_sigchld() {
    if !can_run_containers() {
        return;
    }
    for how in ["ign", "block", "reaper"] {
        process_test(
            &format!("csig{how}"),
            "exit XYZ",
            &["sigchld", how],
            Duration::from_secs(120),
        );
    }
}

/// Detached exec: a pid, reaped by the library (or the caller), and a zombie exec
/// never keeps kill + delete from completing.
#[test]
fn c_detached_exec_is_reaped_and_never_blocks_delete() {
    if !can_run_containers() {
        return;
    }
    process_test(
        "cexec",
        "exec sleep 60",
        &["exec"],
        Duration::from_secs(120),
    );
}

/// fastrun_container_pidfd, wait's timeout, the exit status in the state.
#[test]
fn c_init_pidfd_wait_timeout_and_state_exit_status() {
    if !can_run_containers() {
        return;
    }
    process_test("cpidfd", "exit 0", &["pidfd"], Duration::from_secs(120));
}

#[test]
fn c_too_long_id_is_an_invalid_argument() {
    if !can_run_containers() {
        return;
    }
    process_test("clongid", "exit 0", &["longid"], Duration::from_secs(60));
}

/// fastrun_events_*: a pollable fd reporting an OOM kill, then the init's exit.
#[test]
fn c_events_report_oom_kill_then_exit() {
    if !can_run_containers() {
        return;
    }
    process_test_with(
        "cevents",
        // dd's 128 MiB block under a 32 MiB limit (no swap): OOM-killed; then exit 3.
        "dd if=/dev/zero of=/dev/null bs=128M count=1; exit 3",
        &["events"],
        Duration::from_secs(120),
        |c| {
            c["linux"]["resources"]["memory"] =
                serde_json::json!({"limit": 32 << 20, "swap": 32 << 20});
        },
    );
}
