//! TLS listeners end to end: certificates made with `holocronctl certs`,
//! a broker with a plaintext and a `tls://` listener, and real clients.
//!
//! - kcat and confluent-kafka over TLS with server authentication only and
//!   with mTLS (`--client-auth required`), the principal logged;
//! - refused: no client certificate when mTLS is required, a certificate
//!   from another CA, an expired certificate;
//! - holocronctl over TLS and mTLS (flags and profiles) and its exit codes
//!   when a certificate is refused on either side;
//! - a plaintext client on the TLS port gets its connection closed and the
//!   broker keeps serving;
//! - certificate files reloaded when they change and on SIGHUP (the served
//!   certificate's serial read with a rustls client);
//! - generated keys 0600, certificates 0644.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use holocron_certs::files::{write_pem, Overwrite, CERT_MODE, KEY_MODE};
use holocron_certs::CertAuthority;
use holocron_tests::broker::{api_versions_v0_request, probe_api_versions};
use holocron_tests::process::{self, run, run_ok, run_ok_with_input, Output};
use holocron_tests::tools::{kcat, require_tool};
use holocron_tests::{holocronctl_bin, run_python, Broker, BrokerOpts};
use tempfile::TempDir;

const TIMEOUT: Duration = Duration::from_secs(60);

/// Exit codes of holocronctl (holocronctl/src/exit.rs).
const EXIT_UNREACHABLE: i32 = 5;
const EXIT_NOT_AUTHORIZED: i32 = 6;
const EXIT_INVALID_CERTIFICATE: i32 = 10;

/// A client identity: certificate and key files.
#[derive(Debug, Clone)]
struct Identity {
    cert: PathBuf,
    key: PathBuf,
}

/// Certificates for one test: the CA, the broker's node certificate, a
/// client of this CA, a client of another CA, and an expired client.
#[derive(Debug)]
struct Pki {
    dir: TempDir,
    ca_dir: PathBuf,
    ca: PathBuf,
    node: Identity,
    alice: Identity,
    other_ca: PathBuf,
    mallory: Identity,
    expired: Identity,
}

/// holocronctl with no HOLOCRON_* settings from the test's environment and
/// a private config dir.
fn ctl(config_home: &Path) -> Command {
    let mut cmd = Command::new(holocronctl_bin());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HOLOCRON_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("XDG_CONFIG_HOME", config_home);
    cmd
}

fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", output.stdout_str()))
}

#[track_caller]
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

impl Pki {
    /// Makes everything with the holocronctl binary, except the expired
    /// certificate (holocronctl only issues certificates valid from now).
    fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("holocron-tls-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let certs = |args: &[&str]| {
            let out = run_ok(ctl(d).arg("certs").args(args).arg("--json"), TIMEOUT);
            json_of(&out)
        };
        let ca_dir = d.join("ca");
        let ca_dir_s = ca_dir.to_str().expect("utf8 path");
        let init = certs(&["init", "--dir", ca_dir_s]);
        assert_eq!(init["schema"], "holocron.certs.init/v1", "{init}");
        let node = certs(&[
            "issue",
            "node",
            "--id",
            "0",
            "--host",
            "localhost",
            "--host",
            "127.0.0.1",
            "--ca-dir",
            ca_dir_s,
            "--out",
            d.join("node").to_str().expect("utf8"),
        ]);
        assert_eq!(node["certificate"]["node_id"], 0, "{node}");
        certs(&[
            "issue",
            "client",
            "--name",
            "alice",
            "--ca-dir",
            ca_dir_s,
            "--out",
            d.join("alice").to_str().expect("utf8"),
        ]);
        let other = d.join("other-ca");
        let other_s = other.to_str().expect("utf8");
        certs(&["init", "--dir", other_s, "--name", "Another CA"]);
        certs(&["issue", "client", "--name", "mallory", "--ca-dir", other_s]);

