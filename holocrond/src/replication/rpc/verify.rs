//! The rustls side of node identity: verifiers that apply `identity`'s rules
//! inside the handshake, and the configs built from them.
//!
//! - The accepting side ([`server_config`]) requires a client certificate:
//!   rustls' WebPKI client verifier checks the chain to the cluster CA, the
//!   validity period and the client-auth key usage, then
//!   `identity::check_dialler` checks the node id.
//! - The dialling side ([`client_config`], one per peer) checks the chain
//!   with WebPKI (including the server-auth key usage) but, instead of the
//!   host name, that the certificate names the node it dialled.
//!
//! Session resumption is off on both sides, so every connection is checked
//! in full (reconnects are rare; a skipped check is not worth the saving).

use std::collections::BTreeSet;
use std::sync::Arc;

use holocron_certs::inspect::parse_certs;
use holocron_certs::tls::parse_key;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::client::{verify_server_cert_signed_by_trust_anchor, Resumption};
use tokio_rustls::rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::{
    NoServerSessionStorage, ParsedCertificate, WebPkiClientVerifier,
};
use tokio_rustls::rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};

use super::identity::{check_dialler, node_id, refuse, IdentityError};
use super::{NodeId, NodeTls, StartError};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(ca_pem: &str) -> Result<Arc<RootCertStore>, StartError> {
    let mut roots = RootCertStore::empty();
    for c in parse_certs(ca_pem, "cluster CA certificate")? {
        roots.add(c)?;
    }
    Ok(Arc::new(roots))
}

/// The acceptor's check: WebPKI client verification, then the node id.
#[derive(Debug)]
struct DiallerVerifier {
    webpki: Arc<dyn ClientCertVerifier>,
    me: NodeId,
    peers: BTreeSet<NodeId>,
}

impl ClientCertVerifier for DiallerVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.webpki.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.webpki
            .verify_client_cert(end_entity, intermediates, now)?;
        check_dialler(self.me, &self.peers, node_id(end_entity)).map_err(refuse)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The dialler's check: WebPKI chain verification, then the node id in place
/// of the host name.
#[derive(Debug)]
struct AcceptorVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    expected: NodeId,
}

