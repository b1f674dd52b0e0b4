//! `SCMP_ACT_NOTIFY`: hand the filter's notify fd to the listener at
//! `linux.seccomp.listenerPath`, as runc does: one connection to the unix socket,
//! one message holding the `ContainerProcessState` JSON with the fd attached
//! (SCM_RIGHTS), `fds: ["seccompFd"]` naming it.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use serde::Serialize;

use super::Listener;
use crate::error::{Error, Result};
use crate::state::OciState;

/// runc's `ContainerProcessState`: the fd names, the process that loaded the
/// filter, the container's OCI state and the listener's metadata.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessState<'a> {
    oci_version: &'a str,
    fds: [&'a str; 1],
    pid: libc::pid_t,
    state: &'a OciState<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    metadata: &'a str,
}

/// The `ContainerProcessState` JSON (runtime-spec `config-linux.md`); `pid` is
/// the process that loaded the filter (the init, or an exec'd process).
pub fn process_state_json(l: &Listener, st: &OciState<'_>, pid: libc::pid_t) -> Vec<u8> {
    serde_json::to_vec(&ProcessState {
        oci_version: crate::OCI_SPEC_VERSION,
        fds: ["seccompFd"],
        pid,
        state: st,
        metadata: &l.metadata,
    })
    .unwrap_or_default()
}

/// Connect to the listener and send the state with the notify fd; our copy of the
/// fd is closed afterwards (the listener then holds the only one).
pub fn send(l: &Listener, st: &OciState<'_>, pid: libc::pid_t, fd: OwnedFd) -> Result<()> {
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
    crate::sys::socket::send_all(sock.as_raw_fd(), &data[sent..])
        .map_err(|e| at("send the state to", e.into_io()))?;
    drop(fd);
    Ok(())
}

/// The file in a container's state directory holding its `linux.seccomp` (JSON),
/// for `exec`: the process joins the container's filter without the bundle.
pub const STATE_FILE: &str = "seccomp.json";
