//! Building the container's file system, child side. Every path inside the
//! container is resolved from an fd of the container's root with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, missing mount points are
//! created inside the root only, and mounts are attached to the opened fd with
//! `move_mount` (CVE-2021-30465, CVE-2024-45310). Nothing here allocates.

use std::ffi::{CStr, CString};

use crate::plan::{At, DeviceStep, InRootPath, LinkStep, MountKind, MountStep, RootfsPlan};
use crate::sys::fs::{self, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};
use crate::sys::mount_api::{self as m, MountAttr};
use crate::sys::{Errno, SysResult};

u32_enum! {
    /// Which sub-operation of a step failed (reported to the parent for the message).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Op {
        default None = 0,
        OpenTarget = 1,
        Fsopen = 2,
        Fsconfig = 3,
        Fsmount = 4,
        OpenTree = 5,
        Setattr = 6,
        MoveMount = 7,
        Propagation = 8,
        Mknod = 9,
        Chown = 10,
        Symlink = 11,
        Symlinked = 12,
        Idmap = 13,
    }
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::None => "",
            Op::OpenTarget => "open destination",
            Op::Fsopen => "fsopen",
            Op::Fsconfig => "fsconfig",
            Op::Fsmount => "fsmount",
            Op::OpenTree => "open_tree",
            Op::Setattr => "mount_setattr",
            Op::MoveMount => "move_mount",
            Op::Propagation => "set propagation",
            Op::Mknod => "mknod",
            Op::Chown => "chown",
            Op::Symlink => "symlink",
            Op::Symlinked => "destination is a symlink",
            Op::Idmap => "idmap (mount_setattr MOUNT_ATTR_IDMAP)",
        }
    }
}

/// A failure inside a step: the sub-operation, an argument index (e.g. the option)
/// and the errno.
#[derive(Debug, Clone, Copy)]
pub struct StepError {
    pub op: Op,
    pub arg: u32,
    pub errno: Errno,
}

fn at(op: Op) -> impl Fn(Errno) -> StepError {
    move |errno| StepError { op, arg: 0, errno }
}

pub use crate::sys::fd::Fd;

/// What to create when a path is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    No,
    Dir,
    File,
}

const RESOLVE: u64 = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
const OPATH: libc::c_int = libc::O_PATH | libc::O_CLOEXEC;

/// Open `p` inside `root` as an O_PATH fd, creating what is missing.
/// With `no_symlink`, a final component that is a symlink is refused (ELOOP).
pub fn open_in_root(
    root: libc::c_int,
    p: &InRootPath,
    create: Create,
    no_symlink: bool,
) -> SysResult<Fd> {
    open_parts(root, &p.rel, &p.prefixes, &p.names, create, no_symlink)
}

/// [`open_in_root`] on borrowed parts, so a parent directory (a prefix of the
/// parts) can be opened without building a new path.
fn open_parts(
    root: libc::c_int,
    rel: &CStr,
    prefixes: &[CString],
    names: &[CString],
    create: Create,
    no_symlink: bool,
) -> SysResult<Fd> {
    let last_flags = if no_symlink {
        OPATH | libc::O_NOFOLLOW
    } else {
        OPATH
    };
    let fd = match fs::openat2(root, rel, last_flags, 0, RESOLVE) {
        Ok(fd) => Fd(fd),
        Err(Errno(libc::ENOENT)) if create != Create::No && !names.is_empty() => {
            create_parts(root, prefixes, names, create, last_flags)?
        }
        Err(e) => return Err(e),
    };
    if no_symlink {
        let st = fs::fstat(fd.0)?;
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            return Err(Errno(libc::ELOOP));
        }
    }
    Ok(fd)
}

fn create_parts(
    root: libc::c_int,
    prefixes: &[CString],
    names: &[CString],
    create: Create,
    last_flags: libc::c_int,
) -> SysResult<Fd> {
    let n = names.len();
    // The deepest directory that exists, looked for from the end: usually only
    // the last name is missing (a mount point), so one open finds its parent
    // where a walk from the root took one per level.
    let mut first_missing = n - 1;
    let mut parent = loop {
        if first_missing == 0 {
            break Fd(fs::openat(root, c".", OPATH | libc::O_DIRECTORY, 0)?);
        }
        match fs::openat2(root, &prefixes[first_missing - 1], OPATH, 0, RESOLVE) {
            Ok(fd) => break Fd(fd),
            Err(Errno(libc::ENOENT)) => first_missing -= 1,
            Err(e) => return Err(e),
        }
    };
    for i in first_missing..n {
        let last = i + 1 == n;
        let flags = if last { last_flags } else { OPATH };
        if last && create == Create::File {
            let flags =
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
            match fs::openat(parent.0, &names[i], flags, 0o644) {
                Ok(fd) => fs::close(fd),
                Err(Errno(libc::EEXIST)) => {}
                Err(e) => return Err(e),
            }
        } else {
            match fs::mkdirat(parent.0, &names[i], 0o755) {
                Ok(()) | Err(Errno(libc::EEXIST)) => {}
                Err(e) => return Err(e),
            }
        }
        parent = Fd(fs::openat2(root, &prefixes[i], flags, 0, RESOLVE)?);
    }
    Ok(parent)
}

