//! Bad frames from a peer that authenticated correctly: the node closes that
//! connection, logs it, and keeps serving everyone else.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::replication::rpc::frame::FrameType;
use crate::replication::rpc::frame::{parse, HEADER_LEN, PREFIX_LEN};

const T: Duration = Duration::from_secs(5);

/// Nodes 10 and 30 from one CA; node 30 also accepts node 5, which no
/// transport runs: the tests speak as node 5 over a raw TLS connection.
async fn with_intruder() -> (CertAuthority, Node, Node) {
    init_tracing();
    let ca = ca("cluster");
    let (l10, l30) = (listener().await, listener().await);
    let (a10, a30) = (
        l10.local_addr().expect("addr"),
        l30.local_addr().expect("addr"),
    );
    let peers = BTreeMap::from([(10, a10.to_string()), (30, a30.to_string())]);
    let mut peers30 = peers.clone();
    peers30.insert(5, "127.0.0.1:9".into());
    let n10 = start(l10, config(10, &ca, &node_cert(&ca, 10), peers));
    let n30 = start(l30, config(30, &ca, &node_cert(&ca, 30), peers30));
    assert!(n10.rpc.wait_connected(30, PATIENCE).await);
    (ca, n10, n30)
}

/// Connects as node 5, reads the hello, sends `bytes`, and checks that the
/// node closes the connection without answering.
async fn send_as_node_5(ca: &CertAuthority, node: &Node, bytes: &[u8]) {
    let mut stream = raw_client(ca, &node_cert(ca, 5), node.rpc.local_addr())
        .await
        .expect("TLS as node 5");
    let mut hello = [0u8; PREFIX_LEN + HEADER_LEN];
    stream.read_exact(&mut hello).await.expect("hello");
    let frame = parse(Bytes::copy_from_slice(&hello[PREFIX_LEN..])).expect("a frame");
    assert_eq!(frame.frame_type, FrameType::Hello);
    eventually("node 5 registered", || node.rpc.is_connected(5)).await;
    stream.write_all(bytes).await.expect("write");
    stream.flush().await.expect("flush");
    match read_until_closed(&mut stream).await {
        Ok(answer) => assert!(answer.is_empty(), "the node answered {answer:?}"),
        Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::TimedOut, "{e}"),
    }
    eventually("node 5 deregistered", || !node.rpc.is_connected(5)).await;
}

async fn others_still_work(n10: &Node, n30: &Node) {
    n10.rpc
        .call(30, Bytes::new(), 1, Bytes::new(), T)
        .await
        .expect("10 → 30");
    n30.rpc
        .call(10, Bytes::new(), 1, Bytes::new(), T)
        .await
        .expect("30 → 10");
    assert_eq!(n30.rpc.connected_peers(), [10]);
}

#[tokio::test]
async fn a_malformed_frame_closes_only_its_connection() {
    let (ca, n10, n30) = with_intruder().await;
    // A well-sized frame with an unknown type byte.
    let mut bad = (HEADER_LEN as u32).to_be_bytes().to_vec();
    bad.push(9);
    bad.extend_from_slice(&[0; HEADER_LEN - 1]);
    send_as_node_5(&ca, &n30, &bad).await;
    // A group id longer than the frame.
    let mut overrun = (HEADER_LEN as u32 + 1).to_be_bytes().to_vec();
    overrun.push(FrameType::Request as u8);
    overrun.extend_from_slice(&[0; 9]);
    overrun.extend_from_slice(&[200, b'x']);
    send_as_node_5(&ca, &n30, &overrun).await;
    // A hello where a request should be.
    let mut hello = (HEADER_LEN as u32).to_be_bytes().to_vec();
    hello.push(FrameType::Hello as u8);
    hello.extend_from_slice(&[0; HEADER_LEN - 1]);
    send_as_node_5(&ca, &n30, &hello).await;
    assert_eq!(n30.rpc.stats().bad_frames, 3);
    others_still_work(&n10, &n30).await;
    n10.rpc.shutdown().await;
    n30.rpc.shutdown().await;
}

#[tokio::test]
async fn an_oversized_frame_closes_only_its_connection() {
    let (ca, n10, n30) = with_intruder().await;
    // 4 GiB announced; refused from the prefix alone, nothing allocated.
    send_as_node_5(&ca, &n30, &[0xff, 0xff, 0xff, 0xff, 0]).await;
    // Just over the 64 MiB default.
    let just_over = (64 * 1024 * 1024 + 1u32).to_be_bytes();
    send_as_node_5(&ca, &n30, &just_over).await;
    assert_eq!(n30.rpc.stats().bad_frames, 2);
    others_still_work(&n10, &n30).await;
    n10.rpc.shutdown().await;
    n30.rpc.shutdown().await;
}
