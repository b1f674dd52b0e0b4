//! libfastrun: the fastrun engine as a C library.
//!
//! The conventions (errors, memory, threads, fds, what stays undefined) are written in
//! the header's preamble (`cbindgen.toml`) and on each function; cbindgen carries these
//! doc comments into `include/fastrun.h`.
//!
//! Only this file declares what the header shows (cbindgen parses it alone); the
//! helpers live in `support.rs`.

#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]

mod support;

use std::ffi::{c_char, c_int, c_void};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::path::PathBuf;
use std::ptr;

use fastrun_runtime::{Context, CreateOptions, Error, ErrorKind, ExecOptions, UpdateOptions};

use support::{Fail, Logger, Res, Sink};

/// The configuration (config.json, process.json, resources) is invalid; the message
/// names the JSON path.
pub const FASTRUN_E_INVALID_CONFIG: i32 = 1;
/// An argument is invalid (bad id, unknown signal, NULL pointer, invalid UTF-8, bad
/// struct_size, ...).
pub const FASTRUN_E_INVALID_ARGUMENT: i32 = 2;
/// No container with this id exists.
pub const FASTRUN_E_NOT_FOUND: i32 = 3;
/// A container with this id already exists.
pub const FASTRUN_E_ALREADY_EXISTS: i32 = 4;
/// The container is not in a state that allows the operation.
pub const FASTRUN_E_INVALID_STATE: i32 = 5;
/// A system call failed; `errno_value` holds its errno.
pub const FASTRUN_E_SYSTEM: i32 = 6;
/// The operation is not supported by this build or this machine (or not implemented
/// yet by the engine: the message then says "not implemented yet").
pub const FASTRUN_E_UNSUPPORTED: i32 = 7;
/// An internal error (a bug, or a panic caught at the boundary).
pub const FASTRUN_E_INTERNAL: i32 = 8;
/// The caller's buffer is too small; the size needed was stored in `*needed`
/// (`errno_value` is ERANGE).
pub const FASTRUN_E_BUFFER_TOO_SMALL: i32 = 9;

/// Log level of errors (the message of every failed call).
pub const FASTRUN_LOG_ERROR: i32 = 1;
/// Log level of warnings.
pub const FASTRUN_LOG_WARNING: i32 = 2;
/// Log level of informational messages.
pub const FASTRUN_LOG_INFO: i32 = 3;
/// Log level of debug messages (one line per call, with its arguments).
pub const FASTRUN_LOG_DEBUG: i32 = 4;

/// Spawn mode: shared memory when the calling process is large (peak RSS of 64 MiB
/// or more), fork-like otherwise.
pub const FASTRUN_SPAWN_AUTO: i32 = 0;
/// Spawn mode: fork-like clone (the child gets a copy-on-write copy of the caller;
/// its cost grows with the memory the caller has touched).
pub const FASTRUN_SPAWN_FORK: i32 = 1;
/// Spawn mode: vfork-style clone (the child shares the caller's memory until its
/// exec, so the cost does not depend on the caller's size). Per spawn, a helper
/// thread lives until the container process has exec'd (for `create`: until
/// `start`), and the caller is non-dumpable during that time. Falls back to
/// fork-like for a time namespace and for an unprivileged caller writing id maps.
/// libfastrun must stay loaded while a created container has not started.
pub const FASTRUN_SPAWN_VM: i32 = 2;

/// `fastrun_events_next`: nothing new.
pub const FASTRUN_EVENT_NONE: i32 = 0;
/// `fastrun_events_next`: the container's init has exited (reported once; then
/// `fastrun_container_wait` returns its status at once).
pub const FASTRUN_EVENT_EXIT: i32 = 1;
/// `fastrun_events_next`: the OOM killer killed a process of the container (one event
/// per kill counted by the cgroup).
pub const FASTRUN_EVENT_OOM: i32 = 2;

/// An error returned through a `fastrun_error **` out-parameter.
/// Release it with `fastrun_error_free`.
#[repr(C)]
pub struct fastrun_error {
    /// One of the `FASTRUN_E_*` codes (positive).
    pub code: i32,
    /// The errno behind the error, or 0.
    pub errno_value: i32,
    /// A NUL-terminated, human-readable message (owned by the error).
    pub message: *mut c_char,
}

/// A log sink: called synchronously, on the thread that made the libfastrun call, with a
/// `FASTRUN_LOG_*` level and a NUL-terminated message valid only during the call.
/// Calls from several threads may run concurrently. The callback must return normally
/// (no longjmp, no C++ exception) and may call libfastrun.
pub type fastrun_log_fn =
    Option<unsafe extern "C" fn(level: c_int, msg: *const c_char, userdata: *mut c_void)>;

/// Options of `fastrun_context_new`. Zero-initialise it, then set `struct_size` to
/// `sizeof(struct fastrun_context_options)`: the size tells the library which fields
/// the caller knows, so that later versions can add fields at the end.
#[repr(C)]
pub struct fastrun_context_options {
    /// `sizeof(struct fastrun_context_options)` as the caller compiled it.
    pub struct_size: usize,
    /// The state root, one directory per container (runc's `--root`). NULL: `/run/fastrun`,
    /// or `$XDG_RUNTIME_DIR/fastrun` rootless (as the CLI and runc decide).
    pub root: *const c_char,
    /// Non-zero: use the systemd cgroup driver (`--systemd-cgroup`).
    pub systemd_cgroup: c_int,
    /// The most verbose `FASTRUN_LOG_*` level delivered; 0 means `FASTRUN_LOG_WARNING`.
    pub log_level: c_int,
    /// A log callback (see `fastrun_log_fn`), or NULL.
    pub log_fn: fastrun_log_fn,
    /// Passed as is to `log_fn`.
    pub log_userdata: *mut c_void,
    /// When `log_fn` is NULL: a file to append JSON log lines to (as runc's
    /// `--log-format json`), opened once by `fastrun_context_new`. NULL: no logging.
    pub log_file: *const c_char,
    /// How container processes are cloned: a `FASTRUN_SPAWN_*` value (0: auto).
    pub spawn_mode: c_int,
    /// A file to append one JSON line per step of each create, start, run, exec and
    /// delete to, as `fastrun --trace FILE` (the step, who made it (`runtime` or
    /// `init`), its start in µs since the operation began and its duration in µs;
    /// a last `total` line per operation). NULL: no trace. A caller whose struct
    /// ends before this field gets no trace.
    pub trace_file: *const c_char,
}

/// Options of `fastrun_container_create` and `fastrun_container_run` (the CLI's flags).
/// Zero-initialise it and set `struct_size`; a NULL pointer means all defaults.
#[repr(C)]
pub struct fastrun_create_options {
    /// `sizeof(struct fastrun_create_options)` as the caller compiled it.
    pub struct_size: usize,
    /// Write the init's host pid there, atomically (`--pid-file`). Relative paths are
    /// resolved against the calling process's current directory.
    pub pid_file: *const c_char,
    /// A unix socket to send the pty master to (`--console-socket`): required when the
    /// config's `process.terminal` is true (the pty master is sent there with
    /// SCM_RIGHTS, as runc does), refused when it is false.
    pub console_socket: *const c_char,
    /// Pass the caller's fds 3 .. 3+preserve_fds-1 into the container (`--preserve-fds`).
    pub preserve_fds: u32,
    /// Non-zero: MS_MOVE + chroot instead of pivot_root (`--no-pivot`).
    pub no_pivot: c_int,
    /// Non-zero: do not create a session keyring (`--no-new-keyring`).
    pub no_new_keyring: c_int,
    /// `fastrun_container_run` only, non-zero: return once the container runs
    /// (`--detach`) instead of waiting for it.
    pub detach: c_int,
    /// `fastrun_container_run` only, non-zero: keep the container's state after it
    /// exits (`--keep`).
    pub keep: c_int,
}