fn set_propagation(mnt: libc::c_int, propagation: u64, recursive: bool) -> Result<(), StepError> {
    if propagation == 0 {
        return Ok(());
    }
    let attr = MountAttr {
        propagation,
        ..Default::default()
    };
    let flags = libc::AT_EMPTY_PATH as libc::c_uint
        | if recursive {
            libc::AT_RECURSIVE as libc::c_uint
        } else {
            0
        };
    m::mount_setattr(mnt, c"", flags, &attr).map_err(at(Op::Propagation))
}

fn setattr(fd: libc::c_int, attr: &MountAttr, recursive: bool) -> Result<(), StepError> {
    if attr.attr_set == 0 && attr.attr_clr == 0 {
        return Ok(());
    }
    let flags = libc::AT_EMPTY_PATH as libc::c_uint
        | if recursive {
            libc::AT_RECURSIVE as libc::c_uint
        } else {
            0
        };
    m::mount_setattr(fd, c"", flags, attr).map_err(at(Op::Setattr))
}

/// Open the tree of a bind step (a detached clone of its source) and set its
/// attributes: in the child, or in the runtime before the clone (`preopen`).
pub fn open_bind_tree(step: &MountStep) -> Result<Fd, StepError> {
    let MountKind::Bind {
        source,
        recursive,
        procfs_only,
        attr,
        rec_attr,
        ..
    } = &step.kind
    else {
        return Err(at(Op::OpenTree)(Errno(libc::EINVAL)));
    };
    let mut flags = m::OPEN_TREE_CLONE | m::OPEN_TREE_CLOEXEC;
    if *recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let tree = Fd(m::open_tree(libc::AT_FDCWD, source, flags).map_err(at(Op::OpenTree))?);
    if *procfs_only && fs::fstatfs_magic(tree.0).map_err(at(Op::OpenTree))? != fs::PROC_SUPER_MAGIC
    {
        return Err(at(Op::OpenTree)(Errno(libc::EXDEV)));
    }
    setattr(tree.0, rec_attr, true)?;
    setattr(tree.0, attr, false)?;
    Ok(tree)
}

/// Perform one mount step inside `root`; `idmap_fds` are the user namespaces of
/// the plan's idmapped mounts, `trees` the bind trees the runtime opened; `last_fs`
/// the file system the last `Fs` step mounted (kept for the steps `At::InLastFs` and
/// `At::LastFs`, replaced by each `Fs` step).
pub fn mount(
    root: libc::c_int,
    step: &MountStep,
    idmap_fds: &[libc::c_int],
    trees: &[libc::c_int],
    proc_pidns: libc::c_int,
    last_fs: &mut Option<Fd>,
) -> Result<(), StepError> {
    let create = if step.dest_is_file {
        Create::File
    } else {
        Create::Dir
    };
    match &step.kind {
        MountKind::Fs {
            fstype,
            options,
            attrs,
        } => {
            let fsfd = Fd(m::fsopen(fstype).map_err(at(Op::Fsopen))?);
            if proc_pidns >= 0 && fstype.to_bytes() == b"proc" {
                // Mounted from outside the container's pid namespace: name it.
                m::fsconfig_fd(fsfd.0, c"pidns", proc_pidns).map_err(|errno| StepError {
                    op: Op::Fsconfig,
                    arg: u32::MAX,
                    errno,
                })?;
            }
            for (i, opt) in options.iter().enumerate() {
                let r = match &opt.value {
                    Some(v) => m::fsconfig_string(fsfd.0, &opt.key, v),
                    None => m::fsconfig_flag(fsfd.0, &opt.key),
                };
                r.map_err(|errno| StepError {
                    op: Op::Fsconfig,
                    arg: i as u32,
                    errno,
                })?;
            }
            m::fsconfig_create(fsfd.0).map_err(|errno| StepError {
                op: Op::Fsconfig,
                arg: u32::MAX,
                errno,
            })?;
            let mnt = Fd(m::fsmount(fsfd.0, *attrs).map_err(at(Op::Fsmount))?);
            attach(root, step, create, mnt.0, last_fs)?;
            set_propagation(mnt.0, step.propagation, false)?;
            *last_fs = Some(mnt);
            Ok(())
        }
        MountKind::Bind {
            recursive,
            idmap,
            preopen,
            ..
        } => {
            let own;
            // Opened by the runtime when it could (as the host's root), else here.
            let tree = match preopen.and_then(|k| trees.get(k).copied()) {
                Some(fd) => fd,
                None => {
                    own = open_bind_tree(step)?;
                    own.0
                }
            };
            if let Some((n, recursive)) = idmap {
                // Only a detached tree can be idmapped: before move_mount.
                let fd = idmap_fds.get(*n).copied().unwrap_or(-1);
                let attr = MountAttr {
                    attr_set: m::MOUNT_ATTR_IDMAP,
                    userns_fd: fd as u64,
                    ..Default::default()
                };
                let flags = libc::AT_EMPTY_PATH as libc::c_uint
                    | if *recursive {
                        libc::AT_RECURSIVE as libc::c_uint
                    } else {
                        0
                    };
                m::mount_setattr(tree, c"", flags, &attr).map_err(at(Op::Idmap))?;
            }
            attach(root, step, create, tree, last_fs)?;
            set_propagation(tree, step.propagation, *recursive)
        }
        MountKind::Setattr { attr, recursive } => match step.at {
            At::LastFs => setattr(last_fs_fd(last_fs)?, attr, *recursive),
            _ => {
                let target = open_target(root, step, Create::No)?;
                setattr(target.0, attr, *recursive)
            }
        },
    }
}

