//! `stats`: the engine's cgroup statistics as containerd's cgroup v1 metrics
//! (`io.containerd.cgroups.v1.Metrics`), the type containerd's CRI plugin and
//! `ctr task metrics` decode. CRI reads the memory usage and working set
//! (`memory.usage.usage - memory.total_inactive_file`), the CPU times and the
//! pids; the rest is filled where the engine reads it.
//!
//! On a pure cgroup v2 host the engine reads v2 files; their `memory.stat` keys
//! are mapped onto the v1 names (v2 counters are hierarchical, so the `total_*`
//! fields get the same values).

use containerd_shim_protos::cgroups::metrics::{
    BlkIOEntry, BlkIOStat, CPUStat, CPUUsage, HugetlbStat, MemoryEntry, MemoryStat, Metrics,
    PidsStat, Throttle,
};
use containerd_shim_protos::protobuf::MessageField;
use fastrun_runtime::cgroups::stats::{self, Stats};

/// The metrics of one sample.
pub fn from_stats(s: &Stats) -> Metrics {
    let mut m = Metrics::new();

    let mut usage = CPUUsage::new();
    usage.total = s.cpu.total;
    usage.kernel = s.cpu.kernel;
    usage.user = s.cpu.user;
    usage.per_cpu = s.cpu.percpu.clone();
    let mut throttling = Throttle::new();
    throttling.periods = s.cpu.periods;
    throttling.throttled_periods = s.cpu.throttled_periods;
    throttling.throttled_time = s.cpu.throttled_time;
    let mut cpu = CPUStat::new();
    cpu.usage = MessageField::some(usage);
    cpu.throttling = MessageField::some(throttling);
    m.cpu = MessageField::some(cpu);

    m.memory = MessageField::some(memory(&s.memory));

    let mut pids = PidsStat::new();
    pids.current = s.pids.current;
    pids.limit = s.pids.limit;
    m.pids = MessageField::some(pids);

    let mut blkio = BlkIOStat::new();
    blkio.io_service_bytes_recursive = blkio_entries(&s.blkio.io_service_bytes_recursive);
    blkio.io_serviced_recursive = blkio_entries(&s.blkio.io_serviced_recursive);
    m.blkio = MessageField::some(blkio);

    m.hugetlb = s
        .hugetlb
        .iter()
        .map(|(size, h)| {
            let mut e = HugetlbStat::new();
            e.pagesize = size.clone();
            e.usage = h.usage;
            e.max = h.max;
            e.failcnt = h.failcnt;
            e
        })
        .collect();
    m
}

fn entry(e: &stats::MemoryEntry) -> MessageField<MemoryEntry> {
    let mut m = MemoryEntry::new();
    m.limit = e.limit;
    m.usage = e.usage;
    m.max = e.max;
    m.failcnt = e.failcnt;
    MessageField::some(m)
}

fn blkio_entries(v: &[stats::BlkioEntry]) -> Vec<BlkIOEntry> {
    v.iter()
        .map(|e| {
            let mut b = BlkIOEntry::new();
            b.op = e.op.clone();
            b.major = e.major;
            b.minor = e.minor;
            b.value = e.value;
            b
        })
        .collect()
}

fn memory(s: &stats::MemoryStats) -> MemoryStat {
    let mut m = MemoryStat::new();
    m.usage = entry(&s.usage);
    m.swap = entry(&s.swap);
    m.kernel = entry(&s.kernel);
    m.kernel_tcp = entry(&s.kernel_tcp);
    // v1 has the `total_*` (hierarchical) keys; v2's keys are hierarchical, so
    // they fill both fields.
    let v1 = s.raw.contains_key("total_inactive_file");
    for (k, &v) in &s.raw {
        if v1 {
            if let Some(f) = stat_field(&mut m, k) {
                *f = v;
            }
        } else {
            let k = v2_key(k);
            for key in [k.to_string(), format!("total_{k}")] {
                if let Some(f) = stat_field(&mut m, &key) {
                    *f = v;
                }
            }
        }
    }
    m
}

