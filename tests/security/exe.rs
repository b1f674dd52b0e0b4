//! CVE-2019-5736: a container that gets the kernel to run the runtime's own binary
//! (`#!/proc/self/exe`, or `/proc/self/exe` as the program), and a second container
//! process that scans `/proc/*/exe` for anything that is not its own busybox, holds
//! it open and tries to write to it, during and after the runtime's exit.
//!
//! The runtime used here is a private COPY of the fastrun binary, so an attack that
//! worked could only damage the copy; the copy is compared byte for byte afterwards.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A private copy of the fastrun binary, used as the runtime.
pub struct RuntimeCopy {
    _dir: TempDir,
    path: PathBuf,
    original: Vec<u8>,
}

impl RuntimeCopy {
    pub fn new() -> RuntimeCopy {
        RuntimeCopy::of(fastrun_bin())
    }

    /// A private copy of `bin` (the fastrun CLI, or a program embedding libfastrun).
    pub fn of(bin: &Path) -> RuntimeCopy {
        let dir = TempDir::new("fastrun-sec-bin-");
        // Traversable, like /usr/bin: the container root is root, ownership decides.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("fastrun");
        copy_executable(bin, &path);
        let original = std::fs::read(&path).unwrap();
        RuntimeCopy {
            _dir: dir,
            path,
            original,
        }
    }

    pub fn command(&self, root: &StateRoot, args: &[&str]) -> Command {
        let mut c = Command::new(&self.path);
        c.arg("--root").arg(root.path()).args(args);
        c
    }

    fn run(&self, root: &StateRoot, args: &[&str]) -> Output {
        run_cmd(self.command(root, args), None, T)
    }

    #[track_caller]
    pub fn assert_unchanged(&self) {
        let now = std::fs::read(&self.path).unwrap();
        assert!(
            now == self.original,
            "the runtime binary {} was modified by the container ({} bytes, was {})",
            self.path.display(),
            now.len(),
            self.original.len()
        );
    }
}

/// The attacker: until /tmp/stop exists, look at every process; for any whose exe
/// is readable and is not the container's busybox, record it, keep it open in a
/// background `sleep` (fd 7) and try to write to it, then try to write through every
/// held fd. After /tmp/stop: one last write round through the held fds (the runtime
/// has exited by then), then /tmp/done.
const ATTACKER: &str = r#"
touch /tmp/holders /tmp/log
round() {
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    t=$(readlink $d/exe 2>/dev/null) || continue
    case "$t" in ""|/bin/busybox) continue;; esac
    grep -q "^$p " /tmp/holders && continue
    echo "SEEN $p $t" >> /tmp/log
    if cat $d/environ > /dev/null 2>&1; then echo "ENVIRON $p $t" >> /tmp/log; fi
    sleep 100000 7< $d/exe 2>/dev/null &
    echo "$p $! $t" >> /tmp/holders
    if echo PWNED >> $d/exe 2>/dev/null; then echo "WROTE $p $t" >> /tmp/log; fi
  done
}
write_held() {
  while read p h t; do
    [ -e /proc/$h/fd/7 ] || continue
    if echo PWNED >> /proc/$h/fd/7 2>/dev/null; then echo "WROTE-HELD $p $t" >> /tmp/log; fi
    if echo PWNED > /proc/$h/fd/7 2>/dev/null; then echo "TRUNCATED-HELD $p $t" >> /tmp/log; fi
  done < /tmp/holders
}
touch /tmp/ready
while [ ! -e /tmp/stop ]; do round; write_held; done
write_held
touch /tmp/done
sleep 100000
"#;

/// `#!/proc/self/exe`: with the runtime binary as interpreter this would print
/// fastrun's version; through the exec trampoline it ends with status 127.
const EVIL_SCRIPT: &str = "#!/proc/self/exe --version\n";

fn attacker_bundle(name: &str) -> Bundle {
    let b = Bundle::new(name).own_rootfs().args(&["sh", "-c", ATTACKER]);
    let rootfs = rootfs_of(&b);
    add_applets(&rootfs, &["tr"]);
    let evil = rootfs.join("evil");
    std::fs::write(&evil, EVIL_SCRIPT).unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    b
}

/// A bundle whose init joins `pid`'s pid namespace and runs `args` (the attacker
/// sees its whole setup). PATH is long: the init then spends longer between
/// dropping capabilities and exec, the window a racing attacker aims at.
fn victim_bundle(name: &str, rootfs: &Path, pid: i32, args: &[&str]) -> Bundle {
    let long_path: Vec<String> = (0..5000)
        .map(|i| format!("/nonexistent{i}"))
        .chain(["/bin".to_string()])
        .collect();
    let long_path = format!("PATH={}", long_path.join(":"));
    Bundle::new(name).args(args).modify(|v| {
        v["root"]["path"] = rootfs.to_str().unwrap().into();
        v["root"]["readonly"] = true.into();
        for ns in v["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "pid" {
                ns["path"] = format!("/proc/{pid}/ns/pid").into();
            }
        }
        let env = v["process"]["env"].as_array_mut().unwrap();
        env.retain(|e| !e.as_str().unwrap().starts_with("PATH="));
        env.push(long_path.into());
    })
}

