//! Crash-safe state (#18): concurrent calls on one id, through the CLI and through
//! libfastrun (its C ABI, many threads in one host). Whatever the interleaving,
//! afterwards the record tells the truth (a listed container is alive, an unlisted
//! one has nothing left) and `delete --force` leaves nothing behind.

use crate::common;

use std::ffi::{CStr, CString};
use std::process::Stdio;

use common::*;

/// The live processes of container `id` (its marker in their environment).
fn live(id: &str) -> Vec<i32> {
    marked_processes(id)
        .into_iter()
        .filter(|&p| {
            // Zombies are gone from every cgroup already: not "live".
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(')')
                        .map(|(_, r)| r.trim_start().starts_with('Z'))
                })
                .is_some_and(|z| !z)
        })
        .collect()
}

/// After a round of racing calls: `state` and `list` agree with what is alive, and
/// `delete --force` cleans up.
#[track_caller]
fn check_truthful_then_clean(root: &StateRoot, id: &str, what: &str) {
    let st = root.fastrun(&["state", id]);
    let listed = root.fastrun(&["list", "--format", "json"]);
    assert_eq!(listed.status, Some(0), "{what}: list: {listed}");
    let in_list = listed.stdout.contains(&format!("\"id\":\"{id}\""))
        || listed.stdout.contains(&format!("\"id\": \"{id}\""));
    let procs = live(id);
    if st.success() {
        let v: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
        assert!(
            in_list,
            "{what}: state knows {id} but list does not: {listed}"
        );
        let pid = v["pid"].as_i64().unwrap() as i32;
        assert_eq!(v["status"], "created", "{what}: {}", st.stdout);
        assert_eq!(
            procs,
            vec![pid],
            "{what}: live processes vs the record's pid"
        );
    } else {
        assert!(!in_list, "{what}: list shows {id}, state does not: {st}");
        // A create may have lost the race after its clone: its init is on its way out.
        wait_until(
            &format!("{what}: no process without a record"),
            TIMEOUT,
            || live(id).is_empty(),
        );
        let left = leftovers(root.path(), id);
        assert!(left.is_empty(), "{what}: no record, yet left: {left:?}");
    }
    let o = root.fastrun(&["delete", "--force", id]);
    assert_eq!(o.status, Some(0), "{what}: delete --force: {o}");
    wait_until(&format!("{what}: nothing left"), TIMEOUT, || {
        leftovers(root.path(), id).is_empty()
    });
}

#[test]
fn cli_creates_and_force_deletes_of_one_id_race() {
    let root = StateRoot::new();
    let b = Bundle::new("race").args(&["sleep", "60"]);
    let _guard = Container::new(&root, &b);
    for round in 0..12 {
        let mut children = Vec::new();
        for i in 0..6 {
            let args: Vec<&str> = if i % 3 == 2 {
                vec!["delete", "--force", b.id()]
            } else {
                vec!["create", "--bundle", b.path().to_str().unwrap(), b.id()]
            };
            // stderr to a file: a created init keeps what it inherited open.
            let err = b.path().join(format!("race-{i}.err"));
            let mut c = root.command(&args);
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&err).unwrap());
            children.push((args[0], err, c.spawn().unwrap()));
        }
        let mut errors = Vec::new();
        for (op, err, mut c) in children {
            let st = c.wait().unwrap();
            if !st.success() {
                let e = std::fs::read_to_string(&err).unwrap_or_default();
                errors.push(format!("{op}: {}", e.trim()));
            }
        }
        // The only acceptable failures: the id taken, or the container gone.
        for e in &errors {
            assert!(
                e.contains("already exists") || e.contains("does not exist"),
                "round {round}: unexpected failure: {e}\nall: {errors:#?}"
            );
        }
        check_truthful_then_clean(&root, b.id(), &format!("round {round}"));
    }
}