fn last_fs_fd(last_fs: &Option<Fd>) -> Result<libc::c_int, StepError> {
    // the plan puts these steps only after the Fs step they refer to
    last_fs
        .as_ref()
        .map(|f| f.0)
        .ok_or_else(|| at(Op::OpenTarget)(Errno(libc::EINVAL)))
}

/// Move the detached mount `mnt` onto the step's destination.
fn attach(
    root: libc::c_int,
    step: &MountStep,
    create: Create,
    mnt: libc::c_int,
    last_fs: &Option<Fd>,
) -> Result<(), StepError> {
    match step.at {
        At::InLastFs => {
            // A directory of our own in a tmpfs nothing else has touched yet.
            let dir = last_fs_fd(last_fs)?;
            let name = step
                .dest
                .names
                .last()
                .ok_or_else(|| at(Op::OpenTarget)(Errno(libc::EINVAL)))?;
            fs::mkdirat(dir, name, 0o755).map_err(at(Op::OpenTarget))?;
            m::move_mount_to(mnt, dir, name).map_err(at(Op::MoveMount))
        }
        At::LastFs => m::move_mount_fd(mnt, last_fs_fd(last_fs)?).map_err(at(Op::MoveMount)),
        At::Root => {
            let target = open_target(root, step, create)?;
            m::move_mount_fd(mnt, target.0).map_err(at(Op::MoveMount))
        }
    }
}

fn open_target(root: libc::c_int, step: &MountStep, create: Create) -> Result<Fd, StepError> {
    open_in_root(root, &step.dest, create, step.no_symlink).map_err(|errno| StepError {
        op: if errno == Errno(libc::ELOOP) && step.no_symlink {
            Op::Symlinked
        } else {
            Op::OpenTarget
        },
        arg: 0,
        errno,
    })
}

fn parent_and_name(root: libc::c_int, p: &InRootPath) -> Result<(Fd, &CStr), StepError> {
    let n = p.names.len();
    if n == 0 {
        return Err(at(Op::OpenTarget)(Errno(libc::EINVAL)));
    }
    let parent = if n == 1 {
        fs::openat(root, c".", OPATH | libc::O_DIRECTORY, 0).map(Fd)
    } else {
        open_parts(
            root,
            &p.prefixes[n - 2],
            &p.prefixes[..n - 1],
            &p.names[..n - 1],
            Create::Dir,
            false,
        )
    };
    Ok((parent.map_err(at(Op::OpenTarget))?, &p.names[n - 1]))
}

/// The parent directory of the last device node or link made, kept open for the
/// next one in the same directory (the defaults are all in /dev: one `openat2`
/// for the 11 of them instead of one each).
pub struct Parents<'p> {
    /// The parent's path relative to the root (`.` for the root itself).
    at: Option<&'p CStr>,
    fd: Fd,
}

impl<'p> Parents<'p> {
    pub fn new() -> Self {
        Parents {
            at: None,
            fd: Fd(-1),
        }
    }

