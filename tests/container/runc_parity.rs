//! What a client relies on runc for, checked against runc itself (Debian's 1.1.5,
//! the oracle): the same config and command line under both runtimes, and what
//! the container's process reports compared. Mounts, devices, cgroups, process,
//! hooks and lifecycle (issue 16, items 11-26).

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// runc on this machine, or None (then the runc half of a test is skipped, loudly).
fn runc() -> Option<&'static str> {
    let ok = Command::new("runc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("runc is not installed (.ci/setup installs it): runc half skipped");
    }
    ok.then_some("runc")
}

/// `runc --root TMP run --bundle B ID` (stdin /dev/null), then `runc delete -f`.
fn runc_run(bundle: &Bundle) -> Option<Output> {
    let bin = runc()?;
    let root = TempDir::new("runc-state-");
    let mut c = Command::new(bin);
    c.arg("--root")
        .arg(root.path())
        .args(["run", "--bundle"])
        .arg(bundle.path())
        .arg(bundle.id());
    let o = run_cmd(c, None, TIMEOUT);
    let mut d = Command::new(bin);
    d.arg("--root")
        .arg(root.path())
        .args(["delete", "-f", bundle.id()]);
    let _ = run_cmd(d, None, Duration::from_secs(10));
    assert!(!o.timed_out, "runc timed out: {o}");
    Some(o)
}

/// Run `sh -c SCRIPT` (config edited by `modify`) under runc and fastrun, each in
/// its own bundle (with its own copy of the rootfs when `own_rootfs`). Returns
/// (runc, fastrun); runc's is None when runc is missing.
fn both(
    name: &str,
    script: &str,
    own_rootfs: bool,
    modify: impl Fn(&mut Value),
) -> (Option<Output>, Output) {
    let make = |tag: &str| {
        let b = sh_bundle(&format!("{name}-{tag}"), script);
        let b = if own_rootfs { b.own_rootfs() } else { b };
        b.modify(&modify)
    };
    let rb = make("runc");
    let r = runc_run(&rb);
    let fb = make("fr");
    let f = run_bundle(&fb);
    (r, f)
}

/// Both succeed and print the same.
#[track_caller]
fn assert_same(name: &str, script: &str, own_rootfs: bool, modify: impl Fn(&mut Value)) -> String {
    let (r, f) = both(name, script, own_rootfs, modify);
    f.assert_success();
    if let Some(r) = r {
        r.assert_success();
        assert_eq!(
            f.stdout, r.stdout,
            "fastrun and runc differ:\nrunc: {r}\nfastrun: {f}"
        );
    }
    f.stdout
}

fn push(v: &mut Value, key: &str, item: Value) {
    match v[key].as_array_mut() {
        Some(a) => a.push(item),
        None => v[key] = json!([item]),
    }
}

// ---------------------------------------------------------------------------
// Mounts, devices, cgroups
// ---------------------------------------------------------------------------

/// The optional fields of the root mount as the container sees it ("-": none).
const ROOT_PROPAGATION: &str = "awk '$5 == \"/\" { print $7 }' /proc/self/mountinfo";

/// Item 11: `rootfsPropagation` shared and rshared run, as under runc (whose new
/// root ends up private: its parent mount is made private for pivot_root).
#[test]
fn rootfs_propagation_shared_and_rshared() {
    for p in ["shared", "rshared", "private", "rslave"] {
        let out = assert_same(&format!("prop{p}"), ROOT_PROPAGATION, false, |c| {
            c["linux"]["rootfsPropagation"] = json!(p);
        });
        assert!(!out.trim().is_empty(), "{p}: {out:?}");
    }
}