// ---------------------------------------------------------------------------
// The same through libfastrun, from threads of one host.
// ---------------------------------------------------------------------------

mod lib {
    use super::*;
    use fastrun::*;

    pub struct Ctx(pub *mut fastrun_context);
    // SAFETY: a libfastrun context may be used by several threads at once (its docs).
    unsafe impl Send for Ctx {}
    // SAFETY: as above.
    unsafe impl Sync for Ctx {}

    pub struct Ctr(pub *mut fastrun_container);
    // SAFETY: a loaded container is immutable; the calls that take it are thread-safe.
    unsafe impl Send for Ctr {}
    // SAFETY: as above.
    unsafe impl Sync for Ctr {}

    fn take_err(err: *mut fastrun_error) -> String {
        if err.is_null() {
            return String::new();
        }
        // SAFETY: an error libfastrun returned, freed once here.
        unsafe {
            let m = CStr::from_ptr((*err).message)
                .to_string_lossy()
                .into_owned();
            fastrun_error_free(err);
            m
        }
    }

    pub fn context(root: &std::path::Path) -> Ctx {
        let root = CString::new(root.to_str().unwrap()).unwrap();
        // SAFETY: zeroed options with struct_size set are the documented default.
        let mut o: fastrun_context_options = unsafe { std::mem::zeroed() };
        o.struct_size = std::mem::size_of::<fastrun_context_options>();
        o.root = root.as_ptr();
        let mut ctx = std::ptr::null_mut();
        let mut err = std::ptr::null_mut();
        // SAFETY: valid options and out-pointers.
        let r = unsafe { fastrun_context_new(&o, &mut ctx, &mut err) };
        assert_eq!(r, 0, "{}", take_err(err));
        Ctx(ctx)
    }

    pub fn load(bundle: &std::path::Path) -> Ctr {
        let b = CString::new(bundle.to_str().unwrap()).unwrap();
        let mut c = std::ptr::null_mut();
        let mut err = std::ptr::null_mut();
        // SAFETY: valid strings and out-pointers.
        let r = unsafe { fastrun_container_load(b.as_ptr(), &mut c, &mut err) };
        assert_eq!(r, 0, "{}", take_err(err));
        Ctr(c)
    }

    pub fn create(ctx: &Ctx, c: &Ctr, id: &str) -> Result<i32, String> {
        let id = CString::new(id).unwrap();
        let mut err = std::ptr::null_mut();
        // SAFETY: live handles, a valid id, NULL options (defaults).
        let r = unsafe {
            fastrun_container_create(ctx.0, c.0, id.as_ptr(), std::ptr::null(), &mut err)
        };
        if r < 0 {
            Err(take_err(err))
        } else {
            Ok(r)
        }
    }

    pub fn delete(ctx: &Ctx, id: &str) -> Result<(), String> {
        let id = CString::new(id).unwrap();
        let mut err = std::ptr::null_mut();
        // SAFETY: a live context and a valid id.
        let r = unsafe { fastrun_container_delete(ctx.0, id.as_ptr(), 1, &mut err) };
        if r < 0 {
            Err(take_err(err))
        } else {
            Ok(())
        }
    }

    pub fn free(ctx: Ctx, c: Ctr) {
        // SAFETY: live handles, freed once, no call running on them.
        unsafe {
            fastrun_container_free(c.0);
            fastrun_context_free(ctx.0);
        }
    }
}