/// The field of a v1 `memory.stat` key.
fn stat_field<'a>(m: &'a mut MemoryStat, key: &str) -> Option<&'a mut u64> {
    Some(match key {
        "cache" => &mut m.cache,
        "rss" => &mut m.rss,
        "rss_huge" => &mut m.rss_huge,
        "mapped_file" => &mut m.mapped_file,
        "dirty" => &mut m.dirty,
        "writeback" => &mut m.writeback,
        "pgpgin" => &mut m.pg_pg_in,
        "pgpgout" => &mut m.pg_pg_out,
        "pgfault" => &mut m.pg_fault,
        "pgmajfault" => &mut m.pg_maj_fault,
        "inactive_anon" => &mut m.inactive_anon,
        "active_anon" => &mut m.active_anon,
        "inactive_file" => &mut m.inactive_file,
        "active_file" => &mut m.active_file,
        "unevictable" => &mut m.unevictable,
        "hierarchical_memory_limit" => &mut m.hierarchical_memory_limit,
        "hierarchical_memsw_limit" => &mut m.hierarchical_swap_limit,
        "total_cache" => &mut m.total_cache,
        "total_rss" => &mut m.total_rss,
        "total_rss_huge" => &mut m.total_rss_huge,
        "total_mapped_file" => &mut m.total_mapped_file,
        "total_dirty" => &mut m.total_dirty,
        "total_writeback" => &mut m.total_writeback,
        "total_pgpgin" => &mut m.total_pg_pg_in,
        "total_pgpgout" => &mut m.total_pg_pg_out,
        "total_pgfault" => &mut m.total_pg_fault,
        "total_pgmajfault" => &mut m.total_pg_maj_fault,
        "total_inactive_anon" => &mut m.total_inactive_anon,
        "total_active_anon" => &mut m.total_active_anon,
        "total_inactive_file" => &mut m.total_inactive_file,
        "total_active_file" => &mut m.total_active_file,
        "total_unevictable" => &mut m.total_unevictable,
        _ => return None,
    })
}