/// Options of `fastrun_container_exec`. Zero-initialise it and set `struct_size`.
#[repr(C)]
pub struct fastrun_exec_options {
    /// `sizeof(struct fastrun_exec_options)` as the caller compiled it.
    pub struct_size: usize,
    /// The command and its arguments: a NULL-terminated array of UTF-8 strings.
    /// Required unless `process_file` or `process_json` is set.
    pub args: *const *const c_char,
    /// A file holding an OCI `process` object (`--process`); `args` is then ignored
    /// (`process_json`, when set, wins over it).
    pub process_file: *const c_char,
    /// `KEY=VALUE` entries added to the environment: NULL-terminated, or NULL.
    pub env: *const *const c_char,
    /// The working directory, or NULL for the container's.
    pub cwd: *const c_char,
    /// `"UID"` or `"UID:GID"` to run as, or NULL for the container's user.
    pub user: *const c_char,
    /// A unix socket to send the pty master to (`--console-socket`), or NULL.
    pub console_socket: *const c_char,
    /// Write the process's host pid there (`--pid-file`), or NULL.
    pub pid_file: *const c_char,
    /// Pass the caller's fds 3 .. 3+preserve_fds-1 into the process.
    pub preserve_fds: u32,
    /// Non-zero: allocate a pty (`--tty`).
    pub tty: c_int,
    /// Non-zero: return once the process runs (`--detach`).
    pub detach: c_int,
    /// Non-zero: set no_new_privs (`--no-new-privs`).
    pub no_new_privs: c_int,
    /// With `detach`, non-zero: the caller owns the process and must reap it (e.g.
    /// `waitid(P_PIDFD)` on the pidfd stored in `*pidfd`); until it does, the process
    /// stays a zombie, and a container with its own pid namespace cannot stop. Zero:
    /// libfastrun reaps it when it exits. A caller whose struct ends before this
    /// field gets zero.
    pub caller_reaps: c_int,
    /// With `detach`: when not NULL, receives a new pidfd (close-on-exec) on the
    /// process, which the caller closes (with `caller_reaps` zero it may poll it, but
    /// must not reap the process).
    pub pidfd: *mut c_int,
    /// An OCI `process` object as `process_json_len` bytes of JSON (no NUL needed),
    /// instead of `process_file` or `args` (as the CLI's `--process`: capabilities,
    /// additional gids, rlimits, env, ...). NULL: unused.
    pub process_json: *const c_char,
    /// The length of `process_json`.
    pub process_json_len: usize,
}

/// A context: the state root, the cgroup driver and the log sink. Create it with
/// `fastrun_context_new`, release it with `fastrun_context_free`. Opaque.
pub struct fastrun_context {
    ctx: Context,
    log: Logger,
}

/// A loaded container configuration: the config JSON (validated) and the absolute
/// bundle directory its relative paths are resolved against. Create it with
/// `fastrun_container_load` or `fastrun_container_load_from_memory`, release it with
/// `fastrun_container_free`. Immutable once loaded. Opaque.
pub struct fastrun_container {
    bundle: PathBuf,
    config: Vec<u8>,
}

/// Events of one container for a host's own event loop: create it with
/// `fastrun_events_open`, poll `fastrun_events_fd`, read with `fastrun_events_next`,
/// release with `fastrun_events_free`. Opaque.
pub struct fastrun_events {
    /// An epoll fd over the init's pidfd and the OOM notifier's fd.
    epoll: OwnedFd,
    pidfd: Option<OwnedFd>,
    oom: Option<fastrun_runtime::cgroups::oom::OomNotifier>,
    /// OOM kills counted but not reported yet.
    oom_pending: u64,
}

/// The `FASTRUN_E_*` code of an engine error kind.
fn code_of(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::InvalidConfig => FASTRUN_E_INVALID_CONFIG,
        ErrorKind::InvalidArgument => FASTRUN_E_INVALID_ARGUMENT,
        ErrorKind::NotFound => FASTRUN_E_NOT_FOUND,
        ErrorKind::AlreadyExists => FASTRUN_E_ALREADY_EXISTS,
        ErrorKind::InvalidState => FASTRUN_E_INVALID_STATE,
        ErrorKind::System => FASTRUN_E_SYSTEM,
        ErrorKind::Unsupported => FASTRUN_E_UNSUPPORTED,
        ErrorKind::Internal => FASTRUN_E_INTERNAL,
    }
}

/// Store a new error in `*err` (when `err` is not NULL) and return `-code`.
///
/// # Safety
/// `err` is NULL or valid for writing one pointer.
unsafe fn set_error(err: *mut *mut fastrun_error, fail: &Fail) -> c_int {
    let (code, errno_value, msg) = fail.parts();
    if !err.is_null() {
        let boxed = Box::new(fastrun_error {
            code,
            errno_value,
            message: support::c_string(&msg),
        });
        // SAFETY: the caller guarantees `err` is valid for writing a pointer.
        unsafe { *err = Box::into_raw(boxed) };
    }
    -code
}

/// Run `f` with panics caught, turning a failure into a negative return and `*err`.
///
/// # Safety
/// `err` is NULL or valid for writing one pointer.
unsafe fn guard(err: *mut *mut fastrun_error, f: impl FnOnce() -> Res<c_int>) -> c_int {
    match support::catch(f) {
        Ok(v) => v,
        // SAFETY: forwarded from this function's contract.
        Err(fail) => unsafe { set_error(err, &fail) },
    }
}

/// [`guard`] for a call on a context: checks `ctx`, logs the call (debug) and its
/// failure (error).
///
/// # Safety
/// `ctx` is NULL or a live context; `err` is NULL or valid for writing one pointer.
unsafe fn with_ctx(
    ctx: *const fastrun_context,
    err: *mut *mut fastrun_error,
    op: &str,
    f: impl FnOnce(&fastrun_context) -> Res<c_int>,
) -> c_int {
    if ctx.is_null() {
        // SAFETY: forwarded.
        return unsafe { set_error(err, &Fail::arg(format!("{op}: ctx is NULL"))) };
    }
    // SAFETY: a live context per the contract; only shared references are made.
    let c = unsafe { &*ctx };
    match support::catch(|| f(c)) {
        Ok(v) => v,
        Err(fail) => {
            c.log
                .log(FASTRUN_LOG_ERROR, &format!("{op}: {}", fail.parts().2));
            // SAFETY: forwarded.
            unsafe { set_error(err, &fail) }
        }
    }
}

/// Check an out-pointer.
fn out_arg<T>(p: *mut T, name: &str) -> Res<()> {
    if p.is_null() {
        return Err(Fail::arg(format!("{name} is NULL")));
    }
    Ok(())
}

fn flag(v: c_int) -> bool {
    v != 0
}

/// The size of the first version of each versioned struct (the smallest accepted).
const CONTEXT_OPTIONS_V1: usize = std::mem::offset_of!(fastrun_context_options, spawn_mode);
const CREATE_OPTIONS_V1: usize = std::mem::size_of::<fastrun_create_options>();
const EXEC_OPTIONS_V1: usize = std::mem::offset_of!(fastrun_exec_options, caller_reaps);

static VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

/// The version of libfastrun, e.g. `"0.1.0"`: a static NUL-terminated string that the
/// caller must not free. Thread-safe.
#[no_mangle]
pub extern "C" fn fastrun_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// Release an error stored by a libfastrun function. NULL is a no-op. Thread-safe.
///
/// # Safety
/// `err` is NULL or a pointer that a libfastrun function stored in an out-parameter
/// and that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fastrun_error_free(err: *mut fastrun_error) {
    if err.is_null() {
        return;
    }
    // SAFETY: per the contract, `err` came from `Box::into_raw` in `set_error` and is
    // freed once; `message` was malloc'd by `c_string` (or is NULL).
    unsafe {
        let e = Box::from_raw(err);
        libc::free(e.message.cast());
    }
}

