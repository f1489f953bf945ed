//! Calls between nodes.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::future::join_all;

use super::*;
use crate::replication::rpc::RpcError;

const T: Duration = Duration::from_secs(5);

fn group(name: &'static str) -> Bytes {
    Bytes::from_static(name.as_bytes())
}

#[tokio::test]
async fn three_nodes_call_each_other() {
    let ca = ca("cluster");
    let nodes = cluster(&ca, &[1, 2, 3]).await;
    for a in &nodes {
        for b in &nodes {
            let (from, to) = (a.rpc.node_id(), b.rpc.node_id());
            if from == to {
                continue;
            }
            let answer = a
                .rpc
                .call(to, group("metadata"), 7, Bytes::from_static(b"ping"), T)
                .await
                .expect("call");
            assert_eq!(answer, format!("{to}<-{from}:7:ping").as_bytes());
        }
    }
    for n in &nodes {
        n.rpc.shutdown().await;
    }
}

#[tokio::test]
async fn exactly_one_connection_per_pair() {
    let ca = ca("cluster");
    let nodes = cluster(&ca, &[1, 2, 3]).await;
    // Calls both ways reuse the connections the lower ids dialled.
    for a in &nodes {
        for b in &nodes {
            if a.rpc.node_id() != b.rpc.node_id() {
                a.rpc
                    .call(b.rpc.node_id(), group("g"), 0, Bytes::new(), T)
                    .await
                    .expect("call");
            }
        }
    }
    let stats: Vec<_> = nodes.iter().map(|n| n.rpc.stats()).collect();
    for (n, s) in nodes.iter().zip(&stats) {
        assert_eq!(s.open_connections, 2, "node {}: {s:?}", n.rpc.node_id());
        assert_eq!(n.rpc.connected_peers().len(), 2);
    }
    // The lower id dials: 1 dials 2 and 3, 2 dials 3.
    let dialled: Vec<u64> = stats.iter().map(|s| s.connections_dialled).collect();
    let accepted: Vec<u64> = stats.iter().map(|s| s.connections_accepted).collect();
    assert_eq!(dialled, [2, 1, 0]);
    assert_eq!(accepted, [0, 1, 2]);
    for n in &nodes {
        n.rpc.shutdown().await;
    }
}

#[tokio::test]
async fn many_concurrent_calls_in_both_directions() {
    let ca = ca("cluster");
    let nodes = cluster(&ca, &[1, 2]).await;
    let calls = (0..1000u32).map(|i| {
        let (from, to) = if i % 2 == 0 {
            (&nodes[0], 2)
        } else {
            (&nodes[1], 1)
        };
        let rpc = from.rpc.clone();
        async move {
            let g = Bytes::from(format!("topic-{}", i % 17));
            let payload = Bytes::from(i.to_be_bytes().repeat(1 + (i as usize % 300)));
            let answer = rpc
                .call(to, g, (i % 256) as u8, payload.clone(), T)
                .await
                .expect("call");
            assert_eq!(answer, echo(to, rpc.node_id(), (i % 256) as u8, &payload));
        }
    });
    join_all(calls).await;
    assert_eq!(nodes[0].rpc.stats().open_connections, 1);
    for n in &nodes {
        n.rpc.shutdown().await;
    }
}

#[tokio::test]
async fn a_slow_group_does_not_delay_a_fast_one() {
    let ca = ca("cluster");
    let nodes = cluster(&ca, &[1, 2]).await;
    let rpc = nodes[0].rpc.clone();
    let slow = tokio::spawn(async move { rpc.call(2, group("slow"), 1, Bytes::new(), T).await });
    // The slow handler is running on node 2 before the fast calls start...
    nodes[1].slow_started.notified().await;
    let fast = (0..50).map(|i| {
        nodes[0]
            .rpc
            .call(2, group("fast"), 1, Bytes::from(vec![i; 10]), T)
    });
    for answer in join_all(fast).await {
        answer.expect("fast call");
    }
    // ...and is still running after every fast answer came back.
    assert!(!slow.is_finished(), "fast calls waited for the slow one");
    // Node 2 calling node 1 is not held up either.
    nodes[1]
        .rpc
        .call(1, group("fast"), 1, Bytes::new(), T)
        .await
        .expect("reverse call");
    assert!(!slow.is_finished());
    slow.await.expect("task").expect("slow call completes");
    for n in &nodes {
        n.rpc.shutdown().await;
    }
}

