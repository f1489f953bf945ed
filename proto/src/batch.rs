//! Zero-copy views over RecordBatch v2 headers.
//!
//! Layout (big-endian): baseOffset i64 @0, batchLength i32 @8,
//! partitionLeaderEpoch i32 @12, magic i8 @16, crc u32 @17 (CRC-32C over
//! bytes 21..end), attributes i16 @21, lastOffsetDelta i32 @23,
//! baseTimestamp i64 @27, maxTimestamp i64 @35, producerId i64 @43,
//! producerEpoch i16 @51, baseSequence i32 @53, recordCount i32 @57,
//! records @61. Nothing here decodes records.

/// Size of the fixed batch header.
pub const HEADER_LEN: usize = 61;
/// Bytes before and including the batchLength field.
pub const LOG_OVERHEAD: usize = 12;

/// A borrowed view of one batch header (the slice holds at least the header).
#[derive(Debug, Clone, Copy)]
pub struct BatchView<'a> {
    bytes: &'a [u8],
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl<'a> BatchView<'a> {
    /// A view of the batch at the start of `bytes`, or None if the header is not all there.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        (bytes.len() >= HEADER_LEN).then_some(Self { bytes })
    }
    /// First offset of the batch.
    pub fn base_offset(&self) -> i64 {
        i64_at(self.bytes, 0)
    }
    /// The batchLength field.
    pub fn batch_length(&self) -> i32 {
        i32_at(self.bytes, 8)
    }
    /// Whole size of the batch on the wire (batchLength + 12), if non-negative.
    pub fn total_len(&self) -> Option<usize> {
        usize::try_from(self.batch_length())
            .ok()
            .map(|l| l + LOG_OVERHEAD)
    }
    /// The leader epoch stamped by the broker.
    pub fn partition_leader_epoch(&self) -> i32 {
        i32_at(self.bytes, 12)
    }
    /// Magic byte (2 for v2).
    pub fn magic(&self) -> i8 {
        self.bytes[16] as i8
    }
    /// Stored CRC-32C.
    pub fn crc(&self) -> u32 {
        i32_at(self.bytes, 17) as u32
    }
    /// Attributes bits.
    pub fn attributes(&self) -> i16 {
        i16_at(self.bytes, 21)
    }
    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> u8 {
        (self.attributes() & 0x07) as u8
    }
    /// Whether this is a transactional batch.
    pub fn is_transactional(&self) -> bool {
        self.attributes() & 0x10 != 0
    }
    /// Whether this is a control batch.
    pub fn is_control(&self) -> bool {
        self.attributes() & 0x20 != 0
    }
    /// Offset delta of the last record.
    pub fn last_offset_delta(&self) -> i32 {
        i32_at(self.bytes, 23)
    }
    /// Last offset of the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset() + i64::from(self.last_offset_delta())
    }
    /// Timestamp of the first record.
    pub fn base_timestamp(&self) -> i64 {
        i64_at(self.bytes, 27)
    }
    /// Largest record timestamp.
    pub fn max_timestamp(&self) -> i64 {
        i64_at(self.bytes, 35)
    }
    /// Producer id, -1 when not idempotent.
    pub fn producer_id(&self) -> i64 {
        i64_at(self.bytes, 43)
    }
    /// Producer epoch.
    pub fn producer_epoch(&self) -> i16 {
        i16_at(self.bytes, 51)
    }
    /// Sequence number of the first record.
    pub fn base_sequence(&self) -> i32 {
        i32_at(self.bytes, 53)
    }
    /// Number of records.
    pub fn record_count(&self) -> i32 {
        i32_at(self.bytes, 57)
    }
    /// Whether the stored CRC matches the bytes (needs the whole batch in the slice).
    pub fn crc_ok(&self) -> bool {
        match self.total_len() {
            Some(len) if len >= HEADER_LEN && len <= self.bytes.len() => {
                crc32c::crc32c(&self.bytes[21..len]) == self.crc()
            }
            _ => false,
        }
    }
}

/// Iterates over whole batches laid end to end; stops at the first partial one.
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    rest: &'a [u8],
}

impl<'a> Batches<'a> {
    /// Iterates over the batches in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = BatchView<'a>;

    fn next(&mut self) -> Option<BatchView<'a>> {
        let view = BatchView::new(self.rest)?;
        let len = view.total_len()?;
        if len < HEADER_LEN || len > self.rest.len() {
            return None;
        }
        let (this, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(BatchView { bytes: this })
    }
}

/// The first record of a whole batch whose timestamp is at or after `ts`,
/// as (offset, timestamp). This decodes (and decompresses) the records, so
/// it is for lookups such as ListOffsets by timestamp, never the produce or
/// fetch path. None if no record qualifies or the batch does not decode.
pub fn first_record_at_or_after(batch: &bytes::Bytes, ts: i64) -> Option<(i64, i64)> {
    let mut buf = batch.clone();
    let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut buf).ok()?;
    set.records
        .into_iter()
        .find(|r| r.timestamp >= ts)
        .map(|r| (r.offset, r.timestamp))
}

/// Encodes key/value pairs as one uncompressed RecordBatch v2 with no
/// producer id, every record stamped `timestamp` — what the broker writes
/// for its own internal records (group offsets, metadata commands).
pub fn encode_plain_batch(
    records: &[(Option<bytes::Bytes>, Option<bytes::Bytes>)],
    timestamp: i64,
) -> anyhow::Result<bytes::Bytes> {
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch while offset - sequence
            // stays the same; the first record's -1 is the batch's "no sequence".
            sequence: i as i32 - 1,
            timestamp,
            key: key.clone(),
            value: value.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )?;
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid batch header with no records body.
    fn batch(base: i64, count: i32) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&base.to_be_bytes());
        b[8..12].copy_from_slice(&((HEADER_LEN - LOG_OVERHEAD) as i32).to_be_bytes());
        b[16] = 2;
        b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
        b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
        b[57..61].copy_from_slice(&count.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn reads_header_fields() {
        let b = batch(10, 3);
        let v = BatchView::new(&b).expect("header");
        assert_eq!(v.base_offset(), 10);
        assert_eq!(v.last_offset(), 12);
        assert_eq!(v.magic(), 2);
        assert_eq!(v.record_count(), 3);
        assert_eq!(v.producer_id(), -1);
        assert!(v.crc_ok());
    }

    #[test]
    fn detects_crc_damage_and_iterates() {
        let mut two = batch(0, 1);
        two.extend(batch(1, 2));
        assert_eq!(
            Batches::new(&two)
                .map(|b| b.base_offset())
                .collect::<Vec<_>>(),
            vec![0, 1]
        );
        two[30] ^= 1;
        assert!(!BatchView::new(&two).is_some_and(|v| v.crc_ok()));
        assert_eq!(Batches::new(&two[..70]).count(), 1);
    }
}