/// A bind mount with `rshared` propagation under `rootfsPropagation: rshared`
/// (Kubernetes' Bidirectional mounts: containerd asks for exactly this) is a peer
/// of its shared source: a mount the container makes under it appears on the
/// host, as under runc. The host side is a private mount namespace of the test's
/// own (`unshare -m`), with a shared tmpfs as the source.
#[test]
fn bidirectional_bind_propagates_to_the_host() {
    let dir = TempDir::new("fastrun-bidi-");
    let src = dir.path().join("vol");
    std::fs::create_dir(&src).unwrap();
    let srcs = src.to_str().unwrap().to_string();
    let script = "mount -t tmpfs inner /mnt/sub && echo mounted";
    let bidi = |c: &mut Value| {
        c["linux"]["rootfsPropagation"] = json!("rshared");
        push(
            c,
            "mounts",
            json!({"destination": "/mnt", "type": "bind", "source": srcs,
                   "options": ["rbind", "rshared", "rw"]}),
        );
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SYS_ADMIN"));
        }
    };
    // In the test's own mount namespace: a shared tmpfs at SRC, the runtime's
    // `run`, then what the host side sees under SRC.
    let host_side = |runtime: &Path, tag: &str| -> Output {
        let b = sh_bundle(&format!("bidi-{tag}"), script).modify(bidi);
        let root = TempDir::new("fastrun-bidi-state-");
        let sh = format!(
            "mount --make-rprivate / && mount -t tmpfs src {src} && \
             mount --make-shared {src} && mkdir {src}/sub && \
             {rt} --root {root} run --bundle {bundle} {id}; \
             {rt} --root {root} delete -f {id} 2>/dev/null; \
             awk '$5 == \"{src}/sub\" {{ print \"host sees\", $9, $10 }}' /proc/self/mountinfo",
            src = srcs,
            rt = runtime.display(),
            root = root.path().display(),
            bundle = b.path().display(),
            id = b.id(),
        );
        let mut c = Command::new("unshare");
        c.args(["-m", "sh", "-c", &sh]);
        let o = run_cmd(c, None, TIMEOUT);
        assert!(!o.timed_out, "{tag} timed out: {o}");
        o
    };
    let f = host_side(fastrun_bin(), "fr");
    assert_eq!(f.stdout, "mounted\nhost sees tmpfs inner\n", "{f}");
    if let Some(r) = runc() {
        let r = host_side(Path::new(r), "runc");
        assert_eq!(f.stdout, r.stdout, "runc: {r}\nfastrun: {f}");
    }
}

/// Item 11: `unbindable` runs (runc fails it, crun runs it): the root is unbindable.
#[test]
fn rootfs_propagation_unbindable() {
    for p in ["unbindable", "runbindable"] {
        let out = sh_output(&format!("prop{p}"), ROOT_PROPAGATION, |c| {
            c["linux"]["rootfsPropagation"] = json!(p);
        });
        assert_eq!(out, "unbindable\n", "{p}");
    }
}

/// Item 12: a read-only /dev gets its mounts and devices, then is read-only.
#[test]
fn readonly_dev() {
    let out = assert_same(
        "rodev",
        "grep -E ' /dev ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1; \
         ls /dev/pts/ptmx /dev/null /dev/shm /dev/mqueue >/dev/null && echo present; \
         touch /dev/x 2>/dev/null || echo refused; echo hi > /dev/null && echo written",
        false,
        |c| {
            let dev = c["mounts"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|m| m["destination"] == "/dev")
                .unwrap();
            dev["options"].as_array_mut().unwrap().push(json!("ro"));
        },
    );
    assert_eq!(out, "ro\npresent\nrefused\nwritten\n");
}

/// Item 13: a bind of the host's /proc onto /proc (rootless `--pid host`) runs:
/// its source is a procfs. A bind of anything else onto /proc is still refused.
#[test]
fn bind_of_host_proc_onto_proc() {
    let host_proc = |c: &mut Value| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
        let proc = c["mounts"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|m| m["destination"] == "/proc")
            .unwrap();
        *proc = json!({"destination": "/proc", "type": "bind", "source": "/proc",
                       "options": ["rbind", "nosuid", "noexec", "nodev"]});
    };
    let out = assert_same(
        "hostproc",
        "stat -f -c %T /proc; [ -r /proc/1/status ] && echo host-pid-1; \
         cat /proc/kcore 2>/dev/null | wc -c",
        false,
        host_proc,
    );
    assert_eq!(out, "proc\nhost-pid-1\n0\n");

    let dir = TempDir::new("fastrun-notproc-");
    let src = dir.path().to_str().unwrap().to_string();
    let (r, f) = both("notproc", "true", false, |c| {
        host_proc(c);
        c["mounts"][0]["source"] = json!(src);
    });
    f.assert_failure();
    assert!(f.stderr.contains("/proc must be a procfs"), "{f}");
    if let Some(r) = r {
        r.assert_failure();
    }
}

