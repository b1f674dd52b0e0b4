//! The stdio of a container process: containerd's fifos, passed to the process
//! directly (stdout/stderr), through a pipe the shim can close (stdin, for
//! `close_io`), or copied to and from a pty master the engine sends to a private
//! console socket (terminal).

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use fastrun_runtime::sys::{event, fd, fs, poll, socket, term, Errno};

fn failed(op: &str, path: &str, e: Errno) -> String {
    format!("{op} {path}: {}", e.into_io())
}

fn open(path: &str, flags: libc::c_int) -> Result<OwnedFd, String> {
    let c = CString::new(path).map_err(|_| format!("NUL in path {path:?}"))?;
    fd::open_at(libc::AT_FDCWD, &c, flags | libc::O_CLOEXEC, 0).map_err(|e| failed("open", path, e))
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
    event::eventfd(0)
        .map(Arc::new)
        .map_err(|e| failed("eventfd", "", e))
}

fn signal(efd: &OwnedFd) {
    let _ = event::eventfd_add(efd, 1);
}

/// Copy `src` to `dst` until `src` ends or fails, `dst` fails, or `cancel` is
/// signalled (then what `src` holds already is copied first). `dst` is closed at
/// the end.
fn copy(src: OwnedFd, dst: OwnedFd, cancel: Arc<OwnedFd>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        let mut fds = [
            poll::entry(src.as_raw_fd(), libc::POLLIN),
            poll::entry(cancel.as_raw_fd(), libc::POLLIN),
        ];
        loop {
            if poll::poll(&mut fds, None).is_err() {
                return;
            }
            let cancelled = fds[1].revents != 0;
            if cancelled {
                // Drain what is there without blocking.
                let _ = fd::set_nonblocking(&src);
            }
            if fds[0].revents != 0 || cancelled {
                loop {
                    let r = match fs::read(src.as_raw_fd(), &mut buf) {
                        Ok(0) => return,
                        Ok(r) => r,
                        Err(Errno(libc::EAGAIN)) if !cancelled => break,
                        Err(_) => return,
                    };
                    if fs::write_all(dst.as_raw_fd(), &buf[..r]).is_err() {
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
        term::set_window_size(m.as_raw_fd(), &ws).map_err(|e| failed("resize pty", "", e))
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
            let (r, w) = fd::pipe2(libc::O_CLOEXEC).map_err(|e| failed("pipe", "", e))?;
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
    match socket::recv_with_fd(sock, &mut data) {
        Ok((_, Some(fd))) => Ok(fd),
        Ok((_, None)) => Err("console socket: no pty master received".into()),
        Err(e) => Err(failed("recvmsg", "console socket", e)),
    }
}
