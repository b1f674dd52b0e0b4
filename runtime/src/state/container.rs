//! A loaded container: its record, read under the id's lock (or without it, for
//! the read-only queries), and what the record says about it now: its status,
//! its cgroup, its OCI state. Every operation starts here instead of repeating
//! lock → load → match on the status.

use std::path::PathBuf;

use crate::cgroups::Cgroup;
use crate::context::{Context, State, Status};
use crate::error::{Error, Result};
use crate::sys::proc;

use super::{Lock, Record, Store, EXEC_FIFO};

/// One container's record, with the lock on its id when loaded for a change.
pub(crate) struct Container {
    pub store: Store,
    pub rec: Record,
    lock: Option<Lock>,
}

impl Container {
    /// Lock the id, then load its record: for operations that change the
    /// container (start, delete, pause, resume, update).
    pub fn load(ctx: &Context, id: &str) -> Result<Container> {
        let store = Store::new(&ctx.root);
        let lock = store.lock(id)?;
        let rec = store.load(id)?;
        Ok(Container {
            store,
            rec,
            lock: Some(lock),
        })
    }

    /// Load the record without the lock: for queries and signals, which must not
    /// wait behind a long create or delete.
    pub fn peek(ctx: &Context, id: &str) -> Result<Container> {
        let store = Store::new(&ctx.root);
        let rec = store.load(id)?;
        Ok(Container {
            store,
            rec,
            lock: None,
        })
    }

    /// The container's status now.
    pub fn status(&self) -> Status {
        status(&self.store, &self.rec)
    }

    /// Fail unless the container is in one of `allowed`: "cannot {op} container
    /// {id}: it is {status}" (", not {allowed}" when there is one).
    pub fn require(self, op: &str, allowed: &[Status]) -> Result<Self> {
        let s = self.status();
        if allowed.contains(&s) {
            return Ok(self);
        }
        let not = match allowed {
            [one] => format!(", not {}", one.as_str()),
            _ => String::new(),
        };
        Err(Error::InvalidState(format!(
            "cannot {op} container {}: it is {}{not}",
            self.rec.id,
            s.as_str()
        )))
    }

    /// The container's cgroup manager, when it has one.
    pub fn cgroup(&self) -> Option<Cgroup> {
        cgroup_of(&self.rec)
    }

    /// The container's cgroup, or an error naming the container.
    pub fn require_cgroup(&self) -> Result<Cgroup> {
        self.cgroup().ok_or_else(|| {
            Error::InvalidState(format!(
                "container {}: it has no cgroup (or the cgroup layout cannot be read)",
                self.rec.id
            ))
        })
    }

    /// A path in the container's state directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.store.root().join(&self.rec.id).join(name)
    }

    /// The OCI state.
    pub fn to_state(&self) -> State {
        to_state(&self.store, self.rec.clone())
    }

    /// The lock of a container loaded with [`Container::load`].
    pub fn held(&self) -> Result<&Lock> {
        self.lock
            .as_ref()
            .ok_or_else(|| Error::Internal(format!("container {}: not locked", self.rec.id)))
    }

    /// Release the lock (the record stays loaded).
    pub fn unlock(&mut self) {
        self.lock = None;
    }
}

/// The status of a recorded container.
pub(crate) fn status(store: &Store, rec: &Record) -> Status {
    if rec.pid == 0 {
        // Its create holds the id's lock until the record has the init's pid: a
        // record without one and without the lock is a create that died.
        return if store.is_locked(&rec.id) {
            Status::Creating
        } else {
            Status::Stopped
        };
    }
    if !proc::is_alive(rec.pid, Some(rec.start_time)) {
        return Status::Stopped;
    }
    let fifo = store.root().join(&rec.id).join(EXEC_FIFO);
    if fifo.exists() {
        return Status::Created;
    }
    if cgroup_of(rec).is_some_and(|cg| cg.is_frozen().unwrap_or(false)) {
        return Status::Paused;
    }
    Status::Running
}

/// The container's cgroup manager, when it has one.
pub(crate) fn cgroup_of(rec: &Record) -> Option<Cgroup> {
    let rel = rec.cgroup.as_ref()?;
    let cg = match rec.cgroup_layout.as_ref().filter(|l| l.still_mounted()) {
        Some(layout) => Cgroup::new(layout.clone(), rel),
        None => Cgroup::load(rel).ok()?,
    };
    // As at create: rootless, the named and unified hierarchies are best effort.
    Some(if crate::rootless::is_rootless() {
        cg.best_effort_extras()
    } else {
        cg
    })
}

/// The OCI state of a record.
pub(crate) fn to_state(store: &Store, rec: Record) -> State {
    let status = status(store, &rec);
    let exit_status = if status == Status::Stopped {
        crate::children::recorded_exit(store, &rec)
    } else {
        None
    };
    State {
        oci_version: rec.oci_version,
        id: rec.id,
        status,
        pid: if status == Status::Stopped {
            0
        } else {
            rec.pid
        },
        bundle: rec.bundle,
        rootfs: rec.rootfs,
        created: rec.created,
        owner: super::user_name(rec.owner_uid),
        annotations: rec.annotations,
        own_cgroup: rec.cgroup.is_some(),
        exit_status,
    }
}
