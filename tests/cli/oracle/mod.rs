//! runc as the oracle: the same bundle and command line run under runc (Debian's
//! 1.1.5, `/usr/sbin/runc`, its own temp `--root`) and under fastrun (its own temp
//! `--root`), and what the container's process observes is compared field by field.
//!
//! - The observer (`observe.c`, built with `cc -static` into the rootfs as
//!   `/oracle/observe`) writes `key=value` lines: argv, env, cwd, ids, groups, the
//!   capability sets, NoNewPrivs, Seccomp, umask, signal masks, process group and
//!   session, namespaces, uid/gid maps, cgroups, the mount table, rlimits, sysctls,
//!   `lo`, the hostname, its fds (ttys with owner, mode and termios), `/dev`, and the
//!   errno of probe system calls (denied, unknown: `syscall(1000)`).
//! - Hooks (a host shell script, or `sh` inside the container for startContainer)
//!   record their environment, working directory and the state on their stdin.
//! - Lifecycle cases compare exit codes of the runtimes' own errors and the
//!   normalised `state`/`list` output.
//!
//! Values that legitimately differ are normalised (namespace inodes become `host` or
//! `new`, mount ids and device numbers are dropped, the bundle, rootfs and container
//! id become placeholders, pids and timestamps become `<PID>`/`<TS>`). Differences
//! being fixed on other branches are listed in [`known::KNOWN`] with their issue
//! item; each entry fails loudly once the difference disappears, so the table (and
//! docs/compatibility.md) shrinks as fixes land.
//!
//! A case is a name, a config mutation and a [`Mode`] (cases.rs); configs captured
//! from real clients live in `fixtures/`. When a fix lands, delete its entries from
//! known.rs and docs/compatibility.md; when a case shows a new difference, fix it
//! or add an entry (with where it is tracked) to both. `ORACLE_VERBOSE=1` prints
//! every case's commands and differences (with `--nocapture`).

mod cases;
mod known;
mod observe;

pub use observe::*;

#[test]
fn spec_variations() {
    check_group("spec", cases::spec_cases());
}

#[test]
fn issue16_items() {
    check_group("issue16", cases::issue16_cases());
}

#[test]
fn exec_cases() {
    check_group("exec", cases::exec_cases());
}

#[test]
fn client_configs() {
    check_group("clients", cases::client_cases());
}

#[test]
fn lifecycle_and_errors() {
    check_group("lifecycle", cases::lifecycle_cases());
}

#[test]
fn known_table_names_real_cases() {
    let all: Vec<Case> = [
        cases::spec_cases(),
        cases::issue16_cases(),
        cases::exec_cases(),
        cases::client_cases(),
        cases::lifecycle_cases(),
    ]
    .into_iter()
    .flatten()
    .collect();
    for k in known::KNOWN {
        assert!(
            k.case == "*" || all.iter().any(|c| c.name == k.case),
            "known::KNOWN names case {:?}, which does not exist",
            k.case
        );
    }
    let mut names: Vec<&str> = all.iter().map(|c| c.name).collect();
    names.sort();
    let n = names.len();
    names.dedup();
    assert_eq!(n, names.len(), "two cases share a name");
}
