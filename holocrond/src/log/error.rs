//! The log's error type.
//!
//! One enum for the whole log boundary. The variants are kept apart by what
//! the broker must answer (see `DESIGN.md` §5): a bad batch from a client
//! (`InvalidBatch`, `CorruptBatch`, `BatchTooLarge`) is the client's fault and
//! the log stays healthy; `OffsetOutOfRange` is a normal answer to a stale
//! fetch; everything else is a storage problem (`KAFKA_STORAGE_ERROR`).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a batch was rejected as malformed (not a CRC mismatch: that is
/// [`LogError::CorruptBatch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidBatchReason {
    /// Fewer bytes than the 61-byte v2 header.
    TooShort,
    /// `batchLength + 12` does not equal the number of bytes given (or, when
    /// scanning a segment, the batch runs past the end of the file).
    LengthMismatch,
    /// `magic` is not 2.
    BadMagic,
    /// `recordCount` is not positive, and the batch is not an internal
    /// entry (which alone has `recordCount` 0).
    BadRecordCount,
    /// `lastOffsetDelta + 1 != recordCount`.
    OffsetDeltaMismatch,
    /// The compression codec (attribute bits 0-2) is not one Kafka defines.
    BadCompression,
    /// An uncompressed batch's records do not add up to `recordCount`
    /// records filling the batch exactly.
    RecordsMismatch,
    /// A stored batch's `baseOffset` is not the offset that follows the
    /// previous batch (only found when scanning a segment).
    OffsetDiscontinuity,
    /// A client sent a control batch (attribute bit 5). Kafka producers may
    /// not; the log writes its own control batches (internal entries).
    ControlBatch,
}

impl fmt::Display for InvalidBatchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooShort => "shorter than the 61-byte RecordBatch v2 header",
            Self::LengthMismatch => "batchLength does not match the bytes present",
            Self::BadMagic => "magic is not 2",
            Self::BadRecordCount => "recordCount is not positive",
            Self::OffsetDeltaMismatch => "lastOffsetDelta + 1 != recordCount",
            Self::BadCompression => "unknown compression codec",
            Self::RecordsMismatch => "the records do not match recordCount",
            Self::OffsetDiscontinuity => "baseOffset does not follow the previous batch",
            Self::ControlBatch => "control batches may not be produced",
        })
    }
}

/// Everything the log can fail with.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum LogError {
    /// The bytes are not one well-formed RecordBatch v2. Kafka: INVALID_RECORD.
    #[error("invalid record batch: {reason}")]
    InvalidBatch {
        /// What is wrong with it.
        reason: InvalidBatchReason,
    },
    /// The batch's CRC-32C does not match its contents. Kafka: CORRUPT_MESSAGE.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CorruptBatch {
        /// The CRC carried in the header.
        stored: u32,
        /// The CRC of the bytes.
        computed: u32,
    },
    /// The batch is larger than `max.message.bytes`. Kafka: MESSAGE_TOO_LARGE.
    #[error("record batch of {size} bytes exceeds the limit of {max} bytes")]
    BatchTooLarge {
        /// Size of the batch in bytes.
        size: usize,
        /// The configured limit.
        max: u32,
    },
    /// The offset is outside `[log_start, log_end]`. Kafka: OFFSET_OUT_OF_RANGE.
    #[error("offset {requested} is out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        /// The offset asked for.
        requested: u64,
        /// The log start offset.
        log_start: u64,
        /// The log end offset.
        log_end: u64,
    },
    /// The ordinal is outside `[first_ordinal, next_ordinal)`.
    #[error("entry ordinal {requested} is out of range [{first}, {next})")]
    OrdinalOutOfRange {
        /// The ordinal asked for.
        requested: u64,
        /// The first readable ordinal.
        first: u64,
        /// The next ordinal to be assigned.
        next: u64,
    },
    /// A truncation point falls inside a batch; offsets are batch-granular.
    #[error(
        "cannot truncate after offset {offset}: it is inside the batch {batch_base}..={batch_last}"
    )]
    TruncateMidBatch {
        /// The requested last kept offset.
        offset: u64,
        /// First offset of the batch it falls in.
        batch_base: u64,
        /// Last offset of the batch it falls in.
        batch_last: u64,
    },
    /// `sync_to` was asked for an offset that has not been written (or was
    /// truncated away while waiting).
    #[error("cannot sync offset {requested}: the log ends at {log_end}")]
    SyncBeyondEnd {
        /// The offset asked for.
        requested: u64,
        /// The log end offset at the time.
        log_end: u64,
    },
    /// `sync_to_ordinal` was asked for an entry that has not been written
    /// (or was truncated away while waiting).
    #[error("cannot sync entry {requested}: the next entry is {next_ordinal}")]
    SyncBeyondOrdinal {
        /// The ordinal asked for.
        requested: u64,
        /// The ordinal the next appended entry gets.
        next_ordinal: u64,
    },
    /// The active segment holds internal entries only, so it cannot roll
    /// (its successor would have the same base offset and file name), and
    /// it has reached 4 GiB, the most a 32-bit batch position addresses.
    /// Only a partition with tens of millions of elections and no data
    /// between them gets here.
    #[error("segment {} holds 4 GiB of internal entries and no data; it cannot grow or roll", file.display())]
    SegmentFull {
        /// The segment file.
        file: PathBuf,
    },
    /// Stored data is damaged where it cannot be a torn tail.
    #[error("corrupt segment {} at byte {position}: {reason}", file.display())]
    CorruptSegment {
        /// The damaged file.
        file: PathBuf,
        /// Byte position of the first bad byte (the start of the bad batch).
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// The log's checkpoint file exists but cannot be trusted. It is not
    /// silently ignored: it carries the log start offset and the ordinal
    /// base, and losing them would resurrect deleted records.
    #[error("corrupt checkpoint {}: {reason}", file.display())]
    CorruptCheckpoint {
        /// The checkpoint file.
        file: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// An I/O operation failed.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// What the log was doing.
        context: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An earlier fsync (or a write that could not be rolled back) failed;
    /// the log no longer accepts writes and must be reopened (which runs
    /// recovery). Fsync failures are never retried and ignored.
    #[error("the log is poisoned by an earlier failed write or fsync; reopen it to recover")]
    Poisoned,
}

impl LogError {
    pub(crate) fn io(context: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            context,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(reason: InvalidBatchReason) -> Self {
        Self::InvalidBatch { reason }
    }
}

/// `map_err` helper: `.map_err(io_err("open", &path))`.
pub(crate) fn io_err<'a>(
    context: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(io::Error) -> LogError + 'a {
    move |source| LogError::io(context, path, source)
}
