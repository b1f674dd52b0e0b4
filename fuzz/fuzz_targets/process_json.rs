//! Arbitrary bytes as the `exec --process` file: `parse_process` (parse +
//! validate) and, when it accepts, the process part of a plan
//! (`plan::process_plan`, what `exec` builds) must return, never panic.
#![no_main]

use fastrun_runtime::plan::process_plan;
use fastrun_runtime::spec::{parse_process, CAPABILITIES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    if let Ok(p) = parse_process(&mut buf) {
        let last_cap = (CAPABILITIES.len() - 1) as u32;
        if let Ok(plan) = process_plan(&p, last_cap, None) {
            assert_eq!(plan.argv.len(), p.args.len());
            // One entry per name, as runc sets the environment.
            let names: std::collections::HashSet<&str> = p
                .env
                .iter()
                .map(|e| e.as_str().split_once('=').map_or(e.as_str(), |(n, _)| n))
                .collect();
            assert_eq!(plan.envp.len(), names.len());
            assert_eq!(plan.trampoline_argv.len(), plan.exec_candidates.len());
            assert!(plan.rlimits.iter().all(|r| r.soft <= r.hard));
        }
    }
});
