//! The new mount API (Linux 5.2+, `mount_setattr` 5.12+): `fsopen`, `fsconfig`,
//! `fsmount`, `open_tree`, `move_mount`, `mount_setattr`. Mounting through file
//! descriptors is what makes mount targets race-free (CVE-2021-30465).

use std::ffi::CStr;

use super::{cvt_long, SysResult};

pub const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
pub const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
pub const FSCONFIG_SET_FLAG: libc::c_uint = 0;
pub const FSCONFIG_SET_STRING: libc::c_uint = 1;
pub const FSCONFIG_SET_FD: libc::c_uint = 5;
pub const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
pub const OPEN_TREE_CLONE: libc::c_uint = 1;
pub const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
pub const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
pub const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_IDMAP: u64 = 0x100000;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x200000;

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

/// `fsopen(fstype, FSOPEN_CLOEXEC)`.
pub fn fsopen(fstype: &CStr) -> SysResult<libc::c_int> {
    // SAFETY: `fstype` is a valid NUL-terminated string for the call's duration.
    let ret = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) };
    cvt_long(ret).map(|fd| fd as libc::c_int)
}

/// `fsconfig(fd, FSCONFIG_SET_FLAG, key, NULL, 0)`.
pub fn fsconfig_flag(fd: libc::c_int, key: &CStr) -> SysResult<()> {
    // SAFETY: `key` is NUL-terminated; value must be NULL for SET_FLAG.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_SET_FLAG,
            key.as_ptr(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    };
    cvt_long(ret).map(drop)
}

/// `fsconfig(fd, FSCONFIG_SET_STRING, key, value, 0)`.
pub fn fsconfig_string(fd: libc::c_int, key: &CStr, value: &CStr) -> SysResult<()> {
    // SAFETY: both strings are NUL-terminated and live through the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    cvt_long(ret).map(drop)
}

/// `fsconfig(fd, FSCONFIG_SET_FD, key, NULL, value)`.
pub fn fsconfig_fd(fd: libc::c_int, key: &CStr, value: libc::c_int) -> SysResult<()> {
    // SAFETY: `key` is NUL-terminated; value must be NULL for SET_FD.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_SET_FD,
            key.as_ptr(),
            std::ptr::null::<libc::c_char>(),
            value,
        )
    };
    cvt_long(ret).map(drop)
}

/// Whether this kernel mounts a procfs of a pid namespace given by fd (the
/// `pidns` parameter, Linux 6.18): a procfs for a pid namespace we are not in.
pub fn proc_takes_pidns() -> bool {
    let Ok(fs) = fsopen(c"proc") else {
        return false;
    };
    let ns = super::fs::openat(
        libc::AT_FDCWD,
        c"/proc/self/ns/pid",
        libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    );
    let ok = match ns {
        Ok(ns) => {
            let ok = fsconfig_fd(fs, c"pidns", ns).is_ok();
            super::fs::close(ns);
            ok
        }
        Err(_) => false,
    };
    super::fs::close(fs);
    ok
}

/// `fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)`.
pub fn fsconfig_create(fd: libc::c_int) -> SysResult<()> {
    // SAFETY: plain syscall; key and value must be NULL for CMD_CREATE.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fd,
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    };
    cvt_long(ret).map(drop)
}

/// `fsmount(fd, FSMOUNT_CLOEXEC, attrs)`: a detached mount of the configured superblock.
pub fn fsmount(fd: libc::c_int, attrs: u64) -> SysResult<libc::c_int> {
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fd,
            FSMOUNT_CLOEXEC,
            attrs as libc::c_uint,
        )
    };
    cvt_long(ret).map(|fd| fd as libc::c_int)
}

/// `open_tree(dirfd, path, flags)`.
pub fn open_tree(dirfd: libc::c_int, path: &CStr, flags: libc::c_uint) -> SysResult<libc::c_int> {
    // SAFETY: `path` is NUL-terminated and lives through the call.
    let ret = unsafe { libc::syscall(libc::SYS_open_tree, dirfd, path.as_ptr(), flags) };
    cvt_long(ret).map(|fd| fd as libc::c_int)
}

/// `move_mount(from_fd, "", to_dirfd, to_path, MOVE_MOUNT_F_EMPTY_PATH | flags)`.
fn move_mount(
    from_fd: libc::c_int,
    to_dirfd: libc::c_int,
    to_path: &CStr,
    flags: libc::c_uint,
) -> SysResult<()> {
    // SAFETY: both paths are NUL-terminated and live through the call; the fds are
    // owned by the caller.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from_fd,
            c"".as_ptr(),
            to_dirfd,
            to_path.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | flags,
        )
    };
    cvt_long(ret).map(drop)
}

/// Attach the detached mount `from_fd` onto the object `to_fd` refers to.
pub fn move_mount_fd(from_fd: libc::c_int, to_fd: libc::c_int) -> SysResult<()> {
    move_mount(from_fd, to_fd, c"", MOVE_MOUNT_T_EMPTY_PATH)
}

/// The detached tree `from_fd` onto `to_path` below `to_dirfd` (symlinks in it are
/// followed, as by any path walk: for directories the caller made itself).
pub fn move_mount_to(from_fd: libc::c_int, to_dirfd: libc::c_int, to_path: &CStr) -> SysResult<()> {
    move_mount(from_fd, to_dirfd, to_path, 0)
}

/// `mount_setattr(dirfd, path, flags, attr)`.
pub fn mount_setattr(
    dirfd: libc::c_int,
    path: &CStr,
    flags: libc::c_uint,
    attr: &MountAttr,
) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated and `attr` is a valid mount_attr; the size passed
    // is the struct's size (MOUNT_ATTR_SIZE_VER0 = 32).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            dirfd,
            path.as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    cvt_long(ret).map(drop)
}

/// Classic `mount(2)`.
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> SysResult<()> {
    let p = |s: Option<&CStr>| s.map_or(std::ptr::null(), |s| s.as_ptr());
    // SAFETY: every pointer is NULL or a NUL-terminated string alive for the call.
    let ret = unsafe {
        libc::mount(
            p(source),
            target.as_ptr(),
            p(fstype),
            flags,
            p(data) as *const libc::c_void,
        )
    };
    super::cvt(ret).map(drop)
}

/// `umount2(target, flags)`.
pub fn umount2(target: &CStr, flags: libc::c_int) -> SysResult<()> {
    // SAFETY: `target` is NUL-terminated.
    super::cvt(unsafe { libc::umount2(target.as_ptr(), flags) }).map(drop)
}

/// `pivot_root(new_root, put_old)`.
pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> SysResult<()> {
    // SAFETY: both paths are NUL-terminated.
    let ret = unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
    cvt_long(ret).map(drop)
}