/// Release a string returned by libfastrun (state, list, features, spec). NULL is a
/// no-op. Thread-safe. The string was allocated with malloc(3), so free(3) works too.
///
/// # Safety
/// `s` is NULL or a string that libfastrun returned and that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fastrun_string_free(s: *mut c_char) {
    // SAFETY: per the contract, `s` came from malloc in `c_string`; free(NULL) is a no-op.
    unsafe { libc::free(s.cast()) };
}

/// Release a pid array returned by `fastrun_container_ps`. NULL is a no-op. Thread-safe.
///
/// # Safety
/// `pids` is NULL or an array that `fastrun_container_ps` returned, not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fastrun_pids_free(pids: *mut i32) {
    // SAFETY: per the contract, `pids` came from malloc; free(NULL) is a no-op.
    unsafe { libc::free(pids.cast()) };
}

/// Parse a signal given as a number (`"9"`), a name (`"KILL"`, `"SIGKILL"`, any case)
/// or `"RTMIN+N"`. Returns the signal number (1..64), or `-FASTRUN_E_INVALID_ARGUMENT`
/// with `*err` set. Thread-safe; opens no fd.
///
/// # Safety
/// `name` is NULL or a valid NUL-terminated string; `err` is NULL or valid for writing
/// one pointer.
#[no_mangle]
pub unsafe extern "C" fn fastrun_parse_signal(
    name: *const c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        guard(err, || {
            let name = str_arg_named(name, "signal name")?;
            Ok(fastrun_runtime::parse_signal(name)?)
        })
    }
}

/// [`support::str_arg`] under a local name.
///
/// # Safety
/// As [`support::str_arg`].
unsafe fn str_arg_named<'a>(p: *const c_char, name: &str) -> Res<&'a str> {
    // SAFETY: forwarded.
    unsafe { support::str_arg(p, name) }
}

// ---------------------------------------------------------------------------
// Contexts
// ---------------------------------------------------------------------------

/// Create a context and store it in `*out`. `opts` may be NULL (defaults: root
/// `/run/fastrun`, or `$XDG_RUNTIME_DIR/fastrun` when rootless as the CLI decides;
/// cgroupfs driver, no logging). Returns 0.
///
/// Fds: with `log_file`, the file stays open (O_APPEND, O_CLOEXEC) until
/// `fastrun_context_free`; nothing else is kept open.
///
/// Thread safety: a context may be used by several threads at once; calls on
/// different containers run in parallel, calls on the same container are serialised by
/// the engine's file locks under the state root (or fail cleanly, e.g. two creates of
/// one id: one gets FASTRUN_E_ALREADY_EXISTS).
///
/// # Safety
/// `opts` is NULL or a valid options struct of `opts->struct_size` bytes whose strings
/// are valid; `out` and `err` are valid for writing one pointer (`err` may be NULL).
#[no_mangle]
pub unsafe extern "C" fn fastrun_context_new(
    opts: *const fastrun_context_options,
    out: *mut *mut fastrun_context,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        guard(err, || {
            out_arg(out, "out")?;
            let o = if opts.is_null() {
                None
            } else {
                Some(support::read_versioned(
                    opts,
                    CONTEXT_OPTIONS_V1,
                    "fastrun_context_options",
                )?)
            };
            let mut ctx = Context::default();
            let mut log = Logger {
                sink: Sink::None,
                max: FASTRUN_LOG_WARNING,
            };
            if let Some(o) = &o {
                if let Some(root) = support::opt_path(o.root, "root")? {
                    ctx.root = std::path::absolute(&root)
                        .map_err(|e| Error::path("resolve root", &root, e))?;
                }
                ctx.systemd_cgroup = flag(o.systemd_cgroup);
                if let Some(path) = support::opt_path(o.trace_file, "trace_file")? {
                    ctx.trace = Some(
                        std::path::absolute(&path)
                            .map_err(|e| Error::path("resolve trace_file", &path, e))?,
                    );
                }
                ctx.spawn = match o.spawn_mode {
                    FASTRUN_SPAWN_AUTO => fastrun_runtime::SpawnMode::Auto,
                    FASTRUN_SPAWN_FORK => fastrun_runtime::SpawnMode::Fork,
                    FASTRUN_SPAWN_VM => fastrun_runtime::SpawnMode::SharedVm,
                    m => {
                        return Err(Fail::arg(format!(
                            "spawn_mode {m} is not a FASTRUN_SPAWN_* value (0..2)"
                        )))
                    }
                };
                log.max = match o.log_level {
                    0 => FASTRUN_LOG_WARNING,
                    l @ FASTRUN_LOG_ERROR..=FASTRUN_LOG_DEBUG => l,
                    l => {
                        return Err(Fail::arg(format!(
                            "log_level {l} is not a FASTRUN_LOG_* level (1..4, or 0)"
                        )))
                    }
                };
                if let Some(f) = o.log_fn {
                    log.sink = Sink::Callback {
                        f,
                        userdata: o.log_userdata,
                    };
                } else if let Some(path) = support::opt_path(o.log_file, "log_file")? {
                    use std::os::unix::fs::OpenOptionsExt;
                    let file = std::fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .mode(0o644)
                        .custom_flags(libc::O_CLOEXEC)
                        .open(&path)
                        .map_err(|e| Error::path("open log file", &path, e))?;
                    log.sink = Sink::File(file);
                }
            }
            let c = Box::new(fastrun_context { ctx, log });
            c.log.log(
                FASTRUN_LOG_DEBUG,
                &format!("context: root {}", c.ctx.root.display()),
            );
            *out = Box::into_raw(c);
            Ok(0)
        })
    }
}

/// Release a context (closing its log file). Containers keep running: their state
/// stays under the root, and another context (or the fastrun CLI) can manage them.
/// The processes libfastrun owns are still reaped when they exit (the reaper is the
/// process's, not the context's), and `fastrun_container_wait` on a new context with
/// the same root still returns their exit status. NULL is a no-op.
///
/// Must not run concurrently with another call on the same context.
///
/// # Safety
/// `ctx` is NULL or a context from `fastrun_context_new` not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fastrun_context_free(ctx: *mut fastrun_context) {
    if ctx.is_null() {
        return;
    }
    let _ = support::catch(|| {
        // SAFETY: per the contract, `ctx` came from `Box::into_raw` and is freed once.
        drop(unsafe { Box::from_raw(ctx) });
        Ok(())
    });
}

// ---------------------------------------------------------------------------
// Containers (loaded configurations)
// ---------------------------------------------------------------------------

fn new_container(bundle: PathBuf, config: Vec<u8>) -> Res<Box<fastrun_container>> {
    fastrun_runtime::validate_config(&config)?;
    let bundle = fastrun_runtime::absolute_bundle(&bundle)?;
    Ok(Box::new(fastrun_container { bundle, config }))
}

/// Load `<bundle>/config.json`, validate it, and store the container in `*out`.
/// The file is read once, now: later changes to it are not seen. Returns 0.
/// Errors: FASTRUN_E_SYSTEM (unreadable file, with errno), FASTRUN_E_INVALID_CONFIG
/// (the message names the JSON path, or the line and column of a syntax error).
///
/// Thread-safe; the file's fd is closed before returning.
///
/// # Safety
/// `bundle` is NULL or a valid NUL-terminated string; `out` is valid for writing one
/// pointer; `err` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_load(
    bundle: *const c_char,
    out: *mut *mut fastrun_container,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        guard(err, || {
            out_arg(out, "out")?;
            let bundle = support::path_arg(bundle, "bundle")?;
            let path = bundle.join("config.json");
            let config = std::fs::read(&path).map_err(|e| Error::path("read", &path, e))?;
            *out = Box::into_raw(new_container(bundle, config)?);
            Ok(0)
        })
    }
}

