//! The group state machine on its own: joins, timeouts, protocol choice.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::group::{Group, GroupState, NEW_MEMBER_JOIN_TIMEOUT};
use super::member::{JoinResult, Member};

fn member(id: &str, protocols: &[&str], now: Instant) -> (Member, oneshot::Receiver<JoinResult>) {
    let (tx, rx) = oneshot::channel();
    let m = Member {
        id: id.to_owned(),
        instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        rebalance_timeout_ms: 10_000,
        session_timeout_ms: 6_000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| ((*p).to_owned(), Bytes::new()))
            .collect(),
        assignment: Bytes::new(),
        awaiting_join: Some(tx),
        awaiting_sync: None,
        is_new: true,
        expires_at: now + NEW_MEMBER_JOIN_TIMEOUT,
        supports_skip_assignment: false,
    };
    (m, rx)
}

fn join(g: &mut Group, id: &str, now: Instant) -> oneshot::Receiver<JoinResult> {
    let (m, rx) = member(id, &["range"], now);
    g.note_new_member();
    g.add_member(m);
    g.maybe_prepare_rebalance(now);
    rx
}

#[test]
fn a_member_that_does_not_rejoin_is_dropped_at_the_rebalance_timeout() {
    let now = Instant::now();
    let mut g = Group::new("g", Duration::ZERO, 0);
    let mut rx1 = join(&mut g, "m1", now);
    let r1 = rx1.try_recv().expect("answered at once: everyone joined");
    assert_eq!(
        (r1.generation, r1.leader.as_str(), r1.members.len()),
        (1, "m1", 1)
    );
    assert!(g.is(GroupState::CompletingRebalance));
    g.stabilize(
        &HashMap::from([("m1".to_owned(), Bytes::from_static(b"a"))]),
        now,
    );
    assert!(g.is(GroupState::Stable));

    let mut rx2 = join(&mut g, "m2", now);
    assert!(g.is(GroupState::PreparingRebalance));
    assert!(rx2.try_recv().is_err(), "waits for m1 to rejoin");
    // m1 keeps its session alive but never rejoins.
    g.heartbeat("m1", now + Duration::from_secs(5));
    g.tick(now + Duration::from_secs(9));
    assert!(g.is(GroupState::PreparingRebalance));
    g.tick(now + Duration::from_secs(10));
    let r2 = rx2.try_recv().expect("answered at the rebalance timeout");
    assert_eq!((r2.generation, r2.leader.as_str()), (2, "m2"));
    assert!(!g.members.contains_key("m1"));
}

#[test]
fn an_expired_session_empties_the_group_and_stores_it() {
    let now = Instant::now();
    let mut g = Group::new("g", Duration::ZERO, 0);
    let _rx = join(&mut g, "m1", now);
    g.stabilize(&HashMap::new(), now);
    g.heartbeat("m1", now);
    g.tick(now + Duration::from_millis(5_999));
    assert!(g.is(GroupState::Stable));
    g.tick(now + Duration::from_secs(6));
    assert!(g.is(GroupState::Empty));
    assert_eq!(g.generation, 2);
    assert!(g.store_requested);
}

#[test]
fn the_protocol_all_members_support_wins_the_vote() {
    let now = Instant::now();
    let mut g = Group::new("g", Duration::ZERO, 0);
    for (id, protocols) in [
        ("a", &["range", "roundrobin"][..]),
        ("b", &["roundrobin", "range"][..]),
        ("c", &["roundrobin", "sticky"][..]),
    ] {
        g.add_member(member(id, protocols, now).0);
    }
    assert_eq!(g.select_protocol().as_deref(), Some("roundrobin"));
    let only_sticky = [("sticky".to_owned(), Bytes::new())];
    assert!(!g.supports_protocols("consumer", &only_sticky));
    assert!(!g.supports_protocols("connect", &[("roundrobin".to_owned(), Bytes::new())]));
}

#[test]
fn the_initial_delay_waits_and_extends_for_new_members() {
    let now = Instant::now();
    let mut g = Group::new("g", Duration::from_secs(3), 0);
    let mut rx1 = join(&mut g, "m1", now);
    assert!(rx1.try_recv().is_err(), "the initial delay runs its course");
    let mut rx2 = join(&mut g, "m2", now + Duration::from_secs(1));
    g.tick(now + Duration::from_secs(3));
    assert!(rx1.try_recv().is_err(), "a new member extended the delay");
    g.tick(now + Duration::from_secs(6));
    assert_eq!(rx1.try_recv().expect("joined").generation, 1);
    assert_eq!(rx2.try_recv().expect("joined").generation, 1);
}
