//! A zero-copy view of a Kafka RecordBatch v2 header, its validation and
//! the two fields the log stamps.
//!
//! Batches are stored verbatim: the log checks the header and the CRC-32C
//! and writes `baseOffset` and `partitionLeaderEpoch`, the only fields the
//! CRC does not cover. Records are never decoded, so compressed batches
//! pass through untouched and an append costs the same whatever it holds.
//!
//! Layout (big-endian): baseOffset i64 @0, batchLength i32 @8,
//! partitionLeaderEpoch i32 @12, magic i8 @16, crc u32 @17 (over bytes
//! 21..end), attributes i16 @21, lastOffsetDelta i32 @23, baseTimestamp i64
//! @27, maxTimestamp i64 @35, producerId i64 @43, producerEpoch i16 @51,
//! baseSequence i32 @53, recordCount i32 @57, records @61.
//!
//! Besides Kafka's batches the log stores *internal entries* (Raft's blank
//! and membership entries, see `internal.rs`): control batches with
//! `recordCount` 0, `lastOffsetDelta` -1 and the marker producer id
//! [`INTERNAL_PRODUCER_ID`]. They take an ordinal but no offset. The parser
//! accepts a record count of 0 only in exactly that shape, so a damaged
//! data batch can never pass for an internal one by losing its count alone.

use super::error::{InvalidBatchReason, LogError};

/// The `producerId` that marks an internal entry (with the control bit and
/// no records). Kafka never assigns negative producer ids other than -1
/// ("none"), so no client batch carries it.
pub const INTERNAL_PRODUCER_ID: i64 = -2;

/// Attribute bit 5: a control batch. Kafka producers may not send them.
pub(crate) const CONTROL_BIT: u16 = 0x20;
/// Attribute bits 0-2: the compression codec.
const CODEC_MASK: u16 = 0x07;

/// Size of the v2 header.
pub const HEADER_LEN: usize = 61;
/// Bytes before and including `batchLength`: `total = batchLength + 12`.
pub const LOG_OVERHEAD: usize = 12;
/// The first byte the CRC covers (attributes).
const CRC_START: usize = 21;

const BASE_OFFSET: usize = 0;
const BATCH_LENGTH: usize = 8;
const LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORD_COUNT: usize = 57;

/// The header fields the log uses, read out of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub base_offset: u64,
    /// Total bytes of the batch (`batchLength + 12`).
    pub total_len: usize,
    pub crc: u32,
    pub attributes: u16,
    /// 0 for an internal entry.
    pub last_offset_delta: u32,
    pub max_timestamp: i64,
    /// 0 for an internal entry.
    pub record_count: u32,
    /// An internal entry: no records, no offsets, invisible to readers by
    /// offset and to the indexes.
    pub internal: bool,
}

impl BatchHeader {
    /// Reads and checks the header fields (not the CRC, and not that the
    /// whole batch is present). `header` must hold at least
    /// [`HEADER_LEN`] bytes.
    pub(crate) fn parse(header: &[u8]) -> Result<Self, InvalidBatchReason> {
        if header.len() < HEADER_LEN {
            return Err(InvalidBatchReason::TooShort);
        }
        let batch_length = i32_at(header, BATCH_LENGTH);
        let total_len = usize::try_from(batch_length)
            .ok()
            .and_then(|l| l.checked_add(LOG_OVERHEAD))
            .filter(|l| *l >= HEADER_LEN)
            .ok_or(InvalidBatchReason::LengthMismatch)?;
        if header[MAGIC] != 2 {
            return Err(InvalidBatchReason::BadMagic);
        }
        let attributes = u16::from_be_bytes([header[ATTRIBUTES], header[ATTRIBUTES + 1]]);
        if attributes & CODEC_MASK > 4 {
            return Err(InvalidBatchReason::BadCompression);
        }
        let count = i32_at(header, RECORD_COUNT);
        let delta = i32_at(header, LAST_OFFSET_DELTA);
        let internal = count == 0 && is_internal_shape(header, attributes, delta);
        let (record_count, last_offset_delta) = if internal {
            (0, 0)
        } else {
            let record_count = u32::try_from(count)
                .ok()
                .filter(|c| *c > 0)
                .ok_or(InvalidBatchReason::BadRecordCount)?;
            let last_offset_delta = u32::try_from(delta)
                .ok()
                .filter(|d| d.checked_add(1) == Some(record_count))
                .ok_or(InvalidBatchReason::OffsetDeltaMismatch)?;
            (record_count, last_offset_delta)
        };
        Ok(Self {
            base_offset: u64::from_be_bytes(array_at(header, BASE_OFFSET)),
            total_len,
            crc: u32::from_be_bytes(array_at(header, CRC)),
            attributes,
            last_offset_delta,
            max_timestamp: i64::from_be_bytes(array_at(header, MAX_TIMESTAMP)),
            record_count,
            internal,
        })
    }

