//! Paths inside the container resolved from the rootfs the container controls:
//! symlinked and raced mount destinations (CVE-2021-30465, CVE-2024-45310), `/proc`
//! tricks (CVE-2019-16884, CVE-2019-19921), masks with a container-controlled
//! `/dev/null` (CVE-2025-31133), and `/dev`, `/dev/pts`, `/dev/console` symlinks
//! (CVE-2025-52565 and the later `/dev` symlink CVEs of runc and crun).

use std::os::unix::fs::{symlink, FileTypeExt};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use super::*;

/// A bundle with a private rootfs and `vol/VOLUME` in the bundle (a bind source).
fn private(name: &str, args: &[&str]) -> Bundle {
    let b = Bundle::new(name).own_rootfs().args(args);
    std::fs::create_dir(b.path().join("vol")).unwrap();
    std::fs::write(b.path().join("vol/VOLUME"), "volume\n").unwrap();
    b
}

fn bind(dest: &str) -> Value {
    json!({"destination": dest, "type": "bind", "source": "vol", "options": ["rbind", "ro"]})
}

fn add_mounts(b: Bundle, mounts: Vec<Value>) -> Bundle {
    b.modify(|v| {
        v["mounts"].as_array_mut().unwrap().extend(mounts);
    })
}

/// Drop the `/dev` tmpfs: the rootfs's own `/dev` is then what the runtime works in.
fn without_dev_mount(v: &mut Value) {
    v["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
}

/// A unique name that must never show up at the host's root.
fn escape_name(tag: &str) -> String {
    format!("fastrun-sec-escape-{tag}-{}", std::process::id())
}

#[test]
fn cve_2021_30465_symlinked_destinations_land_inside_the_root() {
    let host = HostDir::empty("dest-target");
    let before = HostSnapshot::take(&[host.path()]);
    let root = StateRoot::new();
    let (a, b) = (escape_name("a"), escape_name("b"));
    let bundle = private(
        "30465-symlinks",
        &[
            "sh",
            "-c",
            &format!("cat /{a}/VOLUME /{b}/VOLUME; ls /mnt3/ 2>&1; echo end"),
        ],
    );
    let rootfs = rootfs_of(&bundle);
    symlink("/", rootfs.join("mnt1")).unwrap();
    symlink("../../../../../../..", rootfs.join("mnt2")).unwrap();
    symlink(host.path(), rootfs.join("mnt3")).unwrap();
    let bundle = add_mounts(
        bundle,
        vec![bind(&format!("/mnt1/{a}")), bind(&format!("/mnt2/{b}"))],
    );
    // Renames elsewhere on the system make every `..` step of a RESOLVE_IN_ROOT
    // walk fail with EAGAIN: the runtime retries instead of refusing the container.
    let renames = Renamer::start();
    for _ in 0..5 {
        let c = Container::new(&root, &bundle);
        let o = c.run();
        o.assert_success();
        assert!(o.stdout.starts_with("volume\nvolume\n"), "{o}");
        c.assert_no_leftovers();
    }
    drop(renames);
    let c = Container::new(&root, &bundle);
    // Inside the root, never at the host's /.
    for n in [&a, &b] {
        assert!(rootfs.join(n).is_dir(), "{n} not created inside the root");
        assert!(
            !Path::new("/").join(n).exists(),
            "/{n} was created on the host"
        );
    }
    c.assert_no_leftovers();

    // Through the absolute symlink to a host directory: refused or inside, never there.
    let bundle = add_mounts(
        private("45310-create", &["true"]),
        vec![
            json!({"destination": "/mnt3/sub/deeper", "type": "tmpfs", "source": "tmpfs"}),
            bind("/mnt3/file-dest/x"),
        ],
    );
    symlink(host.path(), rootfs_of(&bundle).join("mnt3")).unwrap();
    let c = Container::new(&root, &bundle);
    let o = c.run();
    if !o.success() {
        assert!(
            o.stderr.contains("mounts["),
            "the error should name the mount: {o}"
        );
    }
    c.delete(true);
    c.assert_no_leftovers();
    before.assert_same();
}

/// A thread renaming a file back and forth in a directory of its own, until dropped.
struct Renamer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: TempDir,
}

