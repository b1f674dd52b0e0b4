//! The precomputed plan: everything the container's init needs, resolved before
//! the clone. The child only walks these structures and makes system calls: every
//! string is already a C string, every flag already resolved, every pointer array
//! already built, so the child never allocates.

mod build;
pub mod cstr;
pub mod home;
pub mod mount_options;

pub use build::{
    build, check_sysctl_namespaces, namespaces_of, process_plan, CgroupView, PlanInput,
    STATE_PID_PLACEHOLDER,
};
pub use cstr::{CStrArray, InRootPath, PtrArray};

use std::ffi::CString;

use crate::sys::caps::CapSets;
use crate::sys::mount_api::MountAttr;

/// The whole plan for one container init (or, later, one exec'd process).
#[derive(Debug)]
pub struct Plan {
    pub ns: Namespaces,
    /// uid/gid maps the parent writes for a new user namespace.
    pub id_maps: Option<IdMaps>,
    pub rootfs: Option<RootfsPlan>,
    /// Without a mount namespace of its own (none, or one joined by path), the
    /// init still never runs in the host's root: it chroots here (`root.path`)
    /// once in its namespaces. None with a rootfs plan, and for exec.
    pub chroot: Option<CString>,
    /// `linux.sysctl` as (path relative to /proc/sys, value).
    pub sysctls: Vec<Sysctl>,
    pub hostname: Option<CString>,
    pub domainname: Option<CString>,
    pub process: ProcessPlan,
    /// Join a fresh session keyring (unless `--no-new-keyring`).
    pub new_keyring: bool,
    /// Number of fds after stdio passed through (`--preserve-fds`).
    pub preserve_fds: u32,
    /// The fds of that range that were not open when the caller asked (sorted):
    /// whatever the runtime opened there since is its own and is closed, never
    /// passed (see [`crate::spawn::absent_fds`]).
    pub preserve_absent: Vec<u32>,
    /// Stop after the mounts, before pivot_root, for the parent to run the
    /// prestart, createRuntime and createContainer hooks.
    pub hooks_sync: bool,
    /// `linux.seccomp`, compiled.
    pub seccomp: Option<crate::seccomp::SeccompPlan>,
    /// A new network namespace is created: bring its `lo` up (runc and crun do).
    pub loopback_up: bool,
    /// `hooks.startContainer`: run by the init itself after `start`, before the
    /// user program, with the container's identity, cgroup and seccomp (runc).
    pub start_hooks: Vec<HookPlan>,
    /// The hooks' state JSON around the pid, which the init fills in (its own pid
    /// as it sees it, as runc).
    pub start_state: (Vec<u8>, Vec<u8>),
}

/// A hook the init runs (resolved in the container), precomputed.
#[derive(Debug)]
pub struct HookPlan {
    pub path: CString,
    /// `args` (argv[0] included), or just the path.
    pub argv: CStrArray,
    pub envp: CStrArray,
    /// The exec trampoline's argv `[path, argv...]`.
    pub trampoline_argv: PtrArray,
    /// Seconds; None: no bound.
    pub timeout: Option<u32>,
}

/// Namespaces to create and to join.
#[derive(Debug, Default)]
pub struct Namespaces {
    /// CLONE_NEW* flags for clone3.
    pub clone_flags: u64,
    /// CLONE_NEW* flags the child unshares after joining (when it joins a user
    /// namespace, the new namespaces must be owned by that one; a cgroup namespace
    /// on v1 and hybrid, created once the init is in its cgroups).
    pub unshare_flags: libc::c_int,
    /// Namespaces to join with setns, in order (user first).
    pub join: Vec<JoinNs>,
    /// CLONE_NEW* types to join from the process behind the target pidfd given at
    /// spawn (exec joins the container's init this way, in one setns call).
    pub join_target: libc::c_int,
    /// The process runs in a user namespace (created or joined): once the parent
    /// has written the maps, become that namespace's root (our host uid is not
    /// mapped there, so nothing we create could be owned otherwise).
    pub become_root: bool,
    /// Content for /proc/self/timens_offsets; the child unshares CLONE_NEWTIME itself
    /// (offsets can only be written before any process lives in the namespace).
    pub time_offsets: Option<CString>,
}