    /// The offset after the batch: where the next batch starts. An internal
    /// entry holds no offset, so for it this is its own base offset.
    pub(crate) fn next_offset(&self) -> u64 {
        self.base_offset + u64::from(self.record_count)
    }

    /// The offset of the batch's last record. Data batches only: an
    /// internal entry has no records (its stored `lastOffsetDelta` is -1,
    /// which at base offset 0 would underflow), so callers skip it first.
    pub(crate) fn last_offset(&self) -> u64 {
        debug_assert!(!self.internal, "an internal entry has no last offset");
        self.base_offset + u64::from(self.last_offset_delta)
    }
}

/// Whether a header with `recordCount` 0 has the one shape an internal
/// entry has: control bit, no codec, `lastOffsetDelta` -1 and the marker
/// producer id.
fn is_internal_shape(header: &[u8], attributes: u16, delta: i32) -> bool {
    attributes & CONTROL_BIT != 0
        && attributes & CODEC_MASK == 0
        && delta == -1
        && i64::from_be_bytes(array_at(header, PRODUCER_ID)) == INTERNAL_PRODUCER_ID
}

/// The leader epoch (Raft term) stamped into a stored batch.
pub(crate) fn leader_epoch(header: &[u8]) -> i32 {
    i32_at(header, LEADER_EPOCH)
}

/// Validates `batch`, sent by a client, as exactly one v2 RecordBatch of
/// at most `max_bytes` bytes, CRC included, that is not a control batch.
pub(crate) fn validate(batch: &[u8], max_bytes: u32) -> Result<BatchHeader, LogError> {
    if batch.len() > max_bytes as usize {
        return Err(LogError::BatchTooLarge {
            size: batch.len(),
            max: max_bytes,
        });
    }
    let header = BatchHeader::parse(batch).map_err(LogError::invalid)?;
    if header.total_len != batch.len() {
        return Err(LogError::invalid(InvalidBatchReason::LengthMismatch));
    }
    if header.attributes & CONTROL_BIT != 0 {
        // Kafka producers may not write control batches; refusing them also
        // keeps every internal entry the log's own.
        return Err(LogError::invalid(InvalidBatchReason::ControlBatch));
    }
    check_crc(batch, header.crc)?;
    check_uncompressed_records(batch)?;
    Ok(header)
}

/// For an uncompressed batch, checks that `recordCount` records, each
/// skipped by its length prefix alone (no field is decoded), fill the batch
/// exactly — so a batch cannot claim fewer offsets than it holds. A
/// compressed batch's records are not visible without decompressing, which
/// the append path never does; its count is trusted (DESIGN.md §3).
fn check_uncompressed_records(batch: &[u8]) -> Result<(), LogError> {
    const HEADER: usize = 61;
    let attributes = i16::from_be_bytes(array_at(batch, 21));
    if attributes & 0x07 != 0 {
        return Ok(());
    }
    let count = i32_at(batch, 57);
    let mut at = HEADER;
    for _ in 0..count {
        let (len, used) = read_varint(&batch[at.min(batch.len())..])
            .ok_or_else(|| LogError::invalid(InvalidBatchReason::RecordsMismatch))?;
        let len = usize::try_from(len)
            .map_err(|_| LogError::invalid(InvalidBatchReason::RecordsMismatch))?;
        at = at
            .checked_add(used + len)
            .filter(|end| *end <= batch.len())
            .ok_or_else(|| LogError::invalid(InvalidBatchReason::RecordsMismatch))?;
    }
    if at == batch.len() {
        Ok(())
    } else {
        Err(LogError::invalid(InvalidBatchReason::RecordsMismatch))
    }
}

/// A zigzag varint (as record lengths are encoded): value and bytes used.
fn read_varint(buf: &[u8]) -> Option<(i64, usize)> {
    let mut raw: u64 = 0;
    for (i, b) in buf.iter().take(10).enumerate() {
        raw |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let value = (raw >> 1) as i64 ^ -((raw & 1) as i64);
            return Some((value, i + 1));
        }
    }
    None
}

