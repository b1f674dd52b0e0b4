//! The command tables: every command, its flags, usage and help lines.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Bool,
    Value,
    /// A value flag that may be given more than once.
    Multi,
    /// A flag whose value can only be given after `=` (`--rootless[=BOOL]`).
    OptValue,
}

/// One flag: its names (the first is canonical, one-letter names are shorthands),
/// the placeholder of its value and its help line.
pub struct FlagDef {
    pub(super) names: &'static [&'static str],
    pub(super) kind: Kind,
    value: &'static str,
    help: &'static str,
}

const fn flag(names: &'static [&'static str], help: &'static str) -> FlagDef {
    FlagDef {
        names,
        kind: Kind::Bool,
        value: "",
        help,
    }
}

const fn opt(names: &'static [&'static str], value: &'static str, help: &'static str) -> FlagDef {
    FlagDef {
        names,
        kind: Kind::Value,
        value,
        help,
    }
}

const fn multi(names: &'static [&'static str], value: &'static str, help: &'static str) -> FlagDef {
    FlagDef {
        names,
        kind: Kind::Multi,
        value,
        help,
    }
}

/// A subcommand: its flags and usage.
pub struct CmdDef {
    pub name: &'static str,
    pub args: &'static str,
    pub summary: &'static str,
    pub(super) flags: &'static [FlagDef],
    /// Stop flag parsing at the first positional argument (exec, ps).
    pub(super) stop_at_positional: bool,
}

pub const GLOBAL_FLAGS: &[FlagDef] = &[
    opt(
        &["root"],
        "DIR",
        "root directory for storage of container state (default \"/run/fastrun\")",
    ),
    opt(
        &["log"],
        "FILE",
        "append log lines to FILE (default: stderr only)",
    ),
    opt(
        &["log-format"],
        "FORMAT",
        "log format: text or json (default \"text\")",
    ),
    flag(&["debug"], "enable debug logging"),
    opt(
        &["trace"],
        "FILE",
        "append one JSON line per step of create/start/run/exec/delete to FILE (start and \
         duration in µs)",
    ),
    flag(&["systemd-cgroup"], "use the systemd cgroup driver"),
    FlagDef {
        names: &["rootless"],
        kind: Kind::OptValue,
        value: "[=BOOL]",
        help: "accepted for compatibility, ignored",
    },
    opt(&["criu"], "PATH", "accepted for compatibility, ignored"),
    flag(&["version", "v"], "print the version"),
    flag(&["help", "h"], "show help"),
];

const BUNDLE: FlagDef = opt(
    &["bundle", "b"],
    "DIR",
    "path to the bundle directory (default: the current directory)",
);
const PID_FILE: FlagDef = opt(
    &["pid-file"],
    "FILE",
    "write the process's host pid to FILE",
);
const CONSOLE_SOCKET: FlagDef = opt(
    &["console-socket"],
    "PATH",
    "unix socket that receives the pty master when the process has a terminal",
);
const NO_PIVOT: FlagDef = flag(&["no-pivot"], "do not use pivot_root (for ramdisk roots)");
const NO_NEW_KEYRING: FlagDef = flag(&["no-new-keyring"], "do not create a new session keyring");
const PRESERVE_FDS: FlagDef = opt(
    &["preserve-fds"],
    "N",
    "pass N additional fds (3..3+N) to the process",
);
const FORMAT: FlagDef = opt(&["format", "f"], "FORMAT", "output format: table or json");

