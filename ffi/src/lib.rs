//! libfastrun: the fastrun engine as a C library.
//!
//! Conventions (in the style of crun's `libcrun_error_t`):
//! - A function that can fail takes a last `fastrun_error **err` out-parameter. On
//!   failure it returns a negative value, `-code` where `code` is one of the
//!   `FASTRUN_E_*` constants, and, when `err` is not NULL, stores in `*err` a newly
//!   allocated error that the caller releases with `fastrun_error_free`. On success it
//!   returns a value >= 0 and leaves `*err` untouched.
//! - No Rust panic crosses the boundary: a panic becomes a `FASTRUN_E_INTERNAL` error
//!   (release builds use `panic = "abort"`, where a panic aborts the process instead).
//! - Strings returned as `const char *` are static; `char *` fields are owned by the
//!   struct that holds them.

#![deny(unsafe_op_in_unsafe_fn)]

use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use fastrun_runtime::{Error, ErrorKind};

/// The configuration (config.json, process.json, resources) is invalid.
pub const FASTRUN_E_INVALID_CONFIG: i32 = 1;
/// An argument is invalid (bad id, unknown signal, NULL pointer, ...).
pub const FASTRUN_E_INVALID_ARGUMENT: i32 = 2;
/// No container with this id exists.
pub const FASTRUN_E_NOT_FOUND: i32 = 3;
/// A container with this id already exists.
pub const FASTRUN_E_ALREADY_EXISTS: i32 = 4;
/// The container is not in a state that allows the operation.
pub const FASTRUN_E_INVALID_STATE: i32 = 5;
/// A system call failed; `errno_value` holds its errno.
pub const FASTRUN_E_SYSTEM: i32 = 6;
/// The operation is not supported by this build or this machine.
pub const FASTRUN_E_UNSUPPORTED: i32 = 7;
/// An internal error (a bug, or a panic caught at the boundary).
pub const FASTRUN_E_INTERNAL: i32 = 8;

/// An error returned through a `fastrun_error **` out-parameter.
/// Release it with `fastrun_error_free`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct fastrun_error {
    /// One of the `FASTRUN_E_*` codes (positive).
    pub code: i32,
    /// The errno behind the error, or 0.
    pub errno_value: i32,
    /// A NUL-terminated, human-readable message (owned by the error).
    pub message: *mut c_char,
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
unsafe fn set_error(err: *mut *mut fastrun_error, code: i32, errno_value: i32, msg: &str) -> c_int {
    if !err.is_null() {
        // Interior NULs cannot be represented: cut the message there.
        let msg = msg.split('\0').next().unwrap_or("");
        let message = CString::new(msg).unwrap_or_default().into_raw();
        let boxed = Box::new(fastrun_error {
            code,
            errno_value,
            message,
        });
        // SAFETY: the caller guarantees `err` is valid for writing a pointer.
        unsafe { *err = Box::into_raw(boxed) };
    }
    -code
}

/// Run `f`, turning an engine error or a panic into a negative return and `*err`.
///
/// # Safety
/// `err` is NULL or valid for writing one pointer.
unsafe fn guard(err: *mut *mut fastrun_error, f: impl FnOnce() -> Result<c_int, Error>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            // SAFETY: forwarded from this function's contract.
            unsafe {
                set_error(
                    err,
                    code_of(e.kind()),
                    e.errno().unwrap_or(0),
                    &e.to_string(),
                )
            }
        }
        Err(_) => {
            // SAFETY: forwarded from this function's contract.
            unsafe {
                set_error(
                    err,
                    FASTRUN_E_INTERNAL,
                    0,
                    "internal error: panic in libfastrun",
                )
            }
        }
    }
}

static VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

/// The version of libfastrun, e.g. `"0.1.0"`: a static NUL-terminated string that the
/// caller must not free.
#[no_mangle]
pub extern "C" fn fastrun_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// Release an error stored by a libfastrun function. NULL is a no-op.
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
    // freed once; `message` came from `CString::into_raw` (or is NULL).
    unsafe {
        let e = Box::from_raw(err);
        if !e.message.is_null() {
            drop(CString::from_raw(e.message));
        }
    }
}

/// Parse a signal given as a number (`"9"`), a name (`"KILL"`, `"SIGKILL"`, any case)
/// or `"RTMIN+N"`. Returns the signal number (1..64), or `-FASTRUN_E_INVALID_ARGUMENT`
/// with `*err` set.
///
/// # Safety
/// `name` is NULL or a valid NUL-terminated string; `err` is NULL or valid for writing
/// one pointer.
#[no_mangle]
pub unsafe extern "C" fn fastrun_parse_signal(
    name: *const c_char,
    err: *mut *mut fastrun_error,
) -> c_int {
    if name.is_null() {
        // SAFETY: forwarded from this function's contract.
        return unsafe { set_error(err, FASTRUN_E_INVALID_ARGUMENT, 0, "signal name is NULL") };
    }
    // SAFETY: `name` is a valid NUL-terminated string (checked non-NULL above).
    let name = unsafe { CStr::from_ptr(name) };
    let Ok(name) = name.to_str() else {
        // SAFETY: forwarded from this function's contract.
        return unsafe {
            set_error(
                err,
                FASTRUN_E_INVALID_ARGUMENT,
                0,
                "signal name is not UTF-8",
            )
        };
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { guard(err, || fastrun_runtime::parse_signal(name)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

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
        assert!(!err.is_null());
        // SAFETY: `err` was just set by libfastrun and its message is a C string.
        unsafe {
            assert_eq!((*err).code, FASTRUN_E_INVALID_ARGUMENT);
            assert_eq!((*err).errno_value, 0);
            let m = CStr::from_ptr((*err).message).to_str().unwrap();
            assert!(m.contains("NOPE"), "{m}");
            fastrun_error_free(err);
            fastrun_error_free(ptr::null_mut());
        }

        // A NULL out-parameter is allowed.
        // SAFETY: NULL `name` and NULL `err` are both allowed.
        let n = unsafe { fastrun_parse_signal(ptr::null(), ptr::null_mut()) };
        assert_eq!(n, -FASTRUN_E_INVALID_ARGUMENT);
    }

    #[test]
    fn panics_do_not_cross() {
        let mut err = ptr::null_mut();
        // SAFETY: valid out-pointer.
        let n = unsafe { guard(&mut err, || panic!("boom")) };
        assert_eq!(n, -FASTRUN_E_INTERNAL);
        // SAFETY: `err` was just set by `guard`.
        unsafe {
            assert_eq!((*err).code, FASTRUN_E_INTERNAL);
            fastrun_error_free(err);
        }
    }
}
