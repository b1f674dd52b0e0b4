//! A cache of compiled filters, so that repeat starts with the same profile skip
//! libseccomp entirely.
//!
//! The key is the exact bytes of what shapes the BPF: a format tag, the linked
//! libseccomp version, the native architecture and the canonical JSON of the
//! seccomp section without its load-time fields (`flags`, `listenerPath`,
//! `listenerMetadata`). The file name is a 64-bit hash of the key, but the file
//! holds the whole key and a hit needs the key to match byte for byte: a hash
//! collision is a miss, never somebody else's filter.
//!
//! File layout (native byte order): magic `FRSCMPv1`, key length (u32), number of
//! instructions (u32), the key, the instructions (8 bytes each). A file is used
//! only if it is a regular file owned by us, not writable by group or others, and
//! its size is exactly what the header says. Writes go to a temporary file in the
//! same directory, then rename: readers never see half a file. Any cache problem
//! (unwritable directory, rootless, corrupt file) only means compiling again.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::sys::seccomp::{Insn, MAX_INSNS};

const MAGIC: &[u8; 8] = b"FRSCMPv1";
const HEADER: usize = 16;
/// Bump when the compiler's output for the same input changes.
// 2: programs start with the ENOSYS prefix (older entries lack it).
const FORMAT: &str = "fastrun-seccomp-cache 2";

/// The cache key for a seccomp section.
pub fn key(s: &crate::spec::Seccomp<'_>) -> Vec<u8> {
    let shaping = crate::spec::Seccomp {
        flags: Vec::new(),
        listener_path: Default::default(),
        listener_metadata: Default::default(),
        ..s.clone()
    };
    let mut k = format!(
        "{FORMAT}\nlibseccomp {}\nnative {:#x}\n",
        super::compile::libseccomp_version(),
        crate::sys::libseccomp::arch_native()
    )
    .into_bytes();
    // Serializing our own types cannot fail; an empty key would only mean no caching.
    k.extend(serde_json::to_vec(&shaping).unwrap_or_default());
    k
}

/// FNV-1a, 64 bits: only names the file (the key inside is compared in full).
fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The file for a key.
pub fn path(dir: &Path, key: &[u8]) -> PathBuf {
    dir.join(format!("{:016x}.bpf", fnv1a(key)))
}

/// The cached program for `key`, if a valid entry exists.
pub fn read(dir: &Path, key: &[u8]) -> Option<Vec<Insn>> {
    let p = path(dir, key);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&p)
        .ok()?;
    let md = f.metadata().ok()?;
    let me = crate::sys::geteuid();
    if !md.file_type().is_file() || md.uid() != me || md.mode() & 0o022 != 0 {
        return None;
    }
    let size = md.len() as usize;
    if size < HEADER || size > HEADER + key.len() + MAX_INSNS * 8 {
        return None;
    }
    let mut buf = Vec::with_capacity(size);
    f.read_to_end(&mut buf).ok()?;
    if buf.len() != size || &buf[..8] != MAGIC {
        return None;
    }
    let klen = u32::from_ne_bytes(buf[8..12].try_into().ok()?) as usize;
    let n = u32::from_ne_bytes(buf[12..16].try_into().ok()?) as usize;
    if klen != key.len() || n == 0 || n > MAX_INSNS || size != HEADER + klen + n * 8 {
        return None;
    }
    if &buf[HEADER..HEADER + klen] != key {
        return None;
    }
    Some(super::compile::insns(&buf[HEADER + klen..]))
}

/// At most this many entries are kept: a write beyond it removes the oldest.
pub const MAX_ENTRIES: usize = 64;
/// At most this many bytes of entries are kept (a profile compiles to a few KiB).
pub const MAX_BYTES: u64 = 8 << 20;

/// Store `prog` for `key` (atomically), then keep the directory within
/// [`MAX_ENTRIES`] and [`MAX_BYTES`]. The directory is created, but not its
/// parent (the state root). Errors are returned for tests; callers ignore them.
pub fn write(dir: &Path, key: &[u8], prog: &[Insn]) -> std::io::Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let md = std::fs::symlink_metadata(dir)?;
    let me = crate::sys::geteuid();
    if !md.is_dir() || md.uid() != me || md.mode() & 0o022 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "seccomp cache directory is not private",
        ));
    }
    let mut data = Vec::with_capacity(HEADER + key.len() + prog.len() * 8);
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(&(key.len() as u32).to_ne_bytes());
    data.extend_from_slice(&(prog.len() as u32).to_ne_bytes());
    data.extend_from_slice(key);
    data.extend_from_slice(&super::compile::bytes(prog));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(&data)?;
        std::fs::rename(&tmp, path(dir, key))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res?;
    prune(dir, &path(dir, key), MAX_ENTRIES, MAX_BYTES);
    Ok(())
}

