//! The state directory: `<root>/<id>/state.json` (written atomically: temp file +
//! rename, no fsync since the root lives on tmpfs and a reboot ends every container
//! anyway), `<root>/<id>/exec.fifo` while the container is created but not started,
//! and a lock against concurrent commands on one id.

mod container;
mod oci;
mod time;

pub(crate) use container::{cgroup_of, status, to_state, Container};
pub use oci::OciState;
pub use time::{rfc3339, rfc3339_now};

use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// File name of the create/start fifo inside a state directory.
pub const EXEC_FIFO: &str = "exec.fifo";
/// File name of the init's recorded exit status (`PID START_TIME CODE`), written by the
/// process that owned the init (libfastrun) when it exited.
pub const EXIT_STATUS: &str = "exit-status";
const STATE_FILE: &str = "state.json";

/// What later commands need to know about a container, saved at create.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub id: String,
    pub oci_version: String,
    /// Host pid of the init.
    pub pid: i32,
    /// Start time of the init (clock ticks since boot), against pid reuse.
    pub start_time: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339 (nanoseconds) creation time.
    pub created: String,
    /// Uid of the creator.
    pub owner_uid: u32,
    #[serde(default)]
    pub annotations: Vec<(String, String)>,
    /// The container's cgroup, relative to each hierarchy's root (`fastrun/<id>`).
    #[serde(default)]
    pub cgroup: Option<PathBuf>,
    /// Where the cgroup hierarchies were mounted when the container was made, so
    /// that later operations need not read mountinfo again (`cgroup_of`, checked
    /// with [`crate::cgroups::Layout::still_mounted`]; detected again otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_layout: Option<crate::cgroups::Layout>,
    /// The systemd unit holding that cgroup (the systemd cgroup driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
    /// The init runs in its own pid namespace (killing it kills everything).
    #[serde(default)]
    pub own_pid_ns: bool,
    /// The hooks that run after create (startContainer, poststart, poststop).
    #[serde(default)]
    pub hooks: Option<crate::hooks::SavedHooks>,
    /// The container's `process` as JSON: the base of `exec` without `--process`
    /// (the bundle's config.json may be gone, or the config came from memory).
    #[serde(default)]
    pub process: Option<String>,
}

/// The longest id: the state directory is named after it (NAME_MAX).
pub const MAX_ID_LEN: usize = 255;

/// Check a container id: `[a-zA-Z0-9_+-][a-zA-Z0-9_+.-]*`, at most [`MAX_ID_LEN`] bytes.
pub fn validate_id(id: &str) -> Result<()> {
    if id.len() > MAX_ID_LEN {
        return Err(Error::InvalidArgument(format!(
            "invalid container id {:?}...: it is {} bytes long, at most {MAX_ID_LEN} are allowed",
            id.chars().take(32).collect::<String>(),
            id.len()
        )));
    }
    let ok = !id.is_empty()
        && id.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-') || (i > 0 && b == b'.')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "invalid container id {id:?}: it must match [a-zA-Z0-9_+-][a-zA-Z0-9_+.-]*"
        )))
    }
}

/// The state root.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// An exclusive lock on one container id (flock on `<root>/.locks/<id>`), released
/// on drop. Every operation that changes a container takes it, create first of
/// all: the lock comes before the state directory, so claiming an id (lock, then
/// `mkdir`) is one step that no other operation can see half done.
pub struct Lock {
    file: fs::File,
    path: PathBuf,
}

/// The directory of the lock files under the state root (not a valid id: never
/// listed as a container).
const LOCK_DIR: &str = ".locks";

/// A record written by [`Store::stage`], not in place yet.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    dst: PathBuf,
    pid: i32,
    start_time: u64,
}

impl Staged {
    /// Whether it records this process (the pid and start time `rec` has now).
    pub fn is_of(&self, rec: &Record) -> bool {
        self.pid == rec.pid && self.start_time == rec.start_time
    }

    /// Put it in place of the current record (atomically).
    pub fn commit(self) -> Result<()> {
        fs::rename(&self.tmp, &self.dst).map_err(|e| Error::path("write state", &self.dst, e))
    }
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The state directory of `id` (validated).
    pub fn dir(&self, id: &str) -> Result<PathBuf> {
        validate_id(id)?;
        Ok(self.root.join(id))
    }

