//! Which cgroup filesystems are mounted where: v1, hybrid (v1 + a cgroup2 tree) or v2.
//!
//! [`Layout::from_mountinfo`] is pure (unit-tested on captured samples);
//! [`Layout::detect`] reads `/proc/self/mountinfo` once and, for a cgroup2 tree,
//! its `cgroup.controllers`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{fsutil, CgroupError};
use crate::sys::fs::{CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};

/// The v1 controllers the kernel knows (a named hierarchy shows as `name=...`).
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// One mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// Controllers bound to it (`["cpu", "cpuacct"]`), or `["name=systemd"]` for a named one.
    pub controllers: Vec<String>,
    /// Where it is mounted (`/sys/fs/cgroup/memory`).
    pub mountpoint: PathBuf,
}

impl Hierarchy {
    /// Whether `controller` is bound to this hierarchy.
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// Whether this is a named hierarchy without controllers (`name=systemd`).
    pub fn is_named(&self) -> bool {
        self.controllers.iter().all(|c| c.starts_with("name="))
    }
}

/// The cgroup layout of this mount namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Only v1 hierarchies.
    V1 { hierarchies: Vec<Hierarchy> },
    /// v1 hierarchies plus a cgroup2 tree (`/sys/fs/cgroup/unified`), which holds the
    /// controllers listed in `unified_controllers` (often none, here `hugetlb`).
    Hybrid {
        hierarchies: Vec<Hierarchy>,
        unified: PathBuf,
        unified_controllers: Vec<String>,
    },
    /// Only cgroup2.
    V2 {
        mountpoint: PathBuf,
        controllers: Vec<String>,
    },
}

/// One cgroup-related line of mountinfo.
#[derive(Debug, Clone)]
struct CgMount {
    dev: String,
    mountpoint: PathBuf,
    v2: bool,
    controllers: Vec<String>,
}

use crate::sys::proc::unescape_mountinfo as unescape;

