//! File-descriptor level file system calls, allocation-free.

use std::ffi::CStr;

use super::{cvt, cvt_long, retry, SysResult};

pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_IN_ROOT: u64 = 0x10;
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;

/// `openat2(dirfd, path, {flags, mode, resolve})`.
pub fn openat2(
    dirfd: libc::c_int,
    path: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
    resolve: u64,
) -> SysResult<libc::c_int> {
    // SAFETY: open_how is plain data; all-zero is valid before we set the fields.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.mode = mode as u64;
    how.resolve = resolve;
    let call = || {
        retry(|| {
            // SAFETY: `path` is NUL-terminated; `how` is a valid open_how of the size passed.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    dirfd,
                    path.as_ptr(),
                    &how as *const libc::open_how,
                    std::mem::size_of::<libc::open_how>(),
                )
            };
            cvt_long(ret).map(|fd| fd as libc::c_int)
        })
    };
    // With RESOLVE_IN_ROOT (or BENEATH), a ".." step fails with EAGAIN whenever a
    // rename or a mount happened anywhere on the system meanwhile: the kernel cannot
    // prove the walk stayed inside. Retrying is the documented answer; a bound
    // keeps a container that renames in a loop from stalling us forever.
    let mut tries = 0;
    loop {
        match call() {
            Err(super::Errno(libc::EAGAIN)) if tries < OPENAT2_EAGAIN_TRIES => tries += 1,
            r => return r,
        }
    }
}

/// How many times [`openat2`] retries a resolution that raced with a rename.
const OPENAT2_EAGAIN_TRIES: u32 = 1024;

/// `openat(dirfd, path, flags, mode)`; callers pass O_CLOEXEC.
pub fn openat(
    dirfd: libc::c_int,
    path: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> SysResult<libc::c_int> {
    // SAFETY: `path` is NUL-terminated.
    retry(|| cvt(unsafe { libc::openat(dirfd, path.as_ptr(), flags, mode as libc::c_uint) }))
}

/// `mkdirat(dirfd, path, mode)`.
pub fn mkdirat(dirfd: libc::c_int, path: &CStr, mode: libc::mode_t) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated.
    cvt(unsafe { libc::mkdirat(dirfd, path.as_ptr(), mode) }).map(drop)
}

/// `mknodat(dirfd, path, mode, dev)`.
pub fn mknodat(
    dirfd: libc::c_int,
    path: &CStr,
    mode: libc::mode_t,
    dev: libc::dev_t,
) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated.
    cvt(unsafe { libc::mknodat(dirfd, path.as_ptr(), mode, dev) }).map(drop)
}

/// `symlinkat(target, dirfd, path)`.
pub fn symlinkat(target: &CStr, dirfd: libc::c_int, path: &CStr) -> SysResult<()> {
    // SAFETY: both strings are NUL-terminated.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dirfd, path.as_ptr()) }).map(drop)
}

/// `fchownat(dirfd, path, uid, gid, AT_SYMLINK_NOFOLLOW)`.
pub fn fchownat(dirfd: libc::c_int, path: &CStr, uid: u32, gid: u32) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated.
    cvt(unsafe { libc::fchownat(dirfd, path.as_ptr(), uid, gid, libc::AT_SYMLINK_NOFOLLOW) })
        .map(drop)
}

/// `fchown(fd, uid, gid)` (`u32::MAX`: leave that id).
pub fn fchown(fd: libc::c_int, uid: u32, gid: u32) -> SysResult<()> {
    // SAFETY: fchown on an fd number; no memory involved.
    cvt(unsafe { libc::fchown(fd, uid, gid) }).map(drop)
}

/// `fstat(fd)`.
pub fn fstat(fd: libc::c_int) -> SysResult<libc::stat> {
    // SAFETY: stat is plain data, filled by the kernel on success.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

/// `fstatfs(fd)` magic number.
pub fn fstatfs_magic(fd: libc::c_int) -> SysResult<i64> {
    // SAFETY: statfs is plain data, filled by the kernel on success.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    cvt(unsafe { libc::fstatfs(fd, &mut st) })?;
    Ok(st.f_type as i64)
}

/// The magic number of procfs (`statfs.f_type`).
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// `statfs` magic of a v1 cgroup file system (linux/magic.h).
pub const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
/// `statfs` magic of cgroup2 (linux/magic.h).
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// `statfs(path)` magic number.
pub fn statfs_magic(path: &std::ffi::CStr) -> SysResult<i64> {
    // SAFETY: statfs is plain data, filled by the kernel on success.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `st` a valid out-pointer.
    cvt(unsafe { libc::statfs(path.as_ptr(), &mut st) })?;
    Ok(st.f_type as i64)
}

/// `close(fd)`, ignoring errors (the fd is gone either way on Linux).
pub fn close(fd: libc::c_int) {
    if fd >= 0 {
        // SAFETY: closing an fd the caller owns.
        unsafe { libc::close(fd) };
    }
}

/// `read(fd, buf)`, retrying on EINTR.
pub fn read(fd: libc::c_int, buf: &mut [u8]) -> SysResult<usize> {
    retry(|| {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        cvt_long(n as libc::c_long)
    })
    .map(|n| n as usize)
}

/// `write(fd, buf)`, retrying on EINTR.
pub fn write(fd: libc::c_int, buf: &[u8]) -> SysResult<usize> {
    // SAFETY: `buf` is valid for reads of its length.
    retry(|| cvt_long(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) } as libc::c_long))
        .map(|n| n as usize)
}

