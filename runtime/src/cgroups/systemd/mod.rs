//! The systemd cgroup driver (`--systemd-cgroup`), as runc's: the container's cgroup
//! is a transient systemd unit.
//!
//! - `linux.cgroupsPath` is `slice:prefix:name`: the unit is `prefix-name.scope` in
//!   `slice` (default `system.slice`; rootless `user.slice` of the user's manager);
//!   a name ending in `.slice` makes a slice unit (`Wants=` its parent) instead.
//!   Without a path: `system.slice:fastrun:<id>`. The cgroup is the slice's path
//!   (`a-b.slice` → `/a.slice/a-b.slice`) joined with the unit name.
//! - `create`: the init is cloned in the scope's directory made beforehand (as
//!   root, when the slice's exists: [`premade_scope_dir`]), else in the runtime's
//!   cgroup, and waits; systemd makes
//!   the unit with `StartTransientUnit` (the init's pid in `PIDs`, `Delegate=yes`,
//!   the limits systemd expresses as unit properties, see [`properties`]) and moves
//!   the init into it; the runtime waits for the start job's `JobRemoved` signal
//!   (30 s at most, as runc), then writes what systemd cannot express directly to
//!   the unit's cgroup and attaches the device program, as the cgroupfs driver.
//! - `delete`: the processes are killed through the cgroup, then `StopUnit` (waiting
//!   for its job) and `ResetFailedUnit`, then any cgroup directory left is removed.
//! - `update`: `SetUnitProperties` (runtime) for what systemd expresses, file writes
//!   for the rest. Everything else (`pause`, `ps`, `kill --all`, `events`) works on
//!   the unit's cgroup directly, as with the cgroupfs driver.
//! - `org.systemd.property.<Name>` annotations become unit properties (values in
//!   GVariant text form, `…Sec` names converted to `…USec`, as runc).
//!
//! The D-Bus client is [`dbus`] (hand-written; `README.md` has the measurements).

pub mod dbus;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use self::dbus::{Conn, DbusError, Value, Writer};
use super::resources::{blkio_weight_to_io_weight, shares_to_weight, swap_to_v2};
use super::{CgroupError, Resources};

/// How long a start or stop job may take (runc's bound).
pub const JOB_TIMEOUT: Duration = Duration::from_secs(30);

/// systemd's private socket of the system manager (root: peer-to-peer, no bus).
pub const SYSTEM_PRIVATE: &str = "/run/systemd/private";
/// The system bus (when the private socket is not reachable).
pub const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";

/// The prefix of the annotations passed through as unit properties.
pub const PROPERTY_ANNOTATION: &str = "org.systemd.property.";

/// A unit made for a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// `prefix-name.scope`, or `name.slice`.
    pub name: String,
    /// The slice it goes in (a scope's `Slice=`, a slice's `Wants=`).
    pub slice: String,
    /// Its cgroup, relative to the cgroup2 root (`system.slice/x-c1.scope`).
    pub cgroup: PathBuf,
}

impl Unit {
    pub fn is_slice(&self) -> bool {
        self.name.ends_with(".slice")
    }
}

/// The unit for `linux.cgroupsPath` (`slice:prefix:name`).
pub fn unit_for(cgroups_path: Option<&str>, id: &str, rootless: bool) -> Result<Unit, CgroupError> {
    let default;
    let p = match cgroups_path.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => {
            default = format!(":fastrun:{id}");
            &default
        }
    };
    let (slice, prefix, name) = super::path::parse_systemd_path(p)?;
    let bad = |what: &str, v: &str| {
        CgroupError::Config(format!(
            "linux.cgroupsPath: {p:?}: invalid systemd {what} {v:?}"
        ))
    };
    let ok_chars = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
    };
    if !ok_chars(name) || !ok_chars(prefix) || name.contains(':') {
        return Err(bad("unit name", name));
    }
    let slice = match slice {
        "" if rootless => "user.slice",
        "" => "system.slice",
        s => s,
    };
    let slice_dir = expand_slice(slice).ok_or_else(|| bad("slice", slice))?;
    let unit = if name.ends_with(".slice") {
        // a slice (for a pod): its name must fit under its parent
        expand_slice(name).ok_or_else(|| bad("slice", name))?;
        name.to_string()
    } else {
        format!("{prefix}-{name}.scope")
    };
    Ok(Unit {
        cgroup: slice_dir.join(&unit),
        name: unit,
        slice: slice.to_string(),
    })
}

