//! Arbitrary bytes into the config parser: `load`, `parse_process` and
//! `parse_resources` must return (Ok or Err), never panic or overflow the stack;
//! whatever parses must survive a serialize/parse round trip unchanged.
#![no_main]

use fastrun_runtime::spec::{load, parse, parse_process, parse_resources};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let _ = load(&mut buf);

    let mut buf = data.to_vec();
    if let Ok(config) = parse(&mut buf) {
        let _ = config.validate();
        let mut json = serde_json::to_vec(&config).expect("serializes");
        let again = parse(&mut json).expect("own output parses");
        assert_eq!(config, again, "round trip");
    }

    let mut buf = data.to_vec();
    let _ = parse_process(&mut buf);
    let mut buf = data.to_vec();
    let _ = parse_resources(&mut buf);
});
