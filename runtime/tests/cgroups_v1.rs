//! cgroup v1 (and hybrid) integration tests, for real, as root.
//!
//! Every cgroup lives under `/fastrun-test-<pid>-<n>` in each hierarchy (never under
//! the machine's `memory:/process_api`), holds only processes spawned here, and is
//! removed by a guard even when a test fails.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fastrun_runtime::cgroups::resources::{HugepageLimit, Memory, Pids};
use fastrun_runtime::cgroups::{oom::OomNotifier, Cgroup, Layout, Resources};

static N: AtomicU32 = AtomicU32::new(0);

fn layout() -> Option<Layout> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root");
        return None;
    }
    let l = Layout::detect().expect("detect layout");
    // Not pure v2 (a tmpfs of v1 mounts): detect() had to read mountinfo.
    assert_eq!(Layout::default_is_v2(), l.is_v2());
    if l.is_v2() {
        eprintln!("skipped: this machine is pure cgroup v2");
        return None;
    }
    Some(l)
}

/// The test's cgroup (`<root>/ctr`) and its parent; Drop kills what is left, reaps the
/// children and removes every directory.
struct Guard {
    root: Cgroup,
    cg: Cgroup,
    children: Vec<Child>,
}

impl Guard {
    fn new(layout: &Layout) -> Guard {
        let n = N.fetch_add(1, Ordering::SeqCst);
        let base = format!("fastrun-test-{}-{n}", std::process::id());
        Guard {
            root: Cgroup::new(layout.clone(), &base),
            cg: Cgroup::new(layout.clone(), format!("{base}/ctr")),
            children: Vec::new(),
        }
    }

