//! Structured configs (built from an `Arbitrary` generator, so most of them pass
//! validation) that `spec::load` accepts are turned into a plan with
//! `plan::build`, and the plan's invariants are checked:
//! - every mount destination, device path, masked/read-only path, link and the
//!   console is a clean in-root path: absolute display form, no `.`, `..` or empty
//!   component, a relative `rel` that cannot climb out of the root, prefixes and
//!   names consistent with it, and equal to the lexical resolution of the config's
//!   path; devices stay under /dev; only the allowed binds go below /proc;
//! - namespaces: only CLONE_NEW* bits, no type both created and joined, no type
//!   joined twice, the user namespace joined first;
//! - capability masks within bits 0..=last_cap; rlimits soft <= hard;
//! - sizes bounded by the input (one plan entry per config entry, plus the fixed
//!   defaults; the cgroup mount expands to one bind per hierarchy).
#![no_main]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fastrun_runtime::plan::{self, CgroupView, InRootPath, MountKind, Plan, PlanInput};
use fastrun_runtime::spec::{self, Config, CAPABILITIES};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

// ---- The generator -------------------------------------------------------------

/// A word from a small list of meaningful names, or free text.
#[derive(Arbitrary, Debug)]
enum Text {
    Word(u8),
    Raw(String),
}

const WORDS: &[&str] = &[
    "proc",
    "sys",
    "dev",
    "etc",
    "tmp",
    "run",
    "shm",
    "pts",
    "mqueue",
    "console",
    "null",
    "cgroup",
    "fs",
    "cpuinfo",
    "net",
    "kernel",
    "escape",
    "abs",
    "src-dir",
    "src-file",
    "rootfs",
    "a",
    "b",
    "x:y",
    "sh",
    "PATH=/bin:/sbin",
    "PATH=",
    "PATH=::/x",
    "HOME=/root",
];

