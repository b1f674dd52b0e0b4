//! Escapes through what a config (or an `exec --process` file) can ask for, each
//! tried as the container's own process, with the host checked afterwards (issue
//! 15): missing `process.capabilities`, `exec --cap`, sysctls outside the
//! container's namespaces, `root.path` without a mount namespace, startContainer
//! hooks, device rule order, `--no-pivot`, writes to a raced `/proc` and oversized
//! seccomp profiles. Where runc is the contract, runc runs the same bundle.

use std::process::Command;

use super::*;

const CAP_SYS_ADMIN: u32 = 21;
const CAP_NET_RAW: u32 = 13;

/// `runc run` of the same bundle (the oracle), under its own state root; the
/// container is force-deleted afterwards. None when runc is not installed.
fn runc_run(bundle: &Bundle, id: &str) -> Option<Output> {
    runc_run_with(bundle, id, &[])
}

/// [`runc_run`] with flags for `runc run`.
fn runc_run_with(bundle: &Bundle, id: &str, flags: &[&str]) -> Option<Output> {
    if Command::new("runc").arg("--version").output().is_err() {
        eprintln!("note: runc is not installed; runc comparison skipped");
        return None;
    }
    let root = TempDir::new("fastrun-runc-root-");
    let mut c = Command::new("runc");
    c.arg("--root")
        .arg(root.path())
        .arg("run")
        .args(flags)
        .arg("--bundle");
    c.arg(bundle.path()).arg(id);
    let o = run_cmd(c, None, T);
    let mut d = Command::new("runc");
    d.arg("--root").arg(root.path()).args(["delete", "-f", id]);
    let _ = run_cmd(d, None, T);
    Some(o)
}

/// A host sysctl's value (for "the host is unchanged" checks).
fn host_sysctl(name: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{}", name.replace('.', "/"))).unwrap()
}

/// The attacker: root in a container whose config has no `capabilities`. It
/// proves each capability it would need by harmless means (its own mount
/// namespace, a host sysctl rewritten with its current value).
const CAPS_ATTACK: &str = "grep -E '^Cap(Eff|Bnd)' /proc/self/status; \
    umount /proc/sys 2>/dev/null && echo UNMOUNTED-proc-sys; \
    mount -t tmpfs none /tmp 2>/dev/null && echo MOUNTED-tmpfs; \
    v=$(cat /proc/sys/kernel/core_uses_pid); \
    echo \"$v\" 2>/dev/null > /proc/sys/kernel/core_uses_pid && echo WROTE-host-sysctl; \
    echo end";

fn assert_caps_attack_failed(o: &Output) {
    o.assert_success();
    assert!(o.stdout.ends_with("end\n"), "{o}");
    for bad in ["UNMOUNTED", "MOUNTED", "WROTE"] {
        assert!(!o.stdout.contains(bad), "{bad}: {o}");
    }
    assert_eq!(cap_field(&o.stdout, "CapEff:"), 0, "{o}");
    assert_eq!(cap_field(&o.stdout, "CapBnd:"), 0, "{o}");
}

/// Issue 15 item 2: no `process.capabilities` at create means no capability at
/// all (runc), not every capability of the runtime.
#[test]
fn missing_capabilities_means_none_at_create() {
    let core_pattern = host_sysctl("kernel.core_pattern");
    let root = StateRoot::new();
    let b = Bundle::new("esc-nocaps")
        .own_rootfs()
        .args(&["sh", "-c", CAPS_ATTACK])
        .modify(|v| {
            v["process"].as_object_mut().unwrap().remove("capabilities");
        });
    add_applets(&rootfs_of(&b), &["umount"]);
    let c = Container::new(&root, &b);
    let o = c.run();
    assert_caps_attack_failed(&o);
    assert_eq!(host_sysctl("kernel.core_pattern"), core_pattern);
    c.assert_no_leftovers();
    if let Some(r) = runc_run(&b, &unique_id("esc-nocaps-runc")) {
        assert_caps_attack_failed(&r);
    }
}

