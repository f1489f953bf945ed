//! Certificates that must be refused, on either side of the handshake.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use holocron_certs::KeyType;

use super::*;
use crate::replication::rpc::identity::{refusal, Refusal};
use crate::replication::rpc::RpcError;

const T: Duration = Duration::from_secs(5);

/// Waits until `node`'s calls to `peer` fail with an `Unreachable` whose
/// reason contains `needle`; returns that reason.
async fn unreachable_because(node: &Node, peer: NodeId, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match node.rpc.call(peer, Bytes::new(), 0, Bytes::new(), T).await {
            Err(RpcError::Unreachable { reason, .. }) if reason.contains(needle) => return reason,
            Err(RpcError::Unreachable { reason, .. }) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "reason never became {needle:?}: {reason}"
                )
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two nodes, 1 (dialler) and 2 (acceptor), with the given certificates,
/// both trusting the cluster CA `ca`.
async fn pair(ca: &CertAuthority, cert1: &IssuedCert, cert2: &IssuedCert) -> (Node, Node) {
    init_tracing();
    let (l1, l2) = (listener().await, listener().await);
    let peers: BTreeMap<NodeId, String> = [(1, &l1), (2, &l2)]
        .into_iter()
        .map(|(id, l)| (id, l.local_addr().expect("addr").to_string()))
        .collect();
    let n1 = start(l1, config(1, ca, cert1, peers.clone()));
    let n2 = start(l2, config(2, ca, cert2, peers));
    (n1, n2)
}

#[tokio::test]
async fn a_dialler_with_a_certificate_from_another_ca_is_refused() {
    let (ca, other) = (ca("cluster"), ca("other"));
    let (n1, n2) = pair(&ca, &node_cert(&other, 1), &node_cert(&ca, 2)).await;
    eventually("node 2 refuses node 1", || {
        n2.rpc.stats().handshakes_refused >= 1
    })
    .await;
    let reason = unreachable_because(&n1, 2, "certificate refused").await;
    assert!(
        reason.contains("the peer refused our certificate"),
        "{reason}"
    );
    assert!(!n2.rpc.is_connected(1));
    assert_eq!(n2.rpc.stats().connections_accepted, 0);
    n1.rpc.shutdown().await;
    n2.rpc.shutdown().await;
}

#[tokio::test]
async fn a_server_with_a_certificate_from_another_ca_is_refused() {
    let (ca, other) = (ca("cluster"), ca("other"));
    let (n1, n2) = pair(&ca, &node_cert(&ca, 1), &node_cert(&other, 2)).await;
    unreachable_because(&n1, 2, "not issued by the cluster CA").await;
    assert!(n1.rpc.stats().handshakes_refused >= 1);
    assert_eq!(n1.rpc.stats().connections_dialled, 0);
    assert!(!n2.rpc.is_connected(1));
    n1.rpc.shutdown().await;
    n2.rpc.shutdown().await;
}

#[tokio::test]
async fn a_server_naming_another_node_than_the_one_dialled_is_refused() {
    init_tracing();
    let ca = ca("cluster");
    let (l1, l3) = (listener().await, listener().await);
    let (a1, a3) = (
        l1.local_addr().expect("addr"),
        l3.local_addr().expect("addr"),
    );
    // Node 1 believes node 2 lives where node 3 listens.
    let peers1 = BTreeMap::from([(2, a3.to_string()), (3, a3.to_string())]);
    let peers3 = BTreeMap::from([(1, a1.to_string()), (2, a3.to_string())]);
    let n1 = start(l1, config(1, &ca, &node_cert(&ca, 1), peers1));
    let n3 = start(l3, config(3, &ca, &node_cert(&ca, 3), peers3));
    let reason = unreachable_because(&n1, 2, "certificate refused").await;
    assert!(
        reason.contains("names node 3, but node 2 was dialled"),
        "{reason}"
    );
    // The same node under its real id is fine.
    assert!(n1.rpc.wait_connected(3, PATIENCE).await);
    n1.rpc
        .call(3, Bytes::new(), 0, Bytes::new(), T)
        .await
        .expect("call node 3");
    n1.rpc.shutdown().await;
    n3.rpc.shutdown().await;
}

/// Dials `node` with `cert` and checks that it refuses the certificate
/// (with no hello) and counts the refusal.
async fn assert_raw_refused(node: &Node, ca: &CertAuthority, cert: &IssuedCert) {
    let before = node.rpc.stats().handshakes_refused;
    // TLS 1.3: our side of the handshake completes; the node's verdict
    // arrives as an alert on the first read.
    match raw_client(ca, cert, node.rpc.local_addr()).await {
        Err(e) => assert!(matches!(refusal(&e), Some(Refusal::Ours(_))), "{e}"),
        Ok(mut stream) => {
            let e = read_until_closed(&mut stream)
                .await
                .expect_err("the node must not accept the connection");
            assert!(
                matches!(refusal(&e), Some(Refusal::Ours(_))),
                "not a refusal: {e}"
            );
        }
    }
    eventually("the node counts the refusal", || {
        node.rpc.stats().handshakes_refused == before + 1
    })
    .await;
    assert!(node.rpc.connected_peers().iter().all(|&p| p != 7));
}

#[tokio::test]
async fn client_certificates_and_unlisted_nodes_are_refused() {
    let ca = ca("cluster");
    let nodes = cluster(&ca, &[1, 2]).await;
    let n2 = &nodes[1];
    let client = ca
        .issue_client("alice", 1, KeyType::EcdsaP256)
        .expect("client cert");
    assert_raw_refused(n2, &ca, &client).await;
    // A node certificate from the right CA, for a node not in the peer list.
    assert_raw_refused(n2, &ca, &node_cert(&ca, 7)).await;
    // Node 2's own identity, and a higher id that should be waiting for node 2.
    assert_raw_refused(n2, &ca, &node_cert(&ca, 2)).await;
    assert_raw_refused(&nodes[0], &ca, &node_cert(&ca, 2)).await;
    // The real peers are unaffected.
    nodes[0]
        .rpc
        .call(2, Bytes::new(), 0, Bytes::new(), T)
        .await
        .expect("1 → 2");
    assert_eq!(n2.rpc.stats().open_connections, 1);
    for n in &nodes {
        n.rpc.shutdown().await;
    }
}