#[test]
fn libfastrun_threads_create_and_force_delete_one_id() {
    let root = StateRoot::new();
    let b = Bundle::new("librace").args(&["sleep", "60"]);
    let _guard = Container::new(&root, &b);
    let ctx = lib::context(root.path());
    let ctr = lib::load(b.path());
    let created = std::sync::atomic::AtomicUsize::new(0);
    for round in 0..6 {
        let errors = std::sync::Mutex::new(Vec::new());
        let done = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            // 8 threads create the id (3 times each) while 4 force-delete it.
            for t in 0..12 {
                let (ctx, ctr, errors, id) = (&ctx, &ctr, &errors, b.id());
                let (created, done) = (&created, &done);
                s.spawn(move || {
                    let note = |r: Result<(), String>| {
                        if let Err(e) = r {
                            errors.lock().unwrap().push(e);
                        }
                    };
                    if t < 8 {
                        for _ in 0..3 {
                            note(lib::create(ctx, ctr, id).map(|_| {
                                created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }));
                        }
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    } else {
                        while done.load(std::sync::atomic::Ordering::Relaxed) < 8 {
                            note(lib::delete(ctx, id));
                        }
                    }
                });
            }
        });
        for e in errors.into_inner().unwrap() {
            assert!(
                e.contains("already exists") || e.contains("does not exist"),
                "round {round}: unexpected failure: {e}"
            );
        }
        check_truthful_then_clean(&root, b.id(), &format!("library round {round}"));
    }
    lib::free(ctx, ctr);
    let n = created.into_inner();
    eprintln!("libfastrun race: {n} creates succeeded in 6 rounds");
    assert!(n >= 10, "too few creates succeeded to race anything: {n}");
}

// ---------------------------------------------------------------------------
// A damaged record.
// ---------------------------------------------------------------------------

#[test]
fn a_damaged_record_hides_nothing_and_delete_force_removes_the_container() {
    let root = StateRoot::new();
    let good = Bundle::new("good").args(&["sleep", "60"]);
    let bad = Bundle::new("damaged").args(&["sleep", "60"]);
    let (g, d) = (Container::new(&root, &good), Container::new(&root, &bad));
    g.create().assert_success();
    d.create().assert_success();
    let init = d.pid().expect("the damaged container's init pid");
    // Truncated in the middle, as a full disk or a crash of another tool would.
    let record = root.path().join(d.id()).join("state.json");
    let text = std::fs::read(&record).unwrap();
    std::fs::write(&record, &text[..text.len() / 2]).unwrap();

    let log = root.path().with_extension("log");
    let o = root.fastrun_with(
        &[
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "list",
            "--format",
            "json",
        ],
        None,
        TIMEOUT,
    );
    assert_eq!(o.status, Some(0), "list fails for every container: {o}");
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let status_of = |id: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        status_of(g.id()).as_deref(),
        Some("created"),
        "{}",
        o.stdout
    );
    assert_eq!(
        status_of(d.id()).as_deref(),
        Some("unknown"),
        "{}",
        o.stdout
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    assert!(
        logged.contains("damaged state record") && logged.contains(d.id()),
        "the reason is not in --log: {logged}"
    );

    let st = d.state();
    assert!(!st.success(), "{st}");
    assert!(
        st.stderr.contains("damaged state record") && st.stderr.contains("state.json"),
        "state does not say what is wrong: {st}"
    );
    // Without --force: refused, nothing removed.
    assert!(!d.delete(false).success());
    assert!(
        process_alive(init),
        "delete without --force killed the container"
    );

    let o = d.delete(true);
    assert_eq!(o.status, Some(0), "{o}");
    wait_until("the damaged container's init to die", TIMEOUT, || {
        !process_alive(init)
    });
    wait_until("nothing left of the damaged container", TIMEOUT, || {
        leftovers(root.path(), d.id()).is_empty()
    });
    // The other one is untouched.
    assert_eq!(g.state_json()["status"], "created");
    g.delete(true).assert_success();
    g.assert_no_leftovers();
}

// ---------------------------------------------------------------------------
// Fault injection: the runtime SIGKILLed at each step of each operation
// (FASTRUN_TEST_CRASH_AT, debug builds), then `state`/`list` answer and
// `delete --force` leaves nothing.
// ---------------------------------------------------------------------------