/// systemd's slice path: `a-b.slice` → `a.slice/a-b.slice`; `-.slice` → the root.
/// `None` for a name that is not a valid slice.
pub fn expand_slice(slice: &str) -> Option<PathBuf> {
    let base = slice.strip_suffix(".slice")?;
    if base.is_empty() || slice.contains('/') {
        return None;
    }
    let mut out = PathBuf::new();
    if base == "-" {
        return Some(out);
    }
    let mut prefix = String::new();
    for part in base.split('-') {
        if part.is_empty() {
            return None;
        }
        out.push(format!("{prefix}{part}.slice"));
        prefix.push_str(part);
        prefix.push('-');
    }
    Some(out)
}

/// Unit properties.
pub type Properties = Vec<(String, Value)>;

/// A scope's directory made before its unit (as root, when its slice's directory
/// exists already; systemd adopts it when it makes the unit): the init is born in
/// it (`CLONE_INTO_CGROUP`: never outside it, and no migration of its own) and
/// writes `0` to its `cgroup.procs` first thing (`spawn::child::prime_migration`).
/// systemd still moves the init there (a scope needs `PIDs`), a no-op that waits
/// for an RCU grace period unless a migration ran just before; the init's own
/// no-op starts that grace period at the clone, while the runtime asks systemd
/// for the unit. Both writes name the same cgroup, so their order does not
/// matter. Returns the directory (for the clone) and its `cgroup.procs`
/// (write-only), or None to leave everything to systemd.
pub fn premade_scope_dir(
    unit: &Unit,
    cg: &super::Cgroup,
) -> Option<(std::os::fd::OwnedFd, std::fs::File)> {
    let dir = cg.v2_dir()?;
    if unit.is_slice() || !dir.parent().is_some_and(|p| p.is_dir()) {
        return None;
    }
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    let fd = cg.open_v2_dir().ok()?;
    let procs = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))
        .ok()?;
    Some((fd, procs))
}

/// The limits systemd expresses as unit properties (as runc's v2 driver), and the
/// rest of `res` (written to the cgroup files directly).
pub fn properties(res: &Resources) -> Result<(Properties, Resources), CgroupError> {
    let mut props = Properties::new();
    let mut rest = res.clone();
    if !res.devices.is_empty() {
        let (p, exact) = device_replay(&res.devices);
        props.extend(p);
        if exact {
            // systemd's program enforces exactly these rules: the runtime loads no
            // program of its own (runc does; ~1 ms of bpf(BPF_PROG_LOAD) saved)
            rest.devices.clear();
        }
    }
    let inf = u64::MAX;
    let n = |v: i64| if v < 0 { inf } else { v as u64 };
    if let Some(m) = rest.memory.as_mut() {
        if let Some(l) = m.limit.filter(|&l| l != 0) {
            props.push(("MemoryMax".into(), Value::U64(n(l))));
        }
        if let Some(r) = m.reservation.filter(|&r| r != 0) {
            props.push(("MemoryLow".into(), Value::U64(n(r))));
        }
        let limit = m.limit.unwrap_or(0);
        match swap_to_v2(m.swap.unwrap_or(0), limit)? {
            0 => {}
            s => props.push(("MemorySwapMax".into(), Value::U64(n(s)))),
        }
        m.limit = None;
        m.reservation = None;
        m.swap = None;
    }
    if let Some(c) = rest.cpu.as_mut() {
        if let Some(w) = c.shares.map(shares_to_weight).filter(|&w| w != 0) {
            props.push(("CPUWeight".into(), Value::U64(w)));
        }
        let quota = c.quota.unwrap_or(0);
        let period = c.period.unwrap_or(0);
        cpu_quota(&mut props, quota, period);
        if let Some(cpus) = c.cpus.as_deref().filter(|s| !s.is_empty()) {
            props.push(("AllowedCPUs".into(), Value::Bytes(list_to_bits(cpus)?)));
        }
        if let Some(mems) = c.mems.as_deref().filter(|s| !s.is_empty()) {
            props.push((
                "AllowedMemoryNodes".into(),
                Value::Bytes(list_to_bits(mems)?),
            ));
        }
        c.shares = None;
        c.quota = None;
        c.period = None;
        c.cpus = None;
        c.mems = None;
    }
    if let Some(p) = rest.pids.take() {
        props.push((
            "TasksMax".into(),
            Value::U64(if p.limit > 0 { p.limit as u64 } else { inf }),
        ));
    }
    if let Some(b) = rest.block_io.as_mut() {
        if let Some(w) = b.weight.map(blkio_weight_to_io_weight).filter(|&w| w != 0) {
            props.push(("IOWeight".into(), Value::U64(w)));
        }
        b.weight = None;
    }
    // unified keys systemd knows (as runc); the others are written
    let unified = std::mem::take(&mut rest.unified);
    for (k, v) in unified {
        let v = v.trim();
        let num = |k: &str| -> Result<u64, CgroupError> {
            if v == "max" {
                return Ok(inf);
            }
            v.parse().map_err(|_| {
                CgroupError::Config(format!(
                    "linux.resources.unified[{k:?}]: invalid value {v:?}"
                ))
            })
        };
        let name = match k.as_str() {
            "memory.high" => "MemoryHigh",
            "memory.low" => "MemoryLow",
            "memory.min" => "MemoryMin",
            "memory.max" => "MemoryMax",
            "memory.swap.max" => "MemorySwapMax",
            "pids.max" => "TasksMax",
            "cpu.weight" => "CPUWeight",
            "cpu.max" => {
                let mut f = v.split_whitespace();
                let q = match f.next() {
                    Some("max") => 0,
                    Some(q) => q.parse().map_err(|_| {
                        CgroupError::Config(format!(
                            "linux.resources.unified[\"cpu.max\"]: invalid value {v:?}"
                        ))
                    })?,
                    None => 0,
                };
                let per = f.next().and_then(|p| p.parse().ok()).unwrap_or(100_000);
                cpu_quota(&mut props, q, per);
                continue;
            }
            "cpuset.cpus" | "cpuset.mems" => {
                let name = if k == "cpuset.cpus" {
                    "AllowedCPUs"
                } else {
                    "AllowedMemoryNodes"
                };
                props.push((name.into(), Value::Bytes(list_to_bits(v)?)));
                continue;
            }
            _ => {
                rest.unified.insert(k, v.to_string());
                continue;
            }
        };
        let mut val = num(&k)?;
        if name == "TasksMax" && val == 0 {
            val = 1; // systemd refuses 0 (as runc)
        }
        props.push((name.into(), Value::U64(val)));
    }
    Ok((props, rest))
}

