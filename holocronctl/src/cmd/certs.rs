//! `certs init|issue node|issue client|inspect|verify`: the cluster's
//! certificates without openssl, on top of `holocron-certs`.
//!
//! Offline by design: nothing here opens a connection, so a CA can be made
//! on a machine that never talks to the cluster. Each command checks its
//! arguments and what it would overwrite before it generates or writes
//! anything; keys are written 0600 and certificates 0644 (atomically).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use holocron_certs::files::{self, Overwrite, CERT_MODE, KEY_MODE};
use holocron_certs::inspect::{self, CertInfo, Purpose, VerifyError};
use holocron_certs::{CertAuthority, CertError, IssuedCert, KeyType};
use rustls_pki_types::ServerName;
use serde::{Deserialize, Serialize};

use crate::cli::{
    CertsCmd, CertsInitArgs, CertsVerifyArgs, IssueClientArgs, IssueCmd, IssueNodeArgs, IssueOpts,
    KeyTypeArg, DEFAULT_CERTS_DIR,
};
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};

/// The CA's file names inside its directory.
pub const CA_CERT: &str = "ca.crt";
/// The CA key's file name.
pub const CA_KEY: &str = "ca.key";

/// One certificate as the `certs` commands show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertDoc {
    /// `ca`, `node` (carries a node id), `client` (no SANs) or `other`.
    pub kind: String,
    /// Subject distinguished name.
    pub subject: String,
    /// Subject common name: the principal of a client certificate.
    pub common_name: Option<String>,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Start of validity, Unix seconds.
    pub not_before_unix: i64,
    /// End of validity, Unix seconds.
    pub not_after_unix: i64,
    /// Whole days until `not_after`; negative once expired.
    pub days_left: i64,
    /// DNS name SANs.
    pub dns_names: Vec<String>,
    /// IP address SANs.
    pub ip_addresses: Vec<String>,
    /// The node id of a node certificate.
    pub node_id: Option<i32>,
    /// Whether it is a CA certificate.
    pub is_ca: bool,
}

/// `holocron.certs.init/v1` and `holocron.certs.issue/v1`: what was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertsIssued {
    /// `ca`, `node` or `client`.
    pub kind: String,
    /// `ecdsa-p256`, `ecdsa-p384` or `ed25519`.
    pub key_type: String,
    /// The certificate file (PEM, mode 0644).
    pub cert_file: String,
    /// The private key file (PEM PKCS#8, mode 0600).
    pub key_file: String,
    /// The CA certificate it chains to (for `init`, the same as `cert_file`).
    pub ca_file: String,
    /// Whether existing files were replaced (`--force`).
    pub replaced: bool,
    /// The new certificate.
    pub certificate: CertDoc,
}

/// `holocron.certs.inspect/v1`: every certificate in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertsInspect {
    /// The file.
    pub file: String,
    /// Its certificates, in file order (leaf first in a chain).
    pub certificates: Vec<CertDoc>,
}

/// `holocron.certs.verify/v1`: whether a certificate is valid for a purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertsVerify {
    /// The certificate file.
    pub file: String,
    /// The CA certificate file.
    pub ca: String,
    /// `server`, `node` or `client`.
    pub purpose: String,
    /// The host name checked (`server`).
    pub host: Option<String>,
    /// The node id checked (`node`).
    pub node_id: Option<i32>,
    /// The verdict.
    pub valid: bool,
    /// Why not: `expired`, `not_yet_valid`, `wrong_ca`, `wrong_name` or
    /// `invalid`; null when valid.
    pub reason: Option<String>,
    /// The reason for a human; null when valid.
    pub message: Option<String>,
    /// The certificate (the leaf).
    pub certificate: CertDoc,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn rfc3339(secs: i64) -> String {
    let t = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(t).to_string()
}