/// Validate a config given as `len` bytes of JSON (no NUL needed) and store the
/// container in `*out`; `bundle` is the directory relative paths in it (`root.path`,
/// mount sources) are resolved against. The bytes are copied. Returns 0.
///
/// Thread-safe; opens no fd.
///
/// # Safety
/// `config` is valid for reading `len` bytes; `bundle` is NULL or a valid
/// NUL-terminated string; `out` is valid for writing one pointer; `err` is NULL or
/// valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_load_from_memory(
    config: *const c_char,
    len: usize,
    bundle: *const c_char,
    out: *mut *mut fastrun_container,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        guard(err, || {
            out_arg(out, "out")?;
            let config = support::bytes_arg(config, len, "config")?.to_vec();
            let bundle = support::path_arg(bundle, "bundle")?;
            *out = Box::into_raw(new_container(bundle, config)?);
            Ok(0)
        })
    }
}

/// Release a loaded container (not the running container: only its configuration).
/// NULL is a no-op. Must not run concurrently with a call using it.
///
/// # Safety
/// `container` is NULL or a container from `fastrun_container_load*` not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_free(container: *mut fastrun_container) {
    if !container.is_null() {
        // SAFETY: per the contract, it came from `Box::into_raw` and is freed once.
        drop(unsafe { Box::from_raw(container) });
    }
}

/// The engine's create options from a loaded container and the C options.
///
/// # Safety
/// `container` is NULL or live; `opts` is NULL or a valid options struct.
unsafe fn create_options(
    container: *const fastrun_container,
    opts: *const fastrun_create_options,
) -> Res<(CreateOptions, bool)> {
    if container.is_null() {
        return Err(Fail::arg("container is NULL"));
    }
    // SAFETY: a live container per the contract.
    let container = unsafe { &*container };
    let mut o = CreateOptions {
        bundle: container.bundle.clone(),
        config: Some(container.config.clone()),
        ..Default::default()
    };
    let mut detach = false;
    if !opts.is_null() {
        // SAFETY: a valid versioned struct per the contract.
        let c =
            unsafe { support::read_versioned(opts, CREATE_OPTIONS_V1, "fastrun_create_options") }?;
        // SAFETY: the strings in it are NULL or valid.
        unsafe {
            o.pid_file = support::opt_path(c.pid_file, "pid_file")?;
            o.console_socket = support::opt_path(c.console_socket, "console_socket")?;
        }
        o.preserve_fds = c.preserve_fds;
        o.no_pivot = flag(c.no_pivot);
        o.no_new_keyring = flag(c.no_new_keyring);
        o.keep = flag(c.keep);
        detach = flag(c.detach);
    }
    Ok((o, detach))
}

/// Create container `id` from `container`: its init exists, set up, and waits before
/// the user program until `fastrun_container_start`. Returns the init's host pid.
///
/// The init is a child of the calling process and inherits its stdin, stdout and stderr
/// (and fds 3 .. 3+preserve_fds-1). libfastrun owns it: see "Processes" at the top of
/// this header (it is reaped when it exits, and `fastrun_container_wait` returns its
/// exit status).
///
/// Fds: every fd the call opens is O_CLOEXEC and closed before it returns; in the
/// container, fds above 2+preserve_fds are closed. Thread-safe (the child of the clone
/// runs no allocator and takes no lock, so other threads of the host may hold any).
///
/// # Safety
/// `ctx` and `container` are NULL or live handles; `id` is NULL or a valid string;
/// `opts` is NULL or a valid options struct; `err` is NULL or valid for writing.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_create(
    ctx: *mut fastrun_context,
    container: *const fastrun_container,
    id: *const c_char,
    opts: *const fastrun_create_options,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "create", |c| {
            let id = str_arg_named(id, "id")?;
            let (o, _) = create_options(container, opts)?;
            c.log.log(
                FASTRUN_LOG_DEBUG,
                &format!("create {id}: bundle {}", o.bundle.display()),
            );
            Ok(c.ctx.create_owned(id, &o)?)
        })
    }
}

/// Create and start container `id`, then wait for it and return its exit status
/// (128+N when killed by signal N); with `opts->detach`, return 0 once it runs.
/// Without `opts->keep`, a waited-for container is deleted when it exits.
///
/// While waiting, the calling thread blocks the forwardable signals and forwards those
/// it receives to the container (its mask is restored before returning): only signals
/// the host directs at this thread, or that every other thread blocks, are forwarded.
///
/// Fds and children: as `fastrun_container_create`; a waited-for init is reaped here
/// (also when the host ignores SIGCHLD or reaps its children itself, on Linux 6.15+).
/// A detached init is owned as after `fastrun_container_create`. Thread-safe.
///
/// # Safety
/// As `fastrun_container_create`.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_run(
    ctx: *mut fastrun_context,
    container: *const fastrun_container,
    id: *const c_char,
    opts: *const fastrun_create_options,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "run", |c| {
            let id = str_arg_named(id, "id")?;
            let (o, detach) = create_options(container, opts)?;
            c.log.log(
                FASTRUN_LOG_DEBUG,
                &format!("run {id}: bundle {}, detach={detach}", o.bundle.display()),
            );
            if detach {
                c.ctx.create_owned(id, &o)?;
                c.ctx.start(id)?;
                return Ok(0);
            }
            Ok(c.ctx.run(id, &o, false)?)
        })
    }
}

/// Let created container `id` run its program. Returns 0. Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_start(
    ctx: *mut fastrun_context,
    id: *const c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "start", |c| {
            let id = str_arg_named(id, "id")?;
            c.log.log(FASTRUN_LOG_DEBUG, &format!("start {id}"));
            c.ctx.start(id)?;
            Ok(0)
        })
    }
}

fn state_json(c: &fastrun_context, id: &str) -> Res<String> {
    let st = c.ctx.state(id)?;
    Ok(st.to_json_compact())
}

/// The state of container `id` as a compact JSON object (`ociVersion`, `id`, `pid`,
/// `status`, `bundle`, `rootfs`, `created`, `owner`, `annotations`), NUL-terminated,
/// into `buf` of `size` bytes. Returns the JSON's length (without the NUL).
///
/// `*needed` (when `needed` is not NULL) receives the size the JSON needs, NUL
/// included, on success and when `buf` is too small; then the call fails with
/// FASTRUN_E_BUFFER_TOO_SMALL and `buf` is untouched. `buf` may be NULL when `size`
/// is 0 (to ask for the size). The size can change between two calls (the status and
/// pid change): retry while FASTRUN_E_BUFFER_TOO_SMALL.
///
/// Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `buf` is NULL or valid for
/// writing `size` bytes; `needed` is NULL or valid; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_state(
    ctx: *mut fastrun_context,
    id: *const c_char,
    buf: *mut c_char,
    size: usize,
    needed: *mut usize,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "state", |c| {
            let id = str_arg_named(id, "id")?;
            if buf.is_null() && size != 0 {
                return Err(Fail::arg(format!("buf is NULL but size is {size}")));
            }
            let json = state_json(c, id)?;
            let need = json.len() + 1;
            if !needed.is_null() {
                *needed = need;
            }
            if size < need {
                return Err(Fail::Code {
                    code: FASTRUN_E_BUFFER_TOO_SMALL,
                    errno: libc::ERANGE,
                    message: format!(
                        "state of container \"{id}\": a buffer of {size} bytes is too small, \
                         {need} bytes are needed"
                    ),
                });
            }
            let len = c_int::try_from(json.len()).map_err(|_| Fail::arg("state too large"))?;
            ptr::copy_nonoverlapping(json.as_ptr(), buf.cast::<u8>(), json.len());
            *buf.add(json.len()) = 0;
            Ok(len)
        })
    }
}

