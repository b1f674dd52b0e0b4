//! Container start latency: fastrun against runc and crun, per
//! docs/benchmarking.md.
//!
//! - One busybox bundle for every runtime: `runc spec` (or `fastrun spec`), args
//!   `/bin/true`, `terminal: false`, `ociVersion` 1.0.2, no `linux.resources`.
//! - Everything runs in one private mount namespace with a pure cgroup2 mount on
//!   /sys/fs/cgroup (crun 1.8.1 refuses this machine's hybrid layout): the bench
//!   re-executes itself under `unshare -m --propagation private` for that. The
//!   runtimes' state roots are on a tmpfs there, as `/run` is on a usual host
//!   (`FASTRUN_BENCH_STATE=disk` keeps them on the temp dir's filesystem).
//! - Measures, interleaved round by round (the order of the runtimes rotates):
//!   1. `run` start-to-exit, and two floors: `unshare -m -p -i -u -n -C --fork chroot
//!      ROOTFS /bin/true` (three dynamically linked execs), and the static clone3
//!      floor (`benches/clone3_floor.c`, built here with `cc -O2 -static`: one
//!      clone3 into new mount, pid, ipc, uts, net and cgroup namespaces, chroot,
//!      exec /bin/true, wait);
//!   2. create + start + wait + delete (the init is reparented, so the wait polls a
//!      pidfd of the pid from `--pid-file`);
//!   3. both again for fastrun through the library in-process
//!      (`fastrun_runtime::Context`, what libfastrun calls; no fork+exec of a CLI);
//!   4. `exec` of /bin/true into a running container (`sleep`);
//!   5. N concurrent `run`s (N = 1, 8, 32, 128): total time and per-container cost;
//!   6. fastrun's in-process `run` from a host process with a 2 GiB touched heap
//!      (4 KiB pages, the vfork-style spawn that `SpawnMode::Auto` picks there)
//!      against a small host, and the same big host forced to the fork-like clone;
//!   7. peak RSS of `run` (`/usr/bin/time -v`, median of 15) and binary sizes;
//!   8. the host's own layout (cgroup v1 hybrid here, where crun 1.8.1 refuses to
//!      run): fastrun (and the `FASTRUN_BENCH_EXTRA` binaries) against runc, `run`
//!      and the lifecycle, interleaved with fastrun in the pure-v2 namespace, for
//!      the ratio. These commands enter the host's mount namespace (an fd of it is
//!      kept across the re-exec) and keep their state on /dev/shm (a tmpfs); the
//!      bundle names its cgroup (`/fastrun/bench-<pid>`, as runc would otherwise
//!      nest it under the caller's cgroup).
//!
//! Run (as root): `cargo bench --bench start`, or `benches/README-table.sh`, which
//! builds the static binary (`cargo build-static`), measures it and rewrites the
//! README's table. Environment:
//! - `FASTRUN_BENCH_ITERS`: rounds for 1-4 (default 200, after 20 warm-up rounds);
//! - `FASTRUN_BENCH_BIN`: the fastrun binary to measure (default
//!   `target/release/fastrun`, which `cargo bench` builds: dynamic glibc);
//! - `FASTRUN_BENCH_EXTRA`: more binaries to measure side by side in 1-2 and 7,
//!   `name=path,name=path` (e.g. a dynamic build against the static one);
//! - `FASTRUN_BENCH_SKIP`: sections to skip, comma-separated: `exec`, `conc`, `heap`,
//!   `hybrid`, `rss` (RSS and sizes);
//! - `FASTRUN_BENCH_HEAP_MB`: the big host's heap (default 2048).
//!
//! `-- --markdown` prints the README table at the end; `-- --criterion` also runs
//! criterion's own (not interleaved) measurement of `run`.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use fastrun_runtime::{Context, CreateOptions};
use serde_json::{json, Value};

const IN_NS: &str = "FASTRUN_BENCH_IN_NS";
/// The fd (kept across the re-exec) of the host's mount namespace.
const HOST_MNT_NS: &str = "FASTRUN_BENCH_HOST_MNT_NS";
const CONC: [usize; 4] = [1, 8, 32, 128];

