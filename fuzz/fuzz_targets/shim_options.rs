//! The shim's runtime options (`shim/src/options.rs`, included as it is: the shim is
//! a binary). The first byte picks what the rest is:
//! - 0: the TOML of a `ConfigPath` file or a `ConfigBody` (`from_toml`);
//! - 1: `runtimeoptions.v1.Options` protobuf bytes (`decode`, which reads the body's
//!   TOML; an input naming a `ConfigPath` is resolved without it, so no file is read);
//! - 2: `containerd.runc.v1.Options` protobuf bytes (`decode`).
//!
//! Every input gives options or an error, never a panic; accepted options keep the
//! rules of `from_toml` (an absolute `Root`).
#![no_main]

#[allow(dead_code)]
#[path = "../../shim/src/options.rs"]
mod options;

use containerd_shim_protos::protobuf::well_known_types::any::Any;
use libfuzzer_sys::fuzz_target;
use options::{decode, from_toml, RuntimeOptions, RUNC_OPTIONS, RUNTIME_OPTIONS};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let any = |url: &str| {
        let mut a = Any::new();
        a.type_url = url.into();
        a.value = rest.to_vec();
        a
    };
    match mode % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(o) = from_toml(text) {
                    assert!(o.root.is_empty() || o.root.starts_with('/'), "{o:?}");
                }
            }
        }
        1 => {
            let Ok(mut o) = RuntimeOptions::parse(rest) else {
                assert!(decode(Some(&any(RUNTIME_OPTIONS))).is_err());
                return;
            };
            if o.config_path.is_empty() {
                let via_decode = decode(Some(&any(RUNTIME_OPTIONS)));
                assert_eq!(via_decode, o.resolve());
            } else {
                o.config_path.clear();
                let _ = o.resolve();
            }
        }
        _ => {
            let _ = decode(Some(&any(RUNC_OPTIONS)));
        }
    }
});
