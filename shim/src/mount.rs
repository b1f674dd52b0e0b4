//! The rootfs mounts containerd hands to `create` (overlay, bind), mounted on
//! `<bundle>/rootfs` and unmounted at delete.

use std::path::{Path, PathBuf};

use fastrun_runtime::sys::mount_api::{mount as sys_mount, umount2};
use fastrun_runtime::sys::process;

/// Unmount what `create` mounted on `<bundle>/rootfs` (all layers, lazily).
pub fn unmount_rootfs(target: &Path) {
    let Ok(c) = std::ffi::CString::new(target.as_os_str().as_encoded_bytes()) else {
        return;
    };
    // EINVAL (not a mount point) ends the loop.
    while umount2(&c, libc::MNT_DETACH).is_ok() {}
}

/// Mount one of containerd's rootfs mounts (overlay, bind) on `target`: the
/// options that are mount flags become flags, the rest the data string. (The
/// `containerd-shim` crate's helper forks and waits through its own reaper, which
/// this shim does not use.)
///
/// mount(2) takes at most a page of data: an overlay whose options come near that
/// (an image of many layers) has its `lowerdir` rewritten relative to the layers'
/// common parent and is mounted from a thread whose working directory is there,
/// as runc's shim does.
pub fn mount(typ: &str, source: &str, options: &[String], target: &Path) -> Result<(), String> {
    if typ == "overlay" && options_size(options) + 512 >= page_size() {
        if let Some((dir, compact)) = compact_lowerdir(options) {
            return std::thread::scope(|s| {
                s.spawn(|| {
                    unshare_chdir(&dir)?;
                    mount_here(typ, source, &compact, target)
                })
                .join()
                .unwrap_or_else(|_| Err("mount thread panicked".into()))
            });
        }
    }
    mount_here(typ, source, options, target)
}

/// Give this thread its own working directory (CLONE_FS) and go to `dir`. The
/// thread must end afterwards: Rust's threads are not reused.
fn unshare_chdir(dir: &Path) -> Result<(), String> {
    // Only the calling thread's fs attributes change.
    process::unshare(libc::CLONE_FS).map_err(|e| format!("unshare(CLONE_FS): {}", e.into_io()))?;
    std::env::set_current_dir(dir).map_err(|e| format!("chdir {}: {e}", dir.display()))
}

/// The size of the options as mount(2) gets them (comma-separated, NUL-terminated).
fn options_size(options: &[String]) -> usize {
    options.iter().map(|o| o.len() + 1).sum()
}

fn page_size() -> usize {
    process::sysconf(libc::_SC_PAGESIZE).map_or(4096, |n| n as usize)
}

/// The overlay options with `lowerdir` relative to the deepest directory that is
/// a strict parent of every lower layer, and that directory; `None` when nothing
/// can be shortened (one layer, relative or escaped paths, nothing in common
/// below `/`). containerd's layers are `<root>/snapshots/<n>/fs`: the parent is
/// `<root>/snapshots`, each layer `<n>/fs`.
fn compact_lowerdir(options: &[String]) -> Option<(PathBuf, Vec<String>)> {
    const KEY: &str = "lowerdir=";
    let idx = options.iter().position(|o| o.starts_with(KEY))?;
    let value = &options[idx][KEY.len()..];
    // `\:` escapes a colon in a layer path: leave such paths alone.
    if value.contains('\\') {
        return None;
    }
    let dirs: Vec<Vec<&str>> = value
        .split(':')
        .map(|d| {
            d.strip_prefix('/')
                .map(|d| d.split('/').filter(|c| !c.is_empty()).collect())
        })
        .collect::<Option<_>>()?;
    if dirs.len() < 2 {
        return None;
    }
    // Leave at least one component to each layer.
    let max = dirs.iter().map(Vec::len).min()?.checked_sub(1)?;
    let common = (0..max)
        .take_while(|&i| dirs.iter().all(|d| d[i] == dirs[0][i]))
        .count();
    if common == 0 {
        return None;
    }
    let parent: PathBuf = std::iter::once("/")
        .chain(dirs[0][..common].iter().copied())
        .collect();
    let rel: Vec<String> = dirs.iter().map(|d| d[common..].join("/")).collect();
    let mut out = options.to_vec();
    out[idx] = format!("{KEY}{}", rel.join(":"));
    Some((parent, out))
}

/// mount(2) (and the remount a read-only mount needs) from the current directory.
fn mount_here(typ: &str, source: &str, options: &[String], target: &Path) -> Result<(), String> {
    let (flags, data) = mount_flags(options);
    let c = |s: &str| std::ffi::CString::new(s).map_err(|_| format!("NUL in mount {s:?}"));
    let (src, ty, dat) = (c(source)?, c(typ)?, c(&data)?);
    let tgt = std::ffi::CString::new(target.as_os_str().as_encoded_bytes())
        .map_err(|_| "NUL in the rootfs path".to_string())?;
    sys_mount(
        Some(&src),
        &tgt,
        Some(&ty),
        flags & !libc::MS_RDONLY,
        Some(&dat),
    )
    .map_err(|e| {
        format!(
            "mount {typ} {source} on {}: {}",
            target.display(),
            e.into_io()
        )
    })?;
    if flags & libc::MS_BIND != 0 && flags & libc::MS_RDONLY != 0 {
        // A read-only bind needs a remount.
        sys_mount(None, &tgt, None, flags | libc::MS_REMOUNT, None)
            .map_err(|e| format!("remount {} read-only: {}", target.display(), e.into_io()))?;
    } else if flags & libc::MS_RDONLY != 0 {
        let _ = sys_mount(None, &tgt, None, libc::MS_REMOUNT | flags, Some(&dat));
    }
    Ok(())
}

