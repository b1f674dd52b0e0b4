//! Process-wide calls: namespaces, resource usage, system constants, waits.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::{cvt, retry, SysResult};

/// `setns(fd, nstype)`.
pub fn setns(fd: RawFd, nstype: libc::c_int) -> SysResult<()> {
    // SAFETY: integer arguments; the kernel checks the fd.
    cvt(unsafe { libc::setns(fd, nstype) }).map(drop)
}

/// `unshare(flags)`.
pub fn unshare(flags: libc::c_int) -> SysResult<()> {
    // SAFETY: integer argument.
    cvt(unsafe { libc::unshare(flags) }).map(drop)
}

/// The CPUs this thread may run on (`sched_getaffinity`).
fn affinity() -> SysResult<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data; all-zero is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid out-pointer of the size given.
    cvt(unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) })?;
    Ok(set)
}

fn set_affinity(set: &libc::cpu_set_t) -> SysResult<()> {
    // SAFETY: `set` is a valid cpu_set_t of the size given.
    cvt(unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(set), set) }).map(drop)
}

/// Run `f` on a new thread that starts on another CPU than the caller's, beside it.
///
/// A new thread is queued on its creator's CPU and, behind a creator that keeps
/// running, waits there for it to yield (measured here, kernel 6.18 on 2 vCPUs: a
/// helper started 1.5 ms late, after its busy creator, in most spawns). For the
/// spawn the caller narrows its own affinity to its current CPU (the new thread
/// inherits that mask), then moves the new thread to the other CPUs it may use and
/// takes its own mask back: ~40 µs more than a plain spawn. A thread that runs
/// before the caller could move it (preempting it) moves itself first thing.
/// (A library host that changes the calling thread's affinity during those few
/// microseconds, from another thread, would see its change undone.) None when the caller
/// may use one CPU only or the thread cannot be made.
pub fn spawn_beside<T, F>(name: &str, stack: usize, f: F) -> Option<std::thread::JoinHandle<T>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    use std::os::unix::thread::JoinHandleExt;
    let all = affinity().ok()?;
    // SAFETY: sched_getcpu has no arguments.
    let cpu = unsafe { libc::sched_getcpu() };
    // SAFETY: CPU_COUNT/CPU_ISSET/CPU_SET/CPU_CLR/CPU_ZERO work on the sets we own.
    let (here, others) = unsafe {
        if cpu < 0 || !libc::CPU_ISSET(cpu as usize, &all) || libc::CPU_COUNT(&all) < 2 {
            return None;
        }
        let mut here: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut here);
        libc::CPU_SET(cpu as usize, &mut here);
        let mut others = all;
        libc::CPU_CLR(cpu as usize, &mut others);
        (here, others)
    };
    set_affinity(&here).ok()?;
    // The thread may run before the caller moves it (it would then hold the
    // caller's CPU for as long as `f` runs): it moves itself first.
    let handle = std::thread::Builder::new()
        .name(name.into())
        .stack_size(stack)
        .spawn(move || {
            let _ = set_affinity(&others);
            f()
        });
    if let Ok(h) = &handle {
        // SAFETY: the thread is alive (not joined), `others` is a valid set.
        unsafe {
            libc::pthread_setaffinity_np(
                h.as_pthread_t() as libc::pthread_t,
                std::mem::size_of_val(&others),
                &others,
            )
        };
    }
    let _ = set_affinity(&all);
    handle.ok()
}

/// `sysconf(name)` (None when unknown or unlimited).
pub fn sysconf(name: libc::c_int) -> Option<i64> {
    // SAFETY: integer argument.
    let v = unsafe { libc::sysconf(name) };
    (v > 0).then_some(v as i64)
}

/// This process's peak resident set size in KiB (`getrusage(RUSAGE_SELF)`).
pub fn max_rss_kib() -> SysResult<i64> {
    // SAFETY: rusage is plain data; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid out-pointer.
    cvt(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) })?;
    Ok(ru.ru_maxrss)
}

/// Become the subreaper of this process's descendants.
pub fn set_child_subreaper() -> SysResult<()> {
    // SAFETY: integer arguments.
    cvt(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(drop)
}

/// `waitpid(pid, WNOHANG)`: `Ok(Some(status))` when it was reaped, `Ok(None)` when
/// it still runs.
pub fn waitpid_nohang(pid: libc::pid_t) -> SysResult<Option<libc::c_int>> {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    let r = retry(|| cvt(unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) }))?;
    Ok((r != 0).then_some(status))
}

/// The pid of some exited child, without reaping it (`waitid(P_ALL, WEXITED |
/// WNOHANG | WNOWAIT)`); `Ok(None)` when none has exited.
pub fn exited_child() -> SysResult<Option<libc::pid_t>> {
    // SAFETY: siginfo_t is plain data; waitid fills it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    retry(|| {
        // SAFETY: `info` is a valid out-pointer.
        cvt(unsafe {
            libc::waitid(
                libc::P_ALL,
                0,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        })
    })?;
    // SAFETY: waitid filled `info` for a child event (or left si_pid 0).
    let pid = unsafe { info.si_pid() };
    Ok((pid != 0).then_some(pid))
}

/// `malloc_trim(0)`: hand freed heap back to the kernel.
pub fn malloc_trim() {
    // SAFETY: no arguments to check; glibc's allocator is the global one.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0)
    };
}

/// `mallopt(M_ARENA_MAX, n)`.
pub fn limit_malloc_arenas(n: libc::c_int) {
    // SAFETY: integer arguments.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, n)
    };
    #[cfg(not(target_env = "gnu"))]
    let _ = n;
}

/// Have `cmd`'s child join the namespaces `flags` of `pidfd` (a pidfd or a
/// namespace fd that stays open until the spawn), then chdir to `cwd`, before it
/// execs (a hook run "in the container").
pub fn join_before_exec(cmd: &mut Command, pidfd: RawFd, flags: libc::c_int, cwd: Option<CString>) {
    // SAFETY: the closure only calls setns and chdir (async-signal-safe) and
    // reads copies; joining a mount namespace resets the cwd: chdir after.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(pidfd, flags) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(d) = &cwd {
                if libc::chdir(d.as_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}
