//! End-to-end helpers: fastrun under the real containerd and podman (Debian's
//! packages), each started privately by the test and cleaned up on drop.
//! `tests/e2e/main.rs` includes it as `pub mod e2e` beside `common` (it uses
//! `crate::common`); the tests' modules `use crate::e2e;`.
//!
//! - [`images`]: a busybox OCI image built locally with umoci + skopeo, as OCI
//!   archives `localhost/busybox:latest` (cmd `/bin/sh`) and `localhost/pause:latest`
//!   (cmd `sleep 2147483647`, for CRI pod sandboxes); built once per test process.
//! - [`Containerd`]: a containerd with its own config, root, state and socket under a
//!   temp dir and its own namespace; `ctr` helpers for the `--runc-binary` route; the
//!   CRI plugin configured with fastrun as the default runtime when asked. On drop:
//!   tasks killed and deleted, containerd stopped by pid, leftover shims killed,
//!   fastrun state force-deleted, the namespace's cgroups and shim sockets removed.
//! - [`Podman`]: podman with private `--root/--runroot/--tmpdir`, cgroupfs, file
//!   events, file locks, `--network none`, capped rlimits, a private cgroup parent and
//!   `--runtime <fastrun>` (or the `containers.conf` runtimes table). On drop:
//!   containers removed, fastrun state force-deleted, conmons killed, cgroups removed.

pub mod buildah;
pub mod docker;
pub mod scenarios;

/// `scenario_tests!(route; name, ...)`: one `#[test] fn name()` per scenario of
/// [`scenarios`], each running `scenarios::name(route)`.
macro_rules! scenario_tests {
    ($route:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                e2e::scenarios::$name($route);
            }
        )*
    };
}
pub(crate) use scenario_tests;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::common::{build_rootfs, fastrun_bin, remove_tree, run_cmd, Output, TempDir};

pub const IMAGE: &str = "localhost/busybox:latest";
pub const PAUSE_IMAGE: &str = "localhost/pause:latest";
/// The timeout of one ctr/podman command.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);
/// The containerd namespace the CRI plugin uses.
pub const CRI_NS: &str = "k8s.io";

/// Applets the e2e tests need beyond the harness's rootfs.
const EXTRA_APPLETS: &[&str] = &["tty", "top", "nproc", "tr", "stty", "seq", "chown"];

/// The rootfs of the test images (with [`EXTRA_APPLETS`]) in `dir`.
pub fn build_e2e_rootfs(rootfs: &Path) -> Result<(), String> {
    build_rootfs(rootfs).map_err(|e| format!("rootfs: {e}"))?;
    for a in EXTRA_APPLETS {
        match std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(format!("applet {a}: {e}"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Run `prog args...` with [`CMD_TIMEOUT`].
pub fn cmd<S: AsRef<std::ffi::OsStr>>(prog: &str, args: &[S]) -> Output {
    let mut c = Command::new(prog);
    c.args(args);
    run_cmd(c, None, CMD_TIMEOUT)
}

/// Quote for sh (single quotes).
pub fn sh_quote(args: &[&str]) -> String {
    args.iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run `args` on a pseudo-terminal: `script -qec '<args>' /dev/null` (ctr and podman
/// need a terminal on stdin for `-t`). The output has `\r\n` line ends.
pub fn under_script(args: &[&str]) -> Output {
    cmd("script", &["-qec", &sh_quote(args), "/dev/null"])
}

/// A unique short name: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Wait until `f` returns true, or panic with `what` after `timeout`.
#[track_caller]
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Host pids whose command line is exactly `args`.
pub fn pids_with_cmdline(args: &[&str]) -> Vec<i32> {
    let want: Vec<u8> = args
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    procs()
        .into_iter()
        .filter(|(_, c)| *c == want)
        .map(|(p, _)| p)
        .collect()
}

/// (pid, raw cmdline) of every process.
fn procs() -> Vec<(i32, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|p| Some((p, std::fs::read(format!("/proc/{p}/cmdline")).ok()?)))
        .collect()
}

fn sigkill(pid: i32) {
    // SAFETY: kill(2) with a pid and a signal; no memory is involved.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// Remove the cgroup directory `/<rel>` and everything under it in every hierarchy
/// mounted under /sys/fs/cgroup (rmdir only, deepest first: a cgroup that still has
/// processes stays, and is returned).
pub fn remove_cgroup_tree(rel: &str) -> Vec<String> {
    let mut failed = Vec::new();
    let rel = rel.trim_matches('/');
    if rel.is_empty() || rel.starts_with("process_api") {
        return failed;
    }
    let Ok(hier) = std::fs::read_dir("/sys/fs/cgroup") else {
        return failed;
    };
    for h in hier.flatten() {
        let top = h.path().join(rel);
        let mut dirs = Vec::new();
        collect_dirs(&top, &mut dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.as_os_str().len()));
        for d in dirs {
            if let Err(e) = std::fs::remove_dir(&d) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    failed.push(format!("cgroup {}: {e}", d.display()));
                }
            }
        }
    }
    failed
}

fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    out.push(dir.to_path_buf());
    for e in rd.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_dirs(&e.path(), out);
        }
    }
}

