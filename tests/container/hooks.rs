//! OCI hooks on real containers: each of the six kinds runs at its point of the
//! lifecycle, with the state JSON on stdin, in the runtime's or the container's
//! mount namespace as the spec says; a failing hook aborts (poststop only warns).

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(20);

/// A hook that saves its stdin and its mount namespace under `dir` (a path valid
/// where the hook runs) and appends its kind to `dir/order`.
fn recorder(kind: &str, dir: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!(
            "cat > {dir}/{kind}.json; readlink /proc/self/ns/mnt > {dir}/{kind}.mnt; echo {kind} >> {dir}/order"
        )],
        "env": ["HOOK_KIND=x"],
        "timeout": 10
    })
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_hook_kind_runs_at_its_point_with_state_and_namespace() {
    let root = StateRoot::new();
    let out = TempDir::new("fastrun-hooks-out-");
    let host = out.path().to_str().unwrap().to_string();
    let bundle = Bundle::new("hooks")
        .args(&["sh", "-c", "echo program >> /out/order; sleep 600"])
        .modify(|v| {
            v["mounts"].as_array_mut().unwrap().push(json!({
                "destination": "/out", "type": "bind", "source": host, "options": ["rbind", "rw"]
            }));
            v["hooks"] = json!({
                "prestart": [recorder("prestart", &host)],
                "createRuntime": [recorder("createRuntime", &host)],
                // Before pivot_root, in the container's mount namespace: host paths.
                "createContainer": [recorder("createContainer", &host)],
                // In the container: paths resolve inside its root.
                "startContainer": [recorder("startContainer", "/out")],
                "poststart": [recorder("poststart", &host)],
                "poststop": [recorder("poststop", &host)]
            });
        });
    let c = Container::new(&root, &bundle);
    c.create().assert_success();
    let init = c.pid().unwrap();
    let host_mnt = std::fs::read_link("/proc/self/ns/mnt")
        .unwrap()
        .display()
        .to_string();
    let init_mnt = std::fs::read_link(format!("/proc/{init}/ns/mnt"))
        .unwrap()
        .display()
        .to_string();
    assert_ne!(host_mnt, init_mnt);

    // After create: the three create hooks ran, the program did not.
    assert_eq!(
        read(out.path(), "order"),
        "prestart\ncreateRuntime\ncreateContainer\n"
    );
    for (kind, mnt) in [
        ("prestart", &host_mnt),
        ("createRuntime", &host_mnt),
        ("createContainer", &init_mnt),
    ] {
        assert_eq!(
            read(out.path(), &format!("{kind}.mnt")).trim(),
            mnt.as_str(),
            "{kind} namespace"
        );
        let st: Value = serde_json::from_str(&read(out.path(), &format!("{kind}.json"))).unwrap();
        assert_eq!(st["id"], c.id(), "{kind}");
        assert_eq!(st["status"], "creating", "{kind}");
        assert_eq!(st["pid"], init, "{kind}");
        assert_eq!(st["bundle"], bundle.path().to_str().unwrap(), "{kind}");
    }

    c.start().assert_success();
    c.wait_status("running", T);
    // The init runs startContainer itself, after `start` returned (as runc).
    wait_until("the program", T, || {
        std::fs::read_to_string(out.path().join("order")).is_ok_and(|o| o.contains("program"))
    });
    let st: Value = serde_json::from_str(&read(out.path(), "startContainer.json")).unwrap();
    assert_eq!(st["status"], "created");
    assert_eq!(read(out.path(), "startContainer.mnt").trim(), init_mnt);
    let st: Value = serde_json::from_str(&read(out.path(), "poststart.json")).unwrap();
    assert_eq!(st["status"], "running");
    assert_eq!(read(out.path(), "poststart.mnt").trim(), host_mnt);

    c.kill("KILL").assert_success();
    c.wait_status("stopped", T);
    c.delete(false).assert_success();
    let st: Value = serde_json::from_str(&read(out.path(), "poststop.json")).unwrap();
    assert_eq!(st["status"], "stopped");

    let order = read(out.path(), "order");
    let pos = |k: &str| {
        order
            .lines()
            .position(|l| l == k)
            .unwrap_or_else(|| panic!("{k} missing: {order}"))
    };
    assert!(pos("createContainer") < pos("startContainer"));
    assert!(
        pos("startContainer") < pos("program"),
        "the program ran before startContainer: {order}"
    );
    assert!(pos("poststart") < pos("poststop"));
    c.assert_no_leftovers();
}

#[test]
fn a_failing_prestart_hook_aborts_create_and_leaves_nothing() {
    let root = StateRoot::new();
    let bundle = Bundle::new("hook-fail").args(&["true"]).modify(|v| {
        v["hooks"] = json!({"prestart": [
            {"path": "/bin/true"},
            {"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 4"]}
        ]});
    });
    let c = Container::new(&root, &bundle);
    let o = c.create();
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr
            .contains("hooks.prestart[1] (/bin/sh): exit status: 4: nope"),
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn a_missing_hook_binary_is_named() {
    let root = StateRoot::new();
    let bundle = Bundle::new("hook-missing").args(&["true"]).modify(|v| {
        v["hooks"] = json!({"createRuntime": [{"path": "/nonexistent/hook"}]});
    });
    let c = Container::new(&root, &bundle);
    let o = c.create();
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr
            .contains("hooks.createRuntime[0] (/nonexistent/hook): start:"),
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn a_failing_poststop_hook_only_warns() {
    let root = StateRoot::new();
    let bundle = Bundle::new("hook-poststop").args(&["true"]).modify(|v| {
        v["hooks"] = json!({"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 9"]}]});
    });
    let c = Container::new(&root, &bundle);
    let o = c.run();
    assert_eq!(o.status, Some(0), "{o}");
    assert!(
        o.stderr
            .contains("hooks.poststop[0] (/bin/sh): exit status: 9"),
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn a_hook_timeout_aborts() {
    let root = StateRoot::new();
    let bundle = Bundle::new("hook-timeout").args(&["true"]).modify(|v| {
        v["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 60"], "timeout": 1}]});
    });
    let c = Container::new(&root, &bundle);
    let o = c.create();
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("timed out after 1s"), "{o}");
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn lo_is_up_when_the_create_hooks_run() {
    // runc brings `lo` up in its init before the hooks run (a CNI plugin in a
    // prestart hook finds it up). fastrun's network namespace helper brings it up
    // beside the init's setup; the runtime waits for it before the hooks.
    let out = TempDir::new("fastrun-hooks-out-");
    let dir = out.path().to_str().unwrap().to_string();
    let look = |kind: &str| {
        json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", format!(
                "pid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); \
                 nsenter -t \"$pid\" -n ip -o link show lo > {dir}/{kind}"
            )],
            "timeout": 10
        })
    };
    let b = Bundle::new("hooks-lo").args(&["true"]).modify(|v| {
        v["hooks"] = json!({
            "prestart": [look("prestart")],
            "createRuntime": [look("createRuntime")],
        });
    });
    run_bundle(&b).assert_success();
    for kind in ["prestart", "createRuntime"] {
        let line = read(out.path(), kind);
        assert!(
            line.contains("lo:") && line.contains(",UP"),
            "{kind}: {line}"
        );
    }
}
