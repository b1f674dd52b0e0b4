//! The runtime options of `create`, as containerd hands them over:
//!
//! - `containerd.runc.v1.Options` (ctr's runc flags, a CRI runtime of type
//!   `io.containerd.runc.v2`): the runc options protobuf itself.
//! - `runtimeoptions.v1.Options {type_url, config_path, config_body}`: what CRI sends
//!   for a runtime of any other type, so for `io.containerd.fastrun.v2` (and what
//!   `ctr run --runtime-config-path` sends). As gVisor's shim does, a `config_path`
//!   names a TOML file of options, read at each create; without one, containerd 2.x
//!   puts the runtime's whole `options` section in `config_body` (1.x sends nothing).
//!   The TOML holds runc-style keys: `SystemdCgroup`, `NoPivotRoot`, `NoNewKeyring`,
//!   `Root`, `ShimCgroup`, `IoUid`, `IoGid` (as in a runc runtime's options section;
//!   snake_case and any case are accepted too); `BinaryName` and the CRIU paths are
//!   accepted and ignored (no runtime binary runs, no checkpoints); any other key is
//!   an error, so a misspelt option is not silently dropped.
//!
//! Any other type is refused.

use containerd_shim_protos::protobuf::rt::WireType;
use containerd_shim_protos::protobuf::well_known_types::any::Any;
use containerd_shim_protos::protobuf::{CodedInputStream, Message};
use containerd_shim_protos::shim::oci::Options as RuncOptions;

/// The runc options type.
pub const RUNC_OPTIONS: &str = "containerd.runc.v1.Options";
/// CRI's options of a runtime that is not runc's.
pub const RUNTIME_OPTIONS: &str = "runtimeoptions.v1.Options";

/// Whether a type URL names the protobuf type `name` (bare, as containerd writes
/// it, or `<prefix>/<name>`).
fn is_type(url: &str, name: &str) -> bool {
    url == name || url.strip_suffix(name).is_some_and(|p| p.ends_with('/'))
}

/// The runc-style options of a create request (defaults without any).
pub fn decode(any: Option<&Any>) -> Result<RuncOptions, String> {
    let Some(any) = any.filter(|a| !a.type_url.is_empty() || !a.value.is_empty()) else {
        return Ok(RuncOptions::new());
    };
    if is_type(&any.type_url, RUNC_OPTIONS) {
        return RuncOptions::parse_from_bytes(&any.value)
            .map_err(|e| format!("runtime options ({RUNC_OPTIONS}): {e}"));
    }
    if is_type(&any.type_url, RUNTIME_OPTIONS) {
        let o = RuntimeOptions::parse(&any.value)
            .map_err(|e| format!("runtime options ({RUNTIME_OPTIONS}): {e}"))?;
        return o.resolve();
    }
    Err(format!(
        "runtime options of type {:?} are not supported by fastrun's shim (it reads \
         {RUNC_OPTIONS}, or {RUNTIME_OPTIONS} with a ConfigPath)",
        any.type_url
    ))
}

/// `runtimeoptions.v1.Options`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct RuntimeOptions {
    pub(crate) type_url: String,
    pub(crate) config_path: String,
    pub(crate) config_body: Vec<u8>,
}

impl RuntimeOptions {
    /// Decode the three fields (1 type_url, 2 config_path, 3 config_body); others
    /// are skipped as protobuf readers do.
    pub(crate) fn parse(bytes: &[u8]) -> Result<RuntimeOptions, String> {
        let mut o = RuntimeOptions::default();
        let mut s = CodedInputStream::from_bytes(bytes);
        let e = |e: containerd_shim_protos::protobuf::Error| e.to_string();
        while let Some(tag) = s.read_raw_tag_or_eof().map_err(e)? {
            let wire =
                WireType::new(tag & 7).ok_or_else(|| format!("bad wire type in tag {tag}"))?;
            match (tag >> 3, wire) {
                (1, WireType::LengthDelimited) => o.type_url = s.read_string().map_err(e)?,
                (2, WireType::LengthDelimited) => o.config_path = s.read_string().map_err(e)?,
                (3, WireType::LengthDelimited) => o.config_body = s.read_bytes().map_err(e)?,
                (_, w) => s.skip_field(w).map_err(e)?,
            }
        }
        Ok(o)
    }