/// Issue 15 item 2, for `exec --process FILE`: a process file without
/// `capabilities` gets the container's own sets (runc), not all of root's.
#[test]
fn exec_process_file_without_capabilities_gets_the_containers_sets() {
    let root = StateRoot::new();
    let b = Bundle::new("esc-exec-nocaps")
        .own_rootfs()
        .args(&["sleep", "600"]);
    add_applets(&rootfs_of(&b), &["umount"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let mut p = b.config()["process"].clone();
    p.as_object_mut().unwrap().remove("capabilities");
    p["args"] = serde_json::json!(["sh", "-c", CAPS_ATTACK]);
    let file = b.path().join("exec-process.json");
    std::fs::write(&file, p.to_string()).unwrap();
    let o = root.fastrun(&["exec", "--process", file.to_str().unwrap(), c.id()]);
    o.assert_success();
    for bad in ["UNMOUNTED", "MOUNTED", "WROTE"] {
        assert!(!o.stdout.contains(bad), "{bad}: {o}");
    }
    // The container's own sets: runc's default three.
    let own = 1u64 << 5 | 1 << 10 | 1 << 29;
    assert_eq!(cap_field(&o.stdout, "CapEff:"), own, "{o}");
    assert_eq!(cap_field(&o.stdout, "CapBnd:"), own, "{o}");
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

/// CVE-2022-29162 pattern: `exec --cap` for a non-root user adds the capability
/// to the bounding, effective and permitted sets only (runc); inheritable and
/// ambient stay what the config asked for (empty), so it is not passed on across
/// an exec of a program without file capabilities.
#[test]
fn exec_cap_never_grows_inheritable_or_ambient() {
    let root = StateRoot::new();
    let b = Bundle::new("esc-exec-cap").args(&["sleep", "600"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let o = root.fastrun(&[
        "exec",
        "--user",
        "1000:1000",
        "--cap",
        "CAP_NET_RAW",
        "--cap",
        "CAP_SYS_ADMIN",
        c.id(),
        "sh",
        "-c",
        "grep ^Cap /proc/self/status",
    ]);
    o.assert_success();
    for set in ["CapInh:", "CapAmb:"] {
        assert_eq!(cap_field(&o.stdout, set), 0, "{set}: {o}");
    }
    let bnd = cap_field(&o.stdout, "CapBnd:");
    assert_ne!(bnd & 1 << CAP_NET_RAW, 0, "{o}");
    assert_ne!(bnd & 1 << CAP_SYS_ADMIN, 0, "{o}");
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}

/// `run` of `b` is refused with an error naming `linux.sysctl["NAME"]` (stderr and
/// the JSON log), leaves nothing, and runc refuses the same bundle.
#[track_caller]
fn assert_sysctl_refused(b: &Bundle, name: &str) {
    let root = StateRoot::new();
    let logs = TempDir::new("fastrun-log-");
    let log = logs.path().join("log.json");
    let _guard = Container::new(&root, b);
    let o = root.fastrun(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "run",
        "--bundle",
        b.path().to_str().unwrap(),
        b.id(),
    ]);
    assert_eq!(o.status, Some(1), "{o}");
    let field = format!("linux.sysctl[{name:?}]");
    assert!(o.stderr.contains(&field), "{o}");
    assert!(!o.stdout.contains("RAN"), "{o}");
    let logged = log_lines(&log);
    assert!(
        logged
            .iter()
            .any(|l| l["level"] == "error" && l["msg"].as_str().unwrap().contains(&field)),
        "{logged:?}"
    );
    assert_no_leftovers(root.path(), b.id());
    if let Some(r) = runc_run(b, &unique_id("esc-sysctl-runc")) {
        r.assert_failure();
        assert!(!r.stdout.contains("RAN"), "runc ran it: {r}");
    }
}

/// A bundle asking for sysctl `name` = the host's current value (harmless should
/// it ever be written), with `modify` applied.
fn sysctl_bundle(name: &str, modify: impl FnOnce(&mut serde_json::Value)) -> Bundle {
    let value = host_sysctl(name).trim_end().to_string();
    Bundle::new("esc-sysctl")
        .args(&["sh", "-c", "echo RAN"])
        .modify(|v| {
            v["linux"]["sysctl"] = serde_json::json!({ name: value });
            modify(v);
        })
}

fn drop_namespace(v: &mut serde_json::Value, typ: &str) {
    v["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != typ);
}

/// Issue 15 item 4: a host-wide sysctl (`kernel.core_pattern`: code execution on
/// the host at the next crash) is refused, whatever the namespaces.
#[test]
fn sysctl_host_wide_core_pattern_is_refused() {
    let before = host_sysctl("kernel.core_pattern");
    for name in ["kernel.core_pattern", "kernel/core_pattern"] {
        let value = before.trim_end().to_string();
        let b = Bundle::new("esc-sysctl")
            .args(&["sh", "-c", "echo RAN"])
            .modify(|v| v["linux"]["sysctl"] = serde_json::json!({ name: value }));
        assert_sysctl_refused(&b, name);
    }
    assert_eq!(host_sysctl("kernel.core_pattern"), before);
}

/// `net.*` with the host's network namespace (`--network host --sysctl
/// net.ipv4.ip_forward=1`) is refused: no namespace of its own, or the host's own
/// joined by path.
#[test]
fn sysctl_net_with_the_hosts_network_is_refused() {
    let before = host_sysctl("net.ipv4.ip_forward");
    let b = sysctl_bundle("net.ipv4.ip_forward", |v| drop_namespace(v, "network"));
    assert_sysctl_refused(&b, "net.ipv4.ip_forward");
    // Joined by path, the path being the host's (the runtime's) own namespace.
    let b = sysctl_bundle("net.ipv4.ip_forward", |v| {
        for n in v["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "network" {
                n["path"] = "/proc/self/ns/net".into();
            }
        }
    });
    assert_sysctl_refused(&b, "net.ipv4.ip_forward");
    assert_eq!(host_sysctl("net.ipv4.ip_forward"), before);
}

/// IPC sysctls with the host's IPC namespace (`--ipc host --sysctl
/// kernel.msgmax=…`), and `fs.mqueue.*`, are refused.
#[test]
fn sysctl_ipc_with_the_hosts_ipc_is_refused() {
    for name in ["kernel.msgmax", "fs.mqueue.queues_max"] {
        let before = host_sysctl(name);
        let b = sysctl_bundle(name, |v| drop_namespace(v, "ipc"));
        assert_sysctl_refused(&b, name);
        assert_eq!(host_sysctl(name), before);
    }
}

/// `kernel.hostname` (without a UTS namespace it is the host's name) is refused:
/// the `hostname` field is the way (runc refuses it with a UTS namespace too).
#[test]
fn sysctl_hostname_without_uts_is_refused() {
    let before = host_sysctl("kernel.hostname");
    let b = sysctl_bundle("kernel.hostname", |v| {
        drop_namespace(v, "uts");
        v.as_object_mut().unwrap().remove("hostname");
    });
    assert_sysctl_refused(&b, "kernel.hostname");
    assert_eq!(host_sysctl("kernel.hostname"), before);
}

/// What Docker and podman generate keeps working: podman's
/// `net.ipv4.ping_group_range` and an IPC sysctl with the container's own
/// namespaces are applied inside, and runc agrees; the host keeps its values.
#[test]
fn sysctls_in_the_containers_own_namespaces_still_work() {
    let ping = host_sysctl("net.ipv4.ping_group_range");
    let shm = host_sysctl("kernel.shm_rmid_forced");
    let b = Bundle::new("esc-sysctl-ok")
        .args(&[
            "sh",
            "-c",
            "cat /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/shm_rmid_forced",
        ])
        .modify(|v| {
            v["linux"]["sysctl"] = serde_json::json!({
                "net.ipv4.ping_group_range": "0 2147483647",
                "kernel.shm_rmid_forced": "1",
            })
        });
    let o = run_bundle(&b);
    o.assert_success();
    assert_eq!(o.stdout, "0\t2147483647\n1\n", "{o}");
    if let Some(r) = runc_run(&b, &unique_id("esc-sysctl-ok-runc")) {
        assert_eq!(r.stdout, o.stdout, "runc: {r}");
    }
    assert_eq!(host_sysctl("net.ipv4.ping_group_range"), ping);
    assert_eq!(host_sysctl("kernel.shm_rmid_forced"), shm);
}

/// The entries of `/` a container on the shared test rootfs sees.
fn rootfs_listing() -> String {
    let mut v: Vec<String> = std::fs::read_dir(rootfs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v.join("\n") + "\n"
}

/// The attacker without a mount namespace: lists `/` and reads a host file by
/// its absolute path.
fn root_attack(host: &HostDir) -> String {
    format!(
        "ls /; cat {}/HOST_MARKER 2>/dev/null && echo READ-host-file; true",
        host.as_str()
    )
}

/// Issue 15 item 5: with no `mount` in `linux.namespaces` the process still runs
/// in `root.path`, never in the host's `/` (runc chroots there). The config's
/// mounts are not made (fastrun never mounts in the host's namespace).
#[test]
fn root_path_holds_without_a_mount_namespace() {
    let host = HostDir::new("noms");
    let snap = HostSnapshot::take(&[host.path()]);
    let b = Bundle::new("esc-noms")
        .args(&["sh", "-c", &root_attack(&host)])
        .modify(|v| {
            drop_namespace(v, "mount");
            // Masks are refused without a mount namespace (as runc).
            v["linux"]["maskedPaths"] = serde_json::json!([]);
            v["linux"]["readonlyPaths"] = serde_json::json!([]);
        });
    let o = run_bundle(&b);
    o.assert_success();
    assert!(!o.stdout.contains("READ-host-file"), "{o}");
    assert_eq!(o.stdout, rootfs_listing(), "{o}");
    // runc (by hand, not here): with the config's mounts it lists root.path too,
    // but mounts them in the caller's namespace and leaves them on the host; with
    // none it fails ("open /proc/self/fd" inside root.path).
    snap.assert_same();
}

/// Masks cannot be made without a mount namespace of the container's own: refused
/// (runc: "unable to restrict sys entries without a private MNT namespace").
#[test]
fn masks_without_a_mount_namespace_are_refused() {
    let b = Bundle::new("esc-noms-masks").modify(|v| drop_namespace(v, "mount"));
    let o = run_bundle(&b);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("linux.maskedPaths"), "{o}");
    if let Some(r) = runc_run(&b, &unique_id("esc-noms-masks-runc")) {
        r.assert_failure();
    }
}

/// Issue 15 item 5, joined: with a mount namespace joined by path (here a holder
/// process's private copy of the host's), the process runs in `root.path` too.
/// (runc pivots inside the joined namespace, which moves its other processes'
/// root as well: not compared.)
#[test]
fn root_path_holds_in_a_joined_mount_namespace() {
    let host = HostDir::new("joinms");
    let mut holder_cmd = Command::new("unshare");
    holder_cmd.args(["-m", "--propagation", "private", "sleep", "60"]);
    let holder = Background::spawn(holder_cmd);
    let ns = format!("/proc/{}/ns/mnt", holder.pid());
    wait_until("the holder's mount namespace", T, || {
        std::fs::read_link(&ns).ok() != std::fs::read_link("/proc/self/ns/mnt").ok()
    });
    let b = Bundle::new("esc-joinms")
        .args(&["sh", "-c", &root_attack(&host)])
        .modify(|v| {
            for n in v["linux"]["namespaces"].as_array_mut().unwrap() {
                if n["type"] == "mount" {
                    n["path"] = ns.clone().into();
                }
            }
        });
    let o = run_bundle(&b);
    o.assert_success();
    assert!(!o.stdout.contains("READ-host-file"), "{o}");
    assert_eq!(o.stdout, rootfs_listing(), "{o}");
    drop(holder);
}

/// What a startContainer hook from the image records about itself, and the
/// attack it tries (as CAPS_ATTACK), into `/tmp/hook.out` of the container.
const HOOK_ATTACK: &str = "cat > /tmp/hook.state; exec > /tmp/hook.out 2>&1; \
    grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; \
    echo fds $(ls /proc/self/fd); \
    echo cgroup $(cat /proc/self/cgroup | grep -c .) $(cat /proc/self/cgroup | sort | tr -d '\\n'); \
    umount /proc/sys 2>/dev/null && echo UNMOUNTED-proc-sys; \
    v=$(cat /proc/sys/kernel/core_uses_pid); \
    echo \"$v\" 2>/dev/null > /proc/sys/kernel/core_uses_pid && echo WROTE-host-sysctl; \
    echo hook-end";

/// Issue 15 item 3: a startContainer hook (its path resolved in the container,
/// so the image supplies it) runs with the container's capabilities,
/// `noNewPrivileges`, cgroup and namespaces, with nothing of the runtime's open,
/// as runc runs it (from the container's init); and before the user program.
#[test]
fn start_container_hook_runs_with_the_containers_privileges() {
    let core_pattern = host_sysctl("kernel.core_pattern");
    for (runtime, use_runc) in [("fastrun", false), ("runc", true)] {
        let root = StateRoot::new();
        let b = Bundle::new("esc-hook")
            .own_rootfs()
            .args(&[
                "sh",
                "-c",
                "test -f /tmp/hook.out && echo HOOK-BEFORE-PROGRAM; \
                 grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; \
                 echo cgroup $(cat /proc/self/cgroup | grep -c .) $(cat /proc/self/cgroup | sort | tr -d '\\n')",
            ])
            .modify(|v| {
                v["hooks"] = serde_json::json!({"startContainer": [
                    {"path": "/bin/sh", "args": ["sh", "-c", HOOK_ATTACK], "timeout": 20}
                ]});
            });
        add_applets(&rootfs_of(&b), &["umount"]);
        let o = if use_runc {
            match runc_run(&b, &unique_id("esc-hook-runc")) {
                Some(o) => o,
                None => continue,
            }
        } else {
            let c = Container::new(&root, &b);
            let o = c.run();
            c.assert_no_leftovers();
            o
        };
        o.assert_success();
        let hook = std::fs::read_to_string(rootfs_of(&b).join("tmp/hook.out")).unwrap();
        assert!(hook.ends_with("hook-end\n"), "{runtime}: {hook}");
        assert!(o.stdout.contains("HOOK-BEFORE-PROGRAM"), "{runtime}: {o}");
        for bad in ["UNMOUNTED", "WROTE"] {
            assert!(!hook.contains(bad), "{runtime}: {bad}: {hook}");
        }
        // The program's own view, field by field.
        for field in ["CapEff:", "CapBnd:", "NoNewPrivs:", "Seccomp:", "cgroup "] {
            let line = |s: &str| s.lines().find(|l| l.starts_with(field)).map(str::to_owned);
            assert_eq!(
                line(&hook),
                line(&o.stdout),
                "{runtime}: {field}\n{hook}\n{o}"
            );
        }
        // stdio (pipes) and the fd `ls` itself opens: nothing of the runtime's.
        let fds = hook.lines().find(|l| l.starts_with("fds ")).unwrap();
        assert_eq!(fds, "fds 0 1 2 3", "{runtime}: {hook}");
        // The state on stdin: "created", and the init's pid as it sees itself.
        let state = std::fs::read_to_string(rootfs_of(&b).join("tmp/hook.state")).unwrap();
        let state: serde_json::Value = serde_json::from_str(&state).unwrap();
        assert_eq!(state["status"], "created", "{runtime}: {state}");
        assert_eq!(state["pid"], 1, "{runtime}: {state}");
        if !use_runc {
            assert_eq!(state["id"], b.id(), "{runtime}: {state}");
        }
    }
    assert_eq!(host_sysctl("kernel.core_pattern"), core_pattern);
}

/// A failing startContainer hook stops the container before its program, as in
/// runc: `run` fails (exit 1) and names the hook; after `create`, `start`
/// succeeds and the init reports the failure on its stderr and exits.
#[test]
fn failing_start_container_hook_stops_the_container() {
    let hooks = serde_json::json!({"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo hook-said-no; exit 3"]}
    ]});
    let b = Bundle::new("esc-hook-fail")
        .args(&["echo", "PROGRAM-RAN"])
        .modify(|v| v["hooks"] = hooks.clone());
    let o = run_bundle(&b);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(!o.stdout.contains("PROGRAM-RAN"), "{o}");
    assert!(
        o.stderr.contains("hooks.startContainer[0] (/bin/sh)"),
        "{o}"
    );
    assert!(o.stderr.contains("hook-said-no"), "the hook's output: {o}");
    if let Some(r) = runc_run(&b, &unique_id("esc-hook-fail-runc")) {
        assert_eq!(r.status, Some(1), "{r}");
        assert!(!r.stdout.contains("PROGRAM-RAN"), "{r}");
    }

    let root = StateRoot::new();
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    c.wait_status("stopped", T);
    let (out, err) = c.output();
    assert!(!out.contains("PROGRAM-RAN"), "{out}");
    assert!(
        err.contains("error running hook #0: hooks.startContainer[0] (/bin/sh): exit status 3"),
        "{err}"
    );
    c.delete(false).assert_success();
    c.assert_no_leftovers();
}

/// A startContainer hook that never ends is killed at its timeout; `run` fails.
#[test]
fn start_container_hook_timeout_is_enforced_in_the_init() {
    let b = Bundle::new("esc-hook-timeout")
        .args(&["echo", "PROGRAM-RAN"])
        .modify(|v| {
            v["hooks"] = serde_json::json!({"startContainer": [
                {"path": "/bin/sleep", "args": ["sleep", "600"], "timeout": 1}
            ]})
        });
    let t0 = Instant::now();
    let o = run_bundle(&b);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr
            .contains("hooks.startContainer[0] (/bin/sleep): timed out"),
        "{o}"
    );
    assert!(t0.elapsed() < Duration::from_secs(20), "{o}");
}

