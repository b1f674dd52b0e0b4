//! cgroup v2 integration tests, for real, as root.
//!
//! The machine is v1 hybrid, so the test re-runs itself under
//! `unshare -m --propagation private` and, in that private mount namespace only,
//! mounts cgroup2 over `/sys/fs/cgroup`: a pure v2 view where the core files
//! (`cgroup.procs`, `cgroup.freeze`, `cgroup.kill`, `cgroup.events`) work but most
//! controllers stay bound to v1. That tree is the same hierarchy as the host's
//! `/sys/fs/cgroup/unified`, so every directory made here is removed by a guard.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fastrun_runtime::cgroups::resources::Pids;
use fastrun_runtime::cgroups::{oom::OomNotifier, Cgroup, CgroupError, Layout, Resources};

const INNER: &str = "FASTRUN_CG_V2_INNER";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn v2_in_private_mount_namespace() {
    if std::env::var_os(INNER).is_some() {
        return; // we are the inner run: only `inner_v2` does work there
    }
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private"])
        .arg(&exe)
        .args(["--exact", "inner_v2", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .output()
        .expect("run unshare");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inner run failed:\n{text}");
    assert!(
        text.contains("inner_v2 ... ok"),
        "inner test did not run:\n{text}"
    );
}

struct Guard {
    root: Cgroup,
    cg: Cgroup,
    children: Vec<Child>,
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

fn run(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd).args(args).status().expect(cmd);
    assert!(st.success(), "{cmd} {args:?} failed");
}

/// Unmounts a temporary cgroup2 mount even on failure.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn inner_v2() {
    if std::env::var_os(INNER).is_none() {
        return;
    }
    // Private mount namespace: cgroup2 over /sys/fs/cgroup (hides the v1 mounts).
    run("mount", &["-t", "cgroup2", "none", "/sys/fs/cgroup"]);
    let layout = Layout::detect().unwrap();
    let Layout::V2 { mountpoint, .. } = &layout else {
        panic!("expected pure v2, got {layout:?}")
    };
    assert_eq!(mountpoint, Path::new("/sys/fs/cgroup"));
    // detect() takes the statfs fast path here: the same answer as reading mountinfo.
    assert!(Layout::default_is_v2());
    let mut slow = Layout::from_mountinfo(&read("/proc/self/mountinfo")).unwrap();
    slow.read_v2_controllers().unwrap();
    assert_eq!(format!("{slow:?}"), format!("{layout:?}"));

    let base = format!("fastrun-test-{}-0", std::process::id());
    let mut g = Guard {
        root: Cgroup::new(layout.clone(), &base),
        cg: Cgroup::new(layout.clone(), format!("{base}/ctr")),
        children: Vec::new(),
    };
    g.cg.create().unwrap();
    let dir = g.cg.v2_dir().unwrap();
    assert!(dir.is_dir());
    assert!(g.cg.v1_dirs().is_empty());
    // the controllers of the root are enabled down to the parent
    let avail = read("/sys/fs/cgroup/cgroup.controllers");
    let enabled = read(g.root.v2_dir().unwrap().join("cgroup.subtree_control"));
    for c in avail.split_whitespace() {
        assert!(
            enabled.split_whitespace().any(|e| e == c),
            "{c} not enabled"
        );
    }

    // A second mount of the same hierarchy at a temp dir shows the same tree.
    let tmp = std::env::temp_dir().join(format!("fastrun-cg2-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let m = Mount(tmp.clone());
    run("mount", &["-t", "cgroup2", "none", tmp.to_str().unwrap()]);
    let at_tmp = Cgroup::new(Layout::v2_at(&m.0).unwrap(), format!("{base}/ctr"));
    assert!(at_tmp.exists());
    drop(m);

    // CLONE_INTO_CGROUP descriptor
    let fd = g.cg.open_v2_dir().unwrap();
    use std::os::fd::AsRawFd;
    let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    assert_eq!(target, dir);
    drop(fd);

    // a process, gated until it is in the cgroup
    let mut child = Command::new("sh")
        .args(["-c", "read x; exec sleep 100"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    g.cg.add_pid(pid).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    g.children.push(child);
    assert_eq!(g.cg.pids().unwrap(), vec![pid]);
    assert_eq!(g.root.pids().unwrap(), vec![pid]);
    assert!(read(format!("/proc/{pid}/cgroup")).contains(&format!("0::/{base}/ctr")));

    // limits: the writes are v2-named; here pids.max does not exist (pids is bound to
    // v1), and the error says which file and value
    let w =
        g.cg.writes(&Resources {
            pids: Some(Pids { limit: 5 }),
            ..Default::default()
        })
        .unwrap();
    if !dir.join("pids.max").exists() {
        let e = g.cg.apply(&w).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("cgroup: write 5 to {}/pids.max: ", dir.display())),
            "{e}"
        );
    } else {
        g.cg.apply(&w).unwrap();
        assert_eq!(read(dir.join("pids.max")), "5");
    }

    // stats from the core files
    let s = g.cg.stats().unwrap();
    assert_eq!(s.pids.current, 1);
    assert!(s.to_runc_json("x").contains("\"pids\":{\"current\":1}"));

    // OOM events need memory.events
    if !dir.join("memory.events").exists() {
        assert!(matches!(
            OomNotifier::register(&g.cg).unwrap_err(),
            CgroupError::Unsupported(_)
        ));
    }

    // freeze / thaw through cgroup.freeze and cgroup.events
    assert!(!g.cg.is_frozen().unwrap());
    g.cg.freeze().unwrap();
    assert!(g.cg.is_frozen().unwrap());
    assert!(read(dir.join("cgroup.events")).contains("frozen 1"));
    g.cg.thaw().unwrap();
    assert!(!g.cg.is_frozen().unwrap());

    // kill_all through cgroup.kill
    g.cg.kill_all(libc::SIGKILL).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    let mut status = None;
    while Instant::now() < end && status.is_none() {
        status = g.children[0].try_wait().unwrap();
        std::thread::sleep(Duration::from_millis(10));
    }
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.expect("killed").signal(), Some(libc::SIGKILL));

    // destroy everything, twice
    g.root.destroy().unwrap();
    assert!(!dir.exists());
    assert!(!g.root.v2_dir().unwrap().exists());
    g.root.destroy().unwrap();
}
