//! OCI mount options (`"rw,nosuid,size=65536k,mode=755,rbind"`) resolved into mount
//! attributes, propagation, bind flags and file-system data options.

use crate::sys::mount_api::*;

/// The resolved form of a mount's `options`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// MOUNT_ATTR_* to set / clear on the mount itself.
    pub attr_set: u64,
    pub attr_clr: u64,
    /// MOUNT_ATTR_* to set / clear on the mount and every mount below it (`rro`, ...).
    pub rec_attr_set: u64,
    pub rec_attr_clr: u64,
    /// MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE, or 0.
    pub propagation: u64,
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// `rbind` was given (or a recursive propagation on a bind).
    pub recursive: bool,
    /// Superblock flags passed to fsconfig as flags (`sync`, `dirsync`, `mand`, ...).
    pub sb_flags: Vec<String>,
    /// File-system data options for fsconfig, as (key, value).
    pub data: Vec<(String, Option<String>)>,
    /// `tmpcopyup` (tmpfs over a non-empty directory keeps its content).
    pub tmpcopyup: bool,
    /// `idmap` / `ridmap` (idmapped mounts).
    pub idmap: bool,
    /// `ridmap`: the idmapping applies to every mount of the tree.
    pub idmap_recursive: bool,
}

fn atime(opts: &mut MountOptions, set: u64, recursive: bool) {
    if recursive {
        opts.rec_attr_clr |= MOUNT_ATTR__ATIME;
        opts.rec_attr_set = (opts.rec_attr_set & !MOUNT_ATTR__ATIME) | set;
    } else {
        opts.attr_clr |= MOUNT_ATTR__ATIME;
        opts.attr_set = (opts.attr_set & !MOUNT_ATTR__ATIME) | set;
    }
}

fn flag(opts: &mut MountOptions, bit: u64, on: bool, recursive: bool) {
    let (set, clr) = if recursive {
        (&mut opts.rec_attr_set, &mut opts.rec_attr_clr)
    } else {
        (&mut opts.attr_set, &mut opts.attr_clr)
    };
    if on {
        *set |= bit;
        *clr &= !bit;
    } else {
        *clr |= bit;
        *set &= !bit;
    }
}

/// Parse a list of OCI mount options. Unknown options become file-system data
/// (the kernel then accepts or refuses them, and the error names the option).
pub fn parse<'a>(options: impl IntoIterator<Item = &'a str>) -> MountOptions {
    let mut o = MountOptions::default();
    for opt in options {
        let (rec, name) = match opt.strip_prefix('r') {
            Some(rest) if is_recursive_attr(rest) => (true, rest),
            _ => (false, opt),
        };
        match name {
            "ro" => flag(&mut o, MOUNT_ATTR_RDONLY, true, rec),
            "rw" => flag(&mut o, MOUNT_ATTR_RDONLY, false, rec),
            "nosuid" => flag(&mut o, MOUNT_ATTR_NOSUID, true, rec),
            "suid" => flag(&mut o, MOUNT_ATTR_NOSUID, false, rec),
            "nodev" => flag(&mut o, MOUNT_ATTR_NODEV, true, rec),
            "dev" => flag(&mut o, MOUNT_ATTR_NODEV, false, rec),
            "noexec" => flag(&mut o, MOUNT_ATTR_NOEXEC, true, rec),
            "exec" => flag(&mut o, MOUNT_ATTR_NOEXEC, false, rec),
            "nodiratime" => flag(&mut o, MOUNT_ATTR_NODIRATIME, true, rec),
            "diratime" => flag(&mut o, MOUNT_ATTR_NODIRATIME, false, rec),
            "nosymfollow" => flag(&mut o, MOUNT_ATTR_NOSYMFOLLOW, true, rec),
            "symfollow" => flag(&mut o, MOUNT_ATTR_NOSYMFOLLOW, false, rec),
            "relatime" => atime(&mut o, MOUNT_ATTR_RELATIME, rec),
            "noatime" => atime(&mut o, MOUNT_ATTR_NOATIME, rec),
            "strictatime" => atime(&mut o, MOUNT_ATTR_STRICTATIME, rec),
            "norelatime" | "nostrictatime" | "atime" => atime(&mut o, MOUNT_ATTR_RELATIME, rec),
            "bind" => o.bind = true,
            "rbind" => {
                o.bind = true;
                o.recursive = true;
            }
            "private" => o.propagation = libc::MS_PRIVATE,
            "shared" => o.propagation = libc::MS_SHARED,
            "slave" => o.propagation = libc::MS_SLAVE,
            "unbindable" => o.propagation = libc::MS_UNBINDABLE,
            "rprivate" => prop_rec(&mut o, libc::MS_PRIVATE),
            "rshared" => prop_rec(&mut o, libc::MS_SHARED),
            "rslave" => prop_rec(&mut o, libc::MS_SLAVE),
            "runbindable" => prop_rec(&mut o, libc::MS_UNBINDABLE),
            "defaults" | "async" | "nomand" | "loud" | "noiversion" | "nolazytime" | "remount" => {}
            "sync" | "dirsync" | "mand" | "lazytime" | "silent" | "iversion" => {
                o.sb_flags.push(name.to_string())
            }
            "tmpcopyup" => o.tmpcopyup = true,
            "idmap" => o.idmap = true,
            "ridmap" => {
                o.idmap = true;
                o.idmap_recursive = true;
            }
            "" => {}
            other => {
                let (k, v) = match other.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (other.to_string(), None),
                };
                o.data.push((k, v));
            }
        }
    }
    o
}

