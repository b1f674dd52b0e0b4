//! Parsing: simd-json into the borrowed model, with JSON-path errors.
//!
//! # Success path
//! simd-json builds its tape from the caller's buffer (unescaping strings in
//! place) and the model borrows every string from that buffer: no copy of the
//! input, no allocation per string. A depth check on the tape runs first (see
//! [`MAX_DEPTH`]).
//!
//! # Error path
//! - A **type error** (wrong type, missing required field) is explained by walking
//!   the tape a second time through `serde_path_to_error` (the tape is intact, so
//!   this needs neither the input nor a copy): `process.user.uid: expected an
//!   unsigned integer`.
//! - A **syntax error** is found while the buffer is borrowed for the lifetime of
//!   the result, and simd-json has rewritten the escaped strings in place, so
//!   [`parse`] can only report the byte offset: `config.json: invalid JSON at
//!   byte 57 (','): ...`. Line and column need the pristine bytes:
//!   [`super::load_file`] re-reads the file on that (rare) path and reports
//!   `config.json: invalid JSON at line 3, column 14: ...`; a caller holding its
//!   own copy can call [`locate_syntax_error`].

use serde::Deserialize;

use super::error::{SpecError, SpecErrorKind};
use super::fields::{self, Shape};

/// The deepest nesting of arrays and objects accepted (as serde_json's default).
/// Legitimate configs nest about 6 deep; the limit keeps the recursive descent of
/// unknown fields from overflowing the stack on hostile input.
pub const MAX_DEPTH: usize = 128;

/// Which document is parsed: names the file in syntax errors and roots the paths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doc {
    /// File name used as the path of syntax errors.
    pub file: &'static str,
    /// Prefix of JSON paths (`""` for config.json).
    pub root: &'static str,
    /// What the model reads (for keys in the wrong case).
    pub shape: fn() -> &'static Shape,
}

pub(crate) const CONFIG: Doc = Doc {
    file: "config.json",
    root: "",
    shape: fields::config_shape,
};
pub(crate) const PROCESS: Doc = Doc {
    file: "process.json",
    root: "process",
    shape: fields::process_shape,
};
pub(crate) const RESOURCES: Doc = Doc {
    file: "resources.json",
    root: "resources",
    shape: fields::resources_shape,
};

impl Doc {
    /// `root` joined with a path relative to the document.
    pub(crate) fn join(&self, rel: &str) -> String {
        match (self.root.is_empty(), rel.is_empty() || rel == ".") {
            (true, true) => self.file.to_owned(),
            (true, false) => rel.to_owned(),
            (false, true) => self.root.to_owned(),
            (false, false) if rel.starts_with('[') => format!("{}{rel}", self.root),
            (false, false) => format!("{}.{rel}", self.root),
        }
    }
}

