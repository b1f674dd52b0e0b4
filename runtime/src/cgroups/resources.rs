//! `linux.resources` → the list of cgroup file writes, for v1 and v2, following runc
//! (and crun for the shares → weight formula). Pure: the few facts that depend on the
//! machine (is swap accounting on, is BFQ there, the current memory limit) come in a
//! [`Probe`], filled by the manager.
//!
//! The values mirror the OCI `linux.resources` object, owned and already parsed.
//! Zero means "unset" where runc treats it so (memory limit, quota, shares...).

use std::collections::BTreeMap;
use std::fmt;

use super::CgroupError;

/// `linux.resources`, owned and resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// Device cgroup rules, applied in order after a "deny all" (v1 writes here; on
    /// pure v2 they become an eBPF program, see [`super::devices`]). Empty: the devices cgroup is left
    /// as inherited, so at create the engine passes the spec's rules plus the defaults.
    pub devices: Vec<DeviceRule>,
    pub memory: Option<Memory>,
    pub cpu: Option<Cpu>,
    pub pids: Option<Pids>,
    pub block_io: Option<BlockIo>,
    pub hugepage_limits: Vec<HugepageLimit>,
    pub network: Option<Network>,
    /// RDMA limits by device name (`rdma.max`, v1 or v2).
    pub rdma: BTreeMap<String, RdmaLimit>,
    /// Raw cgroup v2 `file → value` pairs, written last.
    pub unified: BTreeMap<String, String>,
}

/// `linux.resources.memory`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    /// memory + swap (the v1 meaning, as in the OCI spec).
    pub swap: Option<i64>,
    /// Ignored (kernel memory limits are gone from current kernels; runc ignores it).
    pub kernel: Option<i64>,
    /// Ignored, as `kernel`.
    pub kernel_tcp: Option<i64>,
    pub swappiness: Option<u64>,
    pub disable_oom_killer: Option<bool>,
}

/// `linux.resources.cpu`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cpu {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub burst: Option<u64>,
    pub period: Option<u64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    pub idle: Option<i64>,
}

/// `linux.resources.pids`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pids {
    /// > 0: the limit; 0 or negative: unlimited ("max"), as runc.
    pub limit: i64,
}

/// `linux.resources.blockIO`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockIo {
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
    pub weight_device: Vec<WeightDevice>,
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

/// One `blockIO.weightDevice` entry.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
}

/// One `blockIO.throttle*Device` entry.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

/// One `hugepageLimits` entry (`page_size` like "2MB").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HugepageLimit {
    pub page_size: String,
    pub limit: u64,
}

/// `linux.resources.network` (v1 `net_cls` / `net_prio`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    pub class_id: Option<u32>,
    /// `(interface name, priority)`.
    pub priorities: Vec<(String, u32)>,
}

/// One `linux.resources.rdma` entry: unset fields stay "max".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RdmaLimit {
    pub hca_handles: Option<u32>,
    pub hca_objects: Option<u32>,
}

/// One `linux.resources.devices` rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a', 'b' or 'c'; `None` means 'a'.
    pub kind: Option<char>,
    /// `None` means any (`*`).
    pub major: Option<i64>,
    /// `None` means any (`*`).
    pub minor: Option<i64>,
    /// Letters of "rwm"; `None` or empty means "rwm".
    pub access: Option<String>,
}

impl DeviceRule {
    /// The v1 `devices.allow`/`devices.deny` line: `c 1:3 rwm`, `a *:* rwm`.
    pub fn line(&self) -> Result<String, CgroupError> {
        let kind = self.kind.unwrap_or('a');
        if !matches!(kind, 'a' | 'b' | 'c') {
            return Err(CgroupError::Config(format!(
                "linux.resources.devices: invalid type {kind:?} (expected a, b or c)"
            )));
        }
        let num = |n: Option<i64>, what: &str| -> Result<String, CgroupError> {
            match n {
                None | Some(-1) => Ok("*".into()),
                Some(v) if v >= 0 => Ok(v.to_string()),
                Some(v) => Err(CgroupError::Config(format!(
                    "linux.resources.devices: invalid {what} {v}"
                ))),
            }
        };
        let access = match self.access.as_deref() {
            None | Some("") => "rwm",
            Some(a) => a,
        };
        if !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) || access.len() > 3 {
            return Err(CgroupError::Config(format!(
                "linux.resources.devices: invalid access {access:?} (letters of \"rwm\")"
            )));
        }
        let (major, minor) = if kind == 'a' {
            ("*".to_string(), "*".to_string())
        } else {
            (num(self.major, "major")?, num(self.minor, "minor")?)
        };
        Ok(format!("{kind} {major}:{minor} {access}"))
    }
}

/// The rules every container gets besides its own (runc's default allowed devices):
/// mknod of any char/block device, /dev/null, zero, full, random, urandom, tty,
/// ptmx and the pts devices. Put them after the spec's rules (runc): a spec usually starts
/// with "deny all", and later rules win.
pub fn default_device_rules() -> Vec<DeviceRule> {
    let rule = |kind: char, major: Option<i64>, minor: Option<i64>, access: &str| DeviceRule {
        allow: true,
        kind: Some(kind),
        major,
        minor,
        access: Some(access.to_string()),
    };
    vec![
        rule('c', None, None, "m"),
        rule('b', None, None, "m"),
        rule('c', Some(1), Some(3), "rwm"), // /dev/null
        rule('c', Some(1), Some(8), "rwm"), // /dev/random
        rule('c', Some(1), Some(7), "rwm"), // /dev/full
        rule('c', Some(5), Some(0), "rwm"), // /dev/tty
        rule('c', Some(1), Some(5), "rwm"), // /dev/zero
        rule('c', Some(1), Some(9), "rwm"), // /dev/urandom
        rule('c', Some(136), None, "rwm"),  // /dev/pts/*
        rule('c', Some(5), Some(2), "rwm"), // /dev/ptmx
    ]
}

