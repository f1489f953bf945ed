//! Creating and opening segments: new, trusted from the checkpoint, or
//! recovered by scanning.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::UNIX_EPOCH;

use super::super::batch::HEADER_LEN;
use super::super::checkpoint::SegmentSummary;
use super::super::config::{LogConfig, MAX_INDEX_BYTES};
use super::super::error::{io_err, LogError};
use super::super::offset_index::OffsetIndex;
use super::super::scan::{self, Damage};
use super::super::time_index::TimeIndex;
use super::{segment_path, Segment, SegmentFile, NO_TIMESTAMP};

/// Preallocated entries of an active segment's indexes: enough for a full
/// segment at the configured interval, at most `segment.index.bytes`.
fn index_capacity(config: &LogConfig, entry_size: u64) -> usize {
    let per_entry = u64::from(config.index_interval_bytes).max(HEADER_LEN as u64);
    let wanted = config.effective_segment_bytes() / per_entry + 3;
    usize::try_from(wanted.min(MAX_INDEX_BYTES / entry_size)).unwrap_or(usize::MAX)
}

pub(super) fn offset_capacity(config: &LogConfig) -> usize {
    index_capacity(config, 8)
}

pub(super) fn time_capacity(config: &LogConfig) -> usize {
    index_capacity(config, 12)
}

impl Segment {
    /// Creates an empty active segment (files truncated if they exist).
    pub(crate) fn create(
        dir: &Path,
        base_offset: u64,
        base_ordinal: u64,
        config: &LogConfig,
        now_ms: i64,
    ) -> Result<Self, LogError> {
        let path = segment_path(dir, base_offset, "log");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_err("create segment", &path))?;
        let log = Arc::new(SegmentFile { file, path });
        let mut seg = Self::with_new_indexes(dir, log, base_offset, base_ordinal, config)?;
        seg.last_modified_ms = now_ms;
        Ok(seg)
    }

    /// Opens a segment the checkpoint vouches for, without reading it.
    /// Returns `None` when an index file is missing or implausible: the
    /// caller then recovers the segment, which rebuilds them.
    pub(crate) fn open_trusted(
        dir: &Path,
        summary: &SegmentSummary,
        active: bool,
        config: &LogConfig,
    ) -> Result<Option<Self>, LogError> {
        let base = summary.base_offset;
        let (index_path, time_path) = (
            segment_path(dir, base, "index"),
            segment_path(dir, base, "timeindex"),
        );
        if !index_path.exists() || !time_path.exists() {
            return Ok(None);
        }
        let log = open_log_file(dir, base)?;
        let (offset_cap, time_cap) = if active {
            (offset_capacity(config), time_capacity(config))
        } else {
            (0, 0)
        };
        let offset_index = OffsetIndex::open(&index_path, base, offset_cap)?;
        let time_index = TimeIndex::open(&time_path, base, time_cap)?;
        if !offset_index.is_sane(summary.size, summary.next_offset)
            || !time_index.is_sane(summary.next_offset)
        {
            return Ok(None);
        }
        let last_modified_ms = mtime_ms(&log);
        Ok(Some(Self {
            log: Arc::new(log),
            offset_index,
            time_index,
            base_offset: base,
            base_ordinal: summary.base_ordinal,
            next_offset: summary.next_offset,
            size: summary.size,
            batch_count: summary.batch_count,
            max_timestamp: summary.max_timestamp,
            offset_of_max_timestamp: summary.offset_of_max_timestamp,
            created_ms: summary.created_ms,
            last_modified_ms,
            bytes_since_index: 0,
            positions: OnceLock::new(),
            sealed: !active,
        }))
    }

    /// Opens a segment by scanning it: every batch's header, offset
    /// continuity and CRC are verified and the indexes and ordinal map are
    /// rebuilt. Damage in the `last` segment is a torn tail: the file is
    /// cut at the first bad byte and the damage returned. Damage in any
    /// other segment is [`LogError::CorruptSegment`].
    pub(crate) fn recover(
        dir: &Path,
        base_offset: u64,
        base_ordinal: u64,
        last: bool,
        config: &LogConfig,
    ) -> Result<(Self, Option<Damage>), LogError> {
        let log = Arc::new(open_log_file(dir, base_offset)?);
        let len = log
            .file
            .metadata()
            .map_err(io_err("stat segment", &log.path))?
            .len();
        let mut seg =
            Self::with_new_indexes(dir, Arc::clone(&log), base_offset, base_ordinal, config)?;
        let interval = u64::from(config.index_interval_bytes);
        let outcome = scan::scan(&log.file, &log.path, base_offset, len, true, |pos, h| {
            seg.track(pos, h, interval, h.max_timestamp);
        })?;
        if let Some(damage) = &outcome.damage {
            if !last {
                return Err(LogError::CorruptSegment {
                    file: log.path.clone(),
                    position: damage.position,
                    reason: damage.reason.clone(),
                });
            }
            tracing::warn!(
                file = %log.path.display(),
                position = damage.position,
                reason = %damage.reason,
                discarded_bytes = len - outcome.valid_len,
                "truncating torn tail of the last segment"
            );
            log.file
                .set_len(outcome.valid_len)
                .map_err(io_err("truncate torn tail", &log.path))?;
            log.file
                .sync_all()
                .map_err(io_err("fsync segment", &log.path))?;
        }
        seg.last_modified_ms = mtime_ms(&log);
        if !last {
            seg.seal()?;
        }
        Ok((seg, outcome.damage))
    }

    /// A segment over `log` (its contents not yet accounted for) with
    /// empty, preallocated indexes.
    fn with_new_indexes(
        dir: &Path,
        log: Arc<SegmentFile>,
        base_offset: u64,
        base_ordinal: u64,
        config: &LogConfig,
    ) -> Result<Self, LogError> {
        Ok(Self {
            offset_index: OffsetIndex::create(
                &segment_path(dir, base_offset, "index"),
                base_offset,
                offset_capacity(config),
            )?,
            time_index: TimeIndex::create(
                &segment_path(dir, base_offset, "timeindex"),
                base_offset,
                time_capacity(config),
            )?,
            log,
            base_offset,
            base_ordinal,
            next_offset: base_offset,
            size: 0,
            batch_count: 0,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
            created_ms: None,
            last_modified_ms: 0,
            bytes_since_index: 0,
            positions: OnceLock::from(Vec::new()),
            sealed: false,
        })
    }
}

fn open_log_file(dir: &Path, base_offset: u64) -> Result<SegmentFile, LogError> {
    let path = segment_path(dir, base_offset, "log");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io_err("open segment", &path))?;
    Ok(SegmentFile { file, path })
}

fn mtime_ms(log: &SegmentFile) -> i64 {
    log.file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
