//! A private Docker daemon (Debian's docker.io 20.10) with fastrun registered as a
//! runtime: `dockerd` on its own [`Containerd`] (started bare, cleaned up with
//! the `moby` namespace), every path under that containerd's temp dir, no bridge,
//! no iptables/forwarding/masquerading changes, and a cgroup parent of the test's own
//! (`/<containerd namespace>`). The busybox rootfs of the e2e images is
//! `docker import`ed as [`IMAGE`].
//!
//! [`Docker::finish`] removes the containers, stops dockerd and containerd by pid
//! and then checks that nothing is left: no fastrun state, no process or cgroup
//! under the cgroup parent, no shim, no mount under the temp dir. On drop (a failed
//! test), the same cleanup runs without the checks.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::*;
use crate::common::{fastrun_bin, mountinfo, run_cmd, Output, TempDir};

/// Debian's docker client (`/usr/local/bin/docker` may be another version).
pub const DOCKER: &str = "/usr/bin/docker";
/// The name fastrun is registered under in `daemon.json`.
pub const FASTRUN: &str = "fastrun";
/// dockerd's built-in runc (the name `runc` is reserved: it cannot be registered).
pub const RUNC: &str = "runc";
/// Both runtimes, for scenarios whose outcome depends on the runtime.
pub const RUNTIMES: [&str; 2] = [FASTRUN, RUNC];

/// A tar of the e2e rootfs (busybox-static), built once per test process.
fn rootfs_tar() -> &'static Path {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn remove_at_exit() {
        if let Some(p) = TAR.get() {
            crate::common::remove_tree(p.parent().unwrap());
        }
    }
    TAR.get_or_init(|| {
        let dir = TempDir::new("fastrun-e2e-docker-image-").keep();
        let rootfs = dir.join("rootfs");
        build_e2e_rootfs(&rootfs).unwrap_or_else(|e| panic!("build the rootfs: {e}"));
        let tar = dir.join("rootfs.tar");
        let o = cmd(
            "tar",
            &[
                "-C",
                rootfs.to_str().unwrap(),
                "-cf",
                tar.to_str().unwrap(),
                ".",
            ],
        );
        o.assert_success();
        // SAFETY: registering a plain extern "C" fn without arguments; it only reads a
        // OnceLock that is set by the time it can run.
        unsafe { libc::atexit(remove_at_exit) };
        tar
    })
}

/// A private dockerd (see the module docs).
pub struct Docker {
    child: Option<Child>,
    /// `--cgroup-parent` of every container (`/<containerd namespace>`).
    pub cgroup_parent: String,
    live_restore: bool,
    finished: bool,
    // Last: dropped (stopped, cleaned up) after dockerd.
    ctd: Containerd,
}

impl Docker {
    /// dockerd with fastrun registered (and the default runtime, so `docker build`
    /// runs its RUN steps with it), `live-restore` as asked; imports [`IMAGE`].
    pub fn start(live_restore: bool) -> Docker {
        let ctd = Containerd::start_bare("moby");
        let mut d = Docker {
            child: None,
            cgroup_parent: format!("/{}", ctd.ns),
            live_restore,
            finished: false,
            ctd,
        };
        d.ctd.add_root(&d.runtime_root());
        std::fs::create_dir_all(d.dir().join("cli")).unwrap();
        std::fs::write(d.dir().join("daemon.json"), d.daemon_json()).unwrap();
        d.spawn_dockerd();
        let o = d.docker(&[
            "import",
            "-c",
            "CMD [\"/bin/sh\"]",
            rootfs_tar().to_str().unwrap(),
            IMAGE,
        ]);
        o.assert_success();
        d
    }

    /// The daemon's directory: `daemon.json`, `data`, `exec`, `docker.sock`, ...
    pub fn dir(&self) -> PathBuf {
        self.ctd.dir().join("docker")
    }

    /// The `daemon.json` this daemon runs with.
    pub fn daemon_json(&self) -> String {
        serde_json::json!({
            "runtimes": {FASTRUN: {"path": fastrun_bin()}},
            "default-runtime": FASTRUN,
            "cgroup-parent": self.cgroup_parent,
            "exec-opts": ["native.cgroupdriver=cgroupfs"],
            "live-restore": self.live_restore,
            // Not /etc/docker/key.json.
            "deprecated-key-path": self.dir().join("key.json"),
        })
        .to_string()
    }

    /// Where dockerd has its runtimes keep their state (`--root`): fastrun's state
    /// of container ID is `<this>/moby/ID`.
    pub fn runtime_root(&self) -> PathBuf {
        self.dir().join("exec/runtime-runc")
    }

    /// The container ids with fastrun (or runc) state.
    pub fn state_ids(&self) -> Vec<String> {
        state_ids(&self.runtime_root().join("moby"))
    }

