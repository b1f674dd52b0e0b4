//! `containerd-shim-fastrun-v2`: containerd's shim v2 task service over ttrpc,
//! driving the fastrun engine in-process (no runtime binary is executed per
//! operation). containerd runs it for `runtime_type = "io.containerd.fastrun.v2"`.
//!
//! The process model follows containerd's runc shim: `start` spawns one daemon per
//! pod (grouped by the `io.kubernetes.cri.sandbox-id` annotation) and prints its
//! ttrpc address; the daemon serves the task API, is a child subreaper, reaps the
//! container processes itself and publishes task events to containerd; `delete`
//! cleans up after a crashed daemon.

// No `unsafe` here: system calls go through `fastrun_runtime::sys`.
#![deny(unsafe_code)]

mod args;
mod io;
mod logger;
mod metrics;
mod mount;
mod oom;
mod options;
mod publish;
mod reaper;
mod service;
mod socket;

use std::io::Write;
use std::os::fd::IntoRawFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use args::Flags;
use containerd_shim_protos::protobuf::{Message, MessageField};
use containerd_shim_protos::shim::shim::DeleteResponse;
use containerd_shim_protos::shim::shim_ttrpc::create_task;
use containerd_shim_protos::ttrpc::Server;
use fastrun_runtime::sys;

/// The runtime id containerd knows this shim by.
pub const RUNTIME_ID: &str = "io.containerd.fastrun.v2";
/// The annotation the CRI plugin sets on every container of a pod.
const SANDBOX_ANNOTATION: &str = "io.kubernetes.cri.sandbox-id";

fn main() {
    let args: Vec<_> = std::env::args_os().collect();
    let flags = match args::parse(&args[1..]) {
        Ok(f) => f,
        Err(e) => fail(&e),
    };
    if flags.version {
        println!(
            "{}:\n  Version: {}",
            args[0].to_string_lossy(),
            env!("CARGO_PKG_VERSION")
        );
        return;
    }
    if flags.namespace.is_empty() {
        fail("shim namespace cannot be empty (-namespace)");
    }
    let r = match flags.action.as_str() {
        "start" => start(&flags),
        "delete" => delete(&flags),
        "" => serve(&flags),
        other => Err(format!("unknown action {other:?} (want start or delete)")),
    };
    if let Err(e) = r {
        fail(&e);
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("{RUNTIME_ID}: {msg}");
    std::process::exit(1)
}

/// The pod (or container) this shim instance serves: containers of one pod share
/// one daemon.
fn grouping(id: &str) -> String {
    let Ok(json) = std::fs::read("config.json") else {
        return id.to_string();
    };
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap_or_default();
    v["annotations"][SANDBOX_ANNOTATION]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or(id)
        .to_string()
}

/// The daemon's socket for this container's pod: (address, path).
fn daemon_socket(flags: &Flags) -> (String, String) {
    let group = grouping(&flags.id);
    let address = socket::address(&flags.address, &flags.namespace, &group);
    let path = address
        .strip_prefix("unix://")
        .unwrap_or(&address)
        .to_string();
    (address, path)
}

/// `start`: spawn the daemon (unless the pod's daemon already runs) and print its
/// address.
fn start(flags: &Flags) -> Result<(), String> {
    let (address, path) = daemon_socket(flags);
    // A running daemon for this pod: reuse it.
    if std::os::unix::net::UnixStream::connect(&path).is_ok() {
        write_address(&address)?;
        print!("{address}");
        return Ok(());
    }
    let _ = std::fs::remove_file(&path);
    spawn(flags, &address)?;
    write_address(&address)?;
    print!("{address}");
    std::io::stdout().flush().map_err(|e| e.to_string())
}

/// Runs this binary again as the daemon serving `address`, in the working
/// directory (the bundle), and waits until it serves: the daemon's stdout is a
/// pipe it closes once listening (what it writes before goes to our stderr).
/// The daemon's command line is the one containerd's shims use; it inherits the
/// environment (`TTRPC_ADDRESS` included).
fn spawn(flags: &Flags, address: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("spawn shim: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .args([
            "-namespace",
            &flags.namespace,
            "-id",
            &flags.id,
            "-address",
            &flags.address,
            "-socket",
            address,
        ]);
    if flags.debug {
        cmd.arg("-debug");
    }
    let mut child = cmd.spawn().map_err(|e| format!("spawn shim: {e}"))?;
    if let Some(mut out) = child.stdout.take() {
        std::io::copy(&mut out, &mut std::io::stderr())
            .map_err(|e| format!("spawn shim: read its stdout: {e}"))?;
    }
    Ok(())
}

