//! The container init's side of the spawn: walk the precomputed [`Plan`] and make
//! system calls, nothing else. No allocation, no locks, no formatting: a failure
//! is a fixed-size [`Msg`] (step, index, errno) sent to the parent.

use std::ffi::CStr;

use super::protocol::{Mark, Msg, Step, MSG_ERROR, MSG_HOOKS, MSG_PTY, MSG_READY, MSG_TIME};
use crate::plan::{HookPlan, Plan};
use crate::rootfs::{self, Fd, Op, StepError};
use crate::sys::clone::exit_now;
use crate::sys::{caps, fs, Errno};

/// The fds the child uses, already placed above the `--preserve-fds` range.
pub struct ChildFds<'a> {
    /// Our end of the sync socket.
    pub sock: libc::c_int,
    /// Namespaces to join: (CLONE_NEW* type, fd), user first. A pid namespace is
    /// here only with `join_pid_ns` (else the parent entered it for the clone).
    pub join: &'a [(libc::c_int, libc::c_int)],
    /// The parent's end of the sync socket: closed first, so that the child sees
    /// EOF if the parent dies.
    pub parent_sock: libc::c_int,
    /// Where to wait for `start`: the exec fifo (create) or -1 (wait on `sock`, run).
    pub start_fd: libc::c_int,
    /// The sealed exec trampoline (see [`super::trampoline`]), or -1. It knows the
    /// numbers of `sock` and `start_fd`: it waits for the commit and `start`.
    pub trampoline: libc::c_int,
    /// The pid namespace of `target` is joined here, for our children only: the
    /// trampoline forks the process that runs the user program (exec). Nothing of
    /// ours is ever visible in the container's pid namespace.
    pub join_pid_ns: bool,
    /// The pid namespace a new procfs shows (joined here by path), or -1: the
    /// procfs of the pid namespace we are in.
    pub proc_pidns: libc::c_int,
    /// A pidfd whose namespaces `plan.ns.join_target` names (exec), or -1.
    pub target: libc::c_int,
    /// The seccomp filter to load (plan's program behind the exec allowance), or empty.
    pub seccomp: &'a [crate::sys::seccomp::Insn],
    /// User namespaces for idmapped mounts, parallel to `RootfsPlan::idmaps`.
    pub idmaps: &'a [libc::c_int],
    /// Bind trees the runtime opened before the clone (`MountKind::Bind::preopen`).
    pub trees: &'a [libc::c_int],
    /// Fds to dup onto 0, 1 and 2 first (-1: keep the inherited one).
    pub stdio: [libc::c_int; 3],
    /// Every disposition is already default and the mask empty ([`vm_main`] did it
    /// first): no reset before the exec.
    pub signals_default: bool,
    /// The `tasks` file of our cgroup in each v1 hierarchy (opened by the parent,
    /// write-only): we join by writing `0` to each, first thing.
    pub cgroup_tasks: &'a [libc::c_int],
    /// The systemd driver: `cgroup.procs` of the cgroup we were born in (-1: none).
    /// We write `0` to it first thing (see [`prime_migration`]).
    pub cgroup_prime: libc::c_int,
    /// `--trace`: record when each step ends and send it to the parent.
    pub trace: bool,
    /// Bring `lo` up (`plan.loopback_up`, unless the network namespace we join
    /// was made by the runtime, which brings it up: see [`super::netns`]).
    pub loopback_up: bool,
    /// After the mounts, wait for the runtime's byte before making device nodes:
    /// it attaches the cgroup's device program meanwhile (`SpawnIo::after_go`).
    pub wait_devices: bool,
}

/// `--trace` marks: CLOCK_MONOTONIC (vDSO) at the end of each step, kept on our
/// stack and sent in fixed-size messages; nothing when tracing is off.
struct Marks {
    on: bool,
    t: [u64; super::protocol::MARK_NAMES.len()],
}

impl Marks {
    fn mark(&mut self, m: Mark) {
        if self.on {
            self.t[m as usize] = crate::sys::monotonic_ns();
        }
    }

    /// Send the marks recorded so far (and forget them).
    fn flush(&mut self, sock: libc::c_int) -> Result<(), Errno> {
        if !self.on {
            return Ok(());
        }
        for (i, t) in self.t.iter_mut().enumerate() {
            if *t != 0 {
                Msg {
                    kind: MSG_TIME,
                    step: i as u32,
                    index: *t as u32,
                    arg: (*t >> 32) as u32,
                    ..Default::default()
                }
                .send(sock)?;
                *t = 0;
            }
        }
        Ok(())
    }
}

struct Fail {
    step: Step,
    index: u32,
    op: Op,
    arg: u32,
    errno: Errno,
}

fn fail(step: Step, index: usize) -> impl Fn(Errno) -> Fail {
    move |errno| Fail {
        step,
        index: index as u32,
        op: Op::None,
        arg: 0,
        errno,
    }
}

fn fail_op(step: Step, index: usize) -> impl Fn(StepError) -> Fail {
    move |e| Fail {
        step,
        index: index as u32,
        op: e.op,
        arg: e.arg,
        errno: e.errno,
    }
}

/// What a child sharing the parent's memory (see [`super::shared_vm`]) gets: all
/// of it lives on the helper thread's stack, which sleeps until we exec or exit.
pub struct VmArg<'a> {
    pub plan: &'a Plan,
    pub fds: ChildFds<'a>,
    /// Where the kernel stored our pid and pidfd (as the host sees them) before we ran.
    pub pid: *const libc::pid_t,
    pub pidfd: *const libc::c_int,
}

