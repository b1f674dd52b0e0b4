//! `SCMP_ACT_NOTIFY`: hand the filter's notify fd to the listener at
//! `linux.seccomp.listenerPath`, as runc does: one connection to the unix socket,
//! one message holding the `ContainerProcessState` JSON with the fd attached
//! (SCM_RIGHTS), `fds: ["seccompFd"]` naming it.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use super::Listener;
use crate::error::{Error, Result};

/// The OCI state the listener gets.
pub struct ContainerState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    /// "creating" for the init, "running" (or "created") for an exec'd process.
    pub status: &'a str,
    /// The container's init.
    pub pid: libc::pid_t,
    pub bundle: &'a std::path::Path,
    pub annotations: &'a [(String, String)],
}

/// The `ContainerProcessState` JSON (runtime-spec `config-linux.md`); `pid` is
/// the process that loaded the filter (the init, or an exec'd process).
pub fn process_state_json(l: &Listener, st: &ContainerState<'_>, pid: libc::pid_t) -> Vec<u8> {
    let mut state = serde_json::json!({
        "ociVersion": st.oci_version,
        "id": st.id,
        "status": st.status,
        "pid": st.pid,
        "bundle": st.bundle.to_string_lossy(),
    });
    if !st.annotations.is_empty() {
        let a: serde_json::Map<String, serde_json::Value> = st
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        state["annotations"] = serde_json::Value::Object(a);
    }
    let mut msg = serde_json::json!({
        "ociVersion": crate::OCI_SPEC_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "state": state,
    });
    if !l.metadata.is_empty() {
        msg["metadata"] = serde_json::Value::String(l.metadata.clone());
    }
    serde_json::to_vec(&msg).unwrap_or_default()
}

/// Connect to the listener and send the state with the notify fd; our copy of the
/// fd is closed afterwards (the listener then holds the only one).
pub fn send(l: &Listener, st: &ContainerState<'_>, pid: libc::pid_t, fd: OwnedFd) -> Result<()> {
    let at = |what: &str, e: std::io::Error| {
        Error::Config(format!(
            "linux.seccomp.listenerPath: {what} {}: {e}",
            l.path.display()
        ))
    };
    let sock = UnixStream::connect(&l.path).map_err(|e| at("connect to", e))?;
    let data = process_state_json(l, st, pid);
    let sent = crate::sys::socket::send_with_fd(sock.as_raw_fd(), &data, fd.as_raw_fd())
        .map_err(|e| at("send the notify fd to", e.into_io()))?;
    crate::sys::fs::write_all(sock.as_raw_fd(), &data[sent..])
        .map_err(|e| at("send the state to", e.into_io()))?;
    drop(fd);
    Ok(())
}

/// The file in a container's state directory holding its `linux.seccomp` (JSON),
/// for `exec`: the process joins the container's filter without the bundle.
pub const STATE_FILE: &str = "seccomp.json";