    /// Claim a new container's id: lock it, then create its state directory;
    /// fails if the id is taken. Returns the directory and the lock.
    pub fn create_dir(&self, id: &str) -> Result<(PathBuf, Lock)> {
        let dir = self.dir(id)?;
        let mut b = fs::DirBuilder::new();
        b.recursive(true).mode(0o700);
        b.create(&self.root)
            .map_err(|e| Error::path("create state root", &self.root, e))?;
        if crate::rootless::is_xdg_root(&self.root) {
            // As runc: sticky, so that the XDG runtime dir's cleanup leaves it.
            let mode = fs::Permissions::from_mode(0o1700);
            fs::set_permissions(&self.root, mode)
                .map_err(|e| Error::path("chmod state root", &self.root, e))?;
        }
        let lock = self.lock_id(id)?;
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyExists(id.to_string()))
            }
            Err(e) => {
                lock.forget_id();
                return Err(Error::path("create state directory", &dir, e));
            }
        }
        Ok((dir, lock))
    }

    /// Lock `id` whether or not it exists (the lock file is made as needed).
    fn lock_id(&self, id: &str) -> Result<Lock> {
        Ok(self
            .lock_id_with(id, libc::LOCK_EX)?
            .expect("a blocking flock either locks or fails"))
    }

    /// `lock_id` with the `flock` operation `op`: None when `op` has `LOCK_NB`
    /// and someone holds the lock.
    fn lock_id_with(&self, id: &str, op: libc::c_int) -> Result<Option<Lock>> {
        let locks = self.root.join(LOCK_DIR);
        let path = locks.join(id);
        loop {
            // (Again after a race: the last delete removes the empty directory.)
            match fs::DirBuilder::new().mode(0o700).create(&locks) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::path("create lock directory", &locks, e)),
            }
            // Read-only when it exists (flock needs no more): a state root that
            // became read-only still lets delete --force kill the container.
            let file = match fs::File::options()
                .read(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
            {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .mode(0o600)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(&path),
                other => other,
            };
            let file = match file {
                Ok(f) => f,
                // The directory went away between its mkdir and our open (a delete
                // removed it as empty): make it again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::path("open lock file", &path, e)),
            };
            match crate::sys::fd::flock(&file, op) {
                Ok(()) => {}
                Err(e) if e.0 == libc::EWOULDBLOCK && op & libc::LOCK_NB != 0 => return Ok(None),
                Err(e) => return Err(Error::path("lock", &path, e.into_io())),
            }
            // The holder before us may have removed the id and its lock file: then
            // ours is a file nobody else will lock; take the one at the path now.
            let same = match (file.metadata(), fs::metadata(&path)) {
                (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                _ => false,
            };
            if same {
                return Ok(Some(Lock { file, path }));
            }
        }
    }

    /// Lock an existing container's id if nobody holds the lock: None when
    /// someone does (or the container is gone).
    pub fn try_lock(&self, id: &str) -> Result<Option<Lock>> {
        let dir = self.dir(id)?;
        if !dir.is_dir() {
            return Ok(None);
        }
        let Some(lock) = self.lock_id_with(id, libc::LOCK_EX | libc::LOCK_NB)? else {
            return Ok(None);
        };
        if dir.is_dir() {
            return Ok(Some(lock));
        }
        // Deleted meanwhile: the lock file is one we made again; remove it, as `lock`.
        lock.forget_id();
        Ok(None)
    }

    /// Lock an existing container's id; NotFound when it does not exist.
    pub fn lock(&self, id: &str) -> Result<Lock> {
        let dir = self.dir(id)?;
        if !self.root.is_dir() {
            return Err(Error::NotFound(id.to_string()));
        }
        let lock = self.lock_id(id)?;
        if dir.is_dir() {
            return Ok(lock);
        }
        lock.forget_id();
        Err(Error::NotFound(id.to_string()))
    }

    /// Whether an operation holds the lock of `id` now (a create in progress);
    /// false once its process has died, whatever state it left.
    pub fn is_locked(&self, id: &str) -> bool {
        let path = self.root.join(LOCK_DIR).join(id);
        let Ok(file) = fs::File::options()
            .read(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
        else {
            return false;
        };
        crate::sys::fd::flock(&file, libc::LOCK_SH | libc::LOCK_NB).is_err()
    }

    /// Save a record atomically.
    pub fn save(&self, rec: &Record) -> Result<()> {
        self.stage(rec)?.commit()
    }

    /// Write a record beside the current one, for [`Staged::commit`] to put in its
    /// place later in one `rename` (create writes the record with the init's pid
    /// while the init sets itself up, and commits it once the init is ready).
    pub fn stage(&self, rec: &Record) -> Result<Staged> {
        let dir = self.dir(&rec.id)?;
        let tmp = dir.join(".state.json.tmp");
        let dst = dir.join(STATE_FILE);
        let json =
            serde_json::to_vec(rec).map_err(|e| Error::Internal(format!("encode state: {e}")))?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::path("write state", &tmp, e))?;
        f.write_all(&json)
            .map_err(|e| Error::path("write state", &tmp, e))?;
        Ok(Staged {
            tmp,
            dst,
            pid: rec.pid,
            start_time: rec.start_time,
        })
    }

    /// Load a record; NotFound when there is no such container.
    pub fn load(&self, id: &str) -> Result<Record> {
        let path = self.dir(id)?.join(STATE_FILE);
        let mut buf = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            Err(e) => return Err(Error::path("read state", &path, e)),
        };
        simd_json::serde::from_slice::<Record>(&mut buf).map_err(|e| Error::CorruptState {
            path,
            reason: e.to_string(),
        })
    }

    /// Every container id under the root (directories with a valid id), sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::path("list state root", &self.root, e)),
        };
        let mut ids: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|id| validate_id(id).is_ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Remove a container's state directory (idempotent), then its lock file
    /// (which the caller's lock proves it may).
    pub fn remove(&self, id: &str, lock: &Lock) -> Result<()> {
        let dir = self.dir(id)?;
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::path("remove state directory", &dir, e)),
        }
        lock.forget_id();
        Ok(())
    }
}

