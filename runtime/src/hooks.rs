//! OCI hooks: run a hook with the container's state JSON on stdin, its own
//! `args` (argv[0] included) and `env` (without one, the runtime's environment,
//! as runc's hooks inherit it), a `timeout`, and optionally inside the
//! container's namespaces (entered through the init's pidfd before exec). A failure names the hook: `hooks.prestart[1] (/bin/x):
//! exit status 3: <stderr>`.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::spec;
use crate::sys::pidfd;

/// A hook, owned (saved in the state record for the hooks that run after create).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    pub path: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// None: the runtime's environment (or [`Env::fallback`]).
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub timeout: Option<i64>,
}

impl Hook {
    pub fn from_spec(h: &spec::Hook<'_>) -> Hook {
        Hook {
            path: h.path.to_string(),
            args: h.args.iter().map(|a| a.to_string()).collect(),
            env: h
                .env
                .as_ref()
                .map(|v| v.iter().map(|e| e.to_string()).collect()),
            timeout: h.timeout,
        }
    }
}

/// Hooks that run after create, kept in the state record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SavedHooks {
    #[serde(default)]
    pub start_container: Vec<Hook>,
    #[serde(default)]
    pub poststart: Vec<Hook>,
    #[serde(default)]
    pub poststop: Vec<Hook>,
}

impl SavedHooks {
    pub fn from_spec(h: Option<&spec::Hooks<'_>>) -> Option<SavedHooks> {
        let h = h?;
        let conv = |v: &[spec::Hook<'_>]| v.iter().map(Hook::from_spec).collect::<Vec<_>>();
        let s = SavedHooks {
            start_container: conv(&h.start_container),
            poststart: conv(&h.poststart),
            poststop: conv(&h.poststop),
        };
        (!s.start_container.is_empty() || !s.poststart.is_empty() || !s.poststop.is_empty())
            .then_some(s)
    }
}

/// Where a hook runs.
#[derive(Clone, Copy)]
pub enum Place {
    /// The runtime's namespaces.
    Runtime,
    /// The namespaces (CLONE_NEW* flags) of the process behind a pidfd.
    Container { pidfd: RawFd, flags: libc::c_int },
}

/// The environment and working directory of hooks, as runc gives them.
#[derive(Clone, Copy, Default)]
pub struct Env<'a> {
    /// For a hook without `env`: this environment instead of the runtime's
    /// (createContainer: the container process's, as in runc's init).
    pub fallback: Option<&'a [String]>,
    /// The working directory (None: the runtime's). runc runs the create hooks
    /// in the bundle, createContainer in the container's root (before pivot).
    /// With [`Place::Container`] it is entered after joining the namespaces.
    pub cwd: Option<&'a std::path::Path>,
}

/// [`run_all_in`] in the runtime's environment and directory (the unit tests').
#[cfg(test)]
fn run_all(kind: &str, hooks: &[Hook], state: &str, place: Place) -> Result<()> {
    run_all_in(kind, hooks, state, place, Env::default())
}

/// Run each hook of one kind in order, with an environment and working directory;
/// stop at the first failure.
pub fn run_all_in(
    kind: &str,
    hooks: &[Hook],
    state: &str,
    place: Place,
    env: Env<'_>,
) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        run_one(h, state, place, env)
            .map_err(|why| Error::Hook(format!("hooks.{kind}[{i}] ({}): {why}", h.path)))?;
    }
    Ok(())
}