/// Entry point of the shared-memory child (on its own stack).
pub extern "C" fn vm_main(arg: *mut libc::c_void) -> ! {
    // SAFETY: `arg` is the helper's `VmArg`; the helper sleeps in clone3
    // (CLONE_VFORK) until we exec or exit, so it stays valid and unchanged.
    let a = unsafe { &*(arg as *const VmArg<'_>) };
    // The host's handlers are its code on its memory, which we share: none may run
    // here. All signals are blocked (the helper blocked them before the clone);
    // set every disposition to default, then unblock, so that a signal does what
    // it does to a container init (kill it), not what the host's handler does.
    signals_to_default();
    // SAFETY: the kernel wrote both through CLONE_PARENT_SETTID / CLONE_PIDFD
    // before this process first ran.
    let (pid, pidfd) = unsafe {
        (
            std::ptr::read_volatile(a.pid),
            std::ptr::read_volatile(a.pidfd),
        )
    };
    let hello = Msg {
        kind: super::protocol::MSG_HELLO,
        index: pid as u32,
        arg: pidfd as u32,
        ..Default::default()
    };
    if hello.send(a.fds.sock).is_err() {
        exit_now(1);
    }
    main(a.plan, &a.fds)
}

/// Every catchable signal to its default disposition, then an empty mask: raw
/// system calls, so that the real-time signals glibc reserves are reset as well.
fn signals_to_default() {
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction with a valid kernel sigaction and no old-action pointer.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &dfl as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8usize,
            )
        };
    }
    let empty: u64 = 0;
    // SAFETY: rt_sigprocmask with a valid 8-byte set.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            8usize,
        )
    };
}

/// Run the plan and exec the user program. Never returns.
pub fn main(plan: &Plan, fds: &ChildFds) -> ! {
    let f = match run(plan, fds) {
        Ok(never) => match never {},
        Err(f) => f,
    };
    let _ = Msg {
        kind: MSG_ERROR,
        step: f.step as u32,
        index: f.index,
        op: f.op as u32,
        arg: f.arg,
        errno: f.errno.0,
    }
    .send(fds.sock);
    exit_now(if f.step == Step::Exec { 127 } else { 1 })
}