/// `linux.devices` entries do not outlive a "deny all" of
/// `linux.resources.devices`: the resources' rules are applied after them, so
/// the last matching rule wins (runc adds no rule for them at all). The attacker
/// opens the device node the runtime created for it.
#[test]
fn linux_devices_stay_denied_when_the_resources_deny_them() {
    // Opened for writing only, nothing written (/dev/kmsg is the host's kernel log).
    let script = "(exec 3> /dev/kmsg) 2>/dev/null && echo OPENED-kmsg; \
        (exec 4<> /dev/null) && echo opened-null; echo end";
    let b = Bundle::new("esc-devices")
        .args(&["sh", "-c", script])
        .modify(|v| {
            v["linux"]["devices"] = serde_json::json!([
                {"type": "c", "path": "/dev/kmsg", "major": 1, "minor": 11, "fileMode": 438}
            ]);
            v["linux"]["resources"]["devices"] =
                serde_json::json!([{"allow": false, "access": "rwm"}]);
        });
    let o = run_bundle(&b);
    o.assert_success();
    assert!(!o.stdout.contains("OPENED-kmsg"), "{o}");
    // The defaults stay allowed.
    assert!(o.stdout.contains("opened-null"), "{o}");
    if let Some(r) = runc_run(&b, &unique_id("esc-devices-runc")) {
        assert_eq!(r.stdout, o.stdout, "runc: {r}");
    }
    // An explicit allow in the resources (what Docker and podman write) still works.
    let b = b.modify(|v| {
        v["linux"]["resources"]["devices"] = serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}
        ]);
    });
    let o = run_bundle(&b);
    o.assert_success();
    assert!(o.stdout.contains("OPENED-kmsg"), "{o}");
}