/// As `fastrun_container_state`, into a new string stored in `*json` (release it with
/// `fastrun_string_free`). Returns its length.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `json` is valid for writing
/// one pointer; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_state_alloc(
    ctx: *mut fastrun_context,
    id: *const c_char,
    json: *mut *mut c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "state", |c| {
            out_arg(json, "json")?;
            let id = str_arg_named(id, "id")?;
            let s = state_json(c, id)?;
            support::give_string(json, &s)
        })
    }
}

fn check_signal(signal: c_int) -> Res<()> {
    if !(1..=64).contains(&signal) {
        return Err(Fail::arg(format!(
            "invalid signal {signal}: want 1..64 (see fastrun_parse_signal)"
        )));
    }
    Ok(())
}

/// Send `signal` (1..64) to the init of container `id`. Returns 0.
/// Errors: FASTRUN_E_INVALID_STATE when it does not run. Thread-safe; the pidfd used
/// is closed before returning.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_kill(
    ctx: *mut fastrun_context,
    id: *const c_char,
    signal: c_int,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "kill", |c| {
            let id = str_arg_named(id, "id")?;
            check_signal(signal)?;
            c.log
                .log(FASTRUN_LOG_DEBUG, &format!("kill {id}: signal {signal}"));
            c.ctx.kill(id, signal, false)?;
            Ok(0)
        })
    }
}

/// Send `signal` (1..64) to every process of container `id` (`kill --all`), also after
/// its init exited. Returns 0. Thread-safe; no fd kept.
///
/// # Safety
/// As `fastrun_container_kill`.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_kill_all(
    ctx: *mut fastrun_context,
    id: *const c_char,
    signal: c_int,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "kill", |c| {
            let id = str_arg_named(id, "id")?;
            check_signal(signal)?;
            c.log.log(
                FASTRUN_LOG_DEBUG,
                &format!("kill {id}: signal {signal}, all"),
            );
            c.ctx.kill(id, signal, true)?;
            Ok(0)
        })
    }
}

/// Delete container `id`: its cgroup and state. A created container is killed first;
/// a running or paused one only with `force` non-zero (else FASTRUN_E_INVALID_STATE).
/// With `force`, deleting a missing container succeeds. Waits (up to 10 s) for a killed
/// init to exit (libfastrun's reaper reaps the processes it owns, exec'd ones included,
/// so none of them holds the init back; a detached exec'd process with `caller_reaps`
/// that its caller has not reaped does, in a container with its own pid namespace: the
/// container stays running, and a forced delete fails with FASTRUN_E_INVALID_STATE
/// after the 10 s). Returns 0. After it, `fastrun_container_wait` on the id fails with
/// FASTRUN_E_NOT_FOUND. Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_delete(
    ctx: *mut fastrun_context,
    id: *const c_char,
    force: c_int,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "delete", |c| {
            let id = str_arg_named(id, "id")?;
            c.log.log(
                FASTRUN_LOG_DEBUG,
                &format!("delete {id}: force={}", flag(force)),
            );
            c.ctx.delete(id, flag(force))?;
            Ok(0)
        })
    }
}

/// Wait for the init of container `id` to exit, at most `timeout_ms` milliseconds (-1:
/// no limit; 0: only check). Returns 1 once it has exited, with its exit status (128+N
/// when killed by signal N) stored in `*status`; 0 when the time ran out first.
///
/// The status is recorded when the init exits, by libfastrun's reaper, whoever waits:
/// every call returns the same status, from any context on the same root, until the
/// container is deleted; `fastrun_container_state` shows it as `"exitStatus"`. For a
/// container this process did not start (another process, the CLI), only a status
/// recorded already is returned, else FASTRUN_E_INVALID_STATE. FASTRUN_E_NOT_FOUND
/// once deleted. Thread-safe: any number of threads may wait for one container.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `status` is valid for
/// writing one int; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_wait(
    ctx: *mut fastrun_context,
    id: *const c_char,
    timeout_ms: c_int,
    status: *mut c_int,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "wait", |c| {
            out_arg(status, "status")?;
            let id = str_arg_named(id, "id")?;
            let timeout = match timeout_ms {
                -1 => None,
                t if t >= 0 => Some(std::time::Duration::from_millis(t as u64)),
                t => {
                    return Err(Fail::arg(format!(
                        "timeout_ms {t}: want -1 (no limit) or a number of milliseconds"
                    )))
                }
            };
            match c.ctx.wait(id, timeout)? {
                Some(code) => {
                    *status = code;
                    Ok(1)
                }
                None => Ok(0),
            }
        })
    }
}

/// A new pidfd (close-on-exec) on the init of container `id`, which this process
/// started (`fastrun_container_create` or a detached `fastrun_container_run`): poll it
/// (POLLIN once the init has exited, then `fastrun_container_wait` returns at once) from
/// the host's own event loop. Returns the fd; the caller closes it. It must not be used
/// to reap the init (libfastrun does). Thread-safe.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_pidfd(
    ctx: *mut fastrun_context,
    id: *const c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "pidfd", |c| {
            let id = str_arg_named(id, "id")?;
            Ok(c.ctx.init_pidfd(id)?.into_raw_fd())
        })
    }
}

/// Run a new process in running container `id` (as `fastrun exec`); returns its exit
/// status (128+N when killed by signal N), or with `opts->detach` its host pid once it
/// runs. `opts` is required (`args`, `process_file` or `process_json`).
///
/// The process is a child of the calling process. Without `detach` it is waited for
/// and reaped here (signals are forwarded as by `fastrun_container_run`). With
/// `detach`, libfastrun reaps it when it exits unless `opts->caller_reaps` is set (see
/// "Processes" at the top of this header); its exit status is not kept. With
/// `opts->tty`, the pty master goes to `opts->console_socket` (required when detached).
/// Thread-safe.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `opts` is NULL or a valid
/// options struct; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_exec(
    ctx: *mut fastrun_context,
    id: *const c_char,
    opts: *const fastrun_exec_options,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "exec", |c| {
            let id = str_arg_named(id, "id")?;
            if opts.is_null() {
                return Err(Fail::arg("exec options are NULL"));
            }
            let o = support::read_versioned(opts, EXEC_OPTIONS_V1, "fastrun_exec_options")?;
            let process_json = if o.process_json.is_null() {
                None
            } else {
                Some(
                    support::bytes_arg(o.process_json, o.process_json_len, "process_json")?
                        .to_vec(),
                )
            };
            let eo = ExecOptions {
                process: support::opt_path(o.process_file, "process_file")?,
                process_json,
                args: support::str_array(o.args, "args")?,
                env: support::str_array(o.env, "env")?,
                cwd: support::opt_str(o.cwd, "cwd")?,
                user: support::opt_str(o.user, "user")?
                    .map(|u| parse_user(&u))
                    .transpose()?,
                console_socket: support::opt_path(o.console_socket, "console_socket")?,
                pid_file: support::opt_path(o.pid_file, "pid_file")?,
                preserve_fds: o.preserve_fds,
                tty: flag(o.tty),
                detach: flag(o.detach),
                no_new_privs: flag(o.no_new_privs),
                ..Default::default()
            };
            if eo.process.is_none() && eo.process_json.is_none() && eo.args.is_empty() {
                return Err(Fail::arg(
                    "exec: args is empty and process_file and process_json are NULL",
                ));
            }
            c.log
                .log(FASTRUN_LOG_DEBUG, &format!("exec {id}: {:?}", eo.args));
            if !eo.detach {
                return Ok(c.ctx.exec(id, &eo)?);
            }
            let (pid, fd) = c.ctx.exec_detached(id, &eo, !flag(o.caller_reaps))?;
            if !o.pidfd.is_null() {
                *o.pidfd = fd.into_raw_fd();
            }
            Ok(pid)
        })
    }
}

