//! `Log::open`: finding the segments, trusting what the checkpoint vouches
//! for, scanning the rest, and cutting a torn tail.
//!
//! The algorithm (also in `docs/log.md`):
//! 1. Read `log.checkpoint` (missing: nothing is trusted, the log starts at
//!    its first segment with ordinal 0; damaged: an error).
//! 2. List `*.log` files; delete index files that have no segment and a
//!    stale temporary checkpoint. Delete segments wholly below the log
//!    start: a retention or DeleteRecords that was interrupted after its
//!    checkpoint was written. (A segment whose data ends at the log start
//!    is kept if the checkpoint's ordinals say it ends with readable
//!    internal entries.)
//! 3. For each segment, oldest first: if its summary is *complete*, its
//!    size matches the file, and it is sealed (or the checkpoint is from a
//!    clean close), open it without reading it. Otherwise scan it, checking
//!    every batch's header, offset continuity and CRC, rebuilding its
//!    indexes. A bad batch in the last segment is a torn tail and the file
//!    is cut there; anywhere else it is `LogError::CorruptSegment`. A
//!    missing or implausible index also sends a segment to the scan.
//! 4. Check that segments follow each other without gaps, fsync the last
//!    segment (what recovery read may have come from the page cache of a
//!    crashed process), and write a fresh, *unclean* checkpoint before any
//!    append, so a crash from here on never trusts the active segment.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use super::checkpoint::{sync_dir, Checkpoint, SegmentSummary, CHECKPOINT_FILE};
use super::config::LogConfig;
use super::durability::{Durability, Mark};
use super::error::{io_err, LogError};
use super::segment::{segment_path, Segment};
use super::Log;

pub(crate) fn open(dir: &Path, config: LogConfig) -> Result<Log, LogError> {
    fs::create_dir_all(dir).map_err(io_err("create log directory", dir))?;
    let checkpoint = Checkpoint::read(dir)?;
    let mut bases = list_segments(dir)?;
    let mut log_start = checkpoint.as_ref().map_or(0, |c| c.log_start_offset);
    let now_ms = wall_clock_ms();

    let summaries: HashMap<u64, &SegmentSummary> = checkpoint
        .iter()
        .flat_map(|c| c.segments.iter())
        .map(|s| (s.base_offset, s))
        .collect();
    // The first segment is wholly below the log start when the next one
    // starts below it, or at it and (by the checkpoint) with an ordinal no
    // later than the first readable one: a segment whose data ends at the
    // log start may still end with readable internal entries.
    let below_start = |next_base: u64| {
        next_base < log_start
            || (next_base == log_start
                && summaries
                    .get(&next_base)
                    .zip(checkpoint.as_ref())
                    .is_some_and(|(s, c)| s.base_ordinal <= c.first_ordinal))
    };
    while bases.len() > 1 && below_start(bases[1]) {
        tracing::info!(dir = %dir.display(), base = bases[0], "deleting segment below the log start");
        delete_files(dir, bases[0])?;
        bases.remove(0);
    }

    let clean = checkpoint.as_ref().is_some_and(|c| c.clean);
    let mut segments: Vec<Segment> = Vec::with_capacity(bases.len().max(1));
    for (i, &base) in bases.iter().enumerate() {
        let last = i + 1 == bases.len();
        let summary = summaries.get(&base).copied();
        let ordinal = match (segments.last(), summary, &checkpoint) {
            (Some(prev), _, _) => prev.next_ordinal(),
            (None, Some(s), _) => s.base_ordinal,
            // A first segment the checkpoint does not list but that starts
            // at its log start: created by a reset after its checkpoint.
            (None, None, Some(c)) if c.log_start_offset == base => c.first_ordinal,
            (None, None, _) => 0,
        };
        if let Some(prev) = segments.last() {
            if prev.next_offset() != base {
                return Err(LogError::CorruptSegment {
                    file: segment_path(dir, base, "log"),
                    position: 0,
                    reason: format!(
                        "segment does not follow the previous one, which ends at offset {}",
                        prev.next_offset()
                    ),
                });
            }
        }
        segments.push(open_segment(
            dir, base, ordinal, summary, last, clean, &config,
        )?);
    }

    let mut active = match segments.pop() {
        Some(s) => s,
        None => {
            let ordinal = checkpoint.as_ref().map_or(0, |c| c.first_ordinal);
            let seg = Segment::create(dir, log_start, ordinal, &config, now_ms)?;
            sync_dir(dir)?;
            seg
        }
    };
    active
        .file()
        .file
        .sync_data()
        .map_err(io_err("fsync segment", &active.file().path))?;
    if active.is_sealed() {
        active.unseal(&config)?;
    }
    let first_base = segments.first().unwrap_or(&active).base_offset();
    log_start = log_start.max(first_base);
    let log_end = active.next_offset();
    let end = Mark {
        offset: log_end,
        ordinal: active.next_ordinal(),
    };
    let mut log = Log {
        dir: dir.to_path_buf(),
        durability: Arc::new(Durability::new(end)),
        config,
        sealed: segments,
        active,
        log_start_offset: log_start,
        first_ordinal: 0,
        unflushed_records: 0,
        last_flush_ms: None,
    };
    // The checkpoint's first ordinal is the truth when it still applies: a
    // log of internal entries only has its start at its end and yet
    // readable entries, which no offset could express.
    log.first_ordinal = match &checkpoint {
        _ if log_start > log_end => log.next_ordinal(),
        Some(c)
            if c.log_start_offset == log_start
                && c.first_ordinal >= log.segment_at(0).base_ordinal()
                && c.first_ordinal <= log.next_ordinal() =>
        {
            c.first_ordinal
        }
        _ if log_start == first_base => log.segment_at(0).base_ordinal(),
        _ => log.ordinal_of_offset(log_start)?,
    };
    if log_start > log_end {
        // The log start was made durable ahead of the data (DeleteRecords
        // flushes first, so only damage gets here): start afresh there.
        tracing::warn!(dir = %dir.display(), log_start, log_end, "log start is past the recovered end; starting an empty segment at the log start");
        log.roll_at(log_start, now_ms)?;
        log.durability.reset(log.end_mark());
    }
    log.delete_segments_below_start()?;
    log.write_checkpoint(false)?;
    tracing::info!(
        dir = %dir.display(),
        log_start = log.log_start_offset,
        log_end = log.log_end_offset(),
        segments = log.segment_count(),
        clean,
        "opened log"
    );
    Ok(log)
}