/// The steps (`--trace` marks) to kill each operation at, in the order they run.
const CREATE_STEPS: &[&str] = &[
    "parse",
    "netns.start",
    "cgroup.plan",
    "state.create",
    "cgroup.create",
    "cgroup.apply",
    "cgroup.open",
    "plan",
    "netns.wait",
    "spawn.prepare",
    "spawn.clone",
    "state.stage",
    "spawn.ready",
    "state.save",
    "pid_file",
    "commit",
];
const START_STEPS: &[&str] = &["state.load", "status", "start.fifo", "state.fifo_remove"];
const EXEC_STEPS: &[&str] = &[
    "state.load",
    "parse",
    "plan",
    "cgroup.open",
    "spawn.prepare",
    "spawn.clone",
    "spawn.ready",
    "commit",
];
const DELETE_STEPS: &[&str] = &[
    "state.lock",
    "state.load",
    "kill",
    // No `cgroup.kill`: once the init is dead, the rmdirs alone remove an empty
    // cgroup (the scan and kill run only when one is refused).
    "cgroup.rmdir",
    "state.remove",
];
const KILL_ALL_STEPS: &[&str] = &["state.load", "cgroup.kill"];

/// Run `fastrun ARGS` with the crash switch set to `op:step`; it must die of SIGKILL.
#[track_caller]
fn crash_at(root: &StateRoot, b: &Bundle, op: &str, step: &str, args: &[&str]) {
    let mut c = root.command(args);
    c.env("FASTRUN_TEST_CRASH_AT", format!("{op}:{step}"));
    let o = run_cmd_to_files(c, b.path(), "crashed", TIMEOUT);
    assert_eq!(
        o.signal,
        Some(libc::SIGKILL),
        "{op} was not killed at {step} (no such step?): {o}"
    );
}

/// After a crash: `state` and `list` answer (no hang, list succeeds), then
/// `delete --force` succeeds and nothing of the container is left.
#[track_caller]
fn answers_and_cleans_up(root: &StateRoot, id: &str, what: &str) {
    let st = root.fastrun(&["state", id]);
    assert!(!st.timed_out && st.status.is_some(), "{what}: state: {st}");
    if st.success() {
        let v: serde_json::Value = serde_json::from_str(&st.stdout)
            .unwrap_or_else(|e| panic!("{what}: state printed no JSON ({e}): {st}"));
        let s = v["status"].as_str().unwrap_or_default();
        assert!(
            ["created", "running", "stopped"].contains(&s),
            "{what}: state status {s:?}"
        );
    }
    let l = root.fastrun(&["list", "--format", "json"]);
    assert_eq!(l.status, Some(0), "{what}: list: {l}");
    let o = root.fastrun(&["delete", "--force", id]);
    assert_eq!(o.status, Some(0), "{what}: delete --force: {o}");
    wait_until(&format!("{what}: nothing left"), TIMEOUT, || {
        leftovers(root.path(), id).is_empty()
    });
    let left = leftovers(root.path(), id);
    assert!(left.is_empty(), "{what}: left behind: {left:?}");
    let lock = root.path().join(".locks").join(id);
    assert!(!lock.exists(), "{what}: lock file left: {}", lock.display());
}

fn create_args(b: &Bundle) -> Vec<String> {
    vec![
        "create".into(),
        "--bundle".into(),
        b.path().to_str().unwrap().into(),
        "--pid-file".into(),
        b.pid_file().to_str().unwrap().into(),
        b.id().into(),
    ]
}