/// `"UID"` or `"UID:GID"`.
fn parse_user(v: &str) -> Res<(u32, Option<u32>)> {
    let bad = || Fail::arg(format!("invalid user \"{v}\": want UID or UID:GID"));
    let (u, g) = match v.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (v, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
    Ok((uid, gid))
}

/// Freeze every process of container `id`. Returns 0. Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_pause(
    ctx: *mut fastrun_context,
    id: *const c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "pause", |c| {
            let id = str_arg_named(id, "id")?;
            c.log.log(FASTRUN_LOG_DEBUG, &format!("pause {id}"));
            c.ctx.pause(id)?;
            Ok(0)
        })
    }
}

/// Thaw paused container `id`. Returns 0. Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_resume(
    ctx: *mut fastrun_context,
    id: *const c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "resume", |c| {
            let id = str_arg_named(id, "id")?;
            c.log.log(FASTRUN_LOG_DEBUG, &format!("resume {id}"));
            c.ctx.resume(id)?;
            Ok(0)
        })
    }
}

/// Change the resource limits of container `id` to `resources`: `len` bytes of an OCI
/// `LinuxResources` JSON object (as `runc update --resources`). Returns 0.
/// Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `resources` is valid for
/// reading `len` bytes; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_update(
    ctx: *mut fastrun_context,
    id: *const c_char,
    resources: *const c_char,
    len: usize,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "update", |c| {
            let id = str_arg_named(id, "id")?;
            let json = support::bytes_arg(resources, len, "resources")?;
            c.log.log(FASTRUN_LOG_DEBUG, &format!("update {id}"));
            let o = UpdateOptions {
                resources_json: Some(json.to_vec()),
                ..Default::default()
            };
            c.ctx.update(id, &o)?;
            Ok(0)
        })
    }
}

/// The host pids of every process in container `id`: stores a new array in `*pids`
/// (release it with `fastrun_pids_free`; NULL when empty) and its length in `*count`.
/// Returns the count. Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `pids` and `count` are valid
/// for writing; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_ps(
    ctx: *mut fastrun_context,
    id: *const c_char,
    pids: *mut *mut i32,
    count: *mut usize,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "ps", |c| {
            out_arg(pids, "pids")?;
            out_arg(count, "count")?;
            let id = str_arg_named(id, "id")?;
            let v = c.ctx.ps(id)?;
            let n = c_int::try_from(v.len()).map_err(|_| Fail::arg("too many pids"))?;
            let mut p: *mut i32 = ptr::null_mut();
            if !v.is_empty() {
                p = libc::malloc(std::mem::size_of_val(v.as_slice())).cast();
                if p.is_null() {
                    return Err(Fail::Engine(Error::Sys {
                        op: "malloc",
                        source: std::io::Error::from_raw_os_error(libc::ENOMEM),
                    }));
                }
                ptr::copy_nonoverlapping(v.as_ptr(), p, v.len());
            }
            *pids = p;
            *count = v.len();
            Ok(n)
        })
    }
}

/// One sample of the statistics of container `id` (cgroup: cpu, memory, pids, blkio,
/// hugetlb, ...), as the line `fastrun events --stats` (and runc) prints:
/// `{"type":"stats","id":"ID","data":{...}}`, stored as a new string in `*json`
/// (release it with `fastrun_string_free`). Returns its length. Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `json` is valid for writing
/// one pointer; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_container_stats(
    ctx: *mut fastrun_context,
    id: *const c_char,
    json: *mut *mut c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "stats", |c| {
            out_arg(json, "json")?;
            let id = str_arg_named(id, "id")?;
            let mut line = None;
            let opts = fastrun_runtime::EventsOptions {
                stats: true,
                ..Default::default()
            };
            c.ctx.events(id, &opts, &mut |l| {
                line = Some(l.to_string());
                Ok(())
            })?;
            let line = line.ok_or_else(|| {
                Fail::Engine(Error::Internal("events --stats gave no line".into()))
            })?;
            support::give_string(json, &line)
        })
    }
}

/// Open the events of container `id`, which this process started (see
/// `fastrun_container_pidfd`): its init's exit and the OOM kills in its cgroup. Stores a
/// new handle in `*out`. Holds up to three fds (close-on-exec) until
/// `fastrun_events_free`. Thread-safe (one handle is used by one thread at a time).
///
/// # Safety
/// `ctx` is NULL or live; `id` is NULL or a valid string; `out` is valid for writing
/// one pointer; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_events_open(
    ctx: *mut fastrun_context,
    id: *const c_char,
    out: *mut *mut fastrun_events,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "events", |c| {
            out_arg(out, "out")?;
            let id = str_arg_named(id, "id")?;
            let pidfd = c.ctx.init_pidfd(id)?;
            // No cgroup of its own (rootless): exit events only.
            let oom = c.ctx.oom_notifier(id).ok();
            let sys = |op: &'static str| {
                Fail::Engine(Error::Sys {
                    op,
                    source: std::io::Error::last_os_error(),
                })
            };
            let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            if ep < 0 {
                return Err(sys("epoll_create1"));
            }
            // SAFETY: a fresh fd we own.
            let epoll = OwnedFd::from_raw_fd(ep);
            let mut fds = vec![pidfd.as_raw_fd()];
            if let Some(o) = &oom {
                fds.push(o.as_fd().as_raw_fd());
            }
            for (i, fd) in fds.into_iter().enumerate() {
                let mut ev = libc::epoll_event {
                    events: libc::EPOLLIN as u32,
                    u64: i as u64,
                };
                // SAFETY: valid fds and event.
                if libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) != 0 {
                    return Err(sys("epoll_ctl"));
                }
            }
            *out = Box::into_raw(Box::new(fastrun_events {
                epoll,
                pidfd: Some(pidfd),
                oom,
                oom_pending: 0,
            }));
            Ok(0)
        })
    }
}

/// The fd to poll (POLLIN, or add to the host's epoll) for `ev`: readable while
/// `fastrun_events_next` has an event to return. Owned by `ev`. -1 for NULL.
///
/// # Safety
/// `ev` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn fastrun_events_fd(ev: *const fastrun_events) -> c_int {
    if ev.is_null() {
        return -1;
    }
    // SAFETY: a live handle per the contract.
    unsafe { &(*ev).epoll }.as_raw_fd()
}

/// The next event of `ev`, without blocking: FASTRUN_EVENT_OOM (one per OOM kill),
/// FASTRUN_EVENT_EXIT (once, after the OOM kills counted before it), or
/// FASTRUN_EVENT_NONE. Not thread-safe for one handle.
///
/// # Safety
/// `ev` is NULL or a live handle not used by another thread; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_events_next(
    ev: *mut fastrun_events,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        guard(err, || {
            if ev.is_null() {
                return Err(Fail::arg("events: ev is NULL"));
            }
            // SAFETY: a live handle, not shared with another thread (contract).
            let e = &mut *ev;
            if let Some(o) = e.oom.as_mut() {
                match o.take_pending() {
                    Ok(Some(0)) => {
                        // The cgroup went away: no more OOM events.
                        let fd = o.as_fd().as_raw_fd();
                        let raw = e.epoll.as_raw_fd();
                        libc::epoll_ctl(raw, libc::EPOLL_CTL_DEL, fd, ptr::null_mut());
                        e.oom = None;
                    }
                    Ok(Some(n)) => e.oom_pending += n,
                    Ok(None) | Err(_) => {}
                }
            }
            if e.oom_pending > 0 {
                e.oom_pending -= 1;
                return Ok(FASTRUN_EVENT_OOM);
            }
            if let Some(p) = &e.pidfd {
                let mut pfd = libc::pollfd {
                    fd: p.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd; no waiting.
                if libc::poll(&mut pfd, 1, 0) == 1 {
                    let raw = e.epoll.as_raw_fd();
                    libc::epoll_ctl(raw, libc::EPOLL_CTL_DEL, pfd.fd, ptr::null_mut());
                    e.pidfd = None;
                    return Ok(FASTRUN_EVENT_EXIT);
                }
            }
            Ok(FASTRUN_EVENT_NONE)
        })
    }
}