/// A profile of 100 000 argument rules cannot be loaded (a kernel filter holds
/// 4096 instructions) and must not keep `create` on the CPU for minutes: refused
/// at once, naming linux.seccomp, nothing left.
#[test]
fn oversized_seccomp_profile_is_refused_early() {
    let rules: Vec<serde_json::Value> = (0..100_000u64)
        .map(|i| {
            serde_json::json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": i, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    let b = Bundle::new("esc-seccomp-big").modify(|v| {
        v["linux"]["seccomp"] = serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": rules,
        })
    });
    let root = StateRoot::new();
    let _guard = Container::new(&root, &b);
    let o = root.fastrun(&["create", "--bundle", b.path().to_str().unwrap(), b.id()]);
    assert!(!o.timed_out, "{o}");
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("linux.seccomp.syscalls"), "{o}");
    assert!(o.stderr.contains("4096"), "{o}");
    assert_no_leftovers(root.path(), b.id());
}

/// Build a static C program from `src` at `bin`.
fn build_c(bin: &Path, src: &str) {
    let file = bin.with_extension("c");
    std::fs::write(&file, src).unwrap();
    let out = Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(bin)
        .arg(&file)
        .output()
        .expect("cc (build-essential) is needed to build the attacker");
    assert!(out.status.success(), "cc: {out:?}");
}

