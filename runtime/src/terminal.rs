//! The parent's side of container terminals: hand the pty master to the caller's
//! console socket (one message, the name as data, one SCM_RIGHTS fd: what go-runc
//! and conmon expect), or, for a foreground `run`/`exec` with no socket, proxy the
//! caller's terminal (raw mode, window size forwarded, restored on exit).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::error::{Error, Result};
use crate::spawn::Init;
use crate::sys::poll::{self, entry};
use crate::sys::signal::{read_signal, SigSet};
use crate::sys::{fs, pidfd, term};

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
        if !term::isatty(fd) {
            return None;
        }
        let saved = term::get_attr(fd)?;
        let mut raw = saved;
        term::make_raw(&mut raw);
        // As runc (containerd/console's SetRaw): output processing stays on, so
        // the terminal still turns the process's bare "\n" (the pty's ONLCR is
        // cleared, see `prepare_foreground`) into a new line.
        raw.c_oflag |= libc::OPOST;
        term::set_attr(fd, &raw);
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        term::set_attr(self.fd, &self.saved);
    }
}

/// Ready a pty that this runtime proxies in the foreground, before the process is
/// let go: the caller's window size, and ONLCR cleared (as runc's
/// `console.ClearONLCR`): the caller's own terminal already turns "\n" into
/// "\r\n" where it should, so the process's lines reach it as written.
pub(crate) fn prepare_foreground(from: RawFd, master: RawFd) {
    copy_winsize(from, master);
    if let Some(mut t) = term::get_attr(master) {
        t.c_oflag &= !libc::ONLCR;
        term::set_attr(master, &t);
    }
}

/// Give the pty the caller's window size (a caller without one keeps consoleSize).
/// Done before the process is let go, so that it never reads a stale size.
fn copy_winsize(from: RawFd, to: RawFd) {
    // A caller without a real size (0x0) keeps the configured consoleSize.
    if let Some(ws) = term::window_size(from).filter(|ws| (ws.ws_row, ws.ws_col) != (0, 0)) {
        let _ = term::set_window_size(to, &ws);
    }
}

/// Proxy stdin/stdout to the pty master until the process exits; forward signals
/// (SIGWINCH becomes a window size update). Returns the exit code.
pub fn proxy_until_exit(init: &Init, master: OwnedFd, mask: &SigSet) -> Result<i32> {
    let _raw = RawMode::enter(0);
    let sfd = crate::signals::signalfd(mask)?;
    let mut stdin_open = true;
    let mut buf = [0u8; 8192];
    let mut out = std::io::stdout().lock();
    loop {
        let mut fds = [
            entry(init.pidfd.as_raw_fd(), libc::POLLIN),
            entry(sfd.as_raw_fd(), libc::POLLIN),
            entry(master.as_raw_fd(), libc::POLLIN),
            entry(if stdin_open { 0 } else { -1 }, libc::POLLIN),
        ];
        poll::poll(&mut fds, None).map_err(|e| Error::Sys {
            op: "poll",
            source: e.into_io(),
        })?;
        if fds[2].revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            if let Ok(got @ 1..) = fs::read(master.as_raw_fd(), &mut buf) {
                let _ = out.write_all(&buf[..got]);
                let _ = out.flush();
            }
        }
        if fds[3].revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            match fs::read(0, &mut buf) {
                Ok(got @ 1..) => {
                    let _ = fs::write_all(master.as_raw_fd(), &buf[..got]);
                }
                _ => stdin_open = false,
            }
        }
        if fds[1].revents & libc::POLLIN != 0 {
            match read_signal(sfd.as_fd()) {
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
                let mut p = [entry(master.as_raw_fd(), libc::POLLIN)];
                let now = Some(std::time::Instant::now());
                if poll::poll(&mut p, now).unwrap_or(0) == 0 || p[0].revents & libc::POLLIN == 0 {
                    break;
                }
                match fs::read(master.as_raw_fd(), &mut buf) {
                    Ok(got @ 1..) => {
                        let _ = out.write_all(&buf[..got]);
                    }
                    _ => break,
                }
            }
            let _ = out.flush();
            return init.wait();
        }
    }
}
