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
    k("*", "env HOME", "16.19"),
    k("*", "lo", "16.21"),
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
        "spec-hostname",
        "sysctl.kernel.domainname",
        "deliberate:domainname",
    ),
    k(
        "spec-cgroupns",
        "mnt /sys/fs/cgroup/systemd",
        "new:cgroup-source",
    ),
    k("spec-seccomp-allowlist", "syscall.1000", "16.10"),
    k("spec-seccomp-allowlist", "syscall.faccessat2", "16.10"),
    k("spec-hooks", "hook.createContainer.cwd", "16.22"),
    k("spec-hooks", "hook.createContainer.env *", "16.22"),
    k("spec-hooks", "hook.startContainer.env *", "16.22"),
    k("spec-hooks", "hook.createRuntime.env *", "16.22"),
    k("spec-hooks", "hook.prestart.env *", "16.22"),
    k("spec-hooks", "hook.poststart.env *", "16.22"),
    k("spec-hooks", "hook.poststop.env *", "16.22"),
    k("spec-hooks", "hook.createRuntime.cwd", "new:hook-cwd"),
    k("spec-hooks", "hook.prestart.cwd", "new:hook-cwd"),
    k("spec-hooks", "hook.poststart.cwd", "new:hook-cwd"),
    k("spec-hooks", "hook.poststop.cwd", "new:hook-cwd"),
    k(
        "spec-hooks",
        "hook.poststart.state.status",
        "deliberate:poststart-status",
    ),
    k("spec-hooks-env", "hook.prestart.cwd", "new:hook-cwd"),
    k("spec-hooks-env", "hook.prestart.env PWD", "new:hook-cwd"),
    k("exec-cap", "status.CapAmb", "15"),
    k("exec-cap", "status.CapInh", "15"),
    k("i01-exec-terminal-config", "dev /dev/pts/1", "16.1"),
    k("i01-exec-d-terminal-config", "exec.exit", "16.1"),
    k("i01-exec-process-file-terminal", "exec.exit", "16.1"),
    k("i01-exec-process-file-terminal", "report", "16.1"),
    k("i01-exec-d-terminal-config", "report", "16.1"),
    k("i02-exec-errors", "step*.exit", "16.2"),
    k("life-errors", "step*exec {ID} true.exit", "16.2"),
    k("i03-exec-cgroup", "step*.exit", "16.3"),
    k("i05-pty-owner", "dev /dev/console", "16.5"),
    k("i05-pty-owner", "dev /dev/pts/0", "16.5"),
    k("i08-i10-seccomp-errno-default", "syscall.1000", "16.10"),
    k(
        "i08-i10-seccomp-errno-default",
        "syscall.faccessat2",
        "16.10",
    ),
    k("i09-seccomp-unknown-name", "report", "16.9"),
    k("i09-seccomp-unknown-name", "runtime.exit", "16.9"),
    k("i11-propagation-shared", "report", "16.11"),
    k("i11-propagation-shared", "runtime.exit", "16.11"),
    k("i11-propagation-rshared", "report", "16.11"),
    k("i11-propagation-rshared", "runtime.exit", "16.11"),
    k("i12-dev-readonly", "report", "16.12"),
    k("i12-dev-readonly", "runtime.exit", "16.12"),
    k("i13-bind-host-proc", "report", "16.13"),
    k("i13-bind-host-proc", "runtime.exit", "16.13"),
    k("i14-userns-root-only-source", "report", "16.14"),
    k("i14-userns-root-only-source", "runtime.exit", "16.14"),
    k("i15-device-outside-dev", "report", "16.15"),
    k("i15-device-outside-dev", "runtime.exit", "16.15"),
    k("i16-device-rule-rwa", "report", "16.16"),
    k("i16-device-rule-rwa", "runtime.exit", "16.16"),
    k("i18-empty-mount-option", "report", "16.18"),
    k("i18-empty-mount-option", "runtime.exit", "16.18"),
    k("i20-missing-cwd", "report", "16.20"),
    k("i20-missing-cwd", "runtime.exit", "16.20"),
    k("i23-failing-poststart", "hook.poststop.env *", "16.22"),
    k("i23-failing-poststart", "hook.poststop.cwd", "new:hook-cwd"),
    k("i25-kill-signal-0", "step*.exit", "16.25"),
    k("docker-default", "syscall.1000", "16.10"),
    k("docker-options", "syscall.1000", "16.10"),
    k("podman-default", "mnt /sys/dev/block", "new:maskdir"),
    k("podman-options", "mnt /sys/dev/block", "new:maskdir"),
    k("podman-tty", "mnt /sys/dev/block", "new:maskdir"),
    k("podman-exec", "mnt /sys/dev/block", "new:maskdir"),
    k("buildah-run", "mnt /sys/dev", "new:maskdir"),
    k("buildah-volume", "report", "16.18"),
    k("buildah-volume", "runtime.exit", "16.18"),
    k("life-apparmor-profile", "runtime.exit", "new:lsm-labels"),
    k("life-apparmor-profile", "report", "new:lsm-labels"),
    k("life-selinux-label", "runtime.exit", "new:lsm-labels"),
    k("life-selinux-label", "report", "new:lsm-labels"),
    k("life-mount-label", "runtime.exit", "new:lsm-labels"),
    k("life-mount-label", "report", "new:lsm-labels"),
    k("life-sysctl-host-ns", "step*.exit", "15"),
    k("life-sysctl-host-ns", "report", "15"),
    k("life-basic", "step*.ociVersion", "deliberate:ociversion"),
    k("life-spec", "step*.ociVersion", "deliberate:ociversion"),
    k(
        "life-run-detached",
        "step*.ociVersion",
        "deliberate:ociversion",
    ),
];
