//! The machinery: bundles, running one case under each runtime, reading what the
//! observer and the hooks recorded, normalising, comparing.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::known;
use crate::common::*;

/// The oracle: Debian's runc (installed by .ci/setup).
pub const RUNC: &str = "/usr/sbin/runc";

/// The timeout of one runtime command.
const T: Duration = Duration::from_secs(20);

/// Where the observer lives in every rootfs, and where it writes its report.
pub const OBSERVE: &str = "/oracle/observe";
pub const REPORT: &str = "/oracle-out/report";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rt {
    Runc,
    Fastrun,
}

impl Rt {
    pub fn bin(self) -> &'static Path {
        match self {
            Rt::Runc => Path::new(RUNC),
            Rt::Fastrun => fastrun_bin(),
        }
    }
}

/// How a case drives the runtime.
pub enum Mode {
    /// `run --bundle B ID` in the foreground (stdin /dev/null, stdout/stderr files);
    /// with `process.terminal`, `run -d --console-socket S --bundle B ID`, wait
    /// until stopped, `delete`.
    Run,
    /// containerd's form: `create --bundle B --pid-file P ID`, `start ID`, wait until
    /// stopped, `delete ID`.
    CreateStart,
    /// The init runs `sleep`; then `exec FLAGS ID /oracle/observe REPORT` is what is
    /// observed (`{SOCK}` in FLAGS is a console socket), with its exit code.
    Exec(Vec<&'static str>),
    /// Runtime command lines in turn (`{ID}`, `{B}` and `{SOCK}` substituted;
    /// `@stopped` waits until the container has stopped, `@fresh DIR` makes an
    /// empty directory, `@cat FILE` observes a JSON file): each step's exit code and
    /// normalised stdout (JSON, or the `list` and `ps` tables) are observed.
    Steps(Vec<Vec<&'static str>>),
}

/// What a case's config mutation gets to know.
pub struct Ctx {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub out: PathBuf,
}

impl Ctx {
    pub fn hook(&self, name: &str) -> Value {
        json!({"path": self.bundle.join("hook.sh").to_str().unwrap(), "args": ["hook.sh", name]})
    }
}

type Mutation = Box<dyn Fn(&mut Value, &Ctx)>;

pub struct Case {
    pub name: &'static str,
    pub mode: Mode,
    /// A private writable rootfs, rebuilt before each runtime's run.
    pub fresh_rootfs: bool,
    /// The base config (default: `fastrun spec`), before the harness's edits.
    pub base: Option<Value>,
    pub config: Mutation,
}

impl Case {
    pub fn run(name: &'static str, f: impl Fn(&mut Value, &Ctx) + 'static) -> Case {
        Case {
            name,
            mode: Mode::Run,
            fresh_rootfs: false,
            base: None,
            config: Box::new(f),
        }
    }

    pub fn mode(mut self, m: Mode) -> Case {
        self.mode = m;
        self
    }

    pub fn fresh(mut self) -> Case {
        self.fresh_rootfs = true;
        self
    }

    pub fn base(mut self, v: Value) -> Case {
        self.base = Some(v);
        self
    }
}

/// The observations of one run: key → values (several for lists).
pub type Obs = BTreeMap<String, Vec<String>>;

static BIN: OnceLock<PathBuf> = OnceLock::new();
static ROOT: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_at_exit() {
    if let Some(p) = BIN.get().and_then(|b| b.parent()) {
        remove_tree(p);
    }
    if let Some(p) = ROOT.get() {
        remove_tree(p);
    }
}

/// Remove the observer and the shared rootfs when the test process exits.
fn register_cleanup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: registering a plain extern "C" fn without arguments; it only reads
    // OnceLocks.
    ONCE.call_once(|| unsafe {
        libc::atexit(remove_at_exit);
    });
}

/// The observer, built once per test process.
fn observer() -> &'static Path {
    register_cleanup();
    BIN.get_or_init(|| {
        let dir = TempDir::new("fastrun-oracle-bin-").keep();
        let bin = dir.join("observe");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/oracle/observe.c");
        let out = Command::new("cc")
            .args(["-static", "-O1", "-Wall", "-o"])
            .arg(&bin)
            .arg(&src)
            .output()
            .expect("cc (build-essential) builds the observer");
        assert!(out.status.success(), "cc observe.c: {out:?}");
        bin
    })
}

