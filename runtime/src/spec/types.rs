//! The top of the OCI runtime-spec config (1.0.0 to 1.3.0): the document, the
//! process, root, mounts and hooks. Linux sections are in [`super::linux`] and
//! [`super::resources`].
//!
//! Conventions for every type of the model:
//! - field names are the snake_case of the JSON names; numeric widths are those of
//!   the Go types in `specs-go` (Go `int`/`uint` are 64-bit);
//! - strings are [`Str`] (borrowed from the input); an optional string is an empty
//!   `Str` when absent, as Go's `omitempty` strings are;
//! - objects that may be absent are `Option<T>`; arrays are `Vec<T>`, empty when
//!   absent or `null` (no runtime distinguishes an absent array from an empty one);
//!   JSON objects used as maps are [`Map`];
//! - unknown fields are ignored; serialization omits `None`, empty arrays, empty
//!   optional strings and `false`/zero where Go's `omitempty` would, and writes
//!   fields in the Go struct order, so `runc spec` output round-trips byte for byte.

use serde::{Deserialize, Serialize};

use super::linux::Linux;
use super::str::{nullable, Map, Str};

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A whole `config.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config<'a> {
    /// The runtime-spec version the bundle complies with (required).
    #[serde(borrow)]
    pub oci_version: Str<'a>,
    /// The container process (required for create/run).
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process<'a>>,
    /// The root filesystem (required).
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub root: Option<Root<'a>>,
    /// The container's hostname; needs a UTS namespace.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub hostname: Str<'a>,
    /// The container's NIS domain name; needs a UTS namespace.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub domainname: Str<'a>,
    /// Mounts on top of the root, in order.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub mounts: Vec<Mount<'a>>,
    /// Lifecycle hooks.
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks<'a>>,
    /// Arbitrary metadata.
    #[serde(borrow, skip_serializing_if = "Map::is_empty")]
    pub annotations: Map<'a, Str<'a>>,
    /// The Linux section.
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub linux: Option<Linux<'a>>,
}

/// `process`: what runs in the container (also the `exec --process` file).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Process<'a> {
    /// Allocate a pseudo-terminal.
    #[serde(skip_serializing_if = "is_false")]
    pub terminal: bool,
    /// The console size (with `terminal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub console_size: Option<ConsoleSize>,
    /// The user identity.
    #[serde(borrow)]
    pub user: User<'a>,
    /// The argv (required, non-empty on Linux).
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<Str<'a>>,
    /// The full command line (Windows only; kept for round-trips).
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub command_line: Str<'a>,
    /// The environment, `KEY=value` strings.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<Str<'a>>,
    /// The working directory, absolute in the container (required).
    #[serde(borrow)]
    pub cwd: Str<'a>,
    /// Capability sets.
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Capabilities<'a>>,
    /// Resource limits.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub rlimits: Vec<Rlimit<'a>>,
    /// Set `PR_SET_NO_NEW_PRIVS`.
    #[serde(skip_serializing_if = "is_false")]
    pub no_new_privileges: bool,
    /// AppArmor profile name.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub apparmor_profile: Str<'a>,
    /// `/proc/self/oom_score_adj`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i32>,
    /// `sched_setattr(2)` attributes (1.2.0).
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<Scheduler<'a>>,
    /// SELinux process label.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub selinux_label: Str<'a>,
    /// `ioprio_set(2)` (1.2.0).
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub io_priority: Option<IoPriority<'a>>,
    /// CPU affinity while and after exec (1.3.0).
    #[serde(
        borrow,
        rename = "execCPUAffinity",
        skip_serializing_if = "Option::is_none"
    )]
    pub exec_cpu_affinity: Option<ExecCpuAffinity<'a>>,
}

/// `process.consoleSize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsoleSize {
    /// Rows.
    pub height: u64,
    /// Columns.
    pub width: u64,
}

/// `process.user`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User<'a> {
    /// User id in the container.
    pub uid: u32,
    /// Group id in the container.
    pub gid: u32,
    /// The umask, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub umask: Option<u32>,
    /// Supplementary groups.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub additional_gids: Vec<u32>,
    /// User name (Windows only; kept for round-trips).
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub username: Str<'a>,
}

/// `process.capabilities`: capability names (`CAP_*`) per set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Capabilities<'a> {
    /// The bounding set.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub bounding: Vec<Str<'a>>,
    /// The effective set.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub effective: Vec<Str<'a>>,
    /// The inheritable set.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub inheritable: Vec<Str<'a>>,
    /// The permitted set.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub permitted: Vec<Str<'a>>,
    /// The ambient set.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ambient: Vec<Str<'a>>,
}

/// `process.rlimits[]`: all three fields are required.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Rlimit<'a> {
    /// `RLIMIT_*` name.
    #[serde(borrow, rename = "type")]
    pub typ: Str<'a>,
    /// Hard limit.
    pub hard: u64,
    /// Soft limit.
    pub soft: u64,
}