fn run_one(h: &Hook, state: &str, place: Place, env: Env<'_>) -> std::result::Result<(), String> {
    let mut cmd = Command::new(&h.path);
    if let Some((argv0, rest)) = h.args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    if let Some(vars) = h.env.as_deref().or(env.fallback) {
        cmd.env_clear()
            .envs(vars.iter().filter_map(|e| e.split_once('=')));
    }
    let cwd = match env.cwd {
        Some(d) => Some(
            std::ffi::CString::new(d.as_os_str().as_encoded_bytes())
                .map_err(|_| format!("working directory {}: NUL byte", d.display()))?,
        ),
        None => None,
    };
    if let (Some(d), Place::Runtime) = (env.cwd, place) {
        cmd.current_dir(d);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills what the hook started too.
        .process_group(0);
    if let Place::Container { pidfd, flags } = place {
        crate::sys::process::join_before_exec(&mut cmd, pidfd, flags, cwd);
    }
    let mut child = cmd.spawn().map_err(|e| format!("start: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin must not block us: ignore EPIPE.
        let _ = stdin.write_all(state.as_bytes());
    }
    let mut stderr = child.stderr.take();
    let timeout = h
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let status = wait_timeout(&mut child, timeout)?;
    let mut err = String::new();
    if let Some(s) = stderr.as_mut() {
        // What the hook wrote, without waiting for any descendant holding the pipe.
        let _ = crate::sys::fd::set_nonblocking(s.as_fd());
        let mut buf = [0u8; 4096];
        if let Ok(n) = s.read(&mut buf) {
            err = String::from_utf8_lossy(&buf[..n]).into_owned();
        }
    }
    match status {
        Some(st) if st.success() => Ok(()),
        Some(st) => Err(format!(
            "{st}{}",
            if err.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", err.trim())
            }
        )),
        None => Err(format!(
            "timed out after {}s",
            timeout.map_or(0, |t| t.as_secs())
        )),
    }
}

/// Wait for the child, killing it after `timeout`; None when it timed out.
fn wait_timeout(
    child: &mut std::process::Child,
    timeout: Option<Duration>,
) -> std::result::Result<Option<std::process::ExitStatus>, String> {
    let Some(timeout) = timeout else {
        return child.wait().map(Some).map_err(|e| format!("wait: {e}"));
    };
    let fd = pidfd::open(child.id() as libc::pid_t).map_err(|e| format!("pidfd: {e}"))?;
    let deadline = Instant::now() + timeout;
    if crate::sys::poll::readable(fd.as_raw_fd(), Some(deadline)).unwrap_or(false) {
        return child.wait().map(Some).map_err(|e| format!("wait: {e}"));
    }
    // The hook's process group (its pgid is its pid).
    let _ = crate::sys::signal::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    let _ = child.wait();
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(args: &[&str], timeout: Option<i64>) -> Hook {
        Hook {
            path: "/bin/sh".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Some(vec!["GREETING=hi".into()]),
            timeout,
        }
    }

    #[test]
    fn hook_gets_state_args_and_env_only() {
        let dir = std::env::temp_dir().join(format!("fastrun-hook-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let script = format!(
            "echo \"$0 $1 $GREETING ${{HOME:-nohome}}\" > {0}; cat >> {0}",
            out.display()
        );
        let h = hook(&["custom0", "-c", &script], None);
        // With `sh -c SCRIPT`, $0 is the next argument: pass one.
        let mut h2 = h.clone();
        h2.args.push("zero".into());
        h2.args.push("one".into());
        run_all("prestart", &[h2], "{\"id\":\"x\"}", Place::Runtime).unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got, "zero one hi nohome\n{\"id\":\"x\"}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn failure_names_the_hook_and_stderr() {
        let h = hook(&["sh", "-c", "echo broken >&2; exit 3"], None);
        let e = run_all("createRuntime", &[h], "{}", Place::Runtime)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("hooks.createRuntime[0] (/bin/sh): exit status: 3"),
            "{e}"
        );
        assert!(e.ends_with(": broken"), "{e}");
    }

    #[test]
    fn timeout_kills_the_hook() {
        let h = hook(&["sh", "-c", "sleep 30"], Some(1));
        let e = run_all("poststart", &[h], "{}", Place::Runtime)
            .unwrap_err()
            .to_string();
        assert!(e.contains("timed out after 1s"), "{e}");
    }

    #[test]
    fn missing_hook_binary_is_a_clear_error() {
        let h = Hook {
            path: "/nonexistent/hook".into(),
            ..Default::default()
        };
        let e = run_all("prestart", &[h], "{}", Place::Runtime)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("hooks.prestart[0] (/nonexistent/hook): start:"),
            "{e}"
        );
    }
}
