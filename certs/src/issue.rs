//! Creating a CA and issuing node and client certificates with rcgen.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SignatureAlgorithm,
};
use time::{Duration, OffsetDateTime};

use crate::CertError;

/// The URI SAN prefix that carries a node id.
pub const NODE_URI_PREFIX: &str = "urn:holocron:node:";

/// Key algorithms offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256 (default: small, fast, universally supported).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
}

impl KeyType {
    fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }

    /// Parses `ecdsa-p256`, `ecdsa-p384` or `ed25519`.
    pub fn parse(s: &str) -> Option<KeyType> {
        match s {
            "ecdsa-p256" => Some(KeyType::EcdsaP256),
            "ecdsa-p384" => Some(KeyType::EcdsaP384),
            "ed25519" => Some(KeyType::Ed25519),
            _ => None,
        }
    }
}

/// A certificate and its private key, PEM encoded.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// Certificate PEM.
    pub cert_pem: String,
    /// Private key PEM (PKCS#8).
    pub key_pem: String,
}

/// A certificate authority: its certificate and key.
#[derive(Debug, Clone)]
pub struct CertAuthority {
    /// The CA certificate and key.
    pub cert: IssuedCert,
}

/// Certificates start an hour in the past to tolerate clock skew.
const BACKDATE: Duration = Duration::hours(1);

fn validity(params: &mut CertificateParams, days: u32) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + Duration::days(i64::from(days));
}

fn name(common_name: &str, organization: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, organization);
    dn.push(DnType::CommonName, common_name);
    dn
}

impl CertAuthority {
    /// Creates a new self-signed CA valid for `days`.
    pub fn create(
        common_name: &str,
        days: u32,
        key_type: KeyType,
    ) -> Result<CertAuthority, CertError> {
        let key = KeyPair::generate_for(key_type.algorithm())?;
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name, "Holocron");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params, days);
        let cert = params.self_signed(&key)?;
        Ok(CertAuthority {
            cert: IssuedCert {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            },
        })
    }

    /// A CA from its PEM certificate and key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<CertAuthority, CertError> {
        let key = KeyPair::from_pem(key_pem).map_err(|e| CertError::BadPem {
            what: "CA key".into(),
            kind: "private key",
            reason: e.to_string(),
        })?;
        Issuer::from_ca_cert_pem(cert_pem, &key).map_err(|e| CertError::BadPem {
            what: "CA certificate".into(),
            kind: "certificate",
            reason: e.to_string(),
        })?;
        Ok(CertAuthority {
            cert: IssuedCert {
                cert_pem: cert_pem.to_owned(),
                key_pem: key_pem.to_owned(),
            },
        })
    }

    fn sign(&self, params: &CertificateParams, key_type: KeyType) -> Result<IssuedCert, CertError> {
        let ca_key = KeyPair::from_pem(&self.cert.key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&self.cert.cert_pem, ca_key)?;
        let key = KeyPair::generate_for(key_type.algorithm())?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Issues a node certificate: server and client authentication, the
    /// given host names and IP addresses as SANs, and the node id as a URI SAN.
    pub fn issue_node(
        &self,
        node_id: i32,
        hosts: &[String],
        days: u32,
        key_type: KeyType,
    ) -> Result<IssuedCert, CertError> {
        let mut params = CertificateParams::new(hosts.to_vec())
            .map_err(|_| CertError::BadName(hosts.join(",")))?;
        let uri = format!("{NODE_URI_PREFIX}{node_id}");
        params.subject_alt_names.push(SanType::URI(
            uri.clone()
                .try_into()
                .map_err(|_| CertError::BadName(uri))?,
        ));
        params.distinguished_name = name(&format!("holocron-node-{node_id}"), "Holocron");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, days);
        self.sign(&params, key_type)
    }

    /// Issues a client certificate whose subject common name is the principal.
    pub fn issue_client(
        &self,
        principal: &str,
        days: u32,
        key_type: KeyType,
    ) -> Result<IssuedCert, CertError> {
        if principal.is_empty() || principal.len() > 64 {
            return Err(CertError::BadName(principal.to_owned()));
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = name(principal, "Holocron clients");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, days);
        self.sign(&params, key_type)
    }

    /// Issues a certificate with explicit validity bounds (tests of expired
    /// and not-yet-valid certificates).
    pub fn issue_client_between(
        &self,
        principal: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<IssuedCert, CertError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(principal, "Holocron clients");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        self.sign(&params, KeyType::default())
    }
}
