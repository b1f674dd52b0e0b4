//! The OCI runtime-spec config model (1.0.0 to 1.3.0, Linux), parsed without
//! copying, validated with JSON-path errors.
//!
//! ```text
//! bytes ──parse (simd-json, borrowed)──> Config<'a> ──validate──> ready for the plan
//! ```
//!
//! - [`parse`] / [`load`] (= parse + [`Config::validate`]) take the caller's
//!   buffer, which simd-json rewrites in place; every string of the result
//!   borrows from it (see [`Str`]).
//! - [`load_file`] reads a file into the caller's buffer and loads it; on a
//!   syntax error it reads the file again to report line and column (the only way
//!   without copying the buffer on the success path: see [`parse`](mod@parse)).
//! - [`parse_process`] (`exec --process`) and [`parse_resources`]
//!   (`update --resources`) parse and validate those parts alone.
//! - [`default_config`] / [`default_config_json`]: what `fastrun spec` writes.
//! - [`namespace_flag`], [`capability_number`], [`rlimit_resource`]: name tables.

mod default;
mod error;
mod fields;
mod linux;
pub mod names;
mod parse;
mod resources;
mod str;
mod types;
mod validate;

pub use validate::{in_root_components, Validated, PROC_BIND_ALLOWED};

use std::path::Path;

pub use default::{default_config, default_config_json, default_config_with_ids};
pub use error::{SpecError, SpecErrorKind};
pub use linux::{
    Device, IntelRdt, Linux, MemoryPolicy, Namespace, NetDevice, Personality, Seccomp, SeccompArg,
    Syscall, TimeOffset,
};
pub use names::{
    capability_number, device_access, namespace_flag, rlimit_resource, CAPABILITIES,
    IOPRIO_CLASSES, MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES, PERSONALITY_DOMAINS,
    ROOTFS_PROPAGATIONS, SCHED_FLAGS, SCHED_POLICIES, SECCOMP_ACTIONS, SECCOMP_ARCHES,
    SECCOMP_FLAGS, SECCOMP_OPS, TIME_CLOCKS,
};
pub use parse::{locate_syntax_error, MAX_DEPTH};
pub use resources::{
    BlockIo, Cpu, DeviceCgroup, HugepageLimit, InterfacePriority, LinuxResources, Memory, Network,
    Pids, Rdma, ThrottleDevice, WeightDevice,
};
pub use str::{Map, Str};
pub use types::{
    Capabilities, Config, ConsoleSize, ExecCpuAffinity, Hook, Hooks, IdMapping, IoPriority, Mount,
    Process, Rlimit, Root, Scheduler, User,
};

/// Parse a `config.json` held in `buf` (rewritten in place), without validating
/// it. Unknown fields are ignored. Type errors name the JSON path; syntax errors
/// name the byte offset (use [`load_file`] or [`locate_syntax_error`] for line and
/// column).
pub fn parse<'a>(buf: &'a mut [u8]) -> Result<Config<'a>, SpecError> {
    parse::parse_doc(buf, parse::CONFIG)
}

/// [`parse`] then [`Config::validate`]: what `create` and `run` use. The result
/// proves the validation ([`Validated`]), which is what `plan::build` takes.
pub fn load<'a>(buf: &'a mut [u8]) -> Result<Validated<'a>, SpecError> {
    Validated::new(parse(buf)?)
}

/// Read `path` into `buf` (cleared first) and [`load`] it. A syntax error is
/// reported with line and column: the file is read again for that, on the error
/// path only (the buffer itself has been rewritten by the parser).
pub fn load_file<'a>(path: &Path, buf: &'a mut Vec<u8>) -> Result<Validated<'a>, SpecError> {
    read_into(path, buf)?;
    let len = buf.len();
    load(buf.as_mut_slice()).map_err(|e| relocate(e, path, len))
}

/// Parse and validate a config given as JSON bytes in `buf` (a copy: the parser
/// rewrites it in place); a syntax error names its line and column.
pub fn load_config<'a>(json: &[u8], buf: &'a mut Vec<u8>) -> Result<Validated<'a>, SpecError> {
    buf.clear();
    buf.extend_from_slice(json);
    load(buf).map_err(|e| match e.kind {
        SpecErrorKind::Syntax => locate_syntax_error(json, &e.path).unwrap_or(e),
        _ => e,
    })
}

/// Parse and validate a config given as JSON bytes (what `create` does with
/// [`crate::CreateOptions::config`]); a syntax error names its line and column.
pub fn validate_config(json: &[u8]) -> crate::error::Result<()> {
    let mut buf = Vec::new();
    load_config(json, &mut buf).map(drop).map_err(Into::into)
}

/// Resolve a bundle path (relative to the cwd) to an absolute path.
pub fn absolute_bundle(bundle: &Path) -> crate::error::Result<std::path::PathBuf> {
    std::path::absolute(bundle).map_err(|e| crate::error::Error::path("resolve bundle", bundle, e))
}

/// Parse and validate a process (the `exec --process` file): the same rules as
/// `process` in a config. Paths in errors start with `process`.
pub fn parse_process<'a>(buf: &'a mut [u8]) -> Result<Process<'a>, SpecError> {
    let process: Process<'a> = parse::parse_doc(buf, parse::PROCESS)?;
    validate::process(&process)?;
    Ok(process)
}