/// Release an events handle (its fds). NULL is a no-op.
///
/// # Safety
/// `ev` is NULL or a handle from `fastrun_events_open` not freed yet.
#[no_mangle]
pub unsafe extern "C" fn fastrun_events_free(ev: *mut fastrun_events) {
    if !ev.is_null() {
        // SAFETY: per the contract, it came from `Box::into_raw` and is freed once.
        drop(unsafe { Box::from_raw(ev) });
    }
}

/// The states of every container under the context's root, as a JSON array of the
/// objects `fastrun_container_state` returns (`[]` when the root does not exist yet),
/// stored as a new string in `*json` (release it with `fastrun_string_free`).
/// Returns the number of containers. Thread-safe; no fd kept.
///
/// # Safety
/// `ctx` is NULL or live; `json` is valid for writing one pointer; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_list(
    ctx: *mut fastrun_context,
    json: *mut *mut c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        with_ctx(ctx, err, "list", |c| {
            out_arg(json, "json")?;
            let states = match c.ctx.list() {
                Ok(s) => s,
                Err(Error::Path { ref source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            let n = c_int::try_from(states.len()).map_err(|_| Fail::arg("too many containers"))?;
            support::give_string(json, &fastrun_runtime::state_json::states_to_json(&states))?;
            Ok(n)
        })
    }
}

/// The OCI runtime features document (`fastrun features`) as JSON, stored as a new
/// string in `*json` (release it with `fastrun_string_free`). Returns its length.
/// Thread-safe.
///
/// # Safety
/// `json` is valid for writing one pointer; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_features(
    json: *mut *mut c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        guard(err, || {
            out_arg(json, "json")?;
            support::give_string(json, &fastrun_runtime::features()?)
        })
    }
}

