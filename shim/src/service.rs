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
use crate::{oom, reaper};

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

pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut t = Timestamp::new();
    t.seconds = d.as_secs() as i64;
    t.nanos = d.subsec_nanos() as i32;
    t
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

    fn do_create(&self, req: &api::CreateTaskRequest) -> TtrpcResult<i32> {
        if !req.checkpoint.is_empty() || !req.parent_checkpoint.is_empty() {
            return Err(status(
                Code::UNIMPLEMENTED,
                "checkpoint/restore is not supported by fastrun",
            ));
        }
        let opts = crate::options::decode(req.options.as_ref())
            .map_err(|e| status(Code::INVALID_ARGUMENT, e))?;
        if !opts.shim_cgroup.is_empty() || opts.io_uid != 0 || opts.io_gid != 0 {
            return Err(status(
                Code::INVALID_ARGUMENT,
                "runtime options ShimCgroup, IoUid and IoGid are not supported by fastrun's shim",
            ));
        }
        let bundle = PathBuf::from(&req.bundle);
        // As runc's shim: `<Root>/<namespace>`.
        let mut ctx = if opts.root.is_empty() {
            Context::new(default_root(&self.namespace))
        } else {
            let root = Path::new(&opts.root).join(&self.namespace);
            std::fs::write(bundle.join(ROOT_FILE), root.as_os_str().as_encoded_bytes())
                .map_err(|e| status(Code::INTERNAL, format!("save root: {e}")))?;
            Context::new(root)
        };
        ctx.systemd_cgroup = opts.systemd_cgroup;
        ctx.log = Some(std::sync::Arc::new(|level, msg: &str| match level {
            fastrun_runtime::LogLevel::Warning => log::warn!("{msg}"),
            fastrun_runtime::LogLevel::Debug => log::debug!("{msg}"),
        }));
        let paths = Paths {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        };
        let rootfs = bundle.join("rootfs");
        let mut mounted = false;
        for m in &req.rootfs {
            let _ = std::fs::create_dir_all(&rootfs);
            let r = mount(&m.type_, &m.source, &m.options, &rootfs);
            mounted = true;
            if let Err(e) = r {
                unmount_rootfs(&rootfs);
                return Err(status(Code::INTERNAL, format!("mount rootfs: {e}")));
            }
        }
        let fail = |e: ttrpc::Error| {
            if mounted {
                unmount_rootfs(&rootfs);
            }
            e
        };
        let pending = Pending::new(&paths).map_err(|e| fail(status(Code::INTERNAL, e)))?;
        let copts = CreateOptions {
            bundle: bundle.clone(),
            console_socket: pending.console_socket(),
            no_pivot: opts.no_pivot_root,
            no_new_keyring: opts.no_new_keyring,
            stdio: pending.stdio,
            ..Default::default()
        };
        let _busy = self.busy();
        let created = ctx.create(&req.id, &copts);
        let io = pending.finish(created.is_ok());
        let pid = match (created, io) {
            (Ok(pid), Ok(io)) => {
                // Without a memory controller there is nothing to watch.
                match ctx.oom_notifier(&req.id) {
                    Ok(n) => {
                        if let Err(e) = self.oom.add(&req.id, n) {
                            log::warn!("{e}");
                        }
                    }
                    Err(e) => log::warn!("no OOM events for {}: {e}", req.id),
                }
                let mut t = self.lock();
                let mut init = Proc::new(paths);
                init.pid = pid;
                init.io = Some(io);
                t.pids.insert(pid, (req.id.clone(), String::new()));
                t.containers.insert(
                    req.id.clone(),
                    Container {
                        ctx,
                        bundle,
                        mounted,
                        paused: false,
                        init,
                        execs: HashMap::new(),
                    },
                );
                pid
            }
            (Ok(_), Err(e)) => {
                let _ = ctx.delete(&req.id, true);
                return Err(fail(status(Code::INTERNAL, e)));
            }
            (Err(e), _) => return Err(fail(engine(e))),
        };
        Ok(pid)
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

impl protos::Task for Service {
    fn state(
        &self,
        _ctx: &TtrpcContext,
        req: api::StateRequest,
    ) -> TtrpcResult<api::StateResponse> {
        let mut t = self.lock();
        let c = t
            .containers
            .get_mut(&req.id)
            .ok_or_else(|| not_found(&req.id))?;
        let bundle = c.bundle.display().to_string();
        let paused = c.paused;
        let p = c.proc_mut(&req.exec_id)?;
        let mut r = api::StateResponse::new();
        r.id = req.id.clone();
        r.exec_id = req.exec_id.clone();
        r.bundle = bundle;
        r.pid = p.pid as u32;
        r.stdin = p.paths.stdin.clone();
        r.stdout = p.paths.stdout.clone();
        r.stderr = p.paths.stderr.clone();
        r.terminal = p.paths.terminal;
        r.set_status(match p.state {
            PState::Created => api::Status::CREATED,
            PState::Running if paused => api::Status::PAUSED,
            PState::Running => api::Status::RUNNING,
            PState::Stopped => api::Status::STOPPED,
        });
        r.exit_status = p.exit_status;
        if let Some(ts) = &p.exited_at {
            r.exited_at = MessageField::some(ts.clone());
        }
        Ok(r)
    }

    fn create(
        &self,
        _ctx: &TtrpcContext,
        req: api::CreateTaskRequest,
    ) -> TtrpcResult<api::CreateTaskResponse> {
        if self.lock().containers.contains_key(&req.id) {
            return Err(status(
                Code::ALREADY_EXISTS,
                format!("container {} already exists", req.id),
            ));
        }
        let pid = self.do_create(&req)?;
        let mut ev = TaskCreate::new();
        ev.container_id = req.id.clone();
        ev.bundle = req.bundle.clone();
        ev.rootfs = req.rootfs.clone();
        let mut io = TaskIO::new();
        io.stdin = req.stdin.clone();
        io.stdout = req.stdout.clone();
        io.stderr = req.stderr.clone();
        io.terminal = req.terminal;
        ev.io = MessageField::some(io);
        ev.pid = pid as u32;
        self.publish(topics::TASK_CREATE_EVENT_TOPIC, Box::new(ev));
        let mut r = api::CreateTaskResponse::new();
        r.pid = pid as u32;
        Ok(r)
    }

    fn start(
        &self,
        _ctx: &TtrpcContext,
        req: api::StartRequest,
    ) -> TtrpcResult<api::StartResponse> {
        if req.exec_id.is_empty() {
            let _busy = self.busy();
            // Held across the engine's start so that the exit (reaped under this
            // lock) cannot be published before TaskStart.
            let mut t = self.lock();
            let c = t
                .containers
                .get_mut(&req.id)
                .ok_or_else(|| not_found(&req.id))?;
            if c.init.state != PState::Created {
                return Err(status(
                    Code::FAILED_PRECONDITION,
                    format!("container {} is not created", req.id),
                ));
            }
            c.ctx.start(&req.id).map_err(engine)?;
            c.init.state = PState::Running;
            let pid = c.init.pid;
            let mut ev = TaskStart::new();
            ev.container_id = req.id.clone();
            ev.pid = pid as u32;
            self.publish(topics::TASK_START_EVENT_TOPIC, Box::new(ev));
            let mut r = api::StartResponse::new();
            r.pid = pid as u32;
            return Ok(r);
        }
        // An exec: spawn it now.
        let (ctx, bundle, spec, paths) = {
            let mut t = self.lock();
            let c = t
                .containers
                .get_mut(&req.id)
                .ok_or_else(|| not_found(&req.id))?;
            let ctx = c.ctx.clone();
            let bundle = c.bundle.clone();
            let p = c.proc_mut(&req.exec_id)?;
            if p.state != PState::Created {
                return Err(status(
                    Code::FAILED_PRECONDITION,
                    format!("exec {} was already started", req.exec_id),
                ));
            }
            let spec = p.spec.take().ok_or_else(|| not_found(&req.exec_id))?;
            (ctx, bundle, spec, p.paths.clone())
        };
        let spec_path = bundle.join(format!(".fastrun-exec-{}.json", req.exec_id));
        let pid_path = bundle.join(format!(".fastrun-exec-{}.pid", req.exec_id));
        std::fs::write(&spec_path, &spec)
            .map_err(|e| status(Code::INTERNAL, format!("write exec spec: {e}")))?;
        let pending = Pending::new(&paths).map_err(|e| status(Code::INTERNAL, e))?;
        let eopts = ExecOptions {
            process: Some(spec_path.clone()),
            console_socket: pending.console_socket(),
            tty: paths.terminal,
            detach: true,
            pid_file: Some(pid_path.clone()),
            stdio: pending.stdio,
            ..Default::default()
        };
        let _busy = self.busy();
        let r = ctx.exec(&req.id, &eopts);
        let _ = std::fs::remove_file(&spec_path);
        let pid = std::fs::read_to_string(&pid_path)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        let _ = std::fs::remove_file(&pid_path);
        let io = pending.finish(r.is_ok());
        if let Err(e) = r {
            let mut t = self.lock();
            if let Some(c) = t.containers.get_mut(&req.id) {
                c.execs.remove(&req.exec_id);
            }
            return Err(engine(e));
        }
        let pid = pid.ok_or_else(|| status(Code::INTERNAL, "exec: no pid"))?;
        let mut t = self.lock();
        let Some(c) = t.containers.get_mut(&req.id) else {
            return Err(not_found(&req.id));
        };
        let p = c.proc_mut(&req.exec_id)?;
        p.pid = pid;
        p.state = PState::Running;
        p.io = io.ok();
        t.pids.insert(pid, (req.id.clone(), req.exec_id.clone()));
        let mut ev = TaskExecStarted::new();
        ev.container_id = req.id.clone();
        ev.exec_id = req.exec_id.clone();
        ev.pid = pid as u32;
        self.publish(topics::TASK_EXEC_STARTED_EVENT_TOPIC, Box::new(ev));
        let mut r = api::StartResponse::new();
        r.pid = pid as u32;
        Ok(r)
    }

    fn delete(
        &self,
        _ctx: &TtrpcContext,
        req: api::DeleteRequest,
    ) -> TtrpcResult<api::DeleteResponse> {
        let mut r = api::DeleteResponse::new();
        if !req.exec_id.is_empty() {
            let mut t = self.lock();
            let c = t
                .containers
                .get_mut(&req.id)
                .ok_or_else(|| not_found(&req.id))?;
            let p = c.proc_mut(&req.exec_id)?;
            if p.state == PState::Running {
                return Err(status(
                    Code::FAILED_PRECONDITION,
                    format!("cannot delete exec {}: it is running", req.exec_id),
                ));
            }
            let p = c.execs.remove(&req.exec_id).expect("checked above");
            drop(t);
            r.pid = p.pid as u32;
            r.exit_status = p.exit_status;
            r.exited_at = MessageField::some(p.exited_at.unwrap_or_else(now));
            if let Some(io) = p.io {
                io.close();
            }
            return Ok(r);
        }
        let (pid, code, ts) = self.remove_container(&req.id)?;
        let mut ev = TaskDelete::new();
        ev.container_id = req.id.clone();
        ev.pid = pid;
        ev.exit_status = code;
        ev.exited_at = MessageField::some(ts.clone());
        self.publish(topics::TASK_DELETE_EVENT_TOPIC, Box::new(ev));
        r.pid = pid;
        r.exit_status = code;
        r.exited_at = MessageField::some(ts);
        Ok(r)
    }

    fn pids(&self, _ctx: &TtrpcContext, req: api::PidsRequest) -> TtrpcResult<api::PidsResponse> {
        let ctx = {
            let t = self.lock();
            t.containers
                .get(&req.id)
                .ok_or_else(|| not_found(&req.id))?
                .ctx
                .clone()
        };
        let pids = ctx.ps(&req.id).map_err(engine)?;
        // The exec processes among them, by pid (still running: not reaped yet).
        let execs: HashMap<i32, String> = self
            .lock()
            .pids
            .iter()
            .filter(|(_, (cid, exec_id))| *cid == req.id && !exec_id.is_empty())
            .map(|(pid, (_, exec_id))| (*pid, exec_id.clone()))
            .collect();
        let mut r = api::PidsResponse::new();
        for pid in pids {
            let mut p = protos::types::task::ProcessInfo::new();
            p.pid = pid as u32;
            if let Some(exec_id) = execs.get(&pid) {
                p.info = MessageField::some(process_details(exec_id)?);
            }
            r.processes.push(p);
        }
        Ok(r)
    }

    fn pause(&self, _ctx: &TtrpcContext, req: api::PauseRequest) -> TtrpcResult<api::Empty> {
        let mut t = self.lock();
        let c = t
            .containers
            .get_mut(&req.id)
            .ok_or_else(|| not_found(&req.id))?;
        c.ctx.pause(&req.id).map_err(engine)?;
        c.paused = true;
        let mut ev = TaskPaused::new();
        ev.container_id = req.id.clone();
        self.publish(topics::TASK_PAUSED_EVENT_TOPIC, Box::new(ev));
        Ok(api::Empty::new())
    }

    fn resume(&self, _ctx: &TtrpcContext, req: api::ResumeRequest) -> TtrpcResult<api::Empty> {
        let mut t = self.lock();
        let c = t
            .containers
            .get_mut(&req.id)
            .ok_or_else(|| not_found(&req.id))?;
        c.ctx.resume(&req.id).map_err(engine)?;
        c.paused = false;
        let mut ev = TaskResumed::new();
        ev.container_id = req.id.clone();
        self.publish(topics::TASK_RESUMED_EVENT_TOPIC, Box::new(ev));
        Ok(api::Empty::new())
    }

    fn kill(&self, _ctx: &TtrpcContext, req: api::KillRequest) -> TtrpcResult<api::Empty> {
        let mut t = self.lock();
        let c = t
            .containers
            .get_mut(&req.id)
            .ok_or_else(|| not_found(&req.id))?;
        let sig = req.signal as i32;
        if req.exec_id.is_empty() {
            if c.init.state == PState::Stopped && !req.all {
                return Err(not_found(&format!("process {}: already finished", req.id)));
            }
            let ctx = c.ctx.clone();
            let paused = c.paused;
            ctx.kill(&req.id, sig, req.all).map_err(engine)?;
            if paused && sig == libc::SIGKILL {
                // A frozen process dies only once thawed.
                let _ = ctx.resume(&req.id);
                c.paused = false;
            }
            return Ok(api::Empty::new());
        }
        let p = c.proc_mut(&req.exec_id)?;
        if p.state != PState::Running {
            return Err(not_found(&format!("exec {}: not running", req.exec_id)));
        }
        // Not reaped yet (we reap it under this lock): the pid is still this process.
        if let Err(e) = fastrun_runtime::sys::signal::kill(p.pid, sig) {
            return Err(status(
                Code::UNKNOWN,
                format!("kill exec {}: {}", req.exec_id, e.into_io()),
            ));
        }
        Ok(api::Empty::new())
    }

    fn exec(&self, _ctx: &TtrpcContext, req: api::ExecProcessRequest) -> TtrpcResult<api::Empty> {
        let mut t = self.lock();
        let c = t
            .containers
            .get_mut(&req.id)
            .ok_or_else(|| not_found(&req.id))?;
        if c.execs.contains_key(&req.exec_id) {
            return Err(status(
                Code::ALREADY_EXISTS,
                format!("exec {} already exists", req.exec_id),
            ));
        }
        if c.init.state == PState::Stopped {
            return Err(status(
                Code::FAILED_PRECONDITION,
                format!("container {} is stopped", req.id),
            ));
        }
        let spec = req
            .spec
            .as_ref()
            .map(|a| a.value.clone())
            .ok_or_else(|| status(Code::INVALID_ARGUMENT, "exec: spec missing"))?;
        let mut p = Proc::new(Paths {
            stdin: req.stdin.clone(),
            stdout: req.stdout.clone(),
            stderr: req.stderr.clone(),
            terminal: req.terminal,
        });
        p.spec = Some(spec);
        c.execs.insert(req.exec_id.clone(), p);
        let mut ev = TaskExecAdded::new();
        ev.container_id = req.id.clone();
        ev.exec_id = req.exec_id.clone();
        self.publish(topics::TASK_EXEC_ADDED_EVENT_TOPIC, Box::new(ev));
        Ok(api::Empty::new())
    }

    fn resize_pty(
        &self,
        _ctx: &TtrpcContext,
        req: api::ResizePtyRequest,
    ) -> TtrpcResult<api::Empty> {
        let mut t = self.lock();
        let c = t
            .containers
            .get_mut(&req.id)
            .ok_or_else(|| not_found(&req.id))?;
        let p = c.proc_mut(&req.exec_id)?;
        if let Some(io) = &p.io {
            io.resize(req.width, req.height)
                .map_err(|e| status(Code::FAILED_PRECONDITION, e))?;
        }
        Ok(api::Empty::new())
    }

    fn close_io(&self, _ctx: &TtrpcContext, req: api::CloseIORequest) -> TtrpcResult<api::Empty> {
        let mut t = self.lock();
        let c = t
            .containers
            .get_mut(&req.id)
            .ok_or_else(|| not_found(&req.id))?;
        let p = c.proc_mut(&req.exec_id)?;
        if let Some(io) = &p.io {
            io.close_stdin();
        }
        Ok(api::Empty::new())
    }

    fn update(&self, _ctx: &TtrpcContext, req: api::UpdateTaskRequest) -> TtrpcResult<api::Empty> {
        let ctx = {
            let t = self.lock();
            t.containers
                .get(&req.id)
                .ok_or_else(|| not_found(&req.id))?
                .ctx
                .clone()
        };
        let opts = UpdateOptions {
            resources_json: req.resources.as_ref().map(|a| a.value.clone()),
            ..Default::default()
        };
        ctx.update(&req.id, &opts).map_err(engine)?;
        Ok(api::Empty::new())
    }

    fn stats(
        &self,
        _ctx: &TtrpcContext,
        req: api::StatsRequest,
    ) -> TtrpcResult<api::StatsResponse> {
        let ctx = {
            let t = self.lock();
            let c = t
                .containers
                .get(&req.id)
                .ok_or_else(|| not_found(&req.id))?;
            if c.init.state == PState::Stopped {
                return Err(status(
                    Code::FAILED_PRECONDITION,
                    format!("container {} is stopped", req.id),
                ));
            }
            c.ctx.clone()
        };
        let stats = ctx.cgroup_stats(&req.id).map_err(engine)?;
        let m = crate::metrics::from_stats(&stats);
        // Named by hand: the crate's convert_to_any builds protobuf descriptors.
        let mut any = Any::new();
        any.type_url = "io.containerd.cgroups.v1.Metrics".to_string();
        any.value = m
            .write_to_bytes()
            .map_err(|e| status(Code::INTERNAL, e.to_string()))?;
        let mut r = api::StatsResponse::new();
        r.stats = MessageField::some(any);
        Ok(r)
    }

    fn connect(
        &self,
        _ctx: &TtrpcContext,
        req: api::ConnectRequest,
    ) -> TtrpcResult<api::ConnectResponse> {
        let t = self.lock();
        let mut r = api::ConnectResponse::new();
        r.shim_pid = std::process::id();
        r.task_pid = t.containers.get(&req.id).map_or(0, |c| c.init.pid as u32);
        r.version = env!("CARGO_PKG_VERSION").to_string();
        Ok(r)
    }

    fn shutdown(&self, _ctx: &TtrpcContext, _req: api::ShutdownRequest) -> TtrpcResult<api::Empty> {
        if !self.lock().containers.is_empty() {
            return Ok(api::Empty::new());
        }
        let (m, c) = &self.shutdown;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
        Ok(api::Empty::new())
    }

    fn wait(&self, _ctx: &TtrpcContext, req: api::WaitRequest) -> TtrpcResult<api::WaitResponse> {
        let mut t = self.lock();
        loop {
            let c = t
                .containers
                .get_mut(&req.id)
                .ok_or_else(|| not_found(&req.id))?;
            let p = c.proc_mut(&req.exec_id)?;
            if p.state == PState::Stopped {
                let mut r = api::WaitResponse::new();
                r.exit_status = p.exit_status;
                r.exited_at = MessageField::some(p.exited_at.clone().unwrap_or_else(now));
                return Ok(r);
            }
            t = self.exited.wait(t).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_details_as_runc_reports_them() {
        let any = process_details("e1").unwrap();
        assert_eq!(any.type_url, "containerd.runc.v1.ProcessDetails");
        // field 1 (exec_id), length-delimited, 2 bytes.
        assert_eq!(any.value, [0x0a, 2, b'e', b'1']);
    }
}