/// The attacker of `--no-pivot`: a nested user, mount and pid namespace, then a
/// fresh procfs and sysfs (unmasked: /proc/sysrq-trigger, /proc/kcore...).
const NESTED_PROC: &str = r#"#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0) {
        printf("unshare: %s\n", strerror(errno));
        return 0;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        mkdir("/tmp/nested", 0700);
        if (mount("proc", "/tmp/nested", "proc", 0, NULL) == 0)
            printf("NESTED-PROC-MOUNTED\n");
        else
            printf("proc: %s\n", strerror(errno));
        if (mount("sysfs", "/tmp/nested", "sysfs", 0, NULL) == 0)
            printf("NESTED-SYSFS-MOUNTED\n");
        else
            printf("sysfs: %s\n", strerror(errno));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
"#;

/// `run --no-pivot`: a nested user namespace in the container must not be able to
/// mount a fresh procfs (nor sysfs) thanks to the host's full ones left in the
/// mount namespace under the chroot: they are unmounted first, as runc does.
#[test]
fn no_pivot_root_keeps_nested_namespaces_from_mounting_procfs() {
    let snap = HostSnapshot::take(&[]);
    let b = Bundle::new("esc-nopivot")
        .own_rootfs()
        .args(&["/bin/nestproc"]);
    build_c(&rootfs_of(&b).join("bin/nestproc"), NESTED_PROC);
    let o = run_bundle_with(&b, &["--no-pivot"], None);
    o.assert_success();
    assert!(!o.stdout.contains("NESTED"), "{o}");
    assert!(o.stdout.contains("proc: "), "the attack did not run: {o}");
    if let Some(r) = runc_run_with(&b, &unique_id("esc-nopivot-runc"), &["--no-pivot"]) {
        assert_eq!(r.stdout, o.stdout, "runc: {r}");
    }
    snap.assert_same();
}