/// A v2 `memory.stat` key → its v1 name (as runc's and containerd's v2→v1
/// readings pair them).
fn v2_key(k: &str) -> &str {
    match k {
        "file" => "cache",
        "anon" => "rss",
        "anon_thp" => "rss_huge",
        "file_mapped" => "mapped_file",
        "file_dirty" => "dirty",
        "file_writeback" => "writeback",
        k => k,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use containerd_shim_protos::protobuf::Message;
    use fastrun_runtime::cgroups::stats::{
        BlkioEntry, BlkioStats, CpuStats, HugetlbStats, MemoryStats, PidsStats,
    };

    use super::*;

    fn raw(kv: &[(&str, u64)]) -> BTreeMap<String, u64> {
        kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn mem_entry(usage: u64, limit: u64) -> stats::MemoryEntry {
        stats::MemoryEntry {
            usage,
            limit,
            max: usage + 1,
            failcnt: 2,
        }
    }

    fn v1_sample() -> Stats {
        Stats {
            cpu: CpuStats {
                total: 3_000_000,
                percpu: vec![1_000_000, 2_000_000],
                kernel: 1_000_000,
                user: 2_000_000,
                periods: 10,
                throttled_periods: 4,
                throttled_time: 5_000,
                ..Default::default()
            },
            memory: MemoryStats {
                cache: 4096,
                usage: mem_entry(10 << 20, 64 << 20),
                swap: mem_entry(11 << 20, 128 << 20),
                kernel: mem_entry(1 << 20, u64::MAX),
                kernel_tcp: mem_entry(0, u64::MAX),
                raw: raw(&[
                    ("cache", 4096),
                    ("rss", 8 << 20),
                    ("inactive_file", 1 << 20),
                    ("total_inactive_file", 3 << 20),
                    ("total_rss", 9 << 20),
                    ("total_pgfault", 77),
                    ("total_pgmajfault", 7),
                    ("hierarchical_memory_limit", 64 << 20),
                    ("hierarchical_memsw_limit", 128 << 20),
                    ("unknown_key", 1),
                ]),
            },
            pids: PidsStats {
                current: 3,
                limit: 100,
            },
            blkio: BlkioStats {
                io_service_bytes_recursive: vec![BlkioEntry {
                    major: 8,
                    minor: 0,
                    op: "Read".into(),
                    value: 4096,
                }],
                io_serviced_recursive: vec![],
            },
            hugetlb: [(
                "2MB".to_string(),
                HugetlbStats {
                    usage: 0,
                    max: 0,
                    failcnt: 1,
                },
            )]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn v1_sample_fills_what_cri_reads() {
        let m = from_stats(&v1_sample());
        let mem = m.memory.as_ref().unwrap();
        // CRI's working set: usage - total_inactive_file.
        assert_eq!(mem.usage.usage, 10 << 20);
        assert_eq!(mem.usage.limit, 64 << 20);
        assert_eq!(mem.usage.max, (10 << 20) + 1);
        assert_eq!(mem.usage.failcnt, 2);
        assert_eq!(mem.total_inactive_file, 3 << 20);
        assert_eq!(mem.inactive_file, 1 << 20);
        assert_eq!(mem.total_rss, 9 << 20);
        assert_eq!(mem.rss, 8 << 20);
        assert_eq!(mem.cache, 4096);
        assert_eq!((mem.total_pg_fault, mem.total_pg_maj_fault), (77, 7));
        assert_eq!(mem.hierarchical_memory_limit, 64 << 20);
        assert_eq!(mem.hierarchical_swap_limit, 128 << 20);
        assert_eq!(mem.swap.usage, 11 << 20);
        assert_eq!(mem.kernel.limit, u64::MAX);
        // v1: no copying of local counters into the totals.
        assert_eq!(mem.total_cache, 0);

        let cpu = m.cpu.as_ref().unwrap();
        let u = cpu.usage.as_ref().unwrap();
        assert_eq!(
            (u.total, u.user, u.kernel),
            (3_000_000, 2_000_000, 1_000_000)
        );
        assert_eq!(u.per_cpu, [1_000_000, 2_000_000]);
        let t = cpu.throttling.as_ref().unwrap();
        assert_eq!(
            (t.periods, t.throttled_periods, t.throttled_time),
            (10, 4, 5_000)
        );

        let p = m.pids.as_ref().unwrap();
        assert_eq!((p.current, p.limit), (3, 100));

        let b = m.blkio.as_ref().unwrap();
        assert_eq!(b.io_service_bytes_recursive.len(), 1);
        let e = &b.io_service_bytes_recursive[0];
        assert_eq!(
            (e.op.as_str(), e.major, e.minor, e.value),
            ("Read", 8, 0, 4096)
        );
        assert_eq!(m.hugetlb.len(), 1);
        assert_eq!(
            (m.hugetlb[0].pagesize.as_str(), m.hugetlb[0].failcnt),
            ("2MB", 1)
        );
    }

    #[test]
    fn v2_memory_stat_keys_map_to_v1_names() {
        let s = Stats {
            memory: MemoryStats {
                usage: mem_entry(5 << 20, u64::MAX),
                raw: raw(&[
                    ("anon", 2 << 20),
                    ("file", 3 << 20),
                    ("file_mapped", 1 << 20),
                    ("inactive_file", 2 << 20),
                    ("active_file", 1 << 20),
                    ("pgfault", 50),
                    ("pgmajfault", 5),
                ]),
                ..Default::default()
            },
            ..Default::default()
        };
        let m = from_stats(&s);
        let mem = m.memory.as_ref().unwrap();
        assert_eq!((mem.rss, mem.total_rss), (2 << 20, 2 << 20));
        assert_eq!((mem.cache, mem.total_cache), (3 << 20, 3 << 20));
        assert_eq!(mem.total_mapped_file, 1 << 20);
        assert_eq!(mem.total_inactive_file, 2 << 20);
        assert_eq!(mem.total_active_file, 1 << 20);
        assert_eq!((mem.total_pg_fault, mem.total_pg_maj_fault), (50, 5));
    }

    #[test]
    fn encodes_and_decodes_as_the_v1_metrics_type() {
        let bytes = from_stats(&v1_sample()).write_to_bytes().unwrap();
        let back = Metrics::parse_from_bytes(&bytes).unwrap();
        assert_eq!(back, from_stats(&v1_sample()));
        assert_eq!(back.memory.usage.usage, 10 << 20);
        // An empty sample (a cgroup without controllers) still encodes.
        assert!(from_stats(&Stats::default()).write_to_bytes().is_ok());
    }
}
