//! Capabilities, identity and other `prctl`-level process attributes.

use super::{cvt, cvt_long, SysResult};

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The five capability sets as bitmasks (bit N = capability N).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// `capset` for the calling thread.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> SysResult<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and two data elements as capset(2) v3 expects.
    cvt_long(unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) })
        .map(drop)
}

/// `capget` of a process: (effective, permitted, inheritable).
pub fn capget(pid: libc::pid_t) -> SysResult<(u64, u64, u64)> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data elements as capget(2) v3 expects.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join = |lo: u32, hi: u32| lo as u64 | (hi as u64) << 32;
    Ok((
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ))
}

/// `prctl(option, arg2, arg3, 0, 0)`.
pub fn prctl(
    option: libc::c_int,
    arg2: libc::c_ulong,
    arg3: libc::c_ulong,
) -> SysResult<libc::c_int> {
    // SAFETY: prctl with integer arguments only.
    cvt(unsafe { libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) })
}

/// `setresuid` via the raw syscall (glibc's wrapper broadcasts to all threads,
/// which is wrong in a fork-like child).
pub fn setresuid(uid: u32) -> SysResult<()> {
    // SAFETY: plain syscall with integer arguments.
    cvt_long(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) }).map(drop)
}

/// `setresgid` via the raw syscall.
pub fn setresgid(gid: u32) -> SysResult<()> {
    // SAFETY: plain syscall with integer arguments.
    cvt_long(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) }).map(drop)
}

/// `setgroups` via the raw syscall.
pub fn setgroups(groups: &[libc::gid_t]) -> SysResult<()> {
    // SAFETY: `groups` is valid for reads of its length.
    cvt_long(unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) }).map(drop)
}

/// `setrlimit` through `prlimit64(0, ...)`.
pub fn setrlimit(resource: libc::c_int, soft: u64, hard: u64) -> SysResult<()> {
    let lim = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit64; old limit pointer may be NULL.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            resource,
            &lim as *const libc::rlimit64,
            std::ptr::null_mut::<libc::rlimit64>(),
        )
    })
    .map(drop)
}

/// `getrlimit` through `prlimit64(0, ...)`: (soft, hard).
pub fn getrlimit(resource: libc::c_int) -> SysResult<(u64, u64)> {
    let mut lim = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid out-pointer.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            resource,
            std::ptr::null::<libc::rlimit64>(),
            &mut lim as *mut libc::rlimit64,
        )
    })?;
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// Join a new anonymous session keyring (`keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`).
pub fn join_session_keyring() -> SysResult<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
    // SAFETY: a NULL name asks for a new anonymous keyring.
    cvt_long(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    })
    .map(drop)
}

/// The highest capability number the running kernel knows.
pub fn last_cap() -> u32 {
    super::fs::read_small("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}