/// Fill `dir` with the test rootfs plus the observer at /oracle/observe.
fn build_oracle_rootfs(dir: &Path) {
    build_rootfs(dir).unwrap_or_else(|e| panic!("build rootfs {}: {e}", dir.display()));
    std::fs::create_dir_all(dir.join("oracle")).unwrap();
    // Every mount destination of the cases exists: runtimes create missing ones in
    // the rootfs, which the cases share.
    for d in ["oracle-out", "mnt", "run"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::write(dir.join("etc/hostname"), "rootfs\n").unwrap();
    std::fs::copy(observer(), dir.join("oracle/observe")).unwrap();
    std::fs::set_permissions(
        dir.join("oracle/observe"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

/// The shared read-only rootfs of the cases without `fresh_rootfs`.
fn shared_rootfs() -> &'static Path {
    register_cleanup();
    ROOT.get_or_init(|| {
        let dir = TempDir::new("fastrun-oracle-rootfs-").keep();
        build_oracle_rootfs(&dir);
        dir
    })
}

/// `fastrun spec`'s config.
pub fn default_spec(rootless: bool) -> Value {
    let dir = TempDir::new("fastrun-oracle-spec-");
    let mut c = Command::new(fastrun_bin());
    c.args(["spec", "--bundle"]).arg(dir.path());
    if rootless {
        c.arg("--rootless");
    }
    run_cmd(c, None, T).assert_success();
    serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap()
}

/// The config of `case` for this run: base, the harness's edits, the case's own.
fn config_for(case: &Case, ctx: &Ctx) -> Value {
    let mut v = case.base.clone().unwrap_or_else(|| default_spec(false));
    let readonly = match &case.base {
        Some(b) => b["root"]["readonly"] == json!(true),
        None => !case.fresh_rootfs,
    };
    v["root"] = json!({"path": ctx.rootfs.to_str().unwrap(), "readonly": readonly});
    v["process"]["terminal"] = false.into();
    v["process"]["args"] = json!([OBSERVE, REPORT]);
    let env = v["process"]["env"].as_array_mut();
    let marker = format!("{MARKER}={}", ctx.id);
    match env {
        Some(e) => e.push(marker.into()),
        None => v["process"]["env"] = json!([marker]),
    }
    if !v["mounts"].is_array() {
        v["mounts"] = json!([]);
    }
    v["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/oracle-out", "type": "bind",
        "source": ctx.out.to_str().unwrap(), "options": ["rbind", "rw"]
    }));
    v["linux"]["cgroupsPath"] = format!("/{}", ctx.id).into();
    (case.config)(&mut v, ctx);
    v
}

/// The environment every runtime command runs with (hooks inherit it).
fn runtime_command(rt: Rt, root: &Path, args: &[String]) -> Command {
    let mut c = Command::new(rt.bin());
    c.env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("ORACLE_CALLER", "1")
        .arg("--root")
        .arg(root)
        .args(args);
    c
}

/// A console socket: accepts one connection (until `deadline`) and keeps the pty
/// master it receives, draining it so the container never blocks on output.
struct ConsoleSocket {
    path: PathBuf,
    thread: Option<std::thread::JoinHandle<Option<OwnedFd>>>,
}

impl ConsoleSocket {
    fn new(path: PathBuf) -> ConsoleSocket {
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + T;
            let stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => return None,
                }
            };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let fd = recv_fd(stream.as_raw_fd())?;
            // Drain the master in the background until the pty closes.
            let drain = fd.try_clone().ok()?;
            std::thread::spawn(move || {
                use std::io::Read;
                let mut f = std::fs::File::from(drain);
                let mut buf = [0u8; 4096];
                while matches!(f.read(&mut buf), Ok(n) if n > 0) {}
            });
            Some(fd)
        });
        ConsoleSocket {
            path,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Option<OwnedFd> {
        self.thread.take().and_then(|t| t.join().ok()).flatten()
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Receive one fd (SCM_RIGHTS) on a connected unix socket.
fn recv_fd(sock: i32) -> Option<OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut name = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: name.as_mut_ptr().cast(),
        iov_len: name.len(),
    };
    let mut control = [0u64; 16];
    // SAFETY: plain data; the fields that matter are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: `msg` points to live buffers of the given sizes.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return None;
    }
    // SAFETY: walking the control messages the kernel filled in.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if !c.is_null() && (*c).cmsg_type == libc::SCM_RIGHTS {
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>());
            return Some(OwnedFd::from_raw_fd(fd));
        }
    }
    None
}

