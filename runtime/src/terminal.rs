//! The parent's side of container terminals: hand the pty master to the caller's
//! console socket (one message, the name as data, one SCM_RIGHTS fd: what go-runc
//! and conmon expect), or, for a foreground `run`/`exec` with no socket, proxy the
//! caller's terminal (raw mode, window size forwarded, restored on exit).

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::error::{Error, Result};
use crate::spawn::Init;
use crate::sys::pidfd;

/// Send the pty master to the unix socket at `path`.
pub fn send_to_console_socket(path: &Path, master: &OwnedFd) -> Result<()> {
    let stream =
        UnixStream::connect(path).map_err(|e| Error::path("connect to console socket", path, e))?;
    crate::sys::socket::send_with_fd(stream.as_raw_fd(), b"/dev/ptmx", master.as_raw_fd())
        .map_err(|e| Error::path("send pty to console socket", path, e.into_io()))?;
    Ok(())
}

/// Restores the caller's terminal settings on drop.
struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: termios is plain data filled by tcgetattr; isatty/tcsetattr on an fd.
        unsafe {
            if libc::isatty(fd) != 1 {
                return None;
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            // As runc (containerd/console's SetRaw): output processing stays on, so
            // the terminal still turns the process's bare "\n" (the pty's ONLCR is
            // cleared, see `prepare_foreground`) into a new line.
            raw.c_oflag |= libc::OPOST;
            libc::tcsetattr(fd, libc::TCSANOW, &raw);
            Some(RawMode { fd, saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring settings saved from the same fd.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Ready a pty that this runtime proxies in the foreground, before the process is
/// let go: the caller's window size, and ONLCR cleared (as runc's
/// `console.ClearONLCR`): the caller's own terminal already turns "\n" into
/// "\r\n" where it should, so the process's lines reach it as written.
pub(crate) fn prepare_foreground(from: RawFd, master: RawFd) {
    copy_winsize(from, master);
    // SAFETY: termios is plain data filled by tcgetattr; tcsetattr on our own fd.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(master, &mut t) == 0 {
            t.c_oflag &= !libc::ONLCR;
            libc::tcsetattr(master, libc::TCSANOW, &t);
        }
    }
}

/// Give the pty the caller's window size (a caller without one keeps consoleSize).
/// Done before the process is let go, so that it never reads a stale size.
fn copy_winsize(from: RawFd, to: RawFd) {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it, TIOCSWINSZ reads it.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        // A caller without a real size (0x0) keeps the configured consoleSize.
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 && (ws.ws_row, ws.ws_col) != (0, 0) {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Proxy stdin/stdout to the pty master until the process exits; forward signals
/// (SIGWINCH becomes a window size update). Returns the exit code.
pub fn proxy_until_exit(init: &Init, master: OwnedFd, mask: &libc::sigset_t) -> Result<i32> {
    let _raw = RawMode::enter(0);
    let sfd = crate::signals::signalfd(mask)?;
    let mut stdin_open = true;
    let mut buf = [0u8; 8192];
    let mut out = std::io::stdout().lock();
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
            libc::pollfd {
                fd: master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if stdin_open { 0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: four valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::last_os("poll"));
        }
        if fds[2].revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            // SAFETY: reading into our buffer.
            let got = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if got > 0 {
                let _ = out.write_all(&buf[..got as usize]);
                let _ = out.flush();
            }
        }
        if fds[3].revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            // SAFETY: reading into our buffer.
            let got = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if got > 0 {
                let _ = crate::sys::fs::write_all(master.as_raw_fd(), &buf[..got as usize]);
            } else {
                stdin_open = false;
            }
        }
        if fds[1].revents & libc::POLLIN != 0 {
            match crate::signals::read_signal(&sfd) {
                Some(libc::SIGWINCH) => copy_winsize(0, master.as_raw_fd()),
                Some(sig) => {
                    let _ = pidfd::send_signal(init.pidfd.as_raw_fd(), sig);
                }
                None => {}
            }
        }
        if fds[0].revents & libc::POLLIN != 0 {
            // Drain what the process wrote last.
            loop {
                let mut p = libc::pollfd {
                    fd: master.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, no wait.
                if unsafe { libc::poll(&mut p, 1, 0) } <= 0 || p.revents & libc::POLLIN == 0 {
                    break;
                }
                // SAFETY: reading into our buffer.
                let got =
                    unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if got <= 0 {
                    break;
                }
                let _ = out.write_all(&buf[..got as usize]);
            }
            let _ = out.flush();
            return init.wait();
        }
    }
}