/// A namespace to join.
#[derive(Debug)]
pub struct JoinNs {
    /// CLONE_NEW* type.
    pub flag: libc::c_int,
    pub path: std::path::PathBuf,
}

/// uid/gid map contents ("inside outside size\n" lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uid_map: String,
    pub gid_map: String,
}

/// The container's file system.
#[derive(Debug)]
pub struct RootfsPlan {
    /// Absolute host path of the root.
    pub path: CString,
    /// Propagation applied to "/" of the new mount namespace first (MS_* | MS_REC).
    pub root_propagation: libc::c_ulong,
    /// The host mount holding the root, made private after `root_propagation`
    /// because it would be shared (pivot_root refuses a shared parent).
    pub parent_private: Option<CString>,
    /// Propagation applied to the container's root at the end, when asked.
    pub rootfs_propagation: Option<libc::c_ulong>,
    pub readonly: bool,
    pub mounts: Vec<MountStep>,
    pub devices: Vec<DeviceStep>,
    pub links: Vec<LinkStep>,
    pub masked: Vec<InRootPath>,
    pub readonly_paths: Vec<InRootPath>,
    /// MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    /// With `no_pivot`: the full procfs and sysfs mounts outside the root (from
    /// the runtime's mount table), unmounted (or covered) before the chroot so
    /// that a nested user namespace cannot mount a fresh procfs (runc's msMoveRoot).
    pub no_pivot_hide: Vec<CString>,
    /// `/dev/console`, bound to the pty when the process has a terminal.
    pub console: Option<InRootPath>,
    /// User namespaces (by their maps) the parent prepares for idmapped mounts;
    /// `MountKind::Bind::idmap` indexes this list.
    pub idmaps: Vec<IdMaps>,
    /// How many bind trees the runtime opens before the clone (`preopen`).
    pub preopened: usize,
    /// A read-only /dev (with the index of its mount in the config, when the config
    /// gave it): mounted writable, made read-only once what goes under it is in
    /// place (runc's finalizeRootfs).
    pub dev_readonly: Option<Option<usize>>,
    /// `process.cwd` (unless "/"): created inside the root when missing, after the
    /// mounts and before the switch (runc and crun create it too).
    pub cwd: Option<InRootPath>,
}

/// One mount, in order.
#[derive(Debug)]
pub struct MountStep {
    /// Index in the config's `mounts` (for messages); None for a mount the runtime adds.
    pub config_index: Option<usize>,
    pub dest: InRootPath,
    pub kind: MountKind,
    /// Propagation to set on the new mount (MS_SHARED, MS_SLAVE, ...; 0 = leave).
    pub propagation: u64,
    /// Create the destination as a file (bind of a non-directory) rather than a directory.
    pub dest_is_file: bool,
    /// Refuse a destination that is a symlink (for /proc and /sys).
    pub no_symlink: bool,
    /// The fs type name, for messages.
    pub type_name: String,
    /// Where the destination is reached from.
    pub at: At,
}

/// Where a mount step's destination is reached from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum At {
    /// A walk from the container's root (`dest`), creating what is missing.
    #[default]
    Root,
    /// A new directory named as `dest`'s last component, directly in the file system
    /// the last `Fs` step mounted (a tmpfs the runtime just made, which holds only
    /// what the steps since put there): no walk, one `mkdirat` (the v1 cgroup binds).
    InLastFs,
    /// The file system the last `Fs` step mounted itself (its attributes, once
    /// filled).
    LastFs,
}

