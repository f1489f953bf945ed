//! Exit codes and the error type every command returns.
//!
//! Each failure belongs to exactly one [`ErrorClass`], and each class has one
//! documented exit code (README, docs/json.md, `holocronctl --help`). A failed
//! operation never exits 0; a broken stdout pipe is success (the reader has
//! what it wanted).

use holocron_proto::client::{ClientError, TlsFailure};
use holocron_proto::errors::ErrorCode;
use serde::{Deserialize, Serialize};

/// A class of failure, with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 1: the operation failed for another reason (the broker refused it as
    /// invalid, a protocol error, a local I/O error).
    Failure,
    /// 2: the command line is wrong (unknown flag, bad value).
    Usage,
    /// 3: a topic, partition, group, broker or profile does not exist.
    NotFound,
    /// 4: a topic (or profile) already exists.
    AlreadyExists,
    /// 5: no broker could be reached, or a request timed out.
    Unreachable,
    /// 6: the broker refused the operation for lack of authorization.
    NotAuthorized,
    /// 7: some of several items succeeded and some failed (e.g. creating
    /// three topics of which one exists); the output says which.
    PartialFailure,
    /// 8: the broker does not support the API the command needs (yet).
    Unsupported,
    /// 9: `cluster health` found the cluster unhealthy.
    Unhealthy,
    /// 10: a certificate is not valid: `certs verify` found it expired, not
    /// yet valid, from another CA or for another name, or a broker's
    /// certificate failed verification when connecting over TLS.
    InvalidCertificate,
}

impl ErrorClass {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ErrorClass::Failure => 1,
            ErrorClass::Usage => 2,
            ErrorClass::NotFound => 3,
            ErrorClass::AlreadyExists => 4,
            ErrorClass::Unreachable => 5,
            ErrorClass::NotAuthorized => 6,
            ErrorClass::PartialFailure => 7,
            ErrorClass::Unsupported => 8,
            ErrorClass::Unhealthy => 9,
            ErrorClass::InvalidCertificate => 10,
        }
    }

    /// Every class, in exit-code order.
    pub const ALL: [ErrorClass; 10] = [
        ErrorClass::Failure,
        ErrorClass::Usage,
        ErrorClass::NotFound,
        ErrorClass::AlreadyExists,
        ErrorClass::Unreachable,
        ErrorClass::NotAuthorized,
        ErrorClass::PartialFailure,
        ErrorClass::Unsupported,
        ErrorClass::Unhealthy,
        ErrorClass::InvalidCertificate,
    ];

    /// The class of a Kafka error code.
    pub fn of_kafka(code: ErrorCode) -> ErrorClass {
        use ErrorCode as E;
        match code {
            E::UnknownTopicOrPartition
            | E::UnknownTopicId
            | E::GroupIdNotFound
            | E::ResourceNotFound => ErrorClass::NotFound,
            E::TopicAlreadyExists => ErrorClass::AlreadyExists,
            E::TopicAuthorizationFailed
            | E::GroupAuthorizationFailed
            | E::ClusterAuthorizationFailed
            | E::TransactionalIdAuthorizationFailed
            | E::DelegationTokenAuthorizationFailed
            | E::SaslAuthenticationFailed => ErrorClass::NotAuthorized,
            E::RequestTimedOut => ErrorClass::Unreachable,
            E::UnsupportedVersion => ErrorClass::Unsupported,
            _ => ErrorClass::Failure,
        }
    }
}

/// The error every command returns: a class (hence an exit code), a
/// one-line message, and the Kafka error name when the broker sent one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CtlError {
    /// The class, hence the exit code.
    pub class: ErrorClass,
    /// One line for a human.
    pub message: String,
    /// The Kafka error name (e.g. `UNKNOWN_TOPIC_OR_PARTITION`), if any.
    pub kafka_error: Option<String>,
    /// Stdout was closed by its reader: stop quietly and exit 0.
    pub broken_pipe: bool,
}