impl Renamer {
    fn start() -> Renamer {
        let dir = TempDir::new("fastrun-sec-renames-");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, "").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::fs::rename(&a, &b).unwrap();
                std::fs::rename(&b, &a).unwrap();
            }
        });
        Renamer {
            stop,
            thread: Some(thread),
            _dir: dir,
        }
    }
}

impl Drop for Renamer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A host thread swaps a directory and a symlink to a host directory at the mount
/// destinations (renameat2 RENAME_EXCHANGE) while containers start over and over.
#[test]
fn cve_2021_30465_destination_swapped_for_a_symlink_in_a_loop() {
    let host = HostDir::empty("race-target");
    let before = HostSnapshot::take(&[host.path()]);
    let root = StateRoot::new();
    let bundle = add_mounts(
        // Where the mounts are seen from inside is racy too (the swapper goes on):
        // only the runtime's outcome and the host matter.
        private("30465-race", &["true"]),
        vec![
            bind("/race/vol"),
            json!({"destination": "/race/tmp", "type": "tmpfs", "source": "tmpfs"}),
        ],
    );
    let rootfs = rootfs_of(&bundle);
    std::fs::create_dir(rootfs.join("race")).unwrap();
    symlink(host.path(), rootfs.join("race-link")).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    // Stops the swapper even when an assertion fails (the bundle is removed after).
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _stop = Stop(stop.clone());
    let swapper = {
        let stop = stop.clone();
        let a = std::ffi::CString::new(rootfs.join("race").to_str().unwrap()).unwrap();
        let b = std::ffi::CString::new(rootfs.join("race-link").to_str().unwrap()).unwrap();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: renameat2 with two valid NUL-terminated paths.
                let rc = unsafe {
                    libc::syscall(
                        libc::SYS_renameat2,
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                assert_eq!(rc, 0, "renameat2: {}", std::io::Error::last_os_error());
                swaps += 1;
            }
            swaps
        })
    };
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..40 {
        let c = Container::new(&root, &bundle);
        let o = c.run();
        if o.success() {
            ok += 1;
        } else {
            refused += 1;
            assert!(o.stderr.contains("mounts["), "{o}");
        }
        c.delete(true);
        c.assert_no_leftovers();
        assert!(
            tree(host.path()).is_empty(),
            "written through the symlink: {o}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 40, "the swapper hardly ran ({swaps} swaps)");
    eprintln!("race: {ok} started, {refused} refused, {swaps} swaps");
    before.assert_same();
}

/// Each config must be refused with an error naming `what`, leaving nothing.
#[track_caller]
fn assert_refused(root: &StateRoot, bundle: &Bundle, what: &[&str]) {
    let c = Container::new(root, bundle);
    let o = c.create();
    o.assert_failure();
    for w in what {
        assert!(o.stderr.contains(w), "the error should say {w:?}: {o}");
    }
    c.assert_no_leftovers();
}

#[test]
fn proc_tricks_are_refused() {
    let root = StateRoot::new();
    let host = HostDir::empty("proc-target");
    let before = HostSnapshot::take(&[host.path()]);

    // A tmpfs (any non-proc fs) on /proc, however the destination is spelled.
    for dest in ["/proc", "//proc/", "/proc/.", "/sys/../proc"] {
        let b = Bundle::new("proc-tmpfs").modify(|v| {
            v["mounts"][0] = json!({"destination": dest, "type": "tmpfs", "source": "tmpfs"});
        });
        assert_refused(&root, &b, &["mounts[0]", "/proc"]);
    }
    // A bind of something that is not a procfs on /proc (a bind of a procfs is
    // allowed, as runc allows it: runc_parity bind_of_host_proc_onto_proc).
    let src = host.path().to_str().unwrap().to_string();
    let b = Bundle::new("proc-bind").modify(|v| {
        v["mounts"][0] = json!({"destination": "/proc", "type": "bind", "source": src, "options": ["rbind"]});
    });
    assert_refused(&root, &b, &["mounts[0]", "/proc must be a procfs"]);
    // Binds over /proc/self/attr, /proc/sys, /proc/sysrq-trigger.
    for dest in [
        "/proc/self/attr",
        "/proc/sys",
        "/proc/sysrq-trigger",
        "/proc/1/attr/current",
    ] {
        let b = Bundle::new("proc-over").modify(|v| {
            v["mounts"].as_array_mut().unwrap().push(json!({
                "destination": dest, "type": "bind", "source": host.as_str(), "options": ["rbind"]
            }));
        });
        assert_refused(&root, &b, &["mounts[7]", dest]);
    }
    // /proc as a symlink in the rootfs: to a host path, and to a directory inside.
    for target in [host.as_str(), "tmp/fakeproc", "/"] {
        let b = Bundle::new("proc-symlink").own_rootfs();
        let rootfs = rootfs_of(&b);
        std::fs::remove_dir(rootfs.join("proc")).unwrap();
        std::fs::create_dir(rootfs.join("tmp/fakeproc")).unwrap();
        symlink(target, rootfs.join("proc")).unwrap();
        assert_refused(&root, &b, &["mounts[0]", "/proc", "symlink"]);
        assert!(tree(&rootfs.join("tmp/fakeproc")).is_empty());
    }
    // /sys likewise.
    let b = Bundle::new("sys-symlink").own_rootfs();
    let rootfs = rootfs_of(&b);
    std::fs::remove_dir(rootfs.join("sys")).unwrap();
    symlink(host.path(), rootfs.join("sys")).unwrap();
    assert_refused(&root, &b, &["/sys", "symlink"]);
    before.assert_same();
}

/// Masks with a container-controlled /dev/null: the rootfs has no /dev tmpfs and its
/// /dev/null is a symlink to a host file, or a regular file. Masking holds (the
/// masked files read empty), and the host file is untouched.
#[test]
fn cve_2025_31133_masks_never_use_the_containers_dev_null() {
    let root = StateRoot::new();
    let host = HostDir::new("null-target");
    let target = host.path().join("HOST_MARKER");
    let before = HostSnapshot::take(&[host.path()]);
    let check = "cat /proc/kcore | wc -c; cat /proc/keys | wc -c; cat /proc/timer_list | wc -c; \
                 ls /sys/firmware | wc -l; stat -c '%F %t:%T' /dev/null; \
                 echo overwrite > /proc/kcore 2>&1; echo end";
    for kind in ["symlink", "file", "fifo"] {
        let b = Bundle::new("31133-null")
            .own_rootfs()
            .args(&["sh", "-c", check])
            .modify(without_dev_mount);
        let rootfs = rootfs_of(&b);
        let null = rootfs.join("dev/null");
        match kind {
            "symlink" => symlink(&target, &null).unwrap(),
            "file" => std::fs::write(&null, "not a device\n").unwrap(),
            _ => {
                let c = std::ffi::CString::new(null.to_str().unwrap()).unwrap();
                // SAFETY: mkfifo with a valid path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
            }
        }
        let c = Container::new(&root, &b);
        let o = c.run();
        o.assert_success();
        let lines: Vec<&str> = o.stdout.lines().collect();
        assert_eq!(&lines[..4], ["0", "0", "0", "0"], "{kind}: masks leak: {o}");
        assert_eq!(lines[4], "character special file 1:3", "{kind}: {o}");
        c.assert_no_leftovers();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "host secret\n");
    }
    before.assert_same();
}

