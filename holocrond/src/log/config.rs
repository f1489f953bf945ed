//! Per-log configuration, with Kafka's topic-config names and defaults.
//!
//! Every field can change at runtime (`Log::set_config`, driven by
//! IncrementalAlterConfigs); changes apply from the next append, roll,
//! flush or retention pass on.

/// Kafka's default `segment.bytes`: 1 GiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 1 << 30;
/// Kafka's default `index.interval.bytes`.
pub const DEFAULT_INDEX_INTERVAL_BYTES: u32 = 4096;
/// Kafka's default `max.message.bytes` (1 MiB + the 12-byte log overhead).
pub const DEFAULT_MAX_BATCH_BYTES: u32 = 1_048_588;
/// Kafka's `segment.index.bytes` default: the most an index file is
/// preallocated to.
pub const MAX_INDEX_BYTES: u64 = 10 << 20;

/// Configuration of one partition log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the next batch would make the active
    /// segment larger than this. Capped at `u32::MAX` (index positions are
    /// 32-bit, as in Kafka).
    pub segment_bytes: u64,
    /// `segment.ms`: roll when the active segment's first batch is older
    /// than this. `None` never rolls by age.
    pub segment_ms: Option<u64>,
    /// `index.interval.bytes`: bytes appended between two offset-index
    /// entries.
    pub index_interval_bytes: u32,
    /// `retention.ms`: delete sealed segments whose newest batch is older
    /// than this. `None` or negative: unlimited.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: delete the oldest sealed segments while the log
    /// stays at or above this size without them. `None` or negative:
    /// unlimited.
    pub retention_bytes: Option<i64>,
    /// `max.message.bytes`: the largest batch `append` accepts.
    pub max_batch_bytes: u32,
    /// When appended data is fsynced.
    pub flush: FlushPolicy,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_ms: None,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
            retention_ms: Some(7 * 24 * 60 * 60 * 1000),
            retention_bytes: None,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            flush: FlushPolicy::default(),
        }
    }
}

impl LogConfig {
    /// The size limit a segment is rolled at, capped so that every batch
    /// starts at a position that fits the 32-bit index entries.
    pub(crate) fn effective_segment_bytes(&self) -> u64 {
        self.segment_bytes.clamp(1, u64::from(u32::MAX))
    }

    pub(crate) fn retention_ms(&self) -> Option<i64> {
        self.retention_ms.filter(|ms| *ms >= 0)
    }

    pub(crate) fn retention_bytes(&self) -> Option<u64> {
        self.retention_bytes.and_then(|b| u64::try_from(b).ok())
    }
}

/// When appended data is made durable.
///
/// The log itself never fsyncs inside `append`: an append only writes to
/// the page cache, so appends are never blocked behind a disk flush. The
/// policy says who flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushPolicy {
    /// The safe default: every acknowledged append is durable. The caller
    /// acknowledges an append only after `Durability::sync_to(last_offset)`
    /// returns; concurrent callers share fsyncs (group commit).
    #[default]
    Always,
    /// Kafka's `flush.ms` / `flush.messages`: `Log::flush_if_due` fsyncs
    /// when `ms` have passed since the last flush, or when at least
    /// `messages` records are unflushed. Acknowledged data may be lost on a
    /// power cut.
    Interval {
        /// `flush.ms`.
        ms: u64,
        /// `flush.messages`; `None`: only by time.
        messages: Option<u64>,
    },
    /// Leave it to the operating system (benchmarks). Segments are still
    /// fsynced when they are sealed, so recovery can trust sealed segments.
    Never,
}
