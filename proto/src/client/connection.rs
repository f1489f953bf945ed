//! One connection to one broker: correlation ids, framing, version
//! negotiation (ApiVersions first, with the KIP-511 fallback).

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::error::ClientError;
use crate::errors::ErrorCode;

/// A byte stream to a broker: TCP, or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

/// Largest response accepted (a fetch of many partitions can be large).
const MAX_RESPONSE: usize = 512 * 1024 * 1024;

/// A connection to one broker.
#[derive(Debug)]
pub struct Connection {
    addr: String,
    stream: Box<dyn Stream>,
    client_id: String,
    next_correlation: i32,
    versions: HashMap<i16, (i16, i16)>,
    timeout: Duration,
}

impl Connection {
    /// Connects over plain TCP and negotiates versions.
    pub async fn connect(
        addr: &str,
        client_id: &str,
        timeout: Duration,
    ) -> Result<Connection, ClientError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("connecting to {addr}"),
                ms: timeout.as_millis() as u64,
            })?
            .map_err(|source| ClientError::Unreachable {
                addr: addr.to_owned(),
                source,
            })?;
        let _ = stream.set_nodelay(true);
        Connection::over(addr, Box::new(stream), client_id, timeout).await
    }

    /// Wraps an established stream (e.g. TLS) and negotiates versions.
    pub async fn over(
        addr: &str,
        stream: Box<dyn Stream>,
        client_id: &str,
        timeout: Duration,
    ) -> Result<Connection, ClientError> {
        let mut conn = Connection {
            addr: addr.to_owned(),
            stream,
            client_id: client_id.to_owned(),
            next_correlation: 0,
            versions: HashMap::new(),
            timeout,
        };
        conn.negotiate().await?;
        Ok(conn)
    }

    /// The address this connection goes to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The broker's version range for an API.
    pub fn broker_versions(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.versions.get(&(key as i16)).copied()
    }

    async fn negotiate(&mut self) -> Result<(), ClientError> {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("holocron"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut version = 3;
        loop {
            let resp = self.send_version(req.clone(), version).await?;
            if resp.error_code == ErrorCode::UnsupportedVersion.code() && version > 0 {
                // KIP-511: the broker answered in v0 with its ranges; retry with
                // the highest version both sides know.
                let theirs = resp
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == ApiKey::ApiVersions as i16)
                    .map_or(0, |k| k.max_version);
                version = theirs.min(version - 1).max(0);
                continue;
            }
            if let Some(code) = crate::errors::from_code(resp.error_code) {
                return Err(ClientError::kafka(code, "ApiVersions failed"));
            }
            self.versions = resp
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect();
            return Ok(());
        }
    }

    /// The version to use for `R`: the highest both sides speak.
    pub fn version_for<R: Request>(&self) -> Result<i16, ClientError> {
        let key = ApiKey::try_from(R::KEY)
            .map_err(|_| ClientError::Protocol(format!("unknown API key {}", R::KEY)))?;
        let (min, max) = self
            .versions
            .get(&R::KEY)
            .copied()
            .ok_or(ClientError::Unsupported(key))?;
        let ours = R::VERSIONS;
        let v = max.min(ours.max);
        if v < min.max(ours.min) {
            return Err(ClientError::Unsupported(key));
        }
        Ok(v)
    }

    /// Sends a request at the negotiated version and waits for its response.
    pub async fn send<R: Request>(&mut self, req: R) -> Result<R::Response, ClientError> {
        let version = self.version_for::<R>()?;
        self.send_version(req, version).await
    }

    /// Sends a request that gets no response (Produce with `acks=0`) at the
    /// negotiated version: written and flushed, nothing is read back.
    pub async fn send_oneway<R: Request>(&mut self, req: R) -> Result<(), ClientError> {
        let version = self.version_for::<R>()?;
        let buf = self.encode(req, version)?.0;
        let timeout = self.timeout;
        let addr = self.addr.clone();
        let write = async {
            self.stream.write_all(&buf).await?;
            self.stream.flush().await
        };
        tokio::time::timeout(timeout, write)
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("API {} request to {addr}", R::KEY),
                ms: timeout.as_millis() as u64,
            })?
            .map_err(|source| ClientError::io(&addr, source))
    }

    /// Every API the broker advertised, as `(api key, min, max)`, by key.
    pub fn all_broker_versions(&self) -> Vec<(i16, i16, i16)> {
        let mut v: Vec<_> = self
            .versions
            .iter()
            .map(|(k, (min, max))| (*k, *min, *max))
            .collect();
        v.sort_unstable();
        v
    }

    /// Sends a request at a given version and waits for its response.
    pub async fn send_version<R: Request>(
        &mut self,
        req: R,
        version: i16,
    ) -> Result<R::Response, ClientError> {
        let timeout = self.timeout;
        let key = R::KEY;
        tokio::time::timeout(timeout, self.round_trip(req, version))
            .await
            .map_err(|_| ClientError::Timeout {
                what: format!("API {key} request to {}", self.addr),
                ms: timeout.as_millis() as u64,
            })?
    }

    /// Frames a request: size prefix, header, body. Returns the bytes and the
    /// correlation id used.
    fn encode<R: Request>(&mut self, req: R, version: i16) -> Result<(BytesMut, i32), ClientError> {
        let key = ApiKey::try_from(R::KEY)
            .map_err(|_| ClientError::Protocol(format!("unknown API key {}", R::KEY)))?;
        let correlation_id = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut buf = BytesMut::with_capacity(256);
        buf.put_i32(0);
        let encode_err =
            |e: anyhow::Error| ClientError::Protocol(format!("encoding {key:?} v{version}: {e}"));
        header
            .encode(&mut buf, key.request_header_version(version))
            .map_err(encode_err)?;
        req.encode(&mut buf, version).map_err(encode_err)?;
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        Ok((buf, correlation_id))
    }

    async fn round_trip<R: Request>(
        &mut self,
        req: R,
        version: i16,
    ) -> Result<R::Response, ClientError> {
        let key = ApiKey::try_from(R::KEY)
            .map_err(|_| ClientError::Protocol(format!("unknown API key {}", R::KEY)))?;
        let (buf, correlation_id) = self.encode(req, version)?;
        let io = ClientError::io;
        self.stream
            .write_all(&buf)
            .await
            .map_err(|e| io(&self.addr, e))?;
        self.stream.flush().await.map_err(|e| io(&self.addr, e))?;
        let mut frame = self.read_frame().await?;
        // ApiVersions responses always use header v0 (KIP-511).
        let header_version = if key == ApiKey::ApiVersions {
            0
        } else {
            key.response_header_version(version)
        };
        let header = ResponseHeader::decode(&mut frame, header_version)
            .map_err(|e| ClientError::Protocol(format!("response header: {e}")))?;
        if header.correlation_id != correlation_id {
            return Err(ClientError::Protocol(format!(
                "correlation id {} does not match request {correlation_id}",
                header.correlation_id
            )));
        }
        if key == ApiKey::ApiVersions && frame.len() >= 2 {
            // An UNSUPPORTED_VERSION answer is framed as v0 whatever we asked.
            let code = i16::from_be_bytes([frame[0], frame[1]]);
            if code == ErrorCode::UnsupportedVersion.code() {
                return R::Response::decode(&mut frame, 0)
                    .map_err(|e| ClientError::Protocol(format!("decoding {key:?} v0: {e}")));
            }
        }
        R::Response::decode(&mut frame, version)
            .map_err(|e| ClientError::Protocol(format!("decoding {key:?} v{version}: {e}")))
    }

    async fn read_frame(&mut self) -> Result<Bytes, ClientError> {
        let addr = self.addr.clone();
        let io = |source| ClientError::io(&addr, source);
        let size = self.stream.read_i32().await.map_err(io)?;
        if looks_like_tls(size) {
            return Err(ClientError::Tls {
                addr: self.addr.clone(),
                failure: super::TlsFailure::Other,
                reason:
                    "the broker answered in TLS: this is a TLS listener (connect with --tls-ca)"
                        .into(),
            });
        }
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= MAX_RESPONSE)
            .ok_or_else(|| {
                ClientError::Protocol(format!("response size {size} is out of range"))
            })?;
        let mut buf = BytesMut::zeroed(size);
        self.stream.read_exact(&mut buf).await.map_err(io)?;
        let bytes = buf.freeze();
        if bytes.remaining() < 4 {
            return Err(ClientError::Protocol(
                "response shorter than its header".into(),
            ));
        }
        Ok(bytes)
    }
}

/// Whether a response size prefix is really the start of a TLS record (an
/// alert or handshake from a TLS listener answering a plaintext request).
fn looks_like_tls(size: i32) -> bool {
    let [kind, major, minor, _] = size.to_be_bytes();
    matches!(kind, 0x15 | 0x16) && major == 3 && minor <= 4
}

#[cfg(test)]
mod tests {
    #[test]
    fn tls_records_are_told_from_kafka_sizes() {
        assert!(super::looks_like_tls(i32::from_be_bytes([0x15, 3, 3, 0])));
        assert!(super::looks_like_tls(i32::from_be_bytes([0x16, 3, 1, 2])));
        assert!(!super::looks_like_tls(1024));
        assert!(!super::looks_like_tls(i32::from_be_bytes([0x15, 0, 0, 0])));
    }
}
