//! The vfork-style spawn (`SpawnMode::SharedVm`), driven in-process through the
//! engine as libfastrun's hosts do: the container's init shares this test
//! process's memory until its exec. What must hold: no copy of the host is made,
//! nothing the host does in between (freeing, scribbling over the heap, its signal
//! handlers) reaches the child, the host's dumpable flag comes back, and a clone
//! that fails is reported and leaves nothing. (The CLI suites also run with
//! `FASTRUN_SPAWN=vm` in .ci/test.)

use crate::common;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use fastrun_runtime::{Context, CreateOptions, SpawnMode, Status};

/// The tests of this file run one at a time: the host's dumpable flag is shared
/// by every init a test holds.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn context(root: &StateRoot, mode: SpawnMode) -> Context {
    let mut ctx = Context::new(root.path());
    ctx.spawn = mode;
    ctx
}

fn opts(b: &Bundle) -> CreateOptions {
    CreateOptions {
        bundle: b.path().to_path_buf(),
        ..Default::default()
    }
}

/// Reap `pid` (our child: the engine's host is its parent) and return its raw status.
fn reap(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid {pid}: {}", std::io::Error::last_os_error());
    status
}

fn wait_status(ctx: &Context, id: &str, want: Status) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = ctx.state(id).expect("state");
        if st.status == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} is {:?}, never {want:?}",
            st.status
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Our open fds.
fn open_fds() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The mappings of `pid` (address ranges only).
fn maps(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default()
}

/// A mapping made after the clone shows up in the init only if it shares our
/// address space: proof that nothing was copied.
fn shares_memory_with_us(pid: i32) -> bool {
    // SAFETY: a fresh anonymous mapping, unmapped below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            3 << 20,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    let start = format!("{:x}-", p as usize);
    let seen = maps(pid).lines().any(|l| l.starts_with(&start));
    // SAFETY: unmapping the mapping made above.
    unsafe { libc::munmap(p, 3 << 20) };
    seen
}

/// A bundle whose createRuntime hook, run while the init is still setting up,
/// writes the init's pid to `<bundle>/hook.pid` and waits for `<bundle>/hook.go`.
fn paused_in_setup(b: Bundle) -> Bundle {
    let dir = b.path().to_path_buf();
    let (pid_file, go) = (dir.join("hook.pid"), dir.join("hook.go"));
    let script = format!(
        "grep -o '\"pid\": *[0-9]*' | grep -o '[0-9]*$' > {p}.tmp && mv {p}.tmp {p}; \
         while [ ! -e {g} ]; do sleep 0.01; done",
        p = pid_file.display(),
        g = go.display()
    );
    b.modify(|c| {
        c["hooks"] = serde_json::json!({
            "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", script]}]
        });
    })
}

/// Create `b` (made with [`paused_in_setup`]) with `mode`; returns whether the init
/// shared our memory while it was setting up, and its pid once created (the init
/// execs the sealed trampoline before `create` returns).
fn create_sharing(root: &StateRoot, b: &Bundle, mode: SpawnMode) -> (bool, i32) {
    during_setup(root, b, mode, shares_memory_with_us)
}

/// Create `b` (made with [`paused_in_setup`]) with `mode`, calling `f` with the
/// init's pid while it is paused in its setup; returns what `f` did and the pid.
fn during_setup<R: Send>(
    root: &StateRoot,
    b: &Bundle,
    mode: SpawnMode,
    f: impl FnOnce(i32) -> R,
) -> (R, i32) {
    let (pid_file, go) = (b.path().join("hook.pid"), b.path().join("hook.go"));
    let created = std::thread::scope(|s| {
        let ctx = context(root, mode);
        let t = s.spawn(move || ctx.create(b.id(), &opts(b)).expect("create"));
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = loop {
            if let Some(p) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok())
            {
                break p;
            }
            assert!(Instant::now() < deadline, "the hook never ran");
            std::thread::sleep(Duration::from_millis(5));
        };
        let r = f(pid);
        std::fs::write(&go, "").unwrap();
        (r, t.join().unwrap())
    });
    created
}