    /// The runc-style options it points to.
    pub(crate) fn resolve(&self) -> Result<RuncOptions, String> {
        if !self.type_url.is_empty() && !is_type(&self.type_url, RUNC_OPTIONS) {
            return Err(format!(
                "runtime options: TypeUrl {:?} is not supported by fastrun's shim: its \
                 ConfigPath must hold runc-style options ({RUNC_OPTIONS}, or no TypeUrl)",
                self.type_url
            ));
        }
        if !self.config_path.is_empty() {
            let text = std::fs::read_to_string(&self.config_path).map_err(|e| {
                format!("runtime options: read ConfigPath {}: {e}", self.config_path)
            })?;
            return from_toml(&text)
                .map_err(|e| format!("runtime options {}: {e}", self.config_path));
        }
        if !self.config_body.is_empty() {
            let text = std::str::from_utf8(&self.config_body)
                .map_err(|_| "runtime options: the runtime's options section is not UTF-8")?;
            return from_toml(text).map_err(|e| format!("runtime options section: {e}"));
        }
        Ok(RuncOptions::new())
    }
}

/// Runc-style options from TOML (see the module docs for the keys).
pub fn from_toml(text: &str) -> Result<RuncOptions, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        // The parser's message spans lines (a snippet): keep its first line.
        e.message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string()
            + &e.span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default()
    })?;
    let mut o = RuncOptions::new();
    for (key, value) in &table {
        let norm: String = key
            .chars()
            .filter(|&c| c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let bool_of = |v: &toml::Value| {
            v.as_bool()
                .ok_or_else(|| format!("{key} must be a boolean, not {}", v.type_str()))
        };
        let str_of = |v: &toml::Value| {
            v.as_str()
                .map(String::from)
                .ok_or_else(|| format!("{key} must be a string, not {}", v.type_str()))
        };
        let id_of = |v: &toml::Value| {
            v.as_integer()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| format!("{key} must be an integer from 0 to {}", u32::MAX))
        };
        match norm.as_str() {
            "systemdcgroup" => o.systemd_cgroup = bool_of(value)?,
            "nopivotroot" => o.no_pivot_root = bool_of(value)?,
            "nonewkeyring" => o.no_new_keyring = bool_of(value)?,
            "root" => {
                o.root = str_of(value)?;
                if !o.root.is_empty() && !o.root.starts_with('/') {
                    return Err(format!("{key} must be an absolute path, not {:?}", o.root));
                }
            }
            "shimcgroup" => o.shim_cgroup = str_of(value)?,
            "iouid" => o.io_uid = id_of(value)?,
            "iogid" => o.io_gid = id_of(value)?,
            // What no runtime binary and no checkpoint use; CRI's own keys (they
            // are part of the section containerd 2.x sends as the body).
            "binaryname" | "criupath" | "criuimagepath" | "criuworkpath" => {
                str_of(value)?;
            }
            "typeurl" | "configpath" => {}
            _ => {
                return Err(format!(
                    "unknown option {key:?} (fastrun's shim knows SystemdCgroup, NoPivotRoot, \
                     NoNewKeyring, Root, ShimCgroup, IoUid, IoGid, BinaryName)"
                ))
            }
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use containerd_shim_protos::protobuf::CodedOutputStream;

    fn any(type_url: &str, value: Vec<u8>) -> Any {
        let mut a = Any::new();
        a.type_url = type_url.into();
        a.value = value;
        a
    }

    /// `runtimeoptions.v1.Options` as containerd encodes it.
    fn runtime_options(type_url: &str, path: &str, body: &str) -> Vec<u8> {
        let mut v = Vec::new();
        let mut s = CodedOutputStream::vec(&mut v);
        for (n, f) in [(1, type_url), (2, path), (3, body)] {
            if !f.is_empty() {
                s.write_bytes(n, f.as_bytes()).unwrap();
            }
        }
        s.flush().unwrap();
        drop(s);
        v
    }

    struct TempFile(std::path::PathBuf);
    impl TempFile {
        fn new(name: &str, text: &str) -> TempFile {
            let p = std::env::temp_dir().join(format!(
                "fastrun-shim-opts-{}-{name}.toml",
                std::process::id()
            ));
            std::fs::write(&p, text).unwrap();
            TempFile(p)
        }
        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn none_or_empty_gives_defaults() {
        assert_eq!(decode(None).unwrap(), RuncOptions::new());
        assert_eq!(decode(Some(&Any::new())).unwrap(), RuncOptions::new());
        let a = any(RUNTIME_OPTIONS, Vec::new());
        assert_eq!(decode(Some(&a)).unwrap(), RuncOptions::new());
    }

    #[test]
    fn runc_options_as_they_are() {
        let mut o = RuncOptions::new();
        o.systemd_cgroup = true;
        o.root = "/r".into();
        for url in [
            RUNC_OPTIONS,
            "type.googleapis.com/containerd.runc.v1.Options",
        ] {
            let a = any(url, o.write_to_bytes().unwrap());
            assert_eq!(decode(Some(&a)).unwrap(), o, "{url}");
        }
    }

    #[test]
    fn other_types_are_refused() {
        for url in [
            "io.containerd.runhcs.v1.Options",
            "xcontainerd.runc.v1.Options",
        ] {
            let e = decode(Some(&any(url, vec![1, 2]))).unwrap_err();
            assert!(e.contains(url) && e.contains("not supported"), "{e}");
        }
    }

    #[test]
    fn runtime_options_fields() {
        let b = runtime_options("t", "/p", "Root = '/x'");
        let o = RuntimeOptions::parse(&b).unwrap();
        assert_eq!(o.type_url, "t");
        assert_eq!(o.config_path, "/p");
        assert_eq!(o.config_body, b"Root = '/x'");
        // An unknown field (4, varint) is skipped.
        let mut b = runtime_options("", "/p", "");
        b.extend([4 << 3, 1]);
        assert_eq!(RuntimeOptions::parse(&b).unwrap().config_path, "/p");
        assert!(
            RuntimeOptions::parse(&[0x0a, 5, b'a']).is_err(),
            "truncated"
        );
    }

    #[test]
    fn config_path_is_read() {
        let f = TempFile::new(
            "good",
            "# fastrun\nSystemdCgroup = true\nNoPivotRoot = true\nno_new_keyring = true\n\
             Root = \"/run/x\"\nBinaryName = \"/usr/bin/runc\"\n",
        );
        for type_url in ["", RUNC_OPTIONS] {
            let a = any(RUNTIME_OPTIONS, runtime_options(type_url, f.path(), ""));
            let o = decode(Some(&a)).unwrap();
            assert!(o.systemd_cgroup && o.no_pivot_root && o.no_new_keyring);
            assert_eq!(o.root, "/run/x");
            assert_eq!(o.binary_name, "", "BinaryName is not kept");
        }
        // The path wins over a body.
        let a = any(RUNTIME_OPTIONS, runtime_options("", f.path(), "Root = 1"));
        assert_eq!(decode(Some(&a)).unwrap().root, "/run/x");
    }

    #[test]
    fn config_body_is_read() {
        // What containerd 2.x sends: the runtime's options section, TOML-encoded.
        let a = any(
            RUNTIME_OPTIONS,
            runtime_options("", "", "ConfigPath = ''\nSystemdCgroup = true\n"),
        );
        assert!(decode(Some(&a)).unwrap().systemd_cgroup);
    }

    #[test]
    fn config_errors_name_the_file_and_key() {
        let missing = "/nonexistent/fastrun-options.toml";
        let a = any(RUNTIME_OPTIONS, runtime_options("", missing, ""));
        let e = decode(Some(&a)).unwrap_err();
        assert!(e.contains(missing) && e.contains("No such file"), "{e}");

        let a = any(
            RUNTIME_OPTIONS,
            runtime_options("io.containerd.runsc.v1.options", missing, ""),
        );
        let e = decode(Some(&a)).unwrap_err();
        assert!(e.contains("io.containerd.runsc.v1.options"), "{e}");

        for (text, want) in [
            (
                "SystemdCgroups = true\n",
                "unknown option \"SystemdCgroups\"",
            ),
            (
                "SystemdCgroup = \"yes\"\n",
                "SystemdCgroup must be a boolean, not string",
            ),
            ("IoUid = -1\n", "IoUid must be an integer"),
            ("Root = \"run/x\"\n", "Root must be an absolute path"),
            (
                "[runsc_config]\ndebug = true\n",
                "unknown option \"runsc_config\"",
            ),
            ("\nRoot = \n", "(line 2)"),
        ] {
            let f = TempFile::new("bad", text);
            let a = any(RUNTIME_OPTIONS, runtime_options("", f.path(), ""));
            let e = decode(Some(&a)).unwrap_err();
            assert!(e.contains(f.path()) && e.contains(want), "{text:?}: {e}");
        }
    }
}