impl CertDoc {
    /// The document of a parsed certificate, with `days_left` from now.
    pub fn new(i: CertInfo) -> CertDoc {
        let kind = if i.is_ca {
            "ca"
        } else if i.node_id.is_some() {
            "node"
        } else if i.dns_names.is_empty() && i.ip_addresses.is_empty() {
            "client"
        } else {
            "other"
        };
        CertDoc {
            kind: kind.into(),
            not_before: rfc3339(i.not_before),
            not_after: rfc3339(i.not_after),
            not_before_unix: i.not_before,
            not_after_unix: i.not_after,
            days_left: (i.not_after - now_unix()).div_euclid(86_400),
            subject: i.subject,
            common_name: i.common_name,
            issuer: i.issuer,
            serial: i.serial.to_ascii_lowercase(),
            dns_names: i.dns_names,
            ip_addresses: i.ip_addresses,
            node_id: i.node_id,
            is_ca: i.is_ca,
        }
    }

    fn validity(&self) -> String {
        let now = now_unix();
        let left = if self.not_after_unix < now {
            format!("expired {} days ago", (now - self.not_after_unix) / 86_400)
        } else if now < self.not_before_unix {
            "not valid yet".to_owned()
        } else {
            format!("{} days left", self.days_left)
        };
        format!("{} .. {} ({left})", self.not_before, self.not_after)
    }

    fn human(&self) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "-".to_owned()
            } else {
                v.join(", ")
            }
        };
        output::kv(&[
            ("Subject", self.subject.clone()),
            ("Kind", self.kind.clone()),
            ("Issuer", self.issuer.clone()),
            ("Serial", self.serial.clone()),
            ("Valid", self.validity()),
            ("DNS names", list(&self.dns_names)),
            ("IP addresses", list(&self.ip_addresses)),
            ("Node id", output::opt(self.node_id)),
        ])
    }
}

impl Document for CertsIssued {
    fn schema(&self) -> &'static str {
        if self.kind == "ca" {
            "holocron.certs.init/v1"
        } else {
            "holocron.certs.issue/v1"
        }
    }
    fn human(&self, _out: &Out) -> String {
        let what = match self.kind.as_str() {
            "ca" => format!(
                "CA {:?}",
                self.certificate.common_name.as_deref().unwrap_or_default()
            ),
            "node" => format!("node {} certificate", output::opt(self.certificate.node_id)),
            _ => format!(
                "client certificate for {:?}",
                self.certificate.common_name.as_deref().unwrap_or_default()
            ),
        };
        let mut s = format!(
            "{} {what} ({}, valid until {}, {} days)\n",
            if self.replaced { "replaced" } else { "created" },
            self.key_type,
            self.certificate.not_after,
            self.certificate.days_left
        );
        s.push_str(&format!("  {}  certificate (0644)\n", self.cert_file));
        s.push_str(&format!("  {}  private key (0600)\n", self.key_file));
        let names: Vec<&str> = self
            .certificate
            .dns_names
            .iter()
            .chain(&self.certificate.ip_addresses)
            .map(String::as_str)
            .collect();
        if !names.is_empty() {
            s.push_str(&format!("  names: {}\n", names.join(", ")));
        }
        s
    }
}

impl Document for CertsInspect {
    fn schema(&self) -> &'static str {
        "holocron.certs.inspect/v1"
    }
    fn human(&self, _out: &Out) -> String {
        let parts: Vec<String> = self.certificates.iter().map(CertDoc::human).collect();
        parts.join("\n")
    }
}

impl Document for CertsVerify {
    fn schema(&self) -> &'static str {
        "holocron.certs.verify/v1"
    }
    fn human(&self, _out: &Out) -> String {
        let purpose = match (&self.host, self.node_id) {
            (Some(h), _) => format!("host {h}"),
            (None, Some(n)) if self.purpose == "node" => format!("node {n}"),
            _ => "client use".to_owned(),
        };
        if self.valid {
            format!(
                "valid: {} for {purpose} (CA {}), expires {}, {} days left\n",
                self.file, self.ca, self.certificate.not_after, self.certificate.days_left
            )
        } else {
            format!(
                "INVALID: {} for {purpose}: {}\n",
                self.file,
                self.message.as_deref().unwrap_or("invalid")
            )
        }
    }
}