impl Lock {
    /// Remove the lock file (the id is gone); the lock itself holds until drop,
    /// and whoever waits for it then takes the next file (see `Store::lock_id`).
    /// The directory of lock files goes too once empty, so that a state root
    /// without containers is empty, as runc's is (a concurrent `lock_id` makes
    /// it again).
    fn forget_id(&self) {
        let _ = fs::remove_file(&self.path);
        if let Some(dir) = self.path.parent() {
            let _ = fs::remove_dir(dir);
        }
    }
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Lock({}, fd {})",
            self.path.display(),
            self.file.as_raw_fd()
        )
    }
}

/// The user name of a uid from the host's /etc/passwd, or the number.
pub fn user_name(uid: u32) -> String {
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                let u: u32 = f.nth(1)?.parse().ok()?;
                (u == uid).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_runc_rules() {
        for ok in ["a", "abc-123", "A_b+c.d", "0", "-x", "+y", "x.y.z"] {
            validate_id(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "../x", "a b", "a\0b", "ü"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_id(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn save_load_remove_round_trip() {
        let tmp = std::env::temp_dir().join(format!("fastrun-state-test-{}", std::process::id()));
        let store = Store::new(&tmp);
        let (_dir, lock) = store.create_dir("c1").unwrap();
        drop(lock);
        assert!(matches!(
            store.create_dir("c1"),
            Err(Error::AlreadyExists(_))
        ));
        let rec = Record {
            id: "c1".into(),
            pid: 42,
            created: rfc3339_now(),
            annotations: vec![("k".into(), "v \"q\"".into())],
            ..Default::default()
        };
        store.save(&rec).unwrap();
        assert_eq!(store.load("c1").unwrap(), rec);
        assert_eq!(store.ids().unwrap(), vec!["c1".to_string()]);
        let lock = store.lock("c1").unwrap();
        store.remove("c1", &lock).unwrap();
        store.remove("c1", &lock).unwrap();
        drop(lock);
        assert!(matches!(store.lock("c1"), Err(Error::NotFound(_))));
        assert!(matches!(store.load("c1"), Err(Error::NotFound(_))));
        fs::remove_dir_all(&tmp).unwrap();
    }

    /// A `try_lock` (libfastrun's reaper recording an exit status) racing a delete
    /// leaves no lock file behind: it may find the directory, then lock a lock file
    /// of its own making once the delete has removed both.
    #[test]
    fn try_lock_racing_a_delete_leaves_no_lock_file() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        for i in 0..300 {
            let id = format!("c{i}");
            drop(store.create_dir(&id).unwrap().1);
            let stop = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|s| {
                s.spawn(|| {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let _ = store.try_lock(&id);
                    }
                    // One more, after the delete.
                    assert!(store.try_lock(&id).unwrap().is_none());
                });
                std::thread::yield_now();
                let lock = store.lock(&id).unwrap();
                store.remove(&id, &lock).unwrap();
                drop(lock);
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            });
        }
        // The last delete removes the directory of lock files too.
        let left: Vec<_> = fs::read_dir(tmp.path().join(LOCK_DIR))
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "lock files left: {left:?}");
        assert!(!tmp.path().join(LOCK_DIR).exists(), "{LOCK_DIR} left");
    }
}