/// Below this size `crc32c` (the SSE4.2 `crc32` instruction, three
/// streams) is fastest; above it `crc-fast` (carry-less multiply folding,
/// AVX-512 where present) is about twice as fast — it cut the CRC share of
/// a 64 KiB append roughly in half (see BENCHMARKS.md).
const LARGE_CRC_INPUT: usize = 2048;

/// CRC-32C (Castagnoli), the RecordBatch v2 checksum.
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    if bytes.len() >= LARGE_CRC_INPUT {
        // CRC-32/ISCSI is CRC-32C; the 64-bit return holds a 32-bit value.
        crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, bytes) as u32
    } else {
        crc32c::crc32c(bytes)
    }
}

/// Checks the CRC-32C of a whole batch against the one in its header.
pub(crate) fn check_crc(batch: &[u8], stored: u32) -> Result<(), LogError> {
    let computed = checksum(&batch[CRC_START..]);
    if computed == stored {
        Ok(())
    } else {
        Err(LogError::CorruptBatch { stored, computed })
    }
}

/// The bytes that hold every field the log stamps (baseOffset and
/// partitionLeaderEpoch end at byte 16).
pub(crate) const STAMPED_PREFIX: usize = 16;

/// Writes `baseOffset` and `partitionLeaderEpoch`; the CRC stays valid
/// because it does not cover them.
pub(crate) fn stamp(batch: &mut [u8], base_offset: u64, leader_epoch: i32) {
    batch[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
    batch[LEADER_EPOCH..LEADER_EPOCH + 4].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// Builds an internal entry (see the module documentation) holding
/// `payload`, stamped with `base_offset` and `term`, dated `now_ms`. The
/// caller checks the size.
pub(crate) fn encode_internal(payload: &[u8], base_offset: u64, term: i32, now_ms: i64) -> Vec<u8> {
    let mut b = vec![0u8; HEADER_LEN + payload.len()];
    let batch_length = i32::try_from(b.len() - LOG_OVERHEAD).unwrap_or(i32::MAX);
    b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    b[MAGIC] = 2;
    b[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&CONTROL_BIT.to_be_bytes());
    b[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&(-1i32).to_be_bytes());
    b[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    b[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    b[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&INTERNAL_PRODUCER_ID.to_be_bytes());
    b[PRODUCER_EPOCH..PRODUCER_EPOCH + 2].copy_from_slice(&(-1i16).to_be_bytes());
    b[BASE_SEQUENCE..BASE_SEQUENCE + 4].copy_from_slice(&(-1i32).to_be_bytes());
    b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&0i32.to_be_bytes());
    b[HEADER_LEN..].copy_from_slice(payload);
    let crc = checksum(&b[CRC_START..]);
    b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    stamp(&mut b, base_offset, term);
    b
}

fn array_at<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}

fn i32_at(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(array_at(buf, at))
}

/// Builds valid batches for tests (records are opaque filler bytes).
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A batch of `record_count` records with `payload` filler bytes after
    /// the header, the given max timestamp, and a correct CRC.
    /// Writes length prefixes so `body` holds `count` records exactly (their
    /// contents stay filler bytes; the log only skips records by length).
    fn frame_records(body: &mut [u8], count: usize) {
        if count == 0 || body.len() < count {
            return;
        }
        let share = body.len() / count;
        let mut at = 0;
        for i in 0..count {
            let size = if i + 1 == count {
                body.len() - at
            } else {
                share
            };
            // A zigzag varint of n takes 1 byte below 64, 2 below 8192, 3 below 2^20.
            let prefix = if size <= 64 {
                1
            } else if size <= 8193 {
                2
            } else {
                3
            };
            let len = (size - prefix) as u64;
            let mut z = len << 1;
            for k in 0..prefix {
                let more = if k + 1 < prefix { 0x80 } else { 0 };
                body[at + k] = (z & 0x7f) as u8 | more;
                z >>= 7;
            }
            at += size;
        }
    }

    pub(crate) fn make_batch(record_count: u32, payload: usize, max_timestamp: i64) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN + payload];
        let batch_length = i32::try_from(b.len() - LOG_OVERHEAD).unwrap_or(i32::MAX);
        b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
        b[MAGIC] = 2;
        let delta = record_count as i32 - 1;
        b[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&delta.to_be_bytes());
        b[27..35].copy_from_slice(&max_timestamp.to_be_bytes());
        b[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&max_timestamp.to_be_bytes());
        b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
        b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&(record_count as i32).to_be_bytes());
        for (i, byte) in b[HEADER_LEN..].iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(31).wrapping_add(record_count as u8);
        }
        frame_records(&mut b[HEADER_LEN..], record_count as usize);
        if payload < record_count as usize {
            // Too small to frame one record each: mark it gzip-compressed,
            // whose records the log does not look into.
            b[21] = 0;
            b[22] = 1;
        }
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::testing::make_batch;
    use super::*;

    #[test]
    fn valid_batch_parses() {
        let b = make_batch(3, 100, 1234);
        let h = validate(&b, 1 << 20).unwrap();
        assert_eq!(h.total_len, 161);
        assert_eq!(h.record_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.max_timestamp, 1234);
    }

    #[test]
    fn stamping_keeps_crc_valid() {
        let mut b = make_batch(2, 10, 5);
        stamp(&mut b, 42, 7);
        let h = validate(&b, 1 << 20).unwrap();
        assert_eq!(h.base_offset, 42);
        assert_eq!(h.last_offset(), 43);
        assert_eq!(i32_at(&b, LEADER_EPOCH), 7);
    }

    #[test]
    fn rejects_each_kind_of_damage() {
        let good = make_batch(2, 10, 5);
        let reason = |b: &[u8]| match validate(b, 1 << 20) {
            Err(LogError::InvalidBatch { reason }) => Some(reason),
            _ => None,
        };
        assert_eq!(reason(&good[..60]), Some(InvalidBatchReason::TooShort));
        assert_eq!(
            reason(&good[..70]),
            Some(InvalidBatchReason::LengthMismatch)
        );
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(reason(&longer), Some(InvalidBatchReason::LengthMismatch));
        let mut neg = good.clone();
        neg[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(reason(&neg), Some(InvalidBatchReason::LengthMismatch));
        let mut magic = good.clone();
        magic[MAGIC] = 1;
        assert_eq!(reason(&magic), Some(InvalidBatchReason::BadMagic));
        let mut codec = good.clone();
        codec[ATTRIBUTES + 1] = 5;
        assert_eq!(reason(&codec), Some(InvalidBatchReason::BadCompression));
        let mut count = good.clone();
        count[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&0i32.to_be_bytes());
        assert_eq!(reason(&count), Some(InvalidBatchReason::BadRecordCount));
        let mut delta = good.clone();
        delta[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&5i32.to_be_bytes());
        assert_eq!(
            reason(&delta),
            Some(InvalidBatchReason::OffsetDeltaMismatch)
        );
    }

    #[test]
    fn a_consistent_lie_about_the_record_count_is_refused() {
        let mut b = make_batch(3, 90, 0);
        assert!(validate(&b, u32::MAX).is_ok());
        b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&2i32.to_be_bytes());
        b[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&1i32.to_be_bytes());
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
        let err = validate(&b, u32::MAX).err();
        assert!(matches!(
            err,
            Some(LogError::InvalidBatch {
                reason: InvalidBatchReason::RecordsMismatch
            })
        ));
    }

    #[test]
    fn crc_mismatch_is_corrupt_batch() {
        let mut b = make_batch(1, 10, 5);
        b[70] ^= 0x40;
        assert!(matches!(
            validate(&b, 1 << 20),
            Err(LogError::CorruptBatch { .. })
        ));
    }

    #[test]
    fn both_crc_implementations_agree() {
        let data: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
            .collect();
        for len in [0, 1, 7, 61, 1000, 2047, 2048, 2049, 4096, 65_536, 70_000] {
            assert_eq!(
                checksum(&data[..len]),
                crc32c::crc32c(&data[..len]),
                "len {len}"
            );
        }
        // The RFC 3720 check value.
        assert_eq!(checksum(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(checksum(&[0u8; 4096]), crc32c::crc32c(&[0u8; 4096]));
    }

    #[test]
    fn size_limit_is_checked() {
        let b = make_batch(1, 100, 5);
        assert!(matches!(
            validate(&b, 100),
            Err(LogError::BatchTooLarge {
                size: 161,
                max: 100
            })
        ));
    }
}