    /// The parent directory of `p` (made if missing, as [`parent_and_name`]) and the
    /// last component's name.
    fn of(
        &mut self,
        root: libc::c_int,
        p: &'p InRootPath,
    ) -> Result<(libc::c_int, &'p CStr), StepError> {
        let n = p.names.len();
        let at: &'p CStr = if n <= 1 { c"." } else { &p.prefixes[n - 2] };
        if self.at.map(CStr::to_bytes) != Some(at.to_bytes()) {
            let (fd, _) = parent_and_name(root, p)?;
            self.fd = fd;
            self.at = Some(at);
        }
        Ok((self.fd.0, &p.names[n - 1]))
    }
}

impl Default for Parents<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Create one device node (or bind the host's inside a user namespace).
pub fn device<'p>(
    root: libc::c_int,
    d: &'p DeviceStep,
    parents: &mut Parents<'p>,
) -> Result<(), StepError> {
    if let Some(host) = &d.bind_from {
        let step_path = &d.path;
        let target =
            open_in_root(root, step_path, Create::File, true).map_err(at(Op::OpenTarget))?;
        let tree = Fd(m::open_tree(
            libc::AT_FDCWD,
            host,
            m::OPEN_TREE_CLONE | m::OPEN_TREE_CLOEXEC,
        )
        .map_err(at(Op::OpenTree))?);
        return m::move_mount_fd(tree.0, target.0).map_err(at(Op::MoveMount));
    }
    let (dir, name) = parents.of(root, &d.path)?;
    match fs::mknodat(dir, name, d.mode, d.dev) {
        Ok(()) => {}
        Err(Errno(libc::EEXIST)) => {
            // Keep an identical node; replace anything else.
            let fd = fs::openat(dir, name, OPATH | libc::O_NOFOLLOW, 0).map_err(at(Op::Mknod))?;
            let st = fs::fstat(fd);
            fs::close(fd);
            let st = st.map_err(at(Op::Mknod))?;
            if st.st_mode & libc::S_IFMT != d.mode & libc::S_IFMT || st.st_rdev != d.dev {
                let _ = crate::sys::fd::unlinkat(dir, name, 0);
                fs::mknodat(dir, name, d.mode, d.dev).map_err(at(Op::Mknod))?;
            }
        }
        Err(e) => return Err(at(Op::Mknod)(e)),
    }
    fs::fchownat(dir, name, d.uid, d.gid).map_err(at(Op::Chown))
}

/// Create one symlink; an existing entry is left as it is.
pub fn link<'p>(
    root: libc::c_int,
    l: &'p LinkStep,
    parents: &mut Parents<'p>,
) -> Result<(), StepError> {
    let (dir, name) = parents.of(root, &l.path)?;
    match fs::symlinkat(&l.target, dir, name) {
        Ok(()) | Err(Errno(libc::EEXIST)) => Ok(()),
        Err(e) => Err(at(Op::Symlink)(e)),
    }
}

/// Mask a path: an empty read-only tmpfs over a directory, the host's real
/// `/dev/null` (opened by the runtime, never the container's) over anything else.
/// Missing paths are skipped; symlinks are not followed.
pub fn mask(root: libc::c_int, p: &InRootPath, host_null: libc::c_int) -> Result<(), StepError> {
    let target = match open_in_root(root, p, Create::No, false) {
        Ok(fd) => fd,
        Err(Errno(libc::ENOENT)) => return Ok(()),
        Err(e) => return Err(at(Op::OpenTarget)(e)),
    };
    let st = fs::fstat(target.0).map_err(at(Op::OpenTarget))?;
    let ro =
        m::MOUNT_ATTR_RDONLY | m::MOUNT_ATTR_NOSUID | m::MOUNT_ATTR_NODEV | m::MOUNT_ATTR_NOEXEC;
    let mnt = if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        let fsfd = Fd(m::fsopen(c"tmpfs").map_err(at(Op::Fsopen))?);
        m::fsconfig_string(fsfd.0, c"size", c"0").map_err(at(Op::Fsconfig))?;
        m::fsconfig_create(fsfd.0).map_err(at(Op::Fsconfig))?;
        Fd(m::fsmount(fsfd.0, ro).map_err(at(Op::Fsmount))?)
    } else {
        let flags = m::OPEN_TREE_CLONE | m::OPEN_TREE_CLOEXEC | libc::AT_EMPTY_PATH as libc::c_uint;
        let tree = Fd(m::open_tree(host_null, c"", flags).map_err(at(Op::OpenTree))?);
        // A clone of the host's /dev keeps its peer group: with a shared root
        // propagation a mount over the mask would reach the host's /dev/null.
        set_propagation(tree.0, libc::MS_PRIVATE, false)?;
        tree
    };
    m::move_mount_fd(mnt.0, target.0).map_err(at(Op::MoveMount))
}

