//! What the exported functions share and the header does not show: the failure type,
//! argument checks, versioned structs, C allocations, the panic hook and the log sink.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void, CStr, OsStr};
use std::fs::File;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Once;

use fastrun_runtime::Error;

/// Why a call failed: an engine error, or one of the library's own (code, errno, message).
pub(crate) enum Fail {
    Engine(Error),
    Code {
        code: i32,
        errno: i32,
        message: String,
    },
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Engine(e)
    }
}

impl Fail {
    /// An invalid argument (`FASTRUN_E_INVALID_ARGUMENT`).
    pub(crate) fn arg(message: impl Into<String>) -> Self {
        Fail::Engine(Error::InvalidArgument(message.into()))
    }

    /// `(code, errno, message)`.
    pub(crate) fn parts(&self) -> (i32, i32, String) {
        match self {
            Fail::Engine(e) => (
                crate::code_of(e.kind()),
                e.errno().unwrap_or(0),
                e.to_string(),
            ),
            Fail::Code {
                code,
                errno,
                message,
            } => (*code, *errno, message.clone()),
        }
    }
}

pub(crate) type Res<T> = Result<T, Fail>;

// ---------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------

/// A required NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &str) -> Res<&'a str> {
    if p.is_null() {
        return Err(Fail::arg(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| {
        Fail::arg(format!(
            "{name} is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

/// An optional path argument: NULL is `None`; any bytes but NUL are allowed (Linux paths
/// need not be UTF-8); an empty string is an error.
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string.
pub(crate) unsafe fn opt_path(p: *const c_char, name: &str) -> Res<Option<PathBuf>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    if bytes.is_empty() {
        return Err(Fail::arg(format!("{name} is empty")));
    }
    Ok(Some(PathBuf::from(OsStr::from_bytes(bytes))))
}

/// A required path argument.
///
/// # Safety
/// As [`opt_path`].
pub(crate) unsafe fn path_arg(p: *const c_char, name: &str) -> Res<PathBuf> {
    // SAFETY: forwarded.
    unsafe { opt_path(p, name) }?.ok_or_else(|| Fail::arg(format!("{name} is NULL")))
}

/// An optional UTF-8 string argument (NULL is `None`).
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str(p: *const c_char, name: &str) -> Res<Option<String>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded.
    unsafe { str_arg(p, name) }.map(|s| Some(s.to_string()))
}

/// A NULL-terminated array of UTF-8 strings; a NULL array is empty.
///
/// # Safety
/// `p` is NULL or points to an array of valid NUL-terminated strings ended by NULL.
pub(crate) unsafe fn str_array(p: *const *const c_char, name: &str) -> Res<Vec<String>> {
    let mut out = Vec::new();
    if p.is_null() {
        return Ok(out);
    }
    for i in 0.. {
        // SAFETY: the array is NULL-terminated, so every index up to the NULL is valid.
        let item = unsafe { *p.add(i) };
        if item.is_null() {
            break;
        }
        // SAFETY: each element is a valid NUL-terminated string.
        out.push(unsafe { str_arg(item, &format!("{name}[{i}]")) }?.to_string());
    }
    Ok(out)
}

/// A byte buffer argument; `len` 0 with a NULL pointer is an empty buffer.
///
/// # Safety
/// `p` is NULL or valid for reading `len` bytes.
pub(crate) unsafe fn bytes_arg<'a>(p: *const c_char, len: usize, name: &str) -> Res<&'a [u8]> {
    if p.is_null() {
        return Err(Fail::arg(format!("{name} is NULL")));
    }
    // SAFETY: valid for `len` bytes per the contract.
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// Check and copy a size-versioned struct (the `struct_size` field first), as the
/// kernel's `copy_struct_from_user` does: a caller built against an older header passes
/// a smaller struct (missing fields read as zero); one built against a newer header
/// passes a bigger one, accepted only when the fields this library does not know are
/// all zero.
///
/// # Safety
/// `p` points to at least `struct_size` readable bytes that start with a `size_t`
/// holding `struct_size`, and `T` is valid when all-zero.
pub(crate) unsafe fn read_versioned<T>(p: *const T, min: usize, name: &str) -> Res<T> {
    // SAFETY: the struct starts with a size_t per the contract.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<usize>()) };
    if size < min {
        return Err(Fail::arg(format!(
            "{name}.struct_size is {size}: set it to sizeof(struct {name}) (at least {min})"
        )));
    }
    let ours = std::mem::size_of::<T>();
    if size > ours {
        // SAFETY: the caller's struct is `size` bytes long.
        let extra = unsafe { std::slice::from_raw_parts(p.cast::<u8>().add(ours), size - ours) };
        if extra.iter().any(|&b| b != 0) {
            return Err(Fail::Engine(Error::Unsupported(format!(
                "{name}.struct_size is {size}: this libfastrun ({}) knows {ours} bytes and the \
                 fields after them are set",
                fastrun_runtime::version()
            ))));
        }
    }
    // SAFETY: T is valid all-zero (contract); then at most `size` bytes of the caller's
    // struct are copied over it.
    unsafe {
        let mut out: T = std::mem::zeroed();
        std::ptr::copy_nonoverlapping(
            p.cast::<u8>(),
            (&mut out as *mut T).cast::<u8>(),
            size.min(ours),
        );
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// C allocations handed to the caller
// ---------------------------------------------------------------------------

/// `s` as a malloc'd NUL-terminated string (interior NULs cut the string), or NULL when
/// out of memory.
pub(crate) fn c_string(s: &str) -> *mut c_char {
    let s = s.split('\0').next().unwrap_or("");
    // SAFETY: malloc of len+1 bytes; checked for NULL before use.
    let p = unsafe { libc::malloc(s.len() + 1) }.cast::<u8>();
    if p.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: `p` holds len+1 bytes; `s` is `len` bytes and does not overlap it.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
        *p.add(s.len()) = 0;
    }
    p.cast()
}

/// Store a malloc'd copy of `s` in `*out`; returns its length.
///
/// # Safety
/// `out` is valid for writing one pointer (checked non-NULL by the caller).
pub(crate) unsafe fn give_string(out: *mut *mut c_char, s: &str) -> Res<c_int> {
    let len = c_int::try_from(s.len()).map_err(|_| Fail::arg("result larger than INT_MAX"))?;
    let p = c_string(s);
    if p.is_null() {
        return Err(Fail::Engine(Error::Sys {
            op: "malloc",
            source: std::io::Error::from_raw_os_error(libc::ENOMEM),
        }));
    }
    // SAFETY: per the contract.
    unsafe { *out = p };
    Ok(len)
}

// ---------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------

thread_local! {
    /// Depth of libfastrun calls on this thread (the panic hook stays quiet inside).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The message of the last panic caught on this thread.
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Install (once) a panic hook that, inside a libfastrun call, keeps the message for
/// the error instead of printing it on the host's stderr; elsewhere (the host's own
/// Rust code, if any) it defers to the hook that was there before.
fn install_hook() {
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let inside = DEPTH.with(|d| d.get() > 0);
            // With panic=abort the process is about to die: let the message out.
            if inside && cfg!(panic = "unwind") {
                let msg = format!("{info}");
                PANIC.with(|p| *p.borrow_mut() = Some(msg));
            } else {
                prev(info);
            }
        }));
    });
}

/// Run `f` with panics caught: a panic becomes `FASTRUN_E_INTERNAL` with its message.
pub(crate) fn catch<T>(f: impl FnOnce() -> Res<T>) -> Res<T> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    match r {
        Ok(r) => r,
        Err(_) => {
            let msg = PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Fail::Code {
                code: crate::FASTRUN_E_INTERNAL,
                errno: 0,
                message: format!("internal error: panic in libfastrun: {msg}"),
            })
        }
    }
}