#[test]
fn runtime_killed_at_each_step_leaves_what_delete_force_removes() {
    if !cfg!(debug_assertions) {
        eprintln!("skipping: the crash switch exists in debug builds only");
        return;
    }
    let root = StateRoot::new();
    let mut cases = 0;
    for step in CREATE_STEPS {
        let b = Bundle::new("crashcreate").args(&["sleep", "60"]);
        let _guard = Container::new(&root, &b);
        let args = create_args(&b);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crash_at(&root, &b, "create", step, &args);
        answers_and_cleans_up(&root, b.id(), &format!("create killed at {step}"));
        cases += 1;
    }
    for step in START_STEPS {
        let b = Bundle::new("crashstart").args(&["sleep", "60"]);
        let c = Container::new(&root, &b);
        c.create().assert_success();
        crash_at(&root, &b, "start", step, &["start", b.id()]);
        answers_and_cleans_up(&root, b.id(), &format!("start killed at {step}"));
        cases += 1;
    }
    for step in EXEC_STEPS {
        let b = Bundle::new("crashexec").args(&["sleep", "60"]);
        let c = Container::new(&root, &b);
        c.create().assert_success();
        c.start().assert_success();
        crash_at(
            &root,
            &b,
            "exec",
            step,
            &["exec", "-d", b.id(), "sleep", "61"],
        );
        answers_and_cleans_up(&root, b.id(), &format!("exec killed at {step}"));
        cases += 1;
    }
    for step in DELETE_STEPS {
        let b = Bundle::new("crashdelete").args(&["sleep", "60"]);
        let c = Container::new(&root, &b);
        c.create().assert_success();
        c.start().assert_success();
        crash_at(&root, &b, "delete", step, &["delete", "--force", b.id()]);
        answers_and_cleans_up(&root, b.id(), &format!("delete killed at {step}"));
        cases += 1;
    }
    for step in KILL_ALL_STEPS {
        let b = Bundle::new("crashkill").args(&["sleep", "60"]);
        let c = Container::new(&root, &b);
        c.create().assert_success();
        c.start().assert_success();
        crash_at(&root, &b, "kill", step, &["kill", "--all", b.id(), "KILL"]);
        answers_and_cleans_up(&root, b.id(), &format!("kill --all killed at {step}"));
        cases += 1;
    }
    eprintln!("fault injection: {cases} kill points, all cleaned up");
}

