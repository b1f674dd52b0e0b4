//! User namespaces: root inside, the mapped ids outside (seen from the host), for
//! the init and for exec'd processes; devices are host binds; bad maps refused.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const T: Duration = Duration::from_secs(20);

fn userns_bundle(name: &str, args: &[&str]) -> Bundle {
    Bundle::new(name).args(args).modify(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    })
}

fn host_ids(pid: i32) -> (String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .to_string()
    };
    (field("Uid:"), field("Gid:"))
}

#[test]
fn root_inside_mapped_outside() {
    let root = StateRoot::new();
    let bundle = userns_bundle(
        "userns-run",
        &[
            "sh",
            "-c",
            "id -u; id -g; cat /proc/self/uid_map; ls -ln /dev/null",
        ],
    );
    let c = Container::new(&root, &bundle);
    let o = c.run();
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "0", "{o}");
    assert_eq!(lines[1], "0", "{o}");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"],
        "{o}"
    );
    // The device is the host's /dev/null, bound (mknod is not allowed in a user namespace).
    assert!(
        lines[3].starts_with("crw-rw-rw-") && lines[3].contains("1,   3"),
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn init_and_exec_run_as_the_mapped_ids_on_the_host() {
    let root = StateRoot::new();
    let bundle = userns_bundle("userns-exec", &["sleep", "600"]);
    let c = Container::new(&root, &bundle);
    c.create().assert_success();
    c.start().assert_success();
    c.wait_status("running", T);
    let init = c.pid().unwrap();
    assert_eq!(host_ids(init), ("100000".to_string(), "200000".to_string()));

    let pid_file = bundle.path().join("exec.pid");
    root.fastrun(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        c.id(),
        "sleep",
        "300",
    ])
    .assert_success();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(host_ids(pid), ("100000".to_string(), "200000".to_string()));
    let o = root.fastrun(&[
        "exec",
        "--user",
        "1000:1000",
        c.id(),
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map",
    ]);
    o.assert_success();
    assert!(o.stdout.starts_with("1000\n"), "{o}");
    assert!(o.stdout.contains("100000"), "{o}");
}

#[test]
fn overlapping_mappings_are_refused() {
    let root = StateRoot::new();
    let bundle = userns_bundle("userns-overlap", &["true"]).modify(|v| {
        v["linux"]["uidMappings"] = json!([
            {"containerID": 0, "hostID": 100000, "size": 1000},
            {"containerID": 500, "hostID": 300000, "size": 10}
        ]);
    });
    let c = Container::new(&root, &bundle);
    let o = c.create();
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("linux.uidMappings"), "{o}");
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn a_user_namespace_without_mappings_is_refused() {
    let root = StateRoot::new();
    let bundle = userns_bundle("userns-nomap", &["true"]).modify(|v| {
        v["linux"]["uidMappings"] = json!([]);
        v["linux"]["gidMappings"] = json!([]);
    });
    let c = Container::new(&root, &bundle);
    let o = c.create();
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stderr.contains("Mappings"), "{o}");
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}