fn run(plan: &Plan, fds: &ChildFds) -> Result<std::convert::Infallible, Fail> {
    let mut marks = Marks {
        on: fds.trace,
        t: [0; super::protocol::MARK_NAMES.len()],
    };
    marks.mark(Mark::Start);
    // First of all (CVE-2019-5736): until its final execve this process is a clone
    // of the runtime (the host binary mapped, the caller's environment, host fds, a
    // host root and cwd until the mount namespace is set up). Non-dumpable, its
    // /proc entries (exe, root, cwd, environ, mem, fd) are closed to every process
    // without CAP_SYS_PTRACE on the host: a container process that shares a
    // namespace with it (`exec`, a joined pid or user namespace) cannot reach it,
    // not even in the window after the capabilities are dropped. execve restores it.
    // Exception: a new user namespace whose maps the parent still has to write
    // (an unprivileged parent cannot open a non-dumpable child's uid_map); no
    // other process lives in that namespace yet, and we turn it off right after go.
    if plan.id_maps.is_none() {
        let _ = caps::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    }
    fs::close(fds.parent_sock);
    prime_migration(fds.cgroup_prime);
    if !fds.cgroup_tasks.is_empty() {
        join_cgroups(fds.cgroup_tasks, fds.sock).map_err(fail(Step::WaitParent, 0))?;
        marks.mark(Mark::CgroupJoin);
    }
    set_stdio(&fds.stdio).map_err(fail(Step::CloseFds, 0))?;
    close_inherited(plan, fds).map_err(fail(Step::CloseFds, 0))?;
    marks.mark(Mark::Fds);
    // The parent writes id maps, cgroup membership and oom_score_adj, then says go.
    let mut go = [0u8; 1];
    match fs::read(fds.sock, &mut go) {
        Ok(1) => {}
        Ok(_) => exit_now(1), // the parent is gone: nobody to report to
        Err(e) => return Err(fail(Step::WaitParent, 0)(e)),
    }
    marks.mark(Mark::WaitParent);
    let _ = caps::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    // Our own session and process group, as runc's init and exec'd processes: not
    // the caller's (outside the pid namespace, where getpgrp() would say 0). A pty
    // then becomes our controlling terminal (TIOCSCTTY needs a session leader).
    // SAFETY: setsid has no arguments. It fails only for a process group leader,
    // which a fresh clone is not (a pty's TIOCSCTTY would then report it).
    unsafe { libc::setsid() };

    // CVE-2025-52881: without a mount namespace of our own, the /proc we would
    // find after joining is shared with other containers, which can mount over
    // its files. Open the runtime's /proc/sys now, before joining anything; the
    // files below it still follow the namespaces we are in when we open them.
    let host_sys = if plan.rootfs.is_none() && !plan.sysctls.is_empty() {
        Some(open_proc_sys(libc::AT_FDCWD).map_err(fail(Step::Sysctl, 0))?)
    } else {
        None
    };
    for (i, (flag, fd)) in fds.join.iter().enumerate() {
        // SAFETY: setns on an fd the parent opened for this purpose.
        fs_cvt(unsafe { libc::setns(*fd, *flag) }).map_err(fail(Step::SetNs, i))?;
    }

    let target_flags = if fds.join_pid_ns {
        plan.ns.join_target
    } else {
        plan.ns.join_target & !libc::CLONE_NEWPID
    };
    if target_flags != 0 && fds.target >= 0 {
        // SAFETY: setns on a pidfd joins several namespaces at once (user first).
        fs_cvt(unsafe { libc::setns(fds.target, target_flags) })
            .map_err(fail(Step::SetNs, usize::MAX))?;
    }
    if plan.ns.unshare_flags != 0 {
        // SAFETY: unshare with namespace flags only.
        fs_cvt(unsafe { libc::unshare(plan.ns.unshare_flags) })
            .map_err(fail(Step::SetNs, fds.join.len()))?;
    }
    // Time offsets first: once we become the user namespace's root we are
    // non-dumpable and no longer own our /proc/self files.
    if let Some(offsets) = &plan.ns.time_offsets {
        time_namespace(offsets).map_err(fail(Step::TimeNs, 0))?;
    }
    if plan.ns.become_root {
        // Become root of the user namespace (mapped by now): until then our host uid
        // is unmapped in it, and creating files on its mounts fails with EOVERFLOW.
        caps::setresgid(0).map_err(fail(Step::UserNsRoot, 0))?;
        caps::setresuid(0).map_err(fail(Step::UserNsRoot, 0))?;
    }

    if fds.loopback_up {
        crate::sys::socket::loopback_up().map_err(fail(Step::Loopback, 0))?;
    }

    marks.mark(Mark::Namespaces);
    // SAFETY: umask cannot fail. Devices and mount points get exact modes.
    unsafe { libc::umask(0) };

    if let Some(rf) = &plan.rootfs {
        crate::sys::mount_api::mount(None, c"/", None, rf.root_propagation, None)
            .map_err(fail(Step::RootPropagation, 0))?;
        if let Some(parent) = &rf.parent_private {
            crate::sys::mount_api::mount(None, parent, None, libc::MS_PRIVATE, None)
                .map_err(fail(Step::RootPropagation, 1))?;
        }
        crate::sys::mount_api::mount(
            Some(&rf.path),
            &rf.path,
            None,
            libc::MS_BIND | libc::MS_REC,
            None,
        )
        .map_err(fail(Step::BindRoot, 0))?;
        let root = Fd(fs::openat(
            libc::AT_FDCWD,
            &rf.path,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )
        .map_err(fail(Step::OpenRoot, 0))?);
        // The host's /dev/null (our copy of the host's mount table, before pivot),
        // checked to be the real 1:3: masks never use the container's /dev/null.
        let host_null = if rf.masked.is_empty() {
            Fd(-1)
        } else {
            open_host_null().map_err(fail(Step::OpenHostNull, 0))?
        };
        let mut last_fs = None;
        for (i, m) in rf.mounts.iter().enumerate() {
            rootfs::mount(
                root.0,
                m,
                fds.idmaps,
                fds.trees,
                fds.proc_pidns,
                &mut last_fs,
            )
            .map_err(fail_op(Step::Mount, i))?;
        }
        drop(last_fs);
        marks.mark(Mark::Mounts);
        if fds.wait_devices {
            let mut b = [0u8; 1];
            match fs::read(fds.sock, &mut b) {
                Ok(1) => {}
                Ok(_) => exit_now(1), // the parent is gone (or failed: it says why)
                Err(e) => return Err(fail(Step::WaitParent, 1)(e)),
            }
            marks.mark(Mark::WaitDevices);
        }
        let mut parents = rootfs::Parents::new();
        for (i, d) in rf.devices.iter().enumerate() {
            rootfs::device(root.0, d, &mut parents).map_err(fail_op(Step::Device, i))?;
        }
        for (i, l) in rf.links.iter().enumerate() {
            rootfs::link(root.0, l, &mut parents).map_err(fail_op(Step::Link, i))?;
        }
        drop(parents);
        marks.mark(Mark::Devices);
        // Before readonlyPaths makes /proc/sys read-only (runc's order too).
        if !plan.sysctls.is_empty() {
            let sys = open_proc_sys(root.0).map_err(fail(Step::Sysctl, 0))?;
            for (i, s) in plan.sysctls.iter().enumerate() {
                write_sysctl(sys.0, &s.rel_path, &s.value).map_err(fail(Step::Sysctl, i))?;
            }
        }
        for (i, p) in rf.masked.iter().enumerate() {
            rootfs::mask(root.0, p, host_null.0).map_err(fail_op(Step::Mask, i))?;
        }
        for (i, p) in rf.readonly_paths.iter().enumerate() {
            rootfs::make_readonly(root.0, p).map_err(fail_op(Step::ReadonlyPath, i))?;
        }
        if let Some(cwd) = &rf.cwd {
            // A missing cwd is created inside the root (runc, crun), as root,
            // before a read-only root is made so.
            rootfs::open_in_root(root.0, cwd, rootfs::Create::Dir, false)
                .map_err(fail(Step::Cwd, 0))?;
        }
        marks.mark(Mark::Masks);
        if plan.hooks_sync {
            hooks_sync(fds.sock).map_err(fail(Step::Hooks, 0))?;
            marks.mark(Mark::Hooks);
        }
        if p_terminal(plan) {
            setup_pty(plan, Some((root.0, rf)), fds.sock, fds.join_pid_ns)
                .map_err(fail(Step::Terminal, 0))?;
            marks.mark(Mark::Terminal);
        }
        if rf.dev_readonly.is_some() {
            rootfs::dev_readonly(root.0).map_err(fail_op(Step::RootReadonly, 1))?;
        }
        rootfs::switch_root(root.0, rf).map_err(fail(Step::SwitchRoot, 0))?;
        drop(root);
        if rf.readonly {
            rootfs::root_readonly().map_err(fail(Step::RootReadonly, 0))?;
        }
        if let Some(p) = rf.rootfs_propagation {
            crate::sys::mount_api::mount(None, c"/", None, p, None)
                .map_err(fail(Step::RootfsPropagation, 0))?;
        }
        marks.mark(Mark::SwitchRoot);
    }

    if plan.rootfs.is_none() {
        // Sysctls through this namespace's /proc (those of the container's own
        // network, IPC and UTS namespaces, the only ones allowed).
        if let Some(sys) = &host_sys {
            for (i, s) in plan.sysctls.iter().enumerate() {
                write_sysctl(sys.0, &s.rel_path, &s.value).map_err(fail(Step::Sysctl, i))?;
            }
        }
        drop(host_sys);
        // No mount namespace of our own: never the host's root, root.path (runc).
        if let Some(root) = &plan.chroot {
            fs::chroot(root).map_err(fail(Step::Chroot, 0))?;
            fs::chdir(c"/").map_err(fail(Step::Chroot, 0))?;
        }
        if p_terminal(plan) {
            // exec: the joined mount namespace gave us the container's root.
            setup_pty(plan, None, fds.sock, fds.join_pid_ns).map_err(fail(Step::Terminal, 0))?;
        }
    }
    if let Some(h) = &plan.hostname {
        // SAFETY: `h` is a valid buffer of the given length.
        fs_cvt(unsafe { libc::sethostname(h.as_ptr(), h.as_bytes().len()) })
            .map_err(fail(Step::Hostname, 0))?;
    }
    if let Some(d) = &plan.domainname {
        // SAFETY: `d` is a valid buffer of the given length.
        fs_cvt(unsafe { libc::setdomainname(d.as_ptr(), d.as_bytes().len()) })
            .map_err(fail(Step::Domainname, 0))?;
    }
    if plan.new_keyring {
        match caps::join_session_keyring() {
            // Keyrings may be disabled or denied by seccomp on the host: not fatal (as runc).
            Ok(())
            | Err(Errno(libc::ENOSYS))
            | Err(Errno(libc::EPERM))
            | Err(Errno(libc::EACCES)) => {}
            Err(e) => return Err(fail(Step::Keyring, 0)(e)),
        }
    }

    let p = &plan.process;
    for (i, r) in p.rlimits.iter().enumerate() {
        caps::setrlimit(r.resource, r.soft, r.hard).map_err(fail(Step::Rlimit, i))?;
    }

    fs::chdir(&p.cwd).map_err(fail(Step::Cwd, 0))?;
    check_cwd_reachable().map_err(fail(Step::CwdUnreachable, 0))?;

    // Only stdio, the preserved range and our own (close-on-exec) fds survive.
    preserve_fds(plan.preserve_fds, &plan.preserve_absent).map_err(fail(Step::PreserveFds, 0))?;
    fs::close_range(3 + plan.preserve_fds, u32::MAX, libc::CLOSE_RANGE_CLOEXEC)
        .map_err(fail(Step::CloseFds, 0))?;
    marks.mark(Mark::Process);
    // The sealed stub waits for the commit and `start` in our place (see
    // `spawn::trampoline`), except with startContainer hooks: those run after
    // `start` from the container's init, so this process waits itself.
    let stub = fds.trampoline >= 0 && plan.start_hooks.is_empty();
    if stub {
        // The trampoline waits on these: they stay open across its exec (it closes
        // them before the user program's).
        for fd in [fds.sock, fds.start_fd] {
            if fd >= 0 {
                // SAFETY: F_SETFD on an fd of ours.
                fs_cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) })
                    .map_err(fail(Step::CloseFds, 0))?;
            }
        }
    }

    if !p.no_new_privs {
        // Without no_new_privs, loading needs CAP_SYS_ADMIN: before dropping it (runc).
        load_seccomp(plan, fds)?;
    }
    set_identity(plan).map_err(|(step, e)| fail(step, 0)(e))?;

    if p.no_new_privs {
        caps::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).map_err(fail(Step::NoNewPrivs, 0))?;
    }
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(p.umask.unwrap_or(0o022)) };

    let exe = find_executable(plan, fds.join_pid_ns).map_err(fail(Step::FindExecutable, 0))?;
    // Changing credentials may have reset dumpability (to fs.suid_dumpable): make
    // sure it is still off before the wait for `start`.
    let _ = caps::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    if p.no_new_privs {
        // As late as we can still report: after this only the sync socket's
        // write/read, signal resets and the (allowed) trampoline execveat.
        load_seccomp(plan, fds)?;
    }
    marks.mark(Mark::Identity);
    marks.flush(fds.sock).map_err(fail(Step::WaitParent, 0))?;

    Msg {
        kind: MSG_READY,
        ..Default::default()
    }
    .send(fds.sock)
    .map_err(fail(Step::WaitParent, 0))?;

    if stub {
        // Become the trampoline now, before the runtime saves the state (it waits
        // for the trampoline's report): from here on, what anyone can see of this
        // process is the sealed stub, which waits for the commit and `start`.
        if !fds.signals_default {
            signals_to_default();
        }
        return Err(fail(Step::Exec, 0)(exec_trampoline(fds.trampoline, p, exe)));
    }

    // No trampoline on this architecture, or startContainer hooks: wait here. The
    // parent commits (state
    // saved) with a byte on the socket; if it dies first we see EOF and leave, so a
    // killed runtime never strands a blocked init.
    let mut b = [0u8; 1];
    match fs::read(fds.sock, &mut b) {
        Ok(1) => {}
        _ => exit_now(1),
    }
    // With an exec fifo (create), block until `start` writes to it.
    if fds.start_fd >= 0 {
        match fs::read(fds.start_fd, &mut b) {
            Ok(1) => {}
            _ => exit_now(1),
        }
    }

    marks.mark(Mark::WaitCommit);
    if !fds.signals_default {
        // Ignored signals would survive execve (the Rust runtime ignores SIGPIPE,
        // callers may ignore others, glibc's reserved 32 and 33 included).
        signals_to_default();
    }
    // startContainer hooks (runc's place for them): now, from the container's
    // context (identity, cgroup, seccomp, namespaces), nothing of the runtime's open.
    for (i, h) in plan.start_hooks.iter().enumerate() {
        let mut out = HookOutput {
            buf: [0; HOOK_OUTPUT],
            len: 0,
        };
        if let Err((status, errno)) = run_hook(plan, h, fds.trampoline, &mut out) {
            report_hook(i, h, status, errno, &out);
            return Err(Fail {
                step: Step::StartHook,
                index: i as u32,
                op: Op::None,
                arg: status,
                errno,
            });
        }
    }
    if fds.start_fd < 0 {
        // The runtime waits for our exec (EOF on the socket): it reads these first.
        marks.mark(Mark::ExecPrep);
        let _ = marks.flush(fds.sock);
    }
    if fds.trampoline >= 0 {
        // The plain trampoline (no sync: made so for startContainer hooks), so that
        // the user program never runs with the runtime as `/proc/self/exe`.
        return Err(fail(Step::Exec, 0)(exec_trampoline(fds.trampoline, p, exe)));
    }
    // SAFETY: the path and argv/envp arrays are NUL-terminated and outlive the call.
    unsafe {
        libc::execve(
            p.exec_candidates[exe].as_ptr(),
            p.argv.as_ptr(),
            p.envp.as_ptr(),
        )
    };
    Err(fail(Step::Exec, 0)(Errno::last()))
}