/// Parse `buf` (rewritten in place) into `T` borrowing from it.
pub(crate) fn parse_doc<'a, T: Deserialize<'a>>(
    buf: &'a mut [u8],
    doc: Doc,
) -> Result<T, SpecError> {
    if let Some((at, what)) = simd_json_gap(buf) {
        return Err(SpecError::new(
            SpecErrorKind::Syntax,
            doc.file,
            format!("invalid JSON at byte {at}: {what}"),
        ));
    }
    if let Some(at) = normalize_numbers(buf) {
        return Err(SpecError::new(
            SpecErrorKind::Syntax,
            doc.file,
            format!("invalid JSON at byte {at}: number out of range"),
        ));
    }
    let mut de = simd_json::Deserializer::from_slice(buf).map_err(|e| syntax_error(doc, &e))?;
    // A walk of the tape (about 2 µs for 30 KB) before serde recurses into it.
    if too_deep(de.as_value(), MAX_DEPTH) {
        return Err(SpecError::new(
            SpecErrorKind::Syntax,
            doc.file,
            format!("invalid JSON: nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    // runc's Go decoder would read such a key as the field; fastrun would drop it.
    if let Some((rel, field)) = (doc.shape)().miscased(de.as_value()) {
        return Err(SpecError::new(
            SpecErrorKind::Type,
            doc.join(&rel),
            format!(
                "unknown key: keys are case-sensitive, the field is {field:?} \
                 (runc would read this key as {field:?})"
            ),
        ));
    }
    match T::deserialize(&mut de) {
        Ok(v) => Ok(v),
        Err(first) => {
            // Error path only: walk the tape again, tracking the path.
            de.restart();
            match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Err(e) => Err(type_error(doc, &e.path().to_string(), e.inner())),
                Ok(_) => Err(type_error(doc, "", &first)),
            }
        }
    }
}

/// Invalid JSON that simd-json 0.17 accepts (found by the config_differential fuzz
/// target), with its byte offset:
/// - a raw NUL byte (never valid: inside a string it must be escaped). simd-json
///   accepts one right after a scalar and skips what follows up to the next
///   structural character: `{"size": 1\0garbage}` reads as 1;
/// - a high surrogate escape (`\ud800`-`\udbff`) not followed by a low surrogate
///   escape: simd-json turns `"\ud800"` into `"\0"`. serde_json refuses it too (Go
///   would write U+FFFD).
///
/// `contains` is a memchr: documents without a NUL and without a backslash (most
/// configs) cost two fast scans; the escape walk runs only when there are escapes.
fn simd_json_gap(buf: &[u8]) -> Option<(usize, &'static str)> {
    if buf.contains(&0) {
        return Some((buf.iter().position(|&b| b == 0)?, "NUL byte"));
    }
    if !buf.contains(&b'\\') {
        return None;
    }
    let hex = |at: usize| -> Option<u16> {
        let digits = std::str::from_utf8(buf.get(at..at + 4)?).ok()?;
        u16::from_str_radix(digits, 16).ok()
    };
    let mut i = 0;
    while let Some(off) = buf[i..].iter().position(|&b| b == b'\\') {
        let at = i + off;
        // Escapes are only valid inside strings; elsewhere simd-json refuses them.
        match buf.get(at + 1) {
            Some(b'u') => {
                if let Some(0xD800..=0xDBFF) = hex(at + 2) {
                    let low = buf.get(at + 6..at + 8) == Some(b"\\u")
                        && matches!(hex(at + 8), Some(0xDC00..=0xDFFF));
                    if !low {
                        return Some((at, "unpaired surrogate in a \\u escape"));
                    }
                    i = at + 12;
                } else {
                    i = at + 6;
                }
            }
            _ => i = at + 2,
        }
        if i >= buf.len() {
            break;
        }
    }
    None
}

/// Numbers that simd-json 0.17 reads otherwise than Go's `encoding/json` (runc),
/// rewritten in place, each into a token of the same length (the offsets of
/// everything else are unchanged); the offset of a number out of range. Found by
/// the config_differential fuzz target.
/// - An exponent of zero without a fraction (`10E0`, `7e+00`, `-3e-0`): simd-json
///   reads the integer it equals, so an integer field took it; Go refuses any
///   number with a fraction or an exponent in an integer field (`cannot unmarshal
///   number 10E0 into ... uint32`) and reads a float elsewhere. Rewritten as a
///   fraction of zeros (`10.0`, `7.000`, `-3.00`), which simd-json reads as a float.
/// - An exponent of more than 3 digits with leading zeros (`1e0001`, `1.5e-0002`):
///   simd-json refuses it, Go takes it. The leading zeros move behind the number
///   as spaces (`1e1   `); an all-zero one after a fraction becomes spaces.
/// - A float beyond `f64` (`1.5e309`, 309 digits and a fraction): simd-json reads
///   infinity; Go refuses it in a float field and skips it in an unknown one.
///   fastrun refuses it anywhere, as it refuses integers beyond 64 bits
///   (docs/compatibility.md, "Config parsing"): the returned offset.
/// - A finite float written with an exponent simd-json does not take (`1e-330`,
///   `4.9e-324`, `0.0…01e400`): simd-json refuses it, Go reads the nearest `f64`
///   (0 on underflow). Rewritten as that value (`{:e}`), or as `0.0` when it is
///   below 1e-300 or its digits do not fit: no OCI field is a float, so the value
///   shows only in a type error's message.
///
/// What is "beyond `f64`" is Rust's correctly rounded `str::parse::<f64>`, the same
/// rule as Go's `strconv.ParseFloat` (`ErrRange` past half an ULP above the
/// largest `f64`).
///
/// Cost: one pass for a digit followed by `e`/`E` (rare outside strings) or a run
/// of 300 digits; the walk that knows strings from numbers runs only then.
fn normalize_numbers(buf: &mut [u8]) -> Option<usize> {
    let (mut run, mut walk) = (0usize, false);
    for w in buf.windows(2) {
        if w[0].is_ascii_digit() {
            run += 1;
            if w[1] | 0x20 == b'e' || run >= LONG_DIGITS {
                walk = true;
                break;
            }
        } else {
            run = 0;
        }
    }
    if !walk {
        return None;
    }
    let digits_from = |buf: &[u8], mut i: usize| {
        while i < buf.len() && buf[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let (mut i, mut in_str) = (0, false);
    while i < buf.len() {
        let b = buf[i];
        if in_str {
            match b {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_str = true;
        }
        if !(b == b'-' || b.is_ascii_digit()) {
            i += 1;
            continue;
        }
        // A number: `-`, integer part, fraction, exponent (malformed ones are left
        // as they are, for simd-json to refuse).
        let start = i;
        let int_end = digits_from(buf, i + 1);
        let mut end = int_end;
        let fraction = buf.get(end) == Some(&b'.');
        if fraction {
            end = digits_from(buf, end + 1);
        }
        i = end;
        if end == int_end && !buf[..end].last().is_some_and(u8::is_ascii_digit) {
            continue; // a lone `-`
        }
        // An integer part of 300 digits or more: beyond f64 or close to it.
        let long = int_end - start >= LONG_DIGITS;
        if buf.get(end).map(|b| b | 0x20) != Some(b'e') {
            if fraction && long {
                if let Some(at) = extreme_float(buf, start, end) {
                    return Some(at);
                }
            }
            continue;
        }
        let e = end;
        let sign = usize::from(matches!(buf.get(e + 1), Some(b'+' | b'-')));
        let first = e + 1 + sign;
        let last = digits_from(buf, first);
        i = last;
        let exp = &buf[first..last];
        let nonzero = exp.iter().position(|&d| d != b'0');
        // Three significant digits from 300 up, or more: beyond what simd-json
        // reads right (its range is 10^-323..10^308, less the fraction's digits).
        let significant = nonzero.map_or(&[][..], |n| &exp[n..]);
        if long || significant.len() > 3 || (significant.len() == 3 && significant[0] >= b'3') {
            if let Some(at) = extreme_float(buf, start, last) {
                return Some(at);
            }
            continue;
        }
        let Some(nonzero) = nonzero else {
            if exp.is_empty() {
                continue;
            }
            if fraction {
                buf[e..last].fill(b' ');
            } else {
                buf[e] = b'.';
                buf[e + 1..last].fill(b'0');
            }
            continue;
        };
        if nonzero > 0 {
            buf.copy_within(first + nonzero..last, first);
            buf[last - nonzero..last].fill(b' ');
        }
    }
    None
}

/// Digits from which a number is looked at by [`extreme_float`] (a float of 300
/// integer digits is still below `f64::MAX`; 309 are beyond it).
const LONG_DIGITS: usize = 300;

/// The well-formed float `buf[start..end]` with a large exponent or many digits:
/// its offset when it is beyond `f64`, else rewritten as the `f64` it denotes, in
/// a form simd-json reads (see [`normalize_numbers`]).
fn extreme_float(buf: &mut [u8], start: usize, end: usize) -> Option<usize> {
    // Only a number JSON allows: Rust's parser also takes `01e-330`, which
    // rewritten would turn an invalid document into a valid one (fuzz regression).
    if !is_json_number(&buf[start..end]) {
        return None;
    }
    let token = std::str::from_utf8(&buf[start..end]).ok()?;
    let v: f64 = token.parse().ok()?;
    if v.is_infinite() {
        return Some(start);
    }
    // Always with a fraction: `1e0` would read as an integer (see above).
    let mut shortest = format!("{v:e}");
    if !shortest.contains('.') {
        shortest.insert_str(1 + usize::from(v < 0.0), ".0");
    }
    let text = if v.abs() < 1e-300 || shortest.len() > end - start {
        "0.0"
    } else {
        shortest.as_str()
    };
    buf[start..start + text.len()].copy_from_slice(text.as_bytes());
    buf[start + text.len()..end].fill(b' ');
    None
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, the whole of `t`.
fn is_json_number(t: &[u8]) -> bool {
    let digits = |i: usize| t[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut i = usize::from(t.first() == Some(&b'-'));
    match digits(i) {
        0 => return false,
        n if n > 1 && t[i] == b'0' => return false,
        n => i += n,
    }
    if t.get(i) == Some(&b'.') {
        match digits(i + 1) {
            0 => return false,
            n => i += 1 + n,
        }
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        match digits(i) {
            0 => return false,
            n => i += n,
        }
    }
    i == t.len()
}

/// Whether the value nests deeper than `budget` levels (recursion bounded by it).
/// Every array and object is a level, empty ones too (as serde_json and Go count).
fn too_deep(v: simd_json::tape::Value<'_, '_>, budget: usize) -> bool {
    if let Some(a) = v.as_array() {
        budget == 0 || a.iter().any(|e| too_deep(e, budget - 1))
    } else if let Some(o) = v.as_object() {
        budget == 0 || o.values().any(|e| too_deep(e, budget - 1))
    } else {
        false
    }
}

fn syntax_error(doc: Doc, e: &simd_json::Error) -> SpecError {
    let near = e
        .character()
        .map(|c| format!(" ({c:?})"))
        .unwrap_or_default();
    SpecError::new(
        SpecErrorKind::Syntax,
        doc.file,
        format!(
            "invalid JSON at byte {}{near}: {}",
            e.index(),
            describe(e.error())
        ),
    )
}

fn type_error(doc: Doc, rel: &str, e: &simd_json::Error) -> SpecError {
    if let simd_json::ErrorType::Serde(msg) = e.error() {
        if let Some(field) = msg
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'))
        {
            let rel = match rel {
                "" | "." => field.to_owned(),
                _ => format!("{rel}.{field}"),
            };
            return SpecError::new(
                SpecErrorKind::Type,
                doc.join(&rel),
                "required field is missing",
            );
        }
    }
    SpecError::new(SpecErrorKind::Type, doc.join(rel), describe(e.error()))
}

fn describe(t: &simd_json::ErrorType) -> String {
    use simd_json::ErrorType as T;
    match t {
        T::ExpectedUnsigned => "expected an unsigned integer (or it is out of range)".into(),
        T::ExpectedSigned | T::ExpectedInteger => {
            "expected an integer (or it is out of range)".into()
        }
        T::ExpectedString => "expected a string".into(),
        T::ExpectedBoolean => "expected a boolean".into(),
        T::ExpectedArray => "expected an array".into(),
        T::ExpectedMap => "expected an object".into(),
        T::ExpectedNumber | T::ExpectedFloat => "expected a number".into(),
        T::Serde(m) => serde_message(m),
        T::Eof => "unexpected end of input".into(),
        T::TrailingData => "trailing characters after the document".into(),
        T::InvalidUtf8 => "invalid UTF-8".into(),
        T::UnterminatedString => "unterminated string".into(),
        T::InvalidEscape | T::InvalidUnicodeEscape | T::InvalidUnicodeCodepoint => {
            "invalid escape in string".into()
        }
        T::InvalidNumber | T::InvalidExponent => "invalid number".into(),
        T::Overflow => "number out of range".into(),
        // simd-json's structural check: `}` or `]` out of place, a second value.
        T::InternalError(_) => "unexpected character (or data after the document)".into(),
        other => format!("{other:?}"),
    }
}

/// serde's "invalid type: integer `5`, expected a string" as "expected a string,
/// found integer `5`"; other messages as they are.
fn serde_message(m: &str) -> String {
    let rest = m
        .strip_prefix("invalid type: ")
        .or_else(|| m.strip_prefix("invalid value: "));
    match rest.and_then(|r| r.split_once(", expected ")) {
        Some((found, expected)) => format!("expected {expected}, found {found}"),
        None => m.to_owned(),
    }
}

/// Describe a syntax error with line and column, from pristine bytes (a copy kept
/// by the caller or the file read again). `None` when serde_json finds no syntax
/// error. Costs a full serde_json parse: for error paths only.
pub fn locate_syntax_error(pristine: &[u8], file: &str) -> Option<SpecError> {
    let mut de = serde_json::Deserializer::from_slice(pristine);
    let res = serde::de::IgnoredAny::deserialize(&mut de).and_then(|_| de.end());
    match res {
        Ok(()) => None,
        Err(e) if e.is_data() => None,
        Err(e) => {
            let full = e.to_string();
            let msg = full
                .rfind(" at line ")
                .map_or(full.as_str(), |i| &full[..i]);
            Some(SpecError::new(
                SpecErrorKind::Syntax,
                file,
                format!(
                    "invalid JSON at line {}, column {}: {msg}",
                    e.line(),
                    e.column()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse, Config};

    fn parse_err(json: &str) -> SpecError {
        let mut buf = json.as_bytes().to_vec();
        match parse(&mut buf) {
            Err(e) => e,
            Ok(c) => panic!("parsed: {c:?}"),
        }
    }

    #[test]
    fn syntax_error_names_the_byte() {
        let e = parse_err("{\"ociVersion\": \"1.0.2\",, }");
        assert_eq!(e.kind, SpecErrorKind::Syntax);
        assert!(
            e.to_string()
                .starts_with("config.json: invalid JSON at byte "),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_located_by_line_and_column() {
        let json = "{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\"path\" \"rootfs\"}\n}";
        let e = locate_syntax_error(json.as_bytes(), "config.json").unwrap();
        assert_eq!(
            e.to_string(),
            "config.json: invalid JSON at line 3, column 19: expected `:`"
        );
        assert!(locate_syntax_error(b"{}", "config.json").is_none());
    }

    #[test]
    fn type_error_names_the_path() {
        let e = parse_err(r#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":"0"}}}"#);
        assert_eq!(e.kind, SpecErrorKind::Type);
        assert!(
            e.to_string()
                .starts_with("process.user.uid: expected an unsigned integer"),
            "{e}"
        );
        let e = parse_err(r#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":-1}}}"#);
        assert!(
            e.to_string()
                .starts_with("process.user.uid: expected an unsigned integer"),
            "{e}"
        );
        let e = parse_err(r#"{"linux":{"namespaces":[{"type":"pid"},{"type":5}]}}"#);
        assert_eq!(
            e.to_string(),
            "linux.namespaces[1].type: expected a string, found integer `5`"
        );
        let e = parse_err(r#"{"mounts":{}}"#);
        assert_eq!(e.to_string(), "mounts: expected an array");
        let e = parse_err("5");
        assert_eq!(e.to_string(), "config.json: expected an object");
    }

    #[test]
    fn missing_required_field_names_the_path() {
        let e = parse_err(r#"{"process":{"rlimits":[{"type":"RLIMIT_NOFILE","soft":1}]}}"#);
        assert_eq!(
            e.to_string(),
            "process.rlimits[0].hard: required field is missing"
        );
    }

    #[test]
    fn process_and_resources_paths_are_rooted() {
        let mut buf = br#"{"cwd":"/","user":{"gid":true}}"#.to_vec();
        let e = crate::spec::parse_process(&mut buf).unwrap_err();
        assert_eq!(
            e.to_string(),
            "process.user.gid: expected an unsigned integer (or it is out of range)"
        );
        let mut buf = br#"{"pids":{}}"#.to_vec();
        let e = crate::spec::parse_resources(&mut buf).unwrap_err();
        assert_eq!(
            e.to_string(),
            "resources.pids.limit: required field is missing"
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let n = 100_000;
        let json = format!("{{\"x\":{}{}}}", "[".repeat(n), "]".repeat(n));
        let e = parse_err(&json);
        assert_eq!(e.kind, SpecErrorKind::Syntax);
        assert!(e.message.contains("nested deeper than 128"), "{e}");
        let json = format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        assert!(parse_err(&json).message.contains("nested deeper"));
        // Exactly at the limit is fine.
        let json = format!(
            "{{\"x\":{}{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        let mut buf = json.into_bytes();
        parse(&mut buf).unwrap();
    }

    #[test]
    fn invalid_json_simd_json_accepts_is_refused() {
        // Fuzz regressions (config_differential): simd-json took a scalar followed
        // by a NUL byte and skipped whatever came after it.
        for json in [
            "{\"a\":1\0xyz}",
            "{\"a\":true\0}",
            "{\"a\":null\0}",
            "{\"a\":[1,2\0]}",
            "{\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":320\0\0\0\x0000}]}}",
            "{\"ociVersion\":\"1.0.0\"}\0",
        ] {
            let e = parse_err(json);
            assert_eq!(e.kind, SpecErrorKind::Syntax, "{json:?}");
            assert!(e.message.contains("NUL byte"), "{json:?}: {e}");
        }
        assert!(parse_err("{\"a\":1\0}")
            .to_string()
            .starts_with("config.json: invalid JSON at byte 6: NUL byte"));
        // simd-json read a lone high surrogate as a NUL character.
        for json in [
            r#"{"hostname":"\ud800"}"#,
            r#"{"hostname":"\ud800x"}"#,
            r#"{"hostname":"\uDBFF\n"}"#,
            r#"{"hostname":"\ud800\u0041"}"#,
            r#"{"hostname":"\ud800\ud800"}"#,
            r#"{"hostname":"\ud83d\ude00\ud800"}"#,
            r#"{"x":"\ud800"}"#,
        ] {
            let e = parse_err(json);
            assert_eq!(e.kind, SpecErrorKind::Syntax, "{json:?}");
            assert!(
                e.message.contains("surrogate") || e.message.contains("escape"),
                "{json:?}: {e}"
            );
        }
        // A pair is fine, and an escaped backslash before `ud800` is no escape.
        let mut buf = br#"{"hostname":"\ud83d\ude00","domainname":"\\ud800\\"}"#.to_vec();
        let c = parse(&mut buf).unwrap();
        assert_eq!(c.hostname, "\u{1f600}");
        assert_eq!(c.domainname, "\\ud800\\");
        // Escaped, it is a string like any other (refused later where a C string is needed).
        let mut buf = br#"{"hostname":"a\u0000b"}"#.to_vec();
        assert_eq!(parse(&mut buf).unwrap().hostname, "a\0b");
    }

    #[test]
    fn a_long_number_running_into_a_literal_is_refused() {
        // Fuzz regression (config_differential): simd-json's exact float parser
        // hands numbers of 19 or more significant digits to a slow path that never
        // checked the character after them, so `1.<19 digits>true` read as 1.5.
        // Go's encoding/json (runc) and serde_json refuse all of these.
        for json in [
            r#"{"x-unknown": 527777777777777777.5555555555555555550955555555555true}"#,
            r#"{"terminal": 527777777777777777.5555555555555555550955555555555true}"#,
            r#"{"x": 1.5555555555555555550955555555555true}"#,
            r#"{"x": 1.5555555555555555550955555555555e5true}"#,
            r#"{"x": 1.5555555555555555550955555555555x}"#,
            r#"{"x": [1.5555555555555555550955555555555a]}"#,
            r#"{"x": 12.5true}"#,
        ] {
            let e = parse_err(json);
            assert_eq!(e.kind, SpecErrorKind::Syntax, "{json:?}: {e}");
        }
        // The same numbers, properly ended, are valid JSON (ignored where unknown).
        let mut buf = br#"{"x": 1.5555555555555555550955555555555, "y": [2.0e-3]}"#.to_vec();
        assert_eq!(parse(&mut buf).unwrap(), Config::default());
    }

    #[test]
    fn a_number_with_an_exponent_is_no_integer() {
        // Fuzz regression (config_differential, `"gid": 10E0`): simd-json read an
        // exponent of zero without a fraction as an integer. Go's encoding/json
        // (runc) refuses a fraction or an exponent in an integer field, whatever
        // its value: `cannot unmarshal number 10E0 into ... of type uint32`.
        for json in [
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":10E0}}}"#,
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":0e0}}}"#,
            r#"{"process":{"cwd":"/","user":{"uid":7e+00,"gid":0}}}"#,
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":0,"additionalGids":[1,2E-0]}}}"#,
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":0},"oomScoreAdj":-10e0}}"#,
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":10e0000}}}"#,
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":10.0}}}"#,
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":1e1}}}"#,
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":1e0001}}}"#,
        ] {
            let e = parse_err(json);
            assert_eq!(e.kind, SpecErrorKind::Type, "{json}: {e}");
            assert!(e.path.starts_with("process."), "{json}: {e}");
        }
        // Where no integer is read (an unknown field), Go takes any number.
        // simd-json refused a 4-digit exponent with leading zeros; Go takes it.
        let mut buf = br#"{"x":[10E0,7e+00,-3e-0,1e0000,5E0],"y":"1e0 \"2E0\""}"#.to_vec();
        assert_eq!(parse(&mut buf).unwrap(), Config::default());
        let mut buf = br#"{"x":[1e0001,1.5e-0002,1.5E+0000,-0.0e0,0e00],"y":1E0300}"#.to_vec();
        assert_eq!(parse(&mut buf).unwrap(), Config::default());
        // Strings keep their bytes: only numbers are looked at.
        let mut buf = br#"{"hostname":"10e0","domainname":"a\"7E00"}"#.to_vec();
        let c = parse(&mut buf).unwrap();
        assert_eq!(c.hostname, "10e0");
        assert_eq!(c.domainname, "a\"7E00");
        // Malformed numbers stay malformed.
        for json in [
            r#"{"x":1.e0}"#,
            r#"{"x":-e0}"#,
            r#"{"x":1e}"#,
            r#"{"x":1e0001x}"#,
        ] {
            assert_eq!(parse_err(json).kind, SpecErrorKind::Syntax, "{json}");
        }
        // Errors keep their offsets.
        assert!(parse_err(r#"{"x":1e0,}"#)
            .to_string()
            .starts_with("config.json: invalid JSON at byte 9"));
    }

    #[test]
    fn floats_follow_go_at_the_ends_of_f64() {
        // Fuzz regressions (config_differential). Go's strconv.ParseFloat (runc)
        // reads the nearest f64 and 0 on underflow; simd-json refused these.
        let long = |d: char, n: usize| d.to_string().repeat(n);
        for json in [
            r#"{"x":1e-330}"#.to_owned(),
            r#"{"x":[4.9e-324,2.4e-324,-1e-400,1e-323,1e-310]}"#.to_owned(),
            r#"{"x":1.7976931348623157e308}"#.to_owned(),
            format!(r#"{{"x":{}5e-400}}"#, long('1', 400)),
            format!(r#"{{"x":0.{}1e400}}"#, long('0', 400)),
            format!(r#"{{"x":[0.{}1,1{}.5]}}"#, long('0', 400), long('0', 300)),
        ] {
            let mut buf = json.clone().into_bytes();
            assert_eq!(parse(&mut buf).unwrap(), Config::default(), "{json:.60}");
        }
        // simd-json read these as infinity; Go refuses them where a float is read
        // and fastrun everywhere, as integers beyond 64 bits
        // (docs/compatibility.md, "Config parsing").
        for json in [
            r#"{"x":1.5e309}"#.to_owned(),
            r#"{"x":-1.7976931348623159e308}"#.to_owned(),
            r#"{"x":[1,1e0400]}"#.to_owned(),
            format!(r#"{{"x":1{}.5}}"#, long('1', 400)),
            format!(r#"{{"x":1{}e100}}"#, long('1', 300)),
            format!(r#"{{"x":1{}e0}}"#, long('1', 400)),
        ] {
            let e = parse_err(&json);
            assert_eq!(e.kind, SpecErrorKind::Syntax, "{json:.60}: {e}");
            assert!(e.message.ends_with("number out of range"), "{e}");
        }
        // Malformed numbers stay malformed, extreme or not (fuzz regression:
        // `01e-330` became `0.0` and the document valid).
        for json in [
            r#"{"x":[01e-330]}"#,
            r#"{"x":-01e-330}"#,
            r#"{"x":00.5e-400}"#,
            r#"{"x":1.e-330}"#,
            r#"{"x":1e-330x}"#,
            r#"{"x":01.5e309}"#,
        ] {
            assert_eq!(parse_err(json).kind, SpecErrorKind::Syntax, "{json}");
        }
        assert_eq!(
            parse_err(r#"{"x": 1.5e309}"#).to_string(),
            "config.json: invalid JSON at byte 6: number out of range"
        );
        // An integer field still refuses them, as Go does; the message names the
        // field and what was found (the value rewritten as simd-json reads it).
        for json in [
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":1e-330}}}"#.to_owned(),
            r#"{"process":{"cwd":"/","user":{"uid":0,"gid":1.0e300}}}"#.to_owned(),
            format!(
                r#"{{"process":{{"cwd":"/","user":{{"uid":0,"gid":0.{}1e401}}}}}}"#,
                long('0', 399)
            ),
        ] {
            let e = parse_err(&json);
            assert_eq!(e.kind, SpecErrorKind::Type, "{json:.60}: {e}");
            assert_eq!(e.path, "process.user.gid", "{e}");
        }
        let e = parse_err(r#"{"hostname":1.25e-330}"#);
        assert!(e.message.contains("found floating point"), "{e}");
    }

    #[test]
    fn stricter_than_go_where_documented() {
        // docs/compatibility.md, "Config parsing": runc (Go's encoding/json)
        // accepts every one of these; fastrun refuses them (tests/container/runc_parity.rs
        // runs a few through runc).
        let deep = format!(
            "{{\"x\":{}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        for (json, kind, what) in [
            (
                r#"{"ociVersion":"1.0.2"} {}"#,
                SpecErrorKind::Syntax,
                "data after the document",
            ),
            (r#"{"ociVersion":"1.0.2"}x"#, SpecErrorKind::Syntax, ""),
            (
                r#"{"hostname":"a","hostname":"b"}"#,
                SpecErrorKind::Type,
                "duplicate field",
            ),
            (
                r#"{"x":18446744073709551616}"#,
                SpecErrorKind::Syntax,
                "out of range",
            ),
            (
                r#"{"x":-9223372036854775809}"#,
                SpecErrorKind::Syntax,
                "out of range",
            ),
            (r#"{"x":[1e400]}"#, SpecErrorKind::Syntax, ""),
            (&deep, SpecErrorKind::Syntax, "nested deeper"),
        ] {
            let e = parse_err(json);
            assert_eq!(e.kind, kind, "{json}: {e}");
            assert!(e.message.contains(what), "{json}: {e}");
        }
        let mut buf = b"{\"hostname\":\"a\xffb\"}".to_vec();
        assert_eq!(parse(&mut buf).unwrap_err().kind, SpecErrorKind::Syntax);
        let mut buf = b"{\"x-unknown\":\"\xc3\"}".to_vec();
        assert_eq!(parse(&mut buf).unwrap_err().kind, SpecErrorKind::Syntax);
        // Map entries keep every key; the last one wins on lookup (as Go).
        let mut buf = br#"{"annotations":{"a":"1","a":"2"}}"#.to_vec();
        let c = parse(&mut buf).unwrap();
        assert_eq!(c.annotations.get("a").map(|v| v.as_str()), Some("2"));
    }

    #[test]
    fn a_known_key_in_another_case_is_refused() {
        // runc (Go's encoding/json) matches keys case-insensitively and would apply
        // these; fastrun would have ignored them, dropping a namespace or a limit.
        for (json, path, field) in [
            (
                r#"{"Linux":{"namespaces":[{"type":"pid"}]}}"#,
                "Linux",
                "linux",
            ),
            (
                r#"{"linux":{"Namespaces":[{"type":"pid"}]}}"#,
                "linux.Namespaces",
                "namespaces",
            ),
            (
                r#"{"linux":{"namespaces":[{"type":"pid"},{"TYPE":"net"}]}}"#,
                "linux.namespaces[1].TYPE",
                "type",
            ),
            (
                r#"{"linux":{"resources":{"memory":{"LIMIT":1}}}}"#,
                "linux.resources.memory.LIMIT",
                "limit",
            ),
            (
                r#"{"linux":{"netDevices":{"eth0":{"Name":"x"}}}}"#,
                "linux.netDevices[\"eth0\"].Name",
                "name",
            ),
            // Go's folding: the long s (U+017F) is an `s`, the Kelvin sign a `k`.
            (
                "{\"linux\":{\"\u{17f}ysctl\":{}}}",
                "linux.\u{17f}ysctl",
                "sysctl",
            ),
            ("{\"process\":{\"user\":{\"\u{212a}\":1}}}", "", ""),
            (
                r#"{"PROCESS":{"noNewPrivileges":true}}"#,
                "PROCESS",
                "process",
            ),
        ] {
            let mut buf = json.as_bytes().to_vec();
            match parse(&mut buf) {
                Err(e) if !path.is_empty() => {
                    assert_eq!(e.kind, SpecErrorKind::Type, "{json}: {e}");
                    assert_eq!(e.path, path, "{json}: {e}");
                    assert!(
                        e.message.contains(&format!("the field is {field:?}")),
                        "{json}: {e}"
                    );
                }
                Ok(_) if path.is_empty() => {}
                r => panic!("{json}: {r:?}"),
            }
        }
        // Fuzz regression (config_differential): inside a value that a later
        // duplicate key replaces, the key is still refused (Go refuses this
        // document too: `cannot unmarshal object into ... devices`).
        let e = parse_err(
            r#"{"linux":{"resources":{"devices":[{"allow":true,"maJor":1}],"devices":{}}}}"#,
        );
        assert_eq!(e.path, "linux.resources.devices[0].maJor", "{e}");
        // Map keys are data: any case goes.
        let mut buf =
            br#"{"annotations":{"Linux":"x","PROCESS":"y"},"linux":{"sysctl":{"Net.Core":"1"}}}"#
                .to_vec();
        let c = parse(&mut buf).unwrap();
        assert_eq!(c.annotations.len(), 2);
        let mut buf = br#"{"cwd":"/","User":{}}"#.to_vec();
        let e = crate::spec::parse_process(&mut buf).unwrap_err();
        assert_eq!(e.path, "process.User");
        let mut buf = br#"{"Pids":{"limit":1}}"#.to_vec();
        let e = crate::spec::parse_resources(&mut buf).unwrap_err();
        assert_eq!(e.path, "resources.Pids");
    }

    #[test]
    fn unknown_fields_are_ignored_and_null_is_empty() {
        let mut buf = br#"{"ociVersion":"1.0.2","future":{"a":[1,{"b":null}]},
            "mounts":null,"process":{"args":null,"cwd":"/","env":null,"user":{}},
            "linux":{"namespaces":null,"sysctl":null,"resources":null}}"#
            .to_vec();
        let c: Config<'_> = parse(&mut buf).unwrap();
        assert!(c.mounts.is_empty());
        let p = c.process.as_ref().unwrap();
        assert!(p.args.is_empty() && p.env.is_empty());
        let l = c.linux.as_ref().unwrap();
        assert!(l.namespaces.is_empty() && l.sysctl.is_empty() && l.resources.is_none());
    }

    #[test]
    fn empty_and_garbage_inputs_are_errors() {
        for input in ["", " ", "nul", "\"x\"", "1", "{", "}", "{\"a\":}", "\u{0}"] {
            let mut buf = input.as_bytes().to_vec();
            assert!(parse(&mut buf).is_err(), "{input:?}");
        }
        let mut buf = b"{}".to_vec();
        assert_eq!(parse(&mut buf).unwrap(), Config::default());
    }
}
