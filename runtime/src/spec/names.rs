//! Name tables: the string values the config allows, and their kernel numbers.
//!
//! The parsed model keeps these names as [`super::Str`]; validation checks them
//! against the tables here and the plan resolves them with the lookup functions.

/// `linux.namespaces[].type` names with their `CLONE_NEW*` flags.
const NAMESPACES: [(&str, libc::c_int); 8] = [
    ("pid", libc::CLONE_NEWPID),
    ("network", libc::CLONE_NEWNET),
    ("mount", libc::CLONE_NEWNS),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("user", libc::CLONE_NEWUSER),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", libc::CLONE_NEWTIME),
];

/// The `CLONE_NEW*` flag of a namespace type (`"pid"` → `CLONE_NEWPID`).
pub fn namespace_flag(name: &str) -> Option<libc::c_int> {
    NAMESPACES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// IPC sysctls (besides `fs.mqueue.*`), namespaced by the IPC namespace (runc's list).
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// A `linux.sysctl` name as runc reads it: dots separate its parts, unless its
/// first separator is a slash (`net/ipv4/conf/eth0.100/rp_filter`), in which case
/// slashes separate and a dot belongs to a part (it becomes `/` in the dotted form).
pub fn sysctl_dotted(name: &str) -> String {
    match name.find(['.', '/']) {
        Some(i) if name.as_bytes()[i] == b'/' => name
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect(),
        _ => name.to_string(),
    }
}

/// The file of a sysctl, relative to `/proc/sys`; None when a part is empty,
/// `.` or `..` (the name would not stay the sysctl it says it is).
pub fn sysctl_rel_path(name: &str) -> Option<String> {
    let slashed = match name.find(['.', '/']) {
        Some(i) if name.as_bytes()[i] == b'/' => name.to_string(),
        _ => name.replace('.', "/"),
    };
    let bad = slashed
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..");
    (!bad).then_some(slashed)
}

/// The namespace (`linux.namespaces[].type`) that makes a sysctl (dotted form)
/// the container's own rather than the host's, by runc's rules: IPC sysctls the
/// IPC namespace, `net.*` the network namespace, `kernel.domainname` the UTS
/// namespace; None for everything else (host-wide: refused).
pub fn sysctl_namespace(dotted: &str) -> Option<&'static str> {
    if IPC_SYSCTLS.contains(&dotted) || dotted.starts_with("fs.mqueue.") {
        Some("ipc")
    } else if dotted.starts_with("net.") {
        Some("network")
    } else if dotted == "kernel.domainname" {
        Some("uts")
    } else {
        None
    }
}

/// Every capability the kernel knows, indexed by number (0 to 40).
pub const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The number of a capability (`"CAP_KILL"` → 5). Names are exact (upper case,
/// with the `CAP_` prefix), as runc and crun require.
pub fn capability_number(name: &str) -> Option<u8> {
    CAPABILITIES
        .iter()
        .position(|c| *c == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// `process.rlimits[].type` names with their `RLIMIT_*` resources.
const RLIMITS: [(&str, libc::c_int); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU as libc::c_int),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as libc::c_int),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as libc::c_int),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as libc::c_int),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as libc::c_int),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as libc::c_int),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as libc::c_int),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as libc::c_int),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as libc::c_int),
    ("RLIMIT_AS", libc::RLIMIT_AS as libc::c_int),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as libc::c_int),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as libc::c_int),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as libc::c_int),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as libc::c_int),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as libc::c_int),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as libc::c_int),
];

/// The access letters of a `linux.resources.devices` rule that mean something,
/// in the order `rwm`: other letters are ignored, as runc's rule parser ignores
/// them (`"rwa"` is `"rw"`). Empty when none of r, w and m is there.
pub fn device_access(access: &str) -> String {
    "rwm".chars().filter(|c| access.contains(*c)).collect()
}