fn main() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("bench start: needs root (namespaces, mounts, cgroups); skipped");
        return;
    }
    if std::env::var_os(IN_NS).is_none() {
        reexec_in_private_namespace();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--heap-host") {
        heap_host(&args[1..]);
        return;
    }
    let iters: usize = env_num("FASTRUN_BENCH_ITERS", 200);
    let skip = std::env::var("FASTRUN_BENCH_SKIP").unwrap_or_default();
    let skip: Vec<&str> = skip.split(',').map(str::trim).collect();
    let markdown = args.iter().any(|a| a == "--markdown");

    let fastrun = match std::env::var_os("FASTRUN_BENCH_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_fastrun")),
    };
    let work = TempDir::new();
    let bundle = work.0.join("bundle");
    let rootfs = bundle.join("rootfs");
    build_bundle(&bundle, &fastrun);
    let clone3_floor = build_clone3_floor(&work.0);
    let sleep_bundle = work.0.join("bundle-sleep");
    build_sleep_bundle(&bundle, &sleep_bundle);
    let state = work.0.join("run");
    std::fs::create_dir_all(&state).unwrap();
    let state_on_tmpfs = std::env::var("FASTRUN_BENCH_STATE").as_deref() != Ok("disk");
    if state_on_tmpfs {
        mount_tmpfs(&state);
    }

    let mut runtimes = vec![Runtime::new("fastrun", fastrun.clone(), &state)];
    for extra in std::env::var("FASTRUN_BENCH_EXTRA")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
    {
        let (name, path) = extra
            .split_once('=')
            .expect("FASTRUN_BENCH_EXTRA: name=path,...");
        runtimes.push(Runtime::new(name, PathBuf::from(path), &state));
    }
    for name in ["crun", "runc"] {
        match which(name) {
            Some(p) => runtimes.push(Runtime::new(name, p, &state)),
            None => println!("{name}: not installed, not measured"),
        }
    }
    for rt in &runtimes {
        if let Err(e) = rt.run_once(&bundle, "probe") {
            panic!("{} cannot run the bundle: {e}", rt.name);
        }
    }
    let lib = InProcess::new(&state);
    lib.run_once(&bundle, "probe-lib").expect("in-process run");

    print_setup(&runtimes, iters, state_on_tmpfs);
    let mut table = Table::default();

    // 1-3: run, lifecycle, in-process, floor: interleaved.
    let k = runtimes.len();
    let mut run_t: Vec<Vec<f64>> = vec![Vec::new(); k + 1];
    let mut life_t: Vec<Vec<f64>> = vec![Vec::new(); k + 1];
    let mut floor_t = Vec::new();
    let mut floor2_t = Vec::new();
    let warmup = 20;
    let mut n = 0u64;
    for round in 0..warmup + iters {
        for j in 0..=k {
            let i = (round + j) % (k + 1);
            n += 1;
            let (t, t2) = if i == k {
                (
                    lib.run_once(&bundle, &format!("b{n}")).expect("lib run"),
                    lib.lifecycle_once(&bundle, &format!("l{n}"))
                        .expect("lib lifecycle"),
                )
            } else {
                let rt = &runtimes[i];
                (
                    rt.run_once(&bundle, &format!("b{n}")).expect("run"),
                    rt.lifecycle_once(&bundle, &format!("l{n}"))
                        .expect("lifecycle"),
                )
            };
            if round >= warmup {
                run_t[i].push(t);
                life_t[i].push(t2);
            }
        }
        let t = floor_once(&rootfs);
        if round >= warmup {
            floor_t.push(t);
        }
        if let Some(f) = &clone3_floor {
            let t = clone3_floor_once(f, &rootfs);
            if round >= warmup {
                floor2_t.push(t);
            }
        }
    }
    let mut names: Vec<String> = runtimes.iter().map(|r| r.name.clone()).collect();
    names.push("fastrun (in-process)".into());

    println!("\n## `run` of /bin/true, start to exit ({iters} interleaved rounds)\n");
    let mut floors: Vec<(&str, &[f64])> = vec![("unshare floor", &floor_t)];
    if !floor2_t.is_empty() {
        floors.push(("clone3 floor", &floor2_t));
    }
    table.run = stats_table(&names, &run_t, &floors);
    println!("\n## create + start + wait + delete ({iters} interleaved rounds)\n");
    table.life = stats_table(&names, &life_t, &[]);

    // 8 (early, while the machine is as it was for 1-3): the host's own layout.
    if !skip.contains(&"hybrid") {
        match host_runtimes(&runtimes, &bundle, &work.0) {
            Some((host, hb)) => {
                let hi = env_num("FASTRUN_BENCH_HYBRID_ITERS", iters);
                let (r, l) = hybrid_bench(&host, &hb, &runtimes[0], &bundle, hi);
                table.hybrid_run = r;
                table.hybrid_life = l;
                table.hybrid_iters = hi;
            }
            None => println!("\n(no host mount namespace fd: the host-layout section is skipped)"),
        }
    }

    // 4: exec.
    if !skip.contains(&"exec") {
        println!("\n## exec of /bin/true into a running container ({iters} interleaved rounds)\n");
        table.exec = exec_bench(&runtimes, &sleep_bundle, iters);
    }

    // 5: concurrency.
    if !skip.contains(&"conc") {
        let rounds = env_num("FASTRUN_BENCH_CONC_ROUNDS", 5);
        println!(
            "\n## N concurrent `run`s: total wall time and per container (median of {rounds} interleaved rounds)\n"
        );
        table.conc = conc_bench(&runtimes, &bundle, rounds);
    }

    // 6: big host.
    if !skip.contains(&"heap") {
        let mb = env_num("FASTRUN_BENCH_HEAP_MB", 2048);
        println!(
            "\n## in-process `run` from a host with a {mb} MiB touched heap vs a small host\n"
        );
        table.heap = heap_bench(&bundle, &state, mb);
    }

    // 7: RSS and sizes.
    if skip.contains(&"rss") {
        if markdown {
            table.print_markdown(&runtimes, iters);
        }
        return;
    }
    println!("\n## peak RSS of `run` (/usr/bin/time -v, median of 15)\n");
    println!("| runtime | peak RSS |\n|---|---|");
    for rt in &runtimes {
        match rt.peak_rss_kb(&bundle, 15) {
            Some(kb) => {
                println!("| {} | {:.1} MB |", rt.name, kb as f64 / 1000.0);
                table.rss.push((rt.name.clone(), kb));
            }
            None => println!("| {} | (no /usr/bin/time) |", rt.name),
        }
    }
    if let Some(kb) = floor_rss_kb(&rootfs) {
        println!("| unshare floor | {:.1} MB |", kb as f64 / 1000.0);
        table.floor_rss = Some(kb);
    }

    println!("\n## binary size\n");
    println!("| runtime | size | note |\n|---|---|---|");
    for rt in &runtimes {
        let linked = linkage(&rt.bin);
        let (size, note) = if rt.name.starts_with("fastrun") {
            (
                stripped_size(&rt.bin, &work.0),
                format!("stripped copy, {linked}"),
            )
        } else {
            (
                std::fs::metadata(&rt.bin).map(|m| m.len()).ok(),
                format!("as installed, {linked}"),
            )
        };
        match size {
            Some(s) => {
                println!(
                    "| {} | {:.2} MB | {note} ({}) |",
                    rt.name,
                    s as f64 / 1e6,
                    rt.bin.display()
                );
                table.size.push((rt.name.clone(), s, note));
            }
            None => println!("| {} | ? | |", rt.name),
        }
    }

    if markdown {
        table.print_markdown(&runtimes, iters);
    }

    if args.iter().any(|a| a == "--criterion") {
        let mut c = Criterion::default()
            .sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        let mut g = c.benchmark_group("run /bin/true");
        for rt in &runtimes {
            let mut m = 0u64;
            g.bench_function(&rt.name, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        m += 1;
                        let t = rt.run_once(&bundle, &format!("c{m}")).expect("run");
                        total += Duration::from_secs_f64(t / 1e3);
                    }
                    total
                })
            });
        }
        g.finish();
        c.final_summary();
    }
    if state_on_tmpfs {
        let c = std::ffi::CString::new(state.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path we mounted; detach is enough.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Re-execute this bench in a private mount namespace where /sys/fs/cgroup is a
/// pure cgroup2 mount.
fn reexec_in_private_namespace() -> ! {
    let exe = std::env::current_exe().expect("current_exe");
    // The host's mount namespace, for section 8: an fd the re-exec inherits.
    // SAFETY: a NUL-terminated path; the fd is ours and deliberately inheritable.
    let host_ns = unsafe { libc::open(c"/proc/self/ns/mnt".as_ptr(), libc::O_RDONLY) };
    let script =
        "umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$0\" \"$@\"";
    let err = Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "sh", "-c", script])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(IN_NS, "1")
        .env(HOST_MNT_NS, host_ns.to_string())
        .exec();
    panic!("exec unshare: {err}");
}