pub const COMMANDS: &[CmdDef] = &[
    CmdDef {
        name: "spec",
        args: "",
        summary: "write a default config.json into the bundle",
        flags: &[
            BUNDLE,
            flag(&["rootless"], "write a spec for a rootless container"),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "create",
        args: "<container-id>",
        summary: "create a container (its process waits for \"start\")",
        flags: &[
            BUNDLE,
            PID_FILE,
            CONSOLE_SOCKET,
            NO_PIVOT,
            NO_NEW_KEYRING,
            PRESERVE_FDS,
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "start",
        args: "<container-id>",
        summary: "run the user program of a created container",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "run",
        args: "<container-id>",
        summary: "create and start a container, wait for it and exit with its status",
        flags: &[
            BUNDLE,
            PID_FILE,
            CONSOLE_SOCKET,
            flag(&["detach", "d"], "return once the container runs"),
            NO_PIVOT,
            NO_NEW_KEYRING,
            PRESERVE_FDS,
            flag(&["keep"], "keep the container's state after it exits"),
            flag(&["no-subreaper"], "accepted for compatibility, ignored"),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "state",
        args: "<container-id>",
        summary: "print the state of a container as JSON",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "list",
        args: "",
        summary: "list the containers",
        flags: &[
            FORMAT,
            flag(&["quiet", "q"], "print only the container ids"),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "kill",
        args: "<container-id> [SIGNAL]",
        summary: "send a signal (default SIGTERM) to the container's init",
        flags: &[flag(
            &["all", "a"],
            "send the signal to every process of the container",
        )],
        stop_at_positional: false,
    },
    CmdDef {
        name: "delete",
        args: "<container-id>",
        summary: "delete a stopped container",
        flags: &[flag(&["force", "f"], "kill the container first if it runs")],
        stop_at_positional: false,
    },
    CmdDef {
        name: "exec",
        args: "<container-id> [COMMAND [ARGS...]]",
        summary: "run a new process in a running container",
        flags: &[
            opt(
                &["process", "p"],
                "FILE",
                "a JSON file holding an OCI process object",
            ),
            CONSOLE_SOCKET,
            flag(&["tty", "t"], "allocate a pseudo-terminal"),
            flag(&["detach", "d"], "return once the process runs"),
            PID_FILE,
            PRESERVE_FDS,
            multi(
                &["env", "e"],
                "KEY=VALUE",
                "set an environment variable (repeatable)",
            ),
            opt(&["cwd"], "DIR", "working directory of the process"),
            opt(&["user", "u"], "UID[:GID]", "user and group ids"),
            multi(
                &["additional-gids", "g"],
                "GID",
                "an additional group id (repeatable)",
            ),
            multi(&["cap", "c"], "CAP", "add a capability (repeatable)"),
            flag(&["no-new-privs"], "set no_new_privs for the process"),
            opt(&["process-label"], "LABEL", "SELinux label of the process"),
            opt(&["apparmor"], "PROFILE", "AppArmor profile of the process"),
            multi(
                &["cgroup"],
                "[CONTROLLER:]PATH",
                "run in a sub-cgroup (repeatable)",
            ),
            flag(&["ignore-paused"], "exec even when the container is paused"),
        ],
        stop_at_positional: true,
    },
    CmdDef {
        name: "ps",
        args: "<container-id> [PS ARGS...]",
        summary: "list the processes of a container",
        flags: &[FORMAT],
        stop_at_positional: true,
    },
    CmdDef {
        name: "pause",
        args: "<container-id>",
        summary: "freeze every process of a container",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "resume",
        args: "<container-id>",
        summary: "thaw a paused container",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "update",
        args: "<container-id>",
        summary: "change the resource limits of a container",
        flags: &[
            opt(
                &["resources", "r"],
                "FILE",
                "a JSON LinuxResources object (\"-\" reads stdin)",
            ),
            opt(
                &["memory"],
                "BYTES",
                "memory limit (e.g. 64m; -1: unlimited)",
            ),
            opt(
                &["memory-swap"],
                "BYTES",
                "memory+swap limit (-1: unlimited)",
            ),
            opt(&["memory-reservation"], "BYTES", "memory soft limit"),
            opt(
                &["cpu-shares", "cpu-share"],
                "N",
                "CPU shares (relative weight)",
            ),
            opt(&["cpu-quota"], "USEC", "CPU CFS quota per period"),
            opt(&["cpu-period"], "USEC", "CPU CFS period"),
            opt(&["cpu-rt-period"], "USEC", "CPU real-time period"),
            opt(
                &["cpu-rt-runtime"],
                "USEC",
                "CPU real-time runtime per period",
            ),
            opt(&["cpuset-cpus"], "LIST", "CPUs allowed (e.g. 0-1)"),
            opt(&["cpuset-mems"], "LIST", "memory nodes allowed"),
            opt(&["pids-limit"], "N", "maximum number of processes"),
            opt(&["blkio-weight"], "N", "block I/O weight (10-1000)"),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "events",
        args: "<container-id>",
        summary: "print container statistics as JSON events",
        flags: &[
            flag(&["stats"], "print one statistics sample and exit"),
            opt(
                &["interval"],
                "DURATION",
                "interval between samples (default 5s)",
            ),
        ],
        stop_at_positional: false,
    },
    CmdDef {
        name: "features",
        args: "",
        summary: "print the features this runtime supports, as JSON",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "checkpoint",
        args: "<container-id>",
        summary: "not supported",
        flags: &[],
        stop_at_positional: false,
    },
    CmdDef {
        name: "restore",
        args: "<container-id>",
        summary: "not supported",
        flags: &[],
        stop_at_positional: false,
    },
];

/// The usage line of a flag, as help prints it.
pub fn flag_usage(f: &FlagDef) -> (String, &'static str) {
    let mut s = String::new();
    let mut names: Vec<&str> = f.names.to_vec();
    names.sort_by_key(|n| n.len() > 1);
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(if n.len() == 1 { "-" } else { "--" });
        s.push_str(n);
    }
    match f.kind {
        Kind::Bool => {}
        Kind::OptValue => s.push_str(f.value),
        Kind::Value | Kind::Multi => {
            s.push(' ');
            s.push_str(f.value);
        }
    }
    (s, f.help)
}

impl CmdDef {
    pub fn flags(&self) -> &'static [FlagDef] {
        self.flags
    }
}

/// Find a command by name.
pub fn command(name: &str) -> Option<&'static CmdDef> {
    COMMANDS.iter().find(|c| c.name == name)
}