fn prop_rec(o: &mut MountOptions, p: u64) {
    o.propagation = p;
    o.recursive = true;
}

fn is_recursive_attr(name: &str) -> bool {
    matches!(
        name,
        "ro" | "rw"
            | "nosuid"
            | "suid"
            | "nodev"
            | "dev"
            | "noexec"
            | "exec"
            | "nodiratime"
            | "diratime"
            | "relatime"
            | "norelatime"
            | "noatime"
            | "atime"
            | "strictatime"
            | "nostrictatime"
            | "nosymfollow"
            | "symfollow"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_dev_tmpfs() {
        let o = parse(["nosuid", "strictatime", "mode=755", "size=65536k"]);
        assert_eq!(o.attr_set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME);
        assert_ne!(o.attr_clr & MOUNT_ATTR__ATIME, 0);
        assert_eq!(
            o.data,
            vec![
                ("mode".into(), Some("755".into())),
                ("size".into(), Some("65536k".into()))
            ]
        );
        assert!(!o.bind);
    }

    #[test]
    fn devpts_flags_are_data() {
        let o = parse([
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]);
        assert_eq!(o.attr_set, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
        assert_eq!(o.data[0], ("newinstance".into(), None));
        assert_eq!(o.data.len(), 4);
    }

    #[test]
    fn bind_rbind_and_propagation() {
        let o = parse(["rbind", "ro", "rslave"]);
        assert!(o.bind && o.recursive);
        assert_eq!(o.attr_set, MOUNT_ATTR_RDONLY);
        assert_eq!(o.propagation, libc::MS_SLAVE);
        let o = parse(["bind", "private"]);
        assert!(o.bind && !o.recursive);
        assert_eq!(o.propagation, libc::MS_PRIVATE);
    }

    #[test]
    fn recursive_attrs() {
        let o = parse(["rbind", "rro", "rnosuid"]);
        assert_eq!(o.rec_attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
        assert_eq!(o.attr_set, 0);
    }

    #[test]
    fn later_option_wins() {
        let o = parse(["ro", "rw"]);
        assert_eq!(o.attr_set & MOUNT_ATTR_RDONLY, 0);
        assert_ne!(o.attr_clr & MOUNT_ATTR_RDONLY, 0);
        let o = parse(["noatime", "relatime"]);
        assert_eq!(o.attr_set & MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME);
    }

    #[test]
    fn extensions_and_sb_flags() {
        let o = parse(["tmpcopyup", "idmap", "sync", "defaults", ""]);
        assert!(o.tmpcopyup && o.idmap);
        assert_eq!(o.sb_flags, vec!["sync".to_string()]);
        assert!(o.data.is_empty());
    }
}