#[test]
fn the_init_shares_the_host_memory_until_its_exec() {
    let _serial = serial();
    let root = StateRoot::new();
    let b = paused_in_setup(Bundle::new("vm-share").args(&["sleep", "60"]));
    let _guard = Container::new(&root, &b);
    let ctx = context(&root, SpawnMode::SharedVm);
    let fds = open_fds();
    let (shared, pid) = create_sharing(&root, &b, SpawnMode::SharedVm);
    assert!(shared, "the init did not share our memory while setting up");
    // No fd of the spawn outlives the call (the helper thread's copy of the sync
    // socket included). The created init has exec'd the trampoline: its own
    // address space, a sealed exe.
    // Other tests' threads open and close fds meanwhile: what must be gone is
    // what the spawn made (a socket, a pidfd of the init, the trampoline's
    // memfd). Another thread's socket closes again; a leaked one stays.
    let leaked = || -> Vec<String> {
        open_fds()
            .into_iter()
            .filter(|fd| !fds.contains(fd))
            .filter(|fd| {
                let link = std::fs::read_link(format!("/proc/self/fd/{fd}"))
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let info =
                    std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap_or_default();
                link.starts_with("/memfd:fastrun")
                    || link.starts_with("socket:")
                    || (link == "anon_inode:[pidfd]"
                        && info.lines().any(|l| l == format!("Pid:\t{pid}")))
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !leaked().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = leaked();
    assert!(left.is_empty(), "fds of the spawn left open: {left:?}");
    assert!(
        !shares_memory_with_us(pid),
        "created init shares our memory"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
        Path::new("/memfd:fastrun-exec (deleted)")
    );
    ctx.start(b.id()).expect("start");
    wait_status(&ctx, b.id(), Status::Running);
    // The user program starts with no signal blocked or ignored (the reset made at
    // the child's start is the only one on this path).
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    for field in ["SigBlk", "SigIgn"] {
        assert_eq!(
            status_field(&status, field),
            Some("0000000000000000"),
            "{status}"
        );
    }
    ctx.kill(b.id(), libc::SIGKILL, false).expect("kill");
    assert_eq!(reap(pid) & 0x7f, libc::SIGKILL);
    ctx.delete(b.id(), false).expect("delete");
    assert_no_leftovers(root.path(), b.id());
}

#[test]
fn fork_mode_copies_and_auto_picks_shared_memory_for_a_large_host() {
    let _serial = serial();
    let root = StateRoot::new();
    let b = paused_in_setup(Bundle::new("vm-fork").args(&["sleep", "60"]));
    let _guard = Container::new(&root, &b);
    let (shared, pid) = create_sharing(&root, &b, SpawnMode::Fork);
    assert!(!shared, "fork mode shares memory");
    let ctx = context(&root, SpawnMode::Fork);
    ctx.delete(b.id(), true).expect("delete");
    reap(pid);

    // Auto: a host whose peak RSS passed 64 MiB spawns sharing memory.
    let mut big = vec![0u8; 96 << 20];
    for i in (0..big.len()).step_by(4096) {
        big[i] = 1;
    }
    std::hint::black_box(&big);
    let b2 = paused_in_setup(Bundle::new("vm-auto").args(&["sleep", "60"]));
    let _guard2 = Container::new(&root, &b2);
    let ctx = context(&root, SpawnMode::Auto);
    let (shared, pid) = create_sharing(&root, &b2, SpawnMode::Auto);
    assert!(shared, "auto did not share memory for a large host");
    ctx.delete(b2.id(), true).expect("delete");
    reap(pid);
    assert_no_leftovers(root.path(), b2.id());
}

#[test]
fn what_the_init_runs_survives_the_host_reusing_its_memory() {
    let _serial = serial();
    let root = StateRoot::new();
    let out = TempDir::new("fastrun-vm-out-");
    let mark = format!("mark-{}-{:?}", std::process::id(), Instant::now());
    let b = Bundle::new("vm-heap")
        .args(&["sh", "-c", "echo \"$0 $VM_MARK\" > /out/mark", &mark])
        .modify(|c| {
            c["process"]["env"]
                .as_array_mut()
                .unwrap()
                .push(format!("VM_MARK={mark}").into());
            c["mounts"].as_array_mut().unwrap().push(serde_json::json!({
                "destination": "/out", "type": "bind",
                "source": out.path(), "options": ["rbind", "rw"]
            }));
        });
    let _guard = Container::new(&root, &b);
    {
        let ctx = context(&root, SpawnMode::SharedVm);
        ctx.create(b.id(), &opts(&b)).expect("create");
    }
    // Everything the create allocated is freed by now; churn the allocator so that
    // freed memory is reused and overwritten before the init execs.
    for round in 0..50u8 {
        let v: Vec<Vec<u8>> = (0..200)
            .map(|i| vec![round ^ i as u8; 64 + i * 8])
            .collect();
        std::hint::black_box(&v);
    }
    let ctx = context(&root, SpawnMode::SharedVm);
    let pid = ctx.state(b.id()).expect("state").pid;
    ctx.start(b.id()).expect("start");
    assert_eq!(reap(pid), 0, "the init failed");
    let got = std::fs::read_to_string(out.path().join("mark")).expect("the init wrote nothing");
    assert_eq!(got.trim(), format!("{mark} {mark}"));
    ctx.delete(b.id(), false).expect("delete");
    assert_no_leftovers(root.path(), b.id());
}

static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_usr1(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn host_signal_handlers_never_run_in_the_init() {
    let _serial = serial();
    // SAFETY: installing an async-signal-safe handler (one atomic add).
    unsafe { libc::signal(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t) };
    let root = StateRoot::new();
    // Without a pid namespace of its own: the init of one ignores signals it has no
    // handler for (except SIGKILL), and this one must die of SIGUSR1.
    let b = Bundle::new("vm-signal").args(&["sleep", "60"]).modify(|c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid")
    });
    let _guard = Container::new(&root, &b);
    let ctx = context(&root, SpawnMode::SharedVm);
    let pid = ctx.create(b.id(), &opts(&b)).expect("create");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(
        status_field(&status, "SigCgt"),
        Some("0000000000000000"),
        "{status}"
    );
    assert_eq!(
        status_field(&status, "SigBlk"),
        Some("0000000000000000"),
        "{status}"
    );
    let before = HANDLED.load(Ordering::SeqCst);
    // Had our handler run in the init, it would have counted in our memory (shared)
    // and the init would have lived on; it must die of the signal, as any process.
    ctx.kill(b.id(), libc::SIGUSR1, false).expect("kill");
    let status = reap(pid);
    assert_eq!(status & 0x7f, libc::SIGUSR1, "init status {status:#x}");
    assert_eq!(
        HANDLED.load(Ordering::SeqCst),
        before,
        "host handler ran in the init"
    );
    ctx.delete(b.id(), false).expect("delete");
    assert_no_leftovers(root.path(), b.id());
}

fn dumpable() -> i32 {
    // SAFETY: PR_GET_DUMPABLE takes no pointers.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }
}

#[test]
fn the_host_is_non_dumpable_only_while_an_init_shares_it() {
    let _serial = serial();
    let root = StateRoot::new();
    let b = paused_in_setup(Bundle::new("vm-dump").args(&["true"]));
    let _guard = Container::new(&root, &b);
    let ctx = context(&root, SpawnMode::SharedVm);
    // Other tests of this file may hold a created init meanwhile: wait for a quiet
    // moment (each ends its inits before returning).
    wait_until("the host to be dumpable", Duration::from_secs(20), || {
        dumpable() == 1
    });
    // The init's /proc entries are closed to others: they are the host's too.
    let (during, pid) = during_setup(&root, &b, SpawnMode::SharedVm, |_| dumpable());
    assert_eq!(during, 0, "host dumpable while an init shares it");
    // Created, the init has exec'd the trampoline: the host is itself again, once
    // no other init shares it (another test's in-process create may have begun
    // meanwhile: the flag is the process's; each such init execs within seconds).
    wait_until(
        "the host dumpable again after the init's exec",
        Duration::from_secs(20),
        || dumpable() == 1,
    );
    ctx.start(b.id()).expect("start");
    assert_eq!(reap(pid), 0);
    ctx.delete(b.id(), false).expect("delete");
}

/// A clone the kernel refuses (the host's pids cgroup is full: the spawn thread
/// fits, the child does not) is reported with its errno, and nothing is left.
#[test]
fn a_refused_clone_is_reported_and_leaves_nothing() {
    let cg = Path::new("/sys/fs/cgroup/pids").join(unique_id("fastrun-vm-pids"));
    if !Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists() {
        eprintln!("skipping: no v1 pids hierarchy");
        return;
    }
    std::fs::create_dir(&cg).expect("mkdir pids cgroup");
    std::fs::write(cg.join("pids.max"), "2").expect("pids.max");
    let root = StateRoot::new();
    let b = Bundle::new("vm-eagain");
    let log = root.path().join("log.json");
    let mut cmd = root.command(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        b.id(),
    ]);
    cmd.env("FASTRUN_SPAWN", "vm");
    let procs = std::fs::File::options()
        .write(true)
        .open(cg.join("cgroup.procs"))
        .expect("open cgroup.procs");
    let procs_fd = procs.as_raw_fd();
    // SAFETY: the closure only makes async-signal-safe calls (write, getpid).
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            let mut buf = [0u8; 16];
            let mut n = libc::getpid() as u32;
            let mut i = buf.len();
            loop {
                i -= 1;
                buf[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            let w = libc::write(procs_fd, buf[i..].as_ptr().cast(), buf.len() - i);
            if w < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = run_cmd(cmd, None, TIMEOUT);
    drop(procs);
    let _ = std::fs::remove_dir(&cg);
    o.assert_failure();
    assert!(
        o.stderr.contains("clone3") && o.stderr.contains("Resource temporarily unavailable"),
        "{o}"
    );
    let lines = log_lines(&log);
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "error" && l["msg"].as_str().unwrap_or("").contains("clone3")),
        "{lines:?}"
    );
    assert_no_leftovers(root.path(), b.id());
}