/// The class of a certificate-library error.
fn cert_error(e: CertError) -> CtlError {
    let class = match &e {
        CertError::Exists(_) => ErrorClass::AlreadyExists,
        CertError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ErrorClass::NotFound
        }
        CertError::BadName(_) => ErrorClass::Usage,
        _ => ErrorClass::Failure,
    };
    CtlError::new(class, e.to_string())
}

fn key_type(k: KeyTypeArg) -> (KeyType, &'static str) {
    match k {
        KeyTypeArg::EcdsaP256 => (KeyType::EcdsaP256, "ecdsa-p256"),
        KeyTypeArg::EcdsaP384 => (KeyType::EcdsaP384, "ecdsa-p384"),
        KeyTypeArg::Ed25519 => (KeyType::Ed25519, "ed25519"),
    }
}

fn check_days(days: u32) -> CtlResult {
    if days == 0 {
        return Err(CtlError::usage("--days must be at least 1"));
    }
    Ok(())
}

/// What a write would replace; refuses unless `force`. Both files are
/// checked before either is written.
fn check_targets(cert: &Path, key: &Path, force: bool) -> CtlResult<bool> {
    let existing: Vec<&Path> = [cert, key].into_iter().filter(|p| p.exists()).collect();
    match existing.first() {
        Some(p) if !force => Err(CtlError::new(
            ErrorClass::AlreadyExists,
            format!("{} already exists (use --force to replace it)", p.display()),
        )),
        _ => Ok(!existing.is_empty()),
    }
}

fn write_pair(cert_file: &Path, key_file: &Path, issued: &IssuedCert, force: bool) -> CtlResult {
    let overwrite = if force {
        Overwrite::Allow
    } else {
        Overwrite::Refuse
    };
    files::write_pem(key_file, &issued.key_pem, KEY_MODE, overwrite).map_err(cert_error)?;
    files::write_pem(cert_file, &issued.cert_pem, CERT_MODE, overwrite).map_err(cert_error)
}

fn leaf_doc(pem: &str, what: &str) -> CtlResult<CertDoc> {
    let certs = inspect::parse_certs(pem, what).map_err(cert_error)?;
    let leaf = certs.first().ok_or_else(|| {
        CtlError::new(ErrorClass::Failure, format!("{what} holds no certificate"))
    })?;
    Ok(CertDoc::new(inspect::info(leaf).map_err(cert_error)?))
}

fn read(path: &Path) -> CtlResult<String> {
    files::read_pem(path).map_err(cert_error)
}

/// Runs a certs command (offline).
pub fn run(cmd: CertsCmd, out: &Out) -> CtlResult {
    match cmd {
        CertsCmd::Init(a) => init(a, out),
        CertsCmd::Issue(IssueCmd::Node(a)) => issue_node(a, out),
        CertsCmd::Issue(IssueCmd::Client(a)) => issue_client(a, out),
        CertsCmd::Inspect { file } => inspect_file(&file, out),
        CertsCmd::Verify(a) => verify(a, out),
    }
}

fn init(a: CertsInitArgs, out: &Out) -> CtlResult {
    check_days(a.days)?;
    if a.name.trim().is_empty() {
        return Err(CtlError::usage("--name must not be empty"));
    }
    let cert_file = a.dir.join(CA_CERT);
    let key_file = a.dir.join(CA_KEY);
    let replaced = check_targets(&cert_file, &key_file, a.force)?;
    let (kt, kt_name) = key_type(a.key_type);
    let ca = CertAuthority::create(&a.name, a.days, kt).map_err(cert_error)?;
    write_pair(&cert_file, &key_file, &ca.cert, a.force)?;
    if replaced {
        out.note("note: certificates issued by the previous CA are no longer trusted by it");
    }
    out.emit(&CertsIssued {
        kind: "ca".into(),
        key_type: kt_name.into(),
        cert_file: cert_file.display().to_string(),
        key_file: key_file.display().to_string(),
        ca_file: cert_file.display().to_string(),
        replaced,
        certificate: leaf_doc(&ca.cert.cert_pem, "the new CA")?,
    })
}