    fn socket(&self) -> PathBuf {
        self.dir().join("docker.sock")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("dockerd.log")).unwrap_or_default()
    }

    /// The dockerd command line (see README's Docker section).
    pub fn dockerd_args(&self) -> Vec<String> {
        let d = self.dir().display().to_string();
        vec![
            "--config-file".into(),
            format!("{d}/daemon.json"),
            "--containerd".into(),
            self.ctd.address().display().to_string(),
            "--data-root".into(),
            format!("{d}/data"),
            "--exec-root".into(),
            format!("{d}/exec"),
            "-H".into(),
            format!("unix://{d}/docker.sock"),
            "--pidfile".into(),
            format!("{d}/docker.pid"),
            "--bridge=none".into(),
            "--iptables=false".into(),
            "--ip-forward=false".into(),
            "--ip-masq=false".into(),
        ]
    }

    fn spawn_dockerd(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir().join("dockerd.log"))
            .unwrap();
        let child = Command::new("dockerd")
            .args(self.dockerd_args())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start dockerd (.ci/setup installs docker.io): {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.socket().exists() && self.docker(&["version"]).success() {
                break;
            }
            if let Some(s) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("dockerd exited ({s}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop dockerd by its pid (SIGTERM; SIGKILL after 30 s).
    fn stop_dockerd(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                eprintln!("e2e: dockerd did not stop in 30 s: SIGKILL");
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop dockerd and start it again with the same configuration (with
    /// `live-restore`, the containers keep running meanwhile).
    pub fn restart_dockerd(&mut self) {
        self.stop_dockerd();
        self.spawn_dockerd();
    }

    /// `docker ARGS...`, not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER);
        c.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir().join("cli"))
            .env("DOCKER_BUILDKIT", "0");
        c
    }

    /// `docker ARGS...` with [`CMD_TIMEOUT`].
    pub fn docker(&self, args: &[&str]) -> Output {
        run_cmd(self.command(args), None, CMD_TIMEOUT)
    }

    /// `docker run --runtime RT [--network none] FLAGS IMAGE ARGS...` (no network
    /// unless FLAGS name one: dockerd has no bridge).
    pub fn run(&self, rt: &str, flags: &[&str], args: &[&str]) -> Output {
        let v = run_args(rt, flags, IMAGE, args);
        self.docker(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// As [`Docker::run`] with another image.
    pub fn run_image(&self, rt: &str, flags: &[&str], image: &str, args: &[&str]) -> Output {
        let v = run_args(rt, flags, image, args);
        self.docker(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `sh -c LINE` on a pseudo-terminal (`script`), with `docker` in LINE this
    /// daemon's client. The output has `\r\n` line ends.
    pub fn script(&self, line: &str) -> Output {
        let mut c = Command::new("script");
        c.args(["-qec", line, "/dev/null"])
            .env("DOCKER_HOST", format!("unix://{}", self.socket().display()))
            .env("DOCKER_CONFIG", self.dir().join("cli"));
        let path = std::env::var("PATH").unwrap_or_default();
        // `docker` in LINE is Debian's client.
        let bin = self.dir().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let _ = std::os::unix::fs::symlink(DOCKER, bin.join("docker"));
        c.env("PATH", format!("{}:{path}", bin.display()));
        run_cmd(c, None, CMD_TIMEOUT)
    }

    /// `docker inspect --format FORMAT NAME`, trimmed.
    #[track_caller]
    pub fn inspect(&self, name: &str, format: &str) -> String {
        let o = self.docker(&["inspect", "--format", format, name]);
        o.assert_success();
        o.stdout.trim().to_string()
    }

    /// Wait until `docker inspect --format FORMAT NAME` prints `want`.
    #[track_caller]
    pub fn wait_inspect(&self, name: &str, format: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = self.docker(&["inspect", "--format", format, name]);
            let last = o.stdout.trim().to_string();
            if last == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: {format} is {last:?}, not {want:?} after 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The host pid of running container `name`.
    pub fn pid(&self, name: &str) -> i32 {
        self.inspect(name, "{{.State.Pid}}").parse().unwrap()
    }

    /// The full id of container `name`.
    pub fn id(&self, name: &str) -> String {
        self.inspect(name, "{{.Id}}")
    }

    /// The host cgroup file `FILE` of container `name` in `controller`.
    pub fn cgroup_file(&self, name: &str, controller: &str, file: &str) -> String {
        let p = format!(
            "/sys/fs/cgroup/{controller}{}/{}/{file}",
            self.cgroup_parent,
            self.id(name)
        );
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .trim()
            .to_string()
    }

    /// `docker events` between `since` and now (RFC 3339 or unix seconds),
    /// `<status> <name>` per line.
    pub fn events_since(&self, since: &str, filters: &[&str]) -> Vec<String> {
        let until = now_unix().to_string();
        let mut args = vec![
            "events",
            "--since",
            since,
            "--until",
            &until,
            "--format",
            "{{.Status}} {{.Actor.Attributes.name}}",
        ];
        for f in filters {
            args.push("--filter");
            args.push(f);
        }
        let o = self.docker(&args);
        o.assert_success();
        o.stdout.lines().map(String::from).collect()
    }

    /// Remove every container, stop dockerd and containerd by pid; then check that
    /// nothing is left (see the module docs), and panic naming what is.
    pub fn finish(mut self) {
        self.finished = true;
        let left = self.teardown();
        assert!(
            left.is_empty(),
            "left behind by docker/fastrun:\n  {}\n--- dockerd log (tail) ---\n{}",
            left.join("\n  "),
            tail(&self.log(), 30)
        );
    }

    /// Clean up; returns what was left behind (before the forced cleanup).
    fn teardown(&mut self) -> Vec<String> {
        let mut left = Vec::new();
        if self.child.is_some() {
            let o = self.docker(&["ps", "-a", "-q"]);
            let ids: Vec<&str> = o.stdout.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(ids.iter());
                let o = self.docker(&args);
                if !o.success() {
                    left.push(format!("docker rm -f: {o}"));
                }
            }
        }
        self.stop_dockerd();
        let ids = self.state_ids();
        if !ids.is_empty() {
            left.push(format!("runtime state: {ids:?}"));
        }
        for d in cgroup_dirs(&self.cgroup_parent) {
            let mut dirs = Vec::new();
            collect_dirs(&d, &mut dirs);
            for sub in dirs.iter().skip(1) {
                left.push(format!("cgroup {}", sub.display()));
            }
            for sub in &dirs {
                let procs = std::fs::read_to_string(sub.join("cgroup.procs")).unwrap_or_default();
                if !procs.trim().is_empty() {
                    left.push(format!("processes in {}: {procs:?}", sub.display()));
                }
            }
        }
        // containerd: its tasks in `moby` (none by now), stopped by pid, leftover
        // shims killed, fastrun state force-deleted, the cgroup parent removed.
        let shims_before = self.shims();
        if !shims_before.is_empty() {
            left.push(format!("shims still running: {shims_before:?}"));
        }
        self.ctd.cleanup();
        // dockerd's own mounts (with live-restore it leaves them on shutdown: the
        // data-root bound on itself, the network namespaces under the exec-root):
        // detached; any other mount (a container's rootfs or shm) is a leftover.
        let data = self.dir().join("data").display().to_string();
        let netns = self.dir().join("exec/netns/").display().to_string();
        for m in self.mounts() {
            if m == data || m.starts_with(&netns) {
                detach(&m);
            } else {
                left.push(format!("mount {m}"));
            }
        }
        for m in self.mounts() {
            detach(&m);
        }
        for m in self.mounts() {
            left.push(format!("cannot detach {m}"));
        }
        if !cgroup_dirs(&self.cgroup_parent).is_empty() {
            left.push(format!("the cgroup parent {}", self.cgroup_parent));
        }
        left
    }

    /// Mount points under the temp dir, deepest first.
    fn mounts(&self) -> Vec<String> {
        let dir = format!("{}/", self.ctd.dir().display());
        let mut v: Vec<String> = mountinfo()
            .into_iter()
            .filter_map(|l| l.split(' ').nth(4).map(String::from))
            .filter(|m| m.starts_with(&dir))
            .collect();
        v.sort_by_key(|m| std::cmp::Reverse(m.len()));
        v
    }

    /// The shims serving this daemon's containerd.
    fn shims(&self) -> Vec<i32> {
        let addr = self.ctd.address().display().to_string();
        procs()
            .into_iter()
            .filter(|(_, c)| {
                let args: Vec<&[u8]> = c.split(|&b| b == 0).collect();
                args.first()
                    .is_some_and(|a| a.windows(15).any(|w| w == b"containerd-shim"))
                    && args.contains(&addr.as_bytes())
            })
            .map(|(p, _)| p)
            .collect()
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if std::thread::panicking() {
            eprintln!(
                "--- dockerd log (last 40 lines) ---\n{}",
                tail(&self.log(), 40)
            );
        }
        let left = self.teardown();
        if !left.is_empty() {
            eprintln!("e2e: cleaned up after a failed test: {left:?}");
        }
    }
}

fn detach(m: &str) {
    let c = std::ffi::CString::new(m).unwrap();
    // SAFETY: a valid NUL-terminated path; umount2 does not keep it.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
}

/// `run --runtime RT [--network none] FLAGS IMAGE ARGS...`.
fn run_args(rt: &str, flags: &[&str], image: &str, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["run".into(), "--runtime".into(), rt.into()];
    if !flags
        .iter()
        .any(|f| *f == "--network" || f.starts_with("--network="))
    {
        v.push("--network".into());
        v.push("none".into());
    }
    v.extend(flags.iter().map(|s| s.to_string()));
    v.push(image.into());
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// Seconds since the epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