/// Parses the mounts of interest out of mountinfo, dropping the ones hidden by a
/// later mount on the same place or above it.
fn parse_mounts(mountinfo: &str) -> Vec<CgMount> {
    let mut all: Vec<(PathBuf, Option<CgMount>)> = Vec::new();
    for line in mountinfo.lines() {
        // id parent major:minor root mountpoint options [optional...] - fstype source superopts
        let mut fields = line.split(' ');
        let (Some(_id), Some(_parent), Some(dev), Some(_root), Some(mp)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        let rest: Vec<&str> = fields.collect();
        let Some(sep) = rest.iter().position(|f| *f == "-") else {
            continue;
        };
        let fstype = rest.get(sep + 1).copied().unwrap_or("");
        let superopts = rest.get(sep + 3).copied().unwrap_or("");
        let mountpoint = PathBuf::from(unescape(mp));
        let cg = match fstype {
            "cgroup2" => Some(CgMount {
                dev: dev.to_string(),
                mountpoint: mountpoint.clone(),
                v2: true,
                controllers: Vec::new(),
            }),
            "cgroup" => {
                let controllers: Vec<String> = superopts
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(str::to_string)
                    .collect();
                Some(CgMount {
                    dev: dev.to_string(),
                    mountpoint: mountpoint.clone(),
                    v2: false,
                    controllers,
                })
            }
            _ => None,
        };
        all.push((mountpoint, cg));
    }
    // A mount hides every earlier mount at the same place or below it.
    let mut visible = Vec::new();
    for (i, (mp, cg)) in all.iter().enumerate() {
        let Some(cg) = cg else { continue };
        let hidden = all[i + 1..].iter().any(|(later, _)| mp.starts_with(later));
        if !hidden {
            visible.push(cg.clone());
        }
    }
    visible
}

impl Layout {
    /// Builds the layout from the text of `/proc/self/mountinfo`. The cgroup2
    /// controllers are left empty (they come from a file; see [`Layout::detect`]).
    pub fn from_mountinfo(mountinfo: &str) -> Result<Layout, CgroupError> {
        let mounts = parse_mounts(mountinfo);
        let mut hierarchies: Vec<Hierarchy> = Vec::new();
        let mut seen_dev: Vec<&str> = Vec::new();
        for m in mounts.iter().filter(|m| !m.v2 && !m.controllers.is_empty()) {
            // The same hierarchy mounted twice (bind mounts): keep the first.
            if seen_dev.contains(&m.dev.as_str()) {
                continue;
            }
            seen_dev.push(&m.dev);
            hierarchies.push(Hierarchy {
                controllers: m.controllers.clone(),
                mountpoint: m.mountpoint.clone(),
            });
        }
        let v2: Vec<&CgMount> = mounts.iter().filter(|m| m.v2).collect();
        let pick_v2 = || -> Option<PathBuf> {
            for pref in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
                if let Some(m) = v2.iter().find(|m| m.mountpoint == Path::new(pref)) {
                    return Some(m.mountpoint.clone());
                }
            }
            v2.first().map(|m| m.mountpoint.clone())
        };
        let has_controllers = hierarchies.iter().any(|h| !h.is_named());
        match (has_controllers, pick_v2()) {
            (true, Some(unified)) => Ok(Layout::Hybrid {
                hierarchies,
                unified,
                unified_controllers: Vec::new(),
            }),
            (true, None) => Ok(Layout::V1 { hierarchies }),
            (false, Some(mountpoint)) => Ok(Layout::V2 {
                mountpoint,
                controllers: Vec::new(),
            }),
            (false, None) => Err(CgroupError::Unsupported(
                "cgroup: no cgroup filesystem is mounted (checked /proc/self/mountinfo)".into(),
            )),
        }
    }

    /// Detects the layout of this mount namespace: a pure v2 host is recognised
    /// by one `statfs` of `/sys/fs/cgroup` (as runc and crun do); otherwise one read
    /// of `/proc/self/mountinfo` (O(mounts): long on busy nodes). Plus
    /// `cgroup.controllers` of the cgroup2 tree if any.
    pub fn detect() -> Result<Layout, CgroupError> {
        Layout::detect_keeping_mountinfo().map(|(layout, _)| layout)
    }

    /// [`Layout::detect`], and the text of `/proc/self/mountinfo` when it was read
    /// (not on a pure v2 host): a create's plan reads the same table next.
    pub fn detect_keeping_mountinfo() -> Result<(Layout, Option<String>), CgroupError> {
        if Layout::default_is_v2() {
            return Ok((Layout::v2_at(DEFAULT_MOUNTPOINT)?, None));
        }
        let p = Path::new("/proc/self/mountinfo");
        let text = fsutil::read(p)?;
        let mut layout = Layout::from_mountinfo(&text)?;
        layout.read_v2_controllers()?;
        Ok((layout, Some(text)))
    }

    /// Whether every mount point of this layout is still a cgroup file system
    /// of its kind (one `statfs` each): a layout saved in a container's record is
    /// used instead of [`Layout::detect`] only then (runc keeps its cgroup paths
    /// in its state too). Reading mountinfo costs ~100 µs on a small hybrid host
    /// and grows with the host's mounts; this ~1 µs per hierarchy.
    pub fn still_mounted(&self) -> bool {
        let is = |p: &Path, magic: i64| {
            std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
                .is_ok_and(|c| crate::sys::fs::statfs_magic(&c) == Ok(magic))
        };
        let v1_ok = self
            .hierarchies()
            .iter()
            .all(|h| is(&h.mountpoint, CGROUP_SUPER_MAGIC));
        v1_ok && self.unified().map_or(true, |u| is(u, CGROUP2_SUPER_MAGIC))
    }

    /// Whether `/sys/fs/cgroup` is a cgroup2 mount (`CGROUP2_SUPER_MAGIC`): the pure
    /// v2 host that [`Layout::detect`] recognises without reading mountinfo.
    pub fn default_is_v2() -> bool {
        crate::sys::fs::statfs_magic(c"/sys/fs/cgroup") == Ok(CGROUP2_SUPER_MAGIC)
    }

    /// A pure v2 layout rooted at `mountpoint` (a cgroup2 mount), with its controllers
    /// read from `cgroup.controllers`. Tests mount a fresh cgroup2 at a temp dir.
    pub fn v2_at(mountpoint: impl Into<PathBuf>) -> Result<Layout, CgroupError> {
        let mut layout = Layout::V2 {
            mountpoint: mountpoint.into(),
            controllers: Vec::new(),
        };
        layout.read_v2_controllers()?;
        Ok(layout)
    }

    /// Fills in the cgroup2 controllers from `<mountpoint>/cgroup.controllers`.
    pub fn read_v2_controllers(&mut self) -> Result<(), CgroupError> {
        let (mp, ctrls) = match self {
            Layout::V1 { .. } => return Ok(()),
            Layout::Hybrid {
                unified,
                unified_controllers,
                ..
            } => (unified.clone(), unified_controllers),
            Layout::V2 {
                mountpoint,
                controllers,
            } => (mountpoint.clone(), controllers),
        };
        let text = fsutil::read_opt(&mp.join("cgroup.controllers"))?.unwrap_or_default();
        *ctrls = text.split_whitespace().map(str::to_string).collect();
        Ok(())
    }

    /// The v1 hierarchies (empty on v2).
    pub fn hierarchies(&self) -> &[Hierarchy] {
        match self {
            Layout::V1 { hierarchies } | Layout::Hybrid { hierarchies, .. } => hierarchies,
            Layout::V2 { .. } => &[],
        }
    }

    /// The cgroup2 mountpoint, on hybrid and v2.
    pub fn unified(&self) -> Option<&Path> {
        match self {
            Layout::V1 { .. } => None,
            Layout::Hybrid { unified, .. } => Some(unified),
            Layout::V2 { mountpoint, .. } => Some(mountpoint),
        }
    }

    /// The controllers available on the cgroup2 tree (empty on v1).
    pub fn unified_controllers(&self) -> &[String] {
        match self {
            Layout::V1 { .. } => &[],
            Layout::Hybrid {
                unified_controllers,
                ..
            } => unified_controllers,
            Layout::V2 { controllers, .. } => controllers,
        }
    }

    /// The v1 hierarchy holding `controller`, if mounted.
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies().iter().find(|h| h.has(controller))
    }

    /// Whether this is a pure v2 layout.
    pub fn is_v2(&self) -> bool {
        matches!(self, Layout::V2 { .. })
    }
}