/// Remove the oldest entries (by modification time) until at most `max_entries`
/// of at most `max_bytes` in total remain; `keep` (the entry just written) stays.
/// Leftover temporary files older than a minute go too. Best effort.
pub fn prune(dir: &Path, keep: &Path, max_entries: usize, max_bytes: u64) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    let mut entries = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        let Ok(md) = e.metadata() else { continue };
        if !md.is_file() {
            continue;
        }
        let mtime = md.modified().unwrap_or(std::time::UNIX_EPOCH);
        let name = e.file_name();
        if name.as_encoded_bytes().starts_with(b".tmp-") {
            if now
                .duration_since(mtime)
                .is_ok_and(|age| age.as_secs() > 60)
            {
                let _ = std::fs::remove_file(&p);
            }
            continue;
        }
        if name.as_encoded_bytes().ends_with(b".bpf") {
            entries.push((mtime, md.len(), p));
        }
    }
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    let mut count = entries.len();
    if count <= max_entries && total <= max_bytes {
        return;
    }
    entries.sort();
    for (_, len, p) in entries {
        if count <= max_entries && total <= max_bytes {
            break;
        }
        if p == keep {
            continue;
        }
        if std::fs::remove_file(&p).is_ok() {
            count -= 1;
            total = total.saturating_sub(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prog(n: u32) -> Vec<Insn> {
        (0..n)
            .map(|i| Insn {
                code: 6,
                jt: 0,
                jf: 0,
                k: i,
            })
            .collect()
    }

    #[test]
    fn round_trip_and_key_mismatch() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("cache");
        write(&dir, b"key-a", &prog(3)).unwrap();
        assert_eq!(read(&dir, b"key-a").unwrap(), prog(3));
        assert!(read(&dir, b"key-b").is_none());
        // Same file name, different key inside: a miss.
        std::fs::rename(path(&dir, b"key-a"), path(&dir, b"key-c")).unwrap();
        assert!(read(&dir, b"key-c").is_none());
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        // No temporary files left.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn truncated_or_padded_files_are_misses() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        write(dir, b"k", &prog(2)).unwrap();
        let p = path(dir, b"k");
        let full = std::fs::read(&p).unwrap();
        std::fs::write(&p, &full[..full.len() - 1]).unwrap();
        assert!(read(dir, b"k").is_none());
        let mut padded = full.clone();
        padded.extend_from_slice(&[0; 8]);
        std::fs::write(&p, &padded).unwrap();
        assert!(read(dir, b"k").is_none());
        std::fs::write(&p, &full).unwrap();
        assert_eq!(read(dir, b"k").unwrap(), prog(2));
    }

    #[test]
    fn the_cache_stays_bounded() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("cache");
        for i in 0..MAX_ENTRIES + 10 {
            write(&dir, format!("key-{i}").as_bytes(), &prog(2)).unwrap();
        }
        let n = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(n, MAX_ENTRIES);
        // The newest entry is kept.
        let last = format!("key-{}", MAX_ENTRIES + 9);
        assert_eq!(read(&dir, last.as_bytes()).unwrap(), prog(2));
        // A byte budget too: one entry of the same size fits, not two.
        let size = std::fs::metadata(path(&dir, last.as_bytes()))
            .unwrap()
            .len();
        prune(&dir, &path(&dir, last.as_bytes()), MAX_ENTRIES, size);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert!(read(&dir, last.as_bytes()).is_some());
    }

    #[test]
    fn the_state_root_is_not_created() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("missing-root/.seccomp-cache");
        assert!(write(&dir, b"k", &prog(1)).is_err());
        assert!(!d.path().join("missing-root").exists());
    }

    #[test]
    fn group_writable_files_are_ignored() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        write(dir, b"k", &prog(1)).unwrap();
        let p = path(dir, b"k");
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o620)).unwrap();
        assert!(read(dir, b"k").is_none());
    }

    #[test]
    fn key_ignores_load_time_fields() {
        use crate::spec::{Seccomp, Str};
        let a = Seccomp {
            default_action: Str::from("SCMP_ACT_ALLOW"),
            ..Seccomp::default()
        };
        let b = Seccomp {
            flags: vec![Str::from("SECCOMP_FILTER_FLAG_LOG")],
            listener_path: Str::from("/x"),
            ..a.clone()
        };
        let c = Seccomp {
            default_errno_ret: Some(1),
            default_action: Str::from("SCMP_ACT_ERRNO"),
            ..a.clone()
        };
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
    }
}
