//! Turning the child's fixed-size failure report into a message a user can act on:
//! what failed, where (config field, path) and why (errno).

use super::protocol::{Msg, Step};
use crate::error::Error;
use crate::plan::{MountKind, Plan};
use crate::rootfs::Op;
use crate::sys::Errno;

/// `exec: "ARG0": <errno>` worded as runc does, Go's lower-case errno text:
/// dockerd turns a start error that names the command and says "no such file or
/// directory" into exit status 127 and one that says "permission denied" into 126
/// (case-sensitive matches; anything else is 125).
pub fn exec_message(arg0: &str, errno: Errno) -> String {
    format!("exec: {arg0:?}: {}", errno.go_text())
}

/// The error for a failure the child reported.
pub fn child_error(plan: &Plan, m: &Msg) -> Error {
    let errno = Errno(m.errno);
    let i = m.index as usize;
    let op = Op::from_u32(m.op);
    let rf = plan.rootfs.as_ref();
    let p = &plan.process;
    let step = Step::from_u32(m.step);
    let msg = match step {
        Step::Mount => match rf.and_then(|r| r.mounts.get(i)) {
            Some(mnt) => {
                let field = mnt.field();
                let detail = match (&mnt.kind, op) {
                    (MountKind::Fs { options, .. }, Op::Fsconfig) => {
                        match options.get(m.arg as usize) {
                            Some(o) => match &o.value {
                                Some(v) => format!(
                                    "option {}={}",
                                    o.key.to_string_lossy(),
                                    v.to_string_lossy()
                                ),
                                None => format!("option {}", o.key.to_string_lossy()),
                            },
                            None => "create superblock".to_string(),
                        }
                    }
                    (MountKind::Bind { source, .. }, Op::OpenTree) => {
                        format!("open_tree {}", source.to_string_lossy())
                    }
                    _ => op.name().to_string(),
                };
                if op == Op::Symlinked {
                    format!(
                        "{field}: mount {} on {}: the destination is a symlink: refused",
                        mnt.type_name, mnt.dest.display
                    )
                } else {
                    format!(
                        "{field}: mount {} on {}: {detail}: {errno}",
                        mnt.type_name, mnt.dest.display
                    )
                }
            }
            None => format!("mount #{i}: {errno}"),
        },
        Step::Device => match rf.and_then(|r| r.devices.get(i)) {
            Some(d) => format!("linux.devices: {}: {}: {errno}", d.path.display, op.name()),
            None => format!("device #{i}: {errno}"),
        },
        Step::Link => match rf.and_then(|r| r.links.get(i)) {
            Some(l) => format!("symlink {}: {errno}", l.path.display),
            None => format!("symlink #{i}: {errno}"),
        },
        Step::Mask => match rf.and_then(|r| r.masked.get(i)) {
            Some(x) => format!(
                "linux.maskedPaths[{i}] ({}): {}: {errno}",
                x.display,
                op.name()
            ),
            None => format!("linux.maskedPaths[{i}]: {errno}"),
        },
        Step::ReadonlyPath => match rf.and_then(|r| r.readonly_paths.get(i)) {
            Some(x) => format!(
                "linux.readonlyPaths[{i}] ({}): {}: {errno}",
                x.display,
                op.name()
            ),
            None => format!("linux.readonlyPaths[{i}]: {errno}"),
        },
        Step::SetNs => match plan.ns.join.get(i) {
            Some(j) => format!("linux.namespaces: join {}: {errno}", j.path.display()),
            None if i == u32::MAX as usize => format!("join the container's namespaces: {errno}"),
            None => format!("linux.namespaces: create namespaces after joining: {errno}"),
        },
        Step::TimeNs => format!("linux.timeOffsets: {errno}"),
        Step::RootPropagation if i == 1 => format!(
            "linux.rootfsPropagation: make the mount holding root.path ({}) private: {errno}",
            rf.and_then(|r| r.parent_private.as_ref())
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        Step::RootPropagation => format!("linux.rootfsPropagation: set propagation of /: {errno}"),
        Step::BindRoot | Step::OpenRoot => format!(
            "root.path: {}: {errno}",
            rf.map(|r| r.path.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        Step::SwitchRoot => format!(
            "{}: {errno}",
            if rf.is_some_and(|r| r.no_pivot) {
                "move root and chroot (--no-pivot)"
            } else {
                "pivot_root"
            }
        ),
        Step::RootReadonly if i == 1 => match rf.and_then(|r| r.dev_readonly) {
            Some(Some(m)) => format!("mounts[{m}]: make /dev read-only: {errno}"),
            _ => format!("make /dev read-only: {errno}"),
        },
        Step::RootReadonly => format!("root.readonly: remount / read-only: {errno}"),
        Step::RootfsPropagation => format!("linux.rootfsPropagation: {errno}"),
        Step::Sysctl => match plan.sysctls.get(i) {
            Some(s) if errno == Errno(libc::EXDEV) => format!(
                "linux.sysctl[{:?}]: /proc/sys is not a procfs: refused",
                s.name
            ),
            Some(s) => format!(
                "linux.sysctl[{:?}]: write {}: {errno}",
                s.name,
                s.value.to_string_lossy()
            ),
            None => format!("linux.sysctl: {errno}"),
        },
        Step::Hostname => format!("hostname: sethostname: {errno}"),
        Step::Domainname => format!("domainname: setdomainname: {errno}"),
        Step::Keyring => format!("join a new session keyring: {errno}"),
        Step::Rlimit => match p.rlimits.get(i) {
            Some(r) => {
                let hint = if errno == Errno(libc::EPERM) {
                    " (raising a hard limit above the current one needs CAP_SYS_RESOURCE)"
                } else {
                    ""
                };
                format!(
                    "process.rlimits[{i}] ({}): setrlimit soft={} hard={}: {errno}{hint}",
                    r.name, r.soft, r.hard
                )
            }
            None => format!("process.rlimits[{i}]: {errno}"),
        },
        Step::Cwd => format!("process.cwd {:?}: chdir: {errno}", p.cwd.to_string_lossy()),
        Step::CwdUnreachable => format!(
            "process.cwd {:?}: resolves outside the container's root: refused",
            p.cwd.to_string_lossy()
        ),
        Step::CapBounding => format!("process.capabilities.bounding: drop: {errno}"),
        Step::Caps => format!("process.capabilities: capset: {errno}"),
        Step::Ambient => format!("process.capabilities.ambient: raise: {errno}"),
        Step::Groups => format!("process.user.additionalGids: setgroups: {errno}"),
        Step::Gid => format!("process.user.gid {}: setresgid: {errno}", p.gid),
        Step::Uid => format!("process.user.uid {}: setresuid: {errno}", p.uid),
        Step::UserNsRoot => format!(
            "linux.uidMappings/gidMappings: become root (0) of the user namespace: {errno} (are uid and gid 0 mapped?)"
        ),
        Step::NoNewPrivs => format!("process.noNewPrivileges: prctl: {errno}"),
        Step::FindExecutable | Step::Exec => {
            let arg0 = p
                .argv
                .first()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default();
            if arg0.contains('/') || errno != Errno(libc::ENOENT) {
                exec_message(&arg0, errno)
            } else {
                format!("exec: {arg0:?}: executable file not found in $PATH")
            }
        }
        Step::CloseFds => format!("close inherited fds: {errno}"),
        Step::PreserveFds => format!("--preserve-fds: {errno}"),
        Step::OpenHostNull => format!("open the host's /dev/null for masking: {errno}"),
        Step::Hooks => format!("wait for the create hooks: {errno}"),
        Step::Terminal if errno == Errno(libc::ELOOP) => {
            "process.terminal: /dev/console in the container is a symlink: refused".to_string()
        }
        Step::Terminal => format!("process.terminal: set up the pty: {errno}"),
        Step::Seccomp => {
            let hint = match errno.0 {
                libc::EACCES => {
                    " (without process.noNewPrivileges loading a filter needs CAP_SYS_ADMIN)"
                }
                libc::EINVAL => " (the kernel refused the filter or one of linux.seccomp.flags)",
                _ => "",
            };
            format!("linux.seccomp: load the filter: {errno}{hint}")
        }
        Step::SeccompNotify => {
            format!("linux.seccomp.listenerPath: pass the notify fd to the runtime: {errno}")
        }
        Step::Chroot => format!(
            "root.path {:?}: chroot (no mount namespace of the container's own): {errno}",
            plan.chroot
                .as_ref()
                .map(|c| c.to_string_lossy())
                .unwrap_or_default()
        ),
        Step::StartHook => format!("hooks.startContainer[{i}]: {errno}"),
        Step::Loopback => format!("bring up lo in the new network namespace: {errno}"),
        Step::WaitParent | Step::Unknown => format!("container init setup: {errno}"),
    };
    Error::Init {
        step: step.as_str(),
        field: config_field(&msg),
        message: msg,
        errno: m.errno,
    }
}

/// The config field a setup message starts with (`mounts[2]`, `linux.sysctl["x"]`,
/// `process.cwd`, `hostname`...): every message above that is about a field names
/// it first, up to the first space or colon. None for the others (`pivot_root: ...`).
fn config_field(msg: &str) -> Option<String> {
    const ROOTS: [&str; 7] = [
        "mounts[",
        "linux.",
        "process.",
        "root.",
        "hostname",
        "domainname",
        "hooks.",
    ];
    let head = &msg[..msg.find([' ', ':']).unwrap_or(msg.len())];
    ROOTS
        .iter()
        .any(|r| head.starts_with(r))
        .then(|| head.to_string())
}

#[cfg(test)]
mod field_tests {
    use super::config_field;

    #[test]
    fn the_field_is_the_messages_head() {
        let f = |m: &str| config_field(m);
        assert_eq!(
            f("mounts[3]: mount tmpfs on /x: fsmount: EPERM").as_deref(),
            Some("mounts[3]")
        );
        assert_eq!(
            f("process.cwd \"/x\": chdir: ENOENT").as_deref(),
            Some("process.cwd")
        );
        assert_eq!(
            f("linux.sysctl[\"kernel.x\"]: write 1: EPERM").as_deref(),
            Some("linux.sysctl[\"kernel.x\"]")
        );
        assert_eq!(
            f("hostname: sethostname: EPERM").as_deref(),
            Some("hostname")
        );
        assert_eq!(f("pivot_root: EINVAL"), None);
        assert_eq!(f("mount #3: EPERM"), None);
        assert_eq!(f("make /dev read-only: EPERM"), None);
    }
}
