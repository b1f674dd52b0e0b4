//! Resource usage for `events --stats`, in runc's JSON shape.
//!
//! Reading is best effort per file: a file this kernel or layout lacks reads as 0
//! (pure v2 views here have no memory/pids files, for instance).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::manager::Cgroup;
use super::{fsutil, CgroupError};

/// Usage counters of one container's cgroup.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub cpu: CpuStats,
    pub cpuset: CpusetStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    pub blkio: BlkioStats,
    /// By page size ("2MB").
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

/// CPU time in nanoseconds, and CFS throttling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuStats {
    pub total: u64,
    pub percpu: Vec<u64>,
    pub percpu_kernel: Vec<u64>,
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

/// The cpus and memory nodes of the cgroup (v1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpusetStats {
    pub cpus: Vec<u16>,
    pub mems: Vec<u16>,
}

/// One memory counter group (v1 `memory.*`, `memory.memsw.*`, `memory.kmem.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MemoryEntry {
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

/// Memory usage; `swap` is memory+swap as on v1 (v2 values are summed the same way).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryStats {
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    pub kernel_tcp: MemoryEntry,
    /// `memory.stat`, as is.
    pub raw: BTreeMap<String, u64>,
}

/// Number of tasks and the limit (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PidsStats {
    pub current: u64,
    pub limit: u64,
}

/// One block I/O counter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// Block I/O counters (bytes and operations, per device and direction).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// Huge page usage for one page size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HugetlbStats {
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

/// `key value` lines (memory.stat, cpu.stat, cpuacct.stat); other lines are skipped.
pub fn parse_keyed(text: &str) -> Vec<(&str, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let k = it.next()?;
            let v = it.next()?.parse().ok()?;
            it.next().is_none().then_some((k, v))
        })
        .collect()
}

fn keyed(text: &str, key: &str) -> u64 {
    parse_keyed(text)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map_or(0, |(_, v)| v)
}

/// Space-separated numbers (cpuacct.usage_percpu).
pub fn parse_list(text: &str) -> Vec<u64> {
    text.split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// "8:0" → (8, 0).
fn parse_dev(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// v1 blkio recursive files: `8:0 Read 1234` lines; `Total` lines are skipped.
pub fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [dev, op, v] => {
                    let (major, minor) = parse_dev(dev)?;
                    Some(BlkioEntry {
                        major,
                        minor,
                        op: (*op).to_string(),
                        value: v.parse().ok()?,
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// v2 `io.stat`: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...` → (bytes, ios) entries
/// with runc's op names "Read"/"Write".
pub fn parse_io_stat(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let mut bytes = Vec::new();
    let mut ios = Vec::new();
    for l in text.lines() {
        let mut it = l.split_whitespace();
        let Some((major, minor)) = it.next().and_then(parse_dev) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse::<u64>() else {
                continue;
            };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    (bytes, ios)
}

/// A cpu list like "0-3,8" → [0, 1, 2, 3, 8].
pub fn parse_cpu_list(text: &str) -> Vec<u16> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u16>().ok()),
        }
    }
    out
}

/// A huge page size in kB (from `/sys/kernel/mm/hugepages/hugepages-2048kB`) → the
/// name cgroup files use ("2MB", "1GB", "64KB").
pub fn hugepage_name(kb: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    let mut v = kb;
    let mut u = 0;
    while v >= 1024 && v % 1024 == 0 && u + 1 < UNITS.len() {
        v /= 1024;
        u += 1;
    }
    format!("{v}{}", UNITS[u])
}

/// Page sizes this kernel supports, as cgroup file names.
pub fn hugepage_sizes() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().into_string().ok()?;
            let kb = n
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some(hugepage_name(kb))
        })
        .collect();
    out.sort();
    out
}

fn rd(dir: &Path, file: &str) -> Result<String, CgroupError> {
    Ok(fsutil::read_opt(&dir.join(file))?.unwrap_or_default())
}

fn num(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let p = dir.join(file);
    match fsutil::read_opt(&p)? {
        Some(s) if !s.trim().is_empty() => fsutil::parse_u64(&p, &s),
        _ => Ok(0),
    }
}

fn clk_tck() -> u64 {
    crate::sys::process::sysconf(libc::_SC_CLK_TCK).map_or(100, |v| v as u64)
}