/// Which tree a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The v1 hierarchy holding this controller.
    V1(&'static str),
    /// The cgroup2 tree (pure v2, or the unified tree of a hybrid layout).
    V2,
}

/// One write of a value to a cgroup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub target: Target,
    pub file: String,
    pub value: String,
    /// Skip silently when the file does not exist (optional kernel features).
    pub if_exists: bool,
    /// On EINVAL, retry once after the rest of the list (inter-dependent values such
    /// as cfs period/quota, rt period/runtime, as runc does).
    pub retry_einval: bool,
    /// Read the value back and fail if the kernel clamped it (cpu.shares).
    pub check_readback: bool,
}

impl Write {
    fn new(target: Target, file: impl Into<String>, value: impl ToString) -> Write {
        Write {
            target,
            file: file.into(),
            value: value.to_string(),
            if_exists: false,
            retry_einval: false,
            check_readback: false,
        }
    }
    fn if_exists(mut self) -> Self {
        self.if_exists = true;
        self
    }
    fn retry_einval(mut self, on: bool) -> Self {
        self.retry_einval = on;
        self
    }
    fn readback(mut self) -> Self {
        self.check_readback = true;
        self
    }
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.file, self.value)
    }
}

/// v1 or v2 file names and semantics for one controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    V1,
    V2,
}

/// The machine facts the conversion depends on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probe {
    /// Controllers mounted as v1 hierarchies.
    pub v1: Vec<String>,
    /// Controllers available on the cgroup2 tree; `None` when there is no cgroup2 tree.
    pub v2: Option<Vec<String>>,
    /// Pure v2: every controller uses v2 names, available or not.
    pub pure_v2: bool,
    /// v1 `memory.memsw.limit_in_bytes` exists (swap accounting).
    pub memsw: bool,
    /// BFQ weights exist (`blkio.bfq.weight` on v1, `io.bfq.weight` on v2).
    pub bfq: bool,
    /// The cgroup's current v1 memory limit, to order memory and memsw writes.
    pub memory_limit: Option<u64>,
}

const V1_CONTROLLERS: &[&str] = &[
    "cpuset", "devices", "memory", "cpu", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma",
];

impl Probe {
    /// A pure v1 machine with every controller mounted and swap accounting on.
    pub fn v1() -> Probe {
        Probe {
            v1: V1_CONTROLLERS.iter().map(|s| s.to_string()).collect(),
            memsw: true,
            ..Probe::default()
        }
    }

    /// A pure v2 machine.
    pub fn v2() -> Probe {
        Probe {
            v2: Some(
                ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            pure_v2: true,
            ..Probe::default()
        }
    }

    /// Whether `controller` is written with v1 or v2 names. On hybrid, a controller
    /// that is not a v1 hierarchy but is on the unified tree (here `hugetlb`) is v2.
    pub fn flavor(&self, controller: &str) -> Flavor {
        if self.pure_v2 {
            return Flavor::V2;
        }
        if self.v1.iter().any(|c| c == controller) {
            return Flavor::V1;
        }
        let v2_name = if controller == "blkio" {
            "io"
        } else {
            controller
        };
        match &self.v2 {
            Some(c) if c.iter().any(|c| c == v2_name) => Flavor::V2,
            // Not mounted anywhere: v1 names; applying fails with a clear error.
            _ => Flavor::V1,
        }
    }
}

/// runc's `numToStr` for v2 files: 0 → unset, -1 → "max".
fn num_to_str(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

/// cgroup v1 `cpu.shares` [2, 262144] → v2 `cpu.weight` [1, 10000], crun's and runc's
/// linear formula; 0 stays 0 (unset).
pub fn shares_to_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        s if s <= 2 => 1,
        s if s >= 262_144 => 10_000,
        s => 1 + ((s - 2) * 9999) / 262_142,
    }
}

/// cgroup v1 `blkio.weight` [10, 1000] → v2 `io.weight` [1, 10000] (runc); 0 stays 0.
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    match u64::from(weight) {
        0 => 0,
        w if w <= 10 => 1,
        w if w >= 1000 => 10_000,
        w => 1 + (w - 10) * 9999 / 990,
    }
}

