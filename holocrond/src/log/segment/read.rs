//! The read side of a segment: finding the batch that holds an offset or a
//! timestamp, reading whole batches, and the lazily built ordinal map.
//! Everything here takes `&self` and uses positional reads, so any number
//! of readers can run while the log's owner holds a read lock.
//!
//! Reads by offset never see internal entries: they hold no offset, the
//! indexes never point at them, and `read_batches` cuts them out of what
//! it returns. Reads by ordinal (`read_entry`, `read_entries`) return
//! every entry as stored.

use std::os::unix::fs::FileExt;

use bytes::Bytes;

use super::super::batch::{BatchHeader, HEADER_LEN};
use super::super::error::{io_err, LogError};
use super::super::scan;
use super::Segment;

impl Segment {
    /// Position and header of the data batch holding `offset`
    /// (`base_offset <= offset < next_offset`); internal entries before it
    /// are skipped.
    pub(crate) fn find_batch(&self, offset: u64) -> Result<(u64, BatchHeader), LogError> {
        let mut start = 0;
        if let Some((indexed_last, pos)) = self.offset_index.lookup(offset) {
            match scan::read_header(&self.log.file, &self.log.path, u64::from(pos)) {
                Ok(h) if !h.internal && h.last_offset() == indexed_last => {
                    if indexed_last >= offset {
                        return Ok((u64::from(pos), h));
                    }
                    start = u64::from(pos) + h.total_len as u64;
                }
                _ => tracing::warn!(
                    file = %self.log.path.with_extension("index").display(),
                    "offset index entry does not match the segment; walking from its start"
                ),
            }
        }
        // `next_offset() > offset`: the data batch holding it. An internal
        // entry's next offset is its base, so one at `offset` is passed by.
        self.walk(start, |_, h| h.next_offset() > offset)?
            .ok_or_else(|| self.corrupt(start, format!("offset {offset} not found in segment")))
    }

    /// Reads whole batches from `pos` (where the data batch `first`
    /// starts): as many as fit in `max_bytes`, but always the first one
    /// whole. Internal entries among them are cut out (they count against
    /// `max_bytes`, having been read). Returns the bytes and the offset
    /// after the last batch returned.
    pub(crate) fn read_batches(
        &self,
        pos: u64,
        first: &BatchHeader,
        max_bytes: usize,
    ) -> Result<(Bytes, u64), LogError> {
        let available = self.size - pos;
        let want = (max_bytes as u64)
            .min(available)
            .max(first.total_len as u64) as usize;
        let mut buf = vec![0u8; want];
        self.log
            .file
            .read_exact_at(&mut buf, pos)
            .map_err(io_err("read segment", &self.log.path))?;
        // Data batches are moved down over internal entries in place, so a
        // read that met none (nearly all: there is one per election) moves
        // nothing. `end` is where the next kept batch goes.
        let (mut at, mut end) = (0, 0);
        let mut next = first.base_offset;
        while want - at >= HEADER_LEN {
            let h = BatchHeader::parse(&buf[at..])
                .map_err(|r| self.corrupt(pos + at as u64, r.to_string()))?;
            if h.total_len > want - at {
                break;
            }
            if !h.internal {
                if end != at {
                    buf.copy_within(at..at + h.total_len, end);
                }
                end += h.total_len;
                next = h.next_offset();
            }
            at += h.total_len;
        }
        buf.truncate(end);
        Ok((Bytes::from(buf), next))
    }

    /// The first batch at or after `min_offset`'s batch whose max timestamp
    /// is `>= ts`: `(max(batch base offset, min_offset), batch max
    /// timestamp)`.
    pub(crate) fn find_timestamp(
        &self,
        ts: i64,
        min_offset: u64,
    ) -> Result<Option<(u64, i64)>, LogError> {
        let mut start = 0;
        if let Some((_, below)) = self.time_index.last_below(ts) {
            if let Some((_, pos)) = self.offset_index.lookup(below) {
                start = u64::from(pos);
            }
        }
        if min_offset > self.base_offset && min_offset < self.next_offset {
            let (pos, _) = self.find_batch(min_offset)?;
            start = start.max(pos);
        }
        Ok(self
            .walk(start, |_, h| !h.internal && h.max_timestamp >= ts)?
            .map(|(_, h)| (h.base_offset.max(min_offset), h.max_timestamp)))
    }

