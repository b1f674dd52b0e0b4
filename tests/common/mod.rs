//! Shared harness for integration tests that run real containers with the built
//! `fastrun` binary. Each test area's `main.rs` includes it as
//! `#[path = "../common/mod.rs"] pub mod common;` (public: what one area does not
//! use another does), and its modules `use crate::common;`.
//!
//! - [`rootfs`]: a busybox-static rootfs, built once per test process, removed at exit.
//! - [`Bundle`]: a bundle whose `config.json` comes from `fastrun spec`, edited through
//!   serde_json (`args`, `terminal: false`, a `FASTRUN_TEST_ID` marker in the env).
//! - [`StateRoot`]: a unique `--root` per test, removed on drop.
//! - [`Container`]: lifecycle helpers; on drop (even on panic) it runs
//!   `delete --force` and kills whatever process still carries its marker.
//! - [`assert_no_leftovers`]: no state dir, process, mount or cgroup left behind.
//!
//! Every command runs with a timeout and its stdout/stderr captured ([`Output`]).

pub mod libfastrun;
pub mod runc;

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The default timeout of a `fastrun` invocation.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variable that marks a container's processes as this test's.
pub const MARKER: &str = "FASTRUN_TEST_ID";

/// The busybox applets linked into the rootfs.
pub const APPLETS: &[&str] = &[
    "sh", "true", "false", "echo", "cat", "ls", "sleep", "id", "hostname", "ps", "mount", "grep",
    "head", "wc", "stat", "readlink", "env", "pwd", "touch", "mkdir", "kill", "test", "[", "umask",
    "ulimit", "tr", "sort", "rm", "dd", "printf", "cut", "uname",
];

/// Copies an executable to `dst` (mode 0755) with `cp`, in its own process. A copy
/// written by this process would leave the new file open for writing, for a moment,
/// in every child another test thread forks meanwhile (the fd is close-on-exec, so
/// only until that child's exec): exec'ing the copy then fails with ETXTBSY
/// ("Text file busy"), a flake seen under load.
pub fn copy_executable(src: &Path, dst: &Path) {
    let st = Command::new("cp")
        .arg("--")
        .arg(src)
        .arg(dst)
        .status()
        .expect("run cp");
    assert!(st.success(), "cp {} {}", src.display(), dst.display());
    std::fs::set_permissions(dst, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// The `fastrun` binary under test: cargo's build of it, or the one `FASTRUN_TEST_BIN`
/// names (`.ci/run` runs the container suites again on the static product binary).
pub fn fastrun_bin() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var_os("FASTRUN_TEST_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_fastrun")))
    })
}

// ---------------------------------------------------------------------------
// Temporary directories
// ---------------------------------------------------------------------------

/// A directory under /tmp, removed (after detaching any mount left inside) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new empty directory `/tmp/<prefix>XXXXXX` (mode 0700).
    pub fn new(prefix: &str) -> TempDir {
        let template = CString::new(format!("/tmp/{prefix}XXXXXX")).unwrap();
        let mut buf = template.into_bytes_with_nul();
        // SAFETY: `buf` is a writable NUL-terminated template ending in XXXXXX, as
        // mkdtemp requires; it is only modified in place.
        let p = unsafe { libc::mkdtemp(buf.as_mut_ptr().cast()) };
        assert!(
            !p.is_null(),
            "mkdtemp /tmp/{prefix}XXXXXX: {}",
            std::io::Error::last_os_error()
        );
        buf.pop();
        TempDir {
            path: PathBuf::from(String::from_utf8(buf).unwrap()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the directory (for debugging): returns its path.
    pub fn keep(self) -> PathBuf {
        let p = self.path.clone();
        std::mem::forget(self);
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        remove_tree(&self.path);
    }
}

/// Mount points at or under `dir`, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let dir = dir.to_string_lossy().into_owned();
    let mut v: Vec<PathBuf> = mountinfo()
        .iter()
        .filter_map(|l| l.split(' ').nth(4).map(unescape_mount))
        .filter(|m| m == &dir || m.starts_with(&format!("{dir}/")))
        .map(PathBuf::from)
        .collect();
    v.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    v
}

/// Remove a tree, first detaching mounts inside it; never recurse into a mount that
/// could not be detached (it may be a bind of something precious).
pub fn remove_tree(dir: &Path) {
    for m in mounts_under(dir) {
        let c = CString::new(m.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path; umount2 does not keep it.
        let rc = unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        if rc != 0 {
            eprintln!(
                "harness: cannot detach {} ({}), leaving {} in place",
                m.display(),
                std::io::Error::last_os_error(),
                dir.display()
            );
            return;
        }
    }
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            eprintln!("harness: remove {}: {e}", dir.display());
        }
    }
}