/// OCI `memory.swap` (memory + swap) → v2 `memory.swap.max` (swap only), as runc.
pub fn swap_to_v2(swap: i64, limit: i64) -> Result<i64, CgroupError> {
    if limit == -1 && swap == 0 {
        // "memory unlimited, swap unset" means both unlimited, as on v1
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    if limit == 0 || limit == -1 {
        return Err(CgroupError::Config(format!(
            "linux.resources.memory.swap: cannot set swap ({swap}) without a memory limit on \
             cgroup v2"
        )));
    }
    if limit < 0 {
        return Err(CgroupError::Config(format!(
            "linux.resources.memory.limit: invalid value {limit}"
        )));
    }
    if swap < limit {
        return Err(CgroupError::Config(format!(
            "linux.resources.memory.swap: memory+swap limit {swap} must be >= memory limit \
             {limit}"
        )));
    }
    Ok(swap - limit)
}

fn memory(m: &Memory, fl: Flavor, probe: &Probe) -> Result<Vec<Write>, CgroupError> {
    let mut out = Vec::new();
    let limit = m.limit.unwrap_or(0);
    let swap = m.swap.unwrap_or(0);
    let reservation = m.reservation.unwrap_or(0);
    match fl {
        Flavor::V1 => {
            let t = Target::V1("memory");
            let lim = |v: i64| Write::new(t, "memory.limit_in_bytes", v);
            let sw = |v: i64| Write::new(t, "memory.memsw.limit_in_bytes", v);
            if limit == -1 && swap == 0 {
                // unlimited memory and no swap given: unlimited swap too, when the
                // kernel has swap accounting (runc)
                if probe.memsw {
                    out.push(sw(-1));
                }
                out.push(lim(-1));
            } else if limit != 0 && swap != 0 {
                // Order so that memory <= memsw holds after each write.
                let current = probe.memory_limit.unwrap_or(u64::MAX);
                let swap_first = swap == -1 || u64::try_from(swap).is_ok_and(|s| current < s);
                if swap_first {
                    out.push(sw(swap));
                    out.push(lim(limit));
                } else {
                    out.push(lim(limit));
                    out.push(sw(swap));
                }
            } else {
                if limit != 0 {
                    out.push(lim(limit));
                }
                if swap != 0 {
                    out.push(sw(swap));
                }
            }
            if reservation != 0 {
                out.push(Write::new(t, "memory.soft_limit_in_bytes", reservation));
            }
            if m.disable_oom_killer == Some(true) {
                out.push(Write::new(t, "memory.oom_control", 1));
            }
            match m.swappiness {
                None => {}
                // -1 given as an unsigned number: leave the default (runc)
                Some(u64::MAX) => {}
                Some(s) if s <= 100 => out.push(Write::new(t, "memory.swappiness", s)),
                Some(s) => {
                    return Err(CgroupError::Config(format!(
                        "linux.resources.memory.swappiness: invalid value {s} (valid range is \
                         0-100)"
                    )))
                }
            }
        }
        Flavor::V2 => {
            let t = Target::V2;
            if limit == 0 && swap == 0 && reservation == 0 {
                return Ok(out);
            }
            let v2swap = swap_to_v2(swap, limit)?;
            let mut swap_str = num_to_str(v2swap);
            if swap_str.is_none() && swap > 0 {
                // memory == memory+swap: no swap at all
                swap_str = Some("0".into());
            }
            if let Some(s) = swap_str {
                // never write an empty value: it would mean 0
                let lenient = s == "max" || s == "0";
                let w = Write::new(t, "memory.swap.max", s);
                out.push(if lenient { w.if_exists() } else { w });
            }
            if let Some(v) = num_to_str(limit) {
                out.push(Write::new(t, "memory.max", v));
            }
            if let Some(v) = num_to_str(reservation) {
                out.push(Write::new(t, "memory.low", v));
            }
            // swappiness and disable_oom_killer have no v2 file: ignored, as runc
        }
    }
    Ok(out)
}

fn cpu(c: &Cpu, fl: Flavor) -> Result<Vec<Write>, CgroupError> {
    let mut out = Vec::new();
    let quota = c.quota.unwrap_or(0);
    let period = c.period.unwrap_or(0);
    let shares = c.shares.unwrap_or(0);
    let rt_runtime = c.realtime_runtime.unwrap_or(0);
    let rt_period = c.realtime_period.unwrap_or(0);
    match fl {
        Flavor::V1 => {
            let t = Target::V1("cpu");
            if rt_period != 0 {
                out.push(
                    Write::new(t, "cpu.rt_period_us", rt_period).retry_einval(rt_runtime != 0),
                );
            }
            if rt_runtime != 0 {
                out.push(Write::new(t, "cpu.rt_runtime_us", rt_runtime));
            }
            if shares != 0 {
                out.push(Write::new(t, "cpu.shares", shares).readback());
            }
            if period != 0 {
                out.push(Write::new(t, "cpu.cfs_period_us", period).retry_einval(quota != 0));
            }
            if let Some(b) = c.burst {
                out.push(Write::new(t, "cpu.cfs_burst_us", b).retry_einval(quota != 0));
            }
            if quota != 0 {
                out.push(Write::new(t, "cpu.cfs_quota_us", quota));
            }
            if let Some(i) = c.idle {
                out.push(Write::new(t, "cpu.idle", i));
            }
        }
        Flavor::V2 => {
            let t = Target::V2;
            if rt_period != 0 || rt_runtime != 0 {
                return Err(CgroupError::Unsupported(
                    "linux.resources.cpu.realtimePeriod/realtimeRuntime: real-time bandwidth \
                     is not supported on cgroup v2"
                        .into(),
                ));
            }
            if let Some(i) = c.idle {
                out.push(Write::new(t, "cpu.idle", i));
            }
            let weight = shares_to_weight(shares);
            // cpu.weight cannot be set while cpu.idle is on
            if weight != 0 && c.idle.unwrap_or(0) == 0 {
                out.push(Write::new(t, "cpu.weight", weight));
            }
            if let Some(b) = c.burst {
                out.push(Write::new(t, "cpu.max.burst", b).retry_einval(quota != 0));
            }
            if quota != 0 || period != 0 {
                let q = if quota > 0 {
                    quota.to_string()
                } else {
                    "max".to_string()
                };
                let p = if period == 0 { 100_000 } else { period };
                out.push(Write::new(t, "cpu.max", format!("{q} {p}")));
            }
        }
    }
    Ok(out)
}

fn cpuset(c: &Cpu, fl: Flavor) -> Vec<Write> {
    let t = match fl {
        Flavor::V1 => Target::V1("cpuset"),
        Flavor::V2 => Target::V2,
    };
    let mut out = Vec::new();
    if let Some(cpus) = c.cpus.as_deref().filter(|s| !s.is_empty()) {
        out.push(Write::new(t, "cpuset.cpus", cpus));
    }
    if let Some(mems) = c.mems.as_deref().filter(|s| !s.is_empty()) {
        out.push(Write::new(t, "cpuset.mems", mems));
    }
    out
}

/// `pids.max`: the limit when > 0, "max" for 0 and -1 (runc).
pub fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_string()
    }
}

fn pids(p: &Pids, fl: Flavor) -> Vec<Write> {
    let t = match fl {
        Flavor::V1 => Target::V1("pids"),
        Flavor::V2 => Target::V2,
    };
    vec![Write::new(t, "pids.max", pids_max(p.limit))]
}

