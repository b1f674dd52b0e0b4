//! The engine's public API: a [`Context`] (state root and global options) and the
//! lifecycle operations. The CLI, the C ABI and the benchmarks call only this.

use std::path::PathBuf;

use crate::error::{Error, Result};

pub use crate::context::{
    Context, CreateOptions, EventsOptions, ExecOptions, LogLevel, LogSink, State, Status,
    UpdateOptions, DEFAULT_ROOT,
};
pub use crate::signals::parse_signal;
pub use crate::spec::{absolute_bundle, validate_config};

impl Context {
    /// A context with the given state root.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Context {
            root: root.into(),
            ..Default::default()
        }
    }

    /// Create a container: its init exists and waits before the user program.
    /// Returns the init's host pid.
    pub fn create(&self, id: &str, opts: &CreateOptions) -> Result<i32> {
        let trace = crate::trace::begin(self, "create", id);
        let r = (|| {
            let created = crate::lifecycle::create(self, id, opts, true)?;
            Ok(created.init.pid)
        })();
        trace.finish(&r);
        r
    }

    /// [`Context::create`], the init owned by this process: the engine reaps it when
    /// it exits (a reaper thread, pidfds and `waitid(P_PIDFD)`: no other child of the
    /// process is touched) and records its exit status, which [`Context::wait`]
    /// returns and [`Context::state`] shows. For embedding hosts (libfastrun), whose
    /// process stays the init's parent. Returns the init's host pid.
    pub fn create_owned(&self, id: &str, opts: &CreateOptions) -> Result<i32> {
        let trace = crate::trace::begin(self, "create", id);
        let r = (|| {
            let created = crate::lifecycle::create(self, id, opts, true)?;
            let pid = created.init.pid;
            let fd = created.init.pidfd.try_clone().map_err(|e| Error::Sys {
                op: "dup the init's pidfd",
                source: e,
            })?;
            crate::children::adopt_init(&self.root, id, pid, created.record.start_time, fd)
                .inspect_err(|_| created.init.kill_and_reap())?;
            crate::trace::mark("commit");
            created.init.commit()?;
            Ok(pid)
        })();
        trace.finish(&r);
        r
    }

    /// Wait at most `timeout` (None: no limit) for the init of container `id` to exit
    /// and return its exit code (128+N when killed by signal N), or None when the time
    /// ran out. Every call returns the same code. For an init this process owns
    /// ([`Context::create_owned`]); for another, only a status recorded already (the
    /// container is stopped), else an error: only a parent learns how a child ended.
    pub fn wait(&self, id: &str, timeout: Option<std::time::Duration>) -> Result<Option<i32>> {
        crate::state::validate_id(id)?;
        crate::children::wait(&self.root, id, timeout)
    }

    /// A new pidfd (close-on-exec) on the init of container `id`, which this process
    /// owns ([`Context::create_owned`]): poll it for the init's exit (then
    /// [`Context::wait`] returns at once). The caller closes it; it must not reap the
    /// init with it (the engine does).
    pub fn init_pidfd(&self, id: &str) -> Result<std::os::fd::OwnedFd> {
        crate::state::validate_id(id)?;
        crate::children::init_pidfd(&self.root, id)
    }

    /// Let a created container's init run the user program.
    pub fn start(&self, id: &str) -> Result<()> {
        let trace = crate::trace::begin(self, "start", id);
        let r = crate::lifecycle::start(self, id);
        trace.finish(&r);
        r
    }

    /// Create and start a container, wait for it, and return its exit status
    /// (128+N when killed by signal N). Signals sent to the caller are forwarded.
    /// With `detach`, return 0 once started.
    pub fn run(&self, id: &str, opts: &CreateOptions, detach: bool) -> Result<i32> {
        let trace = crate::trace::begin(self, "run", id);
        let r = if detach {
            self.create(id, opts)
                .and_then(|_| self.start(id))
                .map(|()| 0)
        } else {
            crate::lifecycle::run(self, id, opts)
        };
        trace.finish(&r);
        r
    }

    /// The state of one container. A container whose create is still in
    /// progress does not exist yet, as under runc and crun (docs/compatibility.md):
    /// once create has returned, it is `created`.
    pub fn state(&self, id: &str) -> Result<State> {
        let st = crate::state::Container::peek(self, id)?.to_state();
        if st.status == Status::Creating {
            return Err(Error::NotFound(id.to_string()));
        }
        Ok(st)
    }

    /// The states of every container under the root.
    pub fn list(&self) -> Result<Vec<State>> {
        let store = crate::state::Store::new(&self.root);
        let mut out = Vec::new();
        for id in store.ids()? {
            match store.load(&id) {
                Ok(rec) => {
                    let st = crate::state::to_state(&store, rec);
                    // Still being created: not listed yet (see `state`).
                    if st.status != Status::Creating {
                        out.push(st);
                    }
                }
                // Gone meanwhile, or a create that died before its first record.
                Err(Error::NotFound(_)) => {}
                // One damaged record hides none of the others: listed as
                // `unknown`, the reason in the log (`state ID` says it too).
                Err(e @ Error::CorruptState { .. }) => {
                    self.warn(&e.to_string());
                    out.push(State::unknown(id));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Send a signal to the init, or with `all` to every process of the container.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        let trace = crate::trace::begin(self, "kill", id);
        let r = crate::lifecycle::kill(self, id, signal, all);
        trace.finish(&r);
        r
    }

    /// Delete a stopped container; with `force`, kill it first. Deleting a missing
    /// container with `force` succeeds.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let trace = crate::trace::begin(self, "delete", id);
        let r = crate::lifecycle::delete(self, id, force);
        if r.is_ok() {
            crate::children::forget(&self.root, id);
        }
        trace.finish(&r);
        r
    }
}

/// The default `config.json` that `spec` writes: runc's default (`runc spec`), with
/// `ociVersion` 1.0.2 so that every runtime (crun 1.8.1 accepts only 1.0.x) takes it.
/// With `rootless`, runc's rootless variant.
pub fn default_spec(rootless: bool) -> String {
    crate::spec::default_config_json(rootless)
}

impl Context {
    /// Run a new process in a running container. Returns its exit status, or 0
    /// once it runs with `detach`.
    pub fn exec(&self, id: &str, opts: &ExecOptions) -> Result<i32> {
        let trace = crate::trace::begin(self, "exec", id);
        let r = crate::exec::exec(self, id, opts).map(|o| match o {
            crate::exec::Outcome::Exited(code) => code,
            crate::exec::Outcome::Detached(_) => 0,
        });
        trace.finish(&r);
        r
    }

    /// Run a new process in a running container and return once it runs (`opts.detach`
    /// is implied): its host pid and a pidfd on it. The process is a child of the
    /// caller. With `reap`, the engine reaps it when it exits (as
    /// [`Context::create_owned`] does for inits; its status is dropped): the pidfd is
    /// then only for polling. Without, the caller owns it and must reap it
    /// (`waitid(P_PIDFD)` on the pidfd), else it stays a zombie, and in a container with
    /// its own pid namespace the init cannot exit.
    pub fn exec_detached(
        &self,
        id: &str,
        opts: &ExecOptions,
        reap: bool,
    ) -> Result<(i32, std::os::fd::OwnedFd)> {
        let trace = crate::trace::begin(self, "exec", id);
        let opts = ExecOptions {
            detach: true,
            ..opts.clone()
        };
        let r = crate::exec::exec(self, id, &opts).and_then(|o| match o {
            crate::exec::Outcome::Detached(child) => {
                let pid = child.pid;
                if !reap {
                    return Ok((pid, child.pidfd));
                }
                let dup = child.pidfd.try_clone().map_err(|e| Error::Sys {
                    op: "dup the exec'd process's pidfd",
                    source: e,
                });
                let dup = dup.inspect_err(|_| child.kill_and_reap())?;
                crate::children::adopt_exec(child.pidfd)?;
                Ok((pid, dup))
            }
            crate::exec::Outcome::Exited(_) => Err(Error::Internal(
                "a detached exec waited for its process".into(),
            )),
        });
        trace.finish(&r);
        r
    }

    /// The host pids of every process in the container's cgroup, sorted (also after
    /// the init has exited; empty once the cgroup is gone).
    pub fn ps(&self, id: &str) -> Result<Vec<i32>> {
        crate::cgroup_ops::ps(self, id)
    }

    /// Freeze every process of a running container (`state` then reports `paused`).
    pub fn pause(&self, id: &str) -> Result<()> {
        crate::cgroup_ops::pause(self, id)
    }

    /// Thaw a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        crate::cgroup_ops::resume(self, id)
    }

    /// Change the resource limits of a created, running or paused container: the
    /// `--resources` document, then the individual options on top of it. Device
    /// rules are not changed.
    pub fn update(&self, id: &str, opts: &UpdateOptions) -> Result<()> {
        crate::cgroup_ops::update(self, id, opts)
    }

    /// One sample of the container's statistics, as the JSON object runc puts in
    /// the `data` field of a `stats` event.
    pub fn stats(&self, id: &str) -> Result<String> {
        crate::cgroup_ops::stats(self, id)
    }

    /// The same sample, typed (what a supervisor converts to its own format:
    /// containerd's shim builds its metrics protobuf from it).
    pub fn cgroup_stats(&self, id: &str) -> Result<crate::cgroups::Stats> {
        crate::cgroup_ops::cgroup_stats(self, id)
    }

    /// A registered OOM notifier for the container's cgroup (v1 `memory.oom_control`
    /// eventfd, v2 `memory.events`): poll its descriptor, then call
    /// [`crate::cgroups::oom::OomNotifier::take_pending`]. For a supervisor that
    /// watches many containers from one thread (containerd's shim).
    pub fn oom_notifier(&self, id: &str) -> Result<crate::cgroups::oom::OomNotifier> {
        crate::cgroup_ops::oom_notifier(self, id)
    }

    /// runc's `events`: JSON lines (`{"type":"stats","id":..,"data":..}` and
    /// `{"type":"oom","id":..}`) handed to `sink` without a newline. With
    /// `opts.stats`, one stats line; otherwise a loop that ends when the container
    /// stops or is deleted, or when `sink` fails.
    pub fn events(
        &self,
        id: &str,
        opts: &EventsOptions,
        sink: &mut dyn FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        crate::cgroup_ops::events(self, id, opts, sink)
    }
}

/// The OCI runtime features document (`features`), as JSON.
pub fn features() -> Result<String> {
    Ok(crate::features::features_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_is_valid_json() {
        for rootless in [false, true] {
            let s = default_spec(rootless);
            let v: serde_json::Value = serde_json::from_str(&s).expect("valid JSON");
            // 1.0.x: the version every runtime accepts (crun 1.8.1 refuses others).
            assert!(v["ociVersion"].as_str().unwrap().starts_with("1.0."));
            assert_eq!(v["process"]["args"][0], "sh");
            assert_eq!(v["root"]["path"], "rootfs");
            let ns: Vec<&str> = v["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["type"].as_str().unwrap())
                .collect();
            assert_eq!(ns.contains(&"network"), !rootless);
            assert_eq!(ns.contains(&"user"), rootless);
            assert_eq!(v["linux"]["resources"].is_null(), rootless);
            assert_eq!(v["mounts"].as_array().unwrap().len(), 7);
        }
    }
}
