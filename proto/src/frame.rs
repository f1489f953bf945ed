//! Size-prefixed framing (Kafka: a big-endian i32 length, then the payload).
//!
//! Framing happens in two steps, as in mini-redis: [`check`] looks only at the
//! four-byte prefix and says whether a whole frame is buffered (or that the
//! prefix is unacceptable: negative, or over the maximum), and only then is the
//! frame split off and handed to the parser. A hostile prefix therefore costs
//! nothing and never makes us allocate.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Default maximum request size: Kafka's `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_MAX_FRAME: usize = 100 * 1024 * 1024;

/// Why a frame cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The size prefix is negative.
    #[error("negative frame size {0}")]
    NegativeSize(i32),
    /// The size prefix is larger than the maximum frame size.
    #[error("frame of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Announced size.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Outcome of [`check`].
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    /// A whole frame of this many payload bytes is buffered.
    Complete(usize),
    /// More bytes are needed.
    Incomplete,
}

/// Checks whether `buf` starts with a whole frame, without parsing it.
pub fn check(buf: &[u8], max: usize) -> Result<Check, FrameError> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(Check::Incomplete);
    };
    let size = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    if size < 0 {
        return Err(FrameError::NegativeSize(size));
    }
    let size = size as usize;
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    if buf.len() - 4 >= size {
        Ok(Check::Complete(size))
    } else {
        Ok(Check::Incomplete)
    }
}

/// A tokio codec for Kafka frames; decoded items are payloads without the prefix.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max: usize,
}

impl FrameCodec {
    /// A codec that refuses frames over `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME)
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        match check(src, self.max)? {
            Check::Complete(size) => {
                src.advance(4);
                Ok(Some(src.split_to(size)))
            }
            Check::Incomplete => {
                if src.len() >= 4 {
                    // Reserve for the rest of this frame only; the size is bounded by `max`.
                    let want = i32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize + 4;
                    src.reserve(want.saturating_sub(src.len()));
                }
                Ok(None)
            }
        }
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    /// Encodes an already size-prefixed frame (as built by [`crate::response`]).
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.put(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_needs_prefix_and_payload() {
        assert_eq!(check(&[0, 0], 100).ok(), Some(Check::Incomplete));
        assert_eq!(
            check(&[0, 0, 0, 3, 1, 2], 100).ok(),
            Some(Check::Incomplete)
        );
        assert_eq!(
            check(&[0, 0, 0, 3, 1, 2, 3], 100).ok(),
            Some(Check::Complete(3))
        );
        assert_eq!(check(&[0, 0, 0, 0], 100).ok(), Some(Check::Complete(0)));
    }

    #[test]
    fn check_rejects_negative_and_huge_prefixes() {
        assert!(matches!(
            check(&[0xff, 0xff, 0xff, 0xfe], 100),
            Err(FrameError::NegativeSize(-2))
        ));
        assert!(matches!(
            check(&[0x7f, 0xff, 0xff, 0xff], 100),
            Err(FrameError::TooLarge { max: 100, .. })
        ));
    }

    #[test]
    fn decoder_splits_frames() {
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::from(&[0u8, 0, 0, 2, 7, 8, 0, 0, 0, 1][..]);
        let first = codec.decode(&mut buf).ok().flatten();
        assert_eq!(first.as_deref(), Some(&[7u8, 8][..]));
        assert!(codec.decode(&mut buf).ok().flatten().is_none());
        buf.extend_from_slice(&[9]);
        let second = codec.decode(&mut buf).ok().flatten();
        assert_eq!(second.as_deref(), Some(&[9u8][..]));
    }
}
