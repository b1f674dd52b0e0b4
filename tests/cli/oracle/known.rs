//! Differences between runc and fastrun that the oracle test knows about: each is
//! being fixed elsewhere (the issue item says where). An entry whose difference no
//! longer shows fails the test, so it is removed when the fix lands; every entry is
//! also listed in docs/compatibility.md ("Differences the runc-oracle test knows
//! about").

pub struct Known {
    /// The case name; `*` for every case (checked against the `fastrun spec` group).
    pub case: &'static str,
    /// The observed key; `*` matches any run of characters.
    pub key: &'static str,
    /// Where it is tracked, e.g. "16.19" (issue 16, item 19).
    pub item: &'static str,
}

impl Known {
    pub fn matches(&self, case: &str, key: &str) -> bool {
        (self.case == "*" || self.case == case) && glob(self.key, key)
    }
}

/// `pattern` with `*` for any run of characters matches all of `s`.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }
    }
}

pub fn lookup(case: &str, key: &str) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.matches(case, key))
}

const fn k(case: &'static str, key: &'static str, item: &'static str) -> Known {
    Known { case, key, item }
}

/// `new:` marks a difference found by this test that no issue lists yet;
/// `deliberate:` one that fastrun keeps on purpose (docs/compatibility.md says why).
pub static KNOWN: &[Known] = &[
    // Every case (checked against the `fastrun spec` group).
    k("*", "fd.0", "new:stdio"),
    k("*", "fd.1", "new:stdio"),
    k("*", "fd.2", "new:stdio"),
    k("*", "status.SigIgn", "deliberate:sigign"),
    k("*", "mnt /proc/acpi", "new:maskdir"),
    k("*", "mnt /sys/firmware", "new:maskdir"),
    k("*", "mnt /proc/bus", "new:ropaths"),
    k("*", "mnt /proc/fs", "new:ropaths"),
    k("*", "mnt /proc/irq", "new:ropaths"),
    k("*", "mnt /proc/sys", "new:ropaths"),
    k("*", "mnt /proc/keys", "deliberate:devnull"),
    k("*", "mnt /proc/timer_list", "deliberate:devnull"),
    k("*", "mnt /sys", "new:sysfs-ro"),
    k("*", "mnt /sys/fs/cgroup", "new:cgroupfs"),
    k("*", "mnt /sys/fs/cgroup/unified", "new:cgroupfs"),
    k("*", "hook.*.state.ociVersion", "deliberate:ociversion"),
    // Case by case.
    k("spec-masks", "mnt /etc/passwd", "deliberate:devnull"),
    k("spec-masks", "mnt /tmp", "new:ropaths"),
    k("spec-userns", "dev /dev/mqueue", "new:mqueue-userns"),
    k("exec-userns", "dev /dev/mqueue", "new:mqueue-userns"),
    k(
        "i14-userns-root-only-source",
        "dev /dev/mqueue",
        "new:mqueue-userns",
    ),
    k(
        "spec-hostname",
        "sysctl.kernel.domainname",
        "deliberate:domainname",
    ),
    k(
        "spec-cgroupns",
        "mnt /sys/fs/cgroup/systemd",
        "new:cgroup-source",
    ),
    k(
        "spec-hooks",
        "hook.poststart.state.status",
        "deliberate:poststart-status",
    ),
    k(
        "i01-exec-process-file-terminal",
        "exec.exit",
        "new:foreground-ctty",
    ),
    k(
        "i01-exec-process-file-terminal",
        "report",
        "new:foreground-ctty",
    ),
    k(
        "i11-propagation-unbindable",
        "runtime.exit",
        "deliberate:unbindable",
    ),
    k(
        "i11-propagation-unbindable",
        "report",
        "deliberate:unbindable",
    ),
    k("podman-default", "mnt /sys/dev/block", "new:maskdir"),
    k("podman-options", "mnt /sys/dev/block", "new:maskdir"),
    k("podman-tty", "mnt /sys/dev/block", "new:maskdir"),
    k("podman-exec", "mnt /sys/dev/block", "new:maskdir"),
    k("buildah-run", "mnt /sys/dev", "new:maskdir"),
    k("buildah-volume", "mnt /sys/dev", "new:maskdir"),
    k("life-apparmor-profile", "runtime.exit", "new:lsm-labels"),
    k("life-apparmor-profile", "report", "new:lsm-labels"),
    k("life-selinux-label", "runtime.exit", "new:lsm-labels"),
    k("life-selinux-label", "report", "new:lsm-labels"),
    k("life-mount-label", "runtime.exit", "new:lsm-labels"),
    k("life-mount-label", "report", "new:lsm-labels"),
    k("life-basic", "step*.ociVersion", "deliberate:ociversion"),
    k("life-spec", "step*.ociVersion", "deliberate:ociversion"),
    k(
        "life-run-detached",
        "step*.ociVersion",
        "deliberate:ociversion",
    ),
];
