//! Parsing the small languages on the command line: times, consume start
//! offsets, `KEY=VALUE` pairs and backslash escapes. Pure functions, so plans
//! are validated before any I/O.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::exit::{CtlError, CtlResult};

/// A time in ms since the epoch from `1714521600000`, an RFC 3339 time
/// (`2024-05-01T00:00:00Z`) or a duration ago (`15m ago`).
pub fn parse_time(s: &str) -> CtlResult<i64> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        if ms >= 0 {
            return Ok(ms);
        }
    }
    if let Some(ago) = s.strip_suffix("ago") {
        let d = humantime::parse_duration(ago.trim())
            .map_err(|e| CtlError::usage(format!("bad time {s:?}: {e}")))?;
        let then = SystemTime::now()
            .checked_sub(d)
            .ok_or_else(|| CtlError::usage(format!("time {s:?} is before the epoch")))?;
        return Ok(ms_since_epoch(then));
    }
    let t = humantime::parse_rfc3339_weak(s).map_err(|_| {
        CtlError::usage(format!(
            "bad time {s:?}: give ms since the epoch, RFC 3339 (2024-05-01T00:00:00Z) or '15m ago'"
        ))
    })?;
    Ok(ms_since_epoch(t))
}

/// Milliseconds since the epoch.
pub fn ms_since_epoch(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Where `consume` starts in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartSpec {
    /// The log start offset.
    Beginning,
    /// The high watermark: only new records.
    End,
    /// This offset (clamped to the log).
    Offset(i64),
    /// N records after the log start.
    AfterStart(i64),
    /// N records before the high watermark.
    BeforeEnd(i64),
    /// The first record at or after this time (ms since the epoch).
    Time(i64),
}

/// Parses `beginning|start|end|N|+N|-N|@TIME`.
pub fn parse_start(s: &str) -> CtlResult<StartSpec> {
    let bad = || {
        CtlError::usage(format!(
            "bad offset {s:?}: use beginning, end, N, +N, -N or @TIME"
        ))
    };
    Ok(match s {
        "beginning" | "start" | "earliest" | "oldest" => StartSpec::Beginning,
        "end" | "latest" | "newest" => StartSpec::End,
        _ => {
            if let Some(t) = s.strip_prefix('@') {
                StartSpec::Time(parse_time(t)?)
            } else if let Some(n) = s.strip_prefix('+') {
                StartSpec::AfterStart(n.parse::<u32>().map_err(|_| bad())? as i64)
            } else if let Some(n) = s.strip_prefix('-') {
                StartSpec::BeforeEnd(n.parse::<u32>().map_err(|_| bad())? as i64)
            } else {
                StartSpec::Offset(s.parse::<u64>().map_err(|_| bad())? as i64)
            }
        }
    })
}

/// Splits `KEY=VALUE` (the value may be empty or contain `=`).
pub fn parse_kv(s: &str, what: &str) -> CtlResult<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(CtlError::usage(format!(
            "bad {what} {s:?}: expected KEY=VALUE"
        ))),
    }
}

/// Expands `\n`, `\t`, `\r`, `\0` and `\\`; other backslashes stay.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Parses `TOPIC` or `TOPIC:P1,P2` (an empty list means every partition).
pub fn parse_topic_partitions(s: &str) -> CtlResult<(String, Vec<i32>)> {
    match s.split_once(':') {
        None => Ok((s.to_owned(), Vec::new())),
        Some((t, ps)) => {
            let parts = ps
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse::<i32>()
                        .ok()
                        .filter(|p| *p >= 0)
                        .ok_or_else(|| CtlError::usage(format!("bad partition {p:?} in {s:?}")))
                })
                .collect::<CtlResult<Vec<_>>>()?;
            Ok((t.to_owned(), parts))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_specs() {
        assert_eq!(parse_start("beginning").ok(), Some(StartSpec::Beginning));
        assert_eq!(parse_start("end").ok(), Some(StartSpec::End));
        assert_eq!(parse_start("42").ok(), Some(StartSpec::Offset(42)));
        assert_eq!(parse_start("+3").ok(), Some(StartSpec::AfterStart(3)));
        assert_eq!(parse_start("-3").ok(), Some(StartSpec::BeforeEnd(3)));
        assert_eq!(parse_start("@1000").ok(), Some(StartSpec::Time(1000)));
        assert!(parse_start("soon").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1000").ok(), Some(1000));
        assert_eq!(parse_time("1970-01-01T00:00:01Z").ok(), Some(1000));
        assert!(parse_time("5m ago").is_ok_and(|t| t > 0));
        assert!(parse_time("yesterday-ish").is_err());
    }

    #[test]
    fn escapes_and_pairs() {
        assert_eq!(unescape("a\\tb\\n"), "a\tb\n");
        assert_eq!(
            parse_kv("a=b=c", "config").ok(),
            Some(("a".into(), "b=c".into()))
        );
        assert!(parse_kv("=x", "config").is_err());
        assert_eq!(
            parse_topic_partitions("t:0,2").ok(),
            Some(("t".into(), vec![0, 2]))
        );
    }
}