/// What the attacker logged, once it is done.
fn attacker_log(rootfs: &Path) -> String {
    std::fs::write(rootfs.join("tmp/stop"), "").unwrap();
    wait_for_file(&rootfs.join("tmp/done"), T);
    std::fs::read_to_string(rootfs.join("tmp/log")).unwrap_or_default()
}

#[track_caller]
fn assert_attack_failed(log: &str, bin: &RuntimeCopy) {
    bin.assert_unchanged();
    for line in log.lines() {
        assert!(
            !line.starts_with("WROTE") && !line.starts_with("TRUNCATED"),
            "the container wrote to a binary outside it: {line}\n{log}"
        );
        // The only foreign exe the attacker may see is the sealed trampoline (whose
        // environment is the container's own); never the runtime, whose exe is the
        // host binary and whose environment is the caller's.
        let exe = line.splitn(3, ' ').nth(2).unwrap_or("");
        assert_eq!(
            exe, TRAMPOLINE_EXE,
            "the container reached a process running a host binary: {line}\n{log}"
        );
    }
}

/// What `readlink /proc/PID/exe` shows for the exec trampoline.
pub const TRAMPOLINE_EXE: &str = "/memfd:fastrun-exec (deleted)";

fn start_attacker<'a>(
    bin: &RuntimeCopy,
    root: &'a StateRoot,
    bundle: &'a Bundle,
) -> (Container<'a>, i32) {
    let c = Container::new(root, bundle);
    bin.run(
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
    )
    .assert_success();
    wait_for_file(&rootfs_of(bundle).join("tmp/ready"), T);
    let pid = c.pid().unwrap();
    (c, pid)
}

#[test]
fn cve_2019_5736_proc_self_exe_entrypoint_cannot_reach_the_runtime() {
    let bin = RuntimeCopy::new();
    let root = StateRoot::new();
    let attacker = attacker_bundle("5736-run");
    let rootfs = rootfs_of(&attacker);
    let (a, pid) = start_attacker(&bin, &root, &attacker);

    for round in 0..30 {
        // The entrypoint is the script, then /proc/self/exe itself.
        let args: &[&str] = if round % 2 == 0 {
            &["/evil", "x"]
        } else {
            &["/proc/self/exe", "--version"]
        };
        let victim = victim_bundle("5736-victim", &rootfs, pid, args);
        let v = Container::new(&root, &victim);
        let o = bin.run(
            &root,
            &["run", "--bundle", victim.path().to_str().unwrap(), v.id()],
        );
        assert_eq!(o.status, Some(127), "the trampoline should end it: {o}");
        assert!(
            !o.stdout.contains("fastrun") && !o.stdout.contains("version"),
            "the runtime binary ran inside the container: {o}"
        );
        v.delete(true);
        v.assert_no_leftovers();
    }
    let log = attacker_log(&rootfs);
    assert_attack_failed(&log, &bin);
    drop(a);
}

/// A program that embeds libfastrun (bindings/c/embedder.c, linked statically):
/// the init is a clone of it, so it is the binary an attack would reach.
pub fn embedder_binary(scratch: &Path) -> PathBuf {
    let installed = common::libfastrun::Installed::new();
    let out = scratch.join("embedder");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/c/embedder.c");
    let mut args = vec![src.display().to_string()];
    args.extend(installed.static_link_args());
    common::libfastrun::cc(&args, &out);
    out
}

#[test]
fn cve_2019_5736_a_libfastrun_embedder_cannot_be_reached() {
    let scratch = TempDir::new("fastrun-sec-embedder-");
    let bin = RuntimeCopy::of(&embedder_binary(scratch.path()));
    let root = StateRoot::new();
    let attacker = attacker_bundle("5736-lib");
    let rootfs = rootfs_of(&attacker);
    let (a, pid) = start_attacker(&bin, &root, &attacker);
    for round in 0..20 {
        let args: &[&str] = if round % 2 == 0 {
            &["/evil", "x"]
        } else {
            &["/proc/self/exe", "--version"]
        };
        let victim = victim_bundle("5736-lib-victim", &rootfs, pid, args);
        let v = Container::new(&root, &victim);
        let o = bin.run(
            &root,
            &["run", "--bundle", victim.path().to_str().unwrap(), v.id()],
        );
        assert_eq!(o.status, Some(127), "the trampoline should end it: {o}");
        assert!(
            !o.stderr.contains("usage"),
            "the embedding program ran inside the container: {o}"
        );
        v.delete(true);
        v.assert_no_leftovers();
    }
    let log = attacker_log(&rootfs);
    assert_attack_failed(&log, &bin);
    drop(a);
}