fn mount_tmpfs(dir: &Path) {
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "mode=0700", "bench-run"])
        .arg(dir)
        .status()
        .expect("mount");
    assert!(st.success(), "mount tmpfs on {}", dir.display());
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("fastrun-bench-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // The state tmpfs (`run`) is still mounted here (this process's private mount
        // namespace ends only with it): detach it first, else its mount point stays.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.0.join("run"))
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A busybox rootfs and the shared config.
fn build_bundle(dir: &Path, fastrun: &Path) {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
        .expect("/bin/busybox (busybox-static)");
    for a in ["true", "sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    // The reference config is runc's own when runc is there.
    let spec_from = which("runc").unwrap_or_else(|| fastrun.to_path_buf());
    let st = Command::new(&spec_from)
        .arg("spec")
        .current_dir(dir)
        .status()
        .expect("spec");
    assert!(st.success(), "{} spec failed", spec_from.display());
    let path = dir.join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["ociVersion"] = json!("1.0.2");
    v["process"]["terminal"] = json!(false);
    v["process"]["args"] = json!(["/bin/true"]);
    v["root"] = json!({"path": "rootfs", "readonly": true});
    if let Some(l) = v["linux"].as_object_mut() {
        l.remove("resources");
    }
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// The same config running `sleep` (the container `exec` goes into), sharing the rootfs.
fn build_sleep_bundle(from: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(from.join("config.json")).unwrap()).unwrap();
    v["process"]["args"] = json!(["/bin/sleep", "100000"]);
    v["root"]["path"] = json!(from.join("rootfs"));
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
}

struct Runtime {
    name: String,
    bin: PathBuf,
    root: PathBuf,
    /// Run in this mount namespace (an fd of the host's, section 8).
    mnt_ns: Option<i32>,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Poll a pidfd until the process has exited (bounded: a stuck container).
fn wait_pidfd(pidfd: i32) {
    let mut pfd = libc::pollfd {
        fd: pidfd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; the timeout bounds a stuck container.
    unsafe { libc::poll(&mut pfd, 1, 10_000) };
}

fn pidfd_open(pid: i32) -> i32 {
    // SAFETY: pidfd_open takes a pid and flags; the result is an fd we own.
    unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32 }
}

fn close(fd: i32) {
    if fd >= 0 {
        // SAFETY: our own fd.
        unsafe { libc::close(fd) };
    }
}

impl Runtime {
    fn new(name: &str, bin: PathBuf, state: &Path) -> Runtime {
        let root = state.join(format!("root-{name}"));
        std::fs::create_dir_all(&root).unwrap();
        Runtime {
            name: name.into(),
            bin,
            root,
            mnt_ns: None,
        }
    }

    fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(fd) = self.mnt_ns {
            // SAFETY: between fork and exec only setns, which is async-signal-safe.
            unsafe {
                c.pre_exec(move || {
                    if libc::setns(fd, libc::CLONE_NEWNS) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        c
    }

    fn run_cmd(&self, bundle: &Path, id: &str) -> Command {
        let mut c = self.cmd([OsStr::new("run"), OsStr::new("--bundle")]);
        c.arg(bundle).arg(id);
        c
    }

    /// `run --bundle B ID`, start to exit, in ms.
    fn run_once(&self, bundle: &Path, id: &str) -> Result<f64, String> {
        let mut c = self.run_cmd(bundle, id);
        let t = Instant::now();
        let st = c.status().map_err(|e| e.to_string())?;
        let el = ms(t);
        if !st.success() {
            let _ = self.cmd(["delete", "--force", id]).status();
            return Err(format!("{} run: {st}", self.name));
        }
        Ok(el)
    }

    /// create (with a pid file) and start; returns the init's pidfd.
    fn create_start(&self, bundle: &Path, id: &str) -> Result<i32, String> {
        let pid_file = self.root.join(format!("{id}.pid"));
        let mut c = self.cmd([OsStr::new("create"), OsStr::new("--bundle")]);
        c.arg(bundle).arg("--pid-file").arg(&pid_file).arg(id);
        let st = c.status().map_err(|e| e.to_string())?;
        if !st.success() {
            return Err(format!("{} create: {st}", self.name));
        }
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .map_err(|e| e.to_string())?
            .trim()
            .parse()
            .map_err(|e| format!("pid file: {e}"))?;
        let _ = std::fs::remove_file(&pid_file);
        let pidfd = pidfd_open(pid);
        let st = self
            .cmd(["start", id])
            .status()
            .map_err(|e| e.to_string())?;
        if !st.success() {
            close(pidfd);
            return Err(format!("{} start: {st}", self.name));
        }
        Ok(pidfd)
    }

    /// create, start, wait for the init (pidfd), delete: in ms.
    fn lifecycle_once(&self, bundle: &Path, id: &str) -> Result<f64, String> {
        let t = Instant::now();
        let pidfd = self.create_start(bundle, id)?;
        wait_pidfd(pidfd);
        close(pidfd);
        let st = self
            .cmd(["delete", id])
            .status()
            .map_err(|e| e.to_string())?;
        let el = ms(t);
        if !st.success() {
            let _ = self.cmd(["delete", "--force", id]).status();
            return Err(format!("{} delete: {st}", self.name));
        }
        Ok(el)
    }

    /// `exec ID /bin/true`, in ms.
    fn exec_once(&self, id: &str) -> Result<f64, String> {
        let mut c = self.cmd(["exec", id, "/bin/true"]);
        let t = Instant::now();
        let st = c.status().map_err(|e| e.to_string())?;
        let el = ms(t);
        if !st.success() {
            return Err(format!("{} exec: {st}", self.name));
        }
        Ok(el)
    }

    /// Median peak RSS (kB) of `run` over `n` runs.
    fn peak_rss_kb(&self, bundle: &Path, n: usize) -> Option<u64> {
        let mut v = Vec::new();
        for i in 0..n {
            let out = Command::new("/usr/bin/time")
                .arg("-v")
                .arg(&self.bin)
                .arg("--root")
                .arg(&self.root)
                .args(["run", "--bundle"])
                .arg(bundle)
                .arg(format!("rss{i}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .output()
                .ok()?;
            v.push(parse_max_rss(&String::from_utf8_lossy(&out.stderr))?);
        }
        v.sort();
        Some(v[v.len() / 2])
    }
}

/// Section 8's runtimes: fastrun (and the extras) and runc in the host's mount
/// namespace, state on /dev/shm, and a bundle that names its cgroup.
fn host_runtimes(
    runtimes: &[Runtime],
    bundle: &Path,
    work: &Path,
) -> Option<(Vec<Runtime>, PathBuf)> {
    let fd: i32 = std::env::var(HOST_MNT_NS).ok()?.parse().ok()?;
    // SAFETY: F_GETFD only reads the fd's flags.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    let state = PathBuf::from(format!("/dev/shm/fastrun-bench-{}", std::process::id()));
    let mut host = Vec::new();
    for rt in runtimes.iter().filter(|r| r.name != "crun") {
        let mut h = Runtime::new(&rt.name, rt.bin.clone(), &state);
        h.mnt_ns = Some(fd);
        host.push(h);
    }
    let hb = work.join("bundle-host");
    std::fs::create_dir_all(&hb).unwrap();
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    v["root"]["path"] = json!(bundle.join("rootfs"));
    v["linux"]["cgroupsPath"] = json!(format!("/fastrun/bench-{}", std::process::id()));
    std::fs::write(
        hb.join("config.json"),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
    for rt in &host {
        if let Err(e) = rt.run_once(&hb, "probe-host") {
            panic!(
                "{} cannot run the bundle on the host's layout: {e}",
                rt.name
            );
        }
    }
    Some((host, hb))
}

/// Named statistics, one row per runtime.
type Rows = Vec<(String, Stats)>;

/// Section 8: `run` and the lifecycle on the host's layout, interleaved with
/// fastrun's in the pure-v2 namespace ("fastrun (pure v2)").
fn hybrid_bench(
    host: &[Runtime],
    host_bundle: &Path,
    v2: &Runtime,
    v2_bundle: &Path,
    iters: usize,
) -> (Rows, Rows) {
    let k = host.len() + 1;
    let mut run_t: Vec<Vec<f64>> = vec![Vec::new(); k];
    let mut life_t: Vec<Vec<f64>> = vec![Vec::new(); k];
    let warmup = 10;
    let mut n = 0u64;
    for round in 0..warmup + iters {
        for j in 0..k {
            let i = (round + j) % k;
            n += 1;
            let (rt, b) = match host.get(i) {
                Some(rt) => (rt, host_bundle),
                None => (v2, v2_bundle),
            };
            let t = rt.run_once(b, &format!("h{n}")).expect("run");
            let t2 = rt.lifecycle_once(b, &format!("hl{n}")).expect("lifecycle");
            if round >= warmup {
                run_t[i].push(t);
                life_t[i].push(t2);
            }
        }
    }
    let mut names: Vec<String> = host.iter().map(|r| r.name.clone()).collect();
    names.push("fastrun (pure v2)".into());
    println!("\n## the host's own layout (cgroup v1 hybrid): `run` of /bin/true ({iters} interleaved rounds)\n");
    let r = stats_table(&names, &run_t, &[]);
    println!(
        "\n## the host's own layout: create + start + wait + delete ({iters} interleaved rounds)\n"
    );
    let l = stats_table(&names, &life_t, &[]);
    if let Some(dir) = host.first().and_then(|h| h.root.parent()) {
        let _ = std::fs::remove_dir_all(dir);
    }
    (r, l)
}

/// A running `sleep` container per runtime, force-deleted on drop.
struct Sleeper<'a> {
    rt: &'a Runtime,
    id: String,
}

impl Drop for Sleeper<'_> {
    fn drop(&mut self) {
        let _ = self.rt.cmd(["delete", "--force", &self.id]).status();
    }
}

fn exec_bench(runtimes: &[Runtime], sleep_bundle: &Path, iters: usize) -> Vec<(String, Stats)> {
    let mut sleepers = Vec::new();
    for rt in runtimes {
        let id = format!("sleeper-{}", rt.name);
        let pidfd = rt.create_start(sleep_bundle, &id).expect("sleep container");
        close(pidfd);
        sleepers.push(Sleeper { rt, id });
    }
    let k = runtimes.len();
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); k];
    for round in 0..iters + 10 {
        for j in 0..k {
            let i = (round + j) % k;
            let el = sleepers[i].rt.exec_once(&sleepers[i].id).expect("exec");
            if round >= 10 {
                t[i].push(el);
            }
        }
    }
    let names: Vec<String> = runtimes.iter().map(|r| r.name.clone()).collect();
    stats_table(&names, &t, &[])
}

/// Per runtime and N: (total ms, per-container ms), medians over rounds.
type ConcRow = (String, Vec<(usize, f64, f64)>);

fn conc_bench(runtimes: &[Runtime], bundle: &Path, rounds: usize) -> Vec<ConcRow> {
    let k = runtimes.len();
    // totals[i][n] = totals over rounds
    let mut totals: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); CONC.len()]; k];
    let mut m = 0u64;
    for round in 0..rounds + 1 {
        for (ni, &n) in CONC.iter().enumerate() {
            for j in 0..k {
                let i = (round + j) % k;
                let rt = &runtimes[i];
                let t = Instant::now();
                let children: Vec<(String, Child)> = (0..n)
                    .map(|_| {
                        m += 1;
                        let id = format!("n{m}");
                        let child = rt.run_cmd(bundle, &id).spawn().expect("spawn run");
                        (id, child)
                    })
                    .collect();
                for (id, mut c) in children {
                    let st = c.wait().expect("wait");
                    if !st.success() {
                        let _ = rt.cmd(["delete", "--force", &id]).status();
                        panic!("{} run (concurrent, N={n}): {st}", rt.name);
                    }
                }
                // Round 0 warms up.
                if round > 0 {
                    totals[i][ni].push(ms(t));
                }
            }
        }
    }
    print!("| runtime |");
    for n in CONC {
        print!(" N={n} total | per container |");
    }
    println!();
    println!("|---|{}", "---|---|".repeat(CONC.len()));
    let mut out = Vec::new();
    for (i, rt) in runtimes.iter().enumerate() {
        let mut row = Vec::new();
        print!("| {} |", rt.name);
        for (ni, &n) in CONC.iter().enumerate() {
            let total = stats(&totals[i][ni]).median;
            print!(" {total:.1} ms | {:.2} ms |", total / n as f64);
            row.push((n, total, total / n as f64));
        }
        println!();
        out.push((rt.name.clone(), row));
    }
    println!();
    for (name, row) in &out {
        let first = row[0].2;
        let last = row[row.len() - 1].2;
        println!(
            "{name}: per-container cost at N={} / at N=1: {:.2}",
            CONC[CONC.len() - 1],
            last / first
        );
    }
    out
}

/// fastrun through the engine library, in this process.
struct InProcess {
    ctx: Context,
}

impl InProcess {
    fn new(state: &Path) -> InProcess {
        let root = state.join("root-lib");
        std::fs::create_dir_all(&root).unwrap();
        InProcess {
            ctx: Context::new(root),
        }
    }

    fn opts(bundle: &Path) -> CreateOptions {
        CreateOptions {
            bundle: bundle.to_path_buf(),
            ..Default::default()
        }
    }

    fn run_once(&self, bundle: &Path, id: &str) -> Result<f64, String> {
        let t = Instant::now();
        let code = self
            .ctx
            .run(id, &Self::opts(bundle), false)
            .map_err(|e| e.to_string())?;
        let el = ms(t);
        if code != 0 {
            return Err(format!("in-process run: exit {code}"));
        }
        Ok(el)
    }

    fn lifecycle_once(&self, bundle: &Path, id: &str) -> Result<f64, String> {
        let t = Instant::now();
        let pid = self
            .ctx
            .create(id, &Self::opts(bundle))
            .map_err(|e| e.to_string())?;
        let pidfd = pidfd_open(pid);
        self.ctx.start(id).map_err(|e| e.to_string())?;
        wait_pidfd(pidfd);
        let r = self.ctx.delete(id, false).map_err(|e| e.to_string());
        let el = ms(t);
        // The init is our child here: reap it (after the measurement, as a
        // host's SIGCHLD handler would).
        // SAFETY: siginfo_t is plain data; all-zero is valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on our own child's pidfd; `info` is a valid out-pointer.
        unsafe { libc::waitid(libc::P_PIDFD, pidfd as libc::id_t, &mut info, libc::WEXITED) };
        close(pidfd);
        r.map(|()| el)
    }
}

/// The big-host helper: `--heap-host MB ITERS BUNDLE STATE MODE` allocates and
/// touches MB MiB (4 KiB pages), then prints one in-process `run` time (ms) per
/// line, spawning with MODE (`auto`, `fork`, `vm`).
fn heap_host(args: &[String]) {
    let mb: usize = args[0].parse().unwrap();
    let iters: usize = args[1].parse().unwrap();
    let bundle = PathBuf::from(&args[2]);
    let state = PathBuf::from(&args[3]);
    let mode: fastrun_runtime::SpawnMode = args[4].parse().unwrap();
    let mut heap: Vec<u8> = Vec::new();
    if mb > 0 {
        heap = Vec::with_capacity(mb << 20);
        // SAFETY: advice on our own allocation: 4 KiB pages, the common case of a
        // host's heap (THP is "madvise" here) and the one fork-like clones pay most for.
        unsafe {
            libc::madvise(
                heap.as_mut_ptr().cast(),
                heap.capacity(),
                libc::MADV_NOHUGEPAGE,
            )
        };
        heap.resize(mb << 20, 1);
    }
    let mut lib = InProcess::new(&state);
    lib.ctx.spawn = mode;
    let pid = std::process::id();
    for i in 0..iters {
        let t = lib
            .run_once(&bundle, &format!("h{pid}-{i}"))
            .expect("in-process run");
        println!("{t}");
    }
    std::hint::black_box(&heap);
}

fn heap_bench(bundle: &Path, state: &Path, mb: usize) -> Option<(Stats, Stats, Stats, usize)> {
    let exe = std::env::current_exe().ok()?;
    let rounds = 4;
    let per = 25;
    let mut small = Vec::new();
    let mut big = Vec::new();
    let mut big_fork = Vec::new();
    for _ in 0..rounds {
        for (heap, mode, out) in [
            (0, "auto", &mut small),
            (mb, "auto", &mut big),
            (mb, "fork", &mut big_fork),
        ] {
            let o = Command::new(&exe)
                .arg("--heap-host")
                .arg(heap.to_string())
                .arg(per.to_string())
                .arg(bundle)
                .arg(state)
                .arg(mode)
                .stderr(Stdio::inherit())
                .output()
                .ok()?;
            if !o.status.success() {
                println!("heap host ({heap} MiB) failed: {}", o.status);
                return None;
            }
            let v: Vec<f64> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.parse().ok())
                .collect();
            // The first run of each host warms it up.
            if v.len() > 1 {
                out.extend_from_slice(&v[1..]);
            }
        }
    }
    let (s, b, f) = (stats(&small), stats(&big), stats(&big_fork));
    println!("| host (spawn) | mean | median | min | stddev |\n|---|---|---|---|---|");
    for (name, st) in [
        ("small host (auto: fork-like)".to_string(), &s),
        (format!("{mb} MiB heap (auto: shared memory)"), &b),
        (format!("{mb} MiB heap (forced fork-like)"), &f),
    ] {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            st.mean, st.median, st.min, st.stddev
        );
    }
    println!(
        "\nbig/small: median {:.2}, min {:.2}; forced fork-like big/small: median {:.2}",
        b.median / s.median,
        b.min / s.min,
        f.median / s.median
    );
    Some((s, b, f, mb))
}

