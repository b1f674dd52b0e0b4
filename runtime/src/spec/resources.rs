//! `linux.resources` (also the `update --resources` file); conventions in
//! [`super::types`]. Memory values are bytes, `-1` meaning unlimited.

use serde::{Deserialize, Serialize};

use super::str::{nullable, Map, Str};

/// `linux.resources`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LinuxResources<'a> {
    /// Device cgroup rules, applied in order.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub devices: Vec<DeviceCgroup<'a>>,
    /// Memory controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// CPU and cpuset controllers.
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu<'a>>,
    /// Pids controller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<Pids>,
    /// Block I/O controller.
    #[serde(rename = "blockIO", skip_serializing_if = "Option::is_none")]
    pub block_io: Option<BlockIo>,
    /// Hugetlb limits.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hugepage_limits: Vec<HugepageLimit<'a>>,
    /// net_cls / net_prio.
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network<'a>>,
    /// RDMA limits by device name.
    #[serde(borrow, skip_serializing_if = "Map::is_empty")]
    pub rdma: Map<'a, Rdma>,
    /// cgroup v2 files to write, by file name.
    #[serde(borrow, skip_serializing_if = "Map::is_empty")]
    pub unified: Map<'a, Str<'a>>,
}

/// `linux.resources.devices[]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceCgroup<'a> {
    /// Allow (true) or deny.
    pub allow: bool,
    /// `a`, `c` or `b`; empty means all.
    #[serde(borrow, rename = "type", skip_serializing_if = "Str::is_empty")]
    pub typ: Str<'a>,
    /// Major number; `None` means all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    /// Minor number; `None` means all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    /// Some of `rwm`.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub access: Str<'a>,
}

/// `linux.resources.memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Memory {
    /// Limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Soft limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation: Option<i64>,
    /// Memory + swap limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap: Option<i64>,
    /// Kernel memory limit (deprecated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<i64>,
    /// Kernel TCP buffer limit.
    #[serde(rename = "kernelTCP", skip_serializing_if = "Option::is_none")]
    pub kernel_tcp: Option<i64>,
    /// vm.swappiness for the cgroup, 0 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<u64>,
    /// Disable the OOM killer.
    #[serde(rename = "disableOOMKiller", skip_serializing_if = "Option::is_none")]
    pub disable_oom_killer: Option<bool>,
    /// Hierarchical accounting (v1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_hierarchy: Option<bool>,
    /// Refuse a limit below current usage on update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_before_update: Option<bool>,
}

/// `linux.resources.cpu`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cpu<'a> {
    /// Relative weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    /// CFS quota (µs); -1 unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    /// CFS burst (µs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<u64>,
    /// CFS period (µs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    /// RT runtime (µs); -1 unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime_runtime: Option<i64>,
    /// RT period (µs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime_period: Option<u64>,
    /// cpuset CPUs.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub cpus: Str<'a>,
    /// cpuset memory nodes.
    #[serde(borrow, skip_serializing_if = "Str::is_empty")]
    pub mems: Str<'a>,
    /// `cpu.idle`: 0 or 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle: Option<i64>,
}

/// `linux.resources.pids`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pids {
    /// Maximum tasks; -1 (or 0) unlimited (required).
    pub limit: i64,
}

/// `linux.resources.blockIO`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BlockIo {
    /// Default weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// Leaf weight (CFQ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
    /// Per-device weights.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub weight_device: Vec<WeightDevice>,
    /// Read bytes/s per device.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    /// Write bytes/s per device.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    /// Read IO/s per device.
    #[serde(
        rename = "throttleReadIOPSDevice",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    /// Write IO/s per device.
    #[serde(
        rename = "throttleWriteIOPSDevice",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

/// `blockIO.weightDevice[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightDevice {
    /// Major number (required).
    pub major: i64,
    /// Minor number (required).
    pub minor: i64,
    /// Weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// Leaf weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_weight: Option<u16>,
}

/// `blockIO.throttle*Device[]`: all fields required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThrottleDevice {
    /// Major number.
    pub major: i64,
    /// Minor number.
    pub minor: i64,
    /// Rate per second.
    pub rate: u64,
}

/// `linux.resources.hugepageLimits[]`: both fields required.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HugepageLimit<'a> {
    /// Page size, `<size><unit>B` (`2MB`, `1GB`).
    #[serde(borrow)]
    pub page_size: Str<'a>,
    /// Limit in bytes.
    pub limit: u64,
}

/// `linux.resources.network`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Network<'a> {
    /// net_cls class id.
    #[serde(rename = "classID", skip_serializing_if = "Option::is_none")]
    pub class_id: Option<u32>,
    /// net_prio per interface.
    #[serde(
        borrow,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub priorities: Vec<InterfacePriority<'a>>,
}

/// `network.priorities[]`: both fields required.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InterfacePriority<'a> {
    /// Interface name.
    #[serde(borrow)]
    pub name: Str<'a>,
    /// Priority.
    pub priority: u32,
}

/// `linux.resources.rdma.<device>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rdma {
    /// Maximum HCA handles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hca_handles: Option<u32>,
    /// Maximum HCA objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hca_objects: Option<u32>,
}
