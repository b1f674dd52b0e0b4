//! Arbitrary bytes as the `update --resources` file: `parse_resources` (parse +
//! validate), then the conversion to cgroup values (`cgroups::from_spec_at`) and
//! the file writes for v1 and v2 (`cgroups::resources::{v1,v2}_writes`): every
//! step returns Ok or Err, never panics.
#![no_main]

use fastrun_runtime::cgroups::resources::{v1_writes, v2_writes};
use fastrun_runtime::cgroups::{from_spec_at, Online};
use fastrun_runtime::spec::parse_resources;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let Ok(res) = parse_resources(&mut buf) else {
        return;
    };
    // A fixed machine (0-3 online, one NUMA node) so runs are reproducible.
    let online = Online {
        cpus: Some("0-3".into()),
        mems: Some("0".into()),
    };
    if let Ok(r) = from_spec_at(&res, "resources", &online) {
        let _ = v1_writes(&r);
        let _ = v2_writes(&r);
    }
});