fn v1_memory_entry(dir: &Path, prefix: &str) -> Result<MemoryEntry, CgroupError> {
    Ok(MemoryEntry {
        limit: num(dir, &format!("{prefix}.limit_in_bytes"))?,
        usage: num(dir, &format!("{prefix}.usage_in_bytes"))?,
        max: num(dir, &format!("{prefix}.max_usage_in_bytes"))?,
        failcnt: num(dir, &format!("{prefix}.failcnt"))?,
    })
}

impl Cgroup {
    /// Reads the usage counters of this cgroup.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        let v2 = self.v2_dir();
        let v2_has = |c: &str| self.layout().unified_controllers().iter().any(|x| x == c);
        let pure_v2 = self.layout().is_v2();

        // cpu
        if let (Some(acct), false) = (self.v1_dir("cpuacct"), pure_v2) {
            s.cpu.total = num(&acct, "cpuacct.usage")?;
            s.cpu.percpu = parse_list(&rd(&acct, "cpuacct.usage_percpu")?);
            s.cpu.percpu_kernel = parse_list(&rd(&acct, "cpuacct.usage_percpu_sys")?);
            s.cpu.percpu_user = parse_list(&rd(&acct, "cpuacct.usage_percpu_user")?);
            let st = rd(&acct, "cpuacct.stat")?;
            let tck = clk_tck();
            s.cpu.user = keyed(&st, "user").saturating_mul(1_000_000_000) / tck;
            s.cpu.kernel = keyed(&st, "system").saturating_mul(1_000_000_000) / tck;
        } else if let Some(d) = v2.as_ref().filter(|_| pure_v2) {
            let st = rd(d, "cpu.stat")?;
            s.cpu.total = keyed(&st, "usage_usec") * 1000;
            s.cpu.user = keyed(&st, "user_usec") * 1000;
            s.cpu.kernel = keyed(&st, "system_usec") * 1000;
            s.cpu.periods = keyed(&st, "nr_periods");
            s.cpu.throttled_periods = keyed(&st, "nr_throttled");
            s.cpu.throttled_time = keyed(&st, "throttled_usec") * 1000;
        }
        if let (Some(cpu), false) = (self.v1_dir("cpu"), pure_v2) {
            let st = rd(&cpu, "cpu.stat")?;
            s.cpu.periods = keyed(&st, "nr_periods");
            s.cpu.throttled_periods = keyed(&st, "nr_throttled");
            s.cpu.throttled_time = keyed(&st, "throttled_time");
        }

        // cpuset (v1)
        if let Some(d) = self.v1_dir("cpuset") {
            s.cpuset.cpus = parse_cpu_list(&rd(&d, "cpuset.cpus")?);
            s.cpuset.mems = parse_cpu_list(&rd(&d, "cpuset.mems")?);
        }

        // memory
        if let Some(d) = self.v1_dir("memory") {
            s.memory.usage = v1_memory_entry(&d, "memory")?;
            s.memory.swap = v1_memory_entry(&d, "memory.memsw")?;
            s.memory.kernel = v1_memory_entry(&d, "memory.kmem")?;
            s.memory.kernel_tcp = v1_memory_entry(&d, "memory.kmem.tcp")?;
            s.memory.raw = owned(parse_keyed(&rd(&d, "memory.stat")?));
            s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
        } else if let Some(d) = v2.as_ref().filter(|_| pure_v2) {
            s.memory.raw = owned(parse_keyed(&rd(d, "memory.stat")?));
            s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
            s.memory.usage = MemoryEntry {
                usage: num(d, "memory.current")?,
                limit: num(d, "memory.max")?,
                max: num(d, "memory.peak")?,
                failcnt: keyed(&rd(d, "memory.events")?, "max"),
            };
            let swap_usage = num(d, "memory.swap.current")?;
            let swap_limit = num(d, "memory.swap.max")?;
            // v1 reports memory+swap: do the same
            s.memory.swap = MemoryEntry {
                usage: swap_usage + s.memory.usage.usage,
                limit: if swap_limit == u64::MAX {
                    u64::MAX
                } else {
                    swap_limit.saturating_add(s.memory.usage.limit)
                },
                max: num(d, "memory.swap.peak")?,
                failcnt: keyed(&rd(d, "memory.swap.events")?, "max"),
            };
        }

