//! Signal forwarding for the foreground commands (`run`, `exec` without
//! `--detach`): block what can be forwarded before the clone (the child unblocks
//! before exec), then relay every signal that arrives to the container process
//! through its pidfd until it exits.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};
use crate::spawn::Init;
use crate::sys::pidfd;

/// Parse a signal given as a number (`9`), a name (`KILL`) or `SIGKILL`, in any case,
/// or a real-time signal as `RTMIN+N` / `RTMAX-N` (with or without `SIG`).
/// Numbers must be in `0..=64`: 0 checks that the process exists (runc accepts it).
pub fn parse_signal(s: &str) -> Result<i32> {
    let bad = || Error::InvalidArgument(format!("unknown signal \"{s}\""));
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return match t.parse::<i32>() {
            Ok(n) if (0..=SIG_MAX).contains(&n) => Ok(n),
            _ => Err(bad()),
        };
    }
    let upper = t.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return rt_offset(rest, SIG_RTMIN, 1).ok_or_else(bad);
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return rt_offset(rest, SIG_MAX, -1).ok_or_else(bad);
    }
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
        .ok_or_else(bad)
}

/// The first real-time signal as userland (glibc, and runc/moby) numbers it.
const SIG_RTMIN: i32 = 34;
/// The last signal (`SIGRTMAX`).
const SIG_MAX: i32 = 64;

/// `""` → base; `"+N"` (for RTMIN) or `"-N"` (for RTMAX) → base ± N, within the RT range.
fn rt_offset(rest: &str, base: i32, dir: i32) -> Option<i32> {
    let n = if rest.is_empty() {
        0
    } else {
        let sign = if dir > 0 { '+' } else { '-' };
        let digits = rest.strip_prefix(sign)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<i32>().ok()?
    };
    let v = base.checked_add(dir.checked_mul(n)?)?;
    (SIG_RTMIN..=SIG_MAX).contains(&v).then_some(v)
}

/// Linux signal names without the `SIG` prefix.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The signals to forward: everything but SIGCHLD, the unblockable and the
/// synchronous fault signals.
pub(crate) fn forwardable() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data initialised by sigfillset/sigdelset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for s in [
            libc::SIGCHLD,
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
        ] {
            libc::sigdelset(&mut set, s);
        }
        set
    }
}

pub(crate) fn block(set: &libc::sigset_t) -> Result<libc::sigset_t> {
    // SAFETY: valid sigsets; the old mask is written to `old`.
    unsafe {
        let mut old: libc::sigset_t = std::mem::zeroed();
        if libc::pthread_sigmask(libc::SIG_BLOCK, set, &mut old) != 0 {
            return Err(Error::last_os("block signals"));
        }
        Ok(old)
    }
}

/// Dequeue every pending signal of `mask` (blocked): used before restoring the
/// mask once the container has exited.
pub(crate) fn drain_pending(mask: &libc::sigset_t) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid mask and timespec; the siginfo pointer may be null. Each call
    // dequeues one pending signal of the (blocked) mask, or fails with EAGAIN.
    while unsafe { libc::sigtimedwait(mask, std::ptr::null_mut(), &zero) } > 0 {}
}

pub(crate) fn restore(old: &libc::sigset_t) {
    // SAFETY: restoring a mask saved by `block`.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut()) };
}

/// A signalfd for `mask` (which must be blocked), close-on-exec.
pub(crate) fn signalfd(mask: &libc::sigset_t) -> Result<OwnedFd> {
    // SAFETY: signalfd over a valid mask; we own the returned fd.
    let sfd = unsafe { libc::signalfd(-1, mask, libc::SFD_CLOEXEC) };
    if sfd < 0 {
        return Err(Error::last_os("signalfd"));
    }
    // SAFETY: a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(sfd) })
}

/// Read one signal from a signalfd (None on a short or failed read).
pub(crate) fn read_signal(sfd: &OwnedFd) -> Option<i32> {
    // SAFETY: signalfd_siginfo is plain data; read fills it.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: `info` is valid for `size` bytes.
    let got = unsafe {
        libc::read(
            sfd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    (got == size as isize).then_some(info.ssi_signo as i32)
}

pub(crate) fn forward_until_exit(init: &Init, mask: &libc::sigset_t) -> Result<i32> {
    let sfd = signalfd(mask)?;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: init.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::last_os("poll"));
        }
        if fds[1].revents & libc::POLLIN != 0 {
            if let Some(sig) = read_signal(&sfd) {
                let _ = pidfd::send_signal(init.pidfd.as_raw_fd(), sig);
            }
        }
        if fds[0].revents & libc::POLLIN != 0 {
            return init.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_numbers() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("15").unwrap(), 15);
        assert_eq!(parse_signal("1").unwrap(), 1);
        assert_eq!(parse_signal("64").unwrap(), 64);
        assert_eq!(parse_signal("0").unwrap(), 0);
        for bad in ["65", "-1", "+9", "99999999999", "", " ", "9x"] {
            assert!(parse_signal(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn signal_names() {
        assert_eq!(parse_signal("KILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("SIGKILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("term").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("SigHup").unwrap(), libc::SIGHUP);
        assert_eq!(parse_signal("WINCH").unwrap(), libc::SIGWINCH);
        assert_eq!(parse_signal("CHLD").unwrap(), libc::SIGCHLD);
        for bad in ["SIG", "FOO", "SIGFOO", "KILLL", "SIGSIGKILL"] {
            let e = parse_signal(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn signal_realtime() {
        assert_eq!(parse_signal("RTMIN").unwrap(), 34);
        assert_eq!(parse_signal("SIGRTMIN").unwrap(), 34);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), 35);
        assert_eq!(parse_signal("sigrtmin+30").unwrap(), 64);
        assert_eq!(parse_signal("RTMAX").unwrap(), 64);
        assert_eq!(parse_signal("RTMAX-2").unwrap(), 62);
        for bad in [
            "RTMIN+31", "RTMIN-1", "RTMAX+1", "RTMAX-31", "RTMIN+", "RTMIN+x",
        ] {
            assert!(parse_signal(bad).is_err(), "{bad:?} accepted");
        }
    }
}