/// The device rules as `DevicePolicy`/`DeviceAllow` (as runc's): rules are replayed
/// in order as the v1 controller would, from deny-all as runc's rule emulator starts
/// (rules without a type-`a` rule first, as runc's rootless spec gives, are an allow
/// list), a type-`a` rule resetting to deny-all or allow-all; an allow adds its
/// access; a deny takes access away from the same device's entry. Deny-all plus allows → `DevicePolicy=strict` and the allow
/// list (`*` majors as `char-*`/`block-*`, `*` minors as `char-<major>`; a `*:n`
/// rule cannot be said to systemd and is left to the runtime's program). Allow-all
/// (with or without denies) → `DevicePolicy=auto`, no list: systemd adds no program
/// and the runtime's own device program, attached as with the cgroupfs driver,
/// enforces the denies. Both programs must allow an access, so systemd's list is
/// never narrower than the rules.
pub fn device_properties(rules: &[super::resources::DeviceRule]) -> Properties {
    device_replay(rules).0
}

/// [`device_properties`], and whether systemd's program then enforces exactly the
/// rules: a deny-all list of allows only (since the last type-`a` rule), each one
/// said to systemd. Otherwise the runtime's own program is needed too.
fn device_replay(rules: &[super::resources::DeviceRule]) -> (Properties, bool) {
    let mut allow_all = false;
    let mut exact = true;
    let mut list: Vec<(String, String)> = Vec::new();
    for r in rules {
        let access = r
            .access
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or("rwm");
        let kind = r.kind.unwrap_or('a');
        if kind == 'a' {
            allow_all = r.allow;
            list.clear();
            exact = true;
            continue;
        }
        if allow_all {
            continue; // denies under allow-all: the runtime's program
        }
        if !r.allow {
            exact = false; // a deny may cut into a wider entry: both programs
        }
        let prefix = if kind == 'b' { "block" } else { "char" };
        let path = match (r.major, r.minor) {
            (None, None) => format!("{prefix}-*"),
            (None, Some(_)) => {
                // systemd has no `*:n`: allowing the whole type would be wider than
                // the rule, so leave it out (the runtime's program has it)
                exact = false;
                continue;
            }
            (Some(maj), None) => format!("{prefix}-{maj}"),
            (Some(maj), Some(min)) => format!("/dev/{prefix}/{maj}:{min}"),
        };
        let entry = list.iter_mut().find(|(p, _)| *p == path);
        match (r.allow, entry) {
            (true, Some((_, perms))) => {
                for c in access.chars() {
                    if !perms.contains(c) {
                        perms.push(c);
                    }
                }
            }
            (true, None) => list.push((path, access.to_string())),
            (false, Some((_, perms))) => perms.retain(|c| !access.contains(c)),
            (false, None) => {}
        }
    }
    list.retain(|(_, perms)| !perms.is_empty());
    if allow_all {
        let props = vec![
            ("DevicePolicy".into(), Value::Str("auto".into())),
            ("DeviceAllow".into(), Value::StrPairs(Vec::new())),
        ];
        return (props, false);
    }
    let props = vec![
        ("DevicePolicy".into(), Value::Str("strict".into())),
        ("DeviceAllow".into(), Value::StrPairs(list)),
    ];
    (props, exact)
}

