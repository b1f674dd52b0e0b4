use super::values::{parse_bytes, parse_duration};
use super::*;

fn p(line: &str) -> Result<Invocation> {
    let args: Vec<String> = line.split_whitespace().map(String::from).collect();
    parse(&args)
}

fn cmd(line: &str) -> Command {
    p(line).unwrap_or_else(|e| panic!("{line:?}: {e}")).command
}

fn perr(line: &str) -> String {
    match p(line) {
        Ok(i) => panic!("{line:?} parsed: {:?}", i.command),
        Err(e) => e.0,
    }
}

#[test]
fn containerd_globals() {
    let i = p(
        "--root /run/containerd/runc/default --log /b/log.json --log-format json \
               --systemd-cgroup --criu /usr/sbin/criu --debug --rootless=false state c1",
    )
    .unwrap();
    assert_eq!(
        i.global.root,
        Some(PathBuf::from("/run/containerd/runc/default"))
    );
    assert_eq!(i.global.log, Some(PathBuf::from("/b/log.json")));
    assert_eq!(i.global.log_format, LogFormat::Json);
    assert!(i.global.debug && i.global.systemd_cgroup);
    assert_eq!(i.global.rootless.as_deref(), Some("false"));
    assert_eq!(i.global.criu.as_deref(), Some("/usr/sbin/criu"));
    assert_eq!(i.notes.len(), 2);
    assert!(matches!(i.command, Command::State { id } if id == "c1"));
}

#[test]
fn podman_globals_eq_and_single_dash() {
    let i =
        p("--log-format=json --log=/x/log -root=/r -debug=true -systemd-cgroup kill c 9").unwrap();
    assert_eq!(i.global.log_format, LogFormat::Json);
    assert_eq!(i.global.log, Some(PathBuf::from("/x/log")));
    assert_eq!(i.global.root, Some(PathBuf::from("/r")));
    assert!(i.global.debug && i.global.systemd_cgroup);
    assert!(matches!(
        i.command,
        Command::Kill {
            signal: 9,
            all: false,
            ..
        }
    ));
    let i = p("--debug=false state c").unwrap();
    assert!(!i.global.debug);
    let i = p("--rootless state c").unwrap();
    assert_eq!(i.global.rootless.as_deref(), Some("true"));
    let i = p("--rootless=auto state c").unwrap();
    assert_eq!(i.global.rootless.as_deref(), Some("auto"));
}

#[test]
fn global_errors() {
    assert_eq!(perr("--foo state c"), "unknown flag \"--foo\"");
    assert!(perr("--log-format xml state c").contains("log-format"));
    assert!(perr("--root").contains("needs an argument"));
    assert!(perr("frobnicate c").contains("unknown command \"frobnicate\""));
    assert!(perr("--debug=maybe state c").contains("invalid boolean"));
}

#[test]
fn version_and_help() {
    for l in ["--version", "-v", "-version", "--root /x --version"] {
        assert!(matches!(cmd(l), Command::Version), "{l}");
    }
    for l in ["--help", "-h", "", "help"] {
        assert!(matches!(cmd(l), Command::Help(None)), "{l}");
    }
    assert!(matches!(
        cmd("create --help"),
        Command::Help(Some("create"))
    ));
    assert!(matches!(cmd("help kill"), Command::Help(Some("kill"))));
    assert!(matches!(cmd("exec -h"), Command::Help(Some("exec"))));
}

#[test]
fn create_forms() {
    let c = cmd(
        "create --bundle /b --pid-file /b/init.pid --console-socket /s.sock \
                 --no-pivot --no-new-keyring --preserve-fds 2 c1",
    );
    let Command::Create { id, opts } = c else {
        panic!()
    };
    assert_eq!(id, "c1");
    assert_eq!(opts.bundle, PathBuf::from("/b"));
    assert_eq!(opts.pid_file, Some(PathBuf::from("/b/init.pid")));
    assert_eq!(opts.console_socket, Some(PathBuf::from("/s.sock")));
    assert!(opts.no_pivot && opts.no_new_keyring);
    assert_eq!(opts.preserve_fds, 2);

    let Command::Create { opts, .. } = cmd("create -b=/b --pid-file=/p --preserve-fds=1 c1") else {
        panic!()
    };
    assert_eq!(opts.bundle, PathBuf::from("/b"));
    assert_eq!(opts.pid_file, Some(PathBuf::from("/p")));
    assert_eq!(opts.preserve_fds, 1);

    // -b defaults to the cwd; flags may follow the id (urfave reorders them).
    let Command::Create { id, opts } = cmd("create c1 -bundle /b2") else {
        panic!()
    };
    assert_eq!((id.as_str(), opts.bundle), ("c1", PathBuf::from("/b2")));
    let Command::Create { opts, .. } = cmd("create c1") else {
        panic!()
    };
    assert_eq!(opts.bundle, PathBuf::from("."));
}