fn dev(major: i64, minor: i64) -> String {
    format!("{major}:{minor}")
}

fn block_io(b: &BlockIo, fl: Flavor, bfq: bool) -> Vec<Write> {
    let mut out = Vec::new();
    let throttles = [
        (
            &b.throttle_read_bps_device,
            "blkio.throttle.read_bps_device",
            "rbps",
        ),
        (
            &b.throttle_write_bps_device,
            "blkio.throttle.write_bps_device",
            "wbps",
        ),
        (
            &b.throttle_read_iops_device,
            "blkio.throttle.read_iops_device",
            "riops",
        ),
        (
            &b.throttle_write_iops_device,
            "blkio.throttle.write_iops_device",
            "wiops",
        ),
    ];
    match fl {
        Flavor::V1 => {
            let t = Target::V1("blkio");
            let (wfile, wdfile) = if bfq {
                ("blkio.bfq.weight", "blkio.bfq.weight_device")
            } else {
                ("blkio.weight", "blkio.weight_device")
            };
            if let Some(w) = b.weight.filter(|w| *w != 0) {
                out.push(Write::new(t, wfile, w));
            }
            if let Some(w) = b.leaf_weight.filter(|w| *w != 0) {
                out.push(Write::new(t, "blkio.leaf_weight", w));
            }
            for wd in &b.weight_device {
                if let Some(w) = wd.weight.filter(|w| *w != 0) {
                    out.push(Write::new(
                        t,
                        wdfile,
                        format!("{} {w}", dev(wd.major, wd.minor)),
                    ));
                }
                if let Some(w) = wd.leaf_weight.filter(|w| *w != 0) {
                    out.push(Write::new(
                        t,
                        "blkio.leaf_weight_device",
                        format!("{} {w}", dev(wd.major, wd.minor)),
                    ));
                }
            }
            for (list, file, _) in throttles {
                for td in list {
                    out.push(Write::new(
                        t,
                        file,
                        format!("{} {}", dev(td.major, td.minor), td.rate),
                    ));
                }
            }
        }
        Flavor::V2 => {
            let t = Target::V2;
            if let Some(w) = b.weight.filter(|w| *w != 0) {
                if bfq {
                    out.push(Write::new(t, "io.bfq.weight", w));
                } else {
                    out.push(Write::new(t, "io.weight", blkio_weight_to_io_weight(w)));
                }
            }
            // per-device weights only exist with BFQ; leaf weights do not exist on v2
            if bfq {
                for wd in &b.weight_device {
                    if let Some(w) = wd.weight.filter(|w| *w != 0) {
                        out.push(Write::new(
                            t,
                            "io.bfq.weight",
                            format!("{} {w}", dev(wd.major, wd.minor)),
                        ));
                    }
                }
            }
            for (list, _, key) in throttles {
                for td in list {
                    out.push(Write::new(
                        t,
                        "io.max",
                        format!("{} {key}={}", dev(td.major, td.minor), td.rate),
                    ));
                }
            }
        }
    }
    out
}

fn hugetlb(limits: &[HugepageLimit], fl: Flavor) -> Result<Vec<Write>, CgroupError> {
    let mut out = Vec::new();
    for h in limits {
        let size = &h.page_size;
        if size.is_empty() || !size.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CgroupError::Config(format!(
                "linux.resources.hugepageLimits: invalid pageSize {size:?}"
            )));
        }
        let (t, suffix) = match fl {
            Flavor::V1 => (Target::V1("hugetlb"), "limit_in_bytes"),
            Flavor::V2 => (Target::V2, "max"),
        };
        out.push(Write::new(t, format!("hugetlb.{size}.{suffix}"), h.limit));
        out.push(Write::new(t, format!("hugetlb.{size}.rsvd.{suffix}"), h.limit).if_exists());
    }
    Ok(out)
}

fn network(n: &Network) -> Result<Vec<Write>, CgroupError> {
    let mut out = Vec::new();
    if let Some(id) = n.class_id.filter(|c| *c != 0) {
        out.push(Write::new(Target::V1("net_cls"), "net_cls.classid", id));
    }
    for (name, prio) in &n.priorities {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '\0') {
            return Err(CgroupError::Config(format!(
                "linux.resources.network.priorities: invalid interface name {name:?}"
            )));
        }
        out.push(Write::new(
            Target::V1("net_prio"),
            "net_prio.ifpriomap",
            format!("{name} {prio}"),
        ));
    }
    Ok(out)
}

/// `rdma.max` lines (runc's format): `mlx5_1 hca_handle=3 hca_object=max`.
fn rdma(limits: &BTreeMap<String, RdmaLimit>, fl: Flavor) -> Result<Vec<Write>, CgroupError> {
    let t = match fl {
        Flavor::V1 => Target::V1("rdma"),
        Flavor::V2 => Target::V2,
    };
    let mut out = Vec::new();
    for (dev, l) in limits {
        if dev.is_empty()
            || dev
                .chars()
                .any(|c| c.is_whitespace() || c == '\0' || c == '/')
        {
            return Err(CgroupError::Config(format!(
                "linux.resources.rdma: invalid device name {dev:?}"
            )));
        }
        let num = |v: Option<u32>| v.map_or_else(|| "max".to_string(), |v| v.to_string());
        out.push(Write::new(
            t,
            "rdma.max",
            format!(
                "{dev} hca_handle={} hca_object={}",
                num(l.hca_handles),
                num(l.hca_objects)
            ),
        ));
    }
    Ok(out)
}

fn devices(rules: &[DeviceRule]) -> Result<Vec<Write>, CgroupError> {
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let t = Target::V1("devices");
    let mut out = vec![Write::new(t, "devices.deny", "a")];
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        out.push(Write::new(t, file, r.line()?));
    }
    Ok(out)
}

