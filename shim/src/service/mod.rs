//! The task service: containerd's task API on top of `fastrun_runtime::Context`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Condvar, Mutex, MutexGuard};

use containerd_shim_protos as protos;
use fastrun_runtime::{Context, CreateOptions, ExecOptions, UpdateOptions};
use protos::api;
use protos::events::task::{
    TaskCreate, TaskDelete, TaskExecAdded, TaskExecStarted, TaskExit, TaskIO, TaskOOM, TaskPaused,
    TaskResumed, TaskStart,
};
use protos::protobuf::well_known_types::any::Any;
use protos::protobuf::well_known_types::timestamp::Timestamp;
use protos::protobuf::{Message, MessageDyn, MessageField};
use protos::shim::oci::ProcessDetails;
use protos::topics;
use protos::ttrpc::{self, Code, TtrpcContext};

use crate::io::{Paths, Pending, ProcIo};
use crate::mount::{mount, unmount_rootfs};
use crate::publish::now;
use crate::{oom, reaper};

mod create;
mod task;
#[cfg(test)]
mod tests;

type TtrpcResult<T> = ttrpc::Result<T>;

fn status(code: Code, msg: impl Into<String>) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(code, msg.into()))
}

/// An engine error as a ttrpc status with the matching code.
fn engine(e: fastrun_runtime::Error) -> ttrpc::Error {
    use fastrun_runtime::ErrorKind as K;
    let code = match e.kind() {
        K::NotFound => Code::NOT_FOUND,
        K::InvalidArgument | K::InvalidConfig => Code::INVALID_ARGUMENT,
        K::Unsupported => Code::UNIMPLEMENTED,
        K::InvalidState => Code::FAILED_PRECONDITION,
        K::AlreadyExists => Code::ALREADY_EXISTS,
        _ => Code::UNKNOWN,
    };
    status(code, e.to_string())
}

fn not_found(what: &str) -> ttrpc::Error {
    status(Code::NOT_FOUND, format!("{what}: not found"))
}

fn oom_event(id: &str) -> Box<dyn MessageDyn> {
    let mut ev = TaskOOM::new();
    ev.container_id = id.to_string();
    Box::new(ev)
}

/// The type URL runc's shim gives an exec process's details in `pids` (containerd
/// registers the type under its protobuf name).
const PROCESS_DETAILS_TYPE: &str = "containerd.runc.v1.ProcessDetails";

/// `containerd.runc.v1.ProcessDetails {exec_id}` as runc's shim reports an exec
/// process in `pids` (ctr task ps shows it in the INFO column).
fn process_details(exec_id: &str) -> TtrpcResult<Any> {
    let mut d = ProcessDetails::new();
    d.exec_id = exec_id.to_string();
    let mut any = Any::new();
    any.type_url = PROCESS_DETAILS_TYPE.to_string();
    any.value = d
        .write_to_bytes()
        .map_err(|e| status(Code::INTERNAL, format!("encode ProcessDetails: {e}")))?;
    Ok(any)
}

/// Where the engine keeps container state for this namespace, unless the runtime
/// options name a `Root` (then `<Root>/<namespace>`, saved in this file of the
/// bundle for `delete` after a crash).
const ROOT_FILE: &str = "fastrun-root";

pub fn context_for(bundle: &Path, namespace: &str) -> Context {
    let root = std::fs::read_to_string(bundle.join(ROOT_FILE))
        .ok()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| default_root(namespace));
    Context::new(root)
}

fn default_root(namespace: &str) -> PathBuf {
    PathBuf::from("/run/containerd/fastrun").join(namespace)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PState {
    Created,
    Running,
    Stopped,
}

struct Proc {
    pid: i32,
    state: PState,
    exit_status: u32,
    exited_at: Option<Timestamp>,
    paths: Paths,
    io: Option<ProcIo>,
    /// exec: the OCI process JSON, until started.
    spec: Option<Vec<u8>>,
}

impl Proc {
    fn new(paths: Paths) -> Proc {
        Proc {
            pid: 0,
            state: PState::Created,
            exit_status: 0,
            exited_at: None,
            paths,
            io: None,
            spec: None,
        }
    }
}

struct Container {
    ctx: Context,
    bundle: PathBuf,
    mounted: bool,
    paused: bool,
    init: Proc,
    execs: HashMap<String, Proc>,
}

impl Container {
    fn proc_mut(&mut self, exec_id: &str) -> TtrpcResult<&mut Proc> {
        if exec_id.is_empty() {
            return Ok(&mut self.init);
        }
        self.execs
            .get_mut(exec_id)
            .ok_or_else(|| not_found(&format!("exec {exec_id}")))
    }
}

#[derive(Default)]
struct Tasks {
    containers: HashMap<String, Container>,
    /// pid → (container id, exec id or "").
    pids: HashMap<i32, (String, String)>,
}

type Event = (&'static str, Box<dyn MessageDyn>);

pub struct Service {
    namespace: String,
    tasks: Mutex<Tasks>,
    exited: Condvar,
    /// Engine operations in progress (they may wait for children of their own).
    busy: AtomicUsize,
    reap_lock: Mutex<()>,
    events: Mutex<Sender<Event>>,
    shutdown: (Mutex<bool>, Condvar),
    /// OOM notifiers of the containers (TaskOOM).
    oom: oom::Watcher,
}

/// Marks an engine operation in progress; a reap pass follows its end.
struct Busy<'a>(&'a Service);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let last = self.0.busy.fetch_sub(1, Ordering::SeqCst) == 1;
        self.0.reap_pass();
        if last {
            // Idle again: give the pages of what the operation freed back to the
            // kernel (a shim lives as long as its pod, mostly idle).
            fastrun_runtime::sys::process::malloc_trim();
        }
    }
}