/// `CPUQuotaPeriodUSec` and `CPUQuotaPerSecUSec` (rounded up to whole percents of a
/// CPU, as systemd keeps them, as runc).
fn cpu_quota(props: &mut Properties, quota: i64, period: u64) {
    if period != 0 {
        props.push(("CPUQuotaPeriodUSec".into(), Value::U64(period)));
    }
    if quota != 0 || period != 0 {
        let mut per_sec = u64::MAX;
        if quota > 0 {
            let period = if period == 0 { 100_000 } else { period };
            per_sec = (quota as u64).saturating_mul(1_000_000) / period;
            if per_sec % 10_000 != 0 {
                per_sec = (per_sec / 10_000 + 1) * 10_000;
            }
        }
        props.push(("CPUQuotaPerSecUSec".into(), Value::U64(per_sec)));
    }
}

/// A cpu or node list (`0-3,5`) as systemd's bit mask (byte i holds bits 8i..8i+7).
pub fn list_to_bits(list: &str) -> Result<Vec<u8>, CgroupError> {
    let bad = || CgroupError::Config(format!("cpuset list {list:?}: invalid"));
    let mut out: Vec<u8> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>(), b.parse::<usize>()),
            None => (part.parse(), part.parse()),
        };
        let (a, b) = (a.map_err(|_| bad())?, b.map_err(|_| bad())?);
        if a > b || b >= 1 << 16 {
            return Err(bad());
        }
        for i in a..=b {
            if out.len() <= i / 8 {
                out.resize(i / 8 + 1, 0);
            }
            out[i / 8] |= 1 << (i % 8);
        }
    }
    Ok(out)
}

/// The `org.systemd.property.*` annotations as unit properties (as runc: the name
/// is letters and digits starting with an upper-case letter; the value is in
/// GVariant text form; `xxxSec` becomes `xxxUSec` with the value in microseconds).
pub fn annotation_properties<'a>(
    annotations: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Properties, CgroupError> {
    let mut out = Properties::new();
    for (k, v) in annotations {
        let Some(name) = k.strip_prefix(PROPERTY_ANNOTATION) else {
            continue;
        };
        let bad = |why: String| CgroupError::Config(format!("annotations[{k:?}]: {why}"));
        if !name.starts_with(|c: char| c.is_ascii_uppercase())
            || !name.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(bad(format!("invalid systemd property name {name:?}")));
        }
        let mut value = parse_gvariant(v).map_err(|e| bad(format!("value {v:?}: {e}")))?;
        let mut name = name.to_string();
        if let Some(base) = name.strip_suffix("Sec") {
            if base.ends_with(|c: char| c.is_ascii_lowercase()) {
                let usec = |x: f64| -> Result<u64, CgroupError> {
                    if x < 0.0 {
                        return Err(bad(format!("value {v:?}: negative seconds")));
                    }
                    Ok((x * 1e6) as u64)
                };
                value = Value::U64(match value {
                    Value::Byte(x) => u64::from(x) * 1_000_000,
                    Value::U16(x) => u64::from(x) * 1_000_000,
                    Value::U32(x) => u64::from(x) * 1_000_000,
                    Value::U64(x) => x.saturating_mul(1_000_000),
                    Value::I16(x) => usec(f64::from(x))?,
                    Value::I32(x) => usec(f64::from(x))?,
                    Value::I64(x) => usec(x as f64)?,
                    Value::Double(x) => usec(x)?,
                    _ => return Err(bad(format!("value {v:?}: not a number of seconds"))),
                });
                name = format!("{base}USec");
            }
        }
        out.push((name, value));
    }
    Ok(out)
}

