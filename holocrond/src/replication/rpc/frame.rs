//! The wire format of node-to-node frames.
//!
//! ```text
//! u32  length of everything after this field (big-endian)
//! u8   frame type: 0 request, 1 response, 2 error response, 3 hello
//! u64  correlation id (big-endian)
//! u8   message kind (opaque to the transport; echoed in the answer)
//! u8   group id length G (0..=255)
//! G    group id (opaque bytes; echoed in the answer)
//! ..   payload: the rest of the frame (an error message for type 2)
//! ```
//!
//! Reading happens in two steps, as on the Kafka side: [`check`] looks only
//! at the four-byte prefix and says whether a whole frame is buffered, or
//! that the prefix is over the maximum. Only then is the frame split off
//! (zero-copy: group and payload are slices of the read buffer) and parsed.
//! A hostile prefix therefore costs nothing and never makes us allocate
//! more than the maximum frame size.
//!
//! Writing never copies the payload: [`write_frame`] writes the small header
//! and then the payload as it is.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Decoder;

/// Bytes of the length prefix.
pub const PREFIX_LEN: usize = 4;
/// Bytes of the fixed header after the prefix: type, id, kind, group length.
pub const HEADER_LEN: usize = 1 + 8 + 1 + 1;
/// The longest group id.
pub const MAX_GROUP_LEN: usize = u8::MAX as usize;
/// Default maximum frame size (everything after the prefix): 64 MiB.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024 * 1024;
/// The longest error message an error response carries.
pub const MAX_ERROR_LEN: usize = 4096;
/// The protocol version a hello frame carries in its `kind` byte.
pub const PROTOCOL_VERSION: u8 = 1;

/// What a frame is (the brief's "flags" byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameType {
    /// A call; the other side answers with the same correlation id.
    Request = 0,
    /// A successful answer; the payload is the handler's result.
    Response = 1,
    /// A failed answer; the payload is a UTF-8 error message.
    Error = 2,
    /// The first frame of a connection, sent by the accepting node once it
    /// has accepted the dialler's certificate; `kind` is the protocol version.
    Hello = 3,
}

impl FrameType {
    fn from_byte(b: u8) -> Option<FrameType> {
        match b {
            0 => Some(FrameType::Request),
            1 => Some(FrameType::Response),
            2 => Some(FrameType::Error),
            3 => Some(FrameType::Hello),
            _ => None,
        }
    }
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Request, response, error response or hello.
    pub frame_type: FrameType,
    /// Correlation id: chosen by the caller, echoed by the answer.
    pub id: u64,
    /// Message kind, opaque to the transport.
    pub kind: u8,
    /// Group id, opaque to the transport (at most 255 bytes).
    pub group: Bytes,
    /// Payload, opaque to the transport.
    pub payload: Bytes,
}

/// Why a frame cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is over the maximum frame size.
    #[error("frame of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Announced size.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The frame is shorter than its fixed header.
    #[error("frame of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    /// The group id runs past the end of the frame.
    #[error("group id of {group} bytes does not fit in a frame of {size} bytes")]
    GroupOverrun {
        /// Announced group id length.
        group: usize,
        /// Frame size.
        size: usize,
    },
    /// The type byte is not a known frame type.
    #[error("unknown frame type {0}")]
    UnknownType(u8),
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Frame {
    /// A request.
    pub fn request(id: u64, group: Bytes, kind: u8, payload: Bytes) -> Frame {
        Frame {
            frame_type: FrameType::Request,
            id,
            kind,
            group,
            payload,
        }
    }

    /// The successful answer to `request`.
    pub fn response(id: u64, group: Bytes, kind: u8, payload: Bytes) -> Frame {
        Frame {
            frame_type: FrameType::Response,
            ..Frame::request(id, group, kind, payload)
        }
    }

    /// A failed answer carrying `message` (cut to [`MAX_ERROR_LEN`] bytes,
    /// so an error can never make an oversized frame).
    pub fn error(id: u64, group: Bytes, kind: u8, message: &str) -> Frame {
        let mut end = message.len().min(MAX_ERROR_LEN);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let payload = Bytes::copy_from_slice(&message.as_bytes()[..end]);
        Frame {
            frame_type: FrameType::Error,
            ..Frame::request(id, group, kind, payload)
        }
    }

    /// The hello frame the accepting side sends first.
    pub fn hello() -> Frame {
        Frame {
            frame_type: FrameType::Hello,
            ..Frame::request(0, Bytes::new(), PROTOCOL_VERSION, Bytes::new())
        }
    }

    /// Size after the length prefix.
    pub fn size(&self) -> usize {
        HEADER_LEN + self.group.len() + self.payload.len()
    }

    /// The prefix, fixed header and group id. The caller checks that the
    /// group fits in a byte and the size in the maximum before building a frame.
    fn header(&self) -> BytesMut {
        let mut h = BytesMut::with_capacity(PREFIX_LEN + HEADER_LEN + self.group.len());
        h.put_u32(u32::try_from(self.size()).unwrap_or(u32::MAX));
        h.put_u8(self.frame_type as u8);
        h.put_u64(self.id);
        h.put_u8(self.kind);
        h.put_u8(u8::try_from(self.group.len()).unwrap_or(u8::MAX));
        h.put_slice(&self.group);
        h
    }
}

/// Checks whether `buf` starts with a whole frame, without parsing it.
/// `Ok(Some(size))`: a frame of `size` bytes after the prefix is buffered.
pub fn check(buf: &[u8], max: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.get(..PREFIX_LEN) else {
        return Ok(None);
    };
    let size = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    Ok((buf.len() - PREFIX_LEN >= size).then_some(size))
}

