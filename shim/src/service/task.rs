//! containerd's task API (`containerd.task.v2/v3.Task`) on the service.

use super::*;

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
