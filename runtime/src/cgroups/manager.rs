//! The cgroup manager: one container's cgroup across every hierarchy.
//!
//! Which hierarchies are managed: every mounted v1 hierarchy that has a controller,
//! plus the named `name=systemd` one (as runc: tools and systemd look there), plus the
//! cgroup2 tree when there is one (pure v2, or the unified tree of a hybrid layout,
//! where controllers such as `hugetlb` may live). Other named v1 hierarchies are left
//! alone. Processes join every managed cgroup.
//!
//! Reading processes (`pids`, `kill_all`) and freezing use one "primary" directory:
//! pure v2 → the v2 directory; otherwise the v1 `freezer` hierarchy, else `pids`,
//! else `memory`, else the first managed hierarchy.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::layout::{Hierarchy, Layout};
use super::resources::{self, Probe, Resources, Target, Write};
use super::{devices, fsutil, CgroupError};
use crate::sys::bpf::{self, Insn};

/// How long freeze waits for the kernel to report the cgroup frozen.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// One container's cgroup.
#[derive(Debug, Clone)]
pub struct Cgroup {
    layout: Layout,
    rel: PathBuf,
    /// See [`Cgroup::best_effort_extras`].
    lenient_extras: bool,
    /// See [`Cgroup::without_v1_freezer`].
    no_freezer: bool,
}

impl Cgroup {
    /// A manager for the cgroup at `rel` (relative to each hierarchy's root, as
    /// returned by [`super::path::resolve`]). Creates nothing.
    pub fn new(layout: Layout, rel: impl Into<PathBuf>) -> Cgroup {
        Cgroup {
            layout,
            rel: rel.into(),
            lenient_extras: false,
            no_freezer: false,
        }
    }

    /// The same cgroup with its v1 `freezer` hierarchy left out of every join
    /// ([`Cgroup::open_v1_tasks`], [`Cgroup::add_pid_v1`], [`Cgroup::add_pid`]):
    /// for a process that must not freeze before it has exec'd (`exec
    /// --ignore-paused` into a paused container), which joins the freezer last
    /// with [`Cgroup::join_v1_freezer`]. Only for joining.
    pub fn without_v1_freezer(&self) -> Cgroup {
        Cgroup {
            no_freezer: true,
            ..self.clone()
        }
    }

    /// Adds `pid` to the cgroup's v1 `freezer` hierarchy (see
    /// [`Cgroup::without_v1_freezer`]); in a FROZEN cgroup the kernel freezes it.
    pub fn join_v1_freezer(&self, pid: i32) -> Result<(), CgroupError> {
        match self.v1_freezer() {
            Some(dir) => fsutil::write(&dir.join("cgroup.procs"), &pid.to_string()),
            None => Err(no_freezer()),
        }
    }

    /// Whether pausing uses the v1 `freezer` (else the cgroup2 `cgroup.freeze`).
    pub fn has_v1_freezer(&self) -> bool {
        self.v1_freezer().is_some()
    }

    /// Rootless, as runc's "named" groups: the `name=systemd` hierarchy and the
    /// unified tree of a hybrid layout hold no limits, so a refused mkdir or join
    /// there (EACCES, EPERM, EROFS: e.g. a v1 cgroup handed over to a user, while
    /// moving a process in the unified tree needs write access to the root's
    /// `cgroup.procs`) skips that hierarchy instead of failing.
    pub fn best_effort_extras(mut self) -> Cgroup {
        self.lenient_extras = true;
        self
    }

    /// Whether [`Cgroup::best_effort_extras`] applies (rootless).
    pub fn is_best_effort(&self) -> bool {
        self.lenient_extras
    }

