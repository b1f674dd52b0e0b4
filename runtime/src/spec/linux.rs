//! The `linux` section of the config (conventions in [`super::types`]).

use serde::{Deserialize, Serialize};

use super::resources::LinuxResources;
use super::str::{nullable, Map, Str};
use super::types::{is_false, is_zero, IdMapping};

/// `linux`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Linux<'a> {
    /// User-namespace uid mappings.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<IdMapping>,
    /// User-namespace gid mappings.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<IdMapping>,
    /// Kernel parameters, `net.ipv4.ip_forward` style names.
    #[serde(borrow, skip_serializing_if = "Map::is_empty")]
    pub sysctl: Map<'a, Str<'a>>,
    /// cgroup limits.
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub resources: Option<LinuxResources<'a>>,
    /// The cgroup path (absolute, relative, or systemd `slice:prefix:name`).
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub cgroups_path: Str<'a>,
    /// Namespaces to create or join.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub namespaces: Vec<Namespace<'a>>,
    /// Device nodes to create.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub devices: Vec<Device<'a>>,
    /// Network devices to move into the container, by host name (1.2.1).
    #[serde(borrow, skip_serializing_if = "Map::is_empty")]
    pub net_devices: Map<'a, NetDevice<'a>>,
    /// The seccomp filter.
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp<'a>>,
    /// Propagation of the rootfs mount.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub rootfs_propagation: Str<'a>,
    /// Paths masked in the container.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub masked_paths: Vec<Str<'a>>,
    /// Paths made read-only in the container.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub readonly_paths: Vec<Str<'a>>,
    /// SELinux mount label.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub mount_label: Str<'a>,
    /// Intel RDT (resctrl).
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<IntelRdt<'a>>,
    /// `personality(2)`.
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub personality: Option<Personality<'a>>,
    /// Time-namespace clock offsets, by clock name (`monotonic`, `boottime`).
    #[serde(borrow, skip_serializing_if = "Map::is_empty")]
    pub time_offsets: Map<'a, TimeOffset>,
    /// `set_mempolicy(2)` (1.3.0).
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub memory_policy: Option<MemoryPolicy<'a>>,
}

/// `linux.namespaces[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Namespace<'a> {
    /// `pid`, `network`, `mount`, `ipc`, `uts`, `user`, `cgroup` or `time` (required).
    #[serde(borrow, rename = "type")]
    pub typ: Str<'a>,
    /// A namespace file to join; a new namespace is created when empty.
    #[serde(borrow, default, skip_serializing_if = "Str::is_empty")]
    pub path: Str<'a>,
}

/// `linux.timeOffsets.<clock>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeOffset {
    /// Seconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub secs: i64,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub nanosecs: u32,
}

/// `linux.devices[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device<'a> {
    /// `c`, `b`, `u` or `p` (required).
    #[serde(borrow, rename = "type")]
    pub typ: Str<'a>,
    /// Absolute path in the container (required).
    #[serde(borrow)]
    pub path: Str<'a>,
    /// Major number: required unless `typ` is `p` (`None` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    /// Minor number: required unless `typ` is `p` (`None` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    /// Permission bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_mode: Option<u32>,
    /// Owner in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Group in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

/// `linux.netDevices.<host name>` (1.2.1).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NetDevice<'a> {
    /// Name in the container; the host name when empty.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub name: Str<'a>,
}

/// `linux.seccomp`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seccomp<'a> {
    /// `SCMP_ACT_*` for syscalls no rule matches (required).
    #[serde(borrow)]
    pub default_action: Str<'a>,
    /// errno for `defaultAction` ERRNO/TRACE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u64>,
    /// `SCMP_ARCH_*` names.
    #[serde(
        borrow,
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub architectures: Vec<Str<'a>>,
    /// `SECCOMP_FILTER_FLAG_*` names.
    #[serde(
        borrow,
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flags: Vec<Str<'a>>,
    /// Unix socket for `SCMP_ACT_NOTIFY`.
    #[serde(borrow, default, skip_serializing_if = "Str::is_empty")]
    pub listener_path: Str<'a>,
    /// Opaque data sent to the listener.
    #[serde(borrow, default, skip_serializing_if = "Str::is_empty")]
    pub listener_metadata: Str<'a>,
    /// Rules.
    #[serde(
        borrow,
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub syscalls: Vec<Syscall<'a>>,
}

/// `linux.seccomp.syscalls[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Syscall<'a> {
    /// Syscall names (required, non-empty).
    #[serde(borrow, deserialize_with = "nullable")]
    pub names: Vec<Str<'a>>,
    /// `SCMP_ACT_*` (required).
    #[serde(borrow)]
    pub action: Str<'a>,
    /// errno for ERRNO/TRACE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u64>,
    /// Argument conditions.
    #[serde(
        borrow,
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<SeccompArg<'a>>,
}

/// `linux.seccomp.syscalls[].args[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompArg<'a> {
    /// Argument index, 0 to 5 (required).
    pub index: u64,
    /// Value compared (required).
    pub value: u64,
    /// Second value (mask for `SCMP_CMP_MASKED_EQ`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value_two: u64,
    /// `SCMP_CMP_*` (required).
    #[serde(borrow)]
    pub op: Str<'a>,
}

/// `linux.intelRdt`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IntelRdt<'a> {
    /// Class of service (resctrl group name).
    #[serde(borrow, rename = "closID", skip_serializing_if = "Str::is_empty")]
    pub clos_id: Str<'a>,
    /// Full schemata, written last (1.2.0).
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub schemata: Str<'a>,
    /// `L3:` schema.
    #[serde(
        borrow,
        rename = "l3CacheSchema",
        skip_serializing_if = "Str::is_empty"
    )]
    pub l3_cache_schema: Str<'a>,
    /// `MB:` schema.
    #[serde(borrow, rename = "memBwSchema", skip_serializing_if = "Str::is_empty")]
    pub mem_bw_schema: Str<'a>,
    /// Enable monitoring (1.3.0; replaces `enableCMT`/`enableMBM`).
    #[serde(rename = "enableMonitoring", skip_serializing_if = "is_false")]
    pub enable_monitoring: bool,
    /// Cache monitoring (1.1.0 to 1.2.x).
    #[serde(rename = "enableCMT", skip_serializing_if = "is_false")]
    pub enable_cmt: bool,
    /// Memory-bandwidth monitoring (1.1.0 to 1.2.x).
    #[serde(rename = "enableMBM", skip_serializing_if = "is_false")]
    pub enable_mbm: bool,
}

/// `linux.personality`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Personality<'a> {
    /// `LINUX` or `LINUX32` (required).
    #[serde(borrow)]
    pub domain: Str<'a>,
    /// Additional flags (none are defined).
    #[serde(
        borrow,
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flags: Vec<Str<'a>>,
}

/// `linux.memoryPolicy` (1.3.0).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MemoryPolicy<'a> {
    /// `MPOL_*` mode (required).
    #[serde(borrow)]
    pub mode: Str<'a>,
    /// NUMA nodes, `cpuset` list syntax.
    #[serde(borrow, default, skip_serializing_if = "Str::is_empty")]
    pub nodes: Str<'a>,
    /// `MPOL_F_*` flags.
    #[serde(
        borrow,
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flags: Vec<Str<'a>>,
}

impl Linux<'_> {
    /// The namespace entry of a type, if listed.
    pub fn namespace(&self, typ: &str) -> Option<&Namespace<'_>> {
        self.namespaces.iter().find(|n| n.typ == typ)
    }
}
