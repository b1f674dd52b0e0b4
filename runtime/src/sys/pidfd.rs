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
pub fn wait(pidfd: libc::c_int) -> SysResult<libc::c_int> {
    super::retry(|| {
        // SAFETY: siginfo_t is plain data; zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` outlives the call; P_PIDFD (3) takes the fd as id.
        cvt(unsafe {
            libc::waitid(
                3 as libc::idtype_t,
                pidfd as libc::id_t,
                &mut info,
                libc::WEXITED,
            )
        })?;
        // SAFETY: after a successful waitid with WEXITED, si_status and si_code are set.
        let (code, status) = unsafe { (info.si_code, info.si_status()) };
        Ok(if code == libc::CLD_EXITED {
            (status & 0xff) << 8
        } else {
            status & 0x7f
        })
    })
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