impl Service {
    pub fn new(namespace: &str, ttrpc_address: &str) -> Result<Service, String> {
        let publisher = crate::publish::Publisher::connect(ttrpc_address)?;
        let (tx, rx) = channel::<Event>();
        let ns = namespace.to_string();
        // One thread publishes, in order, so that no event overtakes another and no
        // request waits for containerd.
        std::thread::Builder::new()
            .name("publisher".into())
            .spawn(move || {
                for (topic, ev) in rx {
                    if let Err(e) = publisher.publish(topic, &ns, ev.as_ref()) {
                        log::error!("publish {topic}: {e}");
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        let oom = oom::Watcher::new()?;
        Ok(Service {
            namespace: namespace.to_string(),
            tasks: Mutex::new(Tasks::default()),
            exited: Condvar::new(),
            busy: AtomicUsize::new(0),
            reap_lock: Mutex::new(()),
            events: Mutex::new(tx),
            shutdown: (Mutex::new(false), Condvar::new()),
            oom,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Tasks> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, topic: &'static str, ev: Box<dyn MessageDyn>) {
        let tx = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send((topic, ev));
    }

    fn busy(&self) -> Busy<'_> {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self)
    }

    pub fn wait_shutdown(&self) {
        let (m, c) = &self.shutdown;
        let mut done = m.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            done = c.wait(done).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The descriptor that is readable when a container may have had an OOM kill.
    pub fn oom_fd(&self) -> std::os::fd::RawFd {
        self.oom.fd()
    }

    /// Publish the OOM kills pending now.
    pub fn oom_pass(&self) {
        self.oom.dispatch(|id| {
            self.publish(topics::TASK_OOM_EVENT_TOPIC, oom_event(id));
        });
    }

    /// Reap every exited child we may reap now and record the exits.
    pub fn reap_pass(&self) {
        let _g = self.reap_lock.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(pid) = reaper::peek_exited() {
            let known = self.lock().pids.contains_key(&pid);
            if !known && self.busy.load(Ordering::SeqCst) > 0 {
                // Maybe a child the engine waits for itself: leave it.
                break;
            }
            if let Some(code) = reaper::try_reap(pid) {
                self.on_exit(pid, code);
            } else {
                break;
            }
        }
        // Registered processes behind an unknown zombie left for the engine.
        let pids: Vec<i32> = self.lock().pids.keys().copied().collect();
        for pid in pids {
            if let Some(code) = reaper::try_reap(pid) {
                self.on_exit(pid, code);
            }
        }
    }

    fn on_exit(&self, pid: i32, code: i32) {
        let mut t = self.lock();
        let Some((id, exec_id)) = t.pids.remove(&pid) else {
            return;
        };
        let Some(c) = t.containers.get_mut(&id) else {
            return;
        };
        let ctx = c.ctx.clone();
        let Ok(p) = c.proc_mut(&exec_id) else {
            return;
        };
        let ts = now();
        p.state = PState::Stopped;
        p.exit_status = code as u32;
        p.exited_at = Some(ts.clone());
        if let Some(io) = &p.io {
            io.close_stdin();
        }
        let mut ev = TaskExit::new();
        ev.container_id = id.clone();
        ev.id = if exec_id.is_empty() {
            id.clone()
        } else {
            exec_id.clone()
        };
        ev.pid = pid as u32;
        ev.exit_status = code as u32;
        ev.exited_at = MessageField::some(ts);
        // An OOM kill that caused this exit is reported before it (see `oom`).
        self.oom.take_pending(&id, || {
            self.publish(topics::TASK_OOM_EVENT_TOPIC, oom_event(&id));
        });
        if exec_id.is_empty() {
            // The init is gone: so is the container (as runc's shim, also when it
            // shares a pid namespace).
            let _ = ctx.kill(&id, libc::SIGKILL, true);
        }
        self.publish(topics::TASK_EXIT_EVENT_TOPIC, Box::new(ev));
        drop(t);
        self.exited.notify_all();
    }

    fn remove_container(&self, id: &str) -> TtrpcResult<(u32, u32, Timestamp)> {
        let mut t = self.lock();
        let c = t.containers.get(id).ok_or_else(|| not_found(id))?;
        if c.init.state == PState::Running {
            return Err(status(
                Code::FAILED_PRECONDITION,
                format!("cannot delete container {id}: it is running"),
            ));
        }
        let mut c = t.containers.remove(id).expect("checked above");
        let pid = c.init.pid;
        t.pids.retain(|_, (cid, _)| cid != id);
        drop(t);
        self.oom.remove(id);
        {
            let _busy = self.busy();
            if let Err(e) = c.ctx.delete(id, true) {
                log::warn!("delete {id}: {e}");
            }
        }
        for (_, p) in c.execs.drain() {
            if let Some(io) = p.io {
                io.close();
            }
        }
        if let Some(io) = c.init.io.take() {
            io.close();
        }
        if c.mounted {
            unmount_rootfs(&c.bundle.join("rootfs"));
        }
        let ts = c.init.exited_at.clone().unwrap_or_else(now);
        Ok((pid as u32, c.init.exit_status, ts))
    }
}