fn parse_max_rss(time_v: &str) -> Option<u64> {
    time_v.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Maximum resident set size (kbytes):")
            .and_then(|r| r.trim().parse().ok())
    })
}

fn floor_cmd(rootfs: &Path) -> Command {
    let mut c = Command::new("unshare");
    c.args(["-m", "-p", "-i", "-u", "-n", "-C", "--fork", "chroot"])
        .arg(rootfs)
        .arg("/bin/true")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    c
}

fn floor_once(rootfs: &Path) -> f64 {
    let t = Instant::now();
    let st = floor_cmd(rootfs).status().expect("unshare");
    assert!(st.success(), "unshare floor: {st}");
    ms(t)
}

/// Build benches/clone3_floor.c (static; dynamic if there is no static libc).
fn build_clone3_floor(work: &Path) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/clone3_floor.c");
    let out = work.join("clone3-floor");
    for flags in [&["-O2", "-static"][..], &["-O2"][..]] {
        let ok = Command::new("cc")
            .args(flags)
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(out);
        }
    }
    println!(
        "clone3 floor: cannot build {} (no cc?), not measured",
        src.display()
    );
    None
}

fn clone3_floor_once(floor: &Path, rootfs: &Path) -> f64 {
    let t = Instant::now();
    let st = Command::new(floor)
        .arg(rootfs)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("clone3 floor");
    assert!(st.success(), "clone3 floor: {st}");
    ms(t)
}