/// Execute the user program `exe` through the trampoline memfd `trampoline`; only
/// returns on failure, with the errno.
fn exec_trampoline(trampoline: libc::c_int, p: &crate::plan::ProcessPlan, exe: usize) -> Errno {
    // SAFETY: the trampoline argv/envp arrays are NULL-terminated and outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            trampoline,
            c"".as_ptr(),
            p.trampoline_argv[exe].as_ptr(),
            p.envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Errno::last()
}

/// The systemd driver: systemd moves us into the unit's cgroup (a `cgroup.procs`
/// write), and a migration waits for an RCU grace period unless another one ran
/// just before (the kernel's `cgroup_threadgroup_rwsem`). A no-op migration of
/// ours (`0` to the cgroup we were born in, the scope's premade directory) starts
/// that grace period now, while the parent asks systemd for the unit, instead of
/// when systemd gets to the move: systemd's move then waits only for what is left
/// of it. Both name the same cgroup, so their order does not matter. Best effort:
/// an error changes nothing; the parent does not wait for it.
fn prime_migration(fd: libc::c_int) {
    if fd >= 0 {
        let _ = fs::write_all(fd, b"0");
        fs::close(fd);
    }
}

/// Join our v1 cgroups before anything else: write `0` (this thread, which is the
/// whole process) to each hierarchy's `tasks` file and close it, then tell the
/// parent which write failed, if one did (it then moves us with `cgroup.procs`).
/// A thread moving itself skips the kernel's global threadgroup lock and its RCU
/// grace period (see `Cgroup::open_v1_tasks`).
fn join_cgroups(tasks: &[libc::c_int], sock: libc::c_int) -> Result<(), Errno> {
    let mut failed = Msg {
        kind: super::protocol::MSG_CGROUPS,
        index: u32::MAX,
        ..Default::default()
    };
    for (i, &fd) in tasks.iter().enumerate() {
        if let Err(e) = fs::write_all(fd, b"0") {
            if failed.index == u32::MAX {
                failed.index = i as u32;
                failed.errno = e.0;
            }
        }
        fs::close(fd);
    }
    failed.send(sock)
}