/// Where a pure v2 host mounts its cgroup2 tree.
const DEFAULT_MOUNTPOINT: &str = "/sys/fs/cgroup";

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine (v1 hybrid, cgroup2 at /sys/fs/cgroup/unified holding hugetlb).
    const HYBRID: &str = "\
22 27 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    /// A systemd machine with the unified layout (Debian 11+, Fedora 31+).
    const PURE_V2: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
33 25 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
34 25 0:29 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
";

    /// An older systemd machine in legacy mode (co-mounted cpu,cpuacct and net_cls,net_prio).
    const PURE_V1: &str = "\
24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
29 24 0:25 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
31 29 0:27 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
34 29 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
35 29 0:31 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio
36 29 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,memory
37 29 0:33 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,pids
38 29 0:34 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,cpuset,clone_children
39 29 0:35 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,hugetlb
";

    #[test]
    fn this_machine_is_hybrid() {
        let l = Layout::from_mountinfo(HYBRID).unwrap();
        let Layout::Hybrid {
            hierarchies,
            unified,
            ..
        } = &l
        else {
            panic!("not hybrid: {l:?}")
        };
        assert_eq!(unified, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(hierarchies.len(), 9);
        assert_eq!(
            l.v1("memory").unwrap().mountpoint,
            Path::new("/sys/fs/cgroup/memory")
        );
        assert!(l.v1("name=systemd").unwrap().is_named());
        assert!(l.v1("hugetlb").is_none());
        assert!(l.v1("net_cls").is_none());
    }

    #[test]
    fn pure_v2() {
        let l = Layout::from_mountinfo(PURE_V2).unwrap();
        assert_eq!(
            l,
            Layout::V2 {
                mountpoint: "/sys/fs/cgroup".into(),
                controllers: vec![]
            }
        );
        assert!(l.is_v2());
        assert!(l.hierarchies().is_empty());
    }

    #[test]
    fn pure_v1_comounted() {
        let l = Layout::from_mountinfo(PURE_V1).unwrap();
        let Layout::V1 { hierarchies } = &l else {
            panic!("not v1: {l:?}")
        };
        assert_eq!(hierarchies.len(), 7);
        let cpu = l.v1("cpuacct").unwrap();
        assert_eq!(cpu.controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(cpu.mountpoint, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(
            l.v1("name=systemd").unwrap().controllers,
            vec!["name=systemd"]
        );
        // clone_children and release_agent are options, not controllers
        assert_eq!(l.v1("cpuset").unwrap().controllers, vec!["cpuset"]);
        assert_eq!(
            l.v1("net_prio").unwrap().controllers,
            vec!["net_cls", "net_prio"]
        );
    }

    #[test]
    fn overmount_hides_v1() {
        // private mount ns: cgroup2 mounted over /sys/fs/cgroup without unmounting
        let text =
            format!("{HYBRID}50 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n");
        let l = Layout::from_mountinfo(&text).unwrap();
        assert_eq!(
            l,
            Layout::V2 {
                mountpoint: "/sys/fs/cgroup".into(),
                controllers: vec![]
            }
        );
    }

    #[test]
    fn extra_v2_mount_elsewhere_keeps_sysfs_one() {
        let text = format!("{HYBRID}60 1 0:38 / /tmp/x rw,relatime - cgroup2 none rw\n");
        let l = Layout::from_mountinfo(&text).unwrap();
        assert_eq!(l.unified(), Some(Path::new("/sys/fs/cgroup/unified")));
    }

    #[test]
    fn bind_mounted_hierarchy_counted_once() {
        let text = format!("{PURE_V1}70 1 0:32 / /mnt/mem rw,relatime - cgroup cgroup rw,memory\n");
        let l = Layout::from_mountinfo(&text).unwrap();
        assert_eq!(l.hierarchies().len(), 7);
    }

    #[test]
    fn only_named_hierarchy_with_v2_is_v2() {
        let text = "1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n\
                    2 1 0:2 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";
        // the named v1 mount is below the v2 mount and mounted later: both visible,
        // but without v1 controllers the layout is v2
        assert!(Layout::from_mountinfo(text).unwrap().is_v2());
    }

    #[test]
    fn nothing_mounted() {
        let e = Layout::from_mountinfo("1 0 0:1 / / rw - ext4 /dev/sda rw\n").unwrap_err();
        assert!(e.to_string().contains("no cgroup filesystem"));
    }

    #[test]
    fn escaped_mountpoint() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/trail\\04"), "/trail\\04");
    }

    #[test]
    fn detect_here() {
        // Whatever this machine is, detection must succeed and agree with itself.
        let l = Layout::detect().unwrap();
        if let Some(u) = l.unified() {
            assert!(u.is_absolute());
        }
    }
}