/// Split mount options into MS_* flags and the filesystem's data string.
fn mount_flags(options: &[String]) -> (libc::c_ulong, String) {
    let mut flags: libc::c_ulong = 0;
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => flags |= libc::MS_RDONLY,
            "rw" | "defaults" => {}
            "bind" => flags |= libc::MS_BIND,
            "rbind" => flags |= libc::MS_BIND | libc::MS_REC,
            "nosuid" => flags |= libc::MS_NOSUID,
            "nodev" => flags |= libc::MS_NODEV,
            "noexec" => flags |= libc::MS_NOEXEC,
            "noatime" => flags |= libc::MS_NOATIME,
            "relatime" => flags |= libc::MS_RELATIME,
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_options_are_data() {
        let o: Vec<String> = ["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/a:/b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (flags, data) = mount_flags(&o);
        assert_eq!(flags, 0);
        assert_eq!(data, "index=off,workdir=/w,upperdir=/u,lowerdir=/a:/b");
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lowerdir_relative_to_the_snapshots_dir() {
        let s = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots";
        let o = strings(&[
            "index=off",
            &format!("workdir={s}/13/work"),
            &format!("upperdir={s}/13/fs"),
            // 1 and 12 share a first character, not a directory.
            &format!("lowerdir={s}/12/fs:{s}/3/fs:{s}/1/fs"),
        ]);
        let (dir, c) = compact_lowerdir(&o).unwrap();
        assert_eq!(dir, Path::new(s));
        assert_eq!(c[..3], o[..3], "only lowerdir changes");
        assert_eq!(c[3], "lowerdir=12/fs:3/fs:1/fs");
    }

    #[test]
    fn lowerdir_keeps_a_component_per_layer() {
        // One layer is the parent of another: the common parent is one up.
        let o = strings(&["lowerdir=/a/b/c:/a/b/c/d"]);
        let (dir, c) = compact_lowerdir(&o).unwrap();
        assert_eq!(dir, Path::new("/a/b"));
        assert_eq!(c, ["lowerdir=c:c/d"]);
        // Repeated and trailing slashes.
        let o = strings(&["lowerdir=/x//y/1/:/x/y/2"]);
        let (dir, c) = compact_lowerdir(&o).unwrap();
        assert_eq!(dir, Path::new("/x/y"));
        assert_eq!(c, ["lowerdir=1:2"]);
    }

    #[test]
    fn lowerdir_left_alone() {
        for o in [
            vec!["upperdir=/u/1"],
            vec!["lowerdir=/s/1/fs"],          // one layer
            vec!["lowerdir=/a/fs:/b/fs"],      // nothing in common below /
            vec!["lowerdir=/s/1/fs:s/2/fs"],   // relative
            vec!["lowerdir=/s/1\\:x/fs:/s/2"], // an escaped colon
            vec!["lowerdir=/s:/s"],
        ] {
            let o = strings(&o);
            assert_eq!(compact_lowerdir(&o), None, "{o:?}");
        }
    }

    /// An overlay of 40 layers with long paths (twice a page of options):
    /// mounted through the compaction, every layer's file is visible. Runs in a
    /// private mount namespace of its own thread (root only).
    #[test]
    fn overlay_of_many_layers_mounts() {
        if fastrun_runtime::sys::geteuid() != 0 {
            eprintln!("skipping: mounting an overlay needs root");
            return;
        }
        struct Tmp(PathBuf);
        impl Drop for Tmp {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let tmp =
            Tmp(std::env::temp_dir().join(format!("fastrun-shim-overlay-{}", std::process::id())));
        // Long like a snapshotter's root: 40 layers of ~250 bytes each.
        let pad = "p".repeat(100);
        let snaps = tmp.0.join(&pad).join(&pad).join("snapshots");
        let mut lower = Vec::new();
        for i in 0..40 {
            let fs = snaps.join(i.to_string()).join("fs");
            std::fs::create_dir_all(&fs).unwrap();
            std::fs::write(fs.join(format!("layer-{i}")), "x").unwrap();
            lower.push(fs.display().to_string());
        }
        for d in ["up/fs", "up/work", "rootfs"] {
            std::fs::create_dir_all(snaps.join(d)).unwrap();
        }
        let o = vec![
            format!("workdir={}", snaps.join("up/work").display()),
            format!("upperdir={}", snaps.join("up/fs").display()),
            format!("lowerdir={}", lower.join(":")),
        ];
        assert!(
            options_size(&o) > page_size(),
            "the test needs long options"
        );
        let target = snaps.join("rootfs");
        let seen = std::thread::spawn(move || {
            // In this thread only (CLONE_NEWNS implies CLONE_FS, which a thread
            // may unshare).
            process::unshare(libc::CLONE_NEWNS).unwrap();
            sys_mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None).unwrap();
            mount("overlay", "overlay", &o, &target).unwrap();
            let seen = (0..40)
                .filter(|i| target.join(format!("layer-{i}")).exists())
                .count();
            unmount_rootfs(&target);
            seen
        })
        .join()
        .unwrap();
        assert_eq!(seen, 40);
    }

    #[test]
    fn bind_options_are_flags() {
        let o: Vec<String> = ["rbind", "ro", "nosuid"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (flags, data) = mount_flags(&o);
        assert_eq!(
            flags,
            libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY | libc::MS_NOSUID
        );
        assert_eq!(data, "");
    }
}
