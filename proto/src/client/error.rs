//! Client errors, by class, so the CLI can map them to exit codes.

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
}

impl ClientError {
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