/// A mount of a file system type on one of runc's lxcfs-style destinations under
/// /proc passes the config check in both runtimes and fails on the file when it is
/// mounted (a tmpfs root is a directory). Any other destination under /proc is
/// refused up front by fastrun, whatever the type; runc checks bind mounts only
/// there and tries the mount (docs/compatibility.md, host protection).
#[test]
fn a_non_bind_mount_on_an_allowed_proc_file_fails_when_mounted_as_runc() {
    let tmpfs_on = |name: &str, dest: &str| {
        both(name, "true", false, |c| {
            c["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs"}));
        })
    };
    let (r, f) = tmpfs_on("tmpfs-on-cpuinfo", "/proc/cpuinfo");
    f.assert_failure();
    let n = f.stderr.split("mounts[").nth(1).unwrap_or_default();
    assert!(
        n.contains("mount tmpfs on /proc/cpuinfo") && !f.stderr.contains("refused"),
        "{f}"
    );
    if let Some(r) = r {
        r.assert_failure();
        assert!(r.stderr.contains("/proc/cpuinfo"), "{r}");
        assert!(!r.stderr.contains("inside /proc"), "{r}");
    }
    let (r, f) = tmpfs_on("tmpfs-on-kcore", "/proc/kcore");
    f.assert_failure();
    assert!(f.stderr.contains("mounts over /proc are refused"), "{f}");
    if let Some(r) = r {
        r.assert_failure();
        assert!(r.stderr.contains("/proc/kcore"), "{r}");
    }
}

/// Item 14: with a user namespace, a bind source only the host's root may read
/// (a 0700 directory) is opened before the namespace is entered, as runc does.
#[test]
fn userns_bind_of_a_root_only_source() {
    use std::os::unix::fs::PermissionsExt;
    let parent = TempDir::new("fastrun-private-");
    let src = parent.path().join("vol");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("f"), "x\n").unwrap();
    // Only the host's root gets through the parent directory.
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(src.join("f"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let srcs = src.to_str().unwrap().to_string();
    let out = assert_same("usernsbind", "cat /tmp/f; id -u", false, |c| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        push(
            c,
            "mounts",
            json!({"destination": "/tmp", "type": "bind", "source": srcs, "options": ["rbind", "ro"]}),
        );
    });
    assert_eq!(out, "x\n0\n");
}

/// Item 15: a `linux.devices` node outside /dev is created (inside the root).
#[test]
fn device_outside_dev_is_created() {
    let out = assert_same("devmnt", "stat -c '%F %t:%T %a' /mnt/mydev", true, |c| {
        push(
            &mut c["linux"],
            "devices",
            json!({"path": "/mnt/mydev", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640}),
        );
    });
    assert_eq!(out, "character special file 1:3 640\n");
}

/// Item 16: access letters other than r, w and m are ignored, as runc's parser does.
#[test]
fn device_rule_access_rwa_is_rw() {
    let out = assert_same(
        "devrwa",
        "grep -E '^c 1:11 ' /sys/fs/cgroup/devices/devices.list",
        false,
        |c| {
            push(
                &mut c["linux"]["resources"],
                "devices",
                json!({"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwa"}),
            );
        },
    );
    assert_eq!(out, "c 1:11 rw\n");
}

/// Item 17: cpu.realtimeRuntime under the default cgroup parent (v1): the
/// runtime's own parent starts with no real-time budget; it is given what its
/// children need. (runc's default parent is the root, which has one.)
#[test]
fn realtime_runtime_under_the_default_parent() {
    let parent = Path::new("/sys/fs/cgroup/cpu/fastrun");
    if !Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        eprintln!("no v1 cpu real-time bandwidth here: skipped");
        return;
    }
    let read = |p: &Path| -> u64 {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    // Ask for more than the parent has now (in its period), so that it must grow.
    let before = read(&parent.join("cpu.rt_runtime_us"));
    let period = read(&parent.join("cpu.rt_period_us")).max(1_000_000);
    let runtime = (before * 100_000 / period) + 1000;
    let out = assert_same(
        "rtrun",
        "cat /sys/fs/cgroup/cpu/cpu.rt_runtime_us /sys/fs/cgroup/cpu/cpu.rt_period_us",
        false,
        |c| {
            c["linux"]["resources"]["cpu"] =
                json!({"realtimeRuntime": runtime, "realtimePeriod": 100000});
        },
    );
    assert_eq!(out, format!("{runtime}\n100000\n"));
    // Give back what the test took (the runtime does not shrink its parent).
    let _ = std::fs::write(parent.join("cpu.rt_runtime_us"), before.to_string());
}

