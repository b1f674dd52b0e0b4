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
            // The state is saved: let the init go on to block on the exec fifo.
            crate::trace::mark("commit");
            created.init.commit()?;
            Ok(created.init.pid)
        })();
        trace.finish(&r);
        r
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
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Send a signal to the init, or with `all` to every process of the container.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        crate::lifecycle::kill(self, id, signal, all)
    }

    /// Delete a stopped container; with `force`, kill it first. Deleting a missing
    /// container with `force` succeeds.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let trace = crate::trace::begin(self, "delete", id);
        let r = crate::lifecycle::delete(self, id, force);
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
        let r = crate::exec::exec(self, id, opts);
        trace.finish(&r);
        r
    }

    /// The host pids of every process in the container's cgroup, sorted (also after
    /// the init has exited; empty once the cgroup is gone).
    pub fn ps(&self, id: &str) -> Result<Vec<i32>> {
        crate::control::ps(self, id)
    }

    /// Freeze every process of a running container (`state` then reports `paused`).
    pub fn pause(&self, id: &str) -> Result<()> {
        crate::control::pause(self, id)
    }

    /// Thaw a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        crate::control::resume(self, id)
    }

    /// Change the resource limits of a created, running or paused container: the
    /// `--resources` document, then the individual options on top of it. Device
    /// rules are not changed.
    pub fn update(&self, id: &str, opts: &UpdateOptions) -> Result<()> {
        crate::control::update(self, id, opts)
    }

    /// One sample of the container's statistics, as the JSON object runc puts in
    /// the `data` field of a `stats` event.
    pub fn stats(&self, id: &str) -> Result<String> {
        crate::control::stats(self, id)
    }

    /// The same sample, typed (what a supervisor converts to its own format:
    /// containerd's shim builds its metrics protobuf from it).
    pub fn cgroup_stats(&self, id: &str) -> Result<crate::cgroups::Stats> {
        crate::control::cgroup_stats(self, id)
    }

    /// A registered OOM notifier for the container's cgroup (v1 `memory.oom_control`
    /// eventfd, v2 `memory.events`): poll its descriptor, then call
    /// [`crate::cgroups::oom::OomNotifier::take_pending`]. For a supervisor that
    /// watches many containers from one thread (containerd's shim).
    pub fn oom_notifier(&self, id: &str) -> Result<crate::cgroups::oom::OomNotifier> {
        crate::control::oom_notifier(self, id)
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
        crate::control::events(self, id, opts, sink)
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
