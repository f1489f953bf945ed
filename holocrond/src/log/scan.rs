//! Walking the batches of a segment file from its start.
//!
//! Used by recovery (verifying every batch's header, offset continuity and
//! CRC), by index rebuilds and by the lazy load of a segment's ordinal map
//! (headers only). Reads go through a window buffer so a segment of small
//! batches costs a few large reads, not one syscall per batch.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::batch::{self, BatchHeader, HEADER_LEN};
use super::error::{io_err, InvalidBatchReason, LogError};

/// Read size when every byte is needed (CRC checks).
const FULL_WINDOW: usize = 1 << 20;
/// Read size when only headers are needed.
const HEADER_WINDOW: usize = 8 << 10;

/// Where and why a scan stopped before the end of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    /// Byte position of the first bad batch.
    pub position: u64,
    pub reason: String,
}

/// The result of a scan: all bytes before `valid_len` are whole, verified
/// batches.
#[derive(Debug)]
pub(crate) struct ScanOutcome {
    pub valid_len: u64,
    pub damage: Option<Damage>,
}

/// Walks the batches in `file` up to `len` bytes, checking that each header
/// is well formed (a record count of 0 only in an internal entry's exact
/// shape), that base offsets run on from `base_offset` without gaps (an
/// internal entry's base is the offset of the batch after it),
/// that each batch lies within `len`, and, if `verify_crc`, each CRC.
/// `visit(position, header)` is called for every good batch in order.
pub(crate) fn scan(
    file: &File,
    path: &Path,
    base_offset: u64,
    len: u64,
    verify_crc: bool,
    mut visit: impl FnMut(u64, &BatchHeader),
) -> Result<ScanOutcome, LogError> {
    let mut window = Window::new(file, path, len, verify_crc);
    let mut pos = 0u64;
    let mut expected = base_offset;
    let damage = |position: u64, reason: String| ScanOutcome {
        valid_len: position,
        damage: Some(Damage { position, reason }),
    };
    while pos < len {
        if len - pos < HEADER_LEN as u64 {
            return Ok(damage(pos, "partial batch header at end of file".into()));
        }
        let header = match BatchHeader::parse(window.get(pos, HEADER_LEN)?) {
            Ok(h) => h,
            Err(reason) => return Ok(damage(pos, reason.to_string())),
        };
        if header.base_offset != expected {
            return Ok(damage(
                pos,
                format!(
                    "{}: expected {expected}, found {}",
                    InvalidBatchReason::OffsetDiscontinuity,
                    header.base_offset
                ),
            ));
        }
        let total = header.total_len as u64;
        if total > len - pos {
            return Ok(damage(
                pos,
                format!("batch of {total} bytes runs past the end of the file"),
            ));
        }
        if verify_crc {
            if let Err(e) = batch::check_crc(window.get(pos, header.total_len)?, header.crc) {
                return Ok(damage(pos, e.to_string()));
            }
        }
        visit(pos, &header);
        pos += total;
        expected = header.next_offset();
    }
    Ok(ScanOutcome {
        valid_len: pos,
        damage: None,
    })
}

/// Reads one header at `position` (for walks that start mid-segment).
pub(crate) fn read_header(
    file: &File,
    path: &Path,
    position: u64,
) -> Result<BatchHeader, LogError> {
    let mut buf = [0u8; HEADER_LEN];
    file.read_exact_at(&mut buf, position)
        .map_err(io_err("read batch header", path))?;
    BatchHeader::parse(&buf).map_err(|reason| LogError::CorruptSegment {
        file: path.to_path_buf(),
        position,
        reason: reason.to_string(),
    })
}

/// A buffered view of `[start, start + buf.len())` of the file.
struct Window<'a> {
    file: &'a File,
    path: &'a Path,
    len: u64,
    read_size: usize,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> Window<'a> {
    fn new(file: &'a File, path: &'a Path, len: u64, full: bool) -> Self {
        Self {
            file,
            path,
            len,
            read_size: if full { FULL_WINDOW } else { HEADER_WINDOW },
            start: 0,
            buf: Vec::new(),
        }
    }

    /// `n` bytes at `pos`; the caller guarantees `pos + n <= len`.
    fn get(&mut self, pos: u64, n: usize) -> Result<&[u8], LogError> {
        let end = pos + n as u64;
        if pos < self.start || end > self.start + self.buf.len() as u64 {
            let want = (self.len - pos).min(n.max(self.read_size) as u64) as usize;
            self.buf.resize(want, 0);
            self.file
                .read_exact_at(&mut self.buf, pos)
                .map_err(io_err("read segment", self.path))?;
            self.start = pos;
        }
        let at = (pos - self.start) as usize;
        Ok(&self.buf[at..at + n])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::log::batch::testing::make_batch;
    use std::io::Write;

    fn write_log(path: &Path, batches: &[Vec<u8>]) {
        let mut f = File::create(path).unwrap();
        for b in batches {
            f.write_all(b).unwrap();
        }
    }

    fn stamped(base: u64, count: u32, payload: usize) -> Vec<u8> {
        let mut b = make_batch(count, payload, base as i64);
        batch::stamp(&mut b, base, 0);
        b
    }

    #[test]
    fn scans_good_file_and_stops_at_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        let batches = vec![
            stamped(10, 2, 100),
            stamped(12, 1, 3000),
            stamped(13, 5, 10),
        ];
        write_log(&path, &batches);
        let file = File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        let mut seen = vec![];
        let out = scan(&file, &path, 10, len, true, |p, h| {
            seen.push((p, h.base_offset))
        })
        .unwrap();
        assert_eq!(out.valid_len, len);
        assert!(out.damage.is_none());
        assert_eq!(seen, vec![(0, 10), (161, 12), (3222, 13)]);

        // Wrong expected base offset.
        let out = scan(&file, &path, 11, len, false, |_, _| {}).unwrap();
        assert_eq!(out.valid_len, 0);

        // Flip a byte inside the second batch's records: CRC catches it.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[161 + 70] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let out = scan(&file, &path, 10, len, true, |_, _| {}).unwrap();
        assert_eq!(out.valid_len, 161);
        assert_eq!(out.damage.unwrap().position, 161);
        // Headers only: the flip is not seen.
        let out = scan(&file, &path, 10, len, false, |_, _| {}).unwrap();
        assert_eq!(out.valid_len, len);

        // A torn tail.
        let out = scan(&file, &path, 10, len - 5, false, |_, _| {}).unwrap();
        assert_eq!(out.valid_len, 3222);
    }
}
