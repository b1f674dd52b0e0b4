//! Value parsers for flag values (numbers, sizes, durations, users, formats).

use std::time::Duration;

use super::{err, Format, Result, UsageError};

/// Go's `strconv.ParseBool`.
pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

pub(super) fn parse_num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| UsageError(format!("invalid value \"{v}\" for --{flag}: want a number")))
}

pub(super) fn parse_format(v: Option<&str>) -> Result<Format> {
    match v {
        None | Some("table") => Ok(Format::Table),
        Some("json") => Ok(Format::Json),
        Some(o) => err(format!(
            "invalid format option \"{o}\" (want table or json)"
        )),
    }
}

/// `UID[:GID]`.
pub(super) fn parse_user(v: &str) -> Result<(u32, Option<u32>)> {
    let bad = || UsageError(format!("invalid --user \"{v}\": want UID[:GID]"));
    let (u, g) = match v.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (v, None),
    };
    let uid = u.parse().map_err(|_| bad())?;
    let gid = match g {
        Some(g) => Some(g.parse().map_err(|_| bad())?),
        None => None,
    };
    Ok((uid, gid))
}

/// A size as runc's `--memory` takes it (docker's `RAMInBytes`): `-1`, or an integer
/// with an optional binary unit `b k m g t p` (optionally followed by `b`), any case.
pub(super) fn parse_bytes(flag: &str, v: &str) -> Result<i64> {
    let bad = || {
        UsageError(format!(
            "invalid value \"{v}\" for --{flag}: want a size like 64m"
        ))
    };
    if v == "-1" {
        return Ok(-1);
    }
    let lower = v.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    if digits_end == 0 {
        return Err(bad());
    }
    let n: i64 = lower[..digits_end].parse().map_err(|_| bad())?;
    let unit = lower[digits_end..].trim();
    let shift = match unit
        .strip_suffix('b')
        .filter(|u| !u.is_empty())
        .unwrap_or(unit)
    {
        "" | "b" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(bad()),
    };
    n.checked_mul(1i64 << shift).ok_or_else(bad)
}

/// A Go duration: a sequence of decimal numbers with units `ns us µs ms s m h`.
pub(super) fn parse_duration(v: &str) -> Result<Duration> {
    let bad = || UsageError(format!("invalid duration \"{v}\" (e.g. 5s, 500ms, 1m30s)"));
    let mut rest = v;
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_end == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_end..];
        total += n * scale;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}