#[test]
fn dev_symlinks_keep_devices_inside_the_root() {
    let root = StateRoot::new();
    let host = HostDir::empty("dev-target");
    let before = HostSnapshot::take(&[host.path()]);
    let check = "stat -c '%n %F %t:%T' /dev/null /dev/zero; ls /dev/pts/ptmx; echo end";

    // /dev -> a directory inside, with the /dev tmpfs in the config: refused.
    let b = Bundle::new("dev-symlink-mount").own_rootfs();
    let rootfs = rootfs_of(&b);
    std::fs::remove_dir(rootfs.join("dev")).unwrap();
    std::fs::create_dir(rootfs.join("tmp/x")).unwrap();
    symlink("/tmp/x", rootfs.join("dev")).unwrap();
    assert_refused(&root, &b, &["mounts[1]", "/dev", "symlink"]);

    // Without the /dev tmpfs: the devices and the devpts mount land in /tmp/x.
    let b = b.args(&["sh", "-c", check]).modify(without_dev_mount);
    let c = Container::new(&root, &b);
    let o = c.run();
    o.assert_success();
    assert!(
        o.stdout.contains("/dev/null character special file 1:3"),
        "{o}"
    );
    assert!(rootfs.join("tmp/x/null").exists());
    assert!(std::fs::symlink_metadata(rootfs.join("tmp/x/zero"))
        .unwrap()
        .file_type()
        .is_char_device());
    c.assert_no_leftovers();

    // /dev -> an absolute host directory: refused or inside, never the host's.
    for with_mount in [true, false] {
        let mut b = Bundle::new("dev-symlink-host")
            .own_rootfs()
            .args(&["sh", "-c", check]);
        if !with_mount {
            b = b.modify(without_dev_mount);
        }
        let rootfs = rootfs_of(&b);
        std::fs::remove_dir(rootfs.join("dev")).unwrap();
        symlink(host.path(), rootfs.join("dev")).unwrap();
        let c = Container::new(&root, &b);
        let o = c.run();
        if with_mount {
            o.assert_failure();
            assert!(o.stderr.contains("symlink"), "{o}");
        }
        c.delete(true);
        c.assert_no_leftovers();
        assert!(
            tree(host.path()).is_empty(),
            "devices created on the host: {o}"
        );
    }

    // /dev/pts -> a host directory (the devpts mount goes through it).
    let b = Bundle::new("devpts-symlink")
        .own_rootfs()
        .args(&["sh", "-c", check])
        .modify(without_dev_mount);
    symlink(host.path(), rootfs_of(&b).join("dev/pts")).unwrap();
    let c = Container::new(&root, &b);
    let o = c.run();
    c.delete(true);
    c.assert_no_leftovers();
    assert!(
        tree(host.path()).is_empty(),
        "devpts mounted on the host: {o}"
    );
    before.assert_same();
}

/// `/dev/console` in the rootfs is a symlink to a host file and there is no /dev
/// tmpfs: the pty must not be bound over the host file (CVE-2025-52565).
#[test]
fn cve_2025_52565_console_symlink_is_not_followed() {
    let root = StateRoot::new();
    let host = HostDir::new("console-target");
    let target = host.path().join("HOST_MARKER");
    let before = HostSnapshot::take(&[host.path()]);
    let b = Bundle::new("52565-console")
        .own_rootfs()
        .args(&["sh", "-c", "ls -l /dev/console; echo end"])
        .modify(|v| {
            without_dev_mount(v);
            v["process"]["terminal"] = true.into();
        });
    symlink(&target, rootfs_of(&b).join("dev/console")).unwrap();
    let sock = b.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    listener.set_nonblocking(true).unwrap();
    let c = Container::new(&root, &b);
    let o = root.fastrun(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        c.id(),
    ]);
    o.assert_failure();
    assert!(
        o.stderr.contains("process.terminal")
            && o.stderr.contains("/dev/console")
            && o.stderr.contains("symlink"),
        "the error should say /dev/console is a symlink: {o}"
    );
    c.assert_no_leftovers();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "host secret\n");
    before.assert_same();
}
