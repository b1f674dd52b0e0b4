//! pidfds: race-free handles on processes (no pid reuse).

use super::{cvt, cvt_long, SysResult};

/// `pidfd_open(pid, 0)`, close-on-exec by default.
pub fn open(pid: libc::pid_t) -> SysResult<std::os::fd::OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = cvt_long(ret)? as libc::c_int;
    // SAFETY: pidfd_open returned a fresh fd we own.
    Ok(unsafe { super::fd::adopt(fd) })
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn send_signal(pidfd: libc::c_int, sig: libc::c_int) -> SysResult<()> {
    // SAFETY: plain syscall; a NULL siginfo is allowed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd,
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    cvt_long(ret).map(drop)
}

/// Wait for the process behind a pidfd to exit and reap it; returns the raw wait status
/// in `waitpid` encoding.
///
/// Also when the process was reaped by someone else first: a host that ignores SIGCHLD
/// (the kernel then reaps its children itself) or that reaps every child
/// (`waitpid(-1)`). The kernel (6.15+) keeps the exit status of a process for the
/// holders of a pidfd on it, which [`exit_info`] reads. Never reaps another process:
/// only the one behind `pidfd`. Allocates nothing (the container's child uses it).
pub fn wait(pidfd: libc::c_int) -> SysResult<libc::c_int> {
    wait_exited(pidfd, -1)?;
    // Exited: reaped now, or being released by the kernel (autoreap) a moment from now.
    for _ in 0..2000 {
        if let Some(status) = try_reap(pidfd)? {
            return Ok(status);
        }
        sleep_ms(1);
    }
    Err(super::Errno(libc::ECHILD))
}

/// Wait (poll) until the process behind `pidfd` has exited, at most `timeout_ms`
/// (-1: no limit). Returns whether it has. Retries on EINTR.
pub fn wait_exited(pidfd: libc::c_int, timeout_ms: libc::c_int) -> SysResult<bool> {
    let mut pfd = libc::pollfd {
        fd: pidfd,
        events: libc::POLLIN,
        revents: 0,
    };
    super::retry(|| {
        // SAFETY: one valid pollfd.
        cvt(unsafe { libc::poll(&mut pfd, 1, timeout_ms) })
    })
    .map(|n| n > 0)
}

/// The wait status of the process behind `pidfd` if it has exited: reaped now when it
/// is our child and a zombie, else read from the pidfd when someone else (the kernel,
/// the host) reaped it. `None` while it runs (or for the instant between its exit and
/// its release by the kernel). Never blocks.
pub fn try_reap(pidfd: libc::c_int) -> SysResult<Option<libc::c_int>> {
    // SAFETY: siginfo_t is plain data; zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = super::retry(|| {
        // SAFETY: `info` outlives the call; P_PIDFD (3) takes the fd as id.
        cvt(unsafe {
            libc::waitid(
                3 as libc::idtype_t,
                pidfd as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        })
    });
    match r {
        Ok(_) => {
            // SAFETY: after a successful waitid, si_pid is 0 when nothing was waited for.
            if unsafe { info.si_pid() } != 0 {
                // SAFETY: si_status and si_code are set when a child was waited for.
                let (code, status) = unsafe { (info.si_code, info.si_status()) };
                return Ok(Some(if code == libc::CLD_EXITED {
                    (status & 0xff) << 8
                } else {
                    status & 0x7f
                }));
            }
            // Running, or exited and being auto-reaped (EXIT_DEAD).
            exit_info(pidfd)
        }
        Err(super::Errno(libc::ECHILD)) => exit_info(pidfd),
        Err(e) => Err(e),
    }
}

/// `struct pidfd_info` of linux/pidfd.h (6.15+, 72 bytes: the fields up to
/// `coredump_mask`).
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pid: u32,
    tgid: u32,
    ppid: u32,
    ruid: u32,
    rgid: u32,
    euid: u32,
    egid: u32,
    suid: u32,
    sgid: u32,
    fsuid: u32,
    fsgid: u32,
    exit_code: i32,
    coredump_mask: u32,
    spare: u32,
}

/// `PIDFD_INFO_EXIT`.
const PIDFD_INFO_EXIT: u64 = 1 << 3;
/// `PIDFD_GET_INFO`: `_IOWR(0xFF, 11, struct pidfd_info)`.
const PIDFD_GET_INFO: libc::c_ulong =
    (3 << 30) | ((std::mem::size_of::<PidfdInfo>() as libc::c_ulong) << 16) | (0xFF << 8) | 11;

/// The wait status of a process that has exited and been reaped (by anyone), as the
/// kernel keeps it for pidfd holders (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`, Linux
/// 6.15+). `None` while it runs or before it is reaped; ECHILD when the kernel is too
/// old to tell.
pub fn exit_info(pidfd: libc::c_int) -> SysResult<Option<libc::c_int>> {
    let mut info = PidfdInfo {
        mask: PIDFD_INFO_EXIT,
        ..Default::default()
    };
    // SAFETY: `info` is a valid, writable struct pidfd_info of the size the request
    // encodes.
    let r = unsafe { libc::ioctl(pidfd, PIDFD_GET_INFO as _, &mut info) };
    if r < 0 {
        return match super::Errno::last() {
            // Gone without exit information: not reaped yet (autoreap in progress).
            super::Errno(libc::ESRCH) => Ok(None),
            // No PIDFD_GET_INFO (before 6.13): the status is lost.
            super::Errno(libc::ENOTTY) | super::Errno(libc::EINVAL) => {
                Err(super::Errno(libc::ECHILD))
            }
            e => Err(e),
        };
    }
    Ok((info.mask & PIDFD_INFO_EXIT != 0).then_some(info.exit_code))
}

fn sleep_ms(ms: i64) {
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: ms * 1_000_000,
    };
    // SAFETY: a valid timespec; the remainder may be NULL.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

/// An eventfd (close-on-exec, non-blocking) to wake a thread polling pidfds.
pub fn eventfd() -> SysResult<std::os::fd::OwnedFd> {
    // SAFETY: eventfd takes two integers.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: a fresh fd nothing else owns.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Add one to an eventfd (wakes its pollers).
pub fn eventfd_signal(fd: libc::c_int) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a valid u64.
    unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
}

/// Reset an eventfd to zero.
pub fn eventfd_drain(fd: libc::c_int) {
    let mut v: u64 = 0;
    // SAFETY: reads 8 bytes into a valid u64 (non-blocking).
    unsafe { libc::read(fd, (&mut v as *mut u64).cast(), 8) };
}

/// Poll `fds` (POLLIN) for at most `timeout_ms` (-1: no limit); their `revents` are
/// set. Retries on EINTR.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> SysResult<usize> {
    super::retry(|| {
        // SAFETY: `fds` is a valid array of pollfds of this length.
        cvt(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) })
    })
    .map(|n| n as usize)
}

/// Whether the process behind `pidfd` is a child of this process (ours to wait
/// for): `waitid` without waiting or reaping, which fails with ECHILD otherwise.
pub fn is_child(pidfd: libc::c_int) -> bool {
    // SAFETY: siginfo_t is plain data; zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` outlives the call; P_PIDFD (3) takes the fd as id. WNOHANG and
    // WNOWAIT: nothing is waited for or reaped.
    let ret = unsafe {
        libc::waitid(
            3 as libc::idtype_t,
            pidfd as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    ret == 0
}

/// Convert a waitpid-style status to a shell-style exit code (128+N for signal N).
pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}
