//! rustls configurations from PEM material, and the identity of a peer.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::inspect::{info, parse_certs};
use crate::CertError;

/// Whether a server asks clients for certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No client certificates.
    #[default]
    None,
    /// Verified if presented; anonymous clients allowed.
    Optional,
    /// Every client must present a certificate from the CA.
    Required,
}

impl ClientAuth {
    /// Parses `none`, `optional` or `required`.
    pub fn parse(s: &str) -> Option<ClientAuth> {
        match s {
            "none" => Some(ClientAuth::None),
            "optional" => Some(ClientAuth::Optional),
            "required" => Some(ClientAuth::Required),
            _ => None,
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Parses a PEM private key (PKCS#8, SEC1 or PKCS#1).
pub fn parse_key(pem: &str, what: &str) -> Result<PrivateKeyDer<'static>, CertError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| CertError::BadPem {
        what: what.to_owned(),
        kind: "private key",
        reason: e.to_string(),
    })
}

fn roots(ca_pem: &str) -> Result<Arc<RootCertStore>, CertError> {
    let mut roots = RootCertStore::empty();
    for c in parse_certs(ca_pem, "CA certificate")? {
        roots.add(c)?;
    }
    Ok(Arc::new(roots))
}

/// A server config: our chain and key; client certificates per `auth`,
/// verified against `client_ca_pem` (required unless `auth` is None).
pub fn server_config(
    cert_pem: &str,
    key_pem: &str,
    client_ca_pem: Option<&str>,
    auth: ClientAuth,
) -> Result<Arc<ServerConfig>, CertError> {
    let chain = parse_certs(cert_pem, "server certificate")?;
    let key = parse_key(key_pem, "server key")?;
    let builder =
        ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match (auth, client_ca_pem) {
        (ClientAuth::None, _) => builder.with_no_client_auth(),
        (_, None) => {
            return Err(CertError::Verifier(
                "client authentication needs a CA to verify client certificates".into(),
            ))
        }
        (auth, Some(ca)) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots(ca)?, provider());
            let verifier = if auth == ClientAuth::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| CertError::Verifier(e.to_string()))?,
            )
        }
    };
    Ok(Arc::new(builder.with_single_cert(chain, key)?))
}

/// A client config trusting `ca_pem`, presenting a certificate if given.
pub fn client_config(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<Arc<ClientConfig>, CertError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca_pem)?);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder.with_client_auth_cert(
            parse_certs(cert, "client certificate")?,
            parse_key(key, "client key")?,
        )?,
    };
    Ok(Arc::new(config))
}

/// Who is on the other side of a verified TLS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The principal: the subject's common name (or the whole subject).
    pub principal: String,
    /// The node id, when the peer holds a node certificate.
    pub node_id: Option<i32>,
}

/// The identity in a verified peer's leaf certificate.
pub fn peer_identity(certs: &[CertificateDer<'_>]) -> Option<PeerIdentity> {
    let leaf = certs.first()?;
    let i = info(leaf).ok()?;
    Some(PeerIdentity {
        principal: i.common_name.unwrap_or(i.subject),
        node_id: i.node_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{verify, Purpose, VerifyError};
    use crate::{CertAuthority, KeyType};

    #[test]
    fn issued_certificates_verify_and_say_who_they_are() {
        let ca = CertAuthority::create("test CA", 30, KeyType::EcdsaP256).expect("ca");
        let node = ca
            .issue_node(
                3,
                &["localhost".into(), "127.0.0.1".into()],
                10,
                KeyType::EcdsaP256,
            )
            .expect("node");
        let client = ca
            .issue_client("alice", 10, KeyType::Ed25519)
            .expect("client");
        let ok = verify(
            &node.cert_pem,
            &ca.cert.cert_pem,
            &Purpose::Server("127.0.0.1".into()),
        )
        .expect("parse");
        let node_info = ok.expect("valid for its IP");
        assert_eq!(node_info.node_id, Some(3));
        assert_eq!(node_info.dns_names, vec!["localhost".to_string()]);
        assert_eq!(
            verify(
                &node.cert_pem,
                &ca.cert.cert_pem,
                &Purpose::Server("elsewhere.example".into())
            )
            .expect("parse"),
            Err(VerifyError::WrongName("elsewhere.example".into()))
        );
        assert!(verify(&node.cert_pem, &ca.cert.cert_pem, &Purpose::Node(3))
            .expect("parse")
            .is_ok());
        assert_eq!(
            verify(&node.cert_pem, &ca.cert.cert_pem, &Purpose::Node(4)).expect("parse"),
            Err(VerifyError::WrongName("node 4".into()))
        );
        let other = CertAuthority::create("other CA", 30, KeyType::EcdsaP256).expect("ca");
        assert_eq!(
            verify(&client.cert_pem, &other.cert.cert_pem, &Purpose::Client).expect("parse"),
            Err(VerifyError::WrongCa)
        );
        let ids =
            peer_identity(&parse_certs(&client.cert_pem, "c").expect("pem")).expect("identity");
        assert_eq!(ids.principal, "alice");
        assert!(server_config(
            &node.cert_pem,
            &node.key_pem,
            Some(&ca.cert.cert_pem),
            ClientAuth::Required
        )
        .is_ok());
        assert!(
            client_config(&ca.cert.cert_pem, Some((&client.cert_pem, &client.key_pem))).is_ok()
        );
    }

    #[test]
    fn expired_and_future_certificates_are_named_as_such() {
        let ca = CertAuthority::create("test CA", 30, KeyType::EcdsaP256).expect("ca");
        let now = time::OffsetDateTime::now_utc();
        let expired = ca
            .issue_client_between(
                "old",
                now - time::Duration::days(10),
                now - time::Duration::days(1),
            )
            .expect("issue");
        let future = ca
            .issue_client_between(
                "new",
                now + time::Duration::days(1),
                now + time::Duration::days(10),
            )
            .expect("issue");
        assert_eq!(
            verify(&expired.cert_pem, &ca.cert.cert_pem, &Purpose::Client).expect("parse"),
            Err(VerifyError::Expired)
        );
        assert_eq!(
            verify(&future.cert_pem, &ca.cert.cert_pem, &Purpose::Client).expect("parse"),
            Err(VerifyError::NotYetValid)
        );
    }
}