        // pids
        if let Some(d) = self
            .v1_dir("pids")
            .or_else(|| v2.clone().filter(|_| pure_v2))
        {
            let max = num(&d, "pids.max")?;
            s.pids.limit = if max == u64::MAX { 0 } else { max };
            s.pids.current = if d.join("pids.current").exists() {
                num(&d, "pids.current")?
            } else {
                rd(&d, "cgroup.procs")?.lines().count() as u64
            };
        }

        // blkio
        if let (Some(d), false) = (self.v1_dir("blkio"), pure_v2) {
            let bfq = d.join("blkio.bfq.io_service_bytes_recursive").exists();
            let (b, o) = if bfq {
                (
                    "blkio.bfq.io_service_bytes_recursive",
                    "blkio.bfq.io_serviced_recursive",
                )
            } else {
                (
                    "blkio.throttle.io_service_bytes_recursive",
                    "blkio.throttle.io_serviced_recursive",
                )
            };
            s.blkio.io_service_bytes_recursive = parse_blkio_v1(&rd(&d, b)?);
            s.blkio.io_serviced_recursive = parse_blkio_v1(&rd(&d, o)?);
        } else if let Some(d) = v2.as_ref().filter(|_| pure_v2) {
            let (b, o) = parse_io_stat(&rd(d, "io.stat")?);
            s.blkio.io_service_bytes_recursive = b;
            s.blkio.io_serviced_recursive = o;
        }

        // hugetlb
        if let Some(d) = self.v1_dir("hugetlb") {
            for size in hugepage_sizes() {
                let e = HugetlbStats {
                    usage: num(&d, &format!("hugetlb.{size}.usage_in_bytes"))?,
                    max: num(&d, &format!("hugetlb.{size}.max_usage_in_bytes"))?,
                    failcnt: num(&d, &format!("hugetlb.{size}.failcnt"))?,
                };
                s.hugetlb.insert(size, e);
            }
        } else if let Some(d) = v2.as_ref().filter(|_| pure_v2 || v2_has("hugetlb")) {
            for size in hugepage_sizes() {
                let e = HugetlbStats {
                    usage: num(d, &format!("hugetlb.{size}.current"))?,
                    max: 0,
                    failcnt: keyed(&rd(d, &format!("hugetlb.{size}.events"))?, "max"),
                };
                s.hugetlb.insert(size, e);
            }
        }
        Ok(s)
    }
}

fn owned(v: Vec<(&str, u64)>) -> BTreeMap<String, u64> {
    v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

// ---- runc's JSON shape (types/events.go); field order and omitempty as runc ----

fn zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Serialize)]
struct JEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    data: JStats,
}

#[derive(Serialize)]
struct JStats {
    cpu: JCpu,
    cpuset: JCpuset,
    memory: JMemory,
    pids: JPids,
    blkio: JBlkio,
    hugetlb: BTreeMap<String, JHugetlb>,
    intel_rdt: BTreeMap<String, u64>,
    network_interfaces: Option<Vec<u64>>,
}

#[derive(Serialize)]
struct JCpu {
    usage: JCpuUsage,
    throttling: JThrottling,
}