/// The CA in `dir`, with a hint when it is missing.
fn load_ca(dir: &Path, out: &Out) -> CtlResult<(CertAuthority, CertDoc)> {
    let cert_file = dir.join(CA_CERT);
    let key_file = dir.join(CA_KEY);
    for f in [&cert_file, &key_file] {
        if !f.is_file() {
            return Err(CtlError::new(
                ErrorClass::NotFound,
                format!(
                    "no CA in {}: {} is missing (create one with `holocronctl certs init --dir {}`)",
                    dir.display(),
                    f.display(),
                    dir.display()
                ),
            ));
        }
    }
    warn_if_exposed(&key_file, out);
    let cert_pem = read(&cert_file)?;
    let ca = CertAuthority::from_pem(&cert_pem, &read(&key_file)?).map_err(cert_error)?;
    let doc = leaf_doc(&cert_pem, &cert_file.display().to_string())?;
    if doc.days_left < 0 {
        return Err(CtlError::new(
            ErrorClass::InvalidCertificate,
            format!(
                "the CA {} expired on {}; create a new one",
                cert_file.display(),
                doc.not_after
            ),
        ));
    }
    Ok((ca, doc))
}

fn warn_if_exposed(key_file: &Path, out: &Out) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(key_file) {
        if m.permissions().mode() & 0o077 != 0 {
            out.note(format!(
                "warning: {} is readable by other users (mode {:o}); chmod 600 it",
                key_file.display(),
                m.permissions().mode() & 0o777
            ));
        }
    }
}