#[tokio::test]
async fn a_call_times_out_and_the_connection_keeps_working() {
    let ca = ca("cluster");
    let nodes = cluster(&ca, &[1, 2]).await;
    let err = nodes[0]
        .rpc
        .call(
            2,
            group("hang"),
            0,
            Bytes::new(),
            Duration::from_millis(200),
        )
        .await
        .expect_err("no answer");
    assert!(matches!(err, RpcError::Timeout { peer: 2, .. }), "{err}");
    nodes[0]
        .rpc
        .call(2, group("g"), 0, Bytes::new(), T)
        .await
        .expect("still works");
    for n in &nodes {
        n.rpc.shutdown().await;
    }
}

#[tokio::test]
async fn handler_failures_come_back_as_remote_errors() {
    let ca = ca("cluster");
    let (l1, l2) = (listener().await, listener().await);
    let peers: BTreeMap<NodeId, String> = [(1, l1.local_addr()), (2, l2.local_addr())]
        .into_iter()
        .map(|(id, a)| (id, a.expect("addr").to_string()))
        .collect();
    let n1 = start(l1, config(1, &ca, &node_cert(&ca, 1), peers.clone()));
    let mut c2 = config(2, &ca, &node_cert(&ca, 2), peers);
    c2.handler_timeout = Duration::from_millis(100);
    let n2 = start(l2, c2);
    assert!(n1.rpc.wait_connected(2, PATIENCE).await);
    let remote = |r: Result<Bytes, RpcError>| match r {
        Err(RpcError::Remote { peer: 2, message }) => message,
        other => panic!("expected a remote error, got {other:?}"),
    };
    let call = |g: &'static str| n1.rpc.call(2, group(g), 0, Bytes::new(), T);
    assert_eq!(remote(call("fail").await), "no such group");
    assert_eq!(remote(call("panic").await), "the handler panicked");
    assert!(remote(call("hang").await).contains("timed out after 100ms"));
    n1.rpc.shutdown().await;
    n2.rpc.shutdown().await;
}

#[tokio::test]
async fn requests_beyond_max_in_flight_are_answered_busy() {
    let ca = ca("cluster");
    let (l1, l2) = (listener().await, listener().await);
    let peers: BTreeMap<NodeId, String> = [(1, l1.local_addr()), (2, l2.local_addr())]
        .into_iter()
        .map(|(id, a)| (id, a.expect("addr").to_string()))
        .collect();
    let n1 = start(l1, config(1, &ca, &node_cert(&ca, 1), peers.clone()));
    let mut c2 = config(2, &ca, &node_cert(&ca, 2), peers);
    c2.max_in_flight = 2;
    let n2 = start(l2, c2);
    assert!(n1.rpc.wait_connected(2, PATIENCE).await);
    // Two requests that never finish hold node 2's two slots.
    for _ in 0..2 {
        let rpc = n1.rpc.clone();
        tokio::spawn(async move { rpc.call(2, group("hang"), 0, Bytes::new(), T).await });
    }
    let hanging = n2.hanging.clone();
    eventually("two requests hang on node 2", || {
        hanging.load(std::sync::atomic::Ordering::SeqCst) == 2
    })
    .await;
    let err = n1
        .rpc
        .call(2, group("g"), 0, Bytes::new(), T)
        .await
        .expect_err("busy");
    assert!(
        matches!(&err, RpcError::Remote { peer: 2, message } if message.starts_with("busy")),
        "{err}"
    );
    assert_eq!(n2.rpc.stats().requests_busy, 1);
    // Node 2's own calls to node 1 are not limited by its slots for node 1's requests.
    n2.rpc
        .call(1, group("g"), 0, Bytes::new(), T)
        .await
        .expect("reverse call");
    n1.rpc.shutdown().await;
    n2.rpc.shutdown().await;
}
