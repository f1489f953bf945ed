//! Connections coming and going: restarts, missing peers, shutdown.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::replication::rpc::RpcError;

const T: Duration = Duration::from_secs(5);

async fn call(n: &Node, to: NodeId, g: &'static str) -> Result<Bytes, RpcError> {
    n.rpc
        .call(to, Bytes::from_static(g.as_bytes()), 0, Bytes::new(), T)
        .await
}

fn unreachable_reason(r: Result<Bytes, RpcError>) -> String {
    match r {
        Err(RpcError::Unreachable { reason, .. }) => reason,
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

fn peers(addrs: &[(NodeId, SocketAddr)]) -> BTreeMap<NodeId, String> {
    addrs.iter().map(|(id, a)| (*id, a.to_string())).collect()
}

#[tokio::test]
async fn reconnects_after_either_side_restarts() {
    init_tracing();
    let ca = ca("cluster");
    let (c1, c2) = (node_cert(&ca, 1), node_cert(&ca, 2));
    let (l1, l2) = (listener().await, listener().await);
    let (a1, a2) = (
        l1.local_addr().expect("addr"),
        l2.local_addr().expect("addr"),
    );
    let peers = peers(&[(1, a1), (2, a2)]);
    let n1 = start(l1, config(1, &ca, &c1, peers.clone()));
    let n2 = start(l2, config(2, &ca, &c2, peers.clone()));
    assert!(n1.rpc.wait_connected(2, PATIENCE).await);
    assert!(n2.rpc.wait_connected(1, PATIENCE).await);

    // The accepting node goes away and comes back on the same address.
    n2.rpc.shutdown().await;
    eventually("node 1 notices", || !n1.rpc.is_connected(2)).await;
    unreachable_reason(call(&n1, 2, "g").await);
    let n2 = start(
        TcpListener::bind(a2).await.expect("rebind"),
        config(2, &ca, &c2, peers.clone()),
    );
    assert!(n1.rpc.wait_connected(2, PATIENCE).await, "node 1 redialled");
    assert!(n2.rpc.wait_connected(1, PATIENCE).await);
    call(&n1, 2, "g").await.expect("1 → 2 after restart");
    call(&n2, 1, "g").await.expect("2 → 1 after restart");

    // The dialling node goes away and comes back.
    n1.rpc.shutdown().await;
    eventually("node 2 notices", || !n2.rpc.is_connected(1)).await;
    let reason = unreachable_reason(call(&n2, 1, "g").await);
    assert!(reason.contains("waiting for node 1"), "{reason}");
    let n1 = start(
        TcpListener::bind(a1).await.expect("rebind"),
        config(1, &ca, &c1, peers),
    );
    assert!(
        n2.rpc.wait_connected(1, PATIENCE).await,
        "node 1 dialled again"
    );
    assert!(
        n1.rpc.wait_connected(2, PATIENCE).await,
        "node 1 got the hello"
    );
    call(&n1, 2, "g").await.expect("1 → 2 after restart");
    call(&n2, 1, "g").await.expect("2 → 1 after restart");
    let s = n2.rpc.stats();
    assert_eq!(
        (s.connections_accepted, s.open_connections),
        (2, 1),
        "{s:?}"
    );
    n1.rpc.shutdown().await;
    n2.rpc.shutdown().await;
}

#[tokio::test]
async fn calls_without_a_connection_fail_fast_and_say_why() {
    init_tracing();
    let ca = ca("cluster");
    // Nothing listens at node 2's address.
    let dead = listener().await.local_addr().expect("addr");
    let l1 = listener().await;
    let mut c1 = config(1, &ca, &node_cert(&ca, 1), peers(&[(2, dead)]));
    c1.max_frame_bytes = 1024;
    let n1 = start(l1, c1);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        // Unreachable at once, first as "not connected yet", then with the
        // reason the last dial failed.
        let reason = unreachable_reason(call(&n1, 2, "g").await);
        if reason.contains("cannot connect") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no dial error: {reason}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A higher node waits to be dialled by a lower one that is not running.
    let l3 = listener().await;
    let n3 = start(l3, config(3, &ca, &node_cert(&ca, 3), peers(&[(1, dead)])));
    let reason = unreachable_reason(call(&n3, 1, "g").await);
    assert!(reason.contains("waiting for node 1"), "{reason}");

    let err = call(&n1, 9, "g").await.expect_err("not a peer");
    assert!(matches!(err, RpcError::UnknownPeer(9)), "{err}");
    let long = Bytes::from(vec![b'x'; 256]);
    let err = n1
        .rpc
        .call(2, long, 0, Bytes::new(), T)
        .await
        .expect_err("long group");
    assert!(matches!(err, RpcError::GroupTooLong(256)), "{err}");
    let big = Bytes::from(vec![0; 1024]);
    let err = n1
        .rpc
        .call(2, Bytes::new(), 0, big, T)
        .await
        .expect_err("too large");
    assert!(matches!(err, RpcError::TooLarge { max: 1024, .. }), "{err}");
    n1.rpc.shutdown().await;
    n3.rpc.shutdown().await;
}

#[tokio::test]
async fn shutdown_fails_waiting_calls_and_closes_the_listener() {
    let ca = ca("cluster");
    let nodes = cluster(&ca, &[1, 2]).await;
    let rpc = nodes[0].rpc.clone();
    let waiting = tokio::spawn(async move {
        rpc.call(2, Bytes::from_static(b"hang"), 0, Bytes::new(), T)
            .await
    });
    let hanging = nodes[1].hanging.clone();
    eventually("the call hangs on node 2", || {
        hanging.load(Ordering::SeqCst) == 1
    })
    .await;
    nodes[0].rpc.shutdown().await;
    let err = waiting.await.expect("task").expect_err("closed");
    assert!(matches!(err, RpcError::Closed(2)), "{err}");
    let err = call(&nodes[0], 2, "g").await.expect_err("shut down");
    assert!(matches!(err, RpcError::Shutdown), "{err}");
    eventually("node 2 notices", || !nodes[1].rpc.is_connected(1)).await;
    let addr = nodes[1].rpc.local_addr();
    nodes[1].rpc.shutdown().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}