impl CtlError {
    /// Stdout's reader went away (`holocronctl consume … | head`): success.
    pub fn broken_pipe() -> Self {
        CtlError {
            broken_pipe: true,
            ..CtlError::new(ErrorClass::Failure, "broken pipe")
        }
    }

    /// An error of a class.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        CtlError {
            class,
            message: message.into(),
            kafka_error: None,
            broken_pipe: false,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Usage, message)
    }

    /// A Kafka error answer, with context (`what` failed).
    pub fn kafka(code: ErrorCode, what: impl std::fmt::Display) -> Self {
        CtlError {
            kafka_error: Some(kafka_name(code)),
            ..CtlError::new(
                ErrorClass::of_kafka(code),
                format!("{what}: {}", describe(code)),
            )
        }
    }

    /// Adds context in front of the message.
    pub fn context(mut self, what: impl std::fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

/// Kafka's own spelling of an error: `UNKNOWN_TOPIC_OR_PARTITION`.
pub fn kafka_name(code: ErrorCode) -> String {
    let camel = format!("{code:?}");
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// How an error code appears in messages: `UNKNOWN_TOPIC_OR_PARTITION`.
pub fn describe(code: ErrorCode) -> String {
    kafka_name(code)
}

impl From<ClientError> for CtlError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Kafka { code, message } => CtlError::kafka(code, message),
            ClientError::Unsupported(key) => CtlError::new(
                ErrorClass::Unsupported,
                format!(
                    "the broker does not support the {key:?} API (in a version holocronctl speaks)"
                ),
            ),
            ClientError::Tls {
                ref addr,
                failure,
                ref reason,
            } => {
                let class = match failure {
                    TlsFailure::BrokerCertificate => ErrorClass::InvalidCertificate,
                    TlsFailure::ClientCertificate => ErrorClass::NotAuthorized,
                    TlsFailure::Other => ErrorClass::Unreachable,
                };
                CtlError::new(class, format!("TLS with {addr} failed: {reason}"))
            }
            ClientError::TlsSetup(reason) => CtlError::usage(format!("TLS settings: {reason}")),
            e @ (ClientError::Unreachable { .. }
            | ClientError::Timeout { .. }
            | ClientError::NoBrokers(_)) => CtlError::new(ErrorClass::Unreachable, e.to_string()),
            e => CtlError::new(ErrorClass::Failure, e.to_string()),
        }
    }
}

impl From<std::io::Error> for CtlError {
    fn from(e: std::io::Error) -> Self {
        CtlError::new(ErrorClass::Failure, e.to_string())
    }
}

/// What a failure prints on stderr with `--json` (schema `holocron.error/v1`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorDoc {
    /// The error class.
    pub class: ErrorClass,
    /// The process exit code (same as the class's).
    pub exit_code: u8,
    /// The one-line message.
    pub message: String,
    /// The Kafka error name, when the broker answered with one.
    pub kafka_error: Option<String>,
}

impl From<&CtlError> for ErrorDoc {
    fn from(e: &CtlError) -> Self {
        ErrorDoc {
            class: e.class,
            exit_code: e.class.code(),
            message: e.message.clone(),
            kafka_error: e.kafka_error.clone(),
        }
    }
}

/// The result of a command.
pub type CtlResult<T = ()> = Result<T, CtlError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_names_are_screaming_snake() {
        assert_eq!(
            kafka_name(ErrorCode::UnknownTopicOrPartition),
            "UNKNOWN_TOPIC_OR_PARTITION"
        );
        assert_eq!(
            ErrorClass::of_kafka(ErrorCode::TopicAlreadyExists),
            ErrorClass::AlreadyExists
        );
    }

    #[test]
    fn codes_are_distinct_and_nonzero() {
        let mut codes: Vec<u8> = ErrorClass::ALL.iter().map(|c| c.code()).collect();
        codes.dedup();
        assert_eq!(codes, (1..=10).collect::<Vec<_>>());
    }
}