#[derive(Serialize)]
struct JCpuUsage {
    #[serde(skip_serializing_if = "zero")]
    total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    percpu_user: Vec<u64>,
    kernel: u64,
    user: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JThrottling {
    #[serde(skip_serializing_if = "zero")]
    periods: u64,
    #[serde(skip_serializing_if = "zero")]
    throttled_periods: u64,
    #[serde(skip_serializing_if = "zero")]
    throttled_time: u64,
}

#[derive(Serialize)]
struct JCpuset {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cpus: Vec<u16>,
    cpu_exclusive: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mems: Vec<u16>,
    mem_hardwall: u64,
    mem_exclusive: u64,
    memory_migrate: u64,
    memory_spread_page: u64,
    memory_spread_slab: u64,
    memory_pressure: u64,
    sched_load_balance: u64,
    sched_relax_domain_level: i64,
}

#[derive(Serialize)]
struct JMemEntry {
    limit: u64,
    #[serde(skip_serializing_if = "zero")]
    usage: u64,
    #[serde(skip_serializing_if = "zero")]
    max: u64,
    failcnt: u64,
}

impl From<MemoryEntry> for JMemEntry {
    fn from(e: MemoryEntry) -> Self {
        JMemEntry {
            limit: e.limit,
            usage: e.usage,
            max: e.max,
            failcnt: e.failcnt,
        }
    }
}

#[derive(Serialize)]
struct JMemory {
    #[serde(skip_serializing_if = "zero")]
    cache: u64,
    usage: JMemEntry,
    swap: JMemEntry,
    kernel: JMemEntry,
    #[serde(rename = "kernelTCP")]
    kernel_tcp: JMemEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    raw: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct JPids {
    #[serde(skip_serializing_if = "zero")]
    current: u64,
    #[serde(skip_serializing_if = "zero")]
    limit: u64,
}

#[derive(Serialize)]
struct JBlkioEntry {
    #[serde(skip_serializing_if = "zero")]
    major: u64,
    #[serde(skip_serializing_if = "zero")]
    minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    op: String,
    #[serde(skip_serializing_if = "zero")]
    value: u64,
}

#[derive(Serialize)]
struct JBlkio {
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    bytes: Vec<JBlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    ios: Vec<JBlkioEntry>,
}

#[derive(Serialize)]
struct JHugetlb {
    #[serde(skip_serializing_if = "zero")]
    usage: u64,
    #[serde(skip_serializing_if = "zero")]
    max: u64,
    failcnt: u64,
}

fn jblkio(v: &[BlkioEntry]) -> Vec<JBlkioEntry> {
    v.iter()
        .map(|e| JBlkioEntry {
            major: e.major,
            minor: e.minor,
            op: e.op.clone(),
            value: e.value,
        })
        .collect()
}

impl Stats {
    /// The line `runc events --stats` prints for container `id`:
    /// `{"type":"stats","id":..,"data":{"cpu":..,"cpuset":..,"memory":..,"pids":..,
    /// "blkio":..,"hugetlb":..,"intel_rdt":{},"network_interfaces":null}}`.
    pub fn to_runc_json(&self, id: &str) -> String {
        let ev = JEvent {
            kind: "stats",
            id,
            data: self.jstats(),
        };
        // Serializing plain structs of numbers, strings, vectors and string-keyed maps
        // cannot fail; fall back to a minimal event rather than panic.
        serde_json::to_string(&ev)
            .unwrap_or_else(|_| format!("{{\"type\":\"stats\",\"id\":{id:?}}}"))
    }

    /// The `data` object of [`Stats::to_runc_json`] alone (what `runc events --stats`
    /// puts under `"data"`).
    pub fn to_runc_data_json(&self) -> String {
        serde_json::to_string(&self.jstats()).unwrap_or_else(|_| "{}".to_string())
    }

    fn jstats(&self) -> JStats {
        let s = self;
        JStats {
            cpu: JCpu {
                usage: JCpuUsage {
                    total: s.cpu.total,
                    percpu: s.cpu.percpu.clone(),
                    percpu_kernel: s.cpu.percpu_kernel.clone(),
                    percpu_user: s.cpu.percpu_user.clone(),
                    kernel: s.cpu.kernel,
                    user: s.cpu.user,
                },
                throttling: JThrottling {
                    periods: s.cpu.periods,
                    throttled_periods: s.cpu.throttled_periods,
                    throttled_time: s.cpu.throttled_time,
                },
            },
            cpuset: JCpuset {
                cpus: s.cpuset.cpus.clone(),
                cpu_exclusive: 0,
                mems: s.cpuset.mems.clone(),
                mem_hardwall: 0,
                mem_exclusive: 0,
                memory_migrate: 0,
                memory_spread_page: 0,
                memory_spread_slab: 0,
                memory_pressure: 0,
                sched_load_balance: 0,
                sched_relax_domain_level: 0,
            },
            memory: JMemory {
                cache: s.memory.cache,
                usage: s.memory.usage.into(),
                swap: s.memory.swap.into(),
                kernel: s.memory.kernel.into(),
                kernel_tcp: s.memory.kernel_tcp.into(),
                raw: s.memory.raw.clone(),
            },
            pids: JPids {
                current: s.pids.current,
                limit: s.pids.limit,
            },
            blkio: JBlkio {
                bytes: jblkio(&s.blkio.io_service_bytes_recursive),
                ios: jblkio(&s.blkio.io_serviced_recursive),
            },
            hugetlb: s
                .hugetlb
                .iter()
                .map(|(k, h)| {
                    (
                        k.clone(),
                        JHugetlb {
                            usage: h.usage,
                            max: h.max,
                            failcnt: h.failcnt,
                        },
                    )
                })
                .collect(),
            intel_rdt: BTreeMap::new(),
            network_interfaces: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_lines() {
        let t = "cache 4096\nrss 8192\nhierarchical_memory_limit 9223372036854771712\nbad line x\n";
        let v = parse_keyed(t);
        assert_eq!(v[0], ("cache", 4096));
        assert_eq!(v.len(), 3);
        assert_eq!(keyed("user 12\nsystem 3\n", "system"), 3);
        assert_eq!(keyed("", "system"), 0);
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list("10 20 30 \n"), [10, 20, 30]);
        assert_eq!(parse_cpu_list("0-3,8\n"), [0, 1, 2, 3, 8]);
        assert_eq!(parse_cpu_list("0"), [0]);
        assert!(parse_cpu_list("\n").is_empty());
    }

    #[test]
    fn blkio_v1_lines() {
        let t = "8:0 Read 4096\n8:0 Write 0\n8:0 Sync 1\n8:0 Total 4097\nTotal 4097\n";
        let v = parse_blkio_v1(t);
        assert_eq!(v.len(), 4);
        assert_eq!(
            v[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096
            }
        );
    }

    #[test]
    fn io_stat_v2() {
        let (b, o) = parse_io_stat("253:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n");
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[1].op.as_str(), b[1].value, b[1].major),
            ("Write", 200, 253)
        );
        assert_eq!((o[0].op.as_str(), o[0].value), ("Read", 3));
    }