/// A value in GVariant text form (what `gdbus` and runc accept): `true`, `false`,
/// `'text'`, `"text"`, a typed number (`uint64 5`, `int32 -1`, `byte 3`, ...), a
/// bare integer (int32) or decimal (double), `['a', 'b']` (as), `@as []`.
pub fn parse_gvariant(s: &str) -> Result<Value, String> {
    let s = s.trim();
    match s {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "@as []" | "[]" => return Ok(Value::Strs(Vec::new())),
        _ => {}
    }
    if let Some(v) = quoted(s) {
        return Ok(Value::Str(v?));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let mut out = Vec::new();
        for item in inner.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match quoted(item) {
                Some(v) => out.push(v?),
                None => return Err("only arrays of strings are supported".into()),
            }
        }
        return Ok(Value::Strs(out));
    }
    let (ty, num) = match s.split_once(char::is_whitespace) {
        Some((t, n)) => (t, n.trim()),
        None => ("", s),
    };
    let e = |_| format!("invalid number {num:?}");
    Ok(match ty {
        "byte" => Value::Byte(num.parse().map_err(e)?),
        "int16" => Value::I16(num.parse().map_err(e)?),
        "uint16" => Value::U16(num.parse().map_err(e)?),
        "int32" => Value::I32(num.parse().map_err(e)?),
        "uint32" => Value::U32(num.parse().map_err(e)?),
        "int64" => Value::I64(num.parse().map_err(e)?),
        "uint64" => Value::U64(num.parse().map_err(e)?),
        "double" => Value::Double(num.parse().map_err(|_| format!("invalid number {num:?}"))?),
        "boolean" => match num {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(format!("invalid boolean {num:?}")),
        },
        "" if num.contains(['.', 'e', 'E']) => {
            Value::Double(num.parse().map_err(|_| format!("cannot parse {s:?}"))?)
        }
        "" => Value::I32(num.parse().map_err(|_| format!("cannot parse {s:?}"))?),
        t => return Err(format!("unsupported type {t:?}")),
    })
}

/// A quoted GVariant string (`'…'` or `"…"`, backslash escapes), if `s` is one.
fn quoted(s: &str) -> Option<Result<String, String>> {
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = s[1..].strip_suffix(q)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c) => out.push(c),
                None => return Some(Err("dangling backslash".into())),
            },
            c if c == q => return Some(Err("unescaped quote inside a string".into())),
            c => out.push(c),
        }
    }
    Some(Ok(out))
}

fn sd_err(unit: &str, what: &str, e: DbusError) -> CgroupError {
    CgroupError::Systemd(format!("{what} unit {unit}: {e}"))
}

/// A connection to the service manager.
pub struct Systemd {
    conn: Conn,
    socket: PathBuf,
}

