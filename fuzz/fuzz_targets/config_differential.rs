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
//! Fixed in `spec::parse` (rewritten as a fraction first): an integer with an
//! exponent of zero (`"gid": 10E0`), which simd-json read as the integer 10 and Go
//! refuses in an integer field; and `1e0001`, which simd-json refused.
//! Fixed in `spec::parse` (from the 2026-12-05 campaign's notes): `1e-330`, which
//! simd-json refused (Go reads 0), and `1.5e309`, which it read as infinity
//! (fastrun refuses every number beyond f64, as the scan below expects).
//! Fixed here: a key in another case inside a value that a later duplicate key
//! replaces (`"devices":[{"maJor":1}],"devices":{}`): fastrun refuses the key, Go
//! the document (an object is no array), but the check below looked for the key in
//! a `serde_json::Value`, which keeps only the last duplicate.
//!
//! Go's `encoding/json` (what runc reads `config.json` with) is the reference;
//! serde_json stands in for it where the two agree. Where they differ, the rule
//! fastrun follows (docs/compatibility.md, "Config parsing") is checked here:
//! - trailing data after the document: Go's decoder stops after one value; fastrun
//!   refuses, as serde_json's `from_slice` does (compared as any other input).
//! - duplicate keys: Go keeps the last; fastrun refuses a duplicate field of a
//!   struct and keeps every entry of a `Map` (annotations, sysctl, ...), the last
//!   one winning on lookup, as serde_json does (compared as any other input).
//! - invalid UTF-8: Go reads U+FFFD; fastrun refuses. Checked here (serde_json
//!   does not validate what it skips).
//! - numbers beyond i64/u64 or f64: Go skips them in unknown fields; fastrun
//!   refuses them anywhere. Checked here (serde_json accepts them where no field
//!   reads them).
//! - nesting: fastrun refuses more than `MAX_DEPTH` (128) levels of arrays and
//!   objects (Go: 10 000). Checked here; from 120 to 128 levels serde_json's own
//!   limit (which counts differently) may refuse, and the comparison is skipped.
//! - a key equal to a known field's name in another case (`"Linux"`): Go reads it
//!   as the field; fastrun refuses it, serde_json ignores it. On such a refusal the
//!   target checks that the document has that key (folded as Go does), removes
//!   every key that folds to that field and compares again on the result.
//! - the integer `-0`: simd-json reads it as 0, serde_json as the float -0.0 that
//!   no integer field takes (Go reads 0 for a signed field, refuses it for an
//!   unsigned one). Skipped.
#![no_main]

use fastrun_runtime::spec::{parse, Config, MAX_DEPTH};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

fuzz_target!(|data: &[u8]| compare(data, 0));

/// The message of a refused key in another case (`spec::parse`).
const MISCASED: &str = "unknown key: keys are case-sensitive, the field is ";

fn compare(data: &[u8], round: usize) {
    let scan = scan(data);
    if scan.negative_zero {
        return;
    }
    let mut buf = data.to_vec();
    let simd = parse(&mut buf);
    if std::str::from_utf8(data).is_err() {
        assert!(simd.is_err(), "fastrun accepts invalid UTF-8");
        return;
    }
    if scan.out_of_range {
        assert!(simd.is_err(), "fastrun accepts a number out of range");
        return;
    }
    if scan.max_depth > MAX_DEPTH {
        assert!(simd.is_err(), "fastrun accepts {} levels", scan.max_depth);
        return;
    }
    if scan.max_depth >= 120 {
        return;
    }
    if let Err(e) = &simd {
        if let Some(field) = e.message.strip_prefix(MISCASED) {
            let field = field.split('"').nth(1).expect("the field's name, quoted");
            let key = e.path.rsplit(['.', '[']).next().unwrap_or("");
            assert!(key != field && go_fold_eq(key, field), "{e}");
            // The rest of the document, without that key, must agree. Read with
            // every duplicate key kept: a `Value` keeps only the last one, which
            // may have dropped the key itself (`"devices":[{"maJor":1}],
            // "devices":{}`, refused by Go too, as an object is no array).
            let mut v: Json = serde_json::from_slice(data).expect("valid JSON");
            assert!(
                strip_folded(&mut v, field),
                "{e}: no such key in the document"
            );
            if round < 8 {
                compare(&serde_json::to_vec(&v).unwrap(), round + 1);
            }
            return;
        }
    }
    let serde = serde_json::from_slice::<Config<'_>>(data);
    match (&simd, &serde) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "both accept, different values"),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("simd-json accepts, serde_json refuses: {e}"),
        (Err(e), Ok(_)) => panic!("serde_json accepts, simd-json refuses: {e}"),
    }
}

/// Go's name matching (encoding/json `foldName`): ASCII case, the Kelvin sign for
/// `k`, the long s for `s`. Written again here, independently of `spec::parse`.
fn go_fold_eq(key: &str, field: &str) -> bool {
    let fold = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                '\u{212A}' => 'k',
                '\u{17F}' => 's',
                c => c.to_ascii_lowercase(),
            })
            .collect()
    };
    fold(key) == fold(field)
}

/// Remove every object key, anywhere, that folds to `field` but is not `field`;
/// whether one was removed.
fn strip_folded(v: &mut Json, field: &str) -> bool {
    match v {
        Json::Object(o) => {
            let before = o.len();
            o.retain(|(k, _)| k == field || !go_fold_eq(k, field));
            let mut removed = o.len() != before;
            for (_, e) in o.iter_mut() {
                removed |= strip_folded(e, field);
            }
            removed
        }
        Json::Array(a) => a.iter_mut().fold(false, |r, e| strip_folded(e, field) | r),
        Json::Scalar(_) => false,
    }
}

/// A JSON document that keeps every key of an object, duplicates included, in
/// order (a `serde_json::Value` keeps the last of each).
enum Json {
    Scalar(Value),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Scalar(Value::Null))
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Scalar(b.into()))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Scalar(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Scalar(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
                Ok(Json::Scalar(n.into()))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json, E> {
                Ok(Json::Scalar(s.into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(e) = a.next_element()? {
                    out.push(e);
                }
                Ok(Json::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = m.next_entry()? {
                    out.push(entry);
                }
                Ok(Json::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Scalar(v) => v.serialize(s),
            Json::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for e in a {
                    seq.serialize_element(e)?;
                }
                seq.end()
            }
            Json::Object(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
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