    #[test]
    fn hugepage_names() {
        assert_eq!(hugepage_name(2048), "2MB");
        assert_eq!(hugepage_name(1_048_576), "1GB");
        assert_eq!(hugepage_name(64), "64KB");
        assert_eq!(hugepage_name(32768), "32MB");
    }

    #[test]
    fn runc_json_shape() {
        let mut s = Stats::default();
        s.cpu.total = 1000;
        s.cpu.percpu = vec![600, 400];
        s.cpu.user = 700;
        s.memory.usage = MemoryEntry {
            limit: 1 << 20,
            usage: 4096,
            max: 8192,
            failcnt: 0,
        };
        s.memory.raw.insert("cache".into(), 0);
        s.pids = PidsStats {
            current: 1,
            limit: 10,
        };
        s.hugetlb.insert("2MB".into(), HugetlbStats::default());
        let j = s.to_runc_json("c1");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["type"], "stats");
        assert_eq!(v["id"], "c1");
        let d = &v["data"];
        assert_eq!(d["cpu"]["usage"]["total"], 1000);
        assert_eq!(d["cpu"]["usage"]["percpu"], serde_json::json!([600, 400]));
        assert_eq!(d["cpu"]["usage"]["kernel"], 0);
        assert_eq!(d["cpu"]["throttling"], serde_json::json!({}));
        assert_eq!(
            d["memory"]["usage"],
            serde_json::json!({"limit": 1048576, "usage": 4096, "max": 8192, "failcnt": 0})
        );
        assert_eq!(
            d["memory"]["swap"],
            serde_json::json!({"limit": 0, "failcnt": 0})
        );
        assert_eq!(d["memory"]["raw"]["cache"], 0);
        assert!(d["memory"].get("cache").is_none());
        assert_eq!(d["memory"]["kernelTCP"]["failcnt"], 0);
        assert_eq!(d["pids"], serde_json::json!({"current": 1, "limit": 10}));
        assert_eq!(d["blkio"], serde_json::json!({}));
        assert_eq!(d["hugetlb"], serde_json::json!({"2MB": {"failcnt": 0}}));
        assert_eq!(d["intel_rdt"], serde_json::json!({}));
        assert!(d["network_interfaces"].is_null());
        assert_eq!(d["cpuset"]["sched_relax_domain_level"], 0);
        // key order as runc prints it
        let keys: Vec<&str> = [
            "\"cpu\"",
            "\"cpuset\"",
            "\"memory\"",
            "\"pids\"",
            "\"blkio\"",
            "\"hugetlb\"",
        ]
        .to_vec();
        let pos: Vec<usize> = keys.iter().map(|k| j.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{j}");
    }
}
