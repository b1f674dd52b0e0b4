//! The stdio of a container process: containerd's fifos, passed to the process
//! directly (stdout/stderr), through a pipe the shim can close (stdin, for
//! `close_io`), or copied to and from a pty master the engine sends to a private
//! console socket (terminal).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

fn last(op: &str, path: &str) -> String {
    format!("{op} {path}: {}", std::io::Error::last_os_error())
}

fn open(path: &str, flags: libc::c_int) -> Result<OwnedFd, String> {
    let c = CString::new(path).map_err(|_| format!("NUL in path {path:?}"))?;
    // SAFETY: `c` is NUL-terminated.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(last("open", path));
    }
    // SAFETY: a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The write end of a fifo, without blocking until a reader comes: open it
/// read-write first (never blocks), then write-only through /proc, and drop the
/// read-write one so that the reader sees EOF once the writers are gone.
fn open_fifo_writer(path: &str) -> Result<OwnedFd, String> {
    let rw = open(path, libc::O_RDWR)?;
    open(&format!("/proc/self/fd/{}", rw.as_raw_fd()), libc::O_WRONLY)
}

/// The read end of a fifo that never reports EOF (we hold a writer too): for the
/// copy threads, which end by cancellation.
fn open_fifo_reader(path: &str) -> Result<OwnedFd, String> {
    open(path, libc::O_RDWR)
}

fn eventfd() -> Result<Arc<OwnedFd>, String> {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(last("eventfd", ""));
    }
    // SAFETY: a fresh fd we own.
    Ok(Arc::new(unsafe { OwnedFd::from_raw_fd(fd) }))
}

fn signal(efd: &OwnedFd) {
    let one = 1u64;
    // SAFETY: an 8-byte write to our eventfd.
    unsafe { libc::write(efd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: valid buffer.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return false;
        }
        buf = &buf[n as usize..];
    }
    true
}