impl ServerCertVerifier for AcceptorVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        match node_id(end_entity) {
            Some(id) if id == self.expected => Ok(ServerCertVerified::assertion()),
            Some(got) => Err(refuse(IdentityError::WrongNode {
                expected: self.expected,
                got,
            })),
            None => Err(refuse(IdentityError::NotANode)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The accepting side's config: our node certificate, and a client
/// certificate required from a lower-id peer.
pub fn server_config(
    me: NodeId,
    peers: BTreeSet<NodeId>,
    tls: &NodeTls,
) -> Result<Arc<ServerConfig>, StartError> {
    let webpki = WebPkiClientVerifier::builder_with_provider(roots(&tls.ca_pem)?, provider())
        .build()
        .map_err(|e| holocron_certs::CertError::Verifier(e.to_string()))?;
    let verifier = DiallerVerifier { webpki, me, peers };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            parse_certs(&tls.cert_pem, "node certificate")?,
            parse_key(&tls.key_pem, "node key")?,
        )?;
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// The dialling side's config for calling node `expected`.
pub fn client_config(expected: NodeId, tls: &NodeTls) -> Result<Arc<ClientConfig>, StartError> {
    let provider = provider();
    let verifier = AcceptorVerifier {
        roots: roots(&tls.ca_pem)?,
        provider: provider.clone(),
        expected,
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(
            parse_certs(&tls.cert_pem, "node certificate")?,
            parse_key(&tls.key_pem, "node key")?,
        )?;
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// The TLS server name sent when dialling `peer`. Our verifier ignores it;
/// it only has to be a valid DNS name.
pub fn server_name(peer: NodeId) -> ServerName<'static> {
    ServerName::try_from(format!("holocron-node-{peer}"))
        .unwrap_or_else(|_| ServerName::from(std::net::Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replication::rpc::identity::{check_own, refusal};
    use holocron_certs::{CertAuthority, IssuedCert, KeyType};

    fn ca() -> CertAuthority {
        CertAuthority::create("test CA", 1, KeyType::EcdsaP256).expect("CA")
    }

    fn node(ca: &CertAuthority, id: i32) -> IssuedCert {
        ca.issue_node(id, &["127.0.0.1".into()], 1, KeyType::EcdsaP256)
            .expect("node cert")
    }

    fn leaf(cert: &IssuedCert) -> CertificateDer<'static> {
        parse_certs(&cert.cert_pem, "leaf").expect("pem").remove(0)
    }

    fn tls(ca: &CertAuthority, me: &IssuedCert) -> NodeTls {
        NodeTls {
            ca_pem: ca.cert.cert_pem.clone(),
            cert_pem: me.cert_pem.clone(),
            key_pem: me.key_pem.clone(),
        }
    }

    fn reason(e: rustls::Error) -> String {
        refusal(&std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            .expect("a refusal")
            .to_string()
    }

    fn dialler_verifier(ca: &CertAuthority, me: NodeId, peers: &[NodeId]) -> DiallerVerifier {
        let webpki = WebPkiClientVerifier::builder_with_provider(
            roots(&ca.cert.cert_pem).expect("roots"),
            provider(),
        )
        .build()
        .expect("verifier");
        DiallerVerifier {
            webpki,
            me,
            peers: peers.iter().copied().collect(),
        }
    }

    #[test]
    fn the_acceptor_takes_only_lower_peers_from_its_ca() {
        let ca = ca();
        let v = dialler_verifier(&ca, 3, &[1, 2, 4]);
        let now = UnixTime::now();
        assert!(v.verify_client_cert(&leaf(&node(&ca, 1)), &[], now).is_ok());
        let refused = |cert: &IssuedCert| {
            reason(
                v.verify_client_cert(&leaf(cert), &[], now)
                    .expect_err("refused"),
            )
        };
        let client = ca
            .issue_client("alice", 1, KeyType::EcdsaP256)
            .expect("client");
        assert_eq!(refused(&client), IdentityError::NotANode.to_string());
        assert_eq!(
            refused(&node(&ca, 7)),
            IdentityError::UnknownNode(7).to_string()
        );
        assert_eq!(refused(&node(&ca, 3)), IdentityError::Itself(3).to_string());
        assert_eq!(
            refused(&node(&ca, 4)),
            IdentityError::ShouldNotDial(4).to_string()
        );
        let other = CertAuthority::create("other CA", 1, KeyType::EcdsaP256).expect("CA");
        assert_eq!(
            refused(&node(&other, 1)),
            "the certificate was not issued by the cluster CA"
        );
    }

    #[test]
    fn the_dialler_wants_exactly_the_node_it_dialled() {
        let ca = ca();
        let v = AcceptorVerifier {
            roots: roots(&ca.cert.cert_pem).expect("roots"),
            provider: provider(),
            expected: 2,
        };
        let check = |cert: &IssuedCert| {
            v.verify_server_cert(&leaf(cert), &[], &server_name(2), &[], UnixTime::now())
                .map_err(reason)
        };
        assert!(check(&node(&ca, 2)).is_ok());
        assert_eq!(
            check(&node(&ca, 5)).expect_err("wrong node"),
            IdentityError::WrongNode {
                expected: 2,
                got: 5
            }
            .to_string()
        );
        let other = CertAuthority::create("other CA", 1, KeyType::EcdsaP256).expect("CA");
        assert_eq!(
            check(&node(&other, 2)).expect_err("other CA"),
            "the certificate was not issued by the cluster CA"
        );
        // A client certificate lacks the server-auth key usage.
        let client = ca
            .issue_client("alice", 1, KeyType::EcdsaP256)
            .expect("client");
        assert!(check(&client)
            .expect_err("client cert")
            .starts_with("invalid certificate"));
    }

    #[test]
    fn configs_build_and_our_own_certificate_must_name_us() {
        let ca = ca();
        let me = node(&ca, 1);
        assert!(server_config(1, [2].into(), &tls(&ca, &me)).is_ok());
        assert!(client_config(2, &tls(&ca, &me)).is_ok());
        assert!(check_own(1, &tls(&ca, &me)).is_ok());
        assert!(matches!(
            check_own(2, &tls(&ca, &me)),
            Err(StartError::WrongOwnCertificate { expected: 2, .. })
        ));
    }
}
