//! Container start latency: fastrun against runc and crun, per
//! ../shared/notes/benchmarking.md.
//!
//! - One busybox bundle for every runtime: `runc spec` (or `fastrun spec`), args
//!   `/bin/true`, `terminal: false`, `ociVersion` 1.0.2, no `linux.resources`.
//! - Everything runs in one private mount namespace with a pure cgroup2 mount on
//!   /sys/fs/cgroup (crun 1.8.1 refuses this machine's hybrid layout): the bench
//!   re-executes itself under `unshare -m --propagation private` for that.
//! - Measures, interleaved round by round (the order of the runtimes rotates):
//!   `run` start-to-exit; create + start + wait + delete (the init is reparented, so
//!   the wait polls a pidfd of the pid from `--pid-file`); and the floor
//!   `unshare -m -p -i -u -n -C --fork chroot ROOTFS /bin/true`.
//! - Then the peak RSS of `run` (`/usr/bin/time -v`, median of several runs) and the
//!   binaries' sizes (fastrun stripped).
//!
//! Run (as root): `cargo bench --bench start` (environment: `FASTRUN_BENCH_ITERS`,
//! default 200 rounds after 20 warm-up rounds). `cargo bench --bench start --
//! --criterion` also runs criterion's own (not interleaved) measurement of `run`.
//! The fastrun measured is `target/release/fastrun`, which `cargo bench` builds.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::{json, Value};