/// Item 18: empty mount options (buildah's `-v SRC:DST`) are ignored.
#[test]
fn empty_mount_options_are_ignored() {
    let src = TempDir::new("fastrun-vol-");
    std::fs::write(src.path().join("hello"), "hi\n").unwrap();
    let srcs = src.path().to_str().unwrap().to_string();
    let out = assert_same("emptyopt", "cat /mnt/hello", false, |c| {
        push(
            c,
            "mounts",
            json!({"destination": "/mnt", "type": "bind", "source": srcs,
                   "options": ["", "rw", "private", "rbind"]}),
        );
    });
    assert_eq!(out, "hi\n");
}

// ---------------------------------------------------------------------------
// Process, hooks, lifecycle
// ---------------------------------------------------------------------------

/// Item 20: a missing `process.cwd` is created inside the root (as root, 0755),
/// also when the process runs as another user and the root is read-only.
#[test]
fn missing_cwd_is_created() {
    let out = assert_same("cwd", "pwd; stat -c '%u %a' /q /q/r; id -u", true, |c| {
        c["process"]["cwd"] = json!("/q/r");
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["root"]["readonly"] = json!(true);
    });
    assert_eq!(out, "/q/r\n0 755\n0 755\n1000\n");
}

/// Item 20: a cwd through a symlink that leaves the root is created inside it.
#[test]
fn missing_cwd_stays_in_the_root() {
    let b = sh_bundle("cwdesc", "pwd").own_rootfs();
    let outside = TempDir::new("fastrun-outside-");
    std::os::unix::fs::symlink(outside.path(), b.path().join("rootfs/escape")).unwrap();
    // The symlink's target read inside the root exists too: there it must land.
    let inside = b
        .path()
        .join("rootfs")
        .join(outside.path().strip_prefix("/").unwrap());
    std::fs::create_dir_all(&inside).unwrap();
    let b = b.modify(|c| c["process"]["cwd"] = json!("/escape/made"));
    let o = run_bundle(&b);
    o.assert_success();
    assert!(
        !outside.path().join("made").exists(),
        "cwd created outside the root"
    );
    assert!(
        inside.join("made").is_dir(),
        "cwd not created in the root: {o}"
    );
}

/// Item 21: `lo` of a new network namespace is up.
#[test]
fn loopback_is_up_in_a_new_network_namespace() {
    let out = assert_same("lo", "cat /sys/class/net/lo/flags", false, |_| {});
    assert_eq!(out, "0x9\n");
}

