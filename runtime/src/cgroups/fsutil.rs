//! Small file helpers that turn I/O errors into [`CgroupError`]s naming the file.

use std::io::Write as _;
use std::path::Path;

use super::CgroupError;

/// Reads a whole cgroup file.
pub(crate) fn read(path: &Path) -> Result<String, CgroupError> {
    crate::sys::fs::read_small(path).map_err(|e| CgroupError::io("cgroup: read", path, e))
}

/// Reads a file, `None` when it does not exist.
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>, CgroupError> {
    match crate::sys::fs::read_small(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CgroupError::io("cgroup: read", path, e)),
    }
}

/// Writes `value` to an existing cgroup file in one `write(2)` (no create, no truncate
/// semantics beyond what cgroupfs does), so the kernel sees exactly one value.
pub(crate) fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    write_raw(path, value).map_err(|e| CgroupError::write(path, value, e))
}

/// Like [`write`] but returns the plain I/O error, for callers that inspect errno.
pub(crate) fn write_raw(path: &Path, value: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(value.as_bytes())
}

/// Parses a single unsigned number (trailing newline allowed); "max" gives `u64::MAX`.
pub(crate) fn parse_u64(path: &Path, s: &str) -> Result<u64, CgroupError> {
    let t = s.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse::<u64>().map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        msg: format!("expected a number, got {t:?}"),
    })
}

/// Reads a single-number file; `None` when the file does not exist.
pub(crate) fn read_u64_opt(path: &Path) -> Result<Option<u64>, CgroupError> {
    match read_opt(path)? {
        Some(s) => parse_u64(path, &s).map(Some),
        None => Ok(None),
    }
}