        let ca_pem = std::fs::read_to_string(ca_dir.join("ca.crt")).expect("ca.crt");
        let ca_key = std::fs::read_to_string(ca_dir.join("ca.key")).expect("ca.key");
        let ca = CertAuthority::from_pem(&ca_pem, &ca_key).expect("CA");
        let now = time::OffsetDateTime::now_utc();
        let old = ca
            .issue_client_between(
                "old-timer",
                now - time::Duration::days(30),
                now - time::Duration::days(1),
            )
            .expect("expired certificate");
        let expired = Identity {
            cert: d.join("expired/client.crt"),
            key: d.join("expired/client.key"),
        };
        write_pem(&expired.cert, &old.cert_pem, CERT_MODE, Overwrite::Refuse).expect("write");
        write_pem(&expired.key, &old.key_pem, KEY_MODE, Overwrite::Refuse).expect("write");

        let pki = Pki {
            ca: ca_dir.join("ca.crt"),
            node: Identity {
                cert: d.join("node/node-0.crt"),
                key: d.join("node/node-0.key"),
            },
            alice: Identity {
                cert: d.join("alice/client-alice.crt"),
                key: d.join("alice/client-alice.key"),
            },
            other_ca: other.join("ca.crt"),
            mallory: Identity {
                cert: other.join("client-mallory.crt"),
                key: other.join("client-mallory.key"),
            },
            expired,
            ca_dir,
            dir,
        };
        pki.assert_permissions();
        pki
    }

    /// Keys are 0600, certificates 0644.
    #[track_caller]
    fn assert_permissions(&self) {
        let mut keys = vec![self.ca_dir.join("ca.key")];
        let mut certs = vec![self.ca.clone(), self.other_ca.clone()];
        for id in [&self.node, &self.alice, &self.mallory] {
            keys.push(id.key.clone());
            certs.push(id.cert.clone());
        }
        for k in &keys {
            assert_eq!(mode(k), 0o600, "{}", k.display());
        }
        for c in &certs {
            assert_eq!(mode(c), 0o644, "{}", c.display());
        }
    }

    fn config_home(&self) -> PathBuf {
        self.dir.path().join("config")
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A broker with its usual plaintext listener plus a TLS listener.
struct TlsBroker {
    broker: Broker,
    tls_port: u16,
}

impl TlsBroker {
    fn start(pki: &Pki, client_auth: &str) -> TlsBroker {
        let tls_port = free_port();
        let broker = Broker::start_with(BrokerOpts {
            extra_args: vec![
                "--listen".into(),
                format!("tls://127.0.0.1:{tls_port}"),
                "--tls-cert".into(),
                path(&pki.node.cert),
                "--tls-key".into(),
                path(&pki.node.key),
                "--tls-ca".into(),
                path(&pki.ca),
                "--client-auth".into(),
                client_auth.into(),
            ],
            ..BrokerOpts::default()
        });
        TlsBroker { broker, tls_port }
    }

    fn tls_bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.tls_port)
    }

    fn tls_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.tls_port))
    }

    /// Waits (bounded) until the broker log contains `needle` `count` times.
    #[track_caller]
    fn wait_for_log(&self, needle: &str, count: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.broker.log().matches(needle).count() < count {
            assert!(
                Instant::now() < deadline,
                "the broker log does not show {needle:?} {count} times within {within:?}\n{}",
                self.broker.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// kcat over TLS trusting `ca`, with a client certificate if given.
fn kcat_tls(bootstrap: &str, ca: &Path, id: Option<&Identity>) -> Command {
    let mut cmd = kcat(bootstrap);
    cmd.args(["-X", "security.protocol=ssl", "-X"])
        .arg(format!("ssl.ca.location={}", ca.display()));
    if let Some(id) = id {
        cmd.arg("-X")
            .arg(format!("ssl.certificate.location={}", id.cert.display()))
            .arg("-X")
            .arg(format!("ssl.key.location={}", id.key.display()));
    }
    cmd
}

/// Produces `lines` with kcat, reads them back, and lists metadata.
#[track_caller]
fn kcat_round_trip(b: &TlsBroker, ca: &Path, id: Option<&Identity>, topic: &str) {
    let boot = b.tls_bootstrap();
    run_ok_with_input(
        kcat_tls(&boot, ca, id)
            .args(["-P", "-t", topic, "-m", "10", "-K", ":"])
            .args(["-X", "message.timeout.ms=30000"]),
        b"k1:one\nk2:two\nk3:three\n",
        TIMEOUT,
    );
    let out = run_ok(
        kcat_tls(&boot, ca, id).args(["-C", "-t", topic, "-e", "-m", "10", "-f", "%k=%s\n"]),
        TIMEOUT,
    );
    let mut got: Vec<String> = out.stdout_str().lines().map(str::to_owned).collect();
    got.sort();
    assert_eq!(
        got,
        ["k1=one", "k2=two", "k3=three"],
        "{}",
        out.stderr_str()
    );
    let md = run_ok(
        kcat_tls(&boot, ca, id).args(["-L", "-J", "-m", "10"]),
        TIMEOUT,
    );
    let md: serde_json::Value = serde_json::from_slice(&md.stdout).expect("kcat -L -J");
    assert_eq!(md["brokers"][0]["name"], boot.as_str(), "{md}");
}

/// Expects kcat to fail to get metadata over TLS (the handshake is refused).
#[track_caller]
fn kcat_refused(b: &TlsBroker, ca: &Path, id: Option<&Identity>, what: &str) {
    let out = run(
        kcat_tls(&b.tls_bootstrap(), ca, id).args(["-L", "-m", "5"]),
        TIMEOUT,
    );
    assert!(
        !out.status.success(),
        "kcat with {what} was served: {}",
        out.stdout_str()
    );
}

#[test]
fn kcat_over_tls_with_server_authentication_only() {
    require_tool("kcat", "-V");
    let pki = Pki::new();
    let b = TlsBroker::start(&pki, "none");
    kcat_round_trip(&b, &pki.ca, None, "kcat-tls");
    b.wait_for_log("principal=\"ANONYMOUS\"", 1, TIMEOUT);
    // The broker's certificate must chain to the CA the client trusts.
    kcat_refused(&b, &pki.other_ca, None, "another CA as its trust anchor");
    // The plaintext listener still works alongside.
    probe_api_versions(b.broker.kafka_addr()).expect("plaintext listener");
    b.broker.assert_no_panics();
}

#[test]
fn kcat_over_mtls_refuses_missing_foreign_and_expired_certificates() {
    require_tool("kcat", "-V");
    let pki = Pki::new();
    let b = TlsBroker::start(&pki, "required");
    kcat_round_trip(&b, &pki.ca, Some(&pki.alice), "kcat-mtls");
    b.wait_for_log("principal=\"alice\"", 1, TIMEOUT);
    kcat_refused(&b, &pki.ca, None, "no client certificate");
    b.wait_for_log("peer sent no certificates", 1, TIMEOUT);
    kcat_refused(
        &b,
        &pki.ca,
        Some(&pki.mallory),
        "a certificate from another CA",
    );
    kcat_refused(&b, &pki.ca, Some(&pki.expired), "an expired certificate");
    let log = b.broker.log();
    assert!(
        !log.contains("principal=\"mallory\"") && !log.contains("principal=\"old-timer\""),
        "a refused client got a connection\n{}",
        b.broker.log_tail()
    );
    // Still serving the right client.
    kcat_round_trip(&b, &pki.ca, Some(&pki.alice), "kcat-mtls-2");
    b.broker.assert_no_panics();
}

#[test]
fn optional_client_auth_takes_anonymous_and_verified_clients() {
    require_tool("kcat", "-V");
    let pki = Pki::new();
    let b = TlsBroker::start(&pki, "optional");
    kcat_round_trip(&b, &pki.ca, None, "opt-anon");
    kcat_round_trip(&b, &pki.ca, Some(&pki.alice), "opt-alice");
    b.wait_for_log("principal=\"ANONYMOUS\"", 1, TIMEOUT);
    b.wait_for_log("principal=\"alice\"", 1, TIMEOUT);
    // A certificate that is presented must still be valid.
    kcat_refused(
        &b,
        &pki.ca,
        Some(&pki.mallory),
        "a certificate from another CA",
    );
}

fn confluent(b: &TlsBroker, pki: &Pki, id: Option<&Identity>, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--ca".to_owned(), path(&pki.ca)];
    if let Some(id) = id {
        all.extend([
            "--cert".into(),
            path(&id.cert),
            "--key".into(),
            path(&id.key),
        ]);
    }
    all.extend(args.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    run_python(
        "confluent_tls.py",
        &b.tls_bootstrap(),
        &refs,
        Duration::from_secs(180),
    )
}

#[test]
fn confluent_kafka_over_tls_and_mtls() {
    let pki = Pki::new();
    let server_only = TlsBroker::start(&pki, "none");
    let s = confluent(
        &server_only,
        &pki,
        None,
        &["--topic", "cf-tls", "--records", "2000"],
    );
    assert_eq!(s["records"], 2000, "{s}");

    let mtls = TlsBroker::start(&pki, "required");
    let s = confluent(
        &mtls,
        &pki,
        Some(&pki.alice),
        &["--topic", "cf-mtls", "--records", "2000"],
    );
    assert_eq!(s["records"], 2000, "{s}");
    assert_eq!(s["mtls"], true, "{s}");
    mtls.wait_for_log("principal=\"alice\"", 1, TIMEOUT);
    for (id, what) in [
        (None, "no certificate"),
        (Some(&pki.mallory), "another CA"),
        (Some(&pki.expired), "expired"),
    ] {
        let s = confluent(&mtls, &pki, id, &["--mode", "refused", "--seconds", "8"]);
        assert_eq!(s["refused"], true, "{what}: {s}");
    }
    mtls.broker.assert_no_panics();
}

/// holocronctl against `b`'s TLS listener with extra arguments.
fn ctl_tls(pki: &Pki, b: &TlsBroker, args: &[&str]) -> Command {
    let mut cmd = ctl(&pki.config_home());
    cmd.args(["--brokers", &b.tls_bootstrap(), "--timeout", "10s"])
        .args(args);
    cmd
}

#[track_caller]
fn exit_code(out: &Output, want: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(want),
        "{what}: stderr {}",
        out.stderr_str()
    );
    assert_eq!(
        out.stderr_str().lines().count(),
        1,
        "{what}: one line on stderr"
    );
}

#[test]
fn holocronctl_over_tls_and_mtls_with_exit_codes_for_refused_certificates() {
    let pki = Pki::new();
    let ca = path(&pki.ca);
    let b = TlsBroker::start(&pki, "none");
    let with_ca = ["--tls-ca", ca.as_str()];
    run_ok(
        ctl_tls(&pki, &b, &with_ca).args(["topic", "create", "ctl-tls", "-p", "2"]),
        TIMEOUT,
    );
    run_ok_with_input(
        ctl_tls(&pki, &b, &with_ca).args(["produce", "ctl-tls"]),
        b"a\nb\nc\n",
        TIMEOUT,
    );
    let out = run_ok(
        ctl_tls(&pki, &b, &with_ca).args(["consume", "ctl-tls", "--format", "%v\n"]),
        TIMEOUT,
    );
    let mut got: Vec<String> = out.stdout_str().lines().map(str::to_owned).collect();
    got.sort();
    assert_eq!(got, ["a", "b", "c"]);
    // The server name to check can be given; a wrong one is refused.
    run_ok(
        ctl_tls(&pki, &b, &with_ca).args(["--tls-server-name", "localhost", "topic", "list"]),
        TIMEOUT,
    );
    let out = run(
        ctl_tls(&pki, &b, &with_ca).args([
            "--tls-server-name",
            "elsewhere.example",
            "topic",
            "list",
        ]),
        TIMEOUT,
    );
    exit_code(&out, EXIT_INVALID_CERTIFICATE, "wrong server name");
    let out = run(
        &mut ctl_tls(
            &pki,
            &b,
            &["--tls-ca", &path(&pki.other_ca), "topic", "list"],
        ),
        TIMEOUT,
    );
    exit_code(&out, EXIT_INVALID_CERTIFICATE, "another CA");
    assert!(
        out.stderr_str().contains("not issued by the trusted CA"),
        "{}",
        out.stderr_str()
    );
    // Plaintext to the TLS port, and TLS to the plaintext port.
    let out = run(&mut ctl_tls(&pki, &b, &["topic", "list"]), TIMEOUT);
    exit_code(&out, EXIT_UNREACHABLE, "plaintext to a TLS listener");
    assert!(
        out.stderr_str().contains("TLS listener"),
        "{}",
        out.stderr_str()
    );
    let out = run(
        ctl(&pki.config_home())
            .args(["--brokers", &b.broker.bootstrap(), "--tls-ca", &ca])
            .args(["topic", "list"]),
        TIMEOUT,
    );
    exit_code(&out, EXIT_UNREACHABLE, "TLS to a plaintext listener");
    // Clients leaving without close_notify are not bad requests.
    assert!(
        !b.broker.log().contains("close_notify"),
        "{}",
        b.broker.log_tail()
    );

    let m = TlsBroker::start(&pki, "required");
    let out = run(ctl_tls(&pki, &m, &with_ca).args(["topic", "list"]), TIMEOUT);
    exit_code(&out, EXIT_NOT_AUTHORIZED, "no client certificate");
    assert!(
        out.stderr_str().contains("requires a client certificate"),
        "{}",
        out.stderr_str()
    );
    for (id, what) in [(&pki.mallory, "another CA"), (&pki.expired, "expired")] {
        let out = run(
            ctl_tls(&pki, &m, &with_ca)
                .args(["--tls-cert", &path(&id.cert), "--tls-key", &path(&id.key)])
                .args(["topic", "list"]),
            TIMEOUT,
        );
        exit_code(&out, EXIT_NOT_AUTHORIZED, what);
    }
    // A profile carries the TLS settings.
    run_ok(
        ctl(&pki.config_home()).args([
            "profile",
            "create",
            "secure",
            "--brokers",
            &m.tls_bootstrap(),
            "--tls-ca",
            &ca,
            "--tls-cert",
            &path(&pki.alice.cert),
            "--tls-key",
            &path(&pki.alice.key),
            "--use",
        ]),
        TIMEOUT,
    );
    let out = run_ok(
        ctl(&pki.config_home()).args(["cluster", "info", "--json"]),
        TIMEOUT,
    );
    assert_eq!(json_of(&out)["schema"], "holocron.cluster.info/v1");
    m.wait_for_log("principal=\"alice\"", 1, TIMEOUT);
    b.broker.assert_no_panics();
    m.broker.assert_no_panics();
}

#[test]
fn a_plaintext_client_on_the_tls_port_is_closed_and_the_broker_keeps_serving() {
    let pki = Pki::new();
    let b = TlsBroker::start(&pki, "none");
    for attempt in 0..3 {
        let mut s = TcpStream::connect_timeout(&b.tls_addr(), Duration::from_secs(5))
            .expect("connect to the TLS port");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        s.write_all(&api_versions_v0_request(7, "plaintext-on-tls"))
            .expect("write");
        let started = Instant::now();
        let mut answer = Vec::new();
        let read = s.read_to_end(&mut answer);
        assert!(
            !matches!(&read, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
            "attempt {attempt}: the broker kept the connection open for {:?}",
            started.elapsed()
        );
        // Nothing, or a TLS alert record: never a Kafka answer.
        assert!(
            answer.is_empty() || answer[0] == 0x15,
            "attempt {attempt}: got {answer:02x?}"
        );
    }
    b.wait_for_log("TLS handshake failed", 3, TIMEOUT);
    probe_api_versions(b.broker.kafka_addr()).expect("the plaintext listener still serves");
    let serial = served_serial(b.tls_addr(), &pki.ca).expect("TLS still serves");
    assert!(!serial.is_empty());
    let mut broker = b.broker;
    assert!(broker.is_running());
    broker.assert_no_panics();
}

/// The serial (lowercase hex) of the certificate the broker serves, read
/// with a rustls client that trusts `ca`.
fn served_serial(addr: SocketAddr, ca: &Path) -> Result<String, String> {
    let ca_pem = std::fs::read_to_string(ca).map_err(|e| e.to_string())?;
    let config = holocron_certs::tls::client_config(&ca_pem, None).map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let mut conn =
        rustls::ClientConnection::new(Arc::clone(&config), name).map_err(|e| e.to_string())?;
    let mut sock =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no certificate served")?;
    let info = holocron_certs::inspect::info(leaf).map_err(|e| e.to_string())?;
    Ok(info.serial.to_ascii_lowercase())
}

/// The serial of the certificate in a PEM file, via `holocronctl certs inspect`.
fn file_serial(pki: &Pki, file: &Path) -> String {
    let out = run_ok(
        ctl(&pki.config_home())
            .args(["certs", "inspect", "--json"])
            .arg(file),
        TIMEOUT,
    );
    let doc = json_of(&out);
    doc["certificates"][0]["serial"]
        .as_str()
        .expect("serial")
        .to_owned()
}

#[track_caller]
fn wait_for_serial(b: &TlsBroker, ca: &Path, want: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let got = served_serial(b.tls_addr(), ca);
        if got.as_deref() == Ok(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the broker still serves {got:?}, not {want}, after {within:?}\n{}",
            b.broker.log_tail()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn certificate_files_are_reloaded_when_they_change_and_on_sighup() {
    const RELOADED: &str = "reloaded TLS certificates";
    let pki = Pki::new();
    let b = TlsBroker::start(&pki, "none");
    let first = file_serial(&pki, &pki.node.cert);
    assert_eq!(
        served_serial(b.tls_addr(), &pki.ca).as_deref(),
        Ok(first.as_str())
    );

    // Re-issue the node certificate in place: a new key and serial.
    let out = run_ok(
        ctl(&pki.config_home())
            .args([
                "certs",
                "issue",
                "node",
                "--id",
                "0",
                "--host",
                "127.0.0.1",
                "--force",
            ])
            .args(["--ca-dir", &path(&pki.ca_dir), "--out"])
            .arg(pki.node.cert.parent().expect("dir"))
            .arg("--json"),
        TIMEOUT,
    );
    let issued = json_of(&out);
    assert_eq!(issued["replaced"], true, "{issued}");
    let second = issued["certificate"]["serial"]
        .as_str()
        .expect("serial")
        .to_owned();
    assert_ne!(first, second);
    // Files are checked every 5 s.
    wait_for_serial(&b, &pki.ca, &second, Duration::from_secs(30));
    b.wait_for_log(RELOADED, 1, TIMEOUT);
    assert_eq!(mode(&pki.node.key), 0o600, "a replaced key stays private");

    // A broken replacement is refused and the last good pair stays in use.
    std::fs::write(&pki.node.cert, "not a certificate\n").expect("write");
    b.wait_for_log("TLS certificates not reloaded", 1, Duration::from_secs(30));
    assert_eq!(
        served_serial(b.tls_addr(), &pki.ca).as_deref(),
        Ok(second.as_str())
    );

    // SIGHUP reloads at once, whether or not the files changed.
    run_ok(
        ctl(&pki.config_home())
            .args([
                "certs",
                "issue",
                "node",
                "--id",
                "0",
                "--host",
                "127.0.0.1",
                "--force",
            ])
            .args(["--ca-dir", &path(&pki.ca_dir), "--out"])
            .arg(pki.node.cert.parent().expect("dir")),
        TIMEOUT,
    );
    let third = file_serial(&pki, &pki.node.cert);
    wait_for_serial(&b, &pki.ca, &third, Duration::from_secs(30));
    // Past one more file check, so only the signal can cause a reload.
    std::thread::sleep(Duration::from_secs(6));
    let reloads = b.broker.log().matches(RELOADED).count();
    process::check_ok(
        "kill -HUP",
        run(
            Command::new("kill")
                .arg("-HUP")
                .arg(b.broker.pid().to_string()),
            TIMEOUT,
        ),
    );
    b.wait_for_log(RELOADED, reloads + 1, Duration::from_secs(4));
    assert_eq!(
        served_serial(b.tls_addr(), &pki.ca).as_deref(),
        Ok(third.as_str())
    );
    let mut broker = b.broker;
    assert!(broker.is_running(), "SIGHUP must not stop the broker");
    broker.assert_no_panics();
}