#[test]
fn cve_2019_5736_exec_of_a_proc_self_exe_script_cannot_reach_the_runtime() {
    let bin = RuntimeCopy::new();
    let root = StateRoot::new();
    let attacker = attacker_bundle("5736-exec");
    let rootfs = rootfs_of(&attacker);
    let (a, _pid) = start_attacker(&bin, &root, &attacker);
    let long_path: Vec<String> = (0..5000).map(|i| format!("/nonexistent{i}")).collect();
    let env = format!("PATH={}:/bin", long_path.join(":"));

    for round in 0..30 {
        let prog = if round % 2 == 0 {
            "/evil"
        } else {
            "/proc/self/exe"
        };
        let o = bin.run(&root, &["exec", "--env", &env, a.id(), prog, "--version"]);
        assert_eq!(o.status, Some(127), "the trampoline should end it: {o}");
        assert!(
            !o.stdout.contains("fastrun") && !o.stdout.contains("version"),
            "the runtime binary ran inside the container: {o}"
        );
    }
    // The exec'd processes are gone and so is every runtime process: the attacker's
    // last round writes through whatever it holds.
    let log = attacker_log(&rootfs);
    assert_attack_failed(&log, &bin);
    drop(a);
}

/// Restrict the calling thread to the capabilities of a default container process
/// (capabilities are per thread): CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE.
pub fn drop_thread_caps_to_container_default() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let caps: u64 = 1 << 5 | 1 << 10 | 1 << 29;
    let hdr = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let lo = caps as u32;
    let hi = (caps >> 32) as u32;
    let data = [
        Data {
            effective: lo,
            permitted: lo,
            inheritable: 0,
        },
        Data {
            effective: hi,
            permitted: hi,
            inheritable: 0,
        },
    ];
    // SAFETY: capset with a valid v3 header and two data structs; it only changes
    // this thread's credentials.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &hdr, data.as_ptr()) };
    assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
}

/// The same window, watched without racing a shell: a host thread with exactly the
/// credentials of a container process (uid 0, the default capabilities) polls the
/// children of `fastrun exec` while they set up. Before the fix the child was
/// dumpable from the moment it dropped its capabilities until just before exec, and
/// this thread could read its `/proc/PID/exe` (the host binary) and `environ`.
#[test]
fn cve_2019_5736_exec_child_is_never_reachable_with_container_credentials() {
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
    use std::sync::Arc;

    let bin = RuntimeCopy::new();
    let root = StateRoot::new();
    let bundle = Bundle::new("5736-probe").args(&["sleep", "600"]);
    let c = Container::new(&root, &bundle);
    c.create().assert_success();
    c.start().assert_success();
    let long_path: Vec<String> = (0..5000).map(|i| format!("/nonexistent{i}")).collect();
    let env = format!("PATH={}:/bin", long_path.join(":"));

    let parent = Arc::new(AtomicI32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (parent, stop) = (parent.clone(), stop.clone());
        let bin_path = bin.path.clone();
        std::thread::spawn(move || {
            drop_thread_caps_to_container_default();
            let mut hits = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let p = parent.load(Ordering::Relaxed);
                let children = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children"))
                    .unwrap_or_default();
                for child in children.split_whitespace() {
                    if let Ok(exe) = std::fs::read_link(format!("/proc/{child}/exe")) {
                        if exe == bin_path {
                            hits.push(format!("exe of {child}: {}", exe.display()));
                        }
                    }
                    if std::fs::read(format!("/proc/{child}/environ")).is_ok_and(|e| {
                        e.split(|&b| b == 0)
                            .any(|v| v.starts_with(b"FASTRUN_SEC_HOST="))
                    }) {
                        hits.push(format!("environ of {child}"));
                    }
                }
            }
            hits
        })
    };
    for _ in 0..20 {
        let mut cmd = bin.command(&root, &["exec", "--env", &env, c.id(), "true"]);
        cmd.env("FASTRUN_SEC_HOST", "secret")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        parent.store(child.id() as i32, Ordering::Relaxed);
        let st = child.wait().unwrap();
        assert!(st.success(), "exec failed: {st:?}");
    }
    stop.store(true, Ordering::Relaxed);
    let hits = prober.join().unwrap();
    assert!(
        hits.is_empty(),
        "a process with a container's credentials reached the exec child: {hits:?}"
    );
    bin.assert_unchanged();
}