fn open_segment(
    dir: &Path,
    base: u64,
    ordinal: u64,
    summary: Option<&SegmentSummary>,
    last: bool,
    clean: bool,
    config: &LogConfig,
) -> Result<Segment, LogError> {
    let path = segment_path(dir, base, "log");
    let len = fs::metadata(&path)
        .map_err(io_err("stat segment", &path))?
        .len();
    let trusted = summary
        .filter(|s| s.complete && (!last || clean) && s.size == len && s.base_ordinal == ordinal);
    if let Some(s) = trusted {
        if let Some(seg) = Segment::open_trusted(dir, s, last, config)? {
            return Ok(seg);
        }
        tracing::warn!(file = %path.display(), "index missing or damaged; rebuilding it from the segment");
    }
    let (seg, damage) = Segment::recover(dir, base, ordinal, last, config)?;
    tracing::debug!(
        file = %path.display(),
        batches = seg.batch_count(),
        torn = damage.is_some(),
        "scanned segment"
    );
    Ok(seg)
}

/// Base offsets of the `*.log` files in `dir`, ascending. Cleans up index
/// files without a segment and a leftover temporary checkpoint.
fn list_segments(dir: &Path) -> Result<Vec<u64>, LogError> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list log directory", dir))? {
        let entry = entry.map_err(io_err("list log directory", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == format!("{CHECKPOINT_FILE}.tmp") {
            let _ = fs::remove_file(entry.path());
            continue;
        }
        let Some((stem, ext)) = name.split_once('.') else {
            continue;
        };
        let Ok(base) = stem.parse::<u64>() else {
            continue;
        };
        if stem.len() != 20 {
            continue;
        }
        match ext {
            "log" => logs.push(base),
            "index" | "timeindex" => indexes.push((base, entry.path())),
            _ => {}
        }
    }
    logs.sort_unstable();
    for (base, path) in indexes {
        if logs.binary_search(&base).is_err() {
            tracing::info!(file = %path.display(), "deleting index without a segment");
            fs::remove_file(&path).map_err(io_err("delete orphan index", &path))?;
        }
    }
    Ok(logs)
}

fn delete_files(dir: &Path, base: u64) -> Result<(), LogError> {
    for ext in ["log", "index", "timeindex"] {
        let path = segment_path(dir, base, ext);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io("delete segment file", path, e)),
        }
    }
    Ok(())
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