/// Parses one frame (without its prefix). Group and payload share `frame`'s
/// memory.
pub fn parse(mut frame: Bytes) -> Result<Frame, FrameError> {
    let size = frame.len();
    if size < HEADER_LEN {
        return Err(FrameError::TooShort(size));
    }
    let type_byte = frame.get_u8();
    let frame_type = FrameType::from_byte(type_byte).ok_or(FrameError::UnknownType(type_byte))?;
    let id = frame.get_u64();
    let kind = frame.get_u8();
    let group_len = usize::from(frame.get_u8());
    if group_len > frame.len() {
        return Err(FrameError::GroupOverrun {
            group: group_len,
            size,
        });
    }
    let group = frame.split_to(group_len);
    Ok(Frame {
        frame_type,
        id,
        kind,
        group,
        payload: frame,
    })
}

/// Writes a frame: header first, then the payload without copying it.
pub async fn write_frame<W: AsyncWrite + Unpin>(out: &mut W, frame: &Frame) -> std::io::Result<()> {
    out.write_all(&frame.header()).await?;
    out.write_all(&frame.payload).await
}

/// A tokio codec that reads frames of at most `max` bytes.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames over `max` bytes.
    pub fn new(max: usize) -> FrameDecoder {
        FrameDecoder { max }
    }
}

impl Decoder for FrameDecoder {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match check(src, self.max)? {
            Some(size) => {
                src.advance(PREFIX_LEN);
                parse(src.split_to(size).freeze()).map(Some)
            }
            None => {
                if let Some(prefix) = src.get(..PREFIX_LEN) {
                    // Room for the rest of this frame only; `check` bounded it.
                    let size = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
                    let want = size as usize + PREFIX_LEN;
                    src.reserve(want.saturating_sub(src.len()));
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    async fn encode(frame: &Frame) -> BytesMut {
        let mut out = Vec::new();
        write_frame(&mut out, frame).await.expect("write to a Vec");
        BytesMut::from(&out[..])
    }

    #[tokio::test]
    async fn frames_round_trip_through_the_decoder() {
        let frames = [
            Frame::request(
                7,
                Bytes::from_static(b"orders-3"),
                2,
                Bytes::from_static(b"hi"),
            ),
            Frame::response(7, Bytes::new(), 0, Bytes::new()),
            Frame::error(u64::MAX, Bytes::from(vec![9; 255]), 255, "no such group"),
            Frame::hello(),
        ];
        let mut buf = BytesMut::new();
        for f in &frames {
            buf.extend_from_slice(&encode(f).await);
        }
        let mut decoder = FrameDecoder::new(1024);
        for f in &frames {
            assert_eq!(decoder.decode(&mut buf).expect("valid").as_ref(), Some(f));
        }
        assert!(decoder.decode(&mut buf).expect("empty").is_none());
    }

    #[tokio::test]
    async fn a_partial_frame_waits_for_more_bytes() {
        let whole = encode(&Frame::request(
            1,
            Bytes::new(),
            1,
            Bytes::from(vec![5; 100]),
        ))
        .await;
        let mut decoder = FrameDecoder::new(1024);
        let mut buf = BytesMut::from(&whole[..50]);
        assert!(decoder.decode(&mut buf).expect("partial").is_none());
        assert!(
            buf.capacity() >= whole.len(),
            "reserved for the rest of the frame"
        );
        buf.extend_from_slice(&whole[50..]);
        assert_eq!(
            decoder.decode(&mut buf).expect("whole").map(|f| f.id),
            Some(1)
        );
    }

    #[test]
    fn an_oversized_prefix_is_refused_before_any_allocation() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        let before = buf.capacity();
        let err = FrameDecoder::new(1024)
            .decode(&mut buf)
            .expect_err("too large");
        assert!(matches!(
            err,
            FrameError::TooLarge {
                size: 0xffff_ffff,
                max: 1024
            }
        ));
        assert_eq!(buf.capacity(), before);
    }

    #[test]
    fn error_messages_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_LEN);
        let frame = Frame::error(1, Bytes::new(), 0, &long);
        assert_eq!(frame.payload.len(), MAX_ERROR_LEN);
        assert!(std::str::from_utf8(&frame.payload).is_ok());
    }

    #[test]
    fn malformed_frames_are_named() {
        let short = Bytes::from_static(&[0, 0, 0]);
        assert!(matches!(parse(short), Err(FrameError::TooShort(3))));
        let mut unknown = vec![9u8];
        unknown.extend_from_slice(&[0; 10]);
        assert!(matches!(
            parse(Bytes::from(unknown)),
            Err(FrameError::UnknownType(9))
        ));
        let mut overrun = vec![0u8];
        overrun.extend_from_slice(&[0; 8]);
        overrun.extend_from_slice(&[1, 20, b'a']);
        assert!(matches!(
            parse(Bytes::from(overrun)),
            Err(FrameError::GroupOverrun {
                group: 20,
                size: 12
            })
        ));
    }

    proptest! {
        #[test]
        fn any_frame_round_trips(
            ty in 0u8..4,
            id: u64,
            kind: u8,
            group in proptest::collection::vec(any::<u8>(), 0..=255),
            payload in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let frame = Frame {
                frame_type: FrameType::from_byte(ty).expect("0..4"),
                id,
                kind,
                group: Bytes::from(group),
                payload: Bytes::from(payload),
            };
            let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
            let mut buf = rt.block_on(encode(&frame));
            prop_assert_eq!(buf.len(), PREFIX_LEN + frame.size());
            prop_assert_eq!(FrameDecoder::new(1024).decode(&mut buf).expect("valid"), Some(frame));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut buf = BytesMut::from(&bytes[..]);
            let mut decoder = FrameDecoder::new(32);
            while let Ok(Some(_)) = decoder.decode(&mut buf) {}
        }
    }
}