/// Make a path read-only (recursively, plus nosuid/nodev/noexec as runc does).
/// Missing paths are skipped.
pub fn make_readonly(root: libc::c_int, p: &InRootPath) -> Result<(), StepError> {
    let target = match open_in_root(root, p, Create::No, false) {
        Ok(fd) => fd,
        Err(Errno(libc::ENOENT)) => return Ok(()),
        Err(e) => return Err(at(Op::OpenTarget)(e)),
    };
    let flags = m::OPEN_TREE_CLONE
        | m::OPEN_TREE_CLOEXEC
        | libc::AT_EMPTY_PATH as libc::c_uint
        | libc::AT_RECURSIVE as libc::c_uint;
    let tree = Fd(m::open_tree(target.0, c"", flags).map_err(at(Op::OpenTree))?);
    let attr = MountAttr {
        attr_set: m::MOUNT_ATTR_RDONLY
            | m::MOUNT_ATTR_NOSUID
            | m::MOUNT_ATTR_NODEV
            | m::MOUNT_ATTR_NOEXEC,
        ..Default::default()
    };
    setattr(tree.0, &attr, true)?;
    m::move_mount_fd(tree.0, target.0).map_err(at(Op::MoveMount))
}

/// Make the mount at `/dev` of the root read-only (that mount only, as runc's
/// remount does), once what goes under it is in place.
pub fn dev_readonly(root: libc::c_int) -> Result<(), StepError> {
    let p = fs::openat2(root, c"dev", OPATH | libc::O_NOFOLLOW, 0, RESOLVE)
        .map_err(at(Op::OpenTarget))?;
    let target = Fd(p);
    let attr = MountAttr {
        attr_set: m::MOUNT_ATTR_RDONLY,
        ..Default::default()
    };
    setattr(target.0, &attr, false)
}

/// Switch to the new root: pivot_root and detach the old root, or (with
/// `no_pivot`) MS_MOVE the root over "/" and chroot.
pub fn switch_root(root: libc::c_int, plan: &RootfsPlan) -> SysResult<()> {
    fs::fchdir(root)?;
    if plan.no_pivot {
        hide_full_proc_and_sysfs(plan)?;
        m::mount(Some(c"."), c"/", None, libc::MS_MOVE, None)?;
        fs::chroot(c".")?;
    } else {
        // The old root, to act on it after the pivot: "." stays the new root
        // (only the final umount's lookup crosses into the mount stacked on it).
        let old_root = Fd(fs::openat(
            libc::AT_FDCWD,
            c"/",
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )?);
        m::pivot_root(c".", c".")?;
        // The old root is stacked on the new one: keep our unmount from
        // propagating to the host, then detach it. Made rslave through its own
        // fd, not ".": that would make the new root's mounts slaves too and cut
        // a bind with shared propagation from its source's peer group.
        fs::fchdir(old_root.0)?;
        m::mount(None, c".", None, libc::MS_SLAVE | libc::MS_REC, None)?;
        m::umount2(c".", libc::MNT_DETACH)?;
        drop(old_root);
    }
    fs::chdir(c"/")
}

/// Before a no-pivot chroot (runc's msMoveRoot): the kernel lets a nested user
/// namespace mount a fresh procfs or sysfs while a full one stays anywhere in the
/// mount namespace, and the host's stay under the chroot. Unmount each (its
/// unmount kept from propagating), or cover it with a tmpfs where it is locked.
fn hide_full_proc_and_sysfs(plan: &RootfsPlan) -> SysResult<()> {
    for p in &plan.no_pivot_hide {
        match m::mount(None, p, None, libc::MS_SLAVE | libc::MS_REC, None) {
            Ok(()) => {}
            // Gone with a parent unmounted before.
            Err(Errno(libc::ENOENT)) => continue,
            Err(e) => return Err(e),
        }
        match m::umount2(p, libc::MNT_DETACH) {
            Ok(()) => {}
            Err(Errno(libc::EINVAL)) | Err(Errno(libc::EPERM)) => {
                m::mount(Some(c"tmpfs"), p, Some(c"tmpfs"), 0, None)?
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Make "/" read-only (the root mount only, as runc does).
pub fn root_readonly() -> SysResult<()> {
    let attr = MountAttr {
        attr_set: m::MOUNT_ATTR_RDONLY,
        ..Default::default()
    };
    m::mount_setattr(libc::AT_FDCWD, c"/", 0, &attr)
}
