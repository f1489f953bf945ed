//! Client errors, by class, so the CLI can map them to exit codes.

use tokio_rustls::rustls;

use crate::errors::ErrorCode;

/// A failed client operation.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The broker could not be reached, or the connection broke.
    #[error("cannot reach {addr}: {source}")]
    Unreachable {
        /// Address tried.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("{what} timed out after {ms} ms")]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        ms: u64,
    },
    /// The broker answered something that is not valid Kafka.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The broker does not serve a version of this API that we speak.
    #[error("the broker does not support {0:?} in a version this client speaks")]
    Unsupported(kafka_protocol::messages::ApiKey),
    /// The broker answered with a Kafka error.
    #[error("{code:?}: {message}")]
    Kafka {
        /// Error code.
        code: ErrorCode,
        /// Context.
        message: String,
    },
    /// No broker address was given, or none answered.
    #[error("no broker could be reached (tried: {0})")]
    NoBrokers(String),
    /// TLS settings that cannot be used (a file, a key, a server name).
    #[error("TLS settings: {0}")]
    TlsSetup(String),
    /// The TLS handshake failed, or the broker ended TLS with an alert.
    #[error("TLS with {addr} failed: {reason}")]
    Tls {
        /// Address tried.
        addr: String,
        /// Which side refused what.
        failure: TlsFailure,
        /// What happened, for a human.
        reason: String,
    },
}

/// Which side of a TLS connection refused what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// We refused the broker's certificate (expired, not yet valid, another
    /// CA, another name).
    BrokerCertificate,
    /// The broker refused our client certificate, or wanted one.
    ClientCertificate,
    /// Anything else (no common protocol version, a peer that is not TLS).
    Other,
}

impl ClientError {
    /// An I/O error talking to `addr`: [`ClientError::Tls`] when TLS failed
    /// underneath, else [`ClientError::Unreachable`].
    pub fn io(addr: &str, source: std::io::Error) -> Self {
        match super::tls::tls_error(&source) {
            Some(e) => {
                let (failure, reason) = describe_tls(e);
                ClientError::Tls {
                    addr: addr.to_owned(),
                    failure,
                    reason,
                }
            }
            None => ClientError::Unreachable {
                addr: addr.to_owned(),
                source,
            },
        }
    }

    /// A Kafka error with context.
    pub fn kafka(code: ErrorCode, message: impl Into<String>) -> Self {
        ClientError::Kafka {
            code,
            message: message.into(),
        }
    }

    /// Whether retrying against fresh metadata may help.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } | ClientError::Timeout { .. } => true,
            ClientError::Kafka { code, .. } => code.is_retriable(),
            _ => false,
        }
    }
}

fn describe_tls(e: &rustls::Error) -> (TlsFailure, String) {
    use rustls::{AlertDescription as A, CertificateError as C};
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let why = match c {
                C::Expired | C::ExpiredContext { .. } => "it expired".to_owned(),
                C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".to_owned(),
                C::UnknownIssuer | C::BadSignature => {
                    "it was not issued by the trusted CA (check --tls-ca)".to_owned()
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "it is not valid for the name dialled (check the address or --tls-server-name)"
                        .to_owned()
                }
                other => format!("{other:?}"),
            };
            (
                TlsFailure::BrokerCertificate,
                format!("the broker's certificate was refused: {why}"),
            )
        }
        rustls::Error::AlertReceived(A::CertificateRequired) => (
            TlsFailure::ClientCertificate,
            "the broker requires a client certificate (--tls-cert and --tls-key)".to_owned(),
        ),
        rustls::Error::AlertReceived(
            a @ (A::BadCertificate
            | A::UnknownCA
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::CertificateUnknown
            | A::UnsupportedCertificate
            | A::AccessDenied),
        ) => (
            TlsFailure::ClientCertificate,
            format!("the broker refused the client certificate (TLS alert {a:?})"),
        ),
        rustls::Error::General(reason) => (TlsFailure::Other, reason.clone()),
        other => (TlsFailure::Other, other.to_string()),
    }
}