impl Text {
    fn get(&self) -> String {
        match self {
            Text::Word(i) => WORDS[*i as usize % WORDS.len()].to_string(),
            Text::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Comp {
    Word(u8),
    DotDot,
    Dot,
    Empty,
    Raw(String),
}

/// A path: absolute or not, components that may be `..`, `.`, empty, the names of
/// symlinks in the test rootfs (`escape` -> `../../..`, `abs` -> `/`), or anything.
#[derive(Arbitrary, Debug)]
struct GPath {
    relative: bool,
    comps: Vec<Comp>,
    trailing_slash: bool,
}

impl GPath {
    fn get(&self) -> String {
        let mut s = String::new();
        for (i, c) in self.comps.iter().enumerate() {
            if i > 0 || !self.relative {
                s.push('/');
            }
            match c {
                Comp::Word(w) => s.push_str(WORDS[*w as usize % WORDS.len()]),
                Comp::DotDot => s.push_str(".."),
                Comp::Dot => s.push('.'),
                Comp::Empty => {}
                Comp::Raw(r) => s.push_str(r),
            }
        }
        if self.trailing_slash || s.is_empty() {
            s.push('/');
        }
        s
    }
}

#[derive(Arbitrary, Debug)]
enum GOpt {
    Known(u8),
    KeyValue(u8, Text),
    Raw(String),
}

const OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "relatime",
    "norelatime",
    "noatime",
    "atime",
    "strictatime",
    "nostrictatime",
    "nodiratime",
    "diratime",
    "nosymfollow",
    "symfollow",
    "rro",
    "rrw",
    "rnosuid",
    "rnodev",
    "rnoexec",
    "rnoatime",
    "bind",
    "rbind",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
    "defaults",
    "async",
    "sync",
    "dirsync",
    "mand",
    "nomand",
    "lazytime",
    "silent",
    "loud",
    "iversion",
    "remount",
    "tmpcopyup",
    "idmap",
    "ridmap",
    "newinstance",
];
const OPTION_KEYS: &[&str] = &[
    "mode",
    "size",
    "gid",
    "uid",
    "ptmxmode",
    "nr_inodes",
    "lowerdir",
];

impl GOpt {
    fn get(&self) -> String {
        match self {
            GOpt::Known(i) => OPTIONS[*i as usize % OPTIONS.len()].to_string(),
            GOpt::KeyValue(k, v) => {
                format!(
                    "{}={}",
                    OPTION_KEYS[*k as usize % OPTION_KEYS.len()],
                    v.get()
                )
            }
            GOpt::Raw(s) => s.clone(),
        }
    }
}

const FS_TYPES: &[&str] = &[
    "bind", "tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "overlay", "",
];

#[derive(Arbitrary, Debug)]
enum GSource {
    /// A directory of the bundle (relative).
    Dir,
    /// A regular file of the bundle (relative).
    File,
    /// An absolute host path that exists.
    HostDir,
    Missing,
    Empty,
    Path(GPath),
}

#[derive(Arbitrary, Debug)]
struct IdMap(u32, u32, u32);

impl IdMap {
    fn json(&self) -> Value {
        json!({"containerID": self.0, "hostID": self.1, "size": self.2})
    }
}

#[derive(Arbitrary, Debug)]
struct GMount {
    dest: GPath,
    fs_type: Result<u8, String>,
    source: GSource,
    options: Vec<GOpt>,
    maps: Option<(Vec<IdMap>, Vec<IdMap>)>,
}

#[derive(Arbitrary, Debug)]
struct GDevice {
    typ: u8,
    path: GPath,
    major: Option<i64>,
    minor: Option<i64>,
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
}

const NAMESPACES: &[&str] = &[
    "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", "net", "",
];

#[derive(Arbitrary, Debug)]
enum GCap {
    Known(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Gen {
    root: u8,
    readonly: bool,
    args: Vec<Text>,
    env: Vec<Text>,
    cwd: GPath,
    terminal: bool,
    caps: Option<[Vec<GCap>; 5]>,
    rlimits: Vec<(u8, u64, u64)>,
    hostname: Option<Text>,
    mounts: Vec<GMount>,
    /// A new mount namespace first (without one the plan has no file system part).
    mount_ns: bool,
    namespaces: Vec<(u8, Option<GPath>)>,
    uid_maps: Vec<IdMap>,
    gid_maps: Vec<IdMap>,
    devices: Vec<GDevice>,
    masked: Vec<GPath>,
    readonly_paths: Vec<GPath>,
    sysctl: Vec<(Text, Text)>,
    time_offsets: Vec<(u8, i64, u32)>,
    propagation: Option<u8>,
    // PlanInput
    last_cap: u8,
    cgroups: u8,
    no_pivot: bool,
}

const RLIMITS: &[&str] = &[
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_CORE",
    "RLIMIT_STACK",
    "RLIMIT_X",
];
const CLOCKS: &[&str] = &["monotonic", "boottime", "realtime"];
const PROPAGATIONS: &[&str] = &[
    "private",
    "rprivate",
    "slave",
    "rslave",
    "shared",
    "rshared",
    "unbindable",
    "runbindable",
    "",
    "bogus",
];

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[i as usize % list.len()]
}

impl Gen {
    fn config(&self, bundle: &Path) -> Value {
        let root = match self.root % 5 {
            0 => "rootfs".to_string(),
            1 => "./rootfs/".to_string(),
            2 => bundle.join("rootfs").display().to_string(),
            3 => "src-file".to_string(), // not a directory
            _ => "missing".to_string(),
        };
        let mut process = json!({
            "terminal": self.terminal,
            "user": {"uid": 0, "gid": 0},
            "args": self.args.iter().map(Text::get).collect::<Vec<_>>(),
            "env": self.env.iter().map(Text::get).collect::<Vec<_>>(),
            "cwd": self.cwd.get(),
            "rlimits": self.rlimits.iter().map(|(t, soft, hard)| {
                json!({"type": pick(RLIMITS, *t), "soft": soft, "hard": hard})
            }).collect::<Vec<_>>(),
        });
        if let Some(sets) = &self.caps {
            let names = |set: &Vec<GCap>| -> Vec<String> {
                set.iter()
                    .map(|c| match c {
                        GCap::Known(i) => CAPABILITIES[*i as usize % CAPABILITIES.len()].into(),
                        GCap::Raw(s) => s.clone(),
                    })
                    .collect()
            };
            process["capabilities"] = json!({
                "bounding": names(&sets[0]), "effective": names(&sets[1]),
                "inheritable": names(&sets[2]), "permitted": names(&sets[3]),
                "ambient": names(&sets[4]),
            });
        }
        let mounts: Vec<Value> = self
            .mounts
            .iter()
            .map(|m| {
                let source = match &m.source {
                    GSource::Dir => "src-dir".to_string(),
                    GSource::File => "src-file".to_string(),
                    GSource::HostDir => bundle.display().to_string(),
                    GSource::Missing => "/nonexistent/fastrun-fuzz".to_string(),
                    GSource::Empty => String::new(),
                    GSource::Path(p) => p.get(),
                };
                let typ = match &m.fs_type {
                    Ok(i) => pick(FS_TYPES, *i).to_string(),
                    Err(s) => s.clone(),
                };
                let mut v = json!({
                    "destination": m.dest.get(),
                    "type": typ,
                    "source": source,
                    "options": m.options.iter().map(GOpt::get).collect::<Vec<_>>(),
                });
                if let Some((u, g)) = &m.maps {
                    v["uidMappings"] = u.iter().map(IdMap::json).collect();
                    v["gidMappings"] = g.iter().map(IdMap::json).collect();
                }
                v
            })
            .collect();
        let namespaces: Vec<Value> = self
            .mount_ns
            .then(|| json!({"type": "mount"}))
            .into_iter()
            .chain(self.namespaces.iter().map(|(t, p)| match p {
                None => json!({"type": pick(NAMESPACES, *t)}),
                Some(p) => json!({"type": pick(NAMESPACES, *t), "path": p.get()}),
            }))
            .collect();
        let devices: Vec<Value> = self
            .devices
            .iter()
            .map(|d| {
                json!({
                    "type": pick(&["c", "b", "u", "p", "x"], d.typ),
                    "path": d.path.get(),
                    "major": d.major, "minor": d.minor, "fileMode": d.mode,
                    "uid": d.uid, "gid": d.gid,
                })
            })
            .collect();
        let sysctl: serde_json::Map<String, Value> = self
            .sysctl
            .iter()
            .map(|(k, v)| (k.get(), Value::String(v.get())))
            .collect();
        let time_offsets: serde_json::Map<String, Value> = self
            .time_offsets
            .iter()
            .map(|(c, s, n)| {
                (
                    pick(CLOCKS, *c).to_string(),
                    json!({"secs": s, "nanosecs": n}),
                )
            })
            .collect();
        let mut linux = json!({
            "namespaces": namespaces,
            "uidMappings": self.uid_maps.iter().map(IdMap::json).collect::<Vec<_>>(),
            "gidMappings": self.gid_maps.iter().map(IdMap::json).collect::<Vec<_>>(),
            "devices": devices,
            "maskedPaths": self.masked.iter().map(GPath::get).collect::<Vec<_>>(),
            "readonlyPaths": self.readonly_paths.iter().map(GPath::get).collect::<Vec<_>>(),
            "sysctl": sysctl,
            "timeOffsets": time_offsets,
        });
        if let Some(p) = self.propagation {
            linux["rootfsPropagation"] = json!(pick(PROPAGATIONS, p));
        }
        let mut config = json!({
            "ociVersion": "1.2.0",
            "root": {"path": root, "readonly": self.readonly},
            "process": process,
            "mounts": mounts,
            "linux": linux,
        });
        if let Some(h) = &self.hostname {
            config["hostname"] = json!(h.get());
        }
        config
    }

    fn plan_input(&self, bundle: &Path) -> PlanInput {
        PlanInput {
            bundle: bundle.to_path_buf(),
            no_pivot: self.no_pivot,
            no_new_keyring: false,
            preserve_fds: 0,
            cgroups: match self.cgroups % 3 {
                0 => CgroupView::None,
                1 => CgroupView::V2 {
                    path: "/sys/fs/cgroup/fastrun/fuzz".into(),
                },
                _ => CgroupView::V1 {
                    hierarchies: vec![
                        ("memory".into(), "/sys/fs/cgroup/memory/fastrun/fuzz".into()),
                        (
                            "cpu,cpuacct".into(),
                            "/sys/fs/cgroup/cpu,cpuacct/fastrun/fuzz".into(),
                        ),
                    ],
                },
            },
            last_cap: u32::from(self.last_cap % 64),
            // No seccomp cache: nothing is written outside the bundle.
            ..PlanInput::default()
        }
    }
}

// ---- The bundle ----------------------------------------------------------------

/// One bundle directory per fuzzing process, made once and removed at exit:
/// `rootfs/` (with `escape -> ../../..` and `abs -> /` symlinks), `src-dir/`,
/// `src-file`.
fn bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let name = format!("fastrun-fuzz-config-plan-{}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        extern "C" fn cleanup() {
            if let Some(d) = BUNDLE.get() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
        // SAFETY: registering a plain function to run at exit.
        unsafe { libc::atexit(cleanup) };
        std::fs::create_dir_all(dir.join("rootfs/etc")).expect("bundle");
        std::fs::create_dir_all(dir.join("src-dir")).expect("bundle");
        std::fs::write(dir.join("src-file"), b"x").expect("bundle");
        for (name, target) in [("escape", "../../.."), ("abs", "/")] {
            let _ = std::os::unix::fs::symlink(target, dir.join("rootfs").join(name));
        }
        dir
    })
}

// ---- The invariants ------------------------------------------------------------

/// Lexical resolution inside a root (the reference for `InRootPath`).
fn resolve(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn check_path(p: &InRootPath, given: Option<&str>, what: &str) {
    assert!(p.display.starts_with('/'), "{what}: {p:?}");
    let comps: Vec<&str> = if p.display == "/" {
        Vec::new()
    } else {
        p.display[1..].split('/').collect()
    };
    for c in &comps {
        assert!(
            !matches!(*c, "" | "." | ".."),
            "{what}: component {c:?} in {p:?}"
        );
    }
    let rel = p.rel.to_str().expect("utf-8");
    assert!(!rel.starts_with('/'), "{what}: absolute rel {p:?}");
    if comps.is_empty() {
        assert_eq!(rel, ".", "{what}");
        assert!(p.is_root());
    } else {
        assert_eq!(rel, &p.display[1..], "{what}");
        assert!(rel.split('/').all(|c| c != ".."), "{what}: escapes {p:?}");
    }
    assert_eq!(p.names.len(), comps.len(), "{what}");
    assert_eq!(p.prefixes.len(), comps.len(), "{what}");
    for (i, (name, prefix)) in p.names.iter().zip(&p.prefixes).enumerate() {
        assert_eq!(name.to_str().unwrap(), comps[i], "{what}");
        assert_eq!(prefix.to_str().unwrap(), comps[..=i].join("/"), "{what}");
    }
    if let Some(given) = given {
        assert_eq!(p.display, resolve(given), "{what}: {given:?}");
        // Sizes: never longer than what was given (plus the leading slash).
        assert!(p.display.len() <= given.len() + 1, "{what}");
    }
}

fn check(config: &Config<'_>, input: &PlanInput, plan: &Plan) {
    let linux = config.linux.as_ref();
    // Namespaces.
    let all_ns = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWCGROUP
        | libc::CLONE_NEWTIME;
    let ns = &plan.ns;
    assert_eq!(ns.clone_flags & !(all_ns as u64), 0, "{ns:?}");
    assert_eq!(ns.unshare_flags & !all_ns, 0, "{ns:?}");
    assert_eq!(ns.clone_flags & ns.unshare_flags as u64, 0, "{ns:?}");
    let mut joined = HashSet::new();
    for j in &ns.join {
        assert_eq!(j.flag.count_ones(), 1, "{ns:?}");
        assert!(joined.insert(j.flag), "joined twice: {ns:?}");
        assert_eq!(
            ns.clone_flags & j.flag as u64,
            0,
            "created and joined: {ns:?}"
        );
        assert_eq!(ns.unshare_flags & j.flag, 0, "unshared and joined: {ns:?}");
    }
    if let Some(i) = ns.join.iter().position(|j| j.flag == libc::CLONE_NEWUSER) {
        assert_eq!(i, 0, "user namespace joined first: {ns:?}");
    }
    let n_ns = linux.map_or(0, |l| l.namespaces.len());
    assert!(
        ns.join.len() + (ns.clone_flags | ns.unshare_flags as u64).count_ones() as usize <= n_ns
    );

    // Capabilities and rlimits.
    let p = &plan.process;
    let allowed = if input.last_cap >= 63 {
        u64::MAX
    } else {
        (1u64 << (input.last_cap + 1)) - 1
    };
    if let Some(c) = &p.caps {
        for m in [
            c.bounding,
            c.effective,
            c.permitted,
            c.inheritable,
            c.ambient,
        ] {
            assert_eq!(
                m & !allowed,
                0,
                "caps beyond last_cap {}: {c:?}",
                input.last_cap
            );
        }
    }
    let process = config.process.as_ref().unwrap();
    assert_eq!(p.rlimits.len(), process.rlimits.len());
    assert!(
        p.rlimits.iter().all(|r| r.soft <= r.hard),
        "{:?}",
        p.rlimits
    );
    assert_eq!(p.argv.len(), process.args.len());
    // One entry per name (as runc), plus HOME from passwd when the env has none.
    let names: HashSet<&str> = process
        .env
        .iter()
        .map(|e| e.as_str().split_once('=').map_or(e.as_str(), |(n, _)| n))
        .collect();
    let home = usize::from(plan::home::needs_home(&process.env));
    assert_eq!(p.envp.len(), names.len() + home);
    assert_eq!(p.trampoline_argv.len(), p.exec_candidates.len());
    // No candidate only for a bare name without a PATH to look it up in (runc's
    // rule: "executable file not found in $PATH" at start).
    let arg0 = process.args[0].as_str();
    let path = process
        .env
        .iter()
        .rev()
        .find_map(|e| e.as_str().strip_prefix("PATH="))
        .unwrap_or("");
    assert!(
        !p.exec_candidates.is_empty()
            || (!arg0.contains('/') && path.split(':').all(str::is_empty)),
        "{arg0:?} PATH={path:?}"
    );

    // Sizes.
    assert_eq!(plan.sysctls.len(), linux.map_or(0, |l| l.sysctl.len()));

    // The file system.
    let Some(r) = &plan.rootfs else {
        assert_eq!(ns.clone_flags & libc::CLONE_NEWNS as u64, 0);
        return;
    };
    let hierarchies = match &input.cgroups {
        CgroupView::V1 { hierarchies } => hierarchies.len(),
        _ => 0,
    };
    assert!(r.mounts.len() <= config.mounts.len() * (2 + hierarchies));
    for m in &r.mounts {
        let given = config
            .mounts
            .get(
                m.config_index
                    .expect("every mount of a plan comes from the config"),
            )
            .map(|c| c.destination.as_str());
        let cgroup_child = matches!(m.type_name.as_str(), "cgroup") && hierarchies > 0;
        check_path(&m.dest, if cgroup_child { None } else { given }, "mount");
        if let Some(given) = given {
            if cgroup_child {
                assert!(m.dest.display.starts_with(&resolve(given)));
            }
        }
        let d = &m.dest.display;
        // Below /proc only runc's few lxcfs-style destinations, with a mount of any
        // type (one that cannot go on a file fails when it is made, as in runc;
        // fastrun refuses every other destination there, runc only binds).
        if d.starts_with("/proc/") {
            assert!(spec::PROC_BIND_ALLOWED.contains(&d.as_str()), "{m:?}");
        }
        // /proc is a fresh procfs, or (as in runc: rootless `--pid host`) a bind
        // whose source the spawn checks is a procfs on the opened tree; nothing
        // else binds with that check, and nothing else lands on /proc.
        match &m.kind {
            MountKind::Fs { fstype, .. } if d == "/proc" => {
                assert_eq!(fstype.to_bytes(), b"proc", "{m:?}")
            }
            MountKind::Bind { procfs_only, .. } => assert_eq!(*procfs_only, d == "/proc", "{m:?}"),
            _ => assert_ne!(d, "/proc", "{m:?}"),
        }
        assert!([
            0,
            libc::MS_PRIVATE,
            libc::MS_SHARED,
            libc::MS_SLAVE,
            libc::MS_UNBINDABLE
        ]
        .contains(&m.propagation));
        if let MountKind::Bind {
            idmap: Some((i, _)),
            ..
        } = m.kind
        {
            assert!(i < r.idmaps.len());
        }
    }
    let config_devices = linux.map_or(&[][..], |l| &l.devices[..]);
    assert!(r.devices.len() <= 6 + config_devices.len());
    for d in &r.devices {
        check_path(&d.path, None, "device");
        // Anywhere inside the root (runc creates devices outside /dev too), never
        // the root itself.
        assert_ne!(d.path.rel.as_bytes(), b".", "{d:?}");
    }
    for l in &r.links {
        check_path(&l.path, None, "link");
    }
    if let Some(c) = &r.console {
        check_path(c, Some("/dev/console"), "console");
    }
    let masked = linux.map_or(&[][..], |l| &l.masked_paths[..]);
    assert_eq!(r.masked.len(), masked.len());
    for (p, given) in r.masked.iter().zip(masked) {
        check_path(p, Some(given), "masked");
    }
    let ro = linux.map_or(&[][..], |l| &l.readonly_paths[..]);
    assert_eq!(r.readonly_paths.len(), ro.len());
    for (p, given) in r.readonly_paths.iter().zip(ro) {
        check_path(p, Some(given), "readonly");
    }
}

fuzz_target!(|g: Gen| {
    let bundle = bundle();
    let mut json = serde_json::to_vec(&g.config(bundle)).expect("serializes");
    let Ok(config) = spec::load(&mut json) else {
        return;
    };
    let input = g.plan_input(bundle);
    match plan::build(&config, &input) {
        Ok(plan) => check(&config, &input, &plan),
        // The plan checks only what depends on the host: a rule of the config
        // alone that spec::validate let through is a bug in one of the two.
        Err(e) => assert!(
            !e.to_string().contains("the config was not validated"),
            "validate and plan disagree: {e}"
        ),
    }
});