/// Parse and validate resources (the `update --resources` file): the same rules
/// as `linux.resources` in a config. Paths in errors start with `resources`.
pub fn parse_resources<'a>(buf: &'a mut [u8]) -> Result<LinuxResources<'a>, SpecError> {
    let resources: LinuxResources<'a> = parse::parse_doc(buf, parse::RESOURCES)?;
    validate::resources(&resources, "resources")?;
    Ok(resources)
}

fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), SpecError> {
    use std::io::Read;
    buf.clear();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(buf))
        .map(drop)
        .map_err(|e| SpecError::new(SpecErrorKind::Io, path.display().to_string(), e.to_string()))
}

/// Error path of [`load_file`]: give a syntax error its line and column from a
/// fresh read of the file (if it still has the same length).
fn relocate(e: SpecError, path: &Path, len: usize) -> SpecError {
    if e.kind != SpecErrorKind::Syntax {
        return e;
    }
    match std::fs::read(path) {
        Ok(pristine) if pristine.len() == len => {
            locate_syntax_error(&pristine, &e.path).unwrap_or(e)
        }
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_borrows_every_string() {
        let mut buf = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../benches/fixtures/large-config.json"
        ))
        .unwrap();
        let c = load(&mut buf).unwrap();
        let json = serde_json::to_value(&*c).unwrap();
        assert!(json.is_object());
        let p = c.process.as_ref().unwrap();
        assert!(p.args.iter().chain(&p.env).all(Str::is_borrowed));
        let seccomp = c.linux.as_ref().unwrap().seccomp.as_ref().unwrap();
        assert!(seccomp
            .syscalls
            .iter()
            .flat_map(|s| &s.names)
            .all(Str::is_borrowed));
        assert!(c
            .annotations
            .iter()
            .all(|(k, v)| k.is_borrowed() && v.is_borrowed()));
    }

    #[test]
    fn load_file_reports_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            "{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\"path\": rootfs}\n}",
        )
        .unwrap();
        let mut buf = Vec::new();
        let e = load_file(&path, &mut buf).unwrap_err();
        assert_eq!(e.kind, SpecErrorKind::Syntax);
        assert!(
            e.to_string()
                .starts_with("config.json: invalid JSON at line 3, column 20: "),
            "{e}"
        );
        let e = load_file(&dir.path().join("missing.json"), &mut buf).unwrap_err();
        assert_eq!(e.kind, SpecErrorKind::Io);
        assert!(e.to_string().contains("missing.json"), "{e}");
    }

    #[test]
    fn load_file_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, default_config_json(false)).unwrap();
        let mut buf = Vec::new();
        let c = load_file(&path, &mut buf).unwrap();
        assert_eq!(*c, default_config(false));
    }

    #[test]
    fn absent_and_empty_fields_parse() {
        // The least a config may say.
        let mut buf =
            br#"{"ociVersion":"1.0.0","root":{"path":"r"},"process":{"cwd":"/","args":["x"]}}"#
                .to_vec();
        let c = load(&mut buf).unwrap();
        let p = c.process.as_ref().unwrap();
        assert_eq!((p.user.uid, p.user.gid, p.terminal), (0, 0, false));
        assert!(p.env.is_empty() && p.capabilities.is_none() && c.linux.is_none());
        // Every section present but empty.
        let mut buf = br#"{"ociVersion":"1.3.0","root":{"path":"r"},"process":{"cwd":"/","args":["x"],
            "user":{},"capabilities":{},"rlimits":[],"env":[]},"mounts":[],"hooks":{},"annotations":{},
            "linux":{"namespaces":[],"uidMappings":[],"resources":{"memory":{},"cpu":{},"blockIO":{},
            "network":{},"rdma":{},"unified":{},"devices":[],"hugepageLimits":[]},"sysctl":{},
            "maskedPaths":[],"readonlyPaths":[],"timeOffsets":{},"netDevices":{},"intelRdt":{},
            "devices":[]}}"#
            .to_vec();
        let c = load(&mut buf).unwrap();
        let l = c.linux.as_ref().unwrap();
        assert_eq!(
            l.resources.as_ref().unwrap().memory,
            Some(Memory::default())
        );
        assert!(c.hooks.as_ref().unwrap().prestart.is_empty());
        // Empty sections are dropped when serialized; the meaning is the same.
        let mut out = serde_json::to_vec(&*c).unwrap();
        assert_eq!(parse(&mut out).unwrap().linux.unwrap().namespaces, []);
    }

    #[test]
    fn round_trip_every_fixture() {
        for name in [
            "runc-spec.json",
            "runc-spec-rootless.json",
            "large-config.json",
            "full-1.3.json",
        ] {
            let path = format!("{}/../benches/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
            let mut buf = std::fs::read(&path).unwrap();
            let c = parse(&mut buf).unwrap();
            let mut out = serde_json::to_vec(&c).unwrap();
            let again = parse(&mut out).unwrap();
            assert_eq!(c, again, "{name}");
        }
    }
}