/// Cgroup directories named `/<rel>` that exist in some hierarchy.
pub fn cgroup_dirs(rel: &str) -> Vec<PathBuf> {
    let rel = rel.trim_matches('/');
    std::fs::read_dir("/sys/fs/cgroup")
        .map(|rd| {
            rd.flatten()
                .map(|h| h.path().join(rel))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// `fastrun --root ROOT delete --force ID` for every state directory under ROOT.
fn force_delete_all(root: &Path) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let id = e.file_name().to_string_lossy().into_owned();
            let mut c = Command::new(fastrun_bin());
            c.arg("--root").arg(root).args(["delete", "--force", &id]);
            run_cmd(c, None, Duration::from_secs(20));
        }
    }
}

/// The container ids with a fastrun state directory under `root` (not the
/// runtime's own `.seccomp-cache`: no container id starts with a dot).
pub fn state_ids(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// The image
// ---------------------------------------------------------------------------

/// The OCI archives of the test images.
pub struct Images {
    dir: PathBuf,
    /// `localhost/busybox:latest`, cmd `/bin/sh`.
    pub busybox: PathBuf,
    /// `localhost/pause:latest`: the same layer, cmd `sleep 2147483647`.
    pub pause: PathBuf,
}

static IMAGES: OnceLock<Images> = OnceLock::new();

extern "C" fn remove_images_at_exit() {
    if let Some(i) = IMAGES.get() {
        remove_tree(&i.dir);
    }
}

/// The test images (built on first use, removed when the test process exits).
pub fn images() -> &'static Images {
    IMAGES.get_or_init(|| {
        let dir = TempDir::new("fastrun-e2e-image-").keep();
        build_images(&dir).unwrap_or_else(|e| {
            remove_tree(&dir);
            panic!("build the busybox OCI image (umoci, skopeo: .ci/setup installs them): {e}")
        });
        // SAFETY: registering a plain extern "C" fn without arguments; it only reads a
        // OnceLock that is set by the time it can run.
        unsafe { libc::atexit(remove_images_at_exit) };
        Images {
            busybox: dir.join("busybox.tar"),
            pause: dir.join("pause.tar"),
            dir,
        }
    })
}

