//! User namespaces: root inside, the mapped ids outside (seen from the host), for
//! the init and for exec'd processes; devices are host binds; bad maps refused.

use crate::common;

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

#[test]
fn idmapped_bind_mount_translates_ownership() {
    let root = StateRoot::new();
    let host = TempDir::new("fastrun-idmap-");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(host.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(host.path().join("owned-by-root"), "x").unwrap();
    let src = host.path().to_str().unwrap().to_string();
    let bundle = Bundle::new("idmap")
        .args(&[
            "sh",
            "-c",
            "stat -c %u:%g /data/owned-by-root; touch /data/made-inside",
        ])
        .modify(|v| {
            v["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            v["mounts"].as_array_mut().unwrap().push(json!({
                "destination": "/data", "type": "bind", "source": src,
                "options": ["rbind", "rw", "idmap"],
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]
            }));
        });
    let c = Container::new(&root, &bundle);
    let o = c.run();
    o.assert_success();
    // On disk root (0) is seen as 1000 through the mount, and what uid 1000 creates
    // through it is stored as 0.
    assert_eq!(o.stdout.trim(), "1000:1000", "{o}");
    use std::os::unix::fs::MetadataExt;
    let made = std::fs::metadata(host.path().join("made-inside")).unwrap();
    assert_eq!((made.uid(), made.gid()), (0, 0));
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn idmap_on_a_non_bind_mount_is_refused() {
    let root = StateRoot::new();
    let bundle = Bundle::new("idmap-tmpfs").args(&["true"]).modify(|v| {
        v["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"],
            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]
        }));
    });
    let c = Container::new(&root, &bundle);
    let o = c.create();
    assert_eq!(o.status, Some(1), "{o}");
    assert!(
        o.stderr
            .contains("idmapped mounts are supported for bind mounts only"),
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}

#[test]
fn time_offsets_work_inside_a_user_namespace() {
    let root = StateRoot::new();
    let bundle = userns_bundle("userns-time", &["cat", "/proc/self/timens_offsets"]).modify(|v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "time"}));
        v["linux"]["timeOffsets"] = json!({"monotonic": {"secs": 86400, "nanosecs": 0}});
    });
    let c = Container::new(&root, &bundle);
    let o = c.run();
    o.assert_success();
    assert!(
        o.stdout.contains("monotonic") && o.stdout.contains("86400"),
        "{o}"
    );
    drop(c);
    assert_no_leftovers(root.path(), bundle.id());
}