/// Validated settings shared by both `issue` commands.
struct IssuePlan {
    ca_dir: PathBuf,
    cert_file: PathBuf,
    key_file: PathBuf,
    days: u32,
    key_type: (KeyType, &'static str),
    force: bool,
}

fn issue_plan(o: IssueOpts, stem: &str) -> CtlResult<IssuePlan> {
    check_days(o.days)?;
    let dir = o.out.unwrap_or_else(|| o.ca_dir.clone());
    Ok(IssuePlan {
        cert_file: dir.join(format!("{stem}.crt")),
        key_file: dir.join(format!("{stem}.key")),
        ca_dir: o.ca_dir,
        days: o.days,
        key_type: key_type(o.key_type),
        force: o.force,
    })
}

fn issue(
    plan: &IssuePlan,
    kind: &str,
    out: &Out,
    make: impl FnOnce(&CertAuthority) -> Result<IssuedCert, CertError>,
) -> CtlResult {
    let replaced = check_targets(&plan.cert_file, &plan.key_file, plan.force)?;
    let (ca, ca_doc) = load_ca(&plan.ca_dir, out)?;
    let issued = make(&ca).map_err(cert_error)?;
    let doc = leaf_doc(&issued.cert_pem, "the new certificate")?;
    write_pair(&plan.cert_file, &plan.key_file, &issued, plan.force)?;
    if doc.not_after_unix > ca_doc.not_after_unix {
        out.note(format!(
            "note: the certificate outlives its CA, which expires on {}",
            ca_doc.not_after
        ));
    }
    out.emit(&CertsIssued {
        kind: kind.into(),
        key_type: plan.key_type.1.into(),
        cert_file: plan.cert_file.display().to_string(),
        key_file: plan.key_file.display().to_string(),
        ca_file: plan.ca_dir.join(CA_CERT).display().to_string(),
        replaced,
        certificate: doc,
    })
}

fn issue_node(a: IssueNodeArgs, out: &Out) -> CtlResult {
    if a.id < 0 {
        return Err(CtlError::usage("--id must not be negative"));
    }
    let hosts: Vec<String> = a
        .hosts
        .iter()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .collect();
    if hosts.is_empty() {
        return Err(CtlError::usage("give at least one --host"));
    }
    for h in &hosts {
        if ServerName::try_from(h.as_str()).is_err() {
            return Err(CtlError::usage(format!(
                "--host {h:?} is neither a DNS name nor an IP address"
            )));
        }
    }
    let plan = issue_plan(a.opts, &format!("node-{}", a.id))?;
    issue(&plan, "node", out, |ca| {
        ca.issue_node(a.id, &hosts, plan.days, plan.key_type.0)
    })
}

/// A principal as a file name: anything but `[A-Za-z0-9._-]` becomes `_`.
fn file_stem(principal: &str) -> String {
    principal
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn issue_client(a: IssueClientArgs, out: &Out) -> CtlResult {
    let name = a.name.trim().to_owned();
    if name.is_empty() || name.len() > 64 {
        return Err(CtlError::usage(
            "--name must be 1 to 64 bytes (it becomes the certificate's common name)",
        ));
    }
    let plan = issue_plan(a.opts, &format!("client-{}", file_stem(&name)))?;
    issue(&plan, "client", out, |ca| {
        ca.issue_client(&name, plan.days, plan.key_type.0)
    })
}

fn inspect_file(file: &Path, out: &Out) -> CtlResult {
    let pem = read(file)?;
    let certificates = inspect::parse_certs(&pem, &file.display().to_string())
        .map_err(cert_error)?
        .iter()
        .map(|c| inspect::info(c).map(CertDoc::new).map_err(cert_error))
        .collect::<CtlResult<Vec<_>>>()?;
    out.emit(&CertsInspect {
        file: file.display().to_string(),
        certificates,
    })
}

/// The default CA file: `ca.crt` in `$HOLOCRON_CERTS_DIR`, else in `certs/`.
fn default_ca() -> PathBuf {
    std::env::var_os("HOLOCRON_CERTS_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_CERTS_DIR), PathBuf::from)
        .join(CA_CERT)
}

fn reason_name(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Expired => "expired",
        VerifyError::NotYetValid => "not_yet_valid",
        VerifyError::WrongCa => "wrong_ca",
        VerifyError::WrongName(_) => "wrong_name",
        VerifyError::Other(_) => "invalid",
    }
}

fn verify(a: CertsVerifyArgs, out: &Out) -> CtlResult {
    if let Some(h) = &a.host {
        if ServerName::try_from(h.as_str()).is_err() {
            return Err(CtlError::usage(format!(
                "--host {h:?} is neither a DNS name nor an IP address"
            )));
        }
    }
    let ca_file = a.ca.clone().unwrap_or_else(default_ca);
    let pem = read(&a.file)?;
    let ca_pem = read(&ca_file)?;
    let file = a.file.display().to_string();
    let certificate = leaf_doc(&pem, &file)?;
    let purpose = match (&a.host, a.node, a.client) {
        (Some(h), _, _) => Purpose::Server(h.clone()),
        (None, Some(n), _) => Purpose::Node(n),
        (None, None, true) => Purpose::Client,
        (None, None, false) => certificate.node_id.map_or(Purpose::Client, Purpose::Node),
    };
    let verdict = inspect::verify(&pem, &ca_pem, &purpose).map_err(cert_error)?;
    let (purpose_name, host, node_id) = match &purpose {
        Purpose::Server(h) => ("server", Some(h.clone()), None),
        Purpose::Node(n) => ("node", None, Some(*n)),
        Purpose::Client => ("client", None, None),
    };
    let error = verdict.err();
    let message = error.as_ref().map(|e| match e {
        VerifyError::Expired => format!("{e} on {}", certificate.not_after),
        VerifyError::NotYetValid => format!("{e}: it starts on {}", certificate.not_before),
        VerifyError::WrongCa => format!("{e} ({})", ca_file.display()),
        _ => e.to_string(),
    });
    let doc = CertsVerify {
        file: file.clone(),
        ca: ca_file.display().to_string(),
        purpose: purpose_name.into(),
        host,
        node_id,
        valid: error.is_none(),
        reason: error.as_ref().map(|e| reason_name(e).to_owned()),
        message: message.clone(),
        certificate,
    };
    out.emit(&doc)?;
    match message {
        None => Ok(()),
        Some(m) => Err(CtlError::new(
            ErrorClass::InvalidCertificate,
            format!("{file}: {m}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_become_safe_file_names() {
        assert_eq!(file_stem("alice"), "alice");
        assert_eq!(file_stem("svc/billing prod"), "svc_billing_prod");
        assert_eq!(file_stem("../x"), ".._x");
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(86_400), "1970-01-02T00:00:00Z");
    }
}
