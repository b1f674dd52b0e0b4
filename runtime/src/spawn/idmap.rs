//! User namespaces for idmapped mounts: a throwaway process is cloned into a new
//! user namespace, its maps are written, and an fd of the namespace is kept (the
//! namespace lives on through the fd after the process is gone).

use std::os::fd::{AsRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::plan::IdMaps;
use crate::sys::clone::{exit_now, fork_into, Side};
use crate::sys::{fs, pidfd};

/// A user namespace with `maps`, as an fd.
pub fn userns_fd(maps: &IdMaps) -> Result<OwnedFd> {
    let (rd, wr) = crate::sys::fd::pipe2(libc::O_CLOEXEC).map_err(|e| Error::Sys {
        op: "pipe for an idmap user namespace",
        source: e.into_io(),
    })?;
    let cloned = fork_into(libc::CLONE_NEWUSER as u64, None).map_err(|e| Error::Sys {
        op: "clone a user namespace for an idmapped mount",
        source: e.into_io(),
    })?;
    let c = match cloned {
        Side::Child => {
            // Wait (allocation-free) until the parent has what it needs.
            fs::close(wr.as_raw_fd());
            let mut b = [0u8; 1];
            let _ = fs::read(rd.as_raw_fd(), &mut b);
            exit_now(0)
        }
        Side::Parent(c) => c,
    };
    let pid = c.pid;
    let child = c.into_pidfd();
    drop(rd);
    let result = (|| {
        for (file, content) in [("uid_map", &maps.uid_map), ("gid_map", &maps.gid_map)] {
            let path = format!("/proc/{pid}/{file}");
            std::fs::write(&path, content)
                .map_err(|e| Error::path("mounts[].idmap: write", path, e))?;
        }
        let path = format!("/proc/{pid}/ns/user");
        std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(|e| Error::path("open", path, e))
    })();
    drop(wr);
    let _ = pidfd::wait(child.as_raw_fd());
    result
}