/// One case under one runtime.
struct Runner<'a> {
    rt: Rt,
    ctx: &'a Ctx,
    root: TempDir,
    n: usize,
}

impl Runner<'_> {
    fn cmd(&mut self, args: &[String], timeout: Duration) -> Output {
        self.n += 1;
        let c = runtime_command(self.rt, self.root.path(), args);
        run_cmd_to_files(
            c,
            self.ctx.bundle.as_path(),
            &format!("cmd{}", self.n),
            timeout,
        )
    }

    fn args(&self, a: &[&str], sock: &Path) -> Vec<String> {
        a.iter()
            .map(|s| {
                s.replace("{ID}", &self.ctx.id)
                    .replace("{B}", self.ctx.bundle.to_str().unwrap())
                    .replace("{SOCK}", sock.to_str().unwrap())
            })
            .collect()
    }

    fn status(&mut self) -> Option<String> {
        let a = vec!["state".to_string(), self.ctx.id.clone()];
        let c = runtime_command(self.rt, self.root.path(), &a);
        let o = run_cmd(c, None, T);
        let v: Value = serde_json::from_str(&o.stdout).ok()?;
        v["status"].as_str().map(String::from)
    }

    fn wait_stopped(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match self.status().as_deref() {
                Some("stopped") | None => return,
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// The report file says the observer finished (for detached processes).
    fn wait_report(&self, path: &Path) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::fs::read_to_string(path).is_ok_and(|s| s.contains("\ndone=1")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn cleanup(&mut self) {
        let id = self.ctx.id.clone();
        let _ = self.cmd(&["delete".into(), "--force".into(), id.clone()], T);
        for p in marked_processes(&id) {
            // SAFETY: kill(2) with a pid and a signal; no memory is involved.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        // A case's own cgroup parent (`/<id>-parent/<id>`): runtimes remove only
        // the leaf.
        if let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in ctrls.flatten() {
                let _ = std::fs::remove_dir(c.path().join(format!("{id}-parent")));
            }
        }
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Run `case` under `rt` and collect what was observed (normalised).
fn observe_once(case: &Case, rt: Rt, ctx: &Ctx) -> (Obs, String) {
    let _ = std::fs::remove_dir_all(&ctx.out);
    std::fs::create_dir_all(&ctx.out).unwrap();
    std::fs::set_permissions(&ctx.out, std::fs::Permissions::from_mode(0o777)).unwrap();
    if case.fresh_rootfs {
        remove_tree(&ctx.rootfs);
        build_oracle_rootfs(&ctx.rootfs);
    }
    let mut config = config_for(case, ctx);
    if let Mode::Exec(_) = case.mode {
        config["process"]["args"] = json!(["sleep", "30"]);
    }
    std::fs::write(
        ctx.bundle.join("config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    let terminal = config["process"]["terminal"] == json!(true);
    let id = ctx.id.clone();
    let bundle = ctx.bundle.to_str().unwrap().to_string();
    let mut r = Runner {
        rt,
        ctx,
        root: TempDir::new("fastrun-oracle-state-"),
        n: 0,
    };
    let mut obs = Obs::new();
    let mut log = String::new();
    let note = |o: &Output, log: &mut String| {
        log.push_str(&format!(
            "  {} -> {:?}{}\n    {}\n",
            o.command.replace(&bundle, "<B>"),
            o.status,
            if o.timed_out { " TIMED OUT" } else { "" },
            o.stderr.trim().replace('\n', "\n    ")
        ));
    };
    let sock = ctx.bundle.join("console.sock");
    let report = ctx.out.join("report");
    match &case.mode {
        Mode::Run => {
            let mut a = s(&["run", "--bundle", &bundle]);
            let cs = terminal.then(|| ConsoleSocket::new(sock.clone()));
            if terminal {
                a = s(&["run", "-d", "--console-socket", sock.to_str().unwrap()]);
                a.extend(s(&["--bundle", &bundle]));
            }
            a.push(id.clone());
            let o = r.cmd(&a, T);
            note(&o, &mut log);
            obs.insert("runtime.exit".into(), vec![format!("{:?}", o.status)]);
            if let Some(cs) = cs {
                r.wait_report(&report);
                r.wait_stopped();
                let o = r.cmd(&s(&["delete", &id]), T);
                note(&o, &mut log);
                drop(cs.finish());
            }
        }
        Mode::CreateStart => {
            let pid = ctx.bundle.join("init.pid");
            let cs = terminal.then(|| ConsoleSocket::new(sock.clone()));
            let mut a = s(&["create", "--bundle", &bundle, "--pid-file"]);
            a.push(pid.to_str().unwrap().into());
            if terminal {
                a.extend(s(&["--console-socket", sock.to_str().unwrap()]));
            }
            a.push(id.clone());
            let o = r.cmd(&a, T);
            note(&o, &mut log);
            obs.insert("create.exit".into(), vec![format!("{:?}", o.status)]);
            let o = r.cmd(&s(&["start", &id]), T);
            note(&o, &mut log);
            obs.insert("start.exit".into(), vec![format!("{:?}", o.status)]);
            r.wait_report(&report);
            r.wait_stopped();
            let o = r.cmd(&s(&["delete", &id]), T);
            note(&o, &mut log);
            obs.insert("delete.exit".into(), vec![format!("{:?}", o.status)]);
            if let Some(cs) = cs {
                drop(cs.finish());
            }
        }
        Mode::Exec(flags) => {
            let cs = terminal.then(|| ConsoleSocket::new(sock.clone()));
            let mut a = s(&["run", "-d", "--bundle", &bundle]);
            if terminal {
                a.extend(s(&["--console-socket", sock.to_str().unwrap()]));
            }
            a.push(id.clone());
            let o = r.cmd(&a, T);
            note(&o, &mut log);
            let sock2 = ctx.bundle.join("exec.sock");
            let tty = flags.iter().any(|f| f.contains("{SOCK}"));
            let cs2 = tty.then(|| ConsoleSocket::new(sock2.clone()));
            let mut a = s(&["exec"]);
            a.extend(r.args(flags, &sock2));
            a.push(id.clone());
            a.extend(s(&[OBSERVE, REPORT]));
            let o = r.cmd(&a, T);
            note(&o, &mut log);
            obs.insert("exec.exit".into(), vec![format!("{:?}", o.status)]);
            r.wait_report(&report);
            if let Some(cs) = cs2 {
                drop(cs.finish());
            }
            let o = r.cmd(&s(&["kill", &id, "KILL"]), T);
            note(&o, &mut log);
            r.wait_stopped();
            if let Some(cs) = cs {
                drop(cs.finish());
            }
        }
        Mode::Steps(steps) => {
            let cs = terminal.then(|| ConsoleSocket::new(sock.clone()));
            for (i, step) in steps.iter().enumerate() {
                if step[0] == "@stopped" {
                    r.wait_stopped();
                    continue;
                }
                if step[0] == "@fresh" {
                    let dir = r.args(&step[1..], &sock)[0].clone();
                    let _ = std::fs::remove_dir_all(&dir);
                    std::fs::create_dir_all(&dir).unwrap();
                    continue;
                }
                if step[0] == "@cat" {
                    let path = r.args(&step[1..], &sock)[0].clone();
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    for (k, v) in normalise_output(&text, ctx, rt) {
                        obs.entry(format!("step{i:02}.{}{k}", step.join(" ")))
                            .or_default()
                            .push(v);
                    }
                    continue;
                }
                let a = r.args(step, &sock);
                let o = r.cmd(&a, T);
                note(&o, &mut log);
                let key = format!("step{i:02}.{}", step.join(" "));
                obs.insert(format!("{key}.exit"), vec![format!("{:?}", o.status)]);
                let out = normalise_output(&o.stdout, ctx, rt);
                if !out.is_empty() {
                    for (k, v) in out {
                        obs.entry(format!("{key}.out{k}")).or_default().push(v);
                    }
                }
            }
            if let Some(cs) = cs {
                drop(cs.finish());
            }
        }
    }
    r.cleanup();
    read_report(&report, ctx, &mut obs);
    read_hooks(ctx, &mut obs);
    (obs, log)
}

/// Replace the paths and names that differ between runs by placeholders.
fn paths(s: &str, ctx: &Ctx) -> String {
    let mut s = s.replace(ctx.rootfs.to_str().unwrap(), "<ROOTFS>");
    s = s.replace(ctx.out.to_str().unwrap(), "<OUT>");
    s = s.replace(ctx.bundle.to_str().unwrap(), "<BUNDLE>");
    s.replace(&ctx.id, "<ID>")
}

/// The namespace identities of the test process (the host's, for this test).
fn host_ns(name: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_report(path: &Path, ctx: &Ctx, obs: &mut Obs) {
    let Ok(text) = std::fs::read_to_string(path) else {
        obs.insert("report".into(), vec!["missing".into()]);
        return;
    };
    if !text.contains("\ndone=1") {
        obs.insert("report".into(), vec!["incomplete".into()]);
    }
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = paths(v, ctx);
        let (key, val) = match k {
            "env" => {
                let name = v.split('=').next().unwrap_or("").to_string();
                (format!("env {name}"), v)
            }
            "mnt" => normalise_mount(&v),
            "dev" => match v.split_once(' ') {
                Some((p, rest)) => (format!("dev {p}"), rest.to_string()),
                None => ("dev".into(), v),
            },
            k if k.starts_with("ns.") => {
                let host = host_ns(&k[3..]);
                let rel = if v == host {
                    "host"
                } else if v.contains(":[") {
                    "new"
                } else {
                    &v
                };
                (k.to_string(), rel.to_string())
            }
            "sysctl.kernel.hostname" | "hostname" if v == host_hostname() => {
                (k.to_string(), "<HOST>".into())
            }
            _ => (k.to_string(), v),
        };
        obs.entry(key).or_default().push(val);
    }
}

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A mountinfo line → (`mnt MOUNTPOINT`, `fstype src=… root=… opts=… prop=… super=…`).
fn normalise_mount(line: &str) -> (String, String) {
    let (pre, post) = line.split_once(" - ").unwrap_or((line, ""));
    let f: Vec<&str> = pre.split(' ').collect();
    let g: Vec<&str> = post.split(' ').collect();
    if f.len() < 6 || g.len() < 3 {
        return ("mnt ?".into(), line.into());
    }
    let mut prop: Vec<&str> = f[6..]
        .iter()
        .map(|o| match o.split(':').next().unwrap() {
            "shared" => "shared",
            "master" => "slave",
            "propagate_from" => "from",
            "unbindable" => "unbindable",
            x => x,
        })
        .collect();
    if prop.is_empty() {
        prop.push("private");
    }
    // A bind mount's source is the device, the same for both runtimes; kernel
    // filesystems keep the name the config gave.
    (
        format!("mnt {}", f[4]),
        format!(
            "{} src={} root={} opts={} prop={} super={}",
            g[0],
            g[1],
            f[3],
            f[5],
            prop.join(","),
            g[2]
        ),
    )
}

fn read_hooks(ctx: &Ctx, obs: &mut Obs) {
    let Ok(entries) = std::fs::read_dir(&ctx.out) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("hook.") else {
            continue;
        };
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let text = paths(&text, ctx);
        if let Some(hook) = rest.strip_suffix(".env") {
            for l in text.lines() {
                let var = l.split('=').next().unwrap_or("");
                obs.entry(format!("hook.{hook}.env {var}"))
                    .or_default()
                    .push(l.to_string());
            }
        } else if let Some(hook) = rest.strip_suffix(".stdin") {
            for (k, v) in normalise_output(&text, ctx, Rt::Runc) {
                obs.entry(format!("hook.{hook}.state{k}"))
                    .or_default()
                    .push(v);
            }
        } else {
            obs.entry(format!("hook.{rest}"))
                .or_default()
                .push(text.trim().to_string());
        }
    }
}

/// A runtime's stdout: a JSON document flattened into `.path` keys (pids and
/// timestamps normalised), or the lines of the `list` and `ps` tables (numbers,
/// times and timestamps normalised).
fn normalise_output(stdout: &str, ctx: &Ctx, _rt: Rt) -> Vec<(String, String)> {
    let text = paths(stdout, ctx);
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        flatten("", &v, &mut out);
        return out;
    }
    for (i, l) in text.lines().enumerate() {
        let cols: Vec<String> = l
            .split_whitespace()
            .map(|c| {
                if c.chars().all(|ch| ch.is_ascii_digit()) {
                    // pids, and `ps`'s CPU column
                    "<N>".into()
                } else if c.len() == 5 && c.as_bytes()[2] == b':' {
                    // `ps`'s STIME
                    "<HH:MM>".into()
                } else if looks_like_timestamp(c) {
                    "<TS>".into()
                } else {
                    c.to_string()
                }
            })
            .collect();
        out.push((format!(".line{i}"), cols.join(" ")));
    }
    out
}

fn looks_like_timestamp(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T'
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Array(a) if a.is_empty() => out.push((prefix.to_string(), "[]".into())),
        Value::Object(m) if m.is_empty() => out.push((prefix.to_string(), "{}".into())),
        Value::Object(m) => {
            for (k, x) in m {
                flatten(&format!("{prefix}.{k}"), x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::Number(n) if prefix.ends_with(".pid") => {
            let v = if n.as_i64() == Some(0) { "0" } else { "<PID>" };
            out.push((prefix.to_string(), v.into()));
        }
        Value::String(s) if looks_like_timestamp(s) => {
            out.push((prefix.to_string(), "<TS>".into()));
        }
        x => out.push((prefix.to_string(), x.to_string())),
    }
}

/// One field that differs: the key, runc's values, fastrun's values.
pub struct Diff {
    pub key: String,
    pub runc: Vec<String>,
    pub fastrun: Vec<String>,
}

/// Keys whose values are compared in order (a stack of mounts on one point);
/// the others as sorted lists.
fn ordered(key: &str) -> bool {
    key.starts_with("mnt ")
}

/// Keys that exist without the observer's report (exit codes, steps, hooks).
fn outside_report(key: &str) -> bool {
    key == "report" || key.ends_with(".exit") || key.starts_with("step") || key.starts_with("hook.")
}

/// The differing fields. When only one runtime ran the observer, only the report's
/// absence, exit codes, steps and hooks are compared (not each missing field).
pub fn compare(a: &Obs, b: &Obs) -> Vec<Diff> {
    let one_sided = a.contains_key("report") != b.contains_key("report");
    let keys: std::collections::BTreeSet<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| !one_sided || outside_report(k))
        .collect();
    let mut diffs = Vec::new();
    for k in keys {
        let mut x = a.get(k).cloned().unwrap_or_default();
        let mut y = b.get(k).cloned().unwrap_or_default();
        if !ordered(k) {
            x.sort();
            y.sort();
        }
        if x != y {
            diffs.push(Diff {
                key: k.clone(),
                runc: x,
                fastrun: y,
            });
        }
    }
    diffs
}

/// The result of one case.
pub struct Outcome {
    pub case: &'static str,
    pub diffs: Vec<Diff>,
    pub logs: String,
}

/// Run `case` under runc, then fastrun, and compare.
pub fn run_case(case: &Case) -> Outcome {
    let id = unique_id(&format!("oracle-{}", case.name));
    let bundle = TempDir::new(&format!("fastrun-oracle-{}-", case.name));
    let rootfs = if case.fresh_rootfs {
        bundle.path().join("rootfs")
    } else {
        shared_rootfs().to_path_buf()
    };
    // Traversable by every uid, as the sources of bind mounts of real bundles are
    // (user-namespaced containers bind /oracle-out from here).
    std::fs::set_permissions(bundle.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ctx = Ctx {
        id,
        bundle: bundle.path().to_path_buf(),
        rootfs,
        out: bundle.path().join("out"),
    };
    write_hook_script(&ctx);
    let (runc, log_runc) = observe_once(case, Rt::Runc, &ctx);
    let (fast, log_fast) = observe_once(case, Rt::Fastrun, &ctx);
    Outcome {
        case: case.name,
        diffs: compare(&runc, &fast),
        logs: format!("runc:\n{log_runc}fastrun:\n{log_fast}"),
    }
}

fn write_hook_script(ctx: &Ctx) {
    let p = ctx.bundle.join("hook.sh");
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nd={}\ncat > \"$d/hook.$1.stdin\"\nenv > \"$d/hook.$1.env\"\npwd > \"$d/hook.$1.cwd\"\n",
            ctx.out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn show(v: &[String]) -> String {
    if v.is_empty() {
        "(absent)".into()
    } else {
        v.join(" | ")
    }
}

/// Run every case of a group; panic with a readable report when a difference is
/// not in the known table, or a known difference disappeared. With
/// `ORACLE_VERBOSE` set, every case's commands and differences are printed.
pub fn check_group(group: &str, cases: Vec<Case>) {
    assert!(
        Path::new(RUNC).exists(),
        "{RUNC} is missing: runc is the oracle of this test (.ci/setup installs it)"
    );
    let start = Instant::now();
    let mut failures = String::new();
    let mut summary = String::new();
    let mut seen_everywhere = vec![false; known::KNOWN.len()];
    for case in &cases {
        let o = run_case(case);
        let mut unexpected = Vec::new();
        let mut expected = 0;
        for d in &o.diffs {
            match known::lookup(o.case, &d.key) {
                Some(_) => expected += 1,
                None => unexpected.push(d),
            }
        }
        for d in &o.diffs {
            for (i, k) in known::KNOWN.iter().enumerate() {
                if k.case == "*" && k.matches(o.case, &d.key) {
                    seen_everywhere[i] = true;
                }
            }
        }
        let vanished: Vec<&known::Known> = known::KNOWN
            .iter()
            .filter(|k| k.case == o.case && !o.diffs.iter().any(|d| k.matches(o.case, &d.key)))
            .collect();
        summary.push_str(&format!(
            "  {:<32} {} differences ({} known)\n",
            o.case,
            o.diffs.len(),
            expected
        ));
        if std::env::var_os("ORACLE_VERBOSE").is_some() {
            eprintln!("=== {} ===\n{}", o.case, o.logs);
            for d in &o.diffs {
                eprintln!(
                    "  {}: runc {} / fastrun {}",
                    d.key,
                    show(&d.runc),
                    show(&d.fastrun)
                );
            }
        }
        if unexpected.is_empty() && vanished.is_empty() {
            continue;
        }
        failures.push_str(&format!("\n=== case {} ===\n", o.case));
        for d in unexpected {
            failures.push_str(&format!(
                "  DIFFERS {}\n    runc:    {}\n    fastrun: {}\n",
                d.key,
                show(&d.runc),
                show(&d.fastrun)
            ));
        }
        for k in vanished {
            failures.push_str(&format!(
                "  FIXED? known difference {:?} (issue {}) no longer shows: remove it from \
                 tests/cli/oracle/known.rs and docs/compatibility.md\n",
                k.key, k.item
            ));
        }
        failures.push_str(&format!("  commands:\n{}", o.logs));
    }
    // The entries for every case are checked against the group of `fastrun spec`
    // variations, which shows each of them.
    if group == "spec" {
        for (i, k) in known::KNOWN.iter().enumerate() {
            if k.case == "*" && !seen_everywhere[i] {
                failures.push_str(&format!(
                    "\n  FIXED? known difference {:?} of every case (issue {}) no longer shows: \
                     remove it from tests/cli/oracle/known.rs and docs/compatibility.md\n",
                    k.key, k.item
                ));
            }
        }
    }
    eprintln!(
        "oracle group {group}: {} cases in {:.1}s\n{summary}",
        cases.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "runc and fastrun differ:{failures}");
}