/// Load the precompiled seccomp filter; with a listener, hand the notify fd to
/// the parent over the sync socket (SCM_RIGHTS, stack buffer); ours closes at exec.
fn load_seccomp(plan: &Plan, fds: &ChildFds) -> Result<(), Fail> {
    let Some(s) = &plan.seccomp else {
        return Ok(());
    };
    let fd =
        crate::sys::seccomp::set_filter(fds.seccomp, s.flags).map_err(fail(Step::Seccomp, 0))?;
    if s.listener.is_some() {
        // Not closed here: the kernel made it close-on-exec, and a `close` (like
        // anything before the listener has the fd) could be a NOTIFY rule that
        // nobody answers yet (see seccomp::check_notify).
        Msg {
            kind: super::protocol::MSG_SECCOMP_FD,
            ..Default::default()
        }
        .send_with_fd(fds.sock, fd)
        .map_err(fail(Step::SeccompNotify, 0))?;
    }
    Ok(())
}

/// Close every fd inherited from the parent except stdio, the `--preserve-fds`
/// range and the fds this child uses: nothing of the runtime's (state-dir locks,
/// log files, an embedding host's fds) survives in the init, not even until exec.
fn close_inherited(plan: &Plan, fds: &ChildFds) -> Result<(), Errno> {
    let mut keep = [-1 as libc::c_int; 16];
    let mut n = 0;
    let mut push = |fd: libc::c_int| {
        if fd >= 0 && n < keep.len() {
            keep[n] = fd;
            n += 1;
        }
    };
    push(fds.sock);
    push(fds.start_fd);
    push(fds.trampoline);
    push(fds.target);
    for (_, fd) in fds.join {
        push(*fd);
    }
    for fd in fds.idmaps.iter().chain(fds.trees) {
        push(*fd);
    }
    if fds.join.len() + fds.idmaps.len() + fds.trees.len() + 4 > keep.len() {
        // More fds than the fixed list holds: keep everything rather than guess.
        return Ok(());
    }
    let keep = &mut keep[..n];
    keep.sort_unstable();
    let mut next = 3 + plan.preserve_fds;
    for &fd in keep.iter() {
        let fd = fd as u32;
        if fd > next {
            fs::close_range(next, fd - 1, 0)?;
        }
        next = next.max(fd + 1);
    }
    fs::close_range(next, u32::MAX, 0)
}

/// Make the given fds our 0, 1 and 2 (their originals are closed with the other
/// inherited fds). An fd already below 3 is moved up first so that an earlier
/// dup2 cannot clobber it.
fn set_stdio(stdio: &[libc::c_int; 3]) -> Result<(), Errno> {
    let mut src = *stdio;
    for fd in src.iter_mut() {
        if (0..3).contains(fd) {
            // SAFETY: F_DUPFD_CLOEXEC on an inherited fd; the copy is ours.
            *fd = crate::sys::cvt(unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 3) })?;
        }
    }
    for (target, &fd) in src.iter().enumerate() {
        if fd >= 0 {
            // SAFETY: dup2 onto a stdio number; both fds are ours.
            fs_cvt(unsafe { libc::dup2(fd, target as libc::c_int) })?;
        }
    }
    Ok(())
}