/// The host pid of the first child of `pid`.
fn first_child(pid: i32) -> Option<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CVE-2025-52881, init: the runtime's own writes to `/proc` (sysctls) go through
/// a namespace another container shares. The attacker (root with CAP_SYS_ADMIN in
/// its container) mounts a tmpfs over `/proc/sys/kernel` and binds another procfs
/// file there (its own process's `oom_score_adj`, harmless; `core_pattern` in the
/// wild) as the sysctl the victim's config sets; the victim joins its mount
/// namespace. The write must never land in that other file. (A mount on the
/// sysctl file itself does not work: namespaced sysctls get their own dentries.)
#[test]
fn cve_2025_52881_init_sysctl_write_is_not_redirected() {
    let root = StateRoot::new();
    let attacker = Bundle::new("esc-52881-a")
        .own_rootfs()
        .args(&[
            "sh",
            "-c",
            "sleep 600 & umount /proc/sys; \
             mount -t tmpfs fake /proc/sys/kernel && touch /proc/sys/kernel/shm_rmid_forced && \
             mount --bind /proc/$!/oom_score_adj /proc/sys/kernel/shm_rmid_forced && \
             touch /tmp/ready; wait",
        ])
        .modify(|v| {
            for set in ["bounding", "effective", "permitted"] {
                v["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap()
                    .push("CAP_SYS_ADMIN".into());
            }
        });
    add_applets(&rootfs_of(&attacker), &["umount"]);
    let a = Container::new(&root, &attacker);
    a.create().assert_success();
    a.start().assert_success();
    wait_for_file(&rootfs_of(&attacker).join("tmp/ready"), T);
    let init = a.pid().unwrap();
    let sleeper = first_child(init).expect("the attacker's sleeper");
    let adj = || std::fs::read_to_string(format!("/proc/{sleeper}/oom_score_adj")).unwrap();
    let before = adj();

    // The victim: its own IPC namespace (so the sysctl is allowed), the
    // attacker's mount namespace.
    let victim = Bundle::new("esc-52881-v").modify(|v| {
        // "/" as seen in the joined namespace: the attacker's root.
        v["root"]["path"] = "/".into();
        v["linux"]["sysctl"] = serde_json::json!({"kernel.shm_rmid_forced": "1"});
        v["linux"]["maskedPaths"] = serde_json::json!([]);
        v["linux"]["readonlyPaths"] = serde_json::json!([]);
        for n in v["linux"]["namespaces"].as_array_mut().unwrap() {
            if n["type"] == "mount" {
                n["path"] = format!("/proc/{init}/ns/mnt").into();
            }
        }
    });
    let o = run_bundle(&victim);
    assert_eq!(
        adj(),
        before,
        "the runtime's sysctl write was redirected: {o}"
    );
    // Written where it belongs (the victim's own IPC namespace, through the
    // runtime's /proc), so the container runs.
    o.assert_success();
    a.delete(true).assert_success();
    a.assert_no_leftovers();
}

/// CVE-2025-52881, exec: the container's root (CAP_SYS_ADMIN) replaces its /proc
/// with a tmpfs of fake files (`self/oom_score_adj`, `self/attr/current`,
/// `sys/kernel/shm_rmid_forced`) before `exec`. The runtime's writes for the new
/// process (its `oomScoreAdj`) reach the real process, never a fake.
#[test]
fn cve_2025_52881_exec_writes_are_not_redirected() {
    let root = StateRoot::new();
    let b = Bundle::new("esc-52881-exec")
        .own_rootfs()
        .args(&[
            "sh",
            "-c",
            "umount /proc/sys; mount -t tmpfs fake /proc && \
             mkdir -p /proc/self/attr /proc/sys/kernel && \
             for f in self/oom_score_adj self/attr/current sys/kernel/shm_rmid_forced; do \
             echo fake > /proc/$f; done && touch /tmp/ready; exec sleep 600",
        ])
        .modify(|v| {
            for set in ["bounding", "effective", "permitted"] {
                v["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap()
                    .push("CAP_SYS_ADMIN".into());
            }
        });
    add_applets(&rootfs_of(&b), &["umount"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    wait_for_file(&rootfs_of(&b).join("tmp/ready"), T);
    let mut p = b.config()["process"].clone();
    p["args"] = serde_json::json!(["sleep", "600"]);
    p["oomScoreAdj"] = 7.into();
    let file = b.path().join("exec-process.json");
    std::fs::write(&file, p.to_string()).unwrap();
    let pid_file = b.path().join("exec.pid");
    root.fastrun(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--process",
        file.to_str().unwrap(),
        c.id(),
    ])
    .assert_success();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
    assert_eq!(adj.trim(), "7");
    for f in [
        "self/oom_score_adj",
        "self/attr/current",
        "sys/kernel/shm_rmid_forced",
    ] {
        let o = root.fastrun(&["exec", c.id(), "cat", &format!("/proc/{f}")]);
        assert_eq!(o.stdout, "fake\n", "{f}: {o}");
    }
    c.delete(true).assert_success();
    c.assert_no_leftovers();
}
