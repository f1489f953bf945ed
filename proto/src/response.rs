//! Response encoding: size prefix, response header, body — one buffer.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;

use crate::versions::ApiVersionTable;

/// Encoding a response failed (a bug: our own structures did not fit the version).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode {api:?} v{version} response: {reason}")]
pub struct EncodeError {
    /// The API.
    pub api: ApiKey,
    /// The version.
    pub version: i16,
    /// The codec's message.
    pub reason: String,
}

/// Encodes a full response frame (with its size prefix).
pub fn encode(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Bytes, EncodeError> {
    let err = |e: anyhow::Error| EncodeError {
        api,
        version,
        reason: e.to_string(),
    };
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    let header_version = api.response_header_version(version);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, header_version)
        .map_err(err)?;
    body.encode(&mut buf, version).map_err(err)?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}

/// The KIP-511 answer to an ApiVersions request whose version we do not
/// know: a v0-framed response with UNSUPPORTED_VERSION and our ranges, so the
/// client can retry with a version we speak. Framed by hand because the body
/// of a newer request cannot be parsed.
pub fn api_versions_fallback(correlation_id: i32, table: &ApiVersionTable) -> Bytes {
    let ranges = table.ranges();
    let mut buf = BytesMut::with_capacity(14 + ranges.len() * 6);
    buf.put_i32(0);
    buf.put_i32(correlation_id);
    buf.put_i16(crate::errors::ErrorCode::UnsupportedVersion.code());
    buf.put_i32(ranges.len() as i32);
    for r in ranges {
        buf.put_i16(r.key as i16);
        buf.put_i16(r.min);
        buf.put_i16(r.max);
    }
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::ApiRange;

    #[test]
    fn fallback_is_v0_framed() {
        let table = ApiVersionTable::new([ApiRange {
            key: ApiKey::ApiVersions,
            min: 0,
            max: 4,
        }]);
        let frame = api_versions_fallback(42, &table);
        assert_eq!(&frame[..4], &(frame.len() as i32 - 4).to_be_bytes());
        assert_eq!(&frame[4..8], &42i32.to_be_bytes());
        assert_eq!(&frame[8..10], &35i16.to_be_bytes());
        assert_eq!(&frame[10..14], &1i32.to_be_bytes());
        assert_eq!(&frame[14..20], &[0, 18, 0, 0, 0, 4]);
    }
}