/// Tell the parent the mounts are done and wait until it has run the hooks.
fn hooks_sync(sock: libc::c_int) -> Result<(), Errno> {
    Msg {
        kind: MSG_HOOKS,
        ..Default::default()
    }
    .send(sock)?;
    let mut b = [0u8; 1];
    match fs::read(sock, &mut b)? {
        1 => Ok(()),
        _ => exit_now(1),
    }
}

fn p_terminal(plan: &Plan) -> bool {
    plan.process.terminal
}

/// Allocate a pty in the container's own devpts instance, bind its slave over
/// /dev/console by fd (never by a path the container controls), hand the master
/// to the parent, and make the slave our controlling terminal and stdio.
fn setup_pty(
    plan: &Plan,
    root: Option<(libc::c_int, &crate::plan::RootfsPlan)>,
    sock: libc::c_int,
    forks: bool,
) -> Result<(), Errno> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    let master = Fd(match root {
        Some((r, _)) => fs::openat2(
            r,
            c"dev/ptmx",
            flags,
            0,
            fs::RESOLVE_IN_ROOT | fs::RESOLVE_NO_MAGICLINKS,
        )?,
        None => fs::openat(libc::AT_FDCWD, c"/dev/ptmx", flags, 0)?,
    });
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int; TIOCGPTPEER returns a new fd for the slave.
    let slave = unsafe {
        fs_cvt(libc::ioctl(master.0, libc::TIOCSPTLCK, &unlock))?;
        crate::sys::cvt(libc::ioctl(
            master.0,
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY,
        ))?
    };
    let slave = Fd(slave);
    if let Some((rows, cols)) = plan.process.console_size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize.
        fs_cvt(unsafe { libc::ioctl(slave.0, libc::TIOCSWINSZ, &ws) })?;
    }
    if let Some((r, rf)) = root {
        if let Some(console) = &rf.console {
            let target = rootfs::open_in_root(r, console, rootfs::Create::File, true)?;
            let flags = crate::sys::mount_api::OPEN_TREE_CLONE
                | crate::sys::mount_api::OPEN_TREE_CLOEXEC
                | libc::AT_EMPTY_PATH as libc::c_uint;
            let tree = Fd(crate::sys::mount_api::open_tree(slave.0, c"", flags)?);
            crate::sys::mount_api::move_mount_fd(tree.0, target.0)?;
        }
    }
    Msg {
        kind: MSG_PTY,
        ..Default::default()
    }
    .send_with_fd(sock, master.0)?;
    drop(master);
    // The process's own uid owns its pty, so that it can reopen it (runc's
    // fixStdioPermissions); the group stays devpts's (gid=5). Not possible in every
    // user namespace (EINVAL, EPERM) or on a read-only /dev (EROFS): then left as is.
    let uid = plan.process.uid;
    if fs::fstat(slave.0)?.st_uid != uid {
        match fs::fchown(slave.0, uid, u32::MAX) {
            Ok(()) | Err(Errno(libc::EINVAL | libc::EPERM | libc::EROFS)) => {}
            Err(e) => return Err(e),
        }
    }
    // SAFETY: ioctl/dup2 on fds we own; the slave becomes fds 0-2. We are a
    // session leader already (see `run`). When the trampoline forks the process
    // (exec), that process takes the terminal in a session of its own: we exit,
    // and a session leader's exit hangs up its controlling terminal.
    unsafe {
        if !forks {
            fs_cvt(libc::ioctl(slave.0, libc::TIOCSCTTY, 0))?;
        }
        for fd in 0..3 {
            fs_cvt(libc::dup2(slave.0, fd))?;
        }
    }
    if slave.0 > 2 {
        drop(slave);
    } else {
        std::mem::forget(slave);
    }
    Ok(())
}

fn open_host_null() -> Result<Fd, Errno> {
    let fd = Fd(fs::openat(
        libc::AT_FDCWD,
        c"/dev/null",
        libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        0,
    )?);
    let st = fs::fstat(fd.0)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != libc::makedev(1, 3) {
        return Err(Errno(libc::ENODEV));
    }
    Ok(fd)
}

fn fs_cvt(ret: libc::c_int) -> Result<(), Errno> {
    crate::sys::cvt(ret).map(drop)
}

fn time_namespace(offsets: &CStr) -> Result<(), Errno> {
    // SAFETY: unshare with a flag only.
    fs_cvt(unsafe { libc::unshare(libc::CLONE_NEWTIME) })?;
    let fd = Fd(fs::openat(
        libc::AT_FDCWD,
        c"/proc/self/timens_offsets",
        libc::O_WRONLY | libc::O_CLOEXEC,
        0,
    )?);
    fs::write_all(fd.0, offsets.to_bytes())
}

/// `/proc/sys` of the root `root` (the container's root fd before the switch,
/// or AT_FDCWD: the runtime's own), checked to be a real procfs.
fn open_proc_sys(root: libc::c_int) -> Result<Fd, Errno> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    let sys = Fd(if root == libc::AT_FDCWD {
        fs::openat(root, c"/proc/sys", flags, 0)?
    } else {
        fs::openat2(
            root,
            c"/proc/sys",
            flags,
            0,
            fs::RESOLVE_IN_ROOT | fs::RESOLVE_NO_MAGICLINKS,
        )?
    });
    if fs::fstatfs_magic(sys.0)? != fs::PROC_SUPER_MAGIC {
        return Err(Errno(libc::EXDEV));
    }
    Ok(sys)
}

/// Write `value` to `rel` below the checked `/proc/sys` fd `sys`: never through
/// a symlink nor across a mount point (CVE-2025-52881: a file mounted over the
/// sysctl, from a namespace shared with a container), and checked to be procfs.
fn write_sysctl(sys: libc::c_int, rel: &CStr, value: &CStr) -> Result<(), Errno> {
    let fd = Fd(fs::openat2(
        sys,
        rel,
        libc::O_WRONLY | libc::O_CLOEXEC,
        0,
        fs::RESOLVE_BENEATH | fs::RESOLVE_NO_SYMLINKS | fs::RESOLVE_NO_XDEV,
    )?);
    if fs::fstatfs_magic(fd.0)? != fs::PROC_SUPER_MAGIC {
        return Err(Errno(libc::EXDEV));
    }
    fs::write_all(fd.0, value.to_bytes())
}