/// The resource number of an rlimit type (`"RLIMIT_NOFILE"` → `RLIMIT_NOFILE`).
pub fn rlimit_resource(name: &str) -> Option<libc::c_int> {
    RLIMITS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// `linux.rootfsPropagation` values.
pub const ROOTFS_PROPAGATIONS: [&str; 8] = [
    "private",
    "rprivate",
    "slave",
    "rslave",
    "shared",
    "rshared",
    "unbindable",
    "runbindable",
];

/// Seccomp actions (`defaultAction`, `syscalls[].action`).
pub const SECCOMP_ACTIONS: [&str; 9] = [
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

/// Seccomp argument operators.
pub const SECCOMP_OPS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

/// Seccomp architectures (libseccomp 2.5 names).
pub const SECCOMP_ARCHES: [&str; 23] = [
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_SH",
    "SCMP_ARCH_SHEB",
];

/// `seccomp.flags` values.
pub const SECCOMP_FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// `timeOffsets` clock names.
pub const TIME_CLOCKS: [&str; 2] = ["monotonic", "boottime"];

/// `personality.domain` values.
pub const PERSONALITY_DOMAINS: [&str; 2] = ["LINUX", "LINUX32"];

/// `process.scheduler.policy` values.
pub const SCHED_POLICIES: [&str; 7] = [
    "SCHED_OTHER",
    "SCHED_FIFO",
    "SCHED_RR",
    "SCHED_BATCH",
    "SCHED_ISO",
    "SCHED_IDLE",
    "SCHED_DEADLINE",
];

/// `process.scheduler.flags` values.
pub const SCHED_FLAGS: [&str; 7] = [
    "SCHED_FLAG_RESET_ON_FORK",
    "SCHED_FLAG_RECLAIM",
    "SCHED_FLAG_DL_OVERRUN",
    "SCHED_FLAG_KEEP_POLICY",
    "SCHED_FLAG_KEEP_PARAMS",
    "SCHED_FLAG_UTIL_CLAMP_MIN",
    "SCHED_FLAG_UTIL_CLAMP_MAX",
];

/// `process.ioPriority.class` values.
pub const IOPRIO_CLASSES: [&str; 3] = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"];

/// `linux.memoryPolicy.mode` values.
pub const MEMORY_POLICY_MODES: [&str; 7] = [
    "MPOL_DEFAULT",
    "MPOL_BIND",
    "MPOL_INTERLEAVE",
    "MPOL_WEIGHTED_INTERLEAVE",
    "MPOL_PREFERRED",
    "MPOL_PREFERRED_MANY",
    "MPOL_LOCAL",
];

/// `linux.memoryPolicy.flags` values.
pub const MEMORY_POLICY_FLAGS: [&str; 3] = [
    "MPOL_F_NUMA_BALANCING",
    "MPOL_F_RELATIVE_NODES",
    "MPOL_F_STATIC_NODES",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_map_to_clone_flags() {
        assert_eq!(namespace_flag("pid"), Some(libc::CLONE_NEWPID));
        assert_eq!(namespace_flag("network"), Some(libc::CLONE_NEWNET));
        assert_eq!(namespace_flag("mount"), Some(libc::CLONE_NEWNS));
        assert_eq!(namespace_flag("time"), Some(0x80));
        assert_eq!(namespace_flag("net"), None);
        assert_eq!(namespace_flag("PID"), None);
    }

    #[test]
    fn capabilities_have_kernel_numbers() {
        assert_eq!(capability_number("CAP_CHOWN"), Some(0));
        assert_eq!(capability_number("CAP_KILL"), Some(5));
        assert_eq!(capability_number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(capability_number("CAP_AUDIT_READ"), Some(37));
        assert_eq!(capability_number("CAP_CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(capability_number("cap_kill"), None);
        assert_eq!(capability_number("KILL"), None);
        assert_eq!(CAPABILITIES.len(), 41);
    }

    #[test]
    fn rlimits_map_to_resources() {
        assert_eq!(
            rlimit_resource("RLIMIT_NOFILE"),
            Some(libc::RLIMIT_NOFILE as libc::c_int)
        );
        assert_eq!(rlimit_resource("RLIMIT_RTTIME"), Some(15));
        assert_eq!(rlimit_resource("RLIMIT_CPU"), Some(0));
        assert_eq!(rlimit_resource("NOFILE"), None);
    }
}