/// Copy `src` to `dst` until `src` ends or fails, `dst` fails, or `cancel` is
/// signalled (then what `src` holds already is copied first). `dst` is closed at
/// the end.
fn copy(src: OwnedFd, dst: OwnedFd, cancel: Arc<OwnedFd>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        let mut fds = [
            libc::pollfd {
                fd: src.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: cancel.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        loop {
            // SAFETY: two valid pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return;
            }
            let cancelled = fds[1].revents != 0;
            if cancelled {
                // Drain what is there without blocking.
                // SAFETY: F_SETFL on our fd.
                unsafe {
                    let fl = libc::fcntl(src.as_raw_fd(), libc::F_GETFL);
                    libc::fcntl(src.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
                }
            }
            if fds[0].revents != 0 || cancelled {
                loop {
                    // SAFETY: valid buffer.
                    let r =
                        unsafe { libc::read(src.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                    if r <= 0 {
                        let again = r < 0
                            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN);
                        if again && !cancelled {
                            break;
                        }
                        return;
                    }
                    if !write_all(dst.as_raw_fd(), &buf[..r as usize]) {
                        return;
                    }
                    if !cancelled {
                        break;
                    }
                }
            }
        }
    })
}

/// The stdio paths containerd gave for one process.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

/// Live stdio of a process.
pub struct ProcIo {
    /// Ends the copy threads (close_io for stdin, delete for all).
    stdin_cancel: Arc<OwnedFd>,
    out_cancel: Arc<OwnedFd>,
    /// The pty master, for resize.
    pub master: Option<Arc<OwnedFd>>,
    threads: Vec<JoinHandle<()>>,
}

impl ProcIo {
    /// `close_io`: the client's stdin ended.
    pub fn close_stdin(&self) {
        signal(&self.stdin_cancel);
    }

    /// Stop copying (the process is being deleted).
    pub fn close(mut self) {
        signal(&self.stdin_cancel);
        signal(&self.out_cancel);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// Set the pty size.
    pub fn resize(&self, width: u32, height: u32) -> Result<(), String> {
        let Some(m) = &self.master else {
            return Err("the process has no terminal".into());
        };
        let ws = libc::winsize {
            ws_row: height as u16,
            ws_col: width as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ with a valid winsize.
        if unsafe { libc::ioctl(m.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
            return Err(last("resize pty", ""));
        }
        Ok(())
    }
}

/// Prepared before the engine spawns the process.
pub struct Pending {
    paths: Paths,
    /// Fds for the process's 0-2 (non-terminal); closed once it has them.
    child: Vec<OwnedFd>,
    pub stdio: Option<[RawFd; 3]>,
    stdin_copy: Option<(OwnedFd, OwnedFd)>,
    console: Option<(PathBuf, JoinHandle<Result<OwnedFd, String>>)>,
}

static SOCKETS: AtomicU64 = AtomicU64::new(0);

impl Pending {
    /// Open the fifos (or the console socket) for a process about to be spawned.
    pub fn new(paths: &Paths) -> Result<Pending, String> {
        let mut p = Pending {
            paths: paths.clone(),
            child: Vec::new(),
            stdio: None,
            stdin_copy: None,
            console: None,
        };
        if paths.terminal {
            let path = PathBuf::from(format!(
                "/run/containerd/fastrun-console-{}-{}.sock",
                std::process::id(),
                SOCKETS.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path)
                .map_err(|e| format!("console socket {}: {e}", path.display()))?;
            let t = std::thread::spawn(move || {
                let (conn, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
                recv_fd(conn.as_raw_fd())
            });
            p.console = Some((path, t));
            return Ok(p);
        }
        let mut stdio = [-1; 3];
        if !paths.stdin.is_empty() {
            let mut pipe = [0; 2];
            // SAFETY: valid out-array.
            if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(last("pipe", ""));
            }
            // SAFETY: fresh fds we own.
            let (r, w) = unsafe { (OwnedFd::from_raw_fd(pipe[0]), OwnedFd::from_raw_fd(pipe[1])) };
            let src = open_fifo_reader(&paths.stdin)?;
            stdio[0] = r.as_raw_fd();
            p.child.push(r);
            p.stdin_copy = Some((src, w));
        }
        for (i, path) in [&paths.stdout, &paths.stderr].into_iter().enumerate() {
            if path.is_empty() {
                continue;
            }
            let fd = open_fifo_writer(path)?;
            stdio[i + 1] = fd.as_raw_fd();
            p.child.push(fd);
        }
        p.stdio = Some(stdio);
        Ok(p)
    }

    /// The console socket to give the engine, for a terminal.
    pub fn console_socket(&self) -> Option<PathBuf> {
        self.console.as_ref().map(|(p, _)| p.clone())
    }

    /// The engine is done (`ok`: the process exists): start copying.
    pub fn finish(self, ok: bool) -> Result<ProcIo, String> {
        let mut io = ProcIo {
            stdin_cancel: eventfd()?,
            out_cancel: eventfd()?,
            master: None,
            threads: Vec::new(),
        };
        drop(self.child);
        if let Some((src, w)) = self.stdin_copy {
            io.threads.push(copy(src, w, io.stdin_cancel.clone()));
        }
        if let Some((path, t)) = self.console {
            if !ok {
                // Wake the accept if the engine never connected.
                let _ = std::os::unix::net::UnixStream::connect(&path);
            }
            let master = t.join().map_err(|_| "console thread panicked".to_string());
            let _ = std::fs::remove_file(&path);
            let master = master??;
            let master = Arc::new(master);
            let dup = |fd: &OwnedFd| -> Result<OwnedFd, String> {
                fd.try_clone().map_err(|e| format!("dup pty master: {e}"))
            };
            if !self.paths.stdin.is_empty() {
                let src = open_fifo_reader(&self.paths.stdin)?;
                io.threads
                    .push(copy(src, dup(&master)?, io.stdin_cancel.clone()));
            }
            if !self.paths.stdout.is_empty() {
                let dst = open_fifo_writer(&self.paths.stdout)?;
                io.threads
                    .push(copy(dup(&master)?, dst, io.out_cancel.clone()));
            }
            io.master = Some(master);
        }
        Ok(io)
    }
}

/// Receive one fd (SCM_RIGHTS) on a connected unix socket.
fn recv_fd(sock: RawFd) -> Result<OwnedFd, String> {
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // Room for one fd, aligned for cmsghdr.
    let mut cbuf = [0u64; 8];
    // SAFETY: msghdr is plain data; the pointers below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    // SAFETY: valid msghdr.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(last("recvmsg", "console socket"));
    }
    // SAFETY: walking the control buffer the kernel filled.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if !cmsg.is_null()
            && (*cmsg).cmsg_level == libc::SOL_SOCKET
            && (*cmsg).cmsg_type == libc::SCM_RIGHTS
        {
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::c_int);
            return Ok(OwnedFd::from_raw_fd(fd));
        }
    }
    Err("console socket: no pty master received".into())
}
