//! Request decoding: header, then body, each step failing with a typed error
//! that says how the broker must answer (an error response, or closing the
//! connection when no well-formed answer is possible).

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

use crate::versions::ApiVersionTable;

/// The fixed prefix of every request header: api key, version, correlation id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPrefix {
    /// Raw API key.
    pub api_key: i16,
    /// Requested version.
    pub api_version: i16,
    /// Correlation id to echo.
    pub correlation_id: i32,
}

impl HeaderPrefix {
    /// Reads the first eight bytes of a request frame.
    pub fn peek(frame: &[u8]) -> Option<Self> {
        let b = frame.get(..8)?;
        Some(Self {
            api_key: i16::from_be_bytes([b[0], b[1]]),
            api_version: i16::from_be_bytes([b[2], b[3]]),
            correlation_id: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        })
    }
}

/// A decoded request.
#[derive(Debug)]
pub struct Request {
    /// The API.
    pub api_key: ApiKey,
    /// The decoded header.
    pub header: RequestHeader,
    /// The decoded body.
    pub body: RequestKind,
}

impl Request {
    /// The request's API version.
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }

    /// The client id, or "" when absent.
    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or("")
    }
}

/// Why a request could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// Fewer than eight bytes: not even a header prefix.
    #[error("request of {0} bytes is too short for a header")]
    TooShort(usize),
    /// The API key is not one we serve.
    #[error("unknown or unsupported API key {}", .0.api_key)]
    UnknownApi(HeaderPrefix),
    /// The version of a known API is not served.
    #[error("unsupported version {} of API {}", .0.api_version, .0.api_key)]
    UnsupportedVersion(HeaderPrefix),
    /// The header or body did not parse.
    #[error("malformed request (api {} v{}): {reason}", .prefix.api_key, .prefix.api_version)]
    Malformed {
        /// What we know of the request.
        prefix: HeaderPrefix,
        /// The codec's message.
        reason: String,
    },
}

impl RequestError {
    /// The header prefix, when one could be read.
    pub fn prefix(&self) -> Option<HeaderPrefix> {
        match self {
            RequestError::TooShort(_) => None,
            RequestError::UnknownApi(p) | RequestError::UnsupportedVersion(p) => Some(*p),
            RequestError::Malformed { prefix, .. } => Some(*prefix),
        }
    }
}

/// Decodes a whole request frame (without its size prefix), checking the
/// version against the broker's table before touching the body.
pub fn decode(mut frame: Bytes, table: &ApiVersionTable) -> Result<Request, RequestError> {
    let prefix = HeaderPrefix::peek(&frame).ok_or(RequestError::TooShort(frame.len()))?;
    let api_key = ApiKey::try_from(prefix.api_key).map_err(|_| RequestError::UnknownApi(prefix))?;
    if table.range(api_key).is_none() {
        return Err(RequestError::UnknownApi(prefix));
    }
    if !table.supports(api_key, prefix.api_version) {
        return Err(RequestError::UnsupportedVersion(prefix));
    }
    let header_version = api_key.request_header_version(prefix.api_version);
    let header =
        RequestHeader::decode(&mut frame, header_version).map_err(|e| RequestError::Malformed {
            prefix,
            reason: format!("header: {e}"),
        })?;
    let body = RequestKind::decode(api_key, &mut frame, prefix.api_version).map_err(|e| {
        RequestError::Malformed {
            prefix,
            reason: e.to_string(),
        }
    })?;
    Ok(Request {
        api_key,
        header,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::versions::ApiRange;
    use bytes::BytesMut;
    use kafka_protocol::messages::MetadataRequest;
    use kafka_protocol::protocol::Encodable;

    fn table() -> ApiVersionTable {
        ApiVersionTable::new([ApiRange {
            key: ApiKey::Metadata,
            min: 0,
            max: 12,
        }])
    }

    fn frame(version: i16) -> Bytes {
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::Metadata as i16)
            .with_request_api_version(version)
            .with_correlation_id(7);
        let mut buf = BytesMut::new();
        let hv = ApiKey::Metadata.request_header_version(version);
        header.encode(&mut buf, hv).expect("encode header");
        MetadataRequest::default()
            .encode(&mut buf, version)
            .expect("encode body");
        buf.freeze()
    }

    #[test]
    fn decodes_a_supported_request() {
        let req = decode(frame(9), &table()).expect("decodes");
        assert_eq!(req.api_key, ApiKey::Metadata);
        assert_eq!(req.header.correlation_id, 7);
        assert!(matches!(req.body, RequestKind::Metadata(_)));
    }

    #[test]
    fn rejects_unknown_keys_versions_and_garbage() {
        assert!(matches!(
            decode(frame(13), &table()),
            Err(RequestError::UnsupportedVersion(_))
        ));
        assert!(matches!(
            decode(
                Bytes::from_static(&[0x27, 0x0f, 0, 0, 0, 0, 0, 1]),
                &table()
            ),
            Err(RequestError::UnknownApi(_))
        ));
        assert!(matches!(
            decode(
                Bytes::from_static(&[0, 3, 0, 9, 0, 0, 0, 1, 0xff]),
                &table()
            ),
            Err(RequestError::Malformed { .. })
        ));
        assert!(matches!(
            decode(Bytes::from_static(&[0, 3]), &table()),
            Err(RequestError::TooShort(2))
        ));
    }
}
