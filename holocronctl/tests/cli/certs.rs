//! `holocronctl certs` (offline): files, modes and defaults, JSON read back
//! into the documented types, and the exit code of each kind of failure.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;
use holocron_certs::files::{write_pem, Overwrite, CERT_MODE, KEY_MODE};
use holocron_certs::CertAuthority;
use holocronctl::cmd::certs::{CertsInspect, CertsIssued, CertsVerify};
use holocronctl::exit::{ErrorClass, ErrorDoc};
use holocronctl::output::Doc;
use predicates::prelude::*;
use serde::de::DeserializeOwned;

/// holocronctl in its own working directory, with no HOLOCRON_* settings.
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn new() -> Certs {
        Certs {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self, p: &str) -> std::path::PathBuf {
        self.dir.path().join(p)
    }

    fn ctl(&self) -> Command {
        let mut c = Command::cargo_bin("holocronctl").expect("holocronctl binary");
        c.current_dir(self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env_remove("HOLOCRON_CERTS_DIR")
            .env_remove("HOLOCRON_BROKERS")
            .env_remove("HOLOCRON_CONFIG")
            .env_remove("HOLOCRON_PROFILE");
        c
    }

    fn json<T: DeserializeOwned>(&self, args: &[&str], schema: &str) -> T {
        let out = self.ctl().args(args).arg("--json").output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        super::parse(&out.stdout, schema)
    }

    /// Expects exit `class` with one line (or one JSON object) on stderr.
    fn fails(&self, args: &[&str], class: ErrorClass) -> String {
        let out = self.ctl().args(args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(i32::from(class.code())),
            "{args:?}: {err}"
        );
        assert!(err.starts_with("holocronctl: error: "), "{err}");
        let out = self.ctl().args(args).arg("--json").output().expect("run");
        let doc: Doc<ErrorDoc> = serde_json::from_slice(
            out.stderr
                .split(|b| *b == b'\n')
                .find(|l| l.starts_with(b"{"))
                .unwrap_or_default(),
        )
        .expect("JSON error on stderr");
        assert_eq!(doc.data.class, class);
        err
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

#[test]
fn init_issue_inspect_and_verify_with_safe_defaults() {
    let c = Certs::new();
    let ca: CertsIssued = c.json(&["certs", "init"], "holocron.certs.init/v1");
    assert_eq!(ca.kind, "ca");
    assert_eq!(ca.key_type, "ecdsa-p256");
    assert_eq!(ca.cert_file, "certs/ca.crt");
    assert!(ca.certificate.is_ca);
    assert!((3649..=3650).contains(&ca.certificate.days_left), "{ca:?}");
    assert_eq!(mode(&c.path("certs/ca.key")), 0o600);
    assert_eq!(mode(&c.path("certs/ca.crt")), 0o644);

    let node: CertsIssued = c.json(
        &[
            "certs",
            "issue",
            "node",
            "--id",
            "3",
            "--host",
            "localhost,127.0.0.1",
            "--host",
            "::1",
        ],
        "holocron.certs.issue/v1",
    );
    assert_eq!(node.kind, "node");
    assert_eq!(node.cert_file, "certs/node-3.crt");
    assert_eq!(node.certificate.node_id, Some(3));
    assert_eq!(node.certificate.dns_names, ["localhost"]);
    assert_eq!(node.certificate.ip_addresses, ["127.0.0.1", "::1"]);
    assert!((364..=365).contains(&node.certificate.days_left));
    assert_eq!(node.certificate.issuer, ca.certificate.subject);
    assert_eq!(mode(&c.path("certs/node-3.key")), 0o600);

    let client: CertsIssued = c.json(
        &[
            "certs",
            "issue",
            "client",
            "--name",
            "billing service",
            "--out",
            "clients",
            "--days",
            "30",
            "--key-type",
            "ed25519",
        ],
        "holocron.certs.issue/v1",
    );
    assert_eq!(client.cert_file, "clients/client-billing_service.crt");
    assert_eq!(
        client.certificate.common_name.as_deref(),
        Some("billing service")
    );
    assert_eq!(client.certificate.kind, "client");
    assert_eq!(client.key_type, "ed25519");
    assert_eq!(mode(&c.path("clients/client-billing_service.key")), 0o600);

    let inspect: CertsInspect = c.json(
        &["certs", "inspect", "certs/node-3.crt"],
        "holocron.certs.inspect/v1",
    );
    // days_left is counted from "now", which moves between issue and
    // inspect (it can drop by one across that boundary); every other field
    // must be identical.
    assert_eq!(inspect.certificates.len(), 1);
    let mut seen = inspect.certificates[0].clone();
    assert!(node.certificate.days_left - seen.days_left <= 1);
    seen.days_left = node.certificate.days_left;
    assert_eq!(seen, node.certificate);
    c.ctl()
        .args(["certs", "inspect", "certs/node-3.crt"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Node id       3").and(predicate::str::contains("days left")),
        );

    for (args, purpose) in [
        (&["--host", "127.0.0.1"][..], "server"),
        (&["--host", "localhost"], "server"),
        (&["--node", "3"], "node"),
        (&[], "node"),
    ] {
        let mut all = vec!["certs", "verify", "certs/node-3.crt"];
        all.extend_from_slice(args);
        let v: CertsVerify = c.json(&all, "holocron.certs.verify/v1");
        assert!(v.valid, "{args:?}: {v:?}");
        assert_eq!(v.purpose, purpose);
        assert_eq!(v.reason, None);
    }
    let v: CertsVerify = c.json(
        &[
            "certs",
            "verify",
            "clients/client-billing_service.crt",
            "--ca",
            "certs/ca.crt",
        ],
        "holocron.certs.verify/v1",
    );
    assert_eq!((v.valid, v.purpose.as_str()), (true, "client"));
    c.ctl()
        .args(["certs", "verify", "certs/node-3.crt", "--host", "127.0.0.1"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("valid: "));
    // $HOLOCRON_CERTS_DIR is the default CA directory.
    c.ctl()
        .env("HOLOCRON_CERTS_DIR", "elsewhere")
        .args(["certs", "init", "--json"])
        .assert()
        .success();
    assert_eq!(mode(&c.path("elsewhere/ca.key")), 0o600);
}

/// Runs `certs verify` expecting exit 10; returns the stdout document.
fn invalid(c: &Certs, args: &[&str], reason: &str) -> CertsVerify {
    let mut all = vec!["certs", "verify"];
    all.extend_from_slice(args);
    let err = c.fails(&all, ErrorClass::InvalidCertificate);
    all.push("--json");
    let out = c.ctl().args(&all).output().expect("run");
    let v: CertsVerify = super::parse(&out.stdout, "holocron.certs.verify/v1");
    assert!(!v.valid);
    assert_eq!(v.reason.as_deref(), Some(reason), "{v:?} / {err}");
    v
}

#[test]
fn invalid_certificates_exit_10_and_say_why() {
    let c = Certs::new();
    c.json::<CertsIssued>(&["certs", "init"], "holocron.certs.init/v1");
    c.json::<CertsIssued>(
        &["certs", "init", "--dir", "other"],
        "holocron.certs.init/v1",
    );
    c.json::<CertsIssued>(
        &[
            "certs",
            "issue",
            "node",
            "--id",
            "1",
            "--host",
            "broker-1.example",
        ],
        "holocron.certs.issue/v1",
    );
    c.json::<CertsIssued>(
        &[
            "certs", "issue", "client", "--name", "eve", "--ca-dir", "other",
        ],
        "holocron.certs.issue/v1",
    );
    let v = invalid(
        &c,
        &["certs/node-1.crt", "--host", "broker-2.example"],
        "wrong_name",
    );
    assert_eq!(v.host.as_deref(), Some("broker-2.example"));
    invalid(&c, &["certs/node-1.crt", "--node", "2"], "wrong_name");
    invalid(&c, &["other/client-eve.crt", "--client"], "wrong_ca");
    invalid(
        &c,
        &["certs/node-1.crt", "--ca", "other/ca.crt"],
        "wrong_ca",
    );

    let ca = CertAuthority::from_pem(
        &std::fs::read_to_string(c.path("certs/ca.crt")).expect("ca"),
        &std::fs::read_to_string(c.path("certs/ca.key")).expect("key"),
    )
    .expect("CA");
    let now = time::OffsetDateTime::now_utc();
    for (name, from, to) in [
        (
            "expired",
            now - time::Duration::days(9),
            now - time::Duration::days(2),
        ),
        (
            "future",
            now + time::Duration::days(2),
            now + time::Duration::days(9),
        ),
    ] {
        let cert = ca.issue_client_between(name, from, to).expect("issue");
        write_pem(
            &c.path(&format!("{name}.crt")),
            &cert.cert_pem,
            CERT_MODE,
            Overwrite::Refuse,
        )
        .expect("write");
        write_pem(
            &c.path(&format!("{name}.key")),
            &cert.key_pem,
            KEY_MODE,
            Overwrite::Refuse,
        )
        .expect("write");
    }
    let v = invalid(&c, &["expired.crt"], "expired");
    assert!(v.certificate.days_left < 0, "{v:?}");
    assert!(v.message.as_deref().is_some_and(|m| m.contains("expired")));
    invalid(&c, &["future.crt"], "not_yet_valid");
    let out = c
        .ctl()
        .args(["certs", "inspect", "expired.crt"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired 2 days ago"));
}

#[test]
fn refusals_and_bad_input_have_their_exit_codes() {
    let c = Certs::new();
    // No CA yet: not found, with a hint.
    let err = c.fails(
        &["certs", "issue", "client", "--name", "alice"],
        ErrorClass::NotFound,
    );
    assert!(err.contains("certs init"), "{err}");
    c.json::<CertsIssued>(&["certs", "init"], "holocron.certs.init/v1");
    let key_before = std::fs::read(c.path("certs/ca.key")).expect("key");
    // Nothing is overwritten without --force.
    let err = c.fails(&["certs", "init"], ErrorClass::AlreadyExists);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read(c.path("certs/ca.key")).expect("key"),
        key_before
    );
    c.json::<CertsIssued>(
        &["certs", "issue", "client", "--name", "alice"],
        "holocron.certs.issue/v1",
    );
    c.fails(
        &["certs", "issue", "client", "--name", "alice"],
        ErrorClass::AlreadyExists,
    );
    let again: CertsIssued = c.json(
        &["certs", "issue", "client", "--name", "alice", "--force"],
        "holocron.certs.issue/v1",
    );
    assert!(again.replaced);
    assert_eq!(mode(&c.path("certs/client-alice.key")), 0o600);
    // Bad values are usage errors, before anything is written.
    for args in [
        &[
            "certs",
            "issue",
            "node",
            "--id",
            "1",
            "--host",
            "not a host",
        ][..],
        &["certs", "issue", "node", "--id", "-1", "--host", "h"],
        &["certs", "issue", "node", "--id", "1"],
        &["certs", "issue", "client", "--name", ""],
        &["certs", "issue", "client", "--name", "bob", "--days", "0"],
        &["certs", "init", "--dir", "x", "--key-type", "rsa"],
        &["certs", "verify", "certs/ca.crt", "--client", "--node", "1"],
    ] {
        c.fails(args, ErrorClass::Usage);
    }
    assert!(!c.path("certs/node-1.crt").exists() && !c.path("x").exists());
    c.fails(&["certs", "inspect", "nope.crt"], ErrorClass::NotFound);
    std::fs::write(c.path("junk.crt"), "hello\n").expect("write");
    c.fails(&["certs", "inspect", "junk.crt"], ErrorClass::Failure);
    // Offline: no broker is needed, even when one is named.
    c.ctl()
        .args([
            "--brokers",
            "127.0.0.1:1",
            "certs",
            "inspect",
            "certs/ca.crt",
        ])
        .assert()
        .success();
}