/// After chdir, the cwd must be inside the container's root (CVE-2024-21626):
/// the kernel prefixes unreachable paths with "(unreachable)".
fn check_cwd_reachable() -> Result<(), Errno> {
    let mut buf = [0u8; 4096];
    match fs::getcwd(&mut buf) {
        Ok(n) if n > 0 && buf[0] == b'/' => Ok(()),
        Ok(_) => Err(Errno(libc::ENOENT)),
        Err(Errno(libc::ENAMETOOLONG)) | Err(Errno(libc::ERANGE)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Clear close-on-exec on the caller's fds of the preserved range; close the
/// numbers the caller did not have open (the runtime's own fds landed there).
fn preserve_fds(n: u32, absent: &[u32]) -> Result<(), Errno> {
    for fd in 3..3 + n as libc::c_int {
        if absent.binary_search(&(fd as u32)).is_ok() {
            fs::close(fd);
            continue;
        }
        // SAFETY: fcntl on an fd number; EBADF (not open) is fine.
        let ret = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        if ret < 0 && Errno::last() != Errno(libc::EBADF) {
            return Err(Errno::last());
        }
    }
    Ok(())
}

fn set_identity(plan: &Plan) -> Result<(), (Step, Errno)> {
    let p = &plan.process;
    if let Some(c) = &p.caps {
        for cap in 0..=p.last_cap.min(63) {
            if c.bounding & (1u64 << cap) == 0 {
                match caps::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0) {
                    Ok(_) | Err(Errno(libc::EINVAL)) => {}
                    Err(e) => return Err((Step::CapBounding, e)),
                }
            }
        }
        caps::prctl(libc::PR_SET_KEEPCAPS, 1, 0).map_err(|e| (Step::Caps, e))?;
    }
    match caps::setgroups(&p.additional_gids) {
        Ok(()) => {}
        // setgroups is denied in user namespaces whose setgroups file says "deny".
        Err(Errno(libc::EPERM)) if p.additional_gids.is_empty() => {}
        Err(e) => return Err((Step::Groups, e)),
    }
    caps::setresgid(p.gid).map_err(|e| (Step::Gid, e))?;
    caps::setresuid(p.uid).map_err(|e| (Step::Uid, e))?;
    if let Some(c) = &p.caps {
        caps::prctl(libc::PR_SET_KEEPCAPS, 0, 0).map_err(|e| (Step::Caps, e))?;
        caps::capset(c.effective, c.permitted, c.inheritable).map_err(|e| (Step::Caps, e))?;
        caps::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
        )
        .map_err(|e| (Step::Ambient, e))?;
        for cap in 0..=p.last_cap.min(63) {
            if c.ambient & (1u64 << cap) != 0 {
                // A capability missing from the permitted or inheritable set cannot
                // be ambient (EPERM): runc's default spec asks for exactly that and
                // runc skips it, so do we. Other errors are real.
                match caps::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                ) {
                    Ok(_) | Err(Errno(libc::EPERM)) => {}
                    Err(e) => return Err((Step::Ambient, e)),
                }
            }
        }
    }
    Ok(())
}

/// The index of the first executable candidate. Outside the container's pid
/// namespace (`outside_pid_ns`), its procfs has no `self` for us: a candidate under
/// `/proc/self/` names the exec'd process's own entry, which only its execve can
/// check (a failure there ends with status 127).
fn find_executable(plan: &Plan, outside_pid_ns: bool) -> Result<usize, Errno> {
    let mut last = Errno(libc::ENOENT);
    for (i, c) in plan.process.exec_candidates.iter().enumerate() {
        let b = c.to_bytes();
        if outside_pid_ns && (b.starts_with(b"/proc/self/") || b.starts_with(b"/proc/thread-self/"))
        {
            return Ok(i);
        }
        match fs::is_executable(c) {
            Ok(()) => return Ok(i),
            Err(e) => {
                if e != Errno(libc::ENOENT) && e != Errno(libc::ENOTDIR) {
                    last = e;
                }
            }
        }
    }
    Err(last)
}

/// The most of a failed hook's output kept for its message.
const HOOK_OUTPUT: usize = 1024;

/// What a hook wrote (stdout and stderr), truncated.
struct HookOutput {
    buf: [u8; HOOK_OUTPUT],
    len: usize,
}

/// `run_hook`'s status for a hook that timed out, or that could not be started.
pub const HOOK_TIMED_OUT: u32 = u32::MAX;
pub const HOOK_NOT_STARTED: u32 = u32::MAX - 1;