/// containerd reads `address` in the bundle to reconnect after a restart.
fn write_address(address: &str) -> Result<(), String> {
    std::fs::write("address", address).map_err(|e| format!("write address: {e}"))
}

/// `delete`: the daemon is gone; remove what is left of the container and report
/// it as killed.
fn delete(flags: &Flags) -> Result<(), String> {
    let bundle = if flags.bundle.is_empty() {
        std::env::current_dir().map_err(|e| e.to_string())?
    } else {
        flags.bundle.clone().into()
    };
    let ctx = service::context_for(&bundle, &flags.namespace);
    if let Err(e) = ctx.delete(&flags.id, true) {
        eprintln!("{RUNTIME_ID}: delete {}: {e}", flags.id);
    }
    mount::unmount_rootfs(&bundle.join("rootfs"));
    // The dead daemon's socket: a later `start` for the same address replaces it,
    // but an id never used again would leave it in /run/containerd/s. Only when
    // nothing listens: a pod's daemon may still serve its other containers.
    let (_, path) = daemon_socket(flags);
    if std::os::unix::net::UnixStream::connect(&path).is_err() {
        let _ = std::fs::remove_file(&path);
    }
    let mut resp = DeleteResponse::new();
    resp.exit_status = 128 + libc::SIGKILL as u32;
    resp.exited_at = MessageField::some(publish::now());
    let bytes = resp.write_to_bytes().map_err(|e| e.to_string())?;
    std::io::stdout()
        .write_all(&bytes)
        .map_err(|e| e.to_string())
}

/// The daemon: serve the task API on `-socket` until shutdown.
fn serve(flags: &Flags) -> Result<(), String> {
    if flags.socket.is_empty() {
        return Err("shim socket cannot be empty (-socket)".into());
    }
    reaper::block_sigchld()?;
    sys::process::set_child_subreaper()
        .map_err(|e| format!("set child subreaper: {}", e.into_io()))?;
    // Writes to a fifo whose reader went away must fail, not kill the shim.
    sys::signal::ignore_sigpipe();
    // One malloc arena for all threads: the shim is mostly idle, and a per-thread
    // arena costs each of its threads pages of its own.
    sys::process::limit_malloc_arenas(1);
    if let Err(e) = logger::init(flags.debug) {
        eprintln!("{RUNTIME_ID}: logger: {e}");
    }
    let ttrpc_address = std::env::var("TTRPC_ADDRESS").map_err(|_| "TTRPC_ADDRESS not set")?;
    let svc = Arc::new(service::Service::new(&flags.namespace, &ttrpc_address)?);
    // The reaper thread calls back into the service: closures, so that the reaper
    // knows nothing of it (no service <-> reaper circle).
    let (oom, reap) = (svc.clone(), svc.clone());
    reaper::start(
        svc.oom_fd(),
        move || oom.oom_pass(),
        move || reap.reap_pass(),
    )?;

    let mut methods = create_task(svc.clone());
    // containerd 1.x speaks `containerd.task.v2.Task`, 2.x `v3`: the messages are
    // the same, so serve both names.
    let v2: Vec<_> = methods
        .keys()
        .filter(|k| k.starts_with("/containerd.task.v3.Task/"))
        .cloned()
        .collect();
    let mut v2_methods = create_task(svc.clone());
    for k in v2 {
        if let Some(h) = v2_methods.remove(&k) {
            methods.insert(k.replace(".v3.", ".v2."), h);
        }
    }
    let path = flags
        .socket
        .strip_prefix("unix://")
        .unwrap_or(&flags.socket)
        .to_string();
    if let Some(dir) = Path::new(&path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path)
        .map_err(|e| format!("listen on {path}: {e}"))?;
    let mut server = Server::new()
        .add_listener(listener.into_raw_fd())
        .map_err(|e| e.to_string())?
        .register_service(methods)
        // Few idle workers per connection (ttrpc wants default > min); the server
        // adds workers while all are busy (each Wait call blocks one): room for
        // many processes per pod.
        .set_thread_count_default(2)
        .set_thread_count_min(1)
        .set_thread_count_max(256);
    server.start().map_err(|e| e.to_string())?;
    // Tell `start` (reading our stdout to EOF) that the server is up.
    let _ = sys::fd::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO);
    svc.wait_shutdown();
    server.shutdown();
    let _ = std::fs::remove_file(&path);
    Ok(())
}
