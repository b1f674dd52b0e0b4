//! runc accepts fastrun's default config: a busybox bundle run with
//! `runc --root <tmp> run`, exit status 0. Skipped (with the reason printed) when
//! runc, busybox or root is missing.

use std::path::Path;
use std::process::Command;

use fastrun_runtime::spec::{default_config, load, Str};

fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

#[test]
fn runc_runs_the_default_config() {
    let Some(runc) = ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        return skip("runc is not installed");
    };
    if !Path::new("/bin/busybox").exists() {
        return skip("/bin/busybox is missing (package busybox-static)");
    }
    if std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            !s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(true)
    {
        return skip("not root");
    }

    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let bin = bundle.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in ["proc", "sys", "dev", "tmp", "etc"] {
        std::fs::create_dir_all(bundle.join("rootfs").join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    for applet in ["sh", "true"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }

    let mut config = default_config(false);
    let process = config.process.as_mut().unwrap();
    process.terminal = false;
    process.args = vec![Str::borrowed("/bin/true")];
    let json = serde_json::to_string_pretty(&config).unwrap();
    // What we write must also load back.
    let mut buf = json.clone().into_bytes();
    load(&mut buf).unwrap();
    std::fs::write(bundle.join("config.json"), &json).unwrap();

    let state = dir.path().join("state");
    let id = format!("fastrun-spec-test-{}", std::process::id());
    let out = Command::new(runc)
        .arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .output()
        .unwrap();
    // Clean up even when the run failed (run deletes on exit; this is a no-op then).
    let _ = Command::new(runc)
        .arg("--root")
        .arg(&state)
        .args(["delete", "--force", &id])
        .output();
    assert!(
        out.status.success(),
        "runc run: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