#[test]
fn create_errors() {
    assert_eq!(
        perr("create --foo c1"),
        "unknown flag \"--foo\" for \"create\""
    );
    assert!(perr("create --bundle /b").contains("requires a container id"));
    assert!(perr("create c1 c2").contains("exactly 1"));
    assert!(perr("create --bundle").contains("needs an argument"));
    assert!(perr("create --preserve-fds x c").contains("preserve-fds"));
    assert!(perr("create --no-pivot=yes c").contains("invalid boolean"));
    // After "--" everything is positional.
    assert!(perr("create c1 -- --bundle").contains("exactly 1"));
    assert!(matches!(cmd("create -- -c1"), Command::Create { id, .. } if id == "-c1"));
}

#[test]
fn run_forms() {
    let Command::Run { id, opts, detach } =
        cmd("run -b /b -d --keep --no-subreaper --pid-file /p c1")
    else {
        panic!()
    };
    assert_eq!(id, "c1");
    assert!(detach && opts.keep);
    assert_eq!(opts.bundle, PathBuf::from("/b"));
    let Command::Run { detach, .. } = cmd("run --detach=false c1") else {
        panic!()
    };
    assert!(!detach);
}

#[test]
fn kill_forms() {
    let k = |l| match cmd(l) {
        Command::Kill { id, signal, all } => (id, signal, all),
        c => panic!("{c:?}"),
    };
    assert_eq!(k("kill c1"), ("c1".into(), 15, false));
    assert_eq!(k("kill c1 9"), ("c1".into(), 9, false));
    assert_eq!(k("kill --all c1 9"), ("c1".into(), 9, true));
    assert_eq!(k("kill -a c1 KILL"), ("c1".into(), 9, true));
    assert_eq!(k("kill c1 SIGKILL"), ("c1".into(), 9, false));
    assert_eq!(k("kill c1 sigusr1 --all"), ("c1".into(), 10, true));
    assert!(perr("kill c1 SIGFOO").contains("unknown signal"));
    assert!(perr("kill c1 9 9").contains("at most 2"));
    assert!(perr("kill").contains("container id"));
}

#[test]
fn delete_state_start() {
    assert!(matches!(
        cmd("delete c1"),
        Command::Delete { force: false, .. }
    ));
    assert!(matches!(
        cmd("delete --force c1"),
        Command::Delete { force: true, .. }
    ));
    assert!(matches!(
        cmd("delete c1 -f"),
        Command::Delete { force: true, .. }
    ));
    assert!(matches!(cmd("start c1"), Command::Start { id } if id == "c1"));
    assert!(matches!(cmd("pause c1"), Command::Pause { .. }));
    assert!(matches!(cmd("resume c1"), Command::Resume { .. }));
    assert!(perr("start").contains("requires a container id"));
    assert!(perr("state a b").contains("exactly 1"));
    assert!(perr("delete --all c1").contains("unknown flag \"--all\" for \"delete\""));
}

#[test]
fn exec_containerd_and_conmon() {
    let Command::Exec { id, opts } = cmd("exec --process /t/process.json --console-socket /s \
         --detach --pid-file /t/exec.pid --preserve-fds 1 c1")
    else {
        panic!()
    };
    assert_eq!(id, "c1");
    assert_eq!(opts.process, Some(PathBuf::from("/t/process.json")));
    assert!(opts.detach && !opts.tty);
    assert_eq!(opts.preserve_fds, 1);
    assert!(opts.args.is_empty());

    let Command::Exec { opts, .. } = cmd("exec --tty --process=/p.json -d --pid-file=/x.pid c1")
    else {
        panic!()
    };
    assert!(opts.tty && opts.detach);
}

#[test]
fn exec_args_after_id() {
    let Command::Exec { id, opts } = cmd("exec -e A=1 --env B=2 -u 1000:100 -g 5 -g 6 \
         --cwd /tmp --cap CAP_KILL --no-new-privs -t c1 ls -la --color --tty")
    else {
        panic!()
    };
    assert_eq!(id, "c1");
    assert_eq!(opts.args, ["ls", "-la", "--color", "--tty"]);
    assert!(opts.tty);
    assert_eq!(opts.env, ["A=1", "B=2"]);
    assert_eq!(opts.user, Some((1000, Some(100))));
    assert_eq!(opts.additional_gids, [5, 6]);
    assert_eq!(opts.cwd.as_deref(), Some("/tmp"));
    assert_eq!(opts.caps, ["CAP_KILL"]);
    assert!(opts.no_new_privs);

    let Command::Exec { opts, .. } = cmd("exec c1 -- sh -c true") else {
        panic!()
    };
    assert_eq!(opts.args, ["sh", "-c", "true"]);
    let Command::Exec { opts, .. } = cmd("exec --user 7 c1 id") else {
        panic!()
    };
    assert_eq!(opts.user, Some((7, None)));

    assert!(perr("exec").contains("container id"));
    assert!(perr("exec --user x c1 ls").contains("--user"));
    assert!(perr("exec --env NOVALUE c1 ls").contains("KEY=VALUE"));
    assert!(perr("exec --bogus c1 ls").contains("unknown flag \"--bogus\" for \"exec\""));
}