fn floor_rss_kb(rootfs: &Path) -> Option<u64> {
    let mut v = Vec::new();
    for _ in 0..15 {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-v")
            .arg("unshare")
            .args(["-m", "-p", "-i", "-u", "-n", "-C", "--fork", "chroot"])
            .arg(rootfs)
            .arg("/bin/true");
        let out = c.stdin(Stdio::null()).output().ok()?;
        v.push(parse_max_rss(&String::from_utf8_lossy(&out.stderr))?);
    }
    v.sort();
    Some(v[v.len() / 2])
}

fn stripped_size(bin: &Path, work: &Path) -> Option<u64> {
    let out = work.join("fastrun.stripped");
    let st = Command::new("strip")
        .arg("-o")
        .arg(&out)
        .arg(bin)
        .status()
        .ok()?;
    if !st.success() {
        return None;
    }
    std::fs::metadata(&out).map(|m| m.len()).ok()
}

/// "static" or "dynamic", from the ELF program headers (a PT_INTERP means a loader).
fn linkage(bin: &Path) -> &'static str {
    let Ok(b) = std::fs::read(bin) else {
        return "?";
    };
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 {
        return "?";
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    let interp = (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        o + 4 <= b.len() && u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == 3
    });
    if interp {
        "dynamic"
    } else {
        "static"
    }
}

