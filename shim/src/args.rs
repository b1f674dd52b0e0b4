//! The shim's command line, as containerd writes it: Go `flag` syntax
//! (`-name value`, `-name=value`, `--name`; a boolean takes no separate value),
//! flags first, then the action (`start`, `delete`, or none for the daemon).
//! Reflects containerd's runtime/v2/shim/shim.go; same behaviour as the
//! `containerd-shim` crate's parser (go-flag), which the shim used before.

use std::ffi::OsStr;

/// The flags containerd passes to a shim binary.
#[derive(Debug, Default, PartialEq)]
pub struct Flags {
    /// `-debug`: debug output in logs.
    pub debug: bool,
    /// `-namespace`: the containerd namespace that owns the shim.
    pub namespace: String,
    /// `-id`: the task id.
    pub id: String,
    /// `-socket`: the address the daemon serves on.
    pub socket: String,
    /// `-bundle`: the bundle, when not the working directory.
    pub bundle: String,
    /// `-address`: containerd's gRPC address.
    pub address: String,
    /// `-publish-binary`: the binary to publish events with (unused: the shim
    /// publishes over ttrpc).
    pub publish_binary: String,
    /// The first argument after the flags: `start`, `delete` or empty.
    pub action: String,
    /// `-v` / `-version`.
    pub version: bool,
    /// `-info`: accepted, as containerd's shims accept it.
    pub info: bool,
}

enum Slot<'a> {
    Bool(&'a mut bool),
    Str(&'a mut String),
}

fn slot<'a>(f: &'a mut Flags, name: &str) -> Option<Slot<'a>> {
    Some(match name {
        "debug" => Slot::Bool(&mut f.debug),
        "v" | "version" => Slot::Bool(&mut f.version),
        "info" => Slot::Bool(&mut f.info),
        "namespace" => Slot::Str(&mut f.namespace),
        "id" => Slot::Str(&mut f.id),
        "socket" => Slot::Str(&mut f.socket),
        "bundle" => Slot::Str(&mut f.bundle),
        "address" => Slot::Str(&mut f.address),
        "publish-binary" => Slot::Str(&mut f.publish_binary),
        _ => return None,
    })
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn utf8<'a>(s: &'a OsStr, what: &str) -> Result<&'a str, String> {
    s.to_str()
        .ok_or_else(|| format!("{what}: not valid UTF-8: {}", s.to_string_lossy()))
}

/// Parses the arguments after the program name. Errors name the flag.
pub fn parse<S: AsRef<OsStr>>(args: &[S]) -> Result<Flags, String> {
    let mut flags = Flags::default();
    let mut i = 0;
    while i < args.len() {
        let arg = utf8(args[i].as_ref(), "argument")?;
        // "", "-" and anything not starting with '-' end the flags.
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        i += 1;
        if arg == "--" {
            break;
        }
        let nv = arg.strip_prefix("--").unwrap_or(&arg[1..]);
        if nv.is_empty() || nv.starts_with('-') || nv.starts_with('=') {
            return Err(format!("bad flag syntax: {arg}"));
        }
        let (name, value) = match nv.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (nv, None),
        };
        match slot(&mut flags, name) {
            None => return Err(format!("flag provided but not defined: -{name}")),
            Some(Slot::Bool(b)) => {
                *b = match value {
                    None => true,
                    Some(v) => parse_bool(v)
                        .ok_or_else(|| format!("invalid boolean value {v:?} for flag -{name}"))?,
                }
            }
            Some(Slot::Str(s)) => {
                *s = match value {
                    Some(v) => v.to_string(),
                    None => {
                        let v = args
                            .get(i)
                            .ok_or_else(|| format!("flag needs an argument: -{name}"))?;
                        i += 1;
                        utf8(v.as_ref(), &format!("flag -{name}"))?.to_string()
                    }
                }
            }
        }
    }
    if let Some(a) = args.get(i) {
        flags.action = utf8(a.as_ref(), "action")?.to_string();
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_command_line_of_containerd() {
        let f = parse(&[
            "-namespace",
            "k8s.io",
            "-address",
            "/run/containerd/containerd.sock",
            "-publish-binary",
            "/usr/bin/containerd",
            "-id",
            "c1",
            "-debug",
            "start",
        ])
        .unwrap();
        assert_eq!(
            f,
            Flags {
                debug: true,
                namespace: "k8s.io".into(),
                id: "c1".into(),
                address: "/run/containerd/containerd.sock".into(),
                publish_binary: "/usr/bin/containerd".into(),
                action: "start".into(),
                ..Default::default()
            }
        );
    }

    #[test]
    fn the_daemon_and_delete_command_lines() {
        let f = parse(&[
            "-namespace",
            "n",
            "-id",
            "c",
            "-address",
            "a",
            "-socket",
            "unix:///s",
        ])
        .unwrap();
        assert_eq!((f.socket.as_str(), f.action.as_str()), ("unix:///s", ""));
        assert!(!f.debug);
        let f = parse(&["-namespace", "n", "-bundle", "/b", "-id", "c", "delete"]).unwrap();
        assert_eq!((f.bundle.as_str(), f.action.as_str()), ("/b", "delete"));
    }

    #[test]
    fn go_flag_syntax() {
        let f = parse(&[
            "--namespace=ns",
            "-id=x=y",
            "--debug=false",
            "-info",
            "--",
            "-start",
        ])
        .unwrap();
        assert_eq!(f.namespace, "ns");
        assert_eq!(f.id, "x=y");
        assert!(!f.debug && f.info);
        // After "--" everything is an argument.
        assert_eq!(f.action, "-start");
        // An empty value is a value.
        assert_eq!(parse(&["-id", "", "start"]).unwrap().id, "");
        assert_eq!(parse(&["-id="]).unwrap().id, "");
        // Flags end at the first argument; the rest is ignored.
        let f = parse(&["start", "-debug"]).unwrap();
        assert!(!f.debug);
        assert_eq!(f.action, "start");
        assert_eq!(parse(&["-", "x"]).unwrap().action, "-");
        assert!(parse(&["-debug=T"]).unwrap().debug);
        assert!(!parse(&["-debug=0"]).unwrap().debug);
    }

    #[test]
    fn version_short_and_long() {
        assert!(parse(&["-v"]).unwrap().version);
        assert!(parse(&["--version"]).unwrap().version);
        assert!(!parse::<&str>(&[]).unwrap().version);
    }

    #[test]
    fn errors_name_the_flag() {
        let e = |a: &[&str]| parse(a).unwrap_err();
        assert_eq!(e(&["-bogus", "x"]), "flag provided but not defined: -bogus");
        assert_eq!(e(&["-id"]), "flag needs an argument: -id");
        assert_eq!(
            e(&["-namespace", "n", "-socket"]),
            "flag needs an argument: -socket"
        );
        assert_eq!(
            e(&["-debug=yes"]),
            "invalid boolean value \"yes\" for flag -debug"
        );
        assert_eq!(e(&["---id"]), "bad flag syntax: ---id");
        assert_eq!(e(&["-=x"]), "bad flag syntax: -=x");
    }

    #[test]
    fn non_utf8_values_are_refused() {
        use std::os::unix::ffi::OsStrExt;
        let bad = OsStr::from_bytes(b"\xff");
        let e = parse(&[OsStr::new("-id"), bad]).unwrap_err();
        assert!(e.starts_with("flag -id: not valid UTF-8"), "{e}");
    }
}