    /// Walks headers from `pos` until `stop` says so; `None` at the end.
    pub(super) fn walk(
        &self,
        mut pos: u64,
        mut stop: impl FnMut(u64, &BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>, LogError> {
        while pos < self.size {
            let h = scan::read_header(&self.log.file, &self.log.path, pos)?;
            if stop(pos, &h) {
                return Ok(Some((pos, h)));
            }
            pos += h.total_len as u64;
        }
        Ok(None)
    }

    /// Batch start positions in ordinal order, loaded on first use.
    pub(crate) fn positions(&self) -> Result<&[u32], LogError> {
        if let Some(p) = self.positions.get() {
            return Ok(p);
        }
        let mut found = Vec::with_capacity(usize::try_from(self.batch_count).unwrap_or(0));
        let outcome = scan::scan(
            &self.log.file,
            &self.log.path,
            self.base_offset,
            self.size,
            false,
            |pos, _| found.push(pos as u32),
        )?;
        if let Some(d) = outcome.damage {
            return Err(self.corrupt(d.position, d.reason));
        }
        if found.len() as u64 != self.batch_count {
            return Err(self.corrupt(
                0,
                format!(
                    "{} batches found, {} expected",
                    found.len(),
                    self.batch_count
                ),
            ));
        }
        Ok(self.positions.get_or_init(move || found))
    }

    /// The stored bytes of the `i`-th batch of this segment.
    pub(crate) fn read_entry(&self, i: usize) -> Result<Bytes, LogError> {
        let mut entries = self.read_entries(i, 1, 0)?;
        entries
            .pop()
            .ok_or_else(|| self.corrupt(0, format!("entry {i} not found")))
    }

    /// Entries `i, i + 1, ...` of this segment (`i` < batch count): at most
    /// `max_entries` of them and `max_bytes` in total, but at least one.
    /// One positional read; the entries are slices of its buffer.
    pub(crate) fn read_entries(
        &self,
        i: usize,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<Vec<Bytes>, LogError> {
        let positions = self.positions()?;
        let end_of = |k: usize| positions.get(k + 1).map_or(self.size, |p| u64::from(*p));
        let start = u64::from(positions[i]);
        let mut n = 1;
        while n < max_entries.max(1)
            && i + n < positions.len()
            && end_of(i + n) - start <= max_bytes as u64
        {
            n += 1;
        }
        let mut buf = vec![0u8; (end_of(i + n - 1) - start) as usize];
        self.log
            .file
            .read_exact_at(&mut buf, start)
            .map_err(io_err("read segment", &self.log.path))?;
        let buf = Bytes::from(buf);
        Ok((i..i + n)
            .map(|k| {
                let from = (u64::from(positions[k]) - start) as usize;
                let to = (end_of(k) - start) as usize;
                buf.slice(from..to)
            })
            .collect())
    }

    /// Index within this segment of the batch starting at `pos`.
    pub(crate) fn batch_index_at(&self, pos: u64) -> Result<usize, LogError> {
        let positions = self.positions()?;
        positions
            .binary_search(&(pos as u32))
            .map_err(|_| self.corrupt(pos, "no batch starts here".into()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::super::batch::{self, testing::make_batch};
    use super::super::super::config::LogConfig;
    use super::*;

    /// A segment at base 100 with batches of 1..=3 records, 100 bytes
    /// each, max timestamps 10, 5, 20, 20, 30, ...
    fn segment(dir: &std::path::Path) -> (Segment, Vec<Vec<u8>>) {
        let config = LogConfig {
            index_interval_bytes: 150,
            ..LogConfig::default()
        };
        let mut seg = Segment::create(dir, 100, 7, &config, 0).unwrap();
        let mut batches = vec![];
        for (i, ts) in [10, 5, 20, 20, 30, 25, 40, 41].into_iter().enumerate() {
            let mut b = make_batch(1 + i as u32 % 3, 39, ts);
            batch::stamp(&mut b, seg.next_offset(), 0);
            let h = batch::validate(&b, 1 << 20).unwrap();
            seg.append(&[&b[..]], &h, &config, 0)
                .map_err(|(e, _)| e)
                .unwrap();
            batches.push(b);
        }
        (seg, batches)
    }

    #[test]
    fn find_batch_for_every_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (seg, batches) = segment(dir.path());
        assert!(seg.offset_index.len() >= 3);
        let mut offset = 100;
        for (i, b) in batches.iter().enumerate() {
            let records = 1 + i as u64 % 3;
            for o in offset..offset + records {
                let (pos, h) = seg.find_batch(o).unwrap();
                assert_eq!((pos, h.base_offset), (i as u64 * 100, offset));
            }
            assert_eq!(seg.read_entry(i).unwrap(), b[..]);
            offset += records;
        }
        assert_eq!(seg.next_offset(), offset);
        assert_eq!(seg.next_ordinal(), 7 + 8);
    }

    #[test]
    fn read_batches_keeps_whole_batches() {
        let dir = tempfile::tempdir().unwrap();
        let (seg, batches) = segment(dir.path());
        let (pos, h) = seg.find_batch(101).unwrap();
        let (bytes, next) = seg.read_batches(pos, &h, 350).unwrap();
        assert_eq!(bytes, [&batches[1][..], &batches[2], &batches[3]].concat());
        assert_eq!(next, 107);
        let (bytes, _) = seg.read_batches(pos, &h, 1).unwrap();
        assert_eq!(bytes, batches[1]);
    }

    #[test]
    fn find_timestamp_uses_batch_max() {
        let dir = tempfile::tempdir().unwrap();
        let (seg, _) = segment(dir.path());
        assert_eq!(seg.find_timestamp(6, 0).unwrap(), Some((100, 10)));
        assert_eq!(seg.find_timestamp(11, 0).unwrap(), Some((103, 20)));
        assert_eq!(seg.find_timestamp(26, 0).unwrap(), Some((107, 30)));
        assert_eq!(seg.find_timestamp(41, 0).unwrap(), Some((113, 41)));
        assert_eq!(seg.find_timestamp(42, 0).unwrap(), None);
        assert_eq!(seg.find_timestamp(6, 104).unwrap(), Some((104, 20)));
    }

    #[test]
    fn positions_load_lazily_and_match() {
        let dir = tempfile::tempdir().unwrap();
        let (seg, _) = segment(dir.path());
        let eager = seg.positions().unwrap().to_vec();
        let lazy = Segment {
            positions: std::sync::OnceLock::new(),
            ..seg
        };
        assert_eq!(lazy.positions().unwrap(), &eager[..]);
        assert_eq!(lazy.batch_index_at(300).unwrap(), 3);
        assert!(lazy.batch_index_at(301).is_err());
    }
}