#[derive(Clone, Copy)]
struct Stats {
    mean: f64,
    median: f64,
    min: f64,
    stddev: f64,
}

fn stats(v: &[f64]) -> Stats {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as f64;
    let mean = s.iter().sum::<f64>() / n;
    let var = s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    let median = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    Stats {
        mean,
        median,
        min: s[0],
        stddev: var.sqrt(),
    }
}

fn stats_table(
    names: &[String],
    times: &[Vec<f64>],
    floors: &[(&str, &[f64])],
) -> Vec<(String, Stats)> {
    println!("| | mean | median | min | stddev |\n|---|---|---|---|---|");
    let mut rows: Vec<(String, Stats)> = names
        .iter()
        .zip(times)
        .filter(|(_, t)| !t.is_empty())
        .map(|(name, t)| (name.clone(), stats(t)))
        .collect();
    for (name, f) in floors {
        rows.push((name.to_string(), stats(f)));
    }
    for (name, s) in &rows {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            s.mean, s.median, s.min, s.stddev
        );
    }
    let fast = &rows[0].1;
    println!();
    for (name, s) in &rows[1..] {
        println!(
            "fastrun/{name}: mean {:.2}, median {:.2}",
            fast.mean / s.mean,
            fast.median / s.median
        );
    }
    rows
}