impl Systemd {
    /// Connects to the system manager (root) or the user's (rootless): its
    /// private socket when reachable, else the bus.
    pub fn connect(rootless: bool) -> Result<Systemd, CgroupError> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        let (private, bus) = if rootless {
            let dir = std::env::var_os("XDG_RUNTIME_DIR").ok_or_else(|| {
                CgroupError::Unsupported(
                    "systemd cgroup driver (rootless): XDG_RUNTIME_DIR is not set, so the \
                     user's systemd instance cannot be found"
                        .into(),
                )
            })?;
            let dir = PathBuf::from(dir);
            (dir.join("systemd/private"), dir.join("bus"))
        } else {
            (PathBuf::from(SYSTEM_PRIVATE), PathBuf::from(SYSTEM_BUS))
        };
        let first = Conn::connect(&private, false, deadline);
        let (conn, socket) = match first {
            Ok(c) => (c, private),
            Err(e1) => match Conn::connect(&bus, true, deadline) {
                Ok(c) => (c, bus),
                Err(e2) => {
                    return Err(CgroupError::Unsupported(format!(
                        "systemd cgroup driver: cannot reach systemd ({e1}; {e2})"
                    )))
                }
            },
        };
        Ok(Systemd { conn, socket })
    }

    /// The socket this connection uses.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Starts `unit` with `pid` in it (a scope), waits for its start job.
    pub fn start(
        &mut self,
        unit: &Unit,
        description: &str,
        pid: Option<i32>,
        extra: &[(String, Value)],
    ) -> Result<(), CgroupError> {
        let mut props: Properties = vec![("Description".into(), Value::Str(description.into()))];
        if unit.is_slice() {
            props.push(("Wants".into(), Value::Strs(vec![unit.slice.clone()])));
        } else {
            props.push(("Slice".into(), Value::Str(unit.slice.clone())));
            props.push(("Delegate".into(), Value::Bool(true)));
        }
        if let Some(pid) = pid {
            props.push(("PIDs".into(), Value::U32s(vec![pid as u32])));
        }
        for a in [
            "MemoryAccounting",
            "CPUAccounting",
            "IOAccounting",
            "TasksAccounting",
        ] {
            props.push((a.into(), Value::Bool(true)));
        }
        props.push(("DefaultDependencies".into(), Value::Bool(false)));
        props.extend_from_slice(extra);
        let mut w = Writer::default();
        w.str(&unit.name);
        w.str("replace");
        w.properties(&props);
        w.array(8, |_| {});
        let deadline = Instant::now() + JOB_TIMEOUT;
        let mut retried = false;
        let reply = loop {
            match self
                .conn
                .manager_call("StartTransientUnit", "ssa(sv)a(sa(sv))", &w.buf, deadline)
            {
                Ok(r) => break r,
                // a failed unit of that name not yet collected: reset it, once (runc)
                Err(e)
                    if !retried
                        && e.remote_name() == Some("org.freedesktop.systemd1.UnitExists") =>
                {
                    retried = true;
                    let _ = self.reset_failed(&unit.name);
                }
                Err(e) => return Err(sd_err(&unit.name, "cannot start", e)),
            }
        };
        let job = reply.body.first().cloned().unwrap_or_default();
        match self.conn.wait_job(&job, deadline) {
            Ok(r) if r == "done" => Ok(()),
            Ok(r) => {
                let _ = self.reset_failed(&unit.name);
                Err(CgroupError::Systemd(format!(
                    "cannot start unit {}: its start job ended with result {r:?} (see \
                     `systemctl status {}` and `journalctl -u {}`)",
                    unit.name, unit.name, unit.name
                )))
            }
            Err(e) => {
                let _ = self.reset_failed(&unit.name);
                Err(sd_err(&unit.name, "cannot start", e))
            }
        }
    }

    /// Stops `unit` (waiting for the job) and resets it if it failed; a unit that
    /// is already gone is not an error.
    pub fn stop(&mut self, unit: &str) -> Result<(), CgroupError> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        let mut w = Writer::default();
        w.str(unit);
        w.str("replace");
        let r = match self.conn.manager_call("StopUnit", "ss", &w.buf, deadline) {
            Ok(reply) => {
                let job = reply.body.first().cloned().unwrap_or_default();
                match self.conn.wait_job(&job, deadline) {
                    Ok(_) => Ok(()),
                    Err(e) => Err(sd_err(unit, "cannot stop", e)),
                }
            }
            Err(e) if e.remote_name() == Some("org.freedesktop.systemd1.NoSuchUnit") => Ok(()),
            Err(e) => Err(sd_err(unit, "cannot stop", e)),
        };
        let _ = self.reset_failed(unit);
        r
    }

    /// `ResetFailedUnit`.
    pub fn reset_failed(&mut self, unit: &str) -> Result<(), CgroupError> {
        let mut w = Writer::default();
        w.str(unit);
        let deadline = Instant::now() + JOB_TIMEOUT;
        match self
            .conn
            .manager_call("ResetFailedUnit", "s", &w.buf, deadline)
        {
            Ok(_) => Ok(()),
            Err(e) if e.remote_name() == Some("org.freedesktop.systemd1.NoSuchUnit") => Ok(()),
            Err(e) => Err(sd_err(unit, "cannot reset", e)),
        }
    }

    /// `SetUnitProperties` (runtime: not persisted).
    pub fn set_properties(
        &mut self,
        unit: &str,
        props: &[(String, Value)],
    ) -> Result<(), CgroupError> {
        if props.is_empty() {
            return Ok(());
        }
        let mut w = Writer::default();
        w.str(unit);
        w.u32(1); // runtime = true
        w.properties(props);
        let deadline = Instant::now() + JOB_TIMEOUT;
        self.conn
            .manager_call("SetUnitProperties", "sba(sv)", &w.buf, deadline)
            .map(|_| ())
            .map_err(|e| sd_err(unit, "cannot set properties of", e))
    }

    /// The manager's own cgroup (`/` for the system manager; the user manager's
    /// `/user.slice/user-UID.slice/user@UID.service`), under which its units go.
    pub fn manager_cgroup(&mut self) -> Result<PathBuf, CgroupError> {
        let mut w = Writer::default();
        w.str(dbus::MANAGER_IFACE);
        w.str("ControlGroup");
        let deadline = Instant::now() + JOB_TIMEOUT;
        let reply = self
            .conn
            .call(
                dbus::SYSTEMD_DEST,
                dbus::SYSTEMD_PATH,
                "org.freedesktop.DBus.Properties",
                "Get",
                "ss",
                &w.buf,
                deadline,
            )
            .map_err(|e| {
                CgroupError::Systemd(format!("cannot read the manager's ControlGroup: {e}"))
            })?;
        let cg = reply.body.first().cloned().unwrap_or_default();
        Ok(PathBuf::from(cg.trim_start_matches('/')))
    }

    /// Whether systemd knows `unit` (`GetUnit`).
    pub fn has_unit(&mut self, unit: &str) -> Result<bool, CgroupError> {
        let mut w = Writer::default();
        w.str(unit);
        let deadline = Instant::now() + JOB_TIMEOUT;
        match self.conn.manager_call("GetUnit", "s", &w.buf, deadline) {
            Ok(_) => Ok(true),
            Err(e) if e.remote_name() == Some("org.freedesktop.systemd1.NoSuchUnit") => Ok(false),
            Err(e) => Err(sd_err(unit, "cannot look up", e)),
        }
    }
}

