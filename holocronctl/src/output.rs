//! Rendering: every command builds one output value (a [`Document`]) and
//! hands it here, which prints it as one JSON line (`--json`) or as human
//! text (comfy-table tables, readable sizes and times).
//!
//! stdout carries data only; notes and progress go to stderr. Tables use box
//! drawing on a terminal and plain space-separated columns otherwise, and
//! nothing is coloured. A closed stdout pipe turns into
//! [`CtlError::broken_pipe`], which exits 0.

use std::io::{IsTerminal, Write};
use std::time::{Duration, UNIX_EPOCH};

use comfy_table::{presets, ContentArrangement, Table};
use serde::{Deserialize, Serialize};

use crate::exit::{CtlError, CtlResult};

/// A value a command prints: JSON with a schema name, or human text.
pub trait Document: Serialize {
    /// The schema name, `holocron.<command>/v1`.
    fn schema(&self) -> &'static str;
    /// The human rendering (tables), ending in a newline.
    fn human(&self, out: &Out) -> String;
}

/// The JSON envelope: the schema name beside the document's own fields.
/// Tests read output back as `Doc<T>` for the documented type `T`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Doc<T> {
    /// `holocron.<command>/v1`.
    pub schema: String,
    /// The document.
    #[serde(flatten)]
    pub data: T,
}

/// Where and how output goes.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// `--json`: one JSON document per command (NDJSON for streams).
    pub json: bool,
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stderr is a terminal.
    pub stderr_tty: bool,
}

impl Out {
    /// Detects terminals.
    pub fn new(json: bool) -> Self {
        Out {
            json,
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }

    /// Prints a document.
    pub fn emit<D: Document>(&self, doc: &D) -> CtlResult {
        if self.json {
            let mut line = json_line(doc)?;
            line.push('\n');
            write_stdout(line.as_bytes())
        } else {
            write_stdout(doc.human(self).as_bytes())
        }
    }

    /// Whether to draw progress bars: only when both stdout and stderr are
    /// terminals and the output is for humans.
    pub fn progress(&self) -> bool {
        !self.json && self.stdout_tty && self.stderr_tty
    }

    /// A table with this header, styled for where stdout goes.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut t = Table::new();
        if self.stdout_tty {
            t.load_preset(presets::UTF8_BORDERS_ONLY);
        } else {
            t.load_preset(presets::NOTHING);
        }
        t.set_content_arrangement(ContentArrangement::Disabled);
        t.set_header(header.iter().map(|h| h.to_ascii_uppercase()));
        t
    }

    /// A message for the human on stderr (never stdout); silent with `--json`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.json {
            eprintln!("{msg}");
        }
    }
}

/// A document as one JSON line (no newline), with its schema first.
pub fn json_line<D: Document>(doc: &D) -> CtlResult<String> {
    serde_json::to_string(&Doc {
        schema: doc.schema().to_owned(),
        data: doc,
    })
    .map_err(|e| {
        CtlError::new(
            crate::exit::ErrorClass::Failure,
            format!("encoding JSON: {e}"),
        )
    })
}

/// Writes to stdout and flushes; a closed pipe becomes [`CtlError::broken_pipe`].
pub fn write_stdout(bytes: &[u8]) -> CtlResult {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                CtlError::broken_pipe()
            } else {
                e.into()
            }
        })
}

/// A table rendered with a trailing newline.
pub fn render(table: &Table) -> String {
    let mut s = table.to_string();
    // The borderless preset pads every line; trim for pipes.
    s = s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
    s.push('\n');
    s
}

/// `1.5 KiB`, `0 B`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// A timestamp in ms since the epoch as RFC 3339 UTC; `-` for negatives.
pub fn time_ms(ms: i64) -> String {
    if ms < 0 {
        return "-".into();
    }
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms as u64)).to_string()
}

/// A value or `-`.
pub fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// `1,2,3`.
pub fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// `key=value` lines under a title, for describe views.
pub fn kv(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = String::new();
    for (k, v) in pairs {
        s.push_str(&format!("{k:<width$}  {v}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_read_well() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(time_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(time_ms(-1), "-");
    }
}
