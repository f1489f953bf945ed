//! holocron-certs: a certificate authority for a Holocron cluster and the
//! rustls configurations built from its certificates.
//!
//! - [`issue`]: create a CA; issue node certificates (host names and IPs as
//!   SANs, the node id as a `urn:holocron:node:<id>` URI SAN so peers can
//!   check who they talk to) and client certificates (the principal is the
//!   subject's common name);
//! - [`files`]: PEM files on disk, keys written 0600, never overwritten
//!   unless asked;
//! - [`inspect`]: what a certificate says (subject, SANs, node id,
//!   validity), and verification against a CA with clear reasons;
//! - [`tls`]: rustls server configs (client auth none / optional /
//!   required) and client configs (CA, optional client certificate), plus
//!   the peer identity of a verified connection.
#![deny(clippy::unwrap_used)]

pub mod files;
pub mod inspect;
pub mod issue;
pub mod tls;

pub use issue::{CertAuthority, IssuedCert, KeyType};

/// Everything that can go wrong with certificates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Generating or signing failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file exists and overwriting was not asked for.
    #[error("{0} already exists (use --force to overwrite)")]
    Exists(std::path::PathBuf),
    /// PEM or DER that does not parse.
    #[error("{what} is not a valid PEM {kind}: {reason}")]
    BadPem {
        /// Which input.
        what: String,
        /// Certificate or key.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// A name (SAN, principal) that cannot go into a certificate.
    #[error("invalid name {0:?}")]
    BadName(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// A client verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(String),
}