fn build_images(dir: &Path) -> Result<(), String> {
    let oci = dir.join("oci");
    let oci = oci.to_str().unwrap();
    let unpacked = dir.join("unpacked");
    let img = format!("{oci}:busybox");
    let ok = |o: Output| {
        if o.success() {
            Ok(())
        } else {
            Err(o.to_string())
        }
    };
    ok(cmd("umoci", &["init", "--layout", oci]))?;
    ok(cmd("umoci", &["new", "--image", &img]))?;
    ok(cmd(
        "umoci",
        &["unpack", "--image", &img, unpacked.to_str().unwrap()],
    ))?;
    let rootfs = unpacked.join("rootfs");
    build_e2e_rootfs(&rootfs)?;
    ok(cmd(
        "umoci",
        &["repack", "--image", &img, unpacked.to_str().unwrap()],
    ))?;
    remove_tree(&unpacked);
    ok(cmd(
        "umoci",
        // PATH in the image's Env, as every real image has: a bare command name
        // is not looked up without one (runc and fastrun alike).
        &[
            "config",
            "--image",
            &img,
            "--config.env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--config.cmd",
            "/bin/sh",
        ],
    ))?;
    ok(cmd(
        "umoci",
        &[
            "config",
            "--image",
            &img,
            "--tag",
            "pause",
            "--config.cmd",
            "sleep",
            "--config.cmd",
            "2147483647",
        ],
    ))?;
    for (tag, name) in [("busybox", IMAGE), ("pause", PAUSE_IMAGE)] {
        let archive = dir.join(format!("{tag}.tar"));
        ok(cmd(
            "skopeo",
            &[
                "copy",
                "--quiet",
                &format!("oci:{oci}:{tag}"),
                &format!("oci-archive:{}:{name}", archive.display()),
            ],
        ))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// containerd
// ---------------------------------------------------------------------------

/// The runtime type of fastrun's shim.
pub const SHIM_RUNTIME: &str = "io.containerd.fastrun.v2";
/// The shim's state root (`<this>/<namespace>`), as runc's shim uses /run/containerd/runc.
pub const SHIM_ROOT: &str = "/run/containerd/fastrun";

/// The shim binary, built next to `fastrun` (`cargo build -p containerd-shim-fastrun-v2`;
/// `cargo test --workspace` builds it).
pub fn shim_bin() -> PathBuf {
    let p = fastrun_bin().with_file_name("containerd-shim-fastrun-v2");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p containerd-shim-fastrun-v2` first",
        p.display()
    );
    p
}

/// A private containerd (see the module docs).
pub struct Containerd {
    dir: TempDir,
    child: Option<Child>,
    /// This test's namespace (also the top of its cgroups: `/<ns>/<id>`).
    pub ns: String,
    cri: bool,
    /// Run containers with fastrun's own shim (`io.containerd.fastrun.v2`) instead
    /// of runc's shim with fastrun as its `BinaryName`.
    shim: bool,
    /// More namespaces to clean up (`moby` under dockerd), see [`Containerd::start_bare`].
    extra_ns: Vec<String>,
    /// (namespace, container id) of the containers started through [`Containerd::run`].
    ids: Mutex<Vec<(String, String)>>,
    /// More state roots (`<root>/<namespace>`) to clean up, see [`Containerd::add_root`].
    roots: Mutex<Vec<PathBuf>>,
}

impl Containerd {
    /// Start containerd (with the CRI plugin configured for fastrun when `cri`, else
    /// without it), wait for its socket, and import the busybox image into the
    /// test's namespace (and busybox + pause into `k8s.io` with `cri`).
    pub fn start(cri: bool) -> Containerd {
        Self::start_with(cri, false)
    }

    /// As [`Containerd::start`], with fastrun's shim as the runtime of `ctr run` and
    /// of the CRI plugin (its directory first in containerd's PATH).
    pub fn start_shim(cri: bool) -> Containerd {
        Self::start_with(cri, true)
    }

    /// A containerd without the CRI plugin and without images, for a client that
    /// uses its own namespace (dockerd: `moby`), cleaned up too; its tasks' fastrun
    /// state lives under `<root>/<namespace>` of each root given to [`Containerd::add_root`].
    pub fn start_bare(namespace: &str) -> Containerd {
        Self::start_full(false, false, Some(namespace))
    }

    /// As [`Containerd::start_shim`] without CRI, with `env` added to containerd's
    /// environment (which its shims inherit: the engine's test switches).
    pub fn start_shim_env(env: &[(&str, &str)]) -> Containerd {
        Self::start_full_env(false, true, None, env)
    }

    fn start_with(cri: bool, shim: bool) -> Containerd {
        Self::start_full(cri, shim, None)
    }

    fn start_full(cri: bool, shim: bool, bare: Option<&str>) -> Containerd {
        Self::start_full_env(cri, shim, bare, &[])
    }

    fn start_full_env(
        cri: bool,
        shim: bool,
        bare: Option<&str>,
        env: &[(&str, &str)],
    ) -> Containerd {
        let dir = TempDir::new("fastrun-e2e-ctd-");
        let ns = unique("fte2e");
        let mut c = Containerd {
            dir,
            child: None,
            ns,
            cri,
            shim,
            extra_ns: bare.map(String::from).into_iter().collect(),
            ids: Mutex::new(Vec::new()),
            roots: Mutex::new(Vec::new()),
        };
        if cri && shim {
            // The CRI runtime's options section names a file of runc-style options
            // (runtimeoptions.v1.Options with a ConfigPath).
            let opts = format!("Root = \"{}\"\n", c.cri_fastrun_root().display());
            std::fs::write(c.cri_options_file(), opts).unwrap();
        }
        let config = c.dir().join("config.toml");
        std::fs::write(&config, c.config()).unwrap();
        let log = std::fs::File::create(c.dir().join("containerd.log")).unwrap();
        let mut cmd = Command::new("containerd");
        cmd.envs(env.iter().copied());
        if shim {
            let bin = shim_bin();
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env(
                "PATH",
                format!("{}:{path}", bin.parent().unwrap().display()),
            );
        }
        let child = cmd
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start containerd (.ci/setup installs it): {e}"));
        c.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = std::fs::metadata(c.address()).is_ok_and(|m| m.file_type().is_socket());
            if up && c.ctr(&["version"]).success() {
                break;
            }
            if let Some(s) = c.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("containerd exited ({s}):\n{}", c.log());
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not come up:\n{}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        if bare.is_some() {
            return c;
        }
        let imgs = images();
        c.import(&c.ns.clone(), &imgs.busybox);
        if cri {
            c.import(CRI_NS, &imgs.busybox);
            c.import(CRI_NS, &imgs.pause);
        }
        c
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn address(&self) -> PathBuf {
        self.dir().join("containerd.sock")
    }

    /// `--runc-root` of the ctr route (fastrun's `--root` is `<this>/<namespace>`).
    pub fn fastrun_root(&self) -> PathBuf {
        if self.shim {
            return PathBuf::from(SHIM_ROOT);
        }
        self.dir().join("fastrun-root")
    }

    /// The `Root` of the CRI runtime entry (with the shim: in its options file).
    pub fn cri_fastrun_root(&self) -> PathBuf {
        self.dir().join("fastrun-cri-root")
    }

    /// The shim's CRI runtime options file (its `ConfigPath`).
    pub fn cri_options_file(&self) -> PathBuf {
        self.dir().join("fastrun-cri-options.toml")
    }

    /// Also clean up the state under `<root>/<namespace>` (a `Root` of the runtime
    /// options of some test).
    pub fn add_root(&self, root: &Path) {
        self.roots.lock().unwrap().push(root.to_path_buf());
    }

    /// The cgroup parent CRI pods of this test use.
    pub fn cri_cgroup_parent(&self) -> String {
        format!("/{}-cri", self.ns)
    }

    fn fifo_dir(&self) -> PathBuf {
        self.dir().join("fifo")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("containerd.log")).unwrap_or_default()
    }

    fn config(&self) -> String {
        let d = self.dir().display();
        let mut s = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"#
        );
        if self.cri && self.shim {
            s += &format!(
                r#"[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "fastrun"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.fastrun]
      runtime_type = "{SHIM_RUNTIME}"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.fastrun.options]
        ConfigPath = "{}"
"#,
                self.cri_options_file().display()
            );
        } else if self.cri {
            s += &format!(
                r#"[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "fastrun"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.fastrun]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.fastrun.options]
        BinaryName = "{}"
        Root = "{}"
"#,
                fastrun_bin().display(),
                self.cri_fastrun_root().display()
            );
        } else {
            s.insert_str(0, "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n");
        }
        s
    }

    /// `ctr --address A --namespace NS ARGS...`.
    pub fn ctr_in(&self, ns: &str, args: &[&str]) -> Output {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(self.address())
            .args(["--namespace", ns])
            .args(args);
        run_cmd(c, None, CMD_TIMEOUT)
    }

    /// `ctr` in the test's namespace.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_in(&self.ns, args)
    }

    fn import(&self, ns: &str, archive: &Path) {
        self.ctr_in(ns, &["images", "import", archive.to_str().unwrap()])
            .assert_success();
    }

    /// The flags of the `--runc-binary` route, for `ctr run`.
    pub fn runc_flags(&self) -> Vec<String> {
        if self.shim {
            return vec![
                "--runtime".into(),
                SHIM_RUNTIME.into(),
                "--fifo-dir".into(),
                self.fifo_dir().display().to_string(),
            ];
        }
        vec![
            "--runc-binary".into(),
            fastrun_bin().display().to_string(),
            "--runc-root".into(),
            self.fastrun_root().display().to_string(),
            "--fifo-dir".into(),
            self.fifo_dir().display().to_string(),
        ]
    }

    /// The whole `ctr run` argument list: `run FLAGS <runc flags> IMAGE ID ARGS...`.
    pub fn run_args(&self, flags: &[&str], id: &str, args: &[&str]) -> Vec<String> {
        self.ids
            .lock()
            .unwrap()
            .push((self.ns.clone(), id.to_string()));
        let mut v = vec!["run".to_string()];
        v.extend(flags.iter().map(|s| s.to_string()));
        v.extend(self.runc_flags());
        v.push(IMAGE.into());
        v.push(id.into());
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// `ctr run FLAGS <runc flags> IMAGE ID ARGS...`.
    pub fn run(&self, flags: &[&str], id: &str, args: &[&str]) -> Output {
        let v = self.run_args(flags, id, args);
        self.ctr(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `ctr task exec --fifo-dir D --exec-id X FLAGS ID ARGS...`.
    pub fn exec(&self, flags: &[&str], id: &str, exec_id: &str, args: &[&str]) -> Output {
        let v = self.exec_args(flags, id, exec_id, args);
        self.ctr(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn exec_args(&self, flags: &[&str], id: &str, exec_id: &str, args: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = ["task", "exec", "--fifo-dir"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.push(self.fifo_dir().display().to_string());
        v.push("--exec-id".into());
        v.push(exec_id.into());
        v.extend(flags.iter().map(|s| s.to_string()));
        v.push(id.into());
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// The full `ctr ...` command line (for [`under_script`]).
    pub fn ctr_cmdline(&self, args: &[String]) -> Vec<String> {
        let mut v = vec![
            "ctr".to_string(),
            "--address".into(),
            self.address().display().to_string(),
            "--namespace".into(),
            self.ns.clone(),
        ];
        v.extend(args.iter().cloned());
        v
    }

    /// `ctr run` on a pseudo-terminal (adds `-t`).
    pub fn run_tty(&self, flags: &[&str], id: &str, args: &[&str]) -> Output {
        let mut f = vec!["-t"];
        f.extend_from_slice(flags);
        let v = self.ctr_cmdline(&self.run_args(&f, id, args));
        under_script(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `ctr task exec -t` on a pseudo-terminal.
    pub fn exec_tty(&self, id: &str, exec_id: &str, args: &[&str]) -> Output {
        let v = self.ctr_cmdline(&self.exec_args(&["-t"], id, exec_id, args));
        under_script(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// (pid, status) of task `id` from `ctr task ls`.
    pub fn task(&self, id: &str) -> Option<(i32, String)> {
        let o = self.ctr(&["task", "ls"]);
        o.stdout.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| (f[1].parse().unwrap_or(0), f[2].to_string()))
        })
    }

    /// Wait until task `id` has `status` (RUNNING, STOPPED, PAUSED).
    #[track_caller]
    pub fn wait_task(&self, id: &str, status: &str) -> i32 {
        let mut pid = 0;
        wait_for(
            &format!("task {id} {status}"),
            Duration::from_secs(20),
            || match self.task(id) {
                Some((p, s)) if s == status => {
                    pid = p;
                    true
                }
                _ => false,
            },
        );
        pid
    }

    /// `ctr events` in the background, subscribed by the time this returns.
    pub fn events(&self) -> Events {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = self
            .dir()
            .join(format!("events-{}.log", N.fetch_add(1, Ordering::Relaxed)));
        let out = std::fs::File::create(&path).unwrap();
        let child = Command::new("ctr")
            .arg("--address")
            .arg(self.address())
            .arg("events")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn ctr events: {e}"));
        let ev = Events { child, path };
        // Subscribed once a namespace update of ours shows up.
        let mut n = 0;
        wait_for("ctr events to subscribe", Duration::from_secs(20), || {
            n += 1;
            self.ctr(&["namespaces", "label", &self.ns, &format!("probe={n}")])
                .assert_success();
            std::thread::sleep(Duration::from_millis(100));
            ev.text().contains("/namespaces/update")
        });
        ev
    }

    /// The fastrun state directories of the ctr route in the test's namespace.
    pub fn fastrun_ids(&self) -> Vec<String> {
        state_ids(&self.fastrun_root().join(&self.ns))
    }

    fn namespaces(&self) -> Vec<String> {
        let mut v = vec![self.ns.clone()];
        v.extend(self.extra_ns.iter().cloned());
        if self.cri {
            v.push(CRI_NS.into());
        }
        v
    }

    fn cleanup(&mut self) {
        let mut ids = self.ids.lock().unwrap().clone();
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                for ns in self.namespaces() {
                    let short = Duration::from_secs(15);
                    let ctr = |args: &[&str]| {
                        let mut c = Command::new("ctr");
                        c.arg("--address")
                            .arg(self.address())
                            .args(["--namespace", &ns])
                            .args(args);
                        run_cmd(c, None, short)
                    };
                    let tasks = ctr(&["task", "ls", "-q"]).stdout;
                    for t in tasks.lines().filter(|t| !t.is_empty()) {
                        ctr(&["task", "kill", "-a", "-s", "KILL", t]);
                    }
                    for t in tasks.lines().filter(|t| !t.is_empty()) {
                        ctr(&["task", "delete", "--force", t]);
                    }
                    let cs = ctr(&["container", "ls", "-q"]).stdout;
                    for c in cs.lines().filter(|c| !c.is_empty()) {
                        ids.push((ns.clone(), c.to_string()));
                        ctr(&["container", "rm", c]);
                    }
                }
            }
            // Stop containerd by its pid: SIGTERM, then SIGKILL after 10 s.
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Shims of this containerd still alive (a failed delete): kill them, and
        // remove the socket they would have removed (a pod's is named after its
        // sandbox id, which the test does not know).
        let addr = self.address().display().to_string();
        for (pid, cmdline) in procs() {
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            if args
                .first()
                .is_some_and(|a| a.windows(15).any(|w| w == b"containerd-shim"))
                && args.contains(&addr.as_bytes())
            {
                sigkill(pid);
                let socket = args
                    .iter()
                    .position(|a| *a == b"-socket")
                    .and_then(|i| args.get(i + 1))
                    .map(|s| String::from_utf8_lossy(s).into_owned());
                if let Some(s) = socket {
                    let _ = std::fs::remove_file(s.strip_prefix("unix://").unwrap_or(&s));
                }
            }
        }
        // fastrun state left behind: delete --force kills and removes cgroups.
        let mut roots = vec![self.fastrun_root(), self.cri_fastrun_root()];
        roots.extend(self.roots.lock().unwrap().iter().cloned());
        for ns in self.namespaces() {
            for root in &roots {
                for id in state_ids(&root.join(&ns)) {
                    ids.push((ns.clone(), id));
                }
                force_delete_all(&root.join(&ns));
                if self.shim {
                    // The shim's per-namespace root (empty by now).
                    let _ = std::fs::remove_dir(root.join(&ns));
                }
            }
        }
        let mut failed = remove_cgroup_tree(&self.ns);
        if self.cri {
            failed.extend(remove_cgroup_tree(&self.cri_cgroup_parent()));
        }
        for f in failed {
            eprintln!("e2e: cannot remove {f}");
        }
        // Shim sockets: /run/containerd/s/<sha256(<address>/<namespace>/<id>)>.
        ids.sort();
        ids.dedup();
        for (ns, id) in ids {
            let o = run_cmd(
                {
                    let mut c = Command::new("sh");
                    c.args(["-c", "printf %s \"$1\" | sha256sum", "sh"])
                        .arg(format!("{addr}/{ns}/{id}"));
                    c
                },
                None,
                Duration::from_secs(10),
            );
            if let Some(h) = o.stdout.split_whitespace().next() {
                let _ = std::fs::remove_file(Path::new("/run/containerd/s").join(h));
            }
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- containerd log (last 40 lines) ---\n{}",
                tail(&self.log(), 40)
            );
        }
        self.cleanup();
        // The TempDir then detaches the mounts under it (rootfs, shm) and removes it.
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `ctr events` running in the background (see [`Containerd::events`]); killed on drop.
pub struct Events {
    child: Child,
    path: PathBuf,
}

impl Events {
    /// What it has printed so far: one line per event, `<time> <namespace> <topic>
    /// <event as JSON>`.
    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }

    /// The lines of events of `topic` whose JSON names container `id`.
    pub fn lines(&self, topic: &str, id: &str) -> Vec<String> {
        let quoted = format!("\"{id}\"");
        self.text()
            .lines()
            .filter(|l| l.split_whitespace().any(|w| w == topic) && l.contains(&quoted))
            .map(String::from)
            .collect()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// podman
// ---------------------------------------------------------------------------

/// How podman finds fastrun.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PodmanRuntime {
    /// `podman --runtime /path/to/fastrun`.
    Flag,
    /// `containers.conf`: `[engine] runtime = "fastrun"` and
    /// `[engine.runtimes] fastrun = ["/path/to/fastrun"]`.
    RuntimesTable,
}

/// A private podman (see the module docs).
pub struct Podman {
    dir: TempDir,
    runtime: PodmanRuntime,
    /// The cgroup parent of this test's containers (`--cgroup-parent`).
    pub cgroup_parent: String,
}

/// fastrun's default state root (podman passes no `--root`).
pub const FASTRUN_DEFAULT_ROOT: &str = "/run/fastrun";

impl Podman {
    /// Podman with private storage; loads the busybox image.
    pub fn new(runtime: PodmanRuntime) -> Podman {
        let dir = TempDir::new("fastrun-e2e-podman-");
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let p = Podman {
            runtime,
            cgroup_parent: format!("/{}", unique("fte2e-podman")),
            dir,
        };
        // CONTAINERS_CONF replaces /usr/share/containers/containers.conf: keep its
        // default sysctl (every podman user's containers get it); lock with files
        // in our tmpdir rather than the shared /dev/shm/libpod_lock, and keep the
        // network config (and its lock) out of /etc/cni.
        let mut conf = format!(
            "[containers]\ndefault_sysctls = [\"net.ipv4.ping_group_range=0 0\"]\n\
             [network]\nnetwork_config_dir = \"{}/net\"\n\
             [engine]\nlock_type = \"file\"\n",
            p.dir().display()
        );
        if runtime == PodmanRuntime::RuntimesTable {
            conf += &format!(
                "runtime = \"fastrun\"\n[engine.runtimes]\nfastrun = [\"{}\"]\n",
                fastrun_bin().display()
            );
        }
        std::fs::write(p.conf(), conf).unwrap();
        p.podman(&["load", "-q", "-i", images().busybox.to_str().unwrap()])
            .assert_success();
        p
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn conf(&self) -> PathBuf {
        self.dir().join("containers.conf")
    }

    /// The global flags (and the `--runtime` flag in [`PodmanRuntime::Flag`] mode).
    pub fn global_flags(&self) -> Vec<String> {
        let d = self.dir().display();
        let mut v: Vec<String> = vec![
            "--root".into(),
            format!("{d}/root"),
            "--runroot".into(),
            format!("{d}/runroot"),
            "--storage-driver".into(),
            "overlay".into(),
            "--tmpdir".into(),
            format!("{d}/tmp"),
            "--cgroup-manager".into(),
            "cgroupfs".into(),
            "--events-backend".into(),
            "file".into(),
        ];
        if self.runtime == PodmanRuntime::Flag {
            v.push("--runtime".into());
            v.push(fastrun_bin().display().to_string());
        }
        v
    }

    /// `podman <globals> ARGS...` with `CONTAINERS_CONF` set, not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("podman");
        c.args(self.global_flags())
            .args(args)
            .env("CONTAINERS_CONF", self.conf());
        c
    }

    pub fn podman(&self, args: &[&str]) -> Output {
        run_cmd(self.command(args), None, CMD_TIMEOUT)
    }

    /// The flags every container gets: no network, rlimits within this machine's
    /// hard limits (no CAP_SYS_RESOURCE), the test's cgroup parent.
    pub fn container_flags(&self) -> Vec<String> {
        [
            "--network",
            "none",
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=32768:32768",
            "--cgroup-parent",
            &self.cgroup_parent,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn run_args(&self, flags: &[&str], args: &[&str]) -> Vec<String> {
        let mut v = vec!["run".to_string()];
        v.extend(self.container_flags());
        v.extend(flags.iter().map(|s| s.to_string()));
        if !flags.contains(&"--rootfs") {
            v.push(IMAGE.into());
        }
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// `podman run <container flags> FLAGS IMAGE ARGS...` (no IMAGE with `--rootfs`).
    pub fn run(&self, flags: &[&str], args: &[&str]) -> Output {
        let v = self.run_args(flags, args);
        self.podman(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The full `podman ...` command line, for a shell or [`under_script`].
    pub fn cmdline(&self, args: &[String]) -> Vec<String> {
        let mut v = vec!["podman".to_string()];
        v.extend(self.global_flags());
        v.extend(args.iter().cloned());
        v
    }

    /// `podman run -t ...` on a pseudo-terminal.
    pub fn run_tty(&self, flags: &[&str], args: &[&str]) -> Output {
        let mut f = vec!["-t"];
        f.extend_from_slice(flags);
        self.script(&self.run_args(&f, args))
    }

    /// `podman ARGS...` on a pseudo-terminal.
    pub fn script(&self, args: &[String]) -> Output {
        let v = self.cmdline(args);
        let mut c = Command::new("script");
        c.args([
            "-qec",
            &sh_quote(&v.iter().map(String::as_str).collect::<Vec<_>>()),
            "/dev/null",
        ])
        .env("CONTAINERS_CONF", self.conf());
        run_cmd(c, None, CMD_TIMEOUT)
    }

    /// `sh -c 'podman ARGS... <redirections>'` (to hand podman extra fds).
    pub fn shell(&self, args: &[String], redirections: &str) -> Output {
        let v = self.cmdline(args);
        let line = format!(
            "{} {redirections}",
            sh_quote(&v.iter().map(String::as_str).collect::<Vec<_>>())
        );
        let mut c = Command::new("sh");
        c.args(["-c", &line]).env("CONTAINERS_CONF", self.conf());
        run_cmd(c, None, CMD_TIMEOUT)
    }

    /// `podman inspect --format FORMAT NAME`, trimmed.
    pub fn inspect(&self, name: &str, format: &str) -> String {
        let o = self.podman(&["inspect", "--format", format, name]);
        o.assert_success();
        o.stdout.trim().to_string()
    }

    /// Full ids of all containers.
    pub fn container_ids(&self) -> Vec<String> {
        self.podman(&["ps", "-a", "-q", "--no-trunc"])
            .stdout
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let ids = self.container_ids();
        let o = self.podman(&["rm", "-a", "-f", "-t", "0"]);
        if !o.success() {
            eprintln!("e2e: podman rm -a -f: {o}");
        }
        for id in &ids {
            if Path::new(FASTRUN_DEFAULT_ROOT).join(id).exists() {
                let mut c = Command::new(fastrun_bin());
                c.args(["delete", "--force", id]);
                run_cmd(c, None, Duration::from_secs(20));
            }
        }
        // conmons of this podman (their command lines name our storage).
        let d = self.dir().display().to_string();
        for (pid, cmdline) in procs() {
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            if args.first().is_some_and(|a| a.ends_with(b"conmon"))
                && args
                    .iter()
                    .any(|a| a.windows(d.len()).any(|w| w == d.as_bytes()))
            {
                sigkill(pid);
            }
        }
        // conmon's cgroup lingers until it exits.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let failed = remove_cgroup_tree(&self.cgroup_parent);
            if failed.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                eprintln!("e2e: cannot remove {}", failed.join("\n  "));
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // The TempDir then detaches overlay and shm mounts and removes the storage.
    }
}
