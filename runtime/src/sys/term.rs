//! Terminal settings (termios) and window sizes.

use std::os::fd::RawFd;

/// Whether `fd` is a terminal.
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty takes an integer.
    unsafe { libc::isatty(fd) == 1 }
}

/// `tcgetattr(fd)`.
pub fn get_attr(fd: RawFd) -> Option<libc::termios> {
    // SAFETY: termios is plain data filled by tcgetattr.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid out-pointer.
    (unsafe { libc::tcgetattr(fd, &mut t) } == 0).then_some(t)
}

/// `tcsetattr(fd, TCSANOW, t)` (failure ignored: best effort).
pub fn set_attr(fd: RawFd, t: &libc::termios) {
    // SAFETY: `t` is a valid termios.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, t) };
}

/// `cfmakeraw`.
pub fn make_raw(t: &mut libc::termios) {
    // SAFETY: `t` is a valid termios.
    unsafe { libc::cfmakeraw(t) };
}

/// The window size of the terminal `fd` (`TIOCGWINSZ`).
pub fn window_size(fd: RawFd) -> Option<libc::winsize> {
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: `ws` is a valid out-pointer for TIOCGWINSZ.
    (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0).then_some(ws)
}

/// Set the window size of the terminal `fd` (`TIOCSWINSZ`).
pub fn set_window_size(fd: RawFd, ws: &libc::winsize) -> super::SysResult<()> {
    // SAFETY: `ws` is a valid winsize for TIOCSWINSZ.
    super::cvt(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws) }).map(drop)
}
