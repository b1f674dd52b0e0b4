//! `fastrun exec [flags] ID [ARGS]` through the command-line parser (`src/cli/`,
//! included as it is: the CLI is a binary) and on to the process `exec` would run:
//! the input is the argument list after `exec`, one argument per line, then a NUL
//! byte and the process document (the `--process` file, or the container's process
//! saved at create). Parsing the line and the document, the `--cgroup` list, the
//! command line's overrides (`apply_overrides`) and the process plan return Ok or
//! Err, never panic.
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../src/cli/mod.rs"]
mod cli;

use fastrun_runtime::cgroups::SubCgroups;
use fastrun_runtime::fuzzing::apply_overrides;
use fastrun_runtime::plan::process_plan;
use fastrun_runtime::spec::{parse_process, CAPABILITIES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (args, doc) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(args) = std::str::from_utf8(args) else {
        return;
    };
    let argv: Vec<String> = std::iter::once("exec")
        .chain(args.lines())
        .map(String::from)
        .collect();
    // As `src/main.rs`: the global flags, then the subcommand.
    let Ok(command) = cli::parse_globals(&argv).and_then(|g| g.command()) else {
        return;
    };
    let cli::Command::Exec { opts, .. } = command else {
        // `exec --help` is the only other outcome.
        assert!(matches!(command, cli::Command::Help(_)), "{command:?}");
        return;
    };
    let _ = SubCgroups::parse(&opts.cgroup);
    let mut buf = doc.to_vec();
    let Ok(mut p) = parse_process(&mut buf) else {
        return;
    };
    if apply_overrides(&mut p, &opts).is_err() {
        return;
    }
    if opts.process.is_none() {
        assert_eq!(p.args.len(), opts.args.len());
    }
    let last_cap = (CAPABILITIES.len() - 1) as u32;
    let _ = process_plan(&p, last_cap, None);
});
