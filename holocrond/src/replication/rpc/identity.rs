//! Who is on the other end of a node-to-node connection.
//!
//! A node certificate carries its node id as the URI SAN
//! `urn:holocron:node:<id>` (holocron-certs `issue_node`). Host names and IP
//! SANs are deliberately not used: peers are addressed by id, addresses may
//! be anything that routes, and "is this node 3?" is the question that
//! matters. The rules:
//!
//! - the accepting node takes a certificate from the cluster CA that names a
//!   node in its peer list with a lower id than its own ([`check_dialler`]:
//!   the lower id dials);
//! - the dialling node takes a certificate from the cluster CA that names
//!   exactly the node it dialled ([`IdentityError::WrongNode`] otherwise).
//!
//! `verify` applies them inside the TLS handshake. A refusal travels as a
//! rustls error carrying an [`IdentityError`] and fails the handshake with an
//! alert; [`refusal`] recovers the reason for the log, on both sides.

use std::collections::BTreeSet;
use std::sync::Arc;

use holocron_certs::inspect::{info, parse_certs};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{AlertDescription, CertificateError, OtherError};

use super::{NodeId, NodeTls, StartError};

/// Why a verified certificate is still not the node we want.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// No `urn:holocron:node:<id>` URI SAN (a client certificate, say).
    #[error("the certificate names no node (not a node certificate)")]
    NotANode,
    /// A node that is not in our peer list.
    #[error("the certificate names node {0}, which is not in the peer list")]
    UnknownNode(NodeId),
    /// Our own id.
    #[error("the certificate names node {0}, which is this node")]
    Itself(NodeId),
    /// A peer with a higher id than ours, which should wait for our dial.
    #[error("node {0} has a higher id than this node, so it should wait for this node to dial")]
    ShouldNotDial(NodeId),
    /// Not the node we dialled.
    #[error("the certificate names node {got}, but node {expected} was dialled")]
    WrongNode {
        /// The node dialled.
        expected: NodeId,
        /// The node named.
        got: NodeId,
    },
}

/// The node id a leaf certificate names, if any.
pub fn node_id(leaf: &CertificateDer<'_>) -> Option<NodeId> {
    info(leaf)
        .ok()?
        .node_id
        .and_then(|id| NodeId::try_from(id).ok())
}

/// Whether node `me` accepts a connection from a certificate naming `named`.
pub fn check_dialler(
    me: NodeId,
    peers: &BTreeSet<NodeId>,
    named: Option<NodeId>,
) -> Result<NodeId, IdentityError> {
    match named {
        None => Err(IdentityError::NotANode),
        Some(id) if id == me => Err(IdentityError::Itself(id)),
        Some(id) if !peers.contains(&id) => Err(IdentityError::UnknownNode(id)),
        Some(id) if id > me => Err(IdentityError::ShouldNotDial(id)),
        Some(id) => Ok(id),
    }
}

pub(super) fn refuse(e: IdentityError) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
}

/// A handshake that failed over a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// We refused the peer's certificate, for this reason.
    Theirs(String),
    /// The peer refused ours (the alert it sent).
    Ours(AlertDescription),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Theirs(reason) => f.write_str(reason),
            Refusal::Ours(alert) => write!(f, "the peer refused our certificate ({alert:?})"),
        }
    }
}

/// Whether a handshake (or the first read after it) failed over a
/// certificate, and why; `None` when it failed for another reason (I/O,
/// timeout, not TLS at all).
pub fn refusal(e: &std::io::Error) -> Option<Refusal> {
    let tls = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    let theirs = |r: &str| Some(Refusal::Theirs(r.to_owned()));
    match tls {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(why))) => {
            theirs(&why.to_string())
        }
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => theirs("the certificate was not issued by the cluster CA"),
        rustls::Error::InvalidCertificate(other) => {
            theirs(&format!("invalid certificate: {other}"))
        }
        rustls::Error::NoCertificatesPresented => theirs("no certificate presented"),
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateRequired
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied),
        ) => Some(Refusal::Ours(*alert)),
        _ => None,
    }
}

/// Checks that our own certificate names `me` (a misconfiguration that would
/// otherwise show up as every peer refusing us).
pub(super) fn check_own(me: NodeId, tls: &NodeTls) -> Result<(), StartError> {
    let chain = parse_certs(&tls.cert_pem, "node certificate")?;
    match chain.first().map(node_id) {
        Some(Some(id)) if id == me => Ok(()),
        Some(Some(id)) => Err(StartError::WrongOwnCertificate {
            expected: me,
            found: format!("node {id}"),
        }),
        _ => Err(StartError::WrongOwnCertificate {
            expected: me,
            found: "no node".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acceptor_takes_lower_listed_peers_only() {
        let peers: BTreeSet<NodeId> = [1, 2, 4].into();
        assert_eq!(check_dialler(3, &peers, Some(1)), Ok(1));
        assert_eq!(check_dialler(3, &peers, None), Err(IdentityError::NotANode));
        assert_eq!(
            check_dialler(3, &peers, Some(3)),
            Err(IdentityError::Itself(3))
        );
        assert_eq!(
            check_dialler(3, &peers, Some(7)),
            Err(IdentityError::UnknownNode(7))
        );
        assert_eq!(
            check_dialler(3, &peers, Some(4)),
            Err(IdentityError::ShouldNotDial(4))
        );
    }

    #[test]
    fn refusals_are_told_apart_from_other_failures() {
        let io = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let ours = io(rustls::Error::AlertReceived(AlertDescription::UnknownCA));
        assert_eq!(
            refusal(&ours),
            Some(Refusal::Ours(AlertDescription::UnknownCA))
        );
        let theirs = io(refuse(IdentityError::UnknownNode(7)));
        assert_eq!(
            refusal(&theirs).map(|r| r.to_string()).as_deref(),
            Some("the certificate names node 7, which is not in the peer list")
        );
        let other = io(rustls::Error::AlertReceived(
            AlertDescription::HandshakeFailure,
        ));
        assert_eq!(refusal(&other), None);
        assert_eq!(refusal(&std::io::ErrorKind::ConnectionReset.into()), None);
    }
}