/// Write all of `buf` to `fd`.
pub fn write_all(fd: libc::c_int, mut buf: &[u8]) -> SysResult<()> {
    while !buf.is_empty() {
        let n = write(fd, buf)?;
        if n == 0 {
            return Err(super::Errno(libc::EIO));
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// `close_range(first, last, flags)`.
pub fn close_range(first: libc::c_uint, last: libc::c_uint, flags: libc::c_uint) -> SysResult<()> {
    // SAFETY: plain syscall with integer arguments.
    cvt_long(unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) }).map(drop)
}

/// `fchdir(fd)`.
pub fn fchdir(fd: libc::c_int) -> SysResult<()> {
    // SAFETY: plain syscall.
    cvt(unsafe { libc::fchdir(fd) }).map(drop)
}

/// `chdir(path)`.
pub fn chdir(path: &CStr) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated.
    cvt(unsafe { libc::chdir(path.as_ptr()) }).map(drop)
}

/// `chroot(path)`.
pub fn chroot(path: &CStr) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated.
    cvt(unsafe { libc::chroot(path.as_ptr()) }).map(drop)
}

/// `getcwd` into a caller buffer; returns the length (without NUL).
pub fn getcwd(buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: raw syscall writing at most buf.len() bytes into `buf`; it returns the
    // length including the NUL (or a negative errno via -1/errno).
    let ret = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
    let n = cvt_long(ret)? as usize;
    Ok(n.saturating_sub(1))
}

/// `faccessat(AT_FDCWD, path, W_OK, AT_EACCESS)`: may this process (effective ids)
/// write to `path` (for a directory: make entries in it)?
pub fn is_writable(path: &CStr) -> bool {
    // SAFETY: `path` is NUL-terminated.
    unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
}

/// Is `path` an executable regular file, for the effective ids (as `execve` will
/// check)? Called after a seccomp filter may be loaded: a check that the profile
/// denies (EPERM, ENOSYS) falls back to an older call (`faccessat2` → `faccessat`,
/// which uses the real ids: the same as the effective ones once the identity is
/// set) and, denied too, is skipped (`execve` then tells). Raw syscalls: glibc's
/// `faccessat` falls back only on ENOSYS.
pub fn is_executable(path: &CStr) -> SysResult<()> {
    let denied = |e: &super::Errno| matches!(e.0, libc::EPERM | libc::ENOSYS);
    // SAFETY: `path` is NUL-terminated; integer arguments.
    let access2 = cvt_long(unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::X_OK,
            libc::AT_EACCESS,
        )
    });
    let access = match access2 {
        Err(e) if denied(&e) => {
            // SAFETY: as above.
            cvt_long(unsafe {
                libc::syscall(
                    libc::SYS_faccessat,
                    libc::AT_FDCWD,
                    path.as_ptr(),
                    libc::X_OK,
                )
            })
        }
        r => r,
    };
    match access {
        Ok(_) => {}
        Err(e) if denied(&e) => {}
        Err(e) => return Err(e),
    }
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` a valid out-pointer.
    match cvt_long(unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            libc::AT_FDCWD,
            path.as_ptr(),
            &mut st as *mut libc::stat,
            0,
        )
    }) {
        Ok(_) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Err(super::Errno(libc::EACCES)),
        Ok(_) => Ok(()),
        Err(e) if denied(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reads a small kernel-made file (cgroupfs, /proc) whole: one `open`, reads into a
/// 4 KiB buffer (grown if needed) until EOF, `close`. `std::fs::read_to_string`
/// asks `statx` for a size first (0 for these files), then reads from a 32-byte
/// probe up in doubling steps: /proc/PID/stat took 6 reads and a statx.
pub fn read_small(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod read_small_tests {
    use super::read_small;

    #[test]
    fn reads_whole_files_of_any_size() {
        let dir = std::env::temp_dir().join(format!("fastrun-read-small-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for len in [0usize, 1, 4095, 4096, 4097, 20_000] {
            let text: String = (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let p = dir.join(format!("f{len}"));
            std::fs::write(&p, &text).unwrap();
            assert_eq!(read_small(&p).unwrap(), text, "{len} bytes");
        }
        // Kernel files report size 0: read to EOF all the same.
        assert_eq!(
            read_small("/proc/self/mountinfo").unwrap().lines().count(),
            std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap()
                .lines()
                .count()
        );
        let e = read_small(dir.join("missing")).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        std::fs::write(dir.join("bad"), b"\xff").unwrap();
        assert_eq!(
            read_small(dir.join("bad")).unwrap_err().kind(),
            std::io::ErrorKind::InvalidData
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
