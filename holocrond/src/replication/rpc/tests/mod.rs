//! In-process tests of the node-to-node transport: real sockets on
//! 127.0.0.1 (port 0), certificates minted in memory with holocron-certs.
//!
//! - `calls`: calls between nodes, concurrency, no head-of-line blocking,
//!   timeouts, remote errors, busy answers;
//! - `lifecycle`: restarts and reconnects, missing peers, shutdown;
//! - `refusals`: every kind of certificate that must be refused;
//! - `robustness`: malformed and oversized frames from an authenticated peer.

mod calls;
mod lifecycle;
mod refusals;
mod robustness;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use holocron_certs::{CertAuthority, IssuedCert, KeyType};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_rustls::client::TlsStream;

use super::{start_on, HandlerError, NodeId, NodeTls, RpcConfig, RpcHandle, RpcHandler};

/// How long a test waits for something that should happen quickly.
const PATIENCE: Duration = Duration::from_secs(10);

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn ca(name: &str) -> CertAuthority {
    CertAuthority::create(name, 1, KeyType::EcdsaP256).expect("CA")
}

fn node_cert(ca: &CertAuthority, id: NodeId) -> IssuedCert {
    let id = i32::try_from(id).expect("small id");
    ca.issue_node(id, &["127.0.0.1".into()], 1, KeyType::EcdsaP256)
        .expect("node certificate")
}

fn tls(ca: &CertAuthority, cert: &IssuedCert) -> NodeTls {
    NodeTls {
        ca_pem: ca.cert.cert_pem.clone(),
        cert_pem: cert.cert_pem.clone(),
        key_pem: cert.key_pem.clone(),
    }
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

/// Answers by group: `slow` sleeps 2 s (announcing its start), `hang` never
/// answers (counting itself in `hanging`), `fail` fails, `panic` panics; anything else echoes who answered,
/// who asked, the kind and the payload.
#[derive(Debug, Default)]
struct TestHandler {
    me: NodeId,
    slow_started: Arc<Notify>,
    hanging: Arc<AtomicUsize>,
}

fn echo(me: NodeId, from: NodeId, kind: u8, payload: &[u8]) -> Bytes {
    let mut answer = format!("{me}<-{from}:{kind}:").into_bytes();
    answer.extend_from_slice(payload);
    Bytes::from(answer)
}

impl RpcHandler for TestHandler {
    fn handle(
        &self,
        from: NodeId,
        group: Bytes,
        kind: u8,
        payload: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, HandlerError>> {
        let me = self.me;
        let slow_started = self.slow_started.clone();
        let hanging = self.hanging.clone();
        Box::pin(async move {
            match &group[..] {
                b"slow" => {
                    slow_started.notify_one();
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    Ok(echo(me, from, kind, &payload))
                }
                b"hang" => {
                    hanging.fetch_add(1, Ordering::SeqCst);
                    std::future::pending().await
                }
                b"fail" => Err("no such group".into()),
                b"panic" => panic!("the handler panicked on purpose"),
                _ => Ok(echo(me, from, kind, &payload)),
            }
        })
    }
}

/// A node under test: its handle, its handler's slow-start signal and
/// count of hanging requests.
struct Node {
    rpc: RpcHandle,
    slow_started: Arc<Notify>,
    hanging: Arc<AtomicUsize>,
}

fn config(
    id: NodeId,
    ca: &CertAuthority,
    cert: &IssuedCert,
    peers: BTreeMap<NodeId, String>,
) -> RpcConfig {
    RpcConfig::new(
        id,
        "127.0.0.1:0".parse().expect("addr"),
        peers,
        tls(ca, cert),
    )
}

fn start(listener: TcpListener, config: RpcConfig) -> Node {
    let handler = TestHandler {
        me: config.node_id,
        ..TestHandler::default()
    };
    let slow_started = handler.slow_started.clone();
    let hanging = handler.hanging.clone();
    let rpc = start_on(listener, config, Arc::new(handler)).expect("start");
    Node {
        rpc,
        slow_started,
        hanging,
    }
}

/// Nodes with these ids, all from one CA, each listing all the others.
async fn cluster(ca: &CertAuthority, ids: &[NodeId]) -> Vec<Node> {
    init_tracing();
    let mut listeners = Vec::new();
    let mut peers = BTreeMap::new();
    for &id in ids {
        let l = listener().await;
        peers.insert(id, l.local_addr().expect("addr").to_string());
        listeners.push(l);
    }
    let nodes: Vec<Node> = ids
        .iter()
        .zip(listeners)
        .map(|(&id, l)| start(l, config(id, ca, &node_cert(ca, id), peers.clone())))
        .collect();
    for a in &nodes {
        for &b in ids.iter().filter(|&&b| b != a.rpc.node_id()) {
            assert!(
                a.rpc.wait_connected(b, PATIENCE).await,
                "node {} never connected to node {b}",
                a.rpc.node_id()
            );
        }
    }
    nodes
}

/// Waits until `cond` holds, polling; panics after [`PATIENCE`].
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A bare TLS connection to a node, presenting `cert` (as an attacker or a
/// confused client would), verifying the node's certificate by its IP SAN.
async fn raw_client(
    ca: &CertAuthority,
    cert: &IssuedCert,
    addr: std::net::SocketAddr,
) -> std::io::Result<TlsStream<TcpStream>> {
    let config = holocron_certs::tls::client_config(
        &ca.cert.cert_pem,
        Some((&cert.cert_pem, &cert.key_pem)),
    )
    .expect("client config");
    let tcp = TcpStream::connect(addr).await?;
    let name = tokio_rustls::rustls::pki_types::ServerName::from(addr.ip());
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// Reads from a raw connection until the node closes it; `Ok(bytes)` are
/// what it sent first (the hello, if it accepted us), `Err` if the read
/// failed (a TLS alert, say).
async fn read_until_closed(stream: &mut TlsStream<TcpStream>) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "node kept the connection open",
                )
            })??;
        if n == 0 {
            return Ok(got);
        }
        got.extend_from_slice(&buf[..n]);
    }
}
