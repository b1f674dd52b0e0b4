//! The parent/child sync channel: fixed-size messages over a SOCK_SEQPACKET pair,
//! so the child reports without allocating.

use crate::sys::{fs, Errno, SysResult};

u32_enum! {
    /// Where the child was when it failed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Step {
        default Unknown = 0,
        WaitParent = 1,
        SetNs = 2,
        TimeNs = 3,
        RootPropagation = 4,
        BindRoot = 5,
        OpenRoot = 6,
        Mount = 7,
        Device = 8,
        Link = 9,
        Mask = 10,
        ReadonlyPath = 11,
        SwitchRoot = 12,
        RootReadonly = 13,
        RootfsPropagation = 14,
        Sysctl = 15,
        Hostname = 16,
        Domainname = 17,
        Keyring = 18,
        Rlimit = 19,
        Cwd = 20,
        CwdUnreachable = 21,
        CapBounding = 22,
        Groups = 23,
        Gid = 24,
        Uid = 25,
        Caps = 26,
        Ambient = 27,
        NoNewPrivs = 28,
        FindExecutable = 29,
        CloseFds = 30,
        Exec = 31,
        OpenHostNull = 32,
        PreserveFds = 33,
        Terminal = 34,
        Hooks = 35,
        UserNsRoot = 36,
        Seccomp = 37,
        SeccompNotify = 38,
        Chroot = 39,
        StartHook = 40,
        Loopback = 41,
    }
}

/// Message kinds.
pub const MSG_READY: u32 = 1;
pub const MSG_ERROR: u32 = 2;
/// The pty master, carried as SCM_RIGHTS with the message.
pub const MSG_PTY: u32 = 3;
/// Mounts are done, pivot_root not yet: run the create hooks, then answer.
pub const MSG_HOOKS: u32 = 4;
/// The seccomp notify fd is attached (SCM_RIGHTS); more messages follow.
pub const MSG_SECCOMP_FD: u32 = 5;
/// First message of a child sharing the parent's memory: its pid (`index`) and
/// pidfd (`arg`), which only the sleeping helper thread's clone3 would return.
pub const MSG_HELLO: u32 = 6;
/// The child has written `0` to its v1 cgroups' `tasks` files: `index` is the
/// first hierarchy whose write failed (`u32::MAX`: none) and `errno` its error.
pub const MSG_CGROUPS: u32 = 7;
/// `--trace`: the child finished step [`Mark`] `step` at CLOCK_MONOTONIC
/// nanoseconds `index | arg << 32`. Sent in a batch before READY, and for a
/// process without an exec fifo once more just before its exec.
pub const MSG_TIME: u32 = 8;

/// The steps the child marks for `--trace`, in the order it passes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Mark {
    /// The child runs (the clone's latency, from the runtime's mark before).
    Start = 0,
    CgroupJoin,
    Fds,
    /// The parent wrote the id maps, checked the cgroup join, said go.
    WaitParent,
    Namespaces,
    Mounts,
    Devices,
    Masks,
    Hooks,
    Terminal,
    SwitchRoot,
    Process,
    Identity,
    /// The runtime saved the state and committed (run, exec).
    WaitCommit,
    /// Signal reset: the next thing is the execve.
    ExecPrep,
    /// After the mounts: the runtime attached the device program.
    WaitDevices,
}

/// Names of the [`Mark`]s, as `--trace` prints them.
pub const MARK_NAMES: [&str; 16] = [
    "init.start",
    "init.cgroup_join",
    "init.fds",
    "init.wait_parent",
    "init.namespaces",
    "init.mounts",
    "init.devices",
    "init.masks",
    "init.hooks",
    "init.terminal",
    "init.switch_root",
    "init.process",
    "init.identity",
    "init.wait_commit",
    "init.exec_prep",
    "init.wait_devices",
];

/// One message from the child.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Msg {
    pub kind: u32,
    pub step: u32,
    /// Index into the plan's list for the step (mount number, rlimit number, ...).
    pub index: u32,
    /// Sub-operation ([`crate::rootfs::Op`]) for rootfs steps.
    pub op: u32,
    /// Argument of the sub-operation (e.g. the option index).
    pub arg: u32,
    pub errno: i32,
}

const MSG_SIZE: usize = std::mem::size_of::<Msg>();

impl Msg {
    fn to_bytes(self) -> [u8; MSG_SIZE] {
        let mut b = [0u8; MSG_SIZE];
        let words = [
            self.kind,
            self.step,
            self.index,
            self.op,
            self.arg,
            self.errno as u32,
        ];
        for (i, w) in words.iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
        }
        b
    }

    fn from_bytes(b: &[u8; MSG_SIZE]) -> Msg {
        let w = |i: usize| u32::from_ne_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        Msg {
            kind: w(0),
            step: w(1),
            index: w(2),
            op: w(3),
            arg: w(4),
            errno: w(5) as i32,
        }
    }

    /// Send on the channel (child side; no allocation).
    pub fn send(self, fd: libc::c_int) -> SysResult<()> {
        fs::write_all(fd, &self.to_bytes())
    }

    /// Send with one fd attached (SCM_RIGHTS), child side: the control buffer is on
    /// the stack.
    pub fn send_with_fd(self, sock: libc::c_int, fd: libc::c_int) -> SysResult<()> {
        match crate::sys::socket::send_with_fd(sock, &self.to_bytes(), fd)? {
            MSG_SIZE => Ok(()),
            _ => Err(Errno(libc::EPROTO)),
        }
    }

    /// Receive one message and the fd sent with it, if any; `Ok(None)` on EOF.
    pub fn recv_with_fd(
        sock: libc::c_int,
    ) -> SysResult<Option<(Msg, Option<std::os::fd::OwnedFd>)>> {
        let mut data = [0u8; MSG_SIZE];
        let (n, fd) = crate::sys::socket::recv_with_fd(sock, &mut data)?;
        if n != MSG_SIZE {
            drop(fd);
            return if n == 0 {
                Ok(None)
            } else {
                Err(Errno(libc::EPROTO))
            };
        }
        Ok(Some((Msg::from_bytes(&data), fd)))
    }

    /// Receive one message; `Ok(None)` on EOF (the child exited or exec'd).
    pub fn recv(fd: libc::c_int) -> SysResult<Option<Msg>> {
        let mut b = [0u8; MSG_SIZE];
        match fs::read(fd, &mut b)? {
            0 => Ok(None),
            MSG_SIZE => Ok(Some(Msg::from_bytes(&b))),
            _ => Err(Errno(libc::EPROTO)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_round_trips() {
        let m = Msg {
            kind: MSG_ERROR,
            step: Step::Mount as u32,
            index: 3,
            op: 7,
            arg: u32::MAX,
            errno: libc::EPERM,
        };
        assert_eq!(Msg::from_bytes(&m.to_bytes()), m);
    }

    #[test]
    fn steps_round_trip() {
        for v in 0..40 {
            let s = Step::from_u32(v);
            if s != Step::Unknown {
                assert_eq!(s as u32, v);
            }
        }
        assert_eq!(Step::from_u32(999), Step::Unknown);
    }
}
