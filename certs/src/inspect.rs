//! Reading certificates: what they say, and whether they are valid for a
//! given CA and name — with the reason when they are not.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, RootCertStore};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::issue::NODE_URI_PREFIX;
use crate::CertError;

/// What a certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject distinguished name, e.g. `CN=alice, O=Holocron clients`.
    pub subject: String,
    /// Subject common name.
    pub common_name: Option<String>,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// DNS names.
    pub dns_names: Vec<String>,
    /// IP addresses.
    pub ip_addresses: Vec<String>,
    /// Node id, for node certificates.
    pub node_id: Option<i32>,
    /// Whether this is a CA certificate.
    pub is_ca: bool,
}

/// Parses every certificate in a PEM text.
pub fn parse_certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| CertError::BadPem {
            what: what.to_owned(),
            kind: "certificate",
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(CertError::BadPem {
            what: what.to_owned(),
            kind: "certificate",
            reason: "no CERTIFICATE block found".into(),
        });
    }
    Ok(certs)
}

/// Reads what a DER certificate says.
pub fn info(der: &[u8]) -> Result<CertInfo, CertError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertError::BadPem {
        what: "certificate".into(),
        kind: "certificate",
        reason: e.to_string(),
    })?;
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    let mut node_id = None;
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(n) => dns_names.push((*n).to_owned()),
                GeneralName::IPAddress(b) => {
                    let ip = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        ip_addresses.push(ip.to_string());
                    }
                }
                GeneralName::URI(u) => {
                    if let Some(id) = u.strip_prefix(NODE_URI_PREFIX) {
                        node_id = id.parse().ok();
                    }
                }
                _ => {}
            }
        }
    }
    let common_name: Option<String> = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        common_name,
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string().replace(':', ""),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        dns_names,
        ip_addresses,
        node_id,
        is_ca: cert.is_ca(),
    })
}

/// Why a certificate is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Past its end of validity.
    #[error("the certificate expired")]
    Expired,
    /// Before its start of validity.
    #[error("the certificate is not valid yet")]
    NotYetValid,
    /// Not signed by the given CA.
    #[error("the certificate was not issued by this CA")]
    WrongCa,
    /// Not valid for the expected host name or node.
    #[error("the certificate is not valid for {0}")]
    WrongName(String),
    /// Anything else the verifier refused.
    #[error("the certificate is invalid: {0}")]
    Other(String),
}

fn classify(e: rustls::Error, name: &str) -> VerifyError {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                VerifyError::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                VerifyError::NotYetValid
            }
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                VerifyError::WrongCa
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                VerifyError::WrongName(name.to_owned())
            }
            other => VerifyError::Other(format!("{other:?}")),
        },
        other => VerifyError::Other(other.to_string()),
    }
}

fn roots(ca_pem: &str) -> Result<Arc<RootCertStore>, CertError> {
    let mut roots = RootCertStore::empty();
    for c in parse_certs(ca_pem, "CA certificate")? {
        roots.add(c)?;
    }
    Ok(Arc::new(roots))
}

/// What a certificate is checked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// A server reached under this host name or IP.
    Server(String),
    /// A client (any name).
    Client,
    /// A cluster node with this id.
    Node(i32),
}

/// Verifies `cert_pem` (leaf first, then any intermediates) against the CA
/// in `ca_pem` for a purpose, at the current time.
pub fn verify(
    cert_pem: &str,
    ca_pem: &str,
    purpose: &Purpose,
) -> Result<Result<CertInfo, VerifyError>, CertError> {
    let chain = parse_certs(cert_pem, "certificate")?;
    let roots = roots(ca_pem)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let now = UnixTime::now();
    let (leaf, rest) = chain.split_first().ok_or_else(|| CertError::BadPem {
        what: "certificate".into(),
        kind: "certificate",
        reason: "empty chain".into(),
    })?;
    let info = info(leaf)?;
    let outcome = match purpose {
        Purpose::Server(name) => {
            let server_name =
                ServerName::try_from(name.clone()).map_err(|_| CertError::BadName(name.clone()))?;
            let verifier =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| CertError::Verifier(e.to_string()))?;
            verifier
                .verify_server_cert(leaf, rest, &server_name, &[], now)
                .map(|_| ())
                .map_err(|e| classify(e, name))
        }
        Purpose::Client | Purpose::Node(_) => {
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| CertError::Verifier(e.to_string()))?;
            let checked = verifier
                .verify_client_cert(leaf, rest, now)
                .map(|_| ())
                .map_err(|e| classify(e, ""));
            match (checked, purpose) {
                (Ok(()), Purpose::Node(id)) if info.node_id != Some(*id) => {
                    Err(VerifyError::WrongName(format!("node {id}")))
                }
                (other, _) => other,
            }
        }
    };
    Ok(outcome.map(|()| info))
}
