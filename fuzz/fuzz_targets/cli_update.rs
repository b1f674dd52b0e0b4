//! `fastrun update [flags] --resources FILE ID` through the command-line parser
//! (`src/cli/`, included as it is: the CLI is a binary) and on to what `update`
//! would write: the input is the argument list after `update`, one argument per
//! line, then a NUL byte and the `--resources` document (read when the command line
//! has `--resources`, as `src/commands.rs` does). The parser, the merge of the
//! document with the flags (`update_resources`) and the cgroup file writes for v1
//! and v2 return Ok or Err, never panic.
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../src/cli/mod.rs"]
mod cli;

use fastrun_runtime::cgroups::resources::{v1_writes, v2_writes};
use fastrun_runtime::cgroups::Online;
use fastrun_runtime::fuzzing::update_resources;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (args, doc) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(args) = std::str::from_utf8(args) else {
        return;
    };
    let argv: Vec<String> = std::iter::once("update")
        .chain(args.lines())
        .map(String::from)
        .collect();
    // As `src/main.rs`: the global flags, then the subcommand.
    let Ok(command) = cli::parse_globals(&argv).and_then(|g| g.command()) else {
        return;
    };
    let cli::Command::Update {
        resources,
        mut opts,
        ..
    } = command
    else {
        // `update --help` is the only other outcome.
        assert!(matches!(command, cli::Command::Help(_)), "{command:?}");
        return;
    };
    if resources.is_some() {
        opts.resources_json = Some(doc.to_vec());
    }
    // A fixed machine (0-3 online, one NUMA node) so runs are reproducible.
    let online = Online {
        cpus: Some("0-3".into()),
        mems: Some("0".into()),
    };
    if let Ok(r) = update_resources(&opts, &online) {
        assert!(r.devices.is_empty(), "update never changes device rules");
        let _ = v1_writes(&r);
        let _ = v2_writes(&r);
    }
});