/// A hook program on the host: appends `<name> cwd=<pwd> var=<$HOOKVAR>
/// path=<exported PATHs>` to the file named by its second argument, exits with the third.
fn hook_script(dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("hook.sh");
    std::fs::write(
        &p,
        "#!/bin/sh\necho \"$1 cwd=$(pwd) var=${HOOKVAR:-none} path=$(/usr/bin/env | /bin/grep -c ^PATH=)\" >> \"$2\"\nexit ${3:-0}\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.to_str().unwrap().to_string()
}

/// Item 22: hooks without `env` inherit the runtime's environment (PATH
/// included), `env: []` means none; createContainer runs in the container's root
/// with the process's environment; the create hooks run in the bundle.
#[test]
fn hook_env_and_cwd_match_runc() {
    let tools = TempDir::new("fastrun-hooks-");
    let script = hook_script(tools.path());
    let run = |rt: &str| -> String {
        let b = Bundle::new(&format!("hookenv-{rt}")).own_rootfs();
        let out = b.path().join("hooks.out");
        let outs = out.to_str().unwrap().to_string();
        let h = |name: &str| json!({"path": script, "args": ["hook.sh", name, outs]});
        let b = b.modify(|c| {
            let mut empty = h("prestart-empty-env");
            empty["env"] = json!([]);
            c["hooks"] = json!({
                "prestart": [h("prestart"), empty],
                "createRuntime": [h("createRuntime")],
                "createContainer": [h("createContainer")],
                "poststart": [h("poststart")],
                "poststop": [h("poststop")],
            });
        });
        let state = TempDir::new("hook-state-");
        let mut cmd = if rt == "runc" {
            Command::new("runc")
        } else {
            Command::new(fastrun_bin())
        };
        cmd.arg("--root")
            .arg(state.path())
            .args(["run", "--bundle"])
            .arg(b.path())
            .arg(b.id())
            // Not the bundle: both runtimes must move there for these hooks.
            .current_dir("/")
            .env("HOOKVAR", "inherited");
        let o = run_cmd(cmd, None, TIMEOUT);
        o.assert_success();
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let rootfs = b.path().join("rootfs");
        text.replace(rootfs.to_str().unwrap(), "ROOTFS")
            .replace(b.path().to_str().unwrap(), "BUNDLE")
    };
    let ours = run("fastrun");
    assert_eq!(
        ours,
        "prestart cwd=BUNDLE var=inherited path=1\n\
         prestart-empty-env cwd=BUNDLE var=none path=0\n\
         createRuntime cwd=BUNDLE var=inherited path=1\n\
         createContainer cwd=ROOTFS var=none path=1\n\
         poststart cwd=BUNDLE var=inherited path=1\n\
         poststop cwd=BUNDLE var=inherited path=1\n"
    );
    if runc().is_some() {
        assert_eq!(ours, run("runc"), "fastrun and runc differ");
    }
}

/// Item 23: a failing poststart hook fails the command, and the container is
/// killed and removed (its poststop hooks run), as runc 1.1.5 does (where it
/// fails `create`: runc runs poststart there).
#[test]
fn failing_poststart_removes_the_container() {
    let tools = TempDir::new("fastrun-hooks-");
    let script = hook_script(tools.path());
    let make = |tag: &str| {
        let b = Bundle::new(&format!("poststart-{tag}")).args(&["sleep", "60"]);
        let outs = b.path().join("hooks.out").to_str().unwrap().to_string();
        b.modify(|c| {
            c["hooks"] = json!({
                "poststart": [{"path": script, "args": ["hook.sh", "poststart", outs, "3"]}],
                "poststop": [{"path": script, "args": ["hook.sh", "poststop", outs]}],
            });
        })
    };
    let b = make("fr");
    let root = StateRoot::new();
    let c = Container::new(&root, &b);
    c.create().assert_success();
    let o = c.start();
    o.assert_failure();
    assert!(o.stderr.contains("hooks.poststart[0]"), "{o}");
    let st = c.state();
    st.assert_failure();
    c.assert_no_leftovers();
    let hooks = std::fs::read_to_string(b.path().join("hooks.out")).unwrap();
    assert!(
        hooks.starts_with("poststart ") && hooks.contains("\npoststop "),
        "{hooks}"
    );
    if let Some(bin) = runc() {
        let rb = make("runc");
        let rroot = TempDir::new("runc-state-");
        let r = |args: &[&str]| {
            let mut cmd = Command::new(bin);
            cmd.arg("--root").arg(rroot.path()).args(args);
            run_cmd_to_files(cmd, rb.path(), "runc", TIMEOUT)
        };
        r(&["create", "--bundle", rb.path().to_str().unwrap(), rb.id()]).assert_failure();
        let st = r(&["state", rb.id()]);
        r(&["delete", "-f", rb.id()]);
        st.assert_failure();
    }
}

/// Item 24: while create is in progress (a createRuntime hook holds it),
/// `state` fails as runc's does and `list` does not show the container; once
/// create has returned, `state` says created.
#[test]
fn state_during_create_fails_like_runc() {
    let check = |rt: &str| {
        let b = Bundle::new(&format!("creating-{rt}")).args(&["sleep", "60"]);
        let gate = b.path().join("gate");
        let entered = b.path().join("entered");
        let wait = format!(
            "touch {}; i=0; while [ ! -e {} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done",
            entered.display(),
            gate.display()
        );
        let b = b.modify(|c| {
            c["hooks"] =
                json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", wait]}]});
        });
        let state = TempDir::new("creating-state-");
        let bin: &Path = if rt == "runc" {
            Path::new("runc")
        } else {
            fastrun_bin()
        };
        let cmd = |args: &[&str]| {
            let mut c = Command::new(bin);
            c.arg("--root").arg(state.path()).args(args);
            c
        };
        let mut create = cmd(&["create", "--bundle", b.path().to_str().unwrap(), b.id()]);
        create
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let bg = Background::spawn(create);
        wait_until("the hook runs", TIMEOUT, || entered.exists());
        let during = run_cmd(cmd(&["state", b.id()]), None, TIMEOUT);
        let listed = run_cmd(cmd(&["list", "-q"]), None, TIMEOUT);
        std::fs::write(&gate, "").unwrap();
        let created = bg.wait(TIMEOUT);
        let after = run_cmd(cmd(&["state", b.id()]), None, TIMEOUT);
        run_cmd(cmd(&["delete", "-f", b.id()]), None, TIMEOUT);
        created.assert_success();
        during.assert_failure();
        assert!(!listed.stdout.contains(b.id()), "{rt} listed it: {listed}");
        after.assert_success();
        let st: Value = serde_json::from_str(&after.stdout).unwrap();
        assert_eq!(st["status"], "created", "{rt}");
        if rt != "runc" {
            assert!(during.stderr.contains("does not exist"), "{during}");
            assert_no_leftovers(state.path(), b.id());
        }
    };
    check("fastrun");
    if runc().is_some() {
        check("runc");
    }
}

/// Item 19: without HOME in process.env, HOME is the uid's home in the
/// container's /etc/passwd (as the container sees it, mounts included), else "/";
/// a HOME given is kept.
#[test]
fn home_from_the_containers_passwd() {
    let probe = "env | grep '^HOME='";
    let without_home = |c: &mut Value| {
        let env = c["process"]["env"].as_array_mut().unwrap();
        env.retain(|e| !e.as_str().unwrap().starts_with("HOME="));
    };
    let cases: [(u32, &str); 3] = [(0, "/root"), (1000, "/tmp"), (1234, "/")];
    for (uid, want) in cases {
        let out = assert_same(&format!("home{uid}"), probe, false, |c| {
            without_home(c);
            c["process"]["user"] = json!({"uid": uid, "gid": uid});
        });
        assert_eq!(out, format!("HOME={want}\n"), "uid {uid}");
    }
    let out = assert_same("homeset", probe, false, |c| {
        without_home(c);
        push(&mut c["process"], "env", json!("HOME=/given"));
    });
    assert_eq!(out, "HOME=/given\n");
    // A passwd bound over the image's.
    let dir = TempDir::new("fastrun-passwd-");
    let pw = dir.path().join("passwd");
    std::fs::write(&pw, "root:x:0:0:root:/from-bind:/bin/sh\n").unwrap();
    let pws = pw.to_str().unwrap().to_string();
    let out = assert_same("homebind", probe, false, |c| {
        without_home(c);
        push(
            c,
            "mounts",
            json!({"destination": "/etc/passwd", "type": "bind", "source": pws, "options": ["bind", "ro"]}),
        );
    });
    assert_eq!(out, "HOME=/from-bind\n");
}

/// Item 19: a `/etc/passwd` hidden by `maskedPaths` (the file, or `/etc`) lists
/// nobody: HOME is "/", as runc reads it after the masks.
#[test]
fn home_with_a_masked_passwd_is_the_root_directory() {
    let probe = "env | grep '^HOME='";
    for masked in ["/etc/passwd", "/etc"] {
        let out = assert_same(&format!("homemask{}", masked.len()), probe, false, |c| {
            let env = c["process"]["env"].as_array_mut().unwrap();
            env.retain(|e| !e.as_str().unwrap().starts_with("HOME="));
            push(&mut c["linux"], "maskedPaths", json!(masked));
        });
        assert_eq!(out, "HOME=/\n", "masked {masked}");
    }
}

/// Item 22: a startContainer hook without `env` gets the process's environment as
/// the process gets it (runc runs it from its init, after HOME is set).
#[test]
fn start_container_hook_gets_the_processs_home() {
    let out = assert_same("starthome", "cat /tmp/hook.env", true, |c| {
        let env = c["process"]["env"].as_array_mut().unwrap();
        env.retain(|e| !e.as_str().unwrap().starts_with("HOME="));
        c["hooks"] = json!({"startContainer": [{"path": "/bin/sh",
            "args": ["sh", "-c", "env | grep -e ^HOME= -e ^PATH= | sort > /tmp/hook.env"]}]});
    });
    assert!(out.starts_with("HOME=/root\nPATH="), "{out}");
}

/// Item 19: `exec` sets HOME the same way, for the uid it runs as.
#[test]
fn exec_sets_home_for_its_user() {
    let run = |rt: &str| -> Vec<String> {
        let b = Bundle::new(&format!("exechome-{rt}"))
            .args(&["sleep", "60"])
            .modify(|c| {
                let env = c["process"]["env"].as_array_mut().unwrap();
                env.retain(|e| !e.as_str().unwrap().starts_with("HOME="));
            });
        let state = TempDir::new("exechome-state-");
        let bin: &Path = if rt == "runc" {
            Path::new("runc")
        } else {
            fastrun_bin()
        };
        let cmd = |args: &[&str]| {
            let mut c = Command::new(bin);
            c.arg("--root").arg(state.path()).args(args);
            c
        };
        let mut start = cmd(&["run", "-d", "--bundle", b.path().to_str().unwrap(), b.id()]);
        start
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let started = run_cmd(start, None, TIMEOUT);
        let mut outs = Vec::new();
        for user in ["0", "1000:1000", "4321"] {
            let o = run_cmd(
                cmd(&[
                    "exec",
                    "--user",
                    user,
                    b.id(),
                    "sh",
                    "-c",
                    "env | grep ^HOME=",
                ]),
                None,
                TIMEOUT,
            );
            outs.push(format!(
                "{user} {} {}",
                o.status.unwrap_or(-1),
                o.stdout.trim()
            ));
        }
        run_cmd(cmd(&["delete", "-f", b.id()]), None, TIMEOUT);
        started.assert_success();
        outs
    };
    let ours = run("fastrun");
    assert_eq!(
        ours,
        ["0 0 HOME=/root", "1000:1000 0 HOME=/tmp", "4321 0 HOME=/"]
    );
    if runc().is_some() {
        assert_eq!(ours, run("runc"));
    }
}

/// Item 26: compiled seccomp filters are cached under the state root given
/// with --root (not a global directory), and a broken cache never fails a start.
#[test]
fn seccomp_cache_lives_under_the_state_root() {
    let profile = |c: &mut Value| {
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdirat", "mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        });
    };
    let b = sh_bundle("sccache", "mkdir /tmp/x 2>/dev/null || echo denied").modify(profile);
    let root = StateRoot::new();
    let _guard = Container::new(&root, &b);
    let o = root.fastrun(&["run", "--bundle", b.path().to_str().unwrap(), b.id()]);
    o.assert_success();
    assert_eq!(o.stdout, "denied\n");
    let cache = root.path().join(".seccomp-cache");
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap_or_else(|e| panic!("{}: {e}", cache.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].ends_with(".bpf"), "{entries:?}");
    // `list` does not take it for a container.
    let l = root.fastrun(&["list", "-q"]);
    l.assert_success();
    assert_eq!(l.stdout.trim(), "", "{l}");

    // A cache that cannot be used (a file where the directory goes).
    let b2 = sh_bundle("sccache2", "mkdir /tmp/x 2>/dev/null || echo denied").modify(profile);
    let root2 = StateRoot::new();
    std::fs::write(root2.path().join(".seccomp-cache"), "junk").unwrap();
    let _guard2 = Container::new(&root2, &b2);
    let o = root2.fastrun(&["run", "--bundle", b2.path().to_str().unwrap(), b2.id()]);
    o.assert_success();
    assert_eq!(o.stdout, "denied\n");
}