/// The default config.json (`fastrun spec`; with `rootless` non-zero, the rootless
/// variant) as a new string in `*json` (release it with `fastrun_string_free`).
/// Returns its length. Thread-safe; opens no fd.
///
/// # Safety
/// `json` is valid for writing one pointer; `err` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn fastrun_spec(
    rootless: c_int,
    json: *mut *mut c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        guard(err, || {
            out_arg(json, "json")?;
            support::give_string(json, &fastrun_runtime::default_spec(flag(rootless)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr;

    /// The message of `err`, then free it.
    fn take(err: *mut fastrun_error) -> (i32, i32, String) {
        assert!(!err.is_null(), "no error set");
        // SAFETY: `err` was just set by libfastrun and its message is a C string.
        unsafe {
            let e = &*err;
            let m = CStr::from_ptr(e.message).to_str().unwrap().to_string();
            let r = (e.code, e.errno_value, m);
            fastrun_error_free(err);
            r
        }
    }

    #[test]
    fn version_is_static_and_matches() {
        // SAFETY: fastrun_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(fastrun_version()) };
        assert_eq!(v.to_str().unwrap(), fastrun_runtime::version());
    }

    #[test]
    fn codes_match_error_kinds() {
        for kind in [
            ErrorKind::InvalidConfig,
            ErrorKind::InvalidArgument,
            ErrorKind::NotFound,
            ErrorKind::AlreadyExists,
            ErrorKind::InvalidState,
            ErrorKind::System,
            ErrorKind::Unsupported,
            ErrorKind::Internal,
        ] {
            assert_eq!(code_of(kind), kind as i32);
        }
    }

    #[test]
    fn parse_signal_ok_and_error() {
        let mut err = ptr::null_mut();
        // SAFETY: valid C string and out-pointer.
        let n = unsafe { fastrun_parse_signal(c"SIGKILL".as_ptr(), &mut err) };
        assert_eq!(n, 9);
        assert!(err.is_null());

        // SAFETY: valid C string and out-pointer.
        let n = unsafe { fastrun_parse_signal(c"NOPE".as_ptr(), &mut err) };
        assert_eq!(n, -FASTRUN_E_INVALID_ARGUMENT);
        let (code, errno, m) = take(err);
        assert_eq!((code, errno), (FASTRUN_E_INVALID_ARGUMENT, 0));
        assert!(m.contains("NOPE"), "{m}");
        // SAFETY: NULL is a no-op.
        unsafe { fastrun_error_free(ptr::null_mut()) };

        // A NULL out-parameter is allowed.
        // SAFETY: NULL `name` and NULL `err` are both allowed.
        let n = unsafe { fastrun_parse_signal(ptr::null(), ptr::null_mut()) };
        assert_eq!(n, -FASTRUN_E_INVALID_ARGUMENT);

        // Invalid UTF-8.
        let bad = [0xffu8, 0xfe, 0];
        let mut err = ptr::null_mut();
        // SAFETY: a NUL-terminated byte string.
        let n = unsafe { fastrun_parse_signal(bad.as_ptr().cast(), &mut err) };
        assert_eq!(n, -FASTRUN_E_INVALID_ARGUMENT);
        assert!(take(err).2.contains("not valid UTF-8"));
    }

    #[test]
    fn panics_do_not_cross_and_print_nothing() {
        let mut err = ptr::null_mut();
        // SAFETY: valid out-pointer.
        let n = unsafe { guard(&mut err, || panic!("boom {}", 42)) };
        assert_eq!(n, -FASTRUN_E_INTERNAL);
        let (code, _, m) = take(err);
        assert_eq!(code, FASTRUN_E_INTERNAL);
        assert!(m.contains("boom 42"), "{m}");
    }

    fn context(root: &std::path::Path) -> *mut fastrun_context {
        let root = std::ffi::CString::new(root.to_str().unwrap()).unwrap();
        // SAFETY: all-zero is a valid options struct.
        let mut o: fastrun_context_options = unsafe { std::mem::zeroed() };
        o.struct_size = std::mem::size_of::<fastrun_context_options>();
        o.root = root.as_ptr();
        let mut ctx = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: valid options and out-pointers.
        let r = unsafe { fastrun_context_new(&o, &mut ctx, &mut err) };
        assert_eq!(r, 0);
        ctx
    }

    /// NULL options: the CLI's default state root (runc's rule, rootless included).
    #[test]
    fn default_root_is_the_clis() {
        let mut ctx = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: NULL options are allowed; valid out-pointers.
        let r = unsafe { fastrun_context_new(ptr::null(), &mut ctx, &mut err) };
        assert_eq!(r, 0);
        // SAFETY: a context just created by fastrun_context_new.
        let root = unsafe { (*ctx).ctx.root.clone() };
        assert_eq!(root, fastrun_runtime::rootless::default_root());
        // SAFETY: the context is ours and freed once.
        unsafe { fastrun_context_free(ctx) };
    }

    #[test]
    fn struct_size_is_checked() {
        // SAFETY: all-zero is a valid options struct.
        let mut o: fastrun_context_options = unsafe { std::mem::zeroed() };
        let mut ctx = ptr::null_mut();
        let mut err = ptr::null_mut();
        o.struct_size = 8;
        // SAFETY: valid pointers; struct_size smaller than the struct.
        let r = unsafe { fastrun_context_new(&o, &mut ctx, &mut err) };
        assert_eq!(r, -FASTRUN_E_INVALID_ARGUMENT);
        assert!(ctx.is_null());
        assert!(take(err).2.contains("struct_size is 8"));

        // A newer caller: bigger struct, unknown fields zero → accepted; set → refused.
        #[repr(C)]
        struct Newer {
            o: fastrun_context_options,
            extra: u64,
        }
        // SAFETY: all-zero is valid for both parts.
        let mut n: Newer = unsafe { std::mem::zeroed() };
        n.o.struct_size = std::mem::size_of::<Newer>();
        // SAFETY: `n` is struct_size bytes long.
        let r = unsafe { fastrun_context_new(&n.o, &mut ctx, &mut err) };
        assert_eq!(r, 0);
        // SAFETY: a live context.
        unsafe { fastrun_context_free(ctx) };
        n.extra = 1;
        // SAFETY: as above.
        let r = unsafe { fastrun_context_new(&n.o, &mut ctx, &mut err) };
        assert_eq!(r, -FASTRUN_E_UNSUPPORTED);
        take(err);
    }

    #[test]
    fn spawn_mode_is_optional_and_checked() {
        // SAFETY: all-zero is a valid options struct.
        let mut o: fastrun_context_options = unsafe { std::mem::zeroed() };
        let mut ctx = ptr::null_mut();
        let mut err = ptr::null_mut();
        // A caller built before spawn_mode existed: its struct ends before the field.
        o.struct_size = CONTEXT_OPTIONS_V1;
        o.spawn_mode = 99; // beyond the caller's struct: never read
                           // SAFETY: valid pointers; struct_size within the struct.
        let r = unsafe { fastrun_context_new(&o, &mut ctx, &mut err) };
        assert_eq!(r, 0);
        // SAFETY: a live context.
        unsafe {
            assert_eq!((*ctx).ctx.spawn, fastrun_runtime::SpawnMode::Auto);
            fastrun_context_free(ctx);
        }
        o.struct_size = std::mem::size_of::<fastrun_context_options>();
        o.spawn_mode = FASTRUN_SPAWN_VM;
        // SAFETY: as above.
        let r = unsafe { fastrun_context_new(&o, &mut ctx, &mut err) };
        assert_eq!(r, 0);
        // SAFETY: a live context.
        unsafe {
            assert_eq!((*ctx).ctx.spawn, fastrun_runtime::SpawnMode::SharedVm);
            fastrun_context_free(ctx);
        }
        o.spawn_mode = 3;
        // SAFETY: as above.
        let r = unsafe { fastrun_context_new(&o, &mut ctx, &mut err) };
        assert_eq!(r, -FASTRUN_E_INVALID_ARGUMENT);
        assert!(take(err).2.contains("spawn_mode 3"));
    }

    #[test]
    fn trace_file_is_optional() {
        let dir = std::env::temp_dir().join(format!("fastrun-ffi-trace-{}", std::process::id()));
        let path = std::ffi::CString::new(dir.join("trace.json").to_str().unwrap()).unwrap();
        // SAFETY: all-zero is a valid options struct.
        let mut o: fastrun_context_options = unsafe { std::mem::zeroed() };
        let mut ctx = ptr::null_mut();
        let mut err = ptr::null_mut();
        // A caller built before trace_file existed: its struct ends before the field.
        o.struct_size = std::mem::offset_of!(fastrun_context_options, trace_file);
        o.trace_file = path.as_ptr(); // beyond the caller's struct: never read
                                      // SAFETY: valid pointers; struct_size within the struct.
        let r = unsafe { fastrun_context_new(&o, &mut ctx, &mut err) };
        assert_eq!(r, 0);
        // SAFETY: a live context.
        unsafe {
            assert_eq!((*ctx).ctx.trace, None);
            fastrun_context_free(ctx);
        }
        o.struct_size = std::mem::size_of::<fastrun_context_options>();
        // SAFETY: as above.
        let r = unsafe { fastrun_context_new(&o, &mut ctx, &mut err) };
        assert_eq!(r, 0);
        // SAFETY: a live context.
        unsafe {
            assert_eq!(
                (*ctx).ctx.trace.as_deref(),
                Some(dir.join("trace.json").as_path())
            );
            fastrun_context_free(ctx);
        }
    }

    #[test]
    fn missing_container_and_bad_arguments() {
        let dir = std::env::temp_dir().join(format!("fastrun-ffi-unit-{}", std::process::id()));
        let ctx = context(&dir);
        let mut err = ptr::null_mut();
        let mut buf = [0 as c_char; 16];
        let mut needed = 0usize;
        // SAFETY: valid handles and buffers.
        unsafe {
            let r = fastrun_container_state(
                ctx,
                c"nope".as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut needed,
                &mut err,
            );
            assert_eq!(r, -FASTRUN_E_NOT_FOUND);
            assert!(take(err).2.contains("nope"));

            assert_eq!(
                fastrun_container_start(ctx, ptr::null(), &mut err),
                -FASTRUN_E_INVALID_ARGUMENT
            );
            assert_eq!(take(err).2, "id is NULL");
            assert_eq!(
                fastrun_container_kill(ctx, c"x".as_ptr(), 0, &mut err),
                -FASTRUN_E_INVALID_ARGUMENT
            );
            assert!(take(err).2.contains("invalid signal 0"));
            assert_eq!(
                fastrun_container_start(ptr::null_mut(), c"x".as_ptr(), &mut err),
                -FASTRUN_E_INVALID_ARGUMENT
            );
            assert!(take(err).2.contains("ctx is NULL"));

            let mut json = ptr::null_mut();
            assert_eq!(fastrun_list(ctx, &mut json, &mut err), 0);
            assert_eq!(CStr::from_ptr(json).to_str().unwrap(), "[]");
            fastrun_string_free(json);
            fastrun_string_free(ptr::null_mut());
            fastrun_pids_free(ptr::null_mut());
            fastrun_container_free(ptr::null_mut());
            fastrun_context_free(ctx);
            fastrun_context_free(ptr::null_mut());
        }
    }

    #[test]
    fn load_from_memory_validates() {
        let mut c = ptr::null_mut();
        let mut err = ptr::null_mut();
        let bad = br#"{"ociVersion": "1.0.2", "root": {"path": 5}}"#;
        // SAFETY: valid buffers and out-pointers.
        let r = unsafe {
            fastrun_container_load_from_memory(
                bad.as_ptr().cast(),
                bad.len(),
                c"/tmp".as_ptr(),
                &mut c,
                &mut err,
            )
        };
        assert_eq!(r, -FASTRUN_E_INVALID_CONFIG);
        assert!(c.is_null());
        let (_, _, m) = take(err);
        assert!(m.contains("root.path"), "{m}");

        let syntax = b"{\n  \"ociVersion\": \"1.0.2\",\n  oops\n}";
        // SAFETY: as above.
        let r = unsafe {
            fastrun_container_load_from_memory(
                syntax.as_ptr().cast(),
                syntax.len(),
                c"/tmp".as_ptr(),
                &mut c,
                &mut err,
            )
        };
        assert_eq!(r, -FASTRUN_E_INVALID_CONFIG);
        let (_, _, m) = take(err);
        assert!(m.contains("line 3"), "{m}");

        let good = fastrun_runtime::default_spec(false);
        // SAFETY: as above.
        let r = unsafe {
            fastrun_container_load_from_memory(
                good.as_ptr().cast(),
                good.len(),
                c"relative/bundle".as_ptr(),
                &mut c,
                &mut err,
            )
        };
        assert_eq!(r, 0);
        // SAFETY: a live container, then freed once.
        unsafe {
            assert!((*c).bundle.is_absolute());
            fastrun_container_free(c);
        }

        // SAFETY: a missing file.
        let r =
            unsafe { fastrun_container_load(c"/nonexistent-bundle".as_ptr(), &mut c, &mut err) };
        assert_eq!(r, -FASTRUN_E_SYSTEM);
        let (_, errno, m) = take(err);
        assert_eq!(errno, libc::ENOENT);
        assert!(m.contains("/nonexistent-bundle/config.json"), "{m}");
    }

    #[test]
    fn user_strings() {
        assert_eq!(parse_user("1000").ok(), Some((1000, None)));
        assert_eq!(parse_user("1:2").ok(), Some((1, Some(2))));
        assert!(parse_user("x").is_err());
        assert!(parse_user("1:").is_err());
    }
}

// Each exported function as `NAME@@FASTRUN_0` in libfastrun.so (written by build.rs;
// see its `version_script`).
include!(concat!(env!("OUT_DIR"), "/symver.rs"));