const IN_NS: &str = "FASTRUN_BENCH_IN_NS";

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
    let iters: usize = std::env::var("FASTRUN_BENCH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);

    let fastrun = PathBuf::from(env!("CARGO_BIN_EXE_fastrun"));
    if !fastrun.ends_with("release/fastrun") {
        eprintln!(
            "warning: measuring {} (not a release build)",
            fastrun.display()
        );
    }
    let work = TempDir::new();
    let rootfs = work.0.join("bundle/rootfs");
    build_bundle(&work.0.join("bundle"), &fastrun);

    let mut runtimes = vec![Runtime::new("fastrun", fastrun.clone(), &work.0)];
    for name in ["crun", "runc"] {
        match which(name) {
            Some(p) => runtimes.push(Runtime::new(name, p, &work.0)),
            None => println!("{name}: not installed, not measured"),
        }
    }
    for rt in &runtimes {
        if let Err(e) = rt.run_once(&work.0.join("bundle"), "probe") {
            panic!("{} cannot run the bundle: {e}", rt.name);
        }
    }

    print_setup(&runtimes, iters);
    let bundle = work.0.join("bundle");
    let mut run_t: Vec<Vec<f64>> = vec![Vec::new(); runtimes.len()];
    let mut life_t: Vec<Vec<f64>> = vec![Vec::new(); runtimes.len()];
    let mut floor_t = Vec::new();
    let warmup = 20;
    let mut n = 0u64;
    for round in 0..warmup + iters {
        let k = runtimes.len();
        for j in 0..k {
            let i = (round + j) % k;
            let rt = &runtimes[i];
            n += 1;
            let t = rt.run_once(&bundle, &format!("b{n}")).expect("run");
            let t2 = rt
                .lifecycle_once(&bundle, &format!("l{n}"))
                .expect("lifecycle");
            if round >= warmup {
                run_t[i].push(t);
                life_t[i].push(t2);
            }
        }
        let t = floor_once(&rootfs);
        if round >= warmup {
            floor_t.push(t);
        }
    }

    println!("\n## `run` of /bin/true, start to exit ({iters} interleaved rounds)\n");
    stats_table(&runtimes, &run_t, Some(&floor_t));
    println!("\n## create + start + wait + delete ({iters} interleaved rounds)\n");
    stats_table(&runtimes, &life_t, None);

    println!("\n## peak RSS of `run` (/usr/bin/time -v, median of 15)\n");
    println!("| runtime | peak RSS |\n|---|---|");
    for rt in &runtimes {
        match rt.peak_rss_kb(&bundle, 15) {
            Some(kb) => println!("| {} | {:.1} MB |", rt.name, kb as f64 / 1000.0),
            None => println!("| {} | (no /usr/bin/time) |", rt.name),
        }
    }
    if let Some(kb) = floor_rss_kb(&rootfs) {
        println!("| unshare floor | {:.1} MB |", kb as f64 / 1000.0);
    }

    println!("\n## binary size\n");
    println!("| runtime | size | note |\n|---|---|---|");
    for rt in &runtimes {
        let (size, note) = if rt.name == "fastrun" {
            (stripped_size(&rt.bin, &work.0), "stripped copy")
        } else {
            (
                std::fs::metadata(&rt.bin).map(|m| m.len()).ok(),
                "as installed",
            )
        };
        match size {
            Some(s) => println!(
                "| {} | {:.2} MB | {note} ({}) |",
                rt.name,
                s as f64 / 1e6,
                rt.bin.display()
            ),
            None => println!("| {} | ? | |", rt.name),
        }
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
}

/// Re-execute this bench in a private mount namespace where /sys/fs/cgroup is a
/// pure cgroup2 mount.
fn reexec_in_private_namespace() -> ! {
    let exe = std::env::current_exe().expect("current_exe");
    let script =
        "umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$0\" \"$@\"";
    let err = Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "sh", "-c", script])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(IN_NS, "1")
        .exec();
    panic!("exec unshare: {err}");
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
    for a in ["true", "sh"] {
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

struct Runtime {
    name: String,
    bin: PathBuf,
    root: PathBuf,
}

impl Runtime {
    fn new(name: &str, bin: PathBuf, work: &Path) -> Runtime {
        let root = work.join(format!("root-{name}"));
        std::fs::create_dir_all(&root).unwrap();
        Runtime {
            name: name.into(),
            bin,
            root,
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
        c
    }

    /// `run --bundle B ID`, start to exit, in ms.
    fn run_once(&self, bundle: &Path, id: &str) -> Result<f64, String> {
        let mut c = self.cmd([OsStr::new("run"), OsStr::new("--bundle")]);
        c.arg(bundle).arg(id);
        let t = Instant::now();
        let st = c.status().map_err(|e| e.to_string())?;
        let el = t.elapsed().as_secs_f64() * 1e3;
        if !st.success() {
            let _ = self.cmd(["delete", "--force", id]).status();
            return Err(format!("{} run: {st}", self.name));
        }
        Ok(el)
    }

    /// create, start, wait for the init (pidfd), delete: in ms.
    fn lifecycle_once(&self, bundle: &Path, id: &str) -> Result<f64, String> {
        let pid_file = self.root.join(format!("{id}.pid"));
        let t = Instant::now();
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
        // SAFETY: pidfd_open takes a pid and flags; the result is an fd we own.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        let st = self
            .cmd(["start", id])
            .status()
            .map_err(|e| e.to_string())?;
        if !st.success() {
            return Err(format!("{} start: {st}", self.name));
        }
        if pidfd >= 0 {
            let mut pfd = libc::pollfd {
                fd: pidfd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; the timeout bounds a stuck container.
            unsafe { libc::poll(&mut pfd, 1, 10_000) };
            // SAFETY: our own fd.
            unsafe { libc::close(pidfd) };
        }
        let st = self
            .cmd(["delete", id])
            .status()
            .map_err(|e| e.to_string())?;
        let el = t.elapsed().as_secs_f64() * 1e3;
        let _ = std::fs::remove_file(&pid_file);
        if !st.success() {
            let _ = self.cmd(["delete", "--force", id]).status();
            return Err(format!("{} delete: {st}", self.name));
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
    t.elapsed().as_secs_f64() * 1e3
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

fn stats_table(runtimes: &[Runtime], times: &[Vec<f64>], floor: Option<&[f64]>) {
    println!("| | mean | median | min | stddev |\n|---|---|---|---|---|");
    let mut rows: Vec<(String, Stats)> = runtimes
        .iter()
        .zip(times)
        .map(|(rt, t)| (rt.name.clone(), stats(t)))
        .collect();
    if let Some(f) = floor {
        rows.push(("unshare floor".into(), stats(f)));
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
}

fn print_setup(runtimes: &[Runtime], iters: usize) {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "# start benchmark: kernel {}, {cpus} CPUs, {iters} rounds, private mount namespace with a pure cgroup2 /sys/fs/cgroup, config: runc spec, /bin/true, ociVersion 1.0.2, no linux.resources",
        kernel.trim()
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
        println!("- {}: {} ({})", rt.name, v, rt.bin.display());
    }
}