/// Checks a `linux.resources.unified` key: a plain file name of the cgroup directory.
pub fn check_unified_key(key: &str) -> Result<(), CgroupError> {
    let bad = key.is_empty()
        || key == "."
        || key == ".."
        || key.contains('/')
        || key.contains('\0')
        || key.contains('\n');
    if bad {
        return Err(CgroupError::Config(format!(
            "linux.resources.unified: invalid key {key:?} (must be a cgroup file name, \
             without '/' or '..')"
        )));
    }
    Ok(())
}

fn unified(map: &BTreeMap<String, String>, probe: &Probe) -> Result<Vec<Write>, CgroupError> {
    let mut out = Vec::new();
    for (k, v) in map {
        check_unified_key(k)?;
        if v.contains('\0') {
            return Err(CgroupError::Config(format!(
                "linux.resources.unified[{k:?}]: value contains a NUL byte"
            )));
        }
        match &probe.v2 {
            None => {
                return Err(CgroupError::Config(format!(
                    "linux.resources.unified[{k:?}]: unified keys need cgroup v2, and this \
                     machine has cgroup v1 only"
                )))
            }
            Some(ctrls) => {
                let ctrl = k.split('.').next().unwrap_or("");
                // `cgroup.*` core files exist in every v2 cgroup
                if ctrl != "cgroup" && !ctrls.iter().any(|c| c == ctrl) {
                    let where_ = if probe.pure_v2 {
                        "this machine's cgroup v2 tree"
                    } else {
                        "the cgroup v2 tree of this hybrid machine"
                    };
                    return Err(CgroupError::Config(format!(
                        "linux.resources.unified[{k:?}]: unknown key: controller {ctrl:?} is \
                         not available on {where_} (available there: [{}])",
                        ctrls.join(", ")
                    )));
                }
            }
        }
        out.push(Write::new(Target::V2, k.clone(), v));
    }
    Ok(out)
}

/// Turns resources into file writes for the given machine, in the order runc uses
/// (v1: cpuset, devices, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma;
/// v2: pids, memory, io, cpu, cpuset, hugetlb, rdma), with `unified` last.
pub fn writes(res: &Resources, probe: &Probe) -> Result<Vec<Write>, CgroupError> {
    let mut cpuset_w = Vec::new();
    let mut devices_w = Vec::new();
    let mut memory_w = Vec::new();
    let mut cpu_w = Vec::new();
    let mut pids_w = Vec::new();
    let mut blkio_w = Vec::new();
    let mut net_w = Vec::new();
    if let Some(c) = &res.cpu {
        cpuset_w = cpuset(c, probe.flavor("cpuset"));
        cpu_w = cpu(c, probe.flavor("cpu"))?;
    }
    if probe.flavor("devices") == Flavor::V1 {
        devices_w = devices(&res.devices)?;
    }
    if let Some(m) = &res.memory {
        memory_w = memory(m, probe.flavor("memory"), probe)?;
    }
    if let Some(p) = &res.pids {
        pids_w = pids(p, probe.flavor("pids"));
    }
    if let Some(b) = &res.block_io {
        blkio_w = block_io(b, probe.flavor("blkio"), probe.bfq);
    }
    let hugetlb_w = hugetlb(&res.hugepage_limits, probe.flavor("hugetlb"))?;
    if let Some(n) = &res.network {
        // net_cls/net_prio do not exist on v2: ignored there, as runc
        if !probe.pure_v2 {
            net_w = network(n)?;
        }
    }
    let rdma_w = rdma(&res.rdma, probe.flavor("rdma"))?;
    let unified_w = unified(&res.unified, probe)?;
    let groups = if probe.pure_v2 {
        vec![
            pids_w, memory_w, blkio_w, cpu_w, cpuset_w, hugetlb_w, rdma_w, unified_w,
        ]
    } else {
        vec![
            cpuset_w, devices_w, memory_w, cpu_w, pids_w, blkio_w, hugetlb_w, net_w, rdma_w,
            unified_w,
        ]
    };
    Ok(groups.into_iter().flatten().collect())
}

/// [`writes`] for a pure v1 machine with every controller mounted.
pub fn v1_writes(res: &Resources) -> Result<Vec<Write>, CgroupError> {
    writes(res, &Probe::v1())
}