/// Item 25: `kill -a ID 0` (and `kill ID 0`) is accepted: a liveness check.
#[test]
fn kill_signal_zero_is_accepted() {
    let root = StateRoot::new();
    let bundle = Bundle::new("kill0").args(&["sleep", "60"]);
    let c = Container::new(&root, &bundle);
    c.create().assert_success();
    c.start().assert_success();
    c.wait_status("running", Duration::from_secs(10));
    root.fastrun(&["kill", "-a", c.id(), "0"]).assert_success();
    root.fastrun(&["kill", c.id(), "0"]).assert_success();
    // Nothing was delivered: the process still runs.
    assert_eq!(c.state_json()["status"], "running");
    if let Some(bin) = runc() {
        let rroot = TempDir::new("runc-state-");
        let rb = Bundle::new("kill0-runc").args(&["sleep", "60"]);
        let r = |args: &[&str]| {
            let mut cmd = Command::new(bin);
            cmd.arg("--root").arg(rroot.path()).args(args);
            run_cmd(cmd, None, TIMEOUT)
        };
        r(&[
            "run",
            "-d",
            "--bundle",
            rb.path().to_str().unwrap(),
            rb.id(),
        ])
        .assert_success();
        let k = r(&["kill", "-a", rb.id(), "0"]);
        r(&["delete", "-f", rb.id()]);
        k.assert_success();
    }
    c.kill("KILL").assert_success();
    c.wait_status("stopped", Duration::from_secs(10));
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

// ---------------------------------------------------------------------------
// Config parsing (issue 24): Go's encoding/json against fastrun's parser
// ---------------------------------------------------------------------------

/// Where fastrun's config parser is stricter than runc's Go decoder
/// (docs/compatibility.md, "Config parsing"): runc runs every one of these
/// `config.json` files, fastrun refuses them naming the problem and leaves nothing
/// behind. A key in another case is *applied* by runc (`"Process"` runs the
/// process). The last case both refuse.
#[test]
fn config_json_numbers_that_go_reads_run() {
    // Fuzz regressions (config_differential): simd-json refused these, Go reads
    // the nearest f64 (0 on underflow) and skips them in an unknown field.
    for (name, numbers) in [
        ("underflow", "[1e-330, 4.9e-324, -1e-400]"),
        ("exponents", "[1e0001, 10E0, 1.7976931348623157e308]"),
    ] {
        let make = |tag: &str| {
            let b = sh_bundle(&format!("num-{name}-{tag}"), "echo ran");
            let text = serde_json::to_string_pretty(b.config()).unwrap();
            let text = text.replacen('{', &format!("{{\"x-n\": {numbers},"), 1);
            std::fs::write(b.path().join("config.json"), text).unwrap();
            b
        };
        let f = run_bundle(&make("fr"));
        f.assert_success();
        assert_eq!(f.stdout.trim(), "ran", "{name}: {f}");
        if let Some(r) = runc_run(&make("runc")) {
            r.assert_success();
            assert_eq!(r.stdout.trim(), "ran", "{name}: {r}");
        }
    }
}

#[test]
fn config_json_that_go_accepts_and_fastrun_refuses() {
    type Edit = fn(&str) -> Vec<u8>;
    // Each edit works on the pretty-printed config (`{\n  "ociVersion": ...`).
    let cases: [(&str, Edit, bool, &[&str]); 7] = [
        (
            "trailing",
            |t| format!("{t}\n{{}}\n").into_bytes(),
            true,
            &["config.json: invalid JSON", "trailing characters"],
        ),
        (
            "duplicate",
            |t| {
                t.replacen("{", "{\"ociVersion\": \"1.0.2\",", 1)
                    .into_bytes()
            },
            true,
            &["duplicate field `ociVersion`"],
        ),
        (
            "utf8",
            |t| {
                let mut v = b"{\"annotations\": {\"a\": \"\xff\"},".to_vec();
                v.extend_from_slice(&t.as_bytes()[1..]);
                v
            },
            true,
            &["config.json: invalid JSON", "UTF-8"],
        ),
        (
            "range",
            |t| {
                t.replacen(
                    "{",
                    "{\"x-big\": [1e400, 18446744073709551616, 1.5e309],",
                    1,
                )
                .into_bytes()
            },
            true,
            &["config.json: invalid JSON", "number"],
        ),
        (
            "depth",
            |t| {
                let deep = format!("{{\"x-deep\": {}{},", "[".repeat(200), "]".repeat(200));
                t.replacen("{", &deep, 1).into_bytes()
            },
            true,
            &["config.json: invalid JSON", "nested deeper than 128"],
        ),
        (
            "case",
            |t| t.replacen("\"process\":", "\"Process\":", 1).into_bytes(),
            true,
            &["Process: unknown key", "the field is \"process\""],
        ),
        (
            "longfloat",
            |t| {
                t.replacen(
                    "{",
                    "{\"x-n\": 527777777777777777.5555555555555555550955555555555true,",
                    1,
                )
                .into_bytes()
            },
            false,
            &["config.json: invalid JSON"],
        ),
    ];
    for (name, edit, runc_runs, want) in cases {
        let make = |tag: &str| {
            let b = sh_bundle(&format!("cfg-{name}-{tag}"), "echo ran");
            let text = serde_json::to_string_pretty(b.config()).unwrap();
            std::fs::write(b.path().join("config.json"), edit(&text)).unwrap();
            b
        };
        let fb = make("fr");
        let f = run_bundle(&fb);
        f.assert_failure();
        for w in want {
            assert!(f.stderr.contains(w), "{name}: want {w:?}: {f}");
        }
        let rb = make("runc");
        if let Some(r) = runc_run(&rb) {
            if runc_runs {
                r.assert_success();
                assert_eq!(r.stdout.trim(), "ran", "{name}: {r}");
            } else {
                r.assert_failure();
            }
        }
    }
}
