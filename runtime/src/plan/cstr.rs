//! C string containers built before the clone so the child can use them as is.

use std::ffi::{CStr, CString};

use crate::error::{Error, Result};

/// A NUL-terminated array of C strings (argv/envp), with the pointer array prebuilt.
///
/// The pointers are kept as addresses (`usize`, the same layout as a pointer): the
/// value is then `Send` and `Sync` without an `unsafe impl`. They point into the heap
/// buffers of `strings`, which this value owns and never mutates; moving the value
/// does not move those buffers.
pub struct CStrArray {
    strings: Vec<CString>,
    ptrs: Vec<usize>,
}

impl CStrArray {
    /// Build from strings; `what` names the field for errors (e.g. `process.args`).
    pub fn new<'a>(items: impl IntoIterator<Item = &'a str>, what: &str) -> Result<Self> {
        let strings = items
            .into_iter()
            .enumerate()
            .map(|(i, s)| cstring(s, &format!("{what}[{i}]")))
            .collect::<Result<Vec<_>>>()?;
        let mut ptrs: Vec<usize> = strings.iter().map(|s| s.as_ptr() as usize).collect();
        ptrs.push(0);
        Ok(CStrArray { strings, ptrs })
    }

    /// The NULL-terminated pointer array, for execve.
    pub fn as_ptr(&self) -> *const *const libc::c_char {
        self.ptrs.as_ptr().cast()
    }

    /// Whether the pointer array ends with NULL after one entry per string.
    pub fn is_null_terminated(&self) -> bool {
        self.ptrs.len() == self.strings.len() + 1 && self.ptrs.last() == Some(&0)
    }

    /// The strings.
    pub fn iter(&self) -> impl Iterator<Item = &CStr> {
        self.strings.iter().map(|s| s.as_c_str())
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// The first string, if any.
    pub fn first(&self) -> Option<&CStr> {
        self.strings.first().map(|s| s.as_c_str())
    }
}

impl std::fmt::Debug for CStrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.strings.iter()).finish()
    }
}

/// A NULL-terminated pointer array whose strings are owned elsewhere in the same
/// [`super::Plan`] (used for the trampoline's argv: `[path, argv0, argv1, ..., NULL]`).
/// The pointers point into C strings owned by the same Plan, which are never mutated
/// or dropped while the Plan lives; kept as addresses, as in [`CStrArray`].
pub struct PtrArray(Vec<usize>);

impl PtrArray {
    /// `[head, rest..., NULL]`. The caller keeps `head` and `rest` alive as long as this.
    pub fn with_head(head: &CStr, rest: &CStrArray) -> Self {
        let mut v = Vec::with_capacity(rest.len() + 2);
        v.push(head.as_ptr() as usize);
        v.extend(rest.iter().map(|s| s.as_ptr() as usize));
        v.push(0);
        PtrArray(v)
    }

    pub fn as_ptr(&self) -> *const *const libc::c_char {
        self.0.as_ptr().cast()
    }
}

impl std::fmt::Debug for PtrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PtrArray[{}]", self.0.len())
    }
}

/// A C string from a config string, refusing interior NULs with the field's name.
pub fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Config(format!("{what}: must not contain a NUL byte")))
}

/// The kernel's limit on a path's length (PATH_MAX, including the NUL).
const PATH_MAX: usize = 4096;

/// A path inside the container's root, prepared for safe resolution from a root fd:
/// the relative path, every prefix ("a", "a/b", "a/b/c") and every component name.
#[derive(Debug, Clone)]
pub struct InRootPath {
    /// The absolute path as the config gave it (cleaned), for messages.
    pub display: String,
    /// Relative path from the root ("." for the root itself).
    pub rel: CString,
    pub prefixes: Vec<CString>,
    pub names: Vec<CString>,
}

impl InRootPath {
    /// Prepare `path` (absolute or relative to the root). `..` components are resolved
    /// lexically and cannot climb above the root; what a symlink resolves to is the
    /// kernel's business at open time (RESOLVE_IN_ROOT).
    pub fn new(path: &str, what: &str) -> Result<Self> {
        // The kernel refuses longer paths anyway (PATH_MAX), and every prefix is kept:
        // without this bound a deep path would cost memory quadratic in its length.
        if path.len() > PATH_MAX {
            return Err(Error::Config(format!(
                "{what}: path is {} bytes long, more than the {PATH_MAX} the kernel allows",
                path.len()
            )));
        }
        let parts = crate::spec::in_root_components(path);
        let display = format!("/{}", parts.join("/"));
        let rel = if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        };
        let mut prefixes = Vec::with_capacity(parts.len());
        let mut names = Vec::with_capacity(parts.len());
        for i in 0..parts.len() {
            prefixes.push(cstring(&parts[..=i].join("/"), what)?);
            names.push(cstring(parts[i], what)?);
        }
        Ok(InRootPath {
            display,
            rel: cstring(&rel, what)?,
            prefixes,
            names,
        })
    }

    /// Is this the root itself?
    pub fn is_root(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_root_path_cleans_and_splits() {
        let p = InRootPath::new("/a//b/./c/", "x").unwrap();
        assert_eq!(p.display, "/a/b/c");
        assert_eq!(p.rel.to_str().unwrap(), "a/b/c");
        let prefixes: Vec<_> = p.prefixes.iter().map(|s| s.to_str().unwrap()).collect();
        assert_eq!(prefixes, ["a", "a/b", "a/b/c"]);
        let names: Vec<_> = p.names.iter().map(|s| s.to_str().unwrap()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn dotdot_cannot_climb_above_root() {
        let p = InRootPath::new("/../../etc/../x", "x").unwrap();
        assert_eq!(p.display, "/x");
        assert_eq!(p.rel.to_str().unwrap(), "x");
        let root = InRootPath::new("/..", "x").unwrap();
        assert!(root.is_root());
        assert_eq!(root.rel.to_str().unwrap(), ".");
    }

    #[test]
    fn overlong_paths_are_refused_before_any_prefix_is_built() {
        let deep = "/a".repeat(100_000);
        let e = InRootPath::new(&deep, "linux.maskedPaths[0]").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.maskedPaths[0]: path is 200000 bytes long"),
            "{e}"
        );
        let ok = "/a".repeat(2048);
        assert_eq!(InRootPath::new(&ok, "x").unwrap().names.len(), 2048);
    }

    #[test]
    fn nul_is_refused_with_field_name() {
        let e = InRootPath::new("/a\0b", "mounts[1].destination").unwrap_err();
        assert!(e.to_string().starts_with("mounts[1].destination:"), "{e}");
    }

    #[test]
    fn cstr_array_is_null_terminated() {
        let a = CStrArray::new(["sh", "-c", "true"], "process.args").unwrap();
        assert_eq!(a.len(), 3);
        assert!(a.is_null_terminated());
        assert_eq!(a.first().unwrap().to_str().unwrap(), "sh");
    }
}