// ---------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------

/// Where a context's log lines go.
pub(crate) enum Sink {
    None,
    Callback {
        f: unsafe extern "C" fn(c_int, *const c_char, *mut c_void),
        userdata: *mut c_void,
    },
    File(File),
}

pub(crate) struct Logger {
    pub sink: Sink,
    /// Lines with a level above this are dropped.
    pub max: c_int,
}

fn level_name(level: c_int) -> &'static str {
    match level {
        crate::FASTRUN_LOG_ERROR => "error",
        crate::FASTRUN_LOG_WARNING => "warning",
        crate::FASTRUN_LOG_INFO => "info",
        _ => "debug",
    }
}

impl Logger {
    pub(crate) fn enabled(&self, level: c_int) -> bool {
        !matches!(self.sink, Sink::None) && level <= self.max
    }

    pub(crate) fn log(&self, level: c_int, msg: &str) {
        if !self.enabled(level) {
            return;
        }
        match &self.sink {
            Sink::None => {}
            Sink::Callback { f, userdata } => {
                let text = msg.replace('\0', " ");
                let Ok(c) = std::ffi::CString::new(text) else {
                    return;
                };
                // SAFETY: the callback and its userdata were supplied by the caller for
                // this purpose; the message is a valid C string for the call's duration.
                unsafe { f(level, c.as_ptr(), *userdata) };
            }
            Sink::File(file) => {
                // One JSON object a line, as runc's `--log-format json`.
                let line = fastrun_runtime::log_line::json(
                    level_name(level),
                    msg,
                    &fastrun_runtime::state::rfc3339_now(),
                );
                // O_APPEND and a single write: lines of concurrent calls do not mix.
                let _ = (&*file).write_all(line.as_bytes());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------