    /// Spawns `sh -c script` held at a gate (`read x`) until it is in the cgroup.
    fn spawn_gated(&mut self, script: &str) -> i32 {
        let mut child = Command::new("sh")
            .args(["-c", &format!("read x; {script}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh");
        let pid = child.id() as i32;
        self.cg.add_pid(pid).expect("add_pid");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"go\n")
            .expect("release gate");
        self.children.push(child);
        pid
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.cg.thaw();
        let _ = self.root.kill_all(libc::SIGKILL);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Err(e) = self.root.destroy() {
            eprintln!("cleanup failed: {e}");
        }
    }
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref())
        .unwrap_or_else(|e| panic!("read {}: {e}", p.as_ref().display()))
        .trim()
        .to_string()
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn lifecycle_limits_freeze_kill_destroy() {
    let Some(layout) = layout() else { return };
    let mut g = Guard::new(&layout);
    g.cg.create().unwrap();
    assert!(g.cg.exists());
    for d in g.cg.v1_dirs() {
        assert!(d.is_dir(), "{} missing", d.display());
    }
    // cpuset values were copied down
    if let Some(d) = g.cg.v1_dir("cpuset") {
        assert!(!read(d.join("cpuset.cpus")).is_empty());
        assert!(!read(d.join("cpuset.mems")).is_empty());
    }
    // create twice is fine
    g.cg.create().unwrap();

    let pid = g.spawn_gated("exec sleep 100");
    assert_eq!(g.cg.pids().unwrap(), vec![pid]);
    // the parent lists its child cgroup's processes too
    assert_eq!(g.root.pids().unwrap(), vec![pid]);
    for d in g.cg.v1_dirs() {
        assert_eq!(read(d.join("cgroup.procs")), pid.to_string());
    }

    let res = Resources {
        memory: Some(Memory {
            limit: Some(64 << 20),
            ..Default::default()
        }),
        pids: Some(Pids { limit: 10 }),
        ..Default::default()
    };
    let writes = g.cg.writes(&res).unwrap();
    g.cg.apply(&writes).unwrap();
    let mem = g.cg.v1_dir("memory").unwrap();
    assert_eq!(
        read(mem.join("memory.limit_in_bytes")),
        (64u64 << 20).to_string()
    );
    assert_eq!(read(g.cg.v1_dir("pids").unwrap().join("pids.max")), "10");

    let stats = g.cg.stats().unwrap();
    assert_eq!(stats.pids.current, 1);
    assert_eq!(stats.pids.limit, 10);
    assert_eq!(stats.memory.usage.limit, 64 << 20);
    let json = stats.to_runc_json("t");
    assert!(
        json.starts_with("{\"type\":\"stats\",\"id\":\"t\",\"data\":{\"cpu\":"),
        "{json}"
    );

    // a failing write names the file and the value
    let bad = Resources {
        memory: Some(Memory {
            limit: Some(1 << 20),
            swap: Some(1 << 19),
            ..Default::default()
        }),
        ..Default::default()
    };
    let e = fastrun_runtime::Error::from(g.cg.apply(&g.cg.writes(&bad).unwrap()).unwrap_err());
    let msg = e.to_string();
    assert!(
        msg.starts_with("cgroup: write 524288 to /sys/fs/cgroup/memory/")
            && msg.contains("memory.memsw.limit_in_bytes: "),
        "{msg}"
    );

    // freeze / thaw round trip
    assert!(!g.cg.is_frozen().unwrap());
    g.cg.freeze().unwrap();
    assert!(g.cg.is_frozen().unwrap());
    assert_eq!(
        read(g.cg.v1_dir("freezer").unwrap().join("freezer.state")),
        "FROZEN"
    );
    g.cg.thaw().unwrap();
    assert!(!g.cg.is_frozen().unwrap());

    // kill_all
    g.cg.kill_all(libc::SIGKILL).unwrap();
    let st = wait_exit(&mut g.children[0], Duration::from_secs(5)).expect("sleep killed");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGKILL));

    // kill_all of an empty cgroup signals nobody and leaves the freezer alone (no
    // freeze/thaw round trip: the usual delete after the init exited)
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !g.cg.pids().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "killed process still listed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    g.cg.freeze().unwrap();
    g.cg.kill_all(libc::SIGKILL).unwrap();
    assert!(
        g.cg.is_frozen().unwrap(),
        "kill_all of an empty cgroup thawed it"
    );
    g.cg.thaw().unwrap();

    // destroy removes every directory, and is idempotent
    g.root.destroy().unwrap();
    for d in g.cg.v1_dirs().into_iter().chain(g.cg.v2_dir()) {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    for d in g.root.v1_dirs().into_iter().chain(g.root.v2_dir()) {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    assert!(!g.cg.exists());
    g.root.destroy().unwrap();
}

#[test]
fn memory_hog_is_oom_killed() {
    let Some(layout) = layout() else { return };
    let mut g = Guard::new(&layout);
    g.cg.create().unwrap();
    let res = Resources {
        memory: Some(Memory {
            limit: Some(32 << 20),
            swap: Some(32 << 20),
            ..Default::default()
        }),
        ..Default::default()
    };
    g.cg.apply(&g.cg.writes(&res).unwrap()).unwrap();
    let mut oom = OomNotifier::register(&g.cg).unwrap();
    // `tail` keeps the current line in memory; /dev/zero has no newline
    g.spawn_gated("exec tail /dev/zero");
    let n = oom.wait(Some(Duration::from_secs(20))).unwrap();
    assert!(matches!(n, Some(k) if k >= 1), "no OOM event: {n:?}");
    let st = wait_exit(&mut g.children[0], Duration::from_secs(10)).expect("hog killed");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    let mem = g.cg.v1_dir("memory").unwrap();
    assert!(read(mem.join("memory.oom_control")).contains("oom_kill 1"));
    let m = g.cg.stats().unwrap().memory;
    // the peak reached the limit (failcnt stays 0 on recent kernels)
    assert_eq!(m.usage.max, 32 << 20, "{m:?}");
    assert_eq!(m.usage.limit, 32 << 20);
}

#[test]
fn fork_bomb_stops_at_pids_max() {
    let Some(layout) = layout() else { return };
    let mut g = Guard::new(&layout);
    g.cg.create().unwrap();
    g.cg.apply(
        &g.cg
            .writes(&Resources {
                pids: Some(Pids { limit: 8 }),
                ..Default::default()
            })
            .unwrap(),
    )
    .unwrap();
    g.spawn_gated("for i in $(seq 40); do sleep 100 & done; wait");
    let pids_dir = g.cg.v1_dir("pids").unwrap();
    // wait until forks are being refused
    let end = Instant::now() + Duration::from_secs(10);
    let mut refused = 0;
    while Instant::now() < end {
        let ev = read(pids_dir.join("pids.events"));
        refused = ev
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if refused > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(refused > 0, "no fork was refused");
    let current: u64 = read(pids_dir.join("pids.current")).parse().unwrap();
    assert!(current <= 8, "pids.current {current} > 8");
    assert!(g.cg.pids().unwrap().len() <= 8);
    g.cg.kill_all(libc::SIGKILL).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && !g.cg.pids().unwrap().is_empty() {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(g.cg.pids().unwrap().is_empty());
    g.root.destroy().unwrap();
    assert!(!g.cg.exists());
}

#[test]
fn hybrid_hugetlb_limit_goes_to_unified_tree() {
    let Some(layout) = layout() else { return };
    let hybrid_hugetlb = matches!(&layout, Layout::Hybrid { unified_controllers, .. }
        if unified_controllers.iter().any(|c| c == "hugetlb"));
    if !hybrid_hugetlb || layout.v1("hugetlb").is_some() {
        eprintln!("skipped: hugetlb is not on the unified tree here");
        return;
    }
    let mut g = Guard::new(&layout);
    g.cg.create().unwrap();
    let res = Resources {
        hugepage_limits: vec![HugepageLimit {
            page_size: "2MB".into(),
            limit: 4 << 20,
        }],
        ..Default::default()
    };
    g.cg.apply(&g.cg.writes(&res).unwrap()).unwrap();
    let d = g.cg.v2_dir().unwrap();
    assert_eq!(read(d.join("hugetlb.2MB.max")), (4u64 << 20).to_string());
    let pid = g.spawn_gated("exec sleep 100");
    assert_eq!(read(d.join("cgroup.procs")), pid.to_string());
}

#[test]
fn destroy_of_missing_cgroup_is_fine() {
    let Some(layout) = layout() else { return };
    let g = Guard::new(&layout);
    g.cg.destroy().unwrap();
    assert!(!g.cg.exists());
    assert!(g.cg.pids().unwrap().is_empty());
}

#[test]
fn destroy_removes_child_cgroups_deepest_first() {
    let Some(layout) = layout() else { return };
    let g = Guard::new(&layout);
    g.cg.create().unwrap();
    // what a container with a writable cgroup mount may leave: nested cgroups
    for d in g.cg.v1_dirs().into_iter().chain(g.cg.v2_dir()) {
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::create_dir(d.join("c")).unwrap();
    }
    g.cg.destroy().unwrap();
    for d in g.cg.v1_dirs().into_iter().chain(g.cg.v2_dir()) {
        assert!(!d.exists(), "{} left", d.display());
    }
    // a leaf, and a cgroup that is gone already
    g.cg.create().unwrap();
    g.cg.destroy().unwrap();
    g.cg.destroy().unwrap();
    assert!(!g.cg.exists());
}