/// The lines of /proc/self/mountinfo.
pub fn mountinfo() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
pub fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------
// The rootfs
// ---------------------------------------------------------------------------

static ROOTFS: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_rootfs_at_exit() {
    if let Some(p) = ROOTFS.get() {
        remove_tree(p);
    }
}

/// The shared busybox-static rootfs (built on first use, removed when the test process
/// exits). Bundles use it read-only; see [`Bundle::own_rootfs`] for a private copy.
pub fn rootfs() -> &'static Path {
    ROOTFS.get_or_init(|| {
        let dir = TempDir::new("fastrun-rootfs-").keep();
        build_rootfs(&dir).unwrap_or_else(|e| panic!("build rootfs in {}: {e}", dir.display()));
        // SAFETY: registering a plain extern "C" fn without arguments; it only reads a
        // OnceLock that is set by the time it can run.
        unsafe { libc::atexit(remove_rootfs_at_exit) };
        dir
    })
}

/// Fill `dir` with busybox and its applets, `proc sys dev tmp etc`, and
/// `/etc/passwd` + `/etc/group` (root 0, user 1000, nobody 65534).
pub fn build_rootfs(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let busybox = Path::new("/bin/busybox");
    if !busybox.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "/bin/busybox is missing: install busybox-static (.ci/setup)",
        ));
    }
    for d in ["bin", "proc", "sys", "dev", "tmp", "etc", "root"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    // Like an image's root: traversable by every user (temp dirs start as 0700).
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777))?;
    std::fs::copy(busybox, dir.join("bin/busybox"))?;
    for a in APPLETS {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(a))?;
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\n\
         user:x:1000:1000:user:/tmp:/bin/sh\n\
         nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    std::fs::write(
        dir.join("etc/group"),
        "root:x:0:\ntty:x:5:\nuser:x:1000:\nnogroup:x:65534:\n",
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------

/// What a command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit status; `None` when killed by a signal (see `signal`) or timed out.
    pub status: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// The command line, for messages.
    pub command: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Panic with the whole output unless the command exited 0.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "command failed: {self}");
        self
    }

    /// Panic unless the command exited with a non-zero status.
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(
            matches!(self.status, Some(s) if s != 0),
            "command should have failed: {self}"
        );
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}`: status {:?}, signal {:?}{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.status,
            self.signal,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.stdout,
            self.stderr
        )
    }
}

/// Run `cmd` with piped stdout/stderr (and `stdin` written to its stdin, or
/// /dev/null), killing its process group after `timeout`. Output read after the
/// command exits is collected for at most 2 more seconds: a container may keep the
/// pipes open.
pub fn run_cmd(cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    Background::start(cmd, stdin).wait(timeout)
}

/// Wait for `child` (a process group leader) to exit; after `timeout`, SIGKILL its
/// process group. Returns the status and whether it timed out.
fn wait_or_kill(child: &mut std::process::Child, timeout: Duration) -> (ExitStatus, bool) {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait().expect("wait") {
            Some(s) => return (s, false),
            None if Instant::now() >= deadline => {
                // SAFETY: kill(2) on the child's process group (it was made a group
                // leader by process_group(0)); no memory is involved.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                return (child.wait().expect("wait"), true);
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

impl Output {
    fn new(
        command: String,
        (status, timed_out): (ExitStatus, bool),
        stdout: String,
        stderr: String,
    ) -> Output {
        Output {
            status: if timed_out { None } else { status.code() },
            signal: status.signal(),
            stdout,
            stderr,
            timed_out,
            command,
        }
    }
}

/// Read `r` to its end in a thread; the bytes arrive on the returned channel.
fn read_in_thread(mut r: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Run `cmd` with stdin /dev/null and stdout/stderr going to `<dir>/<name>.out` and
/// `<dir>/<name>.err` (created or truncated), killing its process group after
/// `timeout`; the output is what the files hold when it exits. For commands whose
/// children keep stdout/stderr open (`create`): pipes would wait for them.
pub fn run_cmd_to_files(mut cmd: Command, dir: &Path, name: &str, timeout: Duration) -> Output {
    let command = format!("{cmd:?}");
    let out_path = dir.join(format!("{name}.out"));
    let err_path = dir.join(format!("{name}.err"));
    let create = |p: &Path| {
        std::fs::File::create(p).unwrap_or_else(|e| panic!("create {}: {e}", p.display()))
    };
    cmd.stdin(Stdio::null())
        .stdout(create(&out_path))
        .stderr(create(&err_path))
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command}: {e}"));
    let waited = wait_or_kill(&mut child, timeout);
    Output::new(
        command,
        waited,
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------
// State roots, bundles, containers
// ---------------------------------------------------------------------------

/// A unique container id: `ft-<name>-<pid>-<n>`.
pub fn unique_id(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "ft-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A unique state root (`--root`) for one test, removed on drop.
pub struct StateRoot {
    dir: TempDir,
}

impl StateRoot {
    pub fn new() -> StateRoot {
        StateRoot {
            dir: TempDir::new("fastrun-state-"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `fastrun --root <root> ARGS...`, not run yet (to set up stdio yourself).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(fastrun_bin());
        c.arg("--root").arg(self.path()).args(args);
        c
    }

    /// Run `fastrun --root <root> ARGS...` with the default timeout.
    pub fn fastrun(&self, args: &[&str]) -> Output {
        run_cmd(self.command(args), None, TIMEOUT)
    }

    /// Run `fastrun --root <root> ARGS...` with input and a timeout.
    pub fn fastrun_with(&self, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Output {
        run_cmd(self.command(args), stdin, timeout)
    }
}

impl Default for StateRoot {
    fn default() -> Self {
        Self::new()
    }
}

/// A bundle for one container id: `config.json` from `fastrun spec`, with
/// `root.path` pointing at the shared [`rootfs`] (read-only), `process.terminal`
/// false, `args` `["true"]`, and `FASTRUN_TEST_ID=<id>` in `process.env`.
/// Every change is written to `config.json` at once.
pub struct Bundle {
    dir: TempDir,
    id: String,
    config: Value,
}

impl Bundle {
    /// A bundle for a new unique id named after `name`.
    pub fn new(name: &str) -> Bundle {
        Bundle::with_id(&unique_id(name))
    }

    /// A bundle for the given container id.
    pub fn with_id(id: &str) -> Bundle {
        let dir = TempDir::new(&format!("fastrun-bundle-{id}-"));
        let mut c = Command::new(fastrun_bin());
        c.args(["spec", "--bundle"]).arg(dir.path());
        run_cmd(c, None, TIMEOUT).assert_success();
        let path = dir.path().join("config.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut config: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("`fastrun spec` wrote invalid JSON ({e}):\n{text}"));
        config["root"]["path"] = Value::from(rootfs().to_str().unwrap());
        config["root"]["readonly"] = Value::Bool(true);
        config["process"]["terminal"] = Value::Bool(false);
        config["process"]["args"] = serde_json::json!(["true"]);
        match config["process"]["env"].as_array_mut() {
            Some(env) => env.push(Value::from(format!("{MARKER}={id}"))),
            None => config["process"]["env"] = serde_json::json!([format!("{MARKER}={id}")]),
        }
        let b = Bundle {
            dir,
            id: id.to_string(),
            config,
        };
        b.write();
        b
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> &Value {
        &self.config
    }

    /// Where [`Container`] asks for the init's pid file.
    pub fn pid_file(&self) -> PathBuf {
        self.path().join("init.pid")
    }

    /// Set `process.args`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.config["process"]["args"] = serde_json::json!(args);
        self.write();
        self
    }

    /// Edit the config freely.
    pub fn modify(mut self, f: impl FnOnce(&mut Value)) -> Self {
        f(&mut self.config);
        self.write();
        self
    }

    /// Use a private, writable copy of the rootfs at `<bundle>/rootfs`.
    pub fn own_rootfs(mut self) -> Self {
        let dst = self.path().join("rootfs");
        build_rootfs(&dst).unwrap_or_else(|e| panic!("build {}: {e}", dst.display()));
        self.config["root"]["path"] = Value::from("rootfs");
        self.config["root"]["readonly"] = Value::Bool(false);
        self.write();
        self
    }

    /// Write `config.json` (done after every change).
    pub fn write(&self) {
        let path = self.path().join("config.json");
        let text = serde_json::to_string_pretty(&self.config).unwrap();
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// One container of a test: lifecycle helpers, and cleanup on drop (even on panic):
/// `delete --force`, then SIGKILL to the pid-file process and to every process that
/// carries the container's marker.
pub struct Container<'a> {
    root: &'a StateRoot,
    bundle: &'a Bundle,
}

impl<'a> Container<'a> {
    pub fn new(root: &'a StateRoot, bundle: &'a Bundle) -> Container<'a> {
        Container { root, bundle }
    }

    pub fn id(&self) -> &str {
        self.bundle.id()
    }

    fn bundle_path(&self) -> &str {
        self.bundle.path().to_str().unwrap()
    }

    /// `fastrun --root <root> ARGS...` under this container's state root.
    pub fn fastrun(&self, args: &[&str]) -> Output {
        self.root.fastrun(args)
    }

    /// `create --bundle B --pid-file B/init.pid ID` (containerd's form). Its stdout
    /// and stderr are files in the bundle (`create.out`, `create.err`), which the
    /// container's init inherits: see [`Container::output`].
    pub fn create(&self) -> Output {
        let pid_file = self.bundle.pid_file();
        let cmd = self.root.command(&[
            "create",
            "--bundle",
            self.bundle_path(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            self.id(),
        ]);
        run_cmd_to_files(cmd, self.bundle.path(), "create", TIMEOUT)
    }

    /// What the container wrote so far on the stdout and stderr `create` gave it.
    pub fn output(&self) -> (String, String) {
        let read =
            |n: &str| std::fs::read_to_string(self.bundle.path().join(n)).unwrap_or_default();
        (read("create.out"), read("create.err"))
    }

    pub fn start(&self) -> Output {
        self.root.fastrun(&["start", self.id()])
    }

    /// `run --bundle B ID` in the foreground.
    pub fn run(&self) -> Output {
        self.root
            .fastrun(&["run", "--bundle", self.bundle_path(), self.id()])
    }

    pub fn state(&self) -> Output {
        self.root.fastrun(&["state", self.id()])
    }

    /// `state`, parsed; panics when it fails.
    pub fn state_json(&self) -> Value {
        let o = self.state();
        o.assert_success();
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("state JSON ({e}): {o}"))
    }

    pub fn kill(&self, signal: &str) -> Output {
        self.root.fastrun(&["kill", self.id(), signal])
    }

    pub fn delete(&self, force: bool) -> Output {
        if force {
            self.root.fastrun(&["delete", "--force", self.id()])
        } else {
            self.root.fastrun(&["delete", self.id()])
        }
    }

    /// The pid in the pid file, if any.
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.bundle.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Wait until `state` reports `status` (or panic after `timeout`).
    #[track_caller]
    pub fn wait_status(&self, status: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let o = self.state();
            if o.success() && o.stdout.contains(&format!("\"status\": \"{status}\"")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "container {} never reached {status}: {o}",
                self.id()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Check that nothing of this container is left: see [`assert_no_leftovers`].
    #[track_caller]
    pub fn assert_no_leftovers(&self) {
        assert_no_leftovers(self.root.path(), self.id());
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.root.fastrun_with(
            &["delete", "--force", self.id()],
            None,
            Duration::from_secs(10),
        );
        let mut pids = marked_processes(self.id());
        if let Some(p) = self.pid() {
            if process_is_marked(p, self.id()) {
                pids.push(p);
            }
        }
        for p in pids {
            // SAFETY: kill(2) with a pid and a signal; no memory is involved.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
}

// ---------------------------------------------------------------------------
// Leak checks
// ---------------------------------------------------------------------------

fn process_is_marked(pid: i32, id: &str) -> bool {
    let marker = format!("{MARKER}={id}");
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|&b| b == 0).any(|e| e == marker.as_bytes()))
        .unwrap_or(false)
}

/// Pids of the processes that belong to container `id`: the marker in their
/// environment, or a `fastrun` command line naming the id.
pub fn marked_processes(id: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut v = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return v;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let ours_by_cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                let args: Vec<&[u8]> = c.split(|&b| b == 0).collect();
                args.first().is_some_and(|a0| a0.ends_with(b"fastrun"))
                    && args.contains(&id.as_bytes())
            })
            .unwrap_or(false);
        if ours_by_cmdline || process_is_marked(pid, id) {
            v.push(pid);
        }
    }
    v
}

/// Everything container `id` left behind under state root `root`, as messages.
pub fn leftovers(root: &Path, id: &str) -> Vec<String> {
    let mut found = Vec::new();
    let state = root.join(id);
    if state.exists() {
        found.push(format!("state directory {}", state.display()));
    }
    for p in marked_processes(id) {
        let cmd = std::fs::read(format!("/proc/{p}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .unwrap_or_default();
        found.push(format!("process {p}: {}", cmd.trim()));
    }
    // Mounts of this container only: on its state directory or the root itself,
    // or naming fastrun and its id (not those of the root's other containers).
    let root_s = root.to_string_lossy();
    let own = format!("{root_s}/{id}");
    for l in mountinfo() {
        let line = unescape_mount(&l);
        let point = line.split(' ').nth(4).unwrap_or_default();
        let ours = point == root_s
            || point == own
            || point.starts_with(&format!("{own}/"))
            || (line.contains("fastrun") && line.contains(id));
        if ours {
            found.push(format!("mount: {l}"));
        }
    }
    if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
        for c in ctrls.flatten() {
            find_cgroups(&c.path(), id, 0, &mut found);
        }
    }
    found
}

/// Cgroup directories whose name contains `id`, up to 3 levels deep.
fn find_cgroups(dir: &Path, id: &str, depth: usize, found: &mut Vec<String>) {
    if depth > 3 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let p = e.path();
        if e.file_name().to_string_lossy().contains(id) {
            found.push(format!("cgroup {}", p.display()));
        } else {
            find_cgroups(&p, id, depth + 1, found);
        }
    }
}

/// Panic unless container `id` left nothing behind: no state dir under `root`, no
/// process marked as its own (environment marker or a `fastrun ... ID` command line),
/// no mount in /proc/self/mountinfo under `root` or naming both `fastrun` and the id,
/// and no cgroup directory named after the id under /sys/fs/cgroup/* (including
/// `*/fastrun/<id>`).
#[track_caller]
pub fn assert_no_leftovers(root: &Path, id: &str) {
    let found = leftovers(root, id);
    assert!(
        found.is_empty(),
        "container {id} left resources behind:\n  {}",
        found.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Shortcuts for tests that look at what the container's process sees
// ---------------------------------------------------------------------------

/// A bundle whose process is `sh -c SCRIPT`.
pub fn sh_bundle(name: &str, script: &str) -> Bundle {
    Bundle::new(name).args(&["sh", "-c", script])
}

/// `run --bundle B [FLAGS...] ID` under a fresh state root, with `stdin` (or
/// /dev/null); after it returns, the container is force-deleted and checked to have
/// left nothing behind (checked before the guard's cleanup). Returns what `run` printed and its exit status.
pub fn run_bundle_with(bundle: &Bundle, flags: &[&str], stdin: Option<&[u8]>) -> Output {
    let root = StateRoot::new();
    let mut args = vec!["run", "--bundle", bundle.path().to_str().unwrap()];
    args.extend_from_slice(flags);
    args.push(bundle.id());
    // The guard cleans up even when an assertion fails; the leak check runs first.
    let _guard = Container::new(&root, bundle);
    let o = root.fastrun_with(&args, stdin, TIMEOUT);
    assert!(!o.timed_out, "run timed out: {o}");
    assert_no_leftovers(root.path(), bundle.id());
    o
}

/// [`run_bundle_with`] without flags or stdin.
pub fn run_bundle(bundle: &Bundle) -> Output {
    run_bundle_with(bundle, &[], None)
}

/// Run `sh -c SCRIPT` in a container (after `modify` edits the config), assert that
/// it exits 0, and return its stdout.
#[track_caller]
pub fn sh_output(name: &str, script: &str, modify: impl FnOnce(&mut Value)) -> String {
    let b = sh_bundle(name, script).modify(modify);
    let o = run_bundle(&b);
    o.assert_success();
    o.stdout
}

/// The value of `Field:` in /proc/PID/status text (`status`), trimmed.
pub fn status_field<'a>(status: &'a str, field: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

/// The JSON lines of a `--log-format json` log file.
pub fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?}: {e}")))
        .collect()
}

/// A process started in the background (its own process group), stdout and stderr
/// collected; on drop, its process group gets SIGKILL.
pub struct Background {
    child: Option<std::process::Child>,
    command: String,
    out_rx: mpsc::Receiver<Vec<u8>>,
    err_rx: mpsc::Receiver<Vec<u8>>,
}

impl Background {
    /// Spawn `cmd` with stdin /dev/null, stdout/stderr piped.
    pub fn spawn(cmd: Command) -> Background {
        Background::start(cmd, None)
    }

    /// Spawn `cmd` with `stdin` written to its stdin (or /dev/null), stdout/stderr
    /// piped.
    pub fn start(mut cmd: Command, stdin: Option<&[u8]>) -> Background {
        let command = format!("{cmd:?}");
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .process_group(0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command}: {e}"));
        if let Some(input) = stdin {
            let mut w = child.stdin.take().unwrap();
            let input = input.to_vec();
            std::thread::spawn(move || {
                let _ = w.write_all(&input);
            });
        }
        let out_rx = read_in_thread(child.stdout.take().unwrap());
        let err_rx = read_in_thread(child.stderr.take().unwrap());
        Background {
            child: Some(child),
            command,
            out_rx,
            err_rx,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Send `sig` to the process (not its group).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) with a pid and a signal; no memory is involved.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Whether it has exited (without reaping it for good: the status is kept).
    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
    }

    /// Wait for it to exit (SIGKILL to its group after `timeout`), and collect its
    /// output: for at most 2 more seconds, as a container may keep the pipes open.
    pub fn wait(mut self, timeout: Duration) -> Output {
        let mut child = self.child.take().unwrap();
        let waited = wait_or_kill(&mut child, timeout);
        let grace = Duration::from_secs(2);
        let collect = |rx: &mpsc::Receiver<Vec<u8>>| {
            String::from_utf8_lossy(&rx.recv_timeout(grace).unwrap_or_default()).into_owned()
        };
        let (stdout, stderr) = (collect(&self.out_rx), collect(&self.err_rx));
        Output::new(std::mem::take(&mut self.command), waited, stdout, stderr)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on the child's own process group.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.wait();
        }
    }
}

/// Wait until `f` returns true (polling every 10 ms), or panic with `what` after `timeout`.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` exists and is not a zombie.
pub fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
        })
        .unwrap_or(false)
}

/// Whether strace is installed (`.ci/setup` installs it).
pub fn have_strace() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `fastrun --root ROOT ARGS` under `strace -f -e trace=CALLS` logging into `log`;
/// the command must succeed. Its output and the log.
pub fn strace_calls(root: &StateRoot, log: &Path, calls: &str, args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-e", &format!("trace={calls}"), "-o"])
        .arg(log)
        .arg(fastrun_bin())
        .arg("--root")
        .arg(root.path())
        .args(args);
    let o = run_cmd(cmd, None, TIMEOUT);
    o.assert_success();
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    (o, text)
}

/// `run` of `b` (under `root`) under strace, logging CALLS into the bundle
/// directory (see [`strace_calls`]); None, with a note, when strace is missing.
pub fn strace_run(root: &StateRoot, b: &Bundle, calls: &str) -> Option<(Output, String)> {
    if !have_strace() {
        eprintln!("strace missing: skipped (.ci/setup installs it)");
        return None;
    }
    let log = b.path().join("strace.txt");
    let args = ["run", "--bundle", b.path().to_str().unwrap(), b.id()];
    Some(strace_calls(root, &log, calls, &args))
}

/// The JSON lines of a `--trace` file.
pub fn trace_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
        .collect()
}