#[test]
fn ps_list() {
    assert!(matches!(
        cmd("ps --format json c1"),
        Command::Ps { format: Format::Json, ref ps_args, .. } if ps_args.is_empty()
    ));
    let Command::Ps {
        ps_args, format, ..
    } = cmd("ps c1 -ef")
    else {
        panic!()
    };
    assert_eq!((ps_args, format), (vec!["-ef".to_string()], Format::Table));
    assert!(perr("ps -f yaml c1").contains("invalid format"));
    assert!(matches!(
        cmd("list"),
        Command::List {
            format: Format::Table,
            quiet: false
        }
    ));
    assert!(matches!(
        cmd("list -f json -q"),
        Command::List {
            format: Format::Json,
            quiet: true
        }
    ));
    assert!(matches!(
        cmd("list --format=json"),
        Command::List {
            format: Format::Json,
            ..
        }
    ));
    assert!(perr("list c1").contains("takes no arguments"));
}

#[test]
fn update_forms() {
    let Command::Update {
        id,
        resources,
        opts,
    } = cmd("update --resources - c1")
    else {
        panic!()
    };
    assert_eq!(id, "c1");
    assert_eq!(resources, Some(PathBuf::from("-")));
    assert!(opts.memory.is_none());
    let Command::Update {
        resources, opts, ..
    } = cmd("update --resources=/r.json \
         --memory 64m --memory-swap=-1 --cpu-shares 512 --cpu-quota -1 \
         --cpu-period 100000 --cpuset-cpus 0-1 --pids-limit 10 --blkio-weight 500 c1")
    else {
        panic!()
    };
    assert_eq!(resources, Some(PathBuf::from("/r.json")));
    assert_eq!(opts.memory, Some(64 << 20));
    assert_eq!(opts.memory_swap, Some(-1));
    assert_eq!(opts.cpu_shares, Some(512));
    assert_eq!(opts.cpu_quota, Some(-1));
    assert_eq!(opts.cpu_period, Some(100000));
    assert_eq!(opts.cpuset_cpus.as_deref(), Some("0-1"));
    assert_eq!(opts.pids_limit, Some(10));
    assert_eq!(opts.blkio_weight, Some(500));
    // runc's spelling of the shares flag, and the real-time flags
    let Command::Update { opts, .. } =
        cmd("update --cpu-share 256 --cpu-rt-period 1000000 --cpu-rt-runtime 950000 c1")
    else {
        panic!()
    };
    assert_eq!(opts.cpu_shares, Some(256));
    assert_eq!(opts.cpu_rt_period, Some(1_000_000));
    assert_eq!(opts.cpu_rt_runtime, Some(950_000));
    assert!(perr("update --memory lots c1").contains("--memory"));
    assert!(perr("update --cpu-shares -5 c1").contains("cpu-shares"));
}

#[test]
fn events_features_spec() {
    assert!(matches!(
        cmd("events --stats c1"),
        Command::Events { stats: true, .. }
    ));
    let Command::Events { interval, .. } = cmd("events --interval=2s c1") else {
        panic!()
    };
    assert_eq!(interval, Duration::from_secs(2));
    assert!(matches!(cmd("features"), Command::Features));
    assert!(matches!(
        cmd("spec --rootless -b /x"),
        Command::Spec { rootless: true, ref bundle } if bundle == &PathBuf::from("/x")
    ));
    assert!(perr("spec c1").contains("takes no arguments"));
}

#[test]
fn checkpoint_restore_unsupported() {
    for l in [
        "checkpoint --help",
        "checkpoint --image-path /p --work-path /w --leave-running --file-locks c1",
        "restore --detach --pid-file /f --bundle /b -no-subreaper --image-path /p c1",
    ] {
        assert!(matches!(cmd(l), Command::Unsupported(_)), "{l}");
    }
}

#[test]
fn sizes_and_durations() {
    assert_eq!(parse_bytes("m", "1024").unwrap(), 1024);
    assert_eq!(parse_bytes("m", "1k").unwrap(), 1024);
    assert_eq!(parse_bytes("m", "2MB").unwrap(), 2 << 20);
    assert_eq!(parse_bytes("m", "1g").unwrap(), 1 << 30);
    assert_eq!(parse_bytes("m", "-1").unwrap(), -1);
    assert!(parse_bytes("m", "").is_err());
    assert!(parse_bytes("m", "m").is_err());
    assert!(parse_bytes("m", "99999999999999p").is_err());
    assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
    for bad in ["", "5", "s", "5x", "-1s"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}