/// The controllers the properties need, by property name.
pub fn controller_of(property: &str) -> Option<&'static str> {
    Some(match property {
        p if p.starts_with("Memory") && p != "MemoryAccounting" => "memory",
        "CPUWeight" | "CPUQuotaPerSecUSec" | "CPUQuotaPeriodUSec" => "cpu",
        "AllowedCPUs" | "AllowedMemoryNodes" => "cpuset",
        "TasksMax" => "pids",
        "IOWeight" => "io",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::resources::{Cpu, Memory, Pids};

    #[test]
    fn unit_names_as_runc() {
        let u = unit_for(Some("system.slice:test:c1"), "x", false).unwrap();
        assert_eq!(u.name, "test-c1.scope");
        assert_eq!(u.slice, "system.slice");
        assert_eq!(u.cgroup, Path::new("system.slice/test-c1.scope"));
        let u = unit_for(Some(":cri:c2"), "x", false).unwrap();
        assert_eq!(u.cgroup, Path::new("system.slice/cri-c2.scope"));
        let u = unit_for(None, "c3", false).unwrap();
        assert_eq!(u.name, "fastrun-c3.scope");
        let u = unit_for(Some("kubepods-besteffort-pod1.slice:cri:c4"), "x", false).unwrap();
        assert_eq!(
            u.cgroup,
            Path::new(
                "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-c4.scope"
            )
        );
        let u = unit_for(Some("system.slice:x:pod-a.slice"), "x", false).unwrap();
        assert!(u.is_slice());
        assert_eq!(u.cgroup, Path::new("system.slice/pod-a.slice"));
        let u = unit_for(Some("-.slice:x:c5"), "x", false).unwrap();
        assert_eq!(u.cgroup, Path::new("x-c5.scope"));
        assert_eq!(
            unit_for(None, "c", true).unwrap().cgroup,
            Path::new("user.slice/fastrun-c.scope")
        );
        for bad in [
            "a:b",
            "bad:x:c",
            "a--b.slice:x:c",
            "system.slice:x:c/d",
            "x.slice:p:../e",
        ] {
            let e = unit_for(Some(bad), "x", false).unwrap_err().to_string();
            assert!(e.starts_with("linux.cgroupsPath: "), "{bad}: {e}");
        }
    }

    #[test]
    fn properties_as_runc() {
        let res = Resources {
            memory: Some(Memory {
                limit: Some(100 << 20),
                reservation: Some(50 << 20),
                swap: Some(200 << 20),
                swappiness: Some(10),
                ..Default::default()
            }),
            cpu: Some(Cpu {
                shares: Some(1024),
                quota: Some(50_000),
                period: Some(100_000),
                cpus: Some("0-1,3".into()),
                idle: Some(1),
                ..Default::default()
            }),
            pids: Some(Pids { limit: 0 }),
            unified: [
                ("memory.high".to_string(), "max".to_string()),
                ("memory.oom.group".to_string(), "1".to_string()),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let (props, rest) = properties(&res).unwrap();
        let get = |n: &str| props.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        assert_eq!(get("MemoryMax"), Some(Value::U64(100 << 20)));
        assert_eq!(get("MemoryLow"), Some(Value::U64(50 << 20)));
        assert_eq!(get("MemorySwapMax"), Some(Value::U64(100 << 20)));
        assert_eq!(get("CPUWeight"), Some(Value::U64(39)));
        assert_eq!(get("CPUQuotaPeriodUSec"), Some(Value::U64(100_000)));
        assert_eq!(get("CPUQuotaPerSecUSec"), Some(Value::U64(500_000)));
        assert_eq!(get("AllowedCPUs"), Some(Value::Bytes(vec![0b1011])));
        assert_eq!(get("TasksMax"), Some(Value::U64(u64::MAX)));
        assert_eq!(get("MemoryHigh"), Some(Value::U64(u64::MAX)));
        // what systemd does not express stays for the file writes
        let m = rest.memory.unwrap();
        assert_eq!((m.limit, m.swappiness), (None, Some(10)));
        assert_eq!(rest.cpu.unwrap().idle, Some(1));
        assert!(rest.pids.is_none());
        assert_eq!(
            rest.unified.keys().collect::<Vec<_>>(),
            ["memory.oom.group"]
        );
    }

    #[test]
    fn devices_as_runc() {
        use crate::cgroups::resources::DeviceRule;
        let r = |allow, kind, major, minor, access: &str| DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: Some(access.into()),
        };
        let rules = [
            r(false, None, None, None, "rwm"),
            r(true, Some('c'), Some(1), Some(3), "rwm"),
            r(true, Some('c'), Some(136), None, "rwm"),
            r(true, Some('c'), None, None, "m"),
            r(true, Some('b'), None, Some(1), "m"),
            r(false, Some('c'), Some(1), Some(3), "w"),
        ];
        assert_eq!(
            device_properties(&rules),
            [
                ("DevicePolicy".to_string(), Value::Str("strict".into())),
                (
                    "DeviceAllow".to_string(),
                    Value::StrPairs(vec![
                        ("/dev/char/1:3".into(), "rm".into()),
                        ("char-136".into(), "rwm".into()),
                        ("char-*".into(), "m".into()),
                    ])
                ),
            ]
        );
        let open = [
            r(true, None, None, None, "rwm"),
            r(false, Some('c'), Some(1), Some(3), "rwm"),
        ];
        assert_eq!(device_properties(&open)[0].1, Value::Str("auto".into()));
        // systemd's program alone is enough only for a deny-all list of allows
        assert!(!device_replay(&rules).1, "a deny after allows");
        assert!(!device_replay(&open).1, "allow-all");
        let star_minor = [
            r(false, None, None, None, "rwm"),
            r(true, Some('c'), None, Some(1), "m"),
        ];
        assert!(
            !device_replay(&star_minor).1,
            "a *:n rule systemd cannot say"
        );
        let plain = [
            r(false, None, None, None, "rwm"),
            r(true, Some('c'), Some(1), Some(3), "rwm"),
            r(true, Some('c'), None, None, "m"),
        ];
        assert!(device_replay(&plain).1);
        let res = Resources {
            devices: plain.to_vec(),
            ..Default::default()
        };
        assert!(properties(&res).unwrap().1.devices.is_empty());
        let res = Resources {
            devices: rules.to_vec(),
            ..Default::default()
        };
        assert_eq!(properties(&res).unwrap().1.devices.len(), rules.len());
        // no type-a rule first (runc's rootless spec has no resources, only the
        // defaults are added): runc's emulator starts from deny-all, so strict
        let only_allows = [r(true, Some('c'), Some(1), Some(3), "rwm")];
        assert_eq!(
            device_properties(&only_allows),
            [
                ("DevicePolicy".to_string(), Value::Str("strict".into())),
                (
                    "DeviceAllow".to_string(),
                    Value::StrPairs(vec![("/dev/char/1:3".into(), "rwm".into())])
                ),
            ]
        );
    }

    #[test]
    fn cpu_quota_rounds_up_to_percents() {
        let mut p = Properties::new();
        cpu_quota(&mut p, 12_345, 100_000);
        assert_eq!(p[1], ("CPUQuotaPerSecUSec".into(), Value::U64(130_000)));
        let mut p = Properties::new();
        cpu_quota(&mut p, -1, 0);
        assert_eq!(p, [("CPUQuotaPerSecUSec".into(), Value::U64(u64::MAX))]);
    }

    #[test]
    fn annotations_as_runc() {
        let a = [
            ("org.systemd.property.TimeoutStopSec", "uint64 3"),
            ("org.systemd.property.CollectMode", "'inactive-or-failed'"),
            ("org.systemd.property.RuntimeMaxSec", "2.5"),
            ("org.systemd.property.IPAccounting", "true"),
            ("other", "x"),
        ];
        let p = annotation_properties(a).unwrap();
        assert_eq!(
            p,
            [
                ("TimeoutStopUSec".to_string(), Value::U64(3_000_000)),
                (
                    "CollectMode".to_string(),
                    Value::Str("inactive-or-failed".into())
                ),
                ("RuntimeMaxUSec".to_string(), Value::U64(2_500_000)),
                ("IPAccounting".to_string(), Value::Bool(true)),
            ]
        );
        for (k, v) in [
            ("org.systemd.property.lower", "1"),
            ("org.systemd.property.A-B", "1"),
            ("org.systemd.property.X", "uint64 x"),
            ("org.systemd.property.X", "{'a': 1}"),
        ] {
            let e = annotation_properties([(k, v)]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("annotations[{k:?}]")), "{e}");
        }
    }

    #[test]
    fn bits() {
        assert_eq!(list_to_bits("0").unwrap(), [1]);
        assert_eq!(list_to_bits("8-9").unwrap(), [0, 3]);
        assert!(list_to_bits("3-1").is_err());
    }
}