/// What the README table shows, collected along the way.
#[derive(Default)]
struct Table {
    run: Vec<(String, Stats)>,
    life: Vec<(String, Stats)>,
    exec: Vec<(String, Stats)>,
    conc: Vec<ConcRow>,
    heap: Option<(Stats, Stats, Stats, usize)>,
    rss: Vec<(String, u64)>,
    floor_rss: Option<u64>,
    /// Section 8: fastrun, runc, ... on the host's layout, and "fastrun (pure v2)".
    hybrid_run: Vec<(String, Stats)>,
    hybrid_life: Vec<(String, Stats)>,
    hybrid_iters: usize,
    size: Vec<(String, u64, String)>,
}

fn find<'a, T>(rows: &'a [(String, T)], name: &str) -> Option<&'a T> {
    rows.iter().find(|(n, _)| n == name).map(|(_, s)| s)
}

impl Table {
    fn print_markdown(&self, runtimes: &[Runtime], iters: usize) {
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        let cols: Vec<&str> = ["runc", "crun"]
            .into_iter()
            .filter(|n| runtimes.iter().any(|r| r.name == *n))
            .collect();
        println!("\n## README table\n");
        println!(
            "Measured {} (UTC), {iters} interleaved rounds, load average at the end {}.\n",
            utc_date(),
            load.join(" ")
        );
        print!("| measure |");
        for c in &cols {
            print!(" {c} |");
        }
        print!(" fastrun |");
        for c in &cols {
            print!(" fastrun/{c} |");
        }
        println!();
        println!("|---|{}", "---|".repeat(1 + 2 * cols.len()));
        let timed = |label: &str, rows: &[(String, Stats)], fast: &str, med: bool| {
            let Some(f) = find(rows, fast) else { return };
            let pick = |s: &Stats| if med { s.median } else { s.min };
            print!("| {label} |");
            for c in &cols {
                match find(rows, c) {
                    Some(s) if med => print!(" {:.2} ms ({:.2}) |", s.median, s.mean),
                    Some(s) => print!(" {:.2} ms |", s.min),
                    None => print!(" |"),
                }
            }
            if med {
                print!(" {:.2} ms ({:.2}) |", f.median, f.mean);
            } else {
                print!(" {:.2} ms |", f.min);
            }
            for c in &cols {
                match find(rows, c) {
                    Some(s) => print!(" {:.2} |", pick(f) / pick(s)),
                    None => print!(" |"),
                }
            }
            println!();
        };
        timed(
            "`run` of busybox `true`, median (mean)",
            &self.run,
            "fastrun",
            true,
        );
        timed("`run`, min", &self.run, "fastrun", false);
        timed(
            "create + start + wait + delete, median (mean)",
            &self.life,
            "fastrun",
            true,
        );
        timed(
            "the same through the library in-process (fastrun column), median (mean)",
            &self.life,
            "fastrun (in-process)",
            true,
        );
        timed(
            "`run` through the library in-process (fastrun column), median (mean)",
            &self.run,
            "fastrun (in-process)",
            true,
        );
        timed(
            "`exec` of `true` into a running container, median (mean)",
            &self.exec,
            "fastrun",
            true,
        );
        for (i, n) in CONC.iter().enumerate() {
            let per = |name: &str| {
                self.conc
                    .iter()
                    .find(|(r, _)| r == name)
                    .map(|(_, row)| row[i].2)
            };
            let Some(f) = per("fastrun") else { continue };
            print!("| {n} concurrent `run`s, wall time per container |");
            for c in &cols {
                match per(c) {
                    Some(v) => print!(" {v:.2} ms |"),
                    None => print!(" |"),
                }
            }
            print!(" {f:.2} ms |");
            for c in &cols {
                match per(c) {
                    Some(v) => print!(" {:.2} |", f / v),
                    None => print!(" |"),
                }
            }
            println!();
        }
        if let Some(f) = find(&self.rss, "fastrun") {
            print!("| peak RSS of `run` (median of 15) |");
            for c in &cols {
                match find(&self.rss, c) {
                    Some(kb) => print!(" {:.1} MB |", *kb as f64 / 1000.0),
                    None => print!(" |"),
                }
            }
            print!(" {:.1} MB |", *f as f64 / 1000.0);
            for c in &cols {
                match find(&self.rss, c) {
                    Some(kb) => print!(" {:.2} |", *f as f64 / *kb as f64),
                    None => print!(" |"),
                }
            }
            println!();
        }
        let size = |name: &str| {
            self.size
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, s, note)| (*s, note.clone()))
        };
        if let Some((f, fnote)) = size("fastrun") {
            print!("| binary size |");
            for c in &cols {
                match size(c) {
                    Some((s, note)) => print!(" {:.2} MB ({note}) |", s as f64 / 1e6),
                    None => print!(" |"),
                }
            }
            print!(" {:.2} MB ({fnote}) |", f as f64 / 1e6);
            for c in &cols {
                match size(c) {
                    Some((s, _)) => print!(" {:.2} |", f as f64 / s as f64),
                    None => print!(" |"),
                }
            }
            println!();
        }
        println!();
        if let (Some(f), Some(fl)) = (find(&self.run, "fastrun"), find(&self.run, "unshare floor"))
        {
            println!(
                "The unshare floor (namespaces + exec, no mounts) took {:.2} ms median ({:.2} mean): fastrun's `run` is {:.2}x the floor by median.",
                fl.median,
                fl.mean,
                f.median / fl.median
            );
        }
        if let (Some(f), Some(fl)) = (find(&self.run, "fastrun"), find(&self.run, "clone3 floor")) {
            println!(
                "The static clone3 floor (one clone3 into new mount/pid/ipc/uts/net/cgroup namespaces, chroot, exec, wait) took {:.2} ms median ({:.2} mean): fastrun's `run` is {:.2}x it by median ({:.2}x by mean).",
                fl.median,
                fl.mean,
                f.median / fl.median,
                f.mean / fl.mean
            );
        }
        if let Some(kb) = self.floor_rss {
            println!("Peak RSS of the floor: {:.1} MB.", kb as f64 / 1000.0);
        }
        if !self.hybrid_run.is_empty() {
            println!();
            println!(
                "On the host's own layout (cgroup v1 hybrid; crun 1.8.1 refuses it), {} interleaved rounds, fastrun in the pure-v2 namespace in the same rounds:\n",
                self.hybrid_iters
            );
            println!("| measure | runc (host) | fastrun (host) | fastrun (pure v2) | fastrun host/v2 | fastrun/runc (host) |");
            println!("|---|---|---|---|---|---|");
            for (label, rows) in [
                ("`run` of busybox `true`, median (mean)", &self.hybrid_run),
                (
                    "create + start + wait + delete, median (mean)",
                    &self.hybrid_life,
                ),
            ] {
                let (Some(f), Some(v2)) = (find(rows, "fastrun"), find(rows, "fastrun (pure v2)"))
                else {
                    continue;
                };
                let r = find(rows, "runc");
                println!(
                    "| {label} | {} | {:.2} ms ({:.2}) | {:.2} ms ({:.2}) | {:.2} | {} |",
                    r.map_or(String::new(), |r| format!(
                        "{:.2} ms ({:.2})",
                        r.median, r.mean
                    )),
                    f.median,
                    f.mean,
                    v2.median,
                    v2.mean,
                    f.median / v2.median,
                    r.map_or(String::new(), |r| format!("{:.2}", f.median / r.median)),
                );
            }
        }
        if let Some((f1, f128)) = self
            .conc
            .iter()
            .find(|(r, _)| r == "fastrun")
            .map(|(_, row)| (row[0].2, row[row.len() - 1].2))
        {
            println!(
                "Concurrency: fastrun's wall time per container at N={} is {:.2}x the one at N=1.",
                CONC[CONC.len() - 1],
                f128 / f1
            );
        }
        if let Some((s, b, f, mb)) = &self.heap {
            println!(
                "In-process `run` from a host with a {mb} MiB touched heap (vfork-style spawn): {:.2} ms median vs {:.2} ms from a small host ({:.2}x); forced fork-like from the same host: {:.2} ms ({:.2}x).",
                b.median,
                s.median,
                b.median / s.median,
                f.median,
                f.median / s.median
            );
        }
    }
}

/// Today's date (UTC) as YYYY-MM-DD, without a date crate.
fn utc_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    // Civil from days (Howard Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn print_setup(runtimes: &[Runtime], iters: usize, tmpfs: bool) {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "# start benchmark: kernel {}, {cpus} CPUs, {iters} rounds, private mount namespace with a pure cgroup2 /sys/fs/cgroup, state roots on {}, config: runc spec, /bin/true, ociVersion 1.0.2, no linux.resources",
        kernel.trim(),
        if tmpfs { "a tmpfs" } else { "the temp dir's filesystem" }
    );
    for rt in runtimes {
        let v = Command::new(&rt.bin)
            .arg("--version")
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap_or_default();
        println!(
            "- {}: {} ({}, {})",
            rt.name,
            v,
            rt.bin.display(),
            linkage(&rt.bin)
        );
    }
}
