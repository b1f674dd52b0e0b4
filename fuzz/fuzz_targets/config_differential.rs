//! Two JSON parsers, one model: `spec::parse` (simd-json, what fastrun uses) and
//! `serde_json::from_slice` into the same `spec::Config` must accept and refuse the
//! same documents and, when both accept, build equal configs. A mismatch is a bug
//! in one parser or in the model's `Deserialize` impls.
//!
//! Found and fixed (fastrun refuses them before simd-json sees them, see
//! `spec::parse`): a raw NUL byte after a scalar, which simd-json skipped with
//! whatever followed it; a lone high surrogate escape, which simd-json read as NUL.
//! Fixed by building simd-json with `approx-number-parsing`: a float of 19 or more
//! significant digits running straight into a literal (`1.5555555555555555555true`),
//! which the exact parser accepted without looking at what followed the number.
//!
//! Deliberate differences, skipped below (none changes a config that runc would
//! read differently):
//! - nesting: `spec::parse` refuses documents nested deeper than `MAX_DEPTH`
//!   (128) before deserializing, counting every array and object; serde_json's own
//!   recursion limit (also 128) counts differently. Inputs nested 120 deep or more
//!   are skipped.
//! - invalid UTF-8: simd-json validates the whole document; serde_json does not
//!   validate strings it skips (keys and values of unknown fields) and accepts
//!   them. For such inputs only simd-json's refusal is checked.
//! - numbers out of range (integers beyond i64/u64, floats beyond f64): simd-json
//!   refuses them anywhere; serde_json only where a field reads them, so it accepts
//!   them in unknown fields. Skipped.
//! - the integer `-0`: simd-json reads it as 0, serde_json as the float -0.0 that
//!   no integer field takes (Go reads 0 for a signed field, refuses it for an
//!   unsigned one). Skipped.
//! - duplicate keys are *not* a difference: both refuse a duplicate field of a
//!   struct (serde's derive) and both keep every entry of a `Map` (annotations,
//!   sysctl, ...), the last one winning on lookup.
#![no_main]

use fastrun_runtime::spec::{parse, Config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if skipped(data) {
        return;
    }
    let mut buf = data.to_vec();
    let simd = parse(&mut buf);
    if std::str::from_utf8(data).is_err() {
        assert!(simd.is_err(), "simd-json accepts invalid UTF-8");
        return;
    }
    let serde = serde_json::from_slice::<Config<'_>>(data);
    match (&simd, &serde) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "both accept, different values"),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("simd-json accepts, serde_json refuses: {e}"),
        (Err(e), Ok(_)) => panic!("serde_json accepts, simd-json refuses: {e}"),
    }
});

/// The documented differences (module docs).
fn skipped(data: &[u8]) -> bool {
    let scan = scan(data);
    scan.max_depth >= 120 || scan.out_of_range || scan.negative_zero
}

#[derive(Default)]
struct Scan {
    max_depth: usize,
    out_of_range: bool,
    negative_zero: bool,
}

/// A lexical scan outside strings: the deepest nesting of `[` and `{`, and the
/// number tokens (good enough on valid and invalid documents alike).
fn scan(data: &[u8]) -> Scan {
    let mut out = Scan::default();
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        i += 1;
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                out.max_depth = out.max_depth.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' | b'0'..=b'9' => {
                let start = i - 1;
                while i < data.len()
                    && matches!(data[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let token = std::str::from_utf8(&data[start..i]).unwrap_or("");
                if token == "-0" {
                    out.negative_zero = true;
                }
                let integer = !token.contains(['.', 'e', 'E']);
                let fits = if integer {
                    token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok()
                } else {
                    token.parse::<f64>().is_ok_and(f64::is_finite)
                };
                // A malformed token is a syntax error for both parsers.
                let well_formed = token.parse::<f64>().is_ok();
                if well_formed && !fits {
                    out.out_of_range = true;
                }
            }
            _ => {}
        }
    }
    out
}