/// [`writes`] for a pure v2 machine.
pub fn v2_writes(res: &Resources) -> Result<Vec<Write>, CgroupError> {
    writes(res, &Probe::v2())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(w: &[Write]) -> Vec<String> {
        w.iter().map(|w| w.to_string()).collect()
    }

    fn mem(limit: Option<i64>, swap: Option<i64>) -> Resources {
        Resources {
            memory: Some(Memory {
                limit,
                swap,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn shares_to_weight_matches_crun() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(shares_to_weight(100), 4);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1_000_000), 10_000);
    }

    #[test]
    fn blkio_weight_conversion_matches_runc() {
        assert_eq!(blkio_weight_to_io_weight(0), 0);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(100), 910);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn swap_v2_matches_runc() {
        assert_eq!(swap_to_v2(0, 0).unwrap(), 0);
        assert_eq!(swap_to_v2(0, -1).unwrap(), -1);
        assert_eq!(swap_to_v2(-1, 100).unwrap(), -1);
        assert_eq!(swap_to_v2(0, 100).unwrap(), 0);
        assert_eq!(swap_to_v2(300, 100).unwrap(), 200);
        assert_eq!(swap_to_v2(100, 100).unwrap(), 0);
        assert!(swap_to_v2(50, 100).is_err());
        assert!(swap_to_v2(100, 0).is_err());
        assert!(swap_to_v2(100, -1).is_err());
    }

    #[test]
    fn memory_v1_order_fresh_cgroup() {
        // fresh cgroup (unlimited): memory first, then memsw
        let w = v1_writes(&mem(Some(1 << 20), Some(2 << 20))).unwrap();
        assert_eq!(
            pairs(&w),
            [
                "memory.limit_in_bytes=1048576",
                "memory.memsw.limit_in_bytes=2097152"
            ]
        );
        assert!(w.iter().all(|w| w.target == Target::V1("memory")));
    }

    #[test]
    fn memory_v1_order_raising_limits() {
        // current limit below the new memsw: memsw first (runc)
        let probe = Probe {
            memory_limit: Some(1 << 20),
            ..Probe::v1()
        };
        let w = writes(&mem(Some(4 << 20), Some(8 << 20)), &probe).unwrap();
        assert_eq!(
            pairs(&w),
            [
                "memory.memsw.limit_in_bytes=8388608",
                "memory.limit_in_bytes=4194304"
            ]
        );
        let w = writes(&mem(Some(4 << 20), Some(-1)), &probe).unwrap();
        assert_eq!(
            pairs(&w),
            [
                "memory.memsw.limit_in_bytes=-1",
                "memory.limit_in_bytes=4194304"
            ]
        );
    }

    #[test]
    fn memory_v1_unlimited_sets_swap_unlimited_when_accounted() {
        let w = v1_writes(&mem(Some(-1), None)).unwrap();
        assert_eq!(
            pairs(&w),
            ["memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"]
        );
        let probe = Probe {
            memsw: false,
            ..Probe::v1()
        };
        let w = writes(&mem(Some(-1), None), &probe).unwrap();
        assert_eq!(pairs(&w), ["memory.limit_in_bytes=-1"]);
    }

    #[test]
    fn memory_v1_other_knobs() {
        let r = Resources {
            memory: Some(Memory {
                reservation: Some(1000),
                disable_oom_killer: Some(true),
                swappiness: Some(60),
                kernel: Some(1 << 20),
                kernel_tcp: Some(1 << 20),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            pairs(&v1_writes(&r).unwrap()),
            [
                "memory.soft_limit_in_bytes=1000",
                "memory.oom_control=1",
                "memory.swappiness=60"
            ]
        );
        let mut bad = r.clone();
        bad.memory.as_mut().unwrap().swappiness = Some(101);
        let e = v1_writes(&bad).unwrap_err().to_string();
        assert!(e.contains("swappiness") && e.contains("101"), "{e}");
        let mut minus_one = r;
        minus_one.memory.as_mut().unwrap().swappiness = Some(u64::MAX);
        assert!(!pairs(&v1_writes(&minus_one).unwrap())
            .iter()
            .any(|p| p.starts_with("memory.swappiness")));
    }

    #[test]
    fn memory_v2() {
        let w = v2_writes(&mem(Some(100 << 20), Some(300 << 20))).unwrap();
        assert_eq!(
            pairs(&w),
            ["memory.swap.max=209715200", "memory.max=104857600"]
        );
        assert!(w.iter().all(|w| w.target == Target::V2));
        // swap == limit: no swap
        let w = v2_writes(&mem(Some(100), Some(100))).unwrap();
        assert_eq!(pairs(&w), ["memory.swap.max=0", "memory.max=100"]);
        assert!(w[0].if_exists);
        // unlimited
        let w = v2_writes(&mem(Some(-1), None)).unwrap();
        assert_eq!(pairs(&w), ["memory.swap.max=max", "memory.max=max"]);
        // reservation → memory.low, swappiness ignored
        let r = Resources {
            memory: Some(Memory {
                reservation: Some(4096),
                swappiness: Some(10),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(pairs(&v2_writes(&r).unwrap()), ["memory.low=4096"]);
        assert!(v2_writes(&mem(Some(100), Some(50))).is_err());
    }

    fn cpu_res(c: Cpu) -> Resources {
        Resources {
            cpu: Some(c),
            ..Default::default()
        }
    }

    #[test]
    fn cpu_v1() {
        let r = cpu_res(Cpu {
            shares: Some(1024),
            quota: Some(50_000),
            period: Some(100_000),
            burst: Some(10_000),
            realtime_period: Some(1_000_000),
            realtime_runtime: Some(950_000),
            cpus: Some("0-1".into()),
            mems: Some("0".into()),
            idle: Some(0),
        });
        let w = v1_writes(&r).unwrap();
        assert_eq!(
            pairs(&w),
            [
                "cpuset.cpus=0-1",
                "cpuset.mems=0",
                "cpu.rt_period_us=1000000",
                "cpu.rt_runtime_us=950000",
                "cpu.shares=1024",
                "cpu.cfs_period_us=100000",
                "cpu.cfs_burst_us=10000",
                "cpu.cfs_quota_us=50000",
                "cpu.idle=0",
            ]
        );
        assert_eq!(w[0].target, Target::V1("cpuset"));
        assert_eq!(w[2].target, Target::V1("cpu"));
        assert!(w[2].retry_einval && w[5].retry_einval && w[6].retry_einval);
        assert!(w[4].check_readback);
        // quota -1: written as is on v1
        let w = v1_writes(&cpu_res(Cpu {
            quota: Some(-1),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(pairs(&w), ["cpu.cfs_quota_us=-1"]);
    }

    #[test]
    fn cpu_v2() {
        let r = cpu_res(Cpu {
            shares: Some(1024),
            quota: Some(50_000),
            period: Some(200_000),
            burst: Some(1000),
            cpus: Some("0".into()),
            ..Default::default()
        });
        assert_eq!(
            pairs(&v2_writes(&r).unwrap()),
            [
                "cpu.weight=39",
                "cpu.max.burst=1000",
                "cpu.max=50000 200000",
                "cpuset.cpus=0"
            ]
        );
        let quota_only = cpu_res(Cpu {
            quota: Some(20_000),
            ..Default::default()
        });
        assert_eq!(
            pairs(&v2_writes(&quota_only).unwrap()),
            ["cpu.max=20000 100000"]
        );
        let unlimited = cpu_res(Cpu {
            quota: Some(-1),
            period: Some(50_000),
            ..Default::default()
        });
        assert_eq!(
            pairs(&v2_writes(&unlimited).unwrap()),
            ["cpu.max=max 50000"]
        );
        let idle = cpu_res(Cpu {
            shares: Some(2048),
            idle: Some(1),
            ..Default::default()
        });
        assert_eq!(pairs(&v2_writes(&idle).unwrap()), ["cpu.idle=1"]);
        let rt = cpu_res(Cpu {
            realtime_runtime: Some(1),
            ..Default::default()
        });
        assert!(matches!(
            v2_writes(&rt).unwrap_err(),
            CgroupError::Unsupported(_)
        ));
    }

    #[test]
    fn pids_limits() {
        let r = |l| Resources {
            pids: Some(Pids { limit: l }),
            ..Default::default()
        };
        assert_eq!(pairs(&v1_writes(&r(32)).unwrap()), ["pids.max=32"]);
        assert_eq!(pairs(&v1_writes(&r(0)).unwrap()), ["pids.max=max"]);
        assert_eq!(pairs(&v1_writes(&r(-1)).unwrap()), ["pids.max=max"]);
        assert_eq!(pairs(&v2_writes(&r(-1)).unwrap()), ["pids.max=max"]);
        assert_eq!(v2_writes(&r(5)).unwrap()[0].target, Target::V2);
    }

    fn blk() -> Resources {
        let td = |rate| ThrottleDevice {
            major: 8,
            minor: 0,
            rate,
        };
        Resources {
            block_io: Some(BlockIo {
                weight: Some(500),
                leaf_weight: Some(300),
                weight_device: vec![WeightDevice {
                    major: 8,
                    minor: 16,
                    weight: Some(200),
                    leaf_weight: Some(100),
                }],
                throttle_read_bps_device: vec![td(1000)],
                throttle_write_bps_device: vec![td(2000)],
                throttle_read_iops_device: vec![td(30)],
                throttle_write_iops_device: vec![td(40)],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn blkio_v1() {
        assert_eq!(
            pairs(&v1_writes(&blk()).unwrap()),
            [
                "blkio.weight=500",
                "blkio.leaf_weight=300",
                "blkio.weight_device=8:16 200",
                "blkio.leaf_weight_device=8:16 100",
                "blkio.throttle.read_bps_device=8:0 1000",
                "blkio.throttle.write_bps_device=8:0 2000",
                "blkio.throttle.read_iops_device=8:0 30",
                "blkio.throttle.write_iops_device=8:0 40",
            ]
        );
        let bfq = Probe {
            bfq: true,
            ..Probe::v1()
        };
        let w = writes(&blk(), &bfq).unwrap();
        assert_eq!(w[0].to_string(), "blkio.bfq.weight=500");
        assert_eq!(w[2].to_string(), "blkio.bfq.weight_device=8:16 200");
    }

    #[test]
    fn io_v2() {
        assert_eq!(
            pairs(&v2_writes(&blk()).unwrap()),
            [
                "io.weight=4950",
                "io.max=8:0 rbps=1000",
                "io.max=8:0 wbps=2000",
                "io.max=8:0 riops=30",
                "io.max=8:0 wiops=40",
            ]
        );
        let bfq = Probe {
            bfq: true,
            ..Probe::v2()
        };
        let w = writes(&blk(), &bfq).unwrap();
        assert_eq!(
            pairs(&w[..2]),
            ["io.bfq.weight=500", "io.bfq.weight=8:16 200"]
        );
    }

    #[test]
    fn hugetlb_names() {
        let r = Resources {
            hugepage_limits: vec![HugepageLimit {
                page_size: "2MB".into(),
                limit: 4 << 20,
            }],
            ..Default::default()
        };
        let w = v1_writes(&r).unwrap();
        assert_eq!(
            pairs(&w),
            [
                "hugetlb.2MB.limit_in_bytes=4194304",
                "hugetlb.2MB.rsvd.limit_in_bytes=4194304"
            ]
        );
        assert!(!w[0].if_exists && w[1].if_exists);
        assert_eq!(
            pairs(&v2_writes(&r).unwrap()),
            ["hugetlb.2MB.max=4194304", "hugetlb.2MB.rsvd.max=4194304"]
        );
        let bad = Resources {
            hugepage_limits: vec![HugepageLimit {
                page_size: "../x".into(),
                limit: 1,
            }],
            ..Default::default()
        };
        assert!(v1_writes(&bad).is_err());
    }

    #[test]
    fn hybrid_hugetlb_goes_to_unified() {
        // this machine: v1 hierarchies, hugetlb only on the cgroup2 tree
        let probe = Probe {
            v1: [
                "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            v2: Some(vec!["hugetlb".into()]),
            memsw: true,
            ..Probe::default()
        };
        assert_eq!(probe.flavor("hugetlb"), Flavor::V2);
        assert_eq!(probe.flavor("memory"), Flavor::V1);
        assert_eq!(probe.flavor("net_cls"), Flavor::V1);
        let r = Resources {
            hugepage_limits: vec![HugepageLimit {
                page_size: "1GB".into(),
                limit: 0,
            }],
            pids: Some(Pids { limit: 10 }),
            unified: [("hugetlb.2MB.max".to_string(), "0".to_string())].into(),
            ..Default::default()
        };
        let w = writes(&r, &probe).unwrap();
        assert_eq!(
            pairs(&w),
            [
                "pids.max=10",
                "hugetlb.1GB.max=0",
                "hugetlb.1GB.rsvd.max=0",
                "hugetlb.2MB.max=0"
            ]
        );
        assert_eq!(w[0].target, Target::V1("pids"));
        assert!(w[1..].iter().all(|w| w.target == Target::V2));
        // a unified key for a controller that is on v1 here is refused
        let r = Resources {
            unified: [("memory.high".to_string(), "1".to_string())].into(),
            ..Default::default()
        };
        let e = writes(&r, &probe).unwrap_err().to_string();
        assert!(e.contains("memory.high") && e.contains("hybrid"), "{e}");
    }

    #[test]
    fn network_v1_only() {
        let r = Resources {
            network: Some(Network {
                class_id: Some(0x10001),
                priorities: vec![("eth0".into(), 5), ("lo".into(), 1)],
            }),
            ..Default::default()
        };
        let w = v1_writes(&r).unwrap();
        assert_eq!(
            pairs(&w),
            [
                "net_cls.classid=65537",
                "net_prio.ifpriomap=eth0 5",
                "net_prio.ifpriomap=lo 1"
            ]
        );
        assert_eq!(w[0].target, Target::V1("net_cls"));
        assert_eq!(w[1].target, Target::V1("net_prio"));
        assert!(v2_writes(&r).unwrap().is_empty());
    }

    #[test]
    fn rdma_lines() {
        let r = Resources {
            rdma: [
                (
                    "mlx5_1".to_string(),
                    RdmaLimit {
                        hca_handles: Some(3),
                        hca_objects: None,
                    },
                ),
                (
                    "mlx4_0".to_string(),
                    RdmaLimit {
                        hca_handles: None,
                        hca_objects: Some(1000),
                    },
                ),
            ]
            .into(),
            ..Default::default()
        };
        let w = v1_writes(&r).unwrap();
        assert_eq!(
            pairs(&w),
            [
                "rdma.max=mlx4_0 hca_handle=max hca_object=1000",
                "rdma.max=mlx5_1 hca_handle=3 hca_object=max"
            ]
        );
        assert_eq!(w[0].target, Target::V1("rdma"));
        assert_eq!(v2_writes(&r).unwrap()[0].target, Target::V2);
        let bad = Resources {
            rdma: [("a b".to_string(), RdmaLimit::default())].into(),
            ..Default::default()
        };
        assert!(v1_writes(&bad).is_err());
    }

    #[test]
    fn device_lines() {
        let r = |allow, kind, major, minor, access: Option<&str>| DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.map(str::to_string),
        };
        assert_eq!(
            r(true, Some('c'), Some(1), Some(3), Some("rwm"))
                .line()
                .unwrap(),
            "c 1:3 rwm"
        );
        assert_eq!(
            r(false, None, None, None, None).line().unwrap(),
            "a *:* rwm"
        );
        assert_eq!(
            r(true, Some('b'), Some(8), None, Some("r")).line().unwrap(),
            "b 8:* r"
        );
        assert_eq!(
            r(true, Some('c'), Some(-1), Some(-1), Some("m"))
                .line()
                .unwrap(),
            "c *:* m"
        );
        assert_eq!(
            r(true, Some('a'), Some(1), Some(2), Some("rw"))
                .line()
                .unwrap(),
            "a *:* rw"
        );
        assert!(r(true, Some('x'), None, None, None).line().is_err());
        assert!(r(true, Some('c'), Some(1), Some(3), Some("rwx"))
            .line()
            .is_err());
        assert!(r(true, Some('c'), Some(-5), Some(3), None).line().is_err());
    }

    #[test]
    fn device_writes_start_with_deny_all() {
        let mut rules = vec![DeviceRule {
            allow: false,
            access: Some("rwm".into()),
            ..Default::default()
        }];
        rules.extend(default_device_rules());
        let r = Resources {
            devices: rules,
            ..Default::default()
        };
        let w = v1_writes(&r).unwrap();
        assert_eq!(
            pairs(&w[..5]),
            [
                "devices.deny=a",
                "devices.deny=a *:* rwm",
                "devices.allow=c *:* m",
                "devices.allow=b *:* m",
                "devices.allow=c 1:3 rwm"
            ]
        );
        assert!(w.iter().all(|w| w.target == Target::V1("devices")));
        assert_eq!(w.len(), 12);
        // no device cgroup writes on v2 (an eBPF program there) and none for an empty list
        assert!(v2_writes(&r).unwrap().is_empty());
        assert!(v1_writes(&Resources::default()).unwrap().is_empty());
    }

    #[test]
    fn unified_keys() {
        let r = |k: &str| Resources {
            unified: [(k.to_string(), "1".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(
            pairs(&v2_writes(&r("memory.high")).unwrap()),
            ["memory.high=1"]
        );
        for bad in ["../memory.high", "a/b", "..", ".", ""] {
            let e = v2_writes(&r(bad)).unwrap_err().to_string();
            assert!(e.contains("linux.resources.unified"), "{bad:?}: {e}");
        }
        let e = v2_writes(&r("foo.bar")).unwrap_err().to_string();
        assert!(
            e.contains("\"foo.bar\"") && e.contains("unknown key") && e.contains("\"foo\""),
            "{e}"
        );
        assert_eq!(
            pairs(&v2_writes(&r("cgroup.max.depth")).unwrap()),
            ["cgroup.max.depth=1"]
        );
        let e = v1_writes(&r("memory.high")).unwrap_err().to_string();
        assert!(
            e.contains("\"memory.high\"") && e.contains("cgroup v1"),
            "{e}"
        );
    }

    #[test]
    fn unified_written_last() {
        let r = Resources {
            pids: Some(Pids { limit: 3 }),
            unified: [("pids.max".to_string(), "7".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(pairs(&v2_writes(&r).unwrap()), ["pids.max=3", "pids.max=7"]);
    }

    #[test]
    fn empty_resources_write_nothing() {
        assert!(v1_writes(&Resources::default()).unwrap().is_empty());
        assert!(v2_writes(&Resources::default()).unwrap().is_empty());
    }
}