/// `process.scheduler` (1.2.0).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Scheduler<'a> {
    /// `SCHED_*` policy (required).
    #[serde(borrow)]
    pub policy: Str<'a>,
    /// Nice value.
    #[serde(skip_serializing_if = "is_zero")]
    pub nice: i32,
    /// Static priority.
    #[serde(skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// `SCHED_FLAG_*` flags.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flags: Vec<Str<'a>>,
    /// SCHED_DEADLINE runtime (ns).
    #[serde(skip_serializing_if = "is_zero")]
    pub runtime: u64,
    /// SCHED_DEADLINE deadline (ns).
    #[serde(skip_serializing_if = "is_zero")]
    pub deadline: u64,
    /// SCHED_DEADLINE period (ns).
    #[serde(skip_serializing_if = "is_zero")]
    pub period: u64,
}

/// `process.ioPriority` (1.2.0): both fields required.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IoPriority<'a> {
    /// `IOPRIO_CLASS_RT`, `IOPRIO_CLASS_BE` or `IOPRIO_CLASS_IDLE`.
    #[serde(borrow)]
    pub class: Str<'a>,
    /// Priority in the class, 0 to 7.
    pub priority: i64,
}

/// `process.execCPUAffinity` (1.3.0): CPU lists in `cpuset` syntax.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecCpuAffinity<'a> {
    /// Affinity of the runtime's process joining the container.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub initial: Str<'a>,
    /// Affinity of the process after it joined (JSON `final`).
    #[serde(borrow, rename = "final", skip_serializing_if = "Str::is_empty")]
    pub final_: Str<'a>,
}

/// `root`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Root<'a> {
    /// The rootfs path, absolute or relative to the bundle (required).
    #[serde(borrow)]
    pub path: Str<'a>,
    /// Make the rootfs read-only.
    #[serde(skip_serializing_if = "is_false")]
    pub readonly: bool,
}

/// `mounts[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount<'a> {
    /// Absolute path in the container (required).
    #[serde(borrow)]
    pub destination: Str<'a>,
    /// Filesystem type; empty for bind mounts.
    #[serde(
        borrow,
        rename = "type",
        default,
        skip_serializing_if = "Str::is_empty"
    )]
    pub typ: Str<'a>,
    /// Device name, directory (bind) or dummy source.
    #[serde(borrow, default, skip_serializing_if = "Str::is_empty")]
    pub source: Str<'a>,
    /// fstab-style options.
    #[serde(
        borrow,
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub options: Vec<Str<'a>>,
    /// ID-mapped mount uid mappings (1.1.0).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub uid_mappings: Vec<IdMapping>,
    /// ID-mapped mount gid mappings (1.1.0).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub gid_mappings: Vec<IdMapping>,
}

/// A uid or gid mapping (`linux.uidMappings[]`, `mounts[].uidMappings[]`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IdMapping {
    /// First id in the container.
    #[serde(rename = "containerID")]
    pub container_id: u32,
    /// First id on the host.
    #[serde(rename = "hostID")]
    pub host_id: u32,
    /// Number of ids.
    pub size: u32,
}

/// `hooks`: commands run at points of the lifecycle.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Hooks<'a> {
    /// Deprecated: after create, before pivot_root, in the runtime namespace.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub prestart: Vec<Hook<'a>>,
    /// After create, before pivot_root, in the runtime namespace.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub create_runtime: Vec<Hook<'a>>,
    /// After create, before pivot_root, in the container namespace.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub create_container: Vec<Hook<'a>>,
    /// At start, before the user process, in the container namespace.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub start_container: Vec<Hook<'a>>,
    /// After the user process started.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub poststart: Vec<Hook<'a>>,
    /// After the container is deleted.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub poststop: Vec<Hook<'a>>,
}

/// One hook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Hook<'a> {
    /// Absolute path of the executable (required).
    #[serde(borrow)]
    pub path: Str<'a>,
    /// argv, including argv\[0\].
    #[serde(
        borrow,
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<Str<'a>>,
    /// Environment; absent (or null): the runtime's own (runc), `[]`: none.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<Str<'a>>>,
    /// Seconds before the hook is killed; must be > 0 when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

impl Hooks<'_> {
    /// Every hook list with its JSON name, in lifecycle order.
    pub fn lists(&self) -> [(&'static str, &[Hook<'_>]); 6] {
        [
            ("prestart", &self.prestart),
            ("createRuntime", &self.create_runtime),
            ("createContainer", &self.create_container),
            ("startContainer", &self.start_container),
            ("poststart", &self.poststart),
            ("poststop", &self.poststop),
        ]
    }
}

impl Capabilities<'_> {
    /// Every set with its JSON name.
    pub fn sets(&self) -> [(&'static str, &[Str<'_>]); 5] {
        [
            ("bounding", &self.bounding),
            ("effective", &self.effective),
            ("inheritable", &self.inheritable),
            ("permitted", &self.permitted),
            ("ambient", &self.ambient),
        ]
    }
}