impl MountStep {
    /// The config field this mount is, for messages: `mounts[3]`, or `mounts` for a
    /// mount the runtime adds.
    pub fn field(&self) -> String {
        match self.config_index {
            Some(i) => format!("mounts[{i}]"),
            None => "mounts".to_string(),
        }
    }
}

/// How to make a mount.
#[derive(Debug)]
pub enum MountKind {
    /// A fresh file system: fsopen + fsconfig + fsmount.
    Fs {
        fstype: CString,
        options: Vec<FsOption>,
        /// MOUNT_ATTR_* for fsmount.
        attrs: u64,
    },
    /// A bind mount of a host path: open_tree(OPEN_TREE_CLONE) + mount_setattr.
    Bind {
        source: CString,
        recursive: bool,
        /// The source must be a procfs (a bind onto /proc): checked on the
        /// opened tree, so a source swapped after the plan was built is refused.
        procfs_only: bool,
        /// Attributes for the top mount.
        attr: MountAttr,
        /// Attributes for the whole tree (`rro`, ...), applied first.
        rec_attr: MountAttr,
        /// Idmap the tree with user namespace number N of `RootfsPlan::idmaps`
        /// (recursively with `ridmap`).
        idmap: Option<(usize, bool)>,
        /// With a user namespace: the tree is opened (and its attributes set) by
        /// the runtime before the clone, with the host's credentials, as runc
        /// opens bind sources before entering the namespace; N-th of those fds.
        preopen: Option<usize>,
    },
    /// Change attributes of an existing mount at the destination (used to set
    /// those of a runtime-made tmpfs after filling it), with `recursive` of every
    /// mount below it too.
    Setattr { attr: MountAttr, recursive: bool },
}

/// A superblock option for fsconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsOption {
    pub key: CString,
    pub value: Option<CString>,
}

/// A device node to create (or bind from the host inside a user namespace).
#[derive(Debug)]
pub struct DeviceStep {
    pub path: InRootPath,
    /// S_IFCHR/S_IFBLK/S_IFIFO | permissions.
    pub mode: libc::mode_t,
    pub dev: libc::dev_t,
    pub uid: u32,
    pub gid: u32,
    /// Bind this host path instead of mknod (user namespaces).
    pub bind_from: Option<CString>,
}

/// A symlink to create, e.g. /dev/fd -> /proc/self/fd. Existing entries are left alone.
#[derive(Debug)]
pub struct LinkStep {
    pub target: CString,
    pub path: InRootPath,
}

/// A sysctl write.
#[derive(Debug)]
pub struct Sysctl {
    pub name: String,
    /// Path relative to /proc/sys, e.g. "net/ipv4/ip_forward".
    pub rel_path: CString,
    pub value: CString,
}

/// The process to run.
#[derive(Debug)]
pub struct ProcessPlan {
    pub argv: CStrArray,
    pub envp: CStrArray,
    /// Full paths to try, in order (PATH lookup inside the container).
    pub exec_candidates: Vec<CString>,
    /// For each candidate, the exec trampoline's argv `[candidate, argv...]`.
    pub trampoline_argv: Vec<PtrArray>,
    pub cwd: CString,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<libc::gid_t>,
    pub umask: Option<libc::mode_t>,
    /// None: leave capabilities as they are (all of root's). The plan builder always
    /// sets them: an absent `process.capabilities` means every set empty.
    pub caps: Option<CapSets>,
    /// Highest capability number the kernel knows.
    pub last_cap: u32,
    pub rlimits: Vec<Rlimit>,
    pub no_new_privs: bool,
    pub oom_score_adj: Option<i32>,
    pub terminal: bool,
    /// Initial pty size (rows, columns) from `process.consoleSize`.
    pub console_size: Option<(u16, u16)>,
}

/// One rlimit.
#[derive(Debug, Clone)]
pub struct Rlimit {
    pub name: String,
    pub resource: libc::c_int,
    pub soft: u64,
    pub hard: u64,
}