    /// Whether an error in this extra hierarchy is skipped (see above).
    fn skip(&self, extra: bool, e: &CgroupError) -> bool {
        self.lenient_extras
            && extra
            && matches!(
                e.errno(),
                Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS)
            )
    }

    /// Detects the layout and returns a manager for `rel`.
    pub fn load(rel: impl Into<PathBuf>) -> Result<Cgroup, CgroupError> {
        Ok(Cgroup::new(Layout::detect()?, rel))
    }

    /// The layout this manager works on.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The cgroup path relative to each hierarchy root (`fastrun/<id>`).
    pub fn rel_path(&self) -> &Path {
        &self.rel
    }

    fn managed(&self) -> impl Iterator<Item = &Hierarchy> {
        self.layout
            .hierarchies()
            .iter()
            .filter(|h| !h.is_named() || h.has("name=systemd"))
            .filter(|h| !(self.no_freezer && h.has("freezer")))
    }

    /// The container's directory in every managed v1 hierarchy.
    pub fn v1_dirs(&self) -> Vec<PathBuf> {
        self.managed()
            .map(|h| h.mountpoint.join(&self.rel))
            .collect()
    }

    /// The container's directory in the cgroup2 tree, if there is one.
    pub fn v2_dir(&self) -> Option<PathBuf> {
        self.layout.unified().map(|u| u.join(&self.rel))
    }

    /// The container's directory in the v1 hierarchy of `controller`.
    pub fn v1_dir(&self, controller: &str) -> Option<PathBuf> {
        self.layout
            .v1(controller)
            .map(|h| h.mountpoint.join(&self.rel))
    }

    /// The directory used for listing, signalling and freezing.
    pub fn primary_dir(&self) -> Option<PathBuf> {
        if self.layout.is_v2() {
            return self.v2_dir();
        }
        ["freezer", "pids", "memory"]
            .iter()
            .find_map(|c| self.v1_dir(c))
            .or_else(|| self.v1_dirs().into_iter().next())
    }

    /// Whether the cgroup exists (its primary directory does).
    pub fn exists(&self) -> bool {
        self.primary_dir().is_some_and(|d| d.is_dir())
    }

    /// Creates the cgroup in every managed hierarchy (like `mkdir -p`). On v1 `cpuset`,
    /// empty `cpuset.cpus`/`cpuset.mems` are copied from the parent at each level (the
    /// kernel refuses tasks otherwise). On the cgroup2 tree, the controllers available
    /// in each ancestor are enabled in its `cgroup.subtree_control`.
    pub fn create(&self) -> Result<(), CgroupError> {
        for h in self.managed() {
            match mkdir_levels(&h.mountpoint, &self.rel, h.has("cpuset")) {
                Err(e) if !self.skip(h.is_named(), &e) => return Err(e),
                _ => {}
            }
        }
        if let Some(root) = self.layout.unified() {
            match create_v2(root, &self.rel) {
                Err(e) if !self.skip(!self.layout.is_v2(), &e) => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Moves `pid` into the cgroup: every managed v1 hierarchy, then the cgroup2 tree.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        let value = pid.to_string();
        for h in self.managed() {
            let dir = h.mountpoint.join(&self.rel);
            match fsutil::write(&dir.join("cgroup.procs"), &value) {
                Err(e) if !self.skip(h.is_named(), &e) => return Err(e),
                _ => {}
            }
        }
        if let Some(dir) = self.v2_dir() {
            match fsutil::write(&dir.join("cgroup.procs"), &value) {
                Err(e) if !self.skip(!self.layout.is_v2(), &e) => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The directories `pid` joins for `exec --cgroup`: the container's in every
    /// managed hierarchy (then the cgroup2 tree), with the sub-cgroup `sub` names
    /// for it. Every one must exist already (as runc: exec makes no cgroup).
    pub fn sub_dirs(&self, sub: &SubCgroups) -> Result<Vec<PathBuf>, CgroupError> {
        for c in sub.controllers() {
            let known = self.managed().any(|h| h.has(c))
                || (self.layout.is_v2()
                    && self.layout.unified_controllers().iter().any(|u| u == c));
            if !known || self.layout.is_v2() {
                return Err(CgroupError::Config(format!(
                    "--cgroup {c}:...: unknown controller {c:?} (the container's hierarchies: {})",
                    if self.layout.is_v2() {
                        "one cgroup2 tree, give the path without a controller".to_string()
                    } else {
                        self.managed()
                            .flat_map(|h| h.controllers.iter().cloned())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )));
            }
        }
        let mut dirs = Vec::new();
        for h in self.managed() {
            let base = h.mountpoint.join(&self.rel);
            dirs.push(match sub.for_hierarchy(h) {
                Some(s) => base.join(s),
                None => base,
            });
        }
        if let Some(u) = self.v2_dir() {
            dirs.push(match sub.for_unified() {
                Some(s) => u.join(s),
                None => u,
            });
        }
        for d in &dirs {
            if !d.is_dir() {
                return Err(CgroupError::Config(format!(
                    "--cgroup: sub-cgroup {} does not exist",
                    d.display()
                )));
            }
        }
        Ok(dirs)
    }

    /// Moves `pid` into `dirs` (from [`Cgroup::sub_dirs`]).
    pub fn add_pid_to(&self, pid: i32, dirs: &[PathBuf]) -> Result<(), CgroupError> {
        let value = pid.to_string();
        for dir in dirs {
            fsutil::write(&dir.join("cgroup.procs"), &value)?;
        }
        Ok(())
    }

    /// Moves `pid` into the cgroup of every managed v1 hierarchy (not the cgroup2
    /// tree): the fallback when a process could not join them itself through
    /// [`Cgroup::open_v1_tasks`].
    pub fn add_pid_v1(&self, pid: i32) -> Result<(), CgroupError> {
        let value = pid.to_string();
        for dir in self.v1_dirs() {
            fsutil::write(&dir.join("cgroup.procs"), &value)?;
        }
        Ok(())
    }

    /// The `tasks` file of the cgroup in every managed v1 hierarchy, opened
    /// `O_WRONLY|O_CLOEXEC`, for a new single-threaded process to join by itself:
    /// it writes `0` to each. A thread that moves itself does not take the global
    /// `cgroup_threadgroup_rwsem`, whose write side waits for an RCU grace period
    /// (5-12 ms for 9 hierarchies here, against 0.1 ms), and the kernel checks the
    /// permission against the credentials of the opener (us), so it works from a
    /// new user namespace too. Empty on pure v2.
    pub fn open_v1_tasks(&self) -> Result<Vec<OwnedFd>, CgroupError> {
        let mut out = Vec::new();
        for dir in self.v1_dirs() {
            let path = dir.join("tasks");
            let f = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
                .map_err(|e| CgroupError::io("cgroup: open", &path, e))?;
            out.push(OwnedFd::from(f));
        }
        // Test builds only: a tasks fd the init cannot write to (opened read-only),
        // to exercise the runtime's fallback (`add_pid_v1`) with real containers.
        #[cfg(debug_assertions)]
        if std::env::var_os("FASTRUN_TEST_BREAK_SELF_JOIN").is_some() {
            if let Some(last) = out.last_mut() {
                let path = self.v1_dirs().pop().unwrap_or_default().join("tasks");
                let f = std::fs::File::open(&path)
                    .map_err(|e| CgroupError::io("cgroup: open", &path, e))?;
                *last = OwnedFd::from(f);
            }
        }
        Ok(out)
    }

    /// An `O_PATH|O_DIRECTORY|O_CLOEXEC` descriptor of the cgroup2 directory (pure
    /// v2, or the unified tree of a hybrid layout), for `clone3(CLONE_INTO_CGROUP)`.
    /// On v1 without a cgroup2 tree there is none: an error.
    pub fn open_v2_dir(&self) -> Result<OwnedFd, CgroupError> {
        self.open_v2_dir_at(&SubCgroups::default())
    }

    /// [`Cgroup::open_v2_dir`] for the sub-cgroup `sub` names (exec --cgroup).
    pub fn open_v2_dir_at(&self, sub: &SubCgroups) -> Result<OwnedFd, CgroupError> {
        let dir = match self.v2_dir() {
            Some(d) => d,
            None => {
                return Err(CgroupError::Unsupported(
                    "cgroup: CLONE_INTO_CGROUP needs a cgroup2 tree; add the pid after the \
                     clone instead"
                        .into(),
                ))
            }
        };
        let dir = match sub.for_unified() {
            Some(s) => dir.join(s),
            None => dir,
        };
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&dir)
            .map_err(|e| CgroupError::io("cgroup: open", &dir, e))?;
        Ok(OwnedFd::from(f))
    }

    /// Every process in the cgroup and its descendants (from `cgroup.procs`).
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let Some(dir) = self.primary_dir() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        collect_pids(&dir, &mut out)?;
        Ok(out)
    }

    /// Host pids in the cgroup in any hierarchy (a process may be in some only: a
    /// new init is born in the cgroup2 one and joins the v1 ones itself).
    pub fn pids_in_any_hierarchy(&self) -> Result<Vec<i32>, CgroupError> {
        let mut out = Vec::new();
        for dir in self.v1_dirs().into_iter().chain(self.v2_dir()) {
            collect_pids(&dir, &mut out)?;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Facts the conversion of `res` needs, read from this cgroup (or the hierarchy
    /// root when the cgroup does not exist yet): the files behind memory and block
    /// I/O limits are looked at only when `res` has such limits (a start without
    /// them makes no `stat` for them).
    pub fn probe(&self, res: &Resources) -> Probe {
        let v1: Vec<String> = self
            .managed()
            .flat_map(|h| h.controllers.iter().cloned())
            .collect();
        let v2 = match &self.layout {
            Layout::V1 { .. } => None,
            _ => Some(self.layout.unified_controllers().to_vec()),
        };
        let pick = |controller: &str| -> Option<PathBuf> {
            let h = self.layout.v1(controller)?;
            let d = h.mountpoint.join(&self.rel);
            Some(if d.is_dir() { d } else { h.mountpoint.clone() })
        };
        let memory = res.memory.is_some();
        let memsw = memory
            && pick("memory").is_some_and(|d| d.join("memory.memsw.limit_in_bytes").exists());
        let memory_limit = self.v1_dir("memory").filter(|_| memory).and_then(|d| {
            fsutil::read_u64_opt(&d.join("memory.limit_in_bytes"))
                .ok()
                .flatten()
        });
        let bfq = if res.block_io.is_none() {
            false
        } else if self.layout.v1("blkio").is_some() {
            pick("blkio").is_some_and(|d| d.join("blkio.bfq.weight").exists())
        } else {
            self.v2_dir()
                .is_some_and(|d| d.join("io.bfq.weight").exists())
        };
        Probe {
            v1,
            v2,
            pure_v2: self.layout.is_v2(),
            memsw,
            bfq,
            memory_limit,
        }
    }

    /// The writes for `res` on this machine ([`resources::writes`] with [`Cgroup::probe`]).
    pub fn writes(&self, res: &Resources) -> Result<Vec<Write>, CgroupError> {
        resources::writes(res, &self.probe(res))
    }

    /// The directory a write goes to.
    fn dir_for(&self, w: &Write) -> Result<PathBuf, CgroupError> {
        match w.target {
            Target::V1(c) => self.v1_dir(c).ok_or_else(|| {
                CgroupError::Unsupported(format!(
                    "cgroup: cannot set {w}: the {c} controller is not mounted on this machine"
                ))
            }),
            Target::V2 => self.v2_dir().ok_or_else(|| {
                CgroupError::Unsupported(format!(
                    "cgroup: cannot set {w}: this machine has no cgroup v2 tree"
                ))
            }),
        }
    }

    /// Checks, before the cgroup exists, that every write has a place to go (its
    /// controller is mounted), so that `create` can refuse without making anything.
    pub fn check(&self, writes: &[Write]) -> Result<(), CgroupError> {
        for w in writes {
            self.dir_for(w)?;
        }
        Ok(())
    }

    /// Performs the writes in order; the error names the file and the value.
    pub fn apply(&self, writes: &[Write]) -> Result<(), CgroupError> {
        let mut deferred: Vec<(PathBuf, &Write)> = Vec::new();
        // Consecutive writes to one file (the device rules: one `devices.allow` write
        // per rule) go through one open fd; each write(2) is still one rule.
        let mut open: Option<(PathBuf, std::fs::File)> = None;
        for w in writes {
            let path = self.dir_for(w)?.join(&w.file);
            let written = match &mut open {
                Some((p, f)) if *p == path => {
                    use std::io::Write as _;
                    f.write_all(w.value.as_bytes())
                }
                _ => std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|mut f| {
                        use std::io::Write as _;
                        let r = f.write_all(w.value.as_bytes());
                        open = Some((path.clone(), f));
                        r
                    }),
            };
            match written {
                Ok(()) => {}
                Err(e) if w.if_exists && e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if w.retry_einval && e.raw_os_error() == Some(libc::EINVAL) => {
                    deferred.push((path, w));
                    continue;
                }
                Err(e)
                    if w.file == "cpu.rt_runtime_us" && e.raw_os_error() == Some(libc::EINVAL) =>
                {
                    self.rt_budget_from_parent(&path, &w.value, e)?
                }
                Err(e) => return Err(CgroupError::write(&path, &w.value, e)),
            }
            if w.check_readback {
                let got = fsutil::read(&path)?;
                if got.trim() != w.value {
                    return Err(CgroupError::Config(format!(
                        "cgroup: wrote {} to {} but the kernel set {} (out of the allowed range)",
                        w.value,
                        path.display(),
                        got.trim()
                    )));
                }
            }
        }
        for (path, w) in deferred {
            fsutil::write(&path, &w.value)?;
        }
        Ok(())
    }

    /// `cpu.rt_runtime_us` was refused (EINVAL): the parent's real-time budget
    /// (v1) cannot hold it. Under the runtime's own default parent (`fastrun/<id>`,
    /// which starts with no budget), give that parent what its children need, then
    /// write again; a cgroupsPath elsewhere is left alone (runc fails the same) and
    /// the error says how much the parent has. Nothing outside our parent is touched.
    fn rt_budget_from_parent(
        &self,
        path: &Path,
        value: &str,
        e: std::io::Error,
    ) -> Result<(), CgroupError> {
        let refused = |why: String| {
            CgroupError::Config(format!(
                "linux.resources.cpu.realtimeRuntime: write {value} to {}: {e}: {why}",
                path.display()
            ))
        };
        let (Some(dir), Some(parent)) = (path.parent(), path.parent().and_then(Path::parent))
        else {
            return Err(CgroupError::write(path, value, e));
        };
        let num = |p: &Path| fsutil::read_u64_opt(p).ok().flatten().unwrap_or(0) as u128;
        let have = num(&parent.join("cpu.rt_runtime_us"));
        let parent_period = num(&parent.join("cpu.rt_period_us")).max(1);
        let own_parent = self.rel.parent() == Some(Path::new(super::path::DEFAULT_PARENT));
        if !own_parent {
            return Err(refused(format!(
                "its parent {} has {have} µs of real-time runtime per {parent_period} µs for all its children; give it a budget first (as with runc)",
                parent.display()
            )));
        }
        // What the siblings hold plus what we ask, in the parent's period.
        let want: u128 = value.trim().parse().unwrap_or(0);
        let own_period = num(&dir.join("cpu.rt_period_us")).max(1);
        let mut need = want * parent_period / own_period;
        if let Ok(rd) = std::fs::read_dir(parent) {
            for c in rd.flatten().filter(|c| c.path() != dir) {
                let p = c.path();
                if p.is_dir() {
                    let period = num(&p.join("cpu.rt_period_us")).max(1);
                    need += num(&p.join("cpu.rt_runtime_us")) * parent_period / period;
                }
            }
        }
        if need > have {
            let runtime = parent.join("cpu.rt_runtime_us");
            fsutil::write_raw(&runtime, &need.to_string()).map_err(|pe| {
                refused(format!(
                    "raising {} to {need} failed ({pe}): the host does not leave that much                      real-time runtime to it",
                    runtime.display()
                ))
            })?;
        }
        fsutil::write(path, value)
    }

    /// The device program for `rules`, when this layout needs one: pure v2 and a
    /// non-empty rule list (on v1 and hybrid the v1 devices controller enforces the
    /// rules through [`Cgroup::apply`]). Pure: call it before anything is made.
    pub fn device_program(
        &self,
        rules: &[resources::DeviceRule],
    ) -> Result<Option<Vec<Insn>>, CgroupError> {
        if !matches!(self.layout, Layout::V2 { .. }) || rules.is_empty() {
            return Ok(None);
        }
        devices::compile(rules).map(Some)
    }

    /// Loads `prog` and attaches it to the v2 directory (`BPF_F_ALLOW_MULTI`, as runc),
    /// then detaches the device programs we attached there before (`update`): the new
    /// rules apply before the old ones go, so no access is allowed in between that
    /// either list refuses.
    pub fn set_device_program(&self, prog: &[Insn]) -> Result<(), CgroupError> {
        const WHAT: &str = "linux.resources.devices: cgroup v2 device program:";
        let dir = self.v2_dir().ok_or_else(|| {
            CgroupError::Unsupported(format!("{WHAT} this machine has no cgroup v2 tree"))
        })?;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&dir)
            .map_err(|e| CgroupError::io("cgroup: open", &dir, e))?;
        let cg = f.as_fd();
        let io = |op: &'static str, e: crate::sys::Errno| CgroupError::io(op, &dir, e.into_io());
        let old = bpf::prog_query(cg).map_err(|e| {
            io(
                "linux.resources.devices: query the device programs (BPF_PROG_QUERY) of",
                e,
            )
        })?;
        let new = match bpf::prog_load(prog, devices::PROG_NAME, &mut []) {
            Ok(fd) => fd,
            Err(e) if e.0 == libc::EPERM => {
                return Err(io(
                    "linux.resources.devices: load the device program (BPF_PROG_LOAD) for",
                    e,
                ))
            }
            Err(e) => {
                // again with the verifier's log, for the message
                let mut log = vec![0u8; 1 << 16];
                let _ = bpf::prog_load(prog, devices::PROG_NAME, &mut log);
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                let text = String::from_utf8_lossy(&log[..end]);
                let text = text.trim();
                return Err(CgroupError::Unsupported(format!(
                    "{WHAT} the kernel refused it ({} instructions, {e}){}{}",
                    prog.len(),
                    if text.is_empty() { "" } else { ": " },
                    text.lines().rev().take(5).collect::<Vec<_>>().join(" / ")
                )));
            }
        };
        bpf::prog_attach(cg, new.as_fd(), bpf::F_ALLOW_MULTI).map_err(|e| {
            io(
                "linux.resources.devices: attach the device program (BPF_PROG_ATTACH) to",
                e,
            )
        })?;
        for id in old {
            // programs that went away meanwhile, or that are not ours, stay as they are
            let Ok(fd) = bpf::prog_get_fd_by_id(id) else {
                continue;
            };
            if bpf::prog_name(fd.as_fd()).ok().as_deref() != Some(devices::PROG_NAME.as_bytes()) {
                continue;
            }
            match bpf::prog_detach(cg, fd.as_fd()) {
                Ok(()) | Err(crate::sys::Errno(libc::ENOENT)) => {}
                Err(e) => return Err(io(
                    "linux.resources.devices: detach the old device program (BPF_PROG_DETACH) from",
                    e,
                )),
            }
        }
        Ok(())
    }

    fn v1_freezer(&self) -> Option<PathBuf> {
        self.v1_dir("freezer")
    }

    /// Freezes every process of the cgroup and waits until the kernel reports it frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        if let Some(dir) = self.v1_freezer() {
            return freeze_v1(&dir);
        }
        if let Some(dir) = self.v2_dir() {
            return freeze_v2(&dir);
        }
        Err(no_freezer())
    }

    /// Thaws the cgroup.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        if let Some(dir) = self.v1_freezer() {
            return thaw_v1(&dir);
        }
        if let Some(dir) = self.v2_dir() {
            return fsutil::write(&dir.join("cgroup.freeze"), "0");
        }
        Err(no_freezer())
    }

    /// Whether the cgroup is frozen (v1 `freezer.state` is FROZEN, v2 `cgroup.freeze` is 1).
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        if let Some(dir) = self.v1_freezer() {
            return Ok(fsutil::read(&dir.join("freezer.state"))?.trim() == "FROZEN");
        }
        if let Some(dir) = self.v2_dir() {
            return Ok(
                fsutil::read_opt(&dir.join("cgroup.freeze"))?.is_some_and(|s| s.trim() == "1")
            );
        }
        Ok(false)
    }

    /// Whether a process joining the cgroup now would be frozen: itself or an
    /// ancestor frozen or freezing (v1 `freezer.state` shows the inherited state;
    /// v2 `cgroup.events` says `frozen 1`, `cgroup.freeze` says a freeze is asked).
    /// A missing directory is not frozen.
    pub fn is_frozen_for_new_processes(&self) -> Result<bool, CgroupError> {
        if let Some(dir) = self.v1_freezer() {
            return Ok(fsutil::read_opt(&dir.join("freezer.state"))?
                .is_some_and(|s| matches!(s.trim(), "FROZEN" | "FREEZING")));
        }
        if let Some(dir) = self.v2_dir() {
            let freeze = fsutil::read_opt(&dir.join("cgroup.freeze"))?;
            let events = fsutil::read_opt(&dir.join("cgroup.events"))?;
            return Ok(freeze.is_some_and(|s| s.trim() == "1")
                || events.is_some_and(|e| e.lines().any(|l| l.trim() == "frozen 1")));
        }
        Ok(false)
    }

    /// Sends `signal` to every process of the cgroup. Pure v2 with SIGKILL writes
    /// `cgroup.kill`; otherwise (as runc) freeze, signal each pid, thaw, so that no
    /// process can fork out of the way meanwhile.
    pub fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        if signal == libc::SIGKILL && self.layout.is_v2() {
            if let Some(dir) = self.v2_dir() {
                let kill = dir.join("cgroup.kill");
                if kill.exists() {
                    return match fsutil::write(&kill, "1") {
                        // the cgroup is being removed (systemd removes an emptied
                        // unit's cgroup by itself): a dying cgroup holds no process
                        Err(e) if matches!(e.errno(), Some(libc::ENODEV) | Some(libc::ENOENT)) => {
                            Ok(())
                        }
                        r => r,
                    };
                }
            }
        }
        // Nothing to signal (the usual case at delete, after the init exited), or
        // signal 0 (a liveness check, nothing is delivered): skip the freeze and
        // thaw, which poll the freezer.
        if signal == 0 {
            return self.signal_each(0);
        }
        if self.pids()?.is_empty() {
            return Ok(());
        }
        // Freezing is best effort: without a freezer we still signal.
        let frozen = self.freeze().is_ok();
        let result = self.signal_each(signal);
        if frozen {
            self.thaw()?;
        }
        result
    }

    /// SIGKILLs every process in the cgroup, in any hierarchy, and waits (10 s at
    /// most) until they have left it: a process that is only in some hierarchies
    /// (an init killed before it joined its v1 cgroups) keeps the cgroup busy
    /// otherwise. The freezer is thawed only when there is something to kill (a
    /// frozen process dies only once thawed).
    pub fn kill_everything(&self) -> Result<(), CgroupError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut thawed = false;
        loop {
            let pids = self.pids_in_any_hierarchy()?;
            if pids.is_empty() {
                return Ok(());
            }
            if !thawed {
                let _ = self.thaw();
                thawed = true;
            }
            for pid in &pids {
                let _ = crate::sys::signal::kill(*pid, libc::SIGKILL);
            }
            if Instant::now() >= deadline {
                return Err(CgroupError::State(format!(
                    "cgroup {}: processes {pids:?} did not exit after SIGKILL",
                    self.rel_path().display()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn signal_each(&self, signal: i32) -> Result<(), CgroupError> {
        for pid in self.pids()? {
            if let Err(e) = crate::sys::signal::kill(pid, signal) {
                let e = e.into_io();
                if e.raw_os_error() != Some(libc::ESRCH) {
                    return Err(CgroupError::io(
                        "cgroup: kill",
                        format!("pid {pid} (signal {signal})"),
                        e,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Removes the cgroup from every hierarchy when nothing is left in it: one
    /// `rmdir` each, nothing listed, read or killed (the kernel refuses to remove
    /// a cgroup that holds a process or a child cgroup). `Ok(false)` when some
    /// directory stays: the caller then kills what is inside
    /// ([`Cgroup::kill_everything`]) and calls [`Cgroup::destroy`]; the
    /// directories removed here stay removed, which both take as done. After a
    /// `run` whose init had its own pid namespace nothing can be left, so this
    /// saves the scan of every hierarchy (10 `cgroup.procs` reads and directory
    /// listings on a hybrid host).
    pub fn destroy_if_empty(&self) -> bool {
        let mut gone = true;
        for dir in self.v1_dirs().into_iter().chain(self.v2_dir()) {
            match std::fs::remove_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // EBUSY (processes, child cgroups) or anything else: the full
                // path decides, and reports what it cannot remove.
                Err(_) => gone = false,
            }
        }
        gone
    }

    /// Removes the cgroup (and any child cgroups, deepest first) from every hierarchy.
    /// Kills nothing: retries briefly on EBUSY while dying processes leave. Missing
    /// directories are fine, so this is idempotent. Parents (`/fastrun`) stay.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for dir in self.v1_dirs().into_iter().chain(self.v2_dir()) {
            if let Err(e) = remove_tree(&dir) {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn no_freezer() -> CgroupError {
    CgroupError::Unsupported(
        "cgroup: cannot freeze: no v1 freezer hierarchy and no cgroup v2 tree".into(),
    )
}

/// `mkdir -p root/rel`, level by level, copying cpuset values down when asked.
fn mkdir_levels(root: &Path, rel: &Path, cpuset: bool) -> Result<(), CgroupError> {
    // The usual case first: the parents exist (`/fastrun`, made by an earlier
    // container), only the leaf is new. One mkdir instead of one per level, and
    // on `cpuset` only the leaf's values copied from its parent.
    let leaf = root.join(rel);
    if let (Ok(()), Some(parent)) = (std::fs::create_dir(&leaf), leaf.parent()) {
        if !cpuset || copy_cpuset(parent, &leaf)? {
            return Ok(());
        }
        // A parent without CPUs or memory nodes: the walk below fills it in.
    }
    let mut dir = root.to_path_buf();
    for c in rel.components() {
        let parent = dir.clone();
        dir.push(c);
        mkdir(&dir)?;
        if cpuset {
            copy_cpuset(&parent, &dir)?;
        }
    }
    Ok(())
}

/// Copies empty `cpuset.cpus`/`cpuset.mems` of `dir` from `parent`; false when the
/// parent has none to give.
fn copy_cpuset(parent: &Path, dir: &Path) -> Result<bool, CgroupError> {
    let mut complete = true;
    for f in ["cpuset.cpus", "cpuset.mems"] {
        if fsutil::read(&dir.join(f))?.trim().is_empty() {
            let theirs = fsutil::read(&parent.join(f))?;
            let v = theirs.trim();
            if v.is_empty() {
                complete = false;
                continue;
            }
            fsutil::write(&dir.join(f), v)?;
        }
    }
    Ok(complete)
}

fn mkdir(dir: &Path) -> Result<(), CgroupError> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CgroupError::io("cgroup: mkdir", dir, e)),
    }
}

/// Creates `root/rel` in a cgroup2 tree, enabling in each ancestor's
/// `cgroup.subtree_control` the controllers it has but has not enabled yet.
fn create_v2(root: &Path, rel: &Path) -> Result<(), CgroupError> {
    let mut dir = root.to_path_buf();
    for c in rel.components() {
        enable_controllers(&dir)?;
        dir.push(c);
        mkdir(&dir)?;
    }
    Ok(())
}

fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let avail = fsutil::read_opt(&dir.join("cgroup.controllers"))?.unwrap_or_default();
    let enabled = fsutil::read_opt(&dir.join("cgroup.subtree_control"))?.unwrap_or_default();
    let missing: Vec<String> = avail
        .split_whitespace()
        .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let file = dir.join("cgroup.subtree_control");
    if fsutil::write_raw(&file, &missing.join(" ")).is_err() {
        // One refused controller fails the whole write: enable the others one by one
        // (as runc); a controller that stays off shows up when its file is written.
        for m in &missing {
            let _ = fsutil::write_raw(&file, m);
        }
    }
    Ok(())
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let procs = dir.join("cgroup.procs");
    let Some(text) = fsutil::read_opt(&procs)? else {
        return Ok(());
    };
    for l in text.lines() {
        let pid = l.trim().parse::<i32>().map_err(|_| CgroupError::Parse {
            path: procs.clone(),
            msg: format!("bad pid {l:?}"),
        })?;
        out.push(pid);
    }
    for child in child_dirs(dir)? {
        collect_pids(&child, out)?;
    }
    Ok(())
}

fn child_dirs(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CgroupError::io("cgroup: read", dir, e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| CgroupError::io("cgroup: read", dir, e))?;
        if ent.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(ent.path());
        }
    }
    Ok(out)
}

fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    // Usually a leaf: one rmdir, without listing the directory's control files
    // first (a readdir per hierarchy). Child cgroups make it fail (EBUSY): then
    // children first, deepest first.
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    for child in child_dirs(dir)? {
        remove_tree(&child)?;
    }
    rmdir_retry(dir)
}

fn rmdir_retry(dir: &Path) -> Result<(), CgroupError> {
    let mut delay = Duration::from_millis(10);
    let mut attempts = 0;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempts < 10 => {
                attempts += 1;
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(200));
            }
            Err(e) => return Err(CgroupError::io("cgroup: rmdir", dir, e)),
        }
    }
}

fn freeze_v1(dir: &Path) -> Result<(), CgroupError> {
    let state = dir.join("freezer.state");
    let deadline = Instant::now() + FREEZE_TIMEOUT;
    let mut i = 0u32;
    loop {
        if i % 50 == 49 {
            // New processes keep arriving: thaw briefly, then try again (runc).
            let _ = fsutil::write_raw(&state, "THAWED");
            std::thread::sleep(Duration::from_millis(10));
        }
        fsutil::write(&state, "FROZEN")?;
        let now = fsutil::read(&state)?;
        match now.trim() {
            "FROZEN" => return Ok(()),
            "FREEZING" => {}
            other => {
                return Err(CgroupError::State(format!(
                    "cgroup: {} reads {other:?} after writing FROZEN",
                    state.display()
                )))
            }
        }
        if Instant::now() > deadline {
            let _ = fsutil::write_raw(&state, "THAWED");
            return Err(CgroupError::State(format!(
                "cgroup: {} still FREEZING after {:?}; thawed again",
                state.display(),
                FREEZE_TIMEOUT
            )));
        }
        i += 1;
        std::thread::sleep(Duration::from_micros(if i < 10 { 100 } else { 1000 }));
    }
}

fn thaw_v1(dir: &Path) -> Result<(), CgroupError> {
    let state = dir.join("freezer.state");
    let deadline = Instant::now() + FREEZE_TIMEOUT;
    loop {
        fsutil::write(&state, "THAWED")?;
        if fsutil::read(&state)?.trim() == "THAWED" {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(CgroupError::State(format!(
                "cgroup: {} does not read THAWED after {:?}",
                state.display(),
                FREEZE_TIMEOUT
            )));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether a `cgroup.events` text says `frozen 1`.
pub(crate) fn events_frozen(events: &str) -> bool {
    events
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["frozen", "1"])
}

fn freeze_v2(dir: &Path) -> Result<(), CgroupError> {
    let freeze = dir.join("cgroup.freeze");
    fsutil::write(&freeze, "1")?;
    let events = dir.join("cgroup.events");
    let deadline = Instant::now() + FREEZE_TIMEOUT;
    let mut sleep = Duration::from_micros(100);
    loop {
        if events_frozen(&fsutil::read(&events)?) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = fsutil::write_raw(&freeze, "0");
            return Err(CgroupError::State(format!(
                "cgroup: {} does not report \"frozen 1\" after {:?}; thawed again",
                events.display(),
                FREEZE_TIMEOUT
            )));
        }
        std::thread::sleep(sleep);
        sleep = (sleep * 2).min(Duration::from_millis(10));
    }
}

/// Sub-cgroups for `exec --cgroup` (runc's `[controller[,controller]:]path`): one
/// path for every hierarchy, or paths per controller (v1). Paths are relative to
/// the container's cgroup and must stay inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubCgroups {
    all: Option<PathBuf>,
    per_controller: Vec<(String, PathBuf)>,
}

impl SubCgroups {
    /// Parse the `--cgroup` arguments (none: the container's own cgroup).
    pub fn parse(args: &[String]) -> Result<SubCgroups, CgroupError> {
        let mut out = SubCgroups::default();
        for a in args {
            let (ctrls, path) = match a.split_once(':') {
                Some((c, p)) if !p.contains(':') => (Some(c), p),
                Some(_) => {
                    return Err(CgroupError::Config(format!(
                        "--cgroup {a:?}: expected [CONTROLLER[,CONTROLLER]:]PATH"
                    )))
                }
                None => (None, a.as_str()),
            };
            let rel = inside(path).ok_or_else(|| {
                CgroupError::Config(format!(
                    "--cgroup {a:?}: {path:?} is not a sub-cgroup of the container's cgroup"
                ))
            })?;
            match ctrls {
                None if args.len() != 1 => {
                    return Err(CgroupError::Config(format!(
                        "--cgroup {a:?}: a path without CONTROLLER: must be the only --cgroup"
                    )))
                }
                None => out.all = Some(rel),
                Some(c) => {
                    for c in c.split(',') {
                        if c.is_empty() {
                            return Err(CgroupError::Config(format!(
                                "--cgroup {a:?}: empty controller name"
                            )));
                        }
                        out.per_controller.push((c.to_string(), rel.clone()));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether nothing was asked (the container's own cgroup).
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.per_controller.is_empty()
    }

    fn controllers(&self) -> impl Iterator<Item = &str> {
        self.per_controller.iter().map(|(c, _)| c.as_str())
    }

    fn for_hierarchy(&self, h: &Hierarchy) -> Option<&Path> {
        self.all.as_deref().or_else(|| {
            self.per_controller
                .iter()
                .find(|(c, _)| h.has(c))
                .map(|(_, p)| p.as_path())
        })
    }

    fn for_unified(&self) -> Option<&Path> {
        self.all.as_deref()
    }
}

/// `path` made relative and normalised, if it stays inside its base (".." may
/// not climb above it; "" and "." are the base itself).
fn inside(path: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.iter().collect())
}
#[cfg(test)]
mod tests {

    #[test]
    fn sub_cgroup_arguments_parse_as_runcs() {
        let p =
            |a: &[&str]| SubCgroups::parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&[]).unwrap(), SubCgroups::default());
        let s = p(&["a/b"]).unwrap();
        assert_eq!(s.all.as_deref(), Some(Path::new("a/b")));
        assert_eq!(
            p(&["/a/./b/../c"]).unwrap().all.as_deref(),
            Some(Path::new("a/c"))
        );
        let s = p(&["cpu,memory:x", "pids:y"]).unwrap();
        assert_eq!(s.per_controller.len(), 3);
        for bad in [
            &[".."][..],
            &["a/../.."],
            &["cpu:../x"],
            &["a", "b"],
            &["a:b:c"],
            &[":x"],
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert!(p(&[".."])
            .unwrap_err()
            .to_string()
            .contains("not a sub-cgroup"));
    }
    use super::*;

    /// Root only, on a machine with a cgroup2 tree: `set_device_program` twice leaves
    /// one program of ours (the second) and keeps a program that is not ours.
    #[test]
    fn device_program_is_replaced_and_foreign_ones_stay() {
        if crate::sys::geteuid() != 0 {
            eprintln!("skipped: needs root");
            return;
        }
        let Some(mountpoint) = Layout::detect()
            .ok()
            .and_then(|l| l.unified().map(Path::to_path_buf))
        else {
            eprintln!("skipped: no cgroup2 tree");
            return;
        };
        let rel = PathBuf::from(format!("fastrun-unit-devprog-{}", std::process::id()));
        struct Rm(PathBuf);
        impl Drop for Rm {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir(&self.0);
            }
        }
        let dir = Rm(mountpoint.join(&rel));
        std::fs::create_dir(&dir.0).unwrap();
        let cg = Cgroup::new(
            Layout::V2 {
                mountpoint,
                controllers: Vec::new(),
            },
            &rel,
        );
        let ids = || {
            let f = std::fs::File::open(&dir.0).unwrap();
            bpf::prog_query(f.as_fd()).unwrap()
        };
        let mut rules = vec![resources::DeviceRule::default()];
        rules.extend(resources::default_device_rules());
        let p1 = cg.device_program(&rules).unwrap().unwrap();
        cg.set_device_program(&p1).unwrap();
        let first = ids();
        assert_eq!(first.len(), 1);

        // a program that is not ours (same code, other name)
        let f = std::fs::File::open(&dir.0).unwrap();
        let foreign = bpf::prog_load(&p1, "someone_else", &mut []).unwrap();
        bpf::prog_attach(f.as_fd(), foreign.as_fd(), bpf::F_ALLOW_MULTI).unwrap();

        rules.pop();
        let p2 = cg.device_program(&rules).unwrap().unwrap();
        cg.set_device_program(&p2).unwrap();
        let after = ids();
        assert_eq!(after.len(), 2, "{after:?}");
        assert!(!after.contains(&first[0]), "old program still attached");
        let names: Vec<Vec<u8>> = after
            .iter()
            .map(|id| bpf::prog_name(bpf::prog_get_fd_by_id(*id).unwrap().as_fd()).unwrap())
            .collect();
        assert!(names.contains(&b"fastrun_dev".to_vec()), "{names:?}");
        assert!(names.contains(&b"someone_else".to_vec()), "{names:?}");

        // hybrid and v1 layouts get no program
        let v1 = Cgroup::new(hybrid(), "x");
        assert!(v1.device_program(&rules).unwrap().is_none());
    }

    #[test]
    fn frozen_event_parsing() {
        assert!(events_frozen("populated 1\nfrozen 1\n"));
        assert!(!events_frozen("populated 1\nfrozen 0\n"));
        assert!(!events_frozen("populated 0\n"));
    }

    fn hybrid() -> Layout {
        let h = |c: &str| Hierarchy {
            controllers: vec![c.to_string()],
            mountpoint: PathBuf::from("/sys/fs/cgroup").join(c.trim_start_matches("name=")),
        };
        Layout::Hybrid {
            hierarchies: vec![
                h("memory"),
                h("pids"),
                h("freezer"),
                h("name=systemd"),
                h("name=other"),
            ],
            unified: "/sys/fs/cgroup/unified".into(),
            unified_controllers: vec!["hugetlb".into()],
        }
    }

    #[test]
    fn dirs_and_primary() {
        let cg = Cgroup::new(hybrid(), "fastrun/x");
        assert_eq!(
            cg.v1_dirs(),
            [
                "/sys/fs/cgroup/memory/fastrun/x",
                "/sys/fs/cgroup/pids/fastrun/x",
                "/sys/fs/cgroup/freezer/fastrun/x",
                "/sys/fs/cgroup/systemd/fastrun/x"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            cg.v2_dir().unwrap(),
            Path::new("/sys/fs/cgroup/unified/fastrun/x")
        );
        assert_eq!(
            cg.primary_dir().unwrap(),
            Path::new("/sys/fs/cgroup/freezer/fastrun/x")
        );
        assert!(Cgroup::new(
            Layout::V1 {
                hierarchies: vec![]
            },
            "x"
        )
        .open_v2_dir()
        .is_err());
        let v2 = Cgroup::new(
            Layout::V2 {
                mountpoint: "/sys/fs/cgroup".into(),
                controllers: vec![],
            },
            "a/b",
        );
        assert!(v2.v1_dirs().is_empty());
        assert_eq!(v2.primary_dir().unwrap(), Path::new("/sys/fs/cgroup/a/b"));
    }

    #[test]
    fn write_to_unmounted_controller_is_clear() {
        let cg = Cgroup::new(hybrid(), "fastrun/x");
        let res = Resources {
            network: Some(resources::Network {
                class_id: Some(7),
                priorities: vec![],
            }),
            ..Default::default()
        };
        let w = resources::writes(&res, &cg.probe(&res)).unwrap();
        let e = cg.apply(&w).unwrap_err().to_string();
        assert_eq!(
            e,
            "cgroup: cannot set net_cls.classid=7: the net_cls controller is not mounted on \
             this machine"
        );
    }
}