/// Run one hook as a child of the init and wait for it (bounded by its timeout):
/// the state JSON on its stdin, its stdout and stderr collected. Err: (exit code,
/// 128+signal, [`HOOK_TIMED_OUT`] or [`HOOK_NOT_STARTED`]; errno).
fn run_hook(
    plan: &Plan,
    h: &HookPlan,
    trampoline: libc::c_int,
    out: &mut HookOutput,
) -> Result<(), (u32, Errno)> {
    let not_started = |e: Errno| (HOOK_NOT_STARTED, e);
    let (in_r, in_w) = pipe().map_err(not_started)?;
    let (out_r, out_w) = pipe().map_err(not_started)?;
    // A hook that exits without reading its stdin must not kill us with SIGPIPE.
    // SAFETY: signal() with SIG_IGN; restored to the default below.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let side = crate::sys::clone::fork_legacy(0);
    let cloned = match side {
        Err(e) => {
            // SAFETY: back to the default disposition.
            unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
            return Err(not_started(e));
        }
        Ok(crate::sys::clone::Side::Child) => hook_child(h, trampoline, in_r.0, out_w.0),
        Ok(crate::sys::clone::Side::Parent(c)) => c,
    };
    let pidfd = Fd(cloned.pidfd);
    drop(in_r);
    drop(out_w);
    // The state, with our pid as we see it; non-blocking, errors ignored (a hook
    // need not read it).
    // SAFETY: fcntl on our pipe end; getpid cannot fail.
    let pid = unsafe {
        libc::fcntl(in_w.0, libc::F_SETFL, libc::O_NONBLOCK);
        libc::getpid()
    };
    let mut digits = [0u8; 12];
    let _ = fs::write_all(in_w.0, &plan.start_state.0)
        .and_then(|()| fs::write_all(in_w.0, decimal(pid as u32, &mut digits)))
        .and_then(|()| fs::write_all(in_w.0, &plan.start_state.1));
    drop(in_w);
    // SAFETY: back to the default disposition.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };

    let deadline = h.timeout.map(|t| monotonic_ms() + u64::from(t) * 1000);
    let mut out_open = true;
    loop {
        let wait = match deadline {
            Some(d) => d.saturating_sub(monotonic_ms()).min(i32::MAX as u64) as libc::c_int,
            None => -1,
        };
        let mut pfd = [
            libc::pollfd {
                fd: pidfd.0,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: if out_open { out_r.0 } else { -1 },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let n = unsafe { libc::poll(pfd.as_mut_ptr(), 2, wait) };
        if n < 0 {
            if Errno::last() == Errno(libc::EINTR) {
                continue;
            }
            return Err((HOOK_NOT_STARTED, Errno::last()));
        }
        if n == 0 {
            // Timed out: kill it and what it started (its own process group).
            // SAFETY: kill(2) of the hook's process group.
            unsafe { libc::kill(-cloned.pid, libc::SIGKILL) };
            let _ = crate::sys::pidfd::send_signal(pidfd.0, libc::SIGKILL);
            let _ = crate::sys::pidfd::wait(pidfd.0);
            return Err((HOOK_TIMED_OUT, Errno(libc::ETIMEDOUT)));
        }
        if out_open && pfd[1].revents != 0 {
            out_open = read_output(out_r.0, out);
        }
        if pfd[0].revents != 0 {
            break;
        }
    }
    let status = crate::sys::pidfd::wait(pidfd.0).map_err(|e| (HOOK_NOT_STARTED, e))?;
    if out_open {
        // What is left, without waiting for a descendant that holds the pipe.
        // SAFETY: fcntl on our pipe end.
        unsafe { libc::fcntl(out_r.0, libc::F_SETFL, libc::O_NONBLOCK) };
        while read_output(out_r.0, out) {}
    }
    match crate::sys::pidfd::exit_code(status) {
        0 => Ok(()),
        code => Err((code as u32, Errno(0))),
    }
}

/// Read what is there into `out` (the first bytes are kept, the rest dropped);
/// false at EOF or an error.
fn read_output(fd: libc::c_int, out: &mut HookOutput) -> bool {
    let mut chunk = [0u8; 512];
    match fs::read(fd, &mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let take = n.min(HOOK_OUTPUT - out.len);
            out.buf[out.len..out.len + take].copy_from_slice(&chunk[..take]);
            out.len += take;
            true
        }
    }
}

/// The hook's side of the fork: stdio from the pipes, its own process group,
/// every other fd closed at exec, then the hook (through the trampoline when
/// there is one, so that it never execs from a copy of the runtime).
fn hook_child(h: &HookPlan, trampoline: libc::c_int, stdin: libc::c_int, out: libc::c_int) -> ! {
    // SAFETY: dup2/setpgid/signal on our own fds and process; the arrays are
    // NULL-terminated and outlive the exec calls.
    unsafe {
        if libc::dup2(stdin, 0) < 0 || libc::dup2(out, 1) < 0 || libc::dup2(out, 2) < 0 {
            exit_now(127);
        }
        libc::setpgid(0, 0);
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        // Only stdio crosses the exec: not the preserved fds (the user program's).
        let _ = fs::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
        if trampoline >= 0 {
            libc::syscall(
                libc::SYS_execveat,
                trampoline,
                c"".as_ptr(),
                h.trampoline_argv.as_ptr(),
                h.envp.as_ptr(),
                libc::AT_EMPTY_PATH,
            );
        } else {
            libc::execve(h.path.as_ptr(), h.argv.as_ptr(), h.envp.as_ptr());
        }
    }
    exit_now(127)
}

/// The failure on our stderr (the container's), as runc's init reports it:
/// `error running hook #N: hooks.startContainer[N] (PATH): exit status S, output: ...`.
fn report_hook(i: usize, h: &HookPlan, status: u32, errno: Errno, out: &HookOutput) {
    let mut n = [0u8; 12];
    let w = |b: &[u8]| {
        let _ = fs::write_all(2, b);
    };
    w(b"error running hook #");
    w(decimal(i as u32, &mut n));
    w(b": hooks.startContainer[");
    w(decimal(i as u32, &mut n));
    w(b"] (");
    w(h.path.to_bytes());
    w(b"): ");
    match status {
        HOOK_TIMED_OUT => {
            w(b"timed out after ");
            w(decimal(h.timeout.unwrap_or(0), &mut n));
            w(b"s");
        }
        HOOK_NOT_STARTED => {
            w(b"could not start it: errno ");
            w(decimal(errno.0 as u32, &mut n));
        }
        s => {
            w(b"exit status ");
            w(decimal(s, &mut n));
        }
    }
    w(b", output: ");
    w(&out.buf[..out.len]);
    w(b"\n");
}

/// `v` in decimal, in `buf`.
fn decimal(mut v: u32, buf: &mut [u8; 12]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

/// CLOCK_MONOTONIC in milliseconds.
fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// A close-on-exec pipe (read end, write end).
fn pipe() -> Result<(Fd, Fd), Errno> {
    let mut p = [-1 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds.
    fs_cvt(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) })?;
    Ok((Fd(p[0]), Fd(p[1])))
}
