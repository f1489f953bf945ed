//! Text formats shared by the views: "—" for unknown values, compact
//! numbers, byte sizes, rates, text sparklines and bars, UTC times.

/// Shown for values the broker did not report.
pub const UNKNOWN: &str = "—";

/// An optional number, or "—".
pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| UNKNOWN.to_owned(), |v| v.to_string())
}

/// A node id list: `1,2,3`.
pub fn ids(v: &[i32]) -> String {
    if v.is_empty() {
        return UNKNOWN.to_owned();
    }
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// A count in at most 6 characters: `999`, `12.3k`, `4.56M`.
pub fn compact(n: f64) -> String {
    let a = n.abs();
    if a < 1_000.0 {
        if n.fract() == 0.0 || a >= 100.0 {
            format!("{n:.0}")
        } else {
            format!("{n:.1}")
        }
    } else if a < 1_000_000.0 {
        format!("{:.1}k", n / 1_000.0)
    } else if a < 1_000_000_000.0 {
        format!("{:.2}M", n / 1_000_000.0)
    } else {
        format!("{:.2}G", n / 1_000_000_000.0)
    }
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `3.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// An optional size, or "—".
pub fn opt_bytes(n: Option<u64>) -> String {
    n.map_or_else(|| UNKNOWN.to_owned(), bytes)
}

/// Records per second: `0`, `12.5`, `3.4k`.
pub fn rate(r: f64) -> String {
    compact(r)
}

const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line sparkline of the newest `width` samples, scaled to their max;
/// padded on the left with spaces to `width`.
pub fn spark(samples: &[u64], width: usize) -> String {
    let tail = &samples[samples.len().saturating_sub(width)..];
    let max = tail.iter().copied().max().unwrap_or(0);
    let mut s: String = " ".repeat(width - tail.len());
    for v in tail {
        let i = if max == 0 {
            0
        } else {
            ((*v as f64 / max as f64) * 7.0).round() as usize
        };
        s.push(TICKS[i.min(7)]);
    }
    s
}

/// A horizontal bar `width` cells wide, `frac` (0..=1) of it filled.
pub fn bar(frac: f64, width: usize) -> String {
    let frac = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = (frac * width as f64).round() as usize;
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

/// A UTC time of day with milliseconds, `HH:MM:SS.mmm`; the date too when
/// `with_date`. Negative timestamps are unknown.
pub fn utc(ms: i64, with_date: bool) -> String {
    if ms < 0 {
        return UNKNOWN.to_owned();
    }
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let time = format!(
        "{:02}:{:02}:{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms.rem_euclid(1000)
    );
    if !with_date {
        return time;
    }
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02} {time}")
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// An age: `now`, `3s`, `2m`, `1h`.
pub fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => "now".to_owned(),
        1..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        _ => format!("{}h ago", s / 3600),
    }
}

/// Cuts `s` to `width` characters, ending in `…` when cut.
pub fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(compact(999.0), "999");
        assert_eq!(compact(12_345.0), "12.3k");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 << 30), "5.0 GiB");
        assert_eq!(spark(&[0, 1, 2], 5), "  ▁▅█");
        assert_eq!(spark(&[0, 0], 2), "▁▁");
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(utc(1_700_000_000_123, true), "2023-11-14 22:13:20.123");
        assert_eq!(utc(-1, false), "—");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(age(61_000), "1m ago");
    }
}