/// A libfastrun host that dies during create (the library runs in the host's
/// process, so the crash switch kills the host): as with the CLI, `state`/`list`
/// answer and `delete --force` leaves nothing. The host is this test binary run
/// again with only `libfastrun_host` selected and FASTRUN_TEST_HOST_* set.
#[test]
fn libfastrun_host_killed_during_create_leaves_what_delete_force_removes() {
    if !cfg!(debug_assertions) {
        eprintln!("skipping: the crash switch exists in debug builds only");
        return;
    }
    let root = StateRoot::new();
    // No pid file through the library without options: no `pid_file` step.
    for step in CREATE_STEPS.iter().filter(|s| **s != "pid_file") {
        let b = Bundle::new("hostcrash").args(&["sleep", "60"]);
        let _guard = Container::new(&root, &b);
        let mut c = std::process::Command::new(std::env::current_exe().unwrap());
        c.args([
            "--exact",
            "state_safety::libfastrun_host",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("FASTRUN_TEST_HOST_ROOT", root.path())
        .env("FASTRUN_TEST_HOST_BUNDLE", b.path())
        .env("FASTRUN_TEST_HOST_ID", b.id())
        .env("FASTRUN_TEST_CRASH_AT", format!("create:{step}"));
        let o = run_cmd_to_files(c, b.path(), "host", TIMEOUT);
        assert_eq!(
            o.signal,
            Some(libc::SIGKILL),
            "the host was not killed at {step}: {o}"
        );
        answers_and_cleans_up(&root, b.id(), &format!("libfastrun host killed at {step}"));
    }
}

/// The host of the test above (does nothing unless run by it).
#[test]
fn libfastrun_host() {
    let (Some(root), Some(bundle), Some(id)) = (
        std::env::var_os("FASTRUN_TEST_HOST_ROOT"),
        std::env::var_os("FASTRUN_TEST_HOST_BUNDLE"),
        std::env::var("FASTRUN_TEST_HOST_ID").ok(),
    ) else {
        return;
    };
    let ctx = lib::context(std::path::Path::new(&root));
    let ctr = lib::load(std::path::Path::new(&bundle));
    let r = lib::create(&ctx, &ctr, &id);
    panic!("the host should have been killed during create, it returned {r:?}");
}

/// A libfastrun host that keeps SIGPIPE's default action (a C program does), on pure
/// cgroup v2, where the runtime writes to the init's sync socket once more after the
/// go (when the device program is attached): an init that fails right after the go
/// (a mount of an unknown file system type, first in the list) has gone by then. The
/// create fails with the init's own message; the host is not killed by SIGPIPE. Each
/// run is this test binary again (`libfastrun_sigpipe_host`) in a private mount
/// namespace with a cgroup2 mount.
#[test]
fn a_host_with_default_sigpipe_outlives_an_init_that_fails_after_the_go() {
    let root = StateRoot::new();
    // Whether the init is gone before the runtime's write (EPIPE: SIGPIPE without
    // MSG_NOSIGNAL) or after it (its end closes with our byte unread: the runtime's
    // next read is a reset, then the init's report) depends on timing: several runs.
    for _ in 0..5 {
        let b = Bundle::new("sigpipe").args(&["true"]).modify(|v| {
            let bad =
                serde_json::json!({"destination": "/tmp", "type": "nosuchfs", "source": "none"});
            v["mounts"].as_array_mut().unwrap().insert(0, bad);
        });
        let _guard = Container::new(&root, &b);
        let mut c = std::process::Command::new("unshare");
        c.args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(crate::cgroups_lifecycle::V2_WRAPPER)
            .arg("sh")
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "state_safety::libfastrun_sigpipe_host",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("FASTRUN_TEST_PIPE_ROOT", root.path())
            .env("FASTRUN_TEST_PIPE_BUNDLE", b.path())
            .env("FASTRUN_TEST_PIPE_ID", b.id());
        let o = run_cmd_to_files(c, b.path(), "host", TIMEOUT);
        assert_eq!(o.signal, None, "the host was killed: {o}");
        o.assert_success();
        assert!(
            o.stdout
                .contains("create failed: mounts[0]: mount nosuchfs on /tmp"),
            "{o}"
        );
        assert_no_leftovers(root.path(), b.id());
        let v2 = std::path::Path::new("/sys/fs/cgroup/unified/fastrun").join(b.id());
        assert!(!v2.exists(), "{} left", v2.display());
    }
}

/// The host of the test above (does nothing unless run by it).
#[test]
fn libfastrun_sigpipe_host() {
    let (Some(root), Some(bundle), Some(id)) = (
        std::env::var_os("FASTRUN_TEST_PIPE_ROOT"),
        std::env::var_os("FASTRUN_TEST_PIPE_BUNDLE"),
        std::env::var("FASTRUN_TEST_PIPE_ID").ok(),
    ) else {
        return;
    };
    // SAFETY: restoring a signal's default action.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let ctx = lib::context(std::path::Path::new(&root));
    let ctr = lib::load(std::path::Path::new(&bundle));
    match lib::create(&ctx, &ctr, &id) {
        Err(m) => println!("create failed: {m}"),
        Ok(pid) => panic!("create succeeded (pid {pid}) with an unknown mount type"),
    }
    lib::free(ctx, ctr);
}

/// The leftover check these tests rely on sees each kind of leak a container could
/// leave (state directory, cgroup in some hierarchy, mount under its state root,
/// process carrying its marker), and nothing of another id.
#[test]
fn leftover_check_sees_a_deliberate_leak() {
    let root = StateRoot::new();
    let b = Bundle::new("leak").args(&["sleep", "60"]);
    let id = b.id().to_string();
    assert!(leftovers(root.path(), &id).is_empty());
    std::fs::create_dir_all(root.path().join(&id)).unwrap();
    let cg = std::path::Path::new("/sys/fs/cgroup/pids/fastrun").join(&id);
    let made_cg = std::fs::create_dir_all(&cg).is_ok();
    let mnt = root.path().join(&id).join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "leak"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    // A process with the container's marker, as a leaked init would have.
    let mut p = std::process::Command::new("sleep")
        .arg("60")
        .env(MARKER, &id)
        .spawn()
        .unwrap();
    // (once it has exec'd: before, its environment is still ours)
    wait_until("the marked process", TIMEOUT, || {
        marked_processes(&id).contains(&(p.id() as i32))
    });
    let left = leftovers(root.path(), &id);
    let other = leftovers(root.path(), &format!("{id}-other"));
    let _ = p.kill();
    let _ = p.wait();
    if mounted {
        let _ = std::process::Command::new("umount").arg(&mnt).status();
    }
    if made_cg {
        let _ = std::fs::remove_dir(&cg);
    }
    std::fs::remove_dir_all(root.path().join(&id)).unwrap();
    let has = |what: &str| left.iter().any(|l| l.starts_with(what));
    assert!(has("state directory"), "{left:#?}");
    assert!(has("process"), "{left:#?}");
    assert!(!made_cg || has("cgroup"), "{left:#?}");
    assert!(!mounted || has("mount"), "{left:#?}");
    assert!(
        other.is_empty(),
        "another id's check saw this one's leaks: {other:#?}"
    );
    assert!(leftovers(root.path(), &id).is_empty());
}

// ---------------------------------------------------------------------------
// Resource faults: a clear error, nothing left behind.
// ---------------------------------------------------------------------------

/// A tmpfs mounted on a fresh temporary dir (removed, mount and all, on drop).
struct SmallFs {
    dir: TempDir,
}

impl SmallFs {
    fn new(opts: &str) -> SmallFs {
        let dir = TempDir::new("fastrun-smallfs-");
        let o = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "fastrun-smallfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "mount tmpfs {opts}: {o:?}");
        SmallFs { dir }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    fn remount(&self, opts: &str) {
        let o = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(self.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "remount {opts}: {o:?}");
    }
}

/// `create` under a state root that fails it: a clear error naming the path and the
/// errno, and nothing of the container anywhere.
#[track_caller]
fn create_fails_cleanly(root: &std::path::Path, b: &Bundle, want: &str, what: &str) {
    let mut c = std::process::Command::new(fastrun_bin());
    c.arg("--root").arg(root).args(create_args(b));
    let o = run_cmd_to_files(c, b.path(), "create", TIMEOUT);
    assert!(
        matches!(o.status, Some(s) if s != 0),
        "{what}: create should fail: {o}"
    );
    assert!(o.stderr.contains(want), "{what}: unclear error: {o}");
    // (the test's own tmpfs on the root is not the container's)
    let left: Vec<String> = leftovers(root, b.id())
        .into_iter()
        .filter(|l| !l.contains("fastrun-smallfs"))
        .collect();
    assert!(left.is_empty(), "{what}: left behind: {left:?}");
    assert!(
        !root.join(".locks").join(b.id()).exists(),
        "{what}: lock file left"
    );
}

#[test]
fn full_or_read_only_state_root_fails_create_cleanly() {
    // Full: one page, already taken, so that the first record cannot be written.
    let fs = SmallFs::new("size=4k,mode=0700");
    std::fs::write(fs.path().join("filler"), vec![0u8; 4096]).unwrap();
    let b = Bundle::new("enospc").args(&["sleep", "60"]);
    let root = fs.path().to_path_buf();
    create_fails_cleanly(&root, &b, "No space left on device", "full state root");
    // No inodes left: the lock file or the state directory cannot be made.
    let fs2 = SmallFs::new("nr_inodes=3,mode=0700");
    let b2 = Bundle::new("enospc-inodes").args(&["sleep", "60"]);
    let root2 = fs2.path().to_path_buf();
    create_fails_cleanly(
        &root2,
        &b2,
        "No space left on device",
        "state root without inodes",
    );
    // Read-only.
    let fs3 = SmallFs::new("mode=0700");
    fs3.remount("ro");
    let b3 = Bundle::new("erofs").args(&["sleep", "60"]);
    let root3 = fs3.path().to_path_buf();
    create_fails_cleanly(&root3, &b3, "Read-only file system", "read-only state root");
    // A root that became read-only under a container: delete --force kills it and
    // says why the state could not be removed; once writable again, it finishes.
    let fs4 = SmallFs::new("mode=0700");
    let root4 = fs4.path().to_path_buf();
    let b4 = Bundle::new("erofs-delete").args(&["sleep", "60"]);
    let mut c = std::process::Command::new(fastrun_bin());
    c.arg("--root").arg(&root4).args(create_args(&b4));
    run_cmd_to_files(c, b4.path(), "create", TIMEOUT).assert_success();
    let init: i32 = std::fs::read_to_string(b4.pid_file())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    fs4.remount("ro");
    let mut c = std::process::Command::new(fastrun_bin());
    c.arg("--root")
        .arg(&root4)
        .args(["delete", "--force", b4.id()]);
    let o = run_cmd(c, None, TIMEOUT);
    assert!(!o.success(), "delete on a read-only root: {o}");
    assert!(o.stderr.contains("Read-only file system"), "{o}");
    wait_until("the init to die", TIMEOUT, || !process_alive(init));
    fs4.remount("rw");
    let mut c = std::process::Command::new(fastrun_bin());
    c.arg("--root")
        .arg(&root4)
        .args(["delete", "--force", b4.id()]);
    run_cmd(c, None, TIMEOUT).assert_success();
    let left: Vec<String> = leftovers(&root4, b4.id())
        .into_iter()
        .filter(|l| !l.contains("fastrun-smallfs"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn out_of_fds_and_a_full_pids_cgroup_fail_cleanly() {
    let root = StateRoot::new();
    // EMFILE in the runtime: a soft limit of 12 fds.
    let b = Bundle::new("emfile").args(&["sleep", "60"]);
    let _g = Container::new(&root, &b);
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg("ulimit -n 12 && exec \"$@\"")
        .arg("sh")
        .arg(fastrun_bin())
        .arg("--root")
        .arg(root.path())
        .args(create_args(&b));
    let o = run_cmd_to_files(c, b.path(), "create", TIMEOUT);
    assert!(
        matches!(o.status, Some(s) if s != 0),
        "create with 12 fds: {o}"
    );
    assert!(
        // EMFILE in glibc's words (the debug build) or musl's (the static binary)
        o.stderr.contains("Too many open files")
            || o.stderr.contains("No file descriptors available"),
        "unclear error: {o}"
    );
    assert!(
        leftovers(root.path(), b.id()).is_empty(),
        "{:?}",
        leftovers(root.path(), b.id())
    );

    // A full pids cgroup: exec into a container at its pids limit fails clearly,
    // leaves no process, and the container goes on.
    let b = Bundle::new("pidsfull")
        .args(&["sleep", "60"])
        .modify(|c| c["linux"]["resources"]["pids"] = serde_json::json!({"limit": 1}));
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let o = root.fastrun(&["exec", b.id(), "true"]);
    assert!(
        matches!(o.status, Some(s) if s != 0),
        "exec into a full pids cgroup: {o}"
    );
    assert!(
        o.stderr.contains("Resource temporarily unavailable") || o.stderr.contains("pids"),
        "unclear error: {o}"
    );
    assert_eq!(c.state_json()["status"], "running");
    let procs = root.fastrun(&["ps", "--format", "json", b.id()]);
    let pids: Vec<i64> = serde_json::from_str(&procs.stdout).unwrap();
    assert_eq!(
        pids.len(),
        1,
        "a process of the failed exec is left: {procs}"
    );
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}
