//! The CLI's contract as callers see it (containerd, podman, go-runc): output shapes,
//! exit statuses, logging. Needs no working engine.

use crate::common;

use std::process::Command;

use common::*;

fn fastrun(args: &[&str]) -> Output {
    let mut c = Command::new(fastrun_bin());
    c.args(args);
    run_cmd(c, None, TIMEOUT)
}

#[test]
fn version_has_the_three_lines_go_runc_parses() {
    let o = fastrun(&["--version"]);
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{o}");
    assert_eq!(
        lines[0],
        format!("fastrun version {}", env!("CARGO_PKG_VERSION"))
    );
    let commit = lines[1].strip_prefix("commit: ").expect("commit line");
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
    assert_eq!(lines[2], "spec: 1.3.0");
    assert_eq!(fastrun(&["-v"]).stdout, o.stdout);
}

#[test]
fn help_exits_zero_and_lists_commands() {
    let o = fastrun(&["--help"]);
    o.assert_success();
    for c in [
        "create", "start", "run", "state", "kill", "delete", "exec", "ps", "update", "features",
    ] {
        assert!(o.stdout.contains(&format!("\n  {c} ")), "{c}: {o}");
    }
    let o = fastrun(&["create", "--help"]);
    o.assert_success();
    assert!(o.stdout.contains("--pid-file FILE"), "{o}");
}

#[test]
fn unknown_command_or_flag_is_one_line_and_status_1() {
    let o = fastrun(&["--foo", "state", "x"]);
    assert_eq!(o.status, Some(1));
    assert_eq!(o.stderr, "fastrun: unknown flag \"--foo\"\n");
    assert!(o.stdout.is_empty());
    let o = fastrun(&["create", "--foo", "x"]);
    assert_eq!(o.status, Some(1));
    assert_eq!(o.stderr, "fastrun: unknown flag \"--foo\" for \"create\"\n");
    let o = fastrun(&["frobnicate"]);
    assert_eq!(o.status, Some(1));
    assert_eq!(o.stderr.lines().count(), 1, "{o}");
    let o = fastrun(&["start"]);
    assert_eq!(o.status, Some(1));
    assert!(o.stderr.contains("requires a container id"), "{o}");
}

#[test]
fn checkpoint_is_unsupported_even_for_help() {
    for args in [
        &["checkpoint", "--help"][..],
        &[
            "checkpoint",
            "--image-path",
            "/p",
            "--work-path",
            "/w",
            "c1",
        ],
        &[
            "restore",
            "--detach",
            "-no-subreaper",
            "--bundle",
            "/b",
            "c1",
        ],
    ] {
        let o = fastrun(args);
        assert_eq!(o.status, Some(1), "{o}");
        assert_eq!(o.stderr, "checkpoint/restore is not supported\n");
    }
}

#[test]
fn errors_go_to_the_json_log_and_stderr_only() {
    let root = StateRoot::new();
    let log = root.path().join("log.json");
    let log_s = log.to_str().unwrap();
    // containerd's form, then podman's `=` form.
    let o = root.fastrun(&[
        "--log",
        log_s,
        "--log-format",
        "json",
        "kill",
        "no-such",
        "9",
    ]);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stdout.is_empty(), "{o}");
    let o = root.fastrun(&[
        "--log-format=json",
        &format!("--log={log_s}"),
        "kill",
        "x",
        "NOPE",
    ]);
    assert_eq!(o.status, Some(1), "{o}");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for l in &lines {
        assert_eq!(l["level"], "error");
        let t = l["time"].as_str().unwrap();
        assert!(
            t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{t}"
        );
    }
    assert_eq!(lines[1]["msg"], "unknown signal \"NOPE\"");
    assert_eq!(o.stderr, "fastrun: unknown signal \"NOPE\"\n");
}

#[test]
fn text_log_and_debug() {
    let root = StateRoot::new();
    let log = root.path().join("log.txt");
    let o = root.fastrun(&[
        "--debug",
        "--rootless=true",
        "--log",
        log.to_str().unwrap(),
        "state",
        "no-such",
    ]);
    assert_eq!(o.status, Some(1));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(" level=debug msg=\"--rootless=true is accepted and ignored\""),
        "{text}"
    );
    assert!(text.contains(" level=error msg="), "{text}");
    assert!(text.starts_with("time=\""), "{text}");
}

#[test]
fn spec_writes_config_once() {
    let dir = TempDir::new("fastrun-spec-");
    let d = dir.path().to_str().unwrap();
    let o = fastrun(&["spec", "--bundle", d]);
    o.assert_success();
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{o}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(v["ociVersion"], "1.0.2");
    assert_eq!(v["process"]["terminal"], true);
    let o = fastrun(&["spec", "-b", d]);
    assert_eq!(o.status, Some(1));
    assert!(o.stderr.contains("exists. Remove it first"), "{o}");

    let dir = TempDir::new("fastrun-spec-");
    let mut c = Command::new(fastrun_bin());
    c.args(["spec", "--rootless"]).current_dir(dir.path());
    run_cmd(c, None, TIMEOUT).assert_success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
            .unwrap();
    assert!(v["linux"]["uidMappings"].is_array());
}

#[test]
fn list_and_state_of_missing_things_fail_cleanly() {
    let root = StateRoot::new();
    let o = root.fastrun(&["state", "no-such-container"]);
    assert_eq!(o.status, Some(1), "{o}");
    assert!(o.stdout.is_empty(), "{o}");
    assert_eq!(o.stderr.lines().count(), 1, "{o}");
}

#[test]
fn a_bad_fastrun_spawn_value_is_a_usage_error() {
    let root = StateRoot::new();
    let mut c = root.command(&["list"]);
    c.env("FASTRUN_SPAWN", "sideways");
    let o = run_cmd(c, None, TIMEOUT);
    assert_ne!(o.status, Some(0), "{o}");
    assert!(
        o.stderr.contains("FASTRUN_SPAWN") && o.stderr.contains("sideways"),
        "{o}"
    );
    let mut c = root.command(&["list"]);
    c.env("FASTRUN_SPAWN", "vm");
    run_cmd(c, None, TIMEOUT).assert_success();
}
