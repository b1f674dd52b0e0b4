//! `create`: a container from containerd's request (rootfs mounts, stdio, the
//! engine's create), registered for reaping and events.

use super::*;

impl Service {
    pub(super) fn do_create(&self, req: &api::CreateTaskRequest) -> TtrpcResult<i32> {
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
}
