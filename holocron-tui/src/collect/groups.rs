//! The groups poller, over the classic consumer group APIs: ListGroups on
//! every broker (a broker lists the groups it coordinates), DescribeGroups
//! per coordinator, OffsetFetch per group, and ListOffsets for the high
//! watermarks that lag is measured against. A broker without ListGroups gets
//! [`GroupsData::Unsupported`], which the Groups view says in words.

use std::collections::BTreeMap;

use holocron_proto::client::{Client, ClientError, OffsetSpec};
use holocron_proto::errors::from_code;
use holocron_proto::kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use holocron_proto::kafka_protocol::messages::{
    ApiKey, DescribeGroupsRequest, GroupId, OffsetFetchRequest,
};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use tokio::sync::{mpsc, watch};

use super::{pause, status, Shared, Source, Update};
use crate::model::{GroupOffsetRow, GroupRow, GroupsData, MemberRow};

/// Groups described per round at most (the rest are listed without detail).
const MAX_DESCRIBED: usize = 200;

/// Polls until the app goes away.
pub async fn run(shared: Shared, tx: mpsc::Sender<Update>, mut refresh: watch::Receiver<u64>) {
    let mut slot = None;
    let mut failing = false;
    loop {
        let result = match shared.client(&mut slot).await {
            Ok(client) => poll(client).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let err = match result {
            Ok(data) => {
                if tx.send(Update::Groups(data)).await.is_err() {
                    return;
                }
                None
            }
            Err(e) => Some(e),
        };
        if err.is_some() || failing {
            failing = err.is_some();
            if !status(&tx, Source::Groups, err).await {
                return;
            }
        }
        pause(shared.interval, &mut refresh).await;
    }
}

fn gid(g: &str) -> GroupId {
    GroupId(StrBytes::from_string(g.to_owned()))
}

/// One round.
pub async fn poll(client: &Client) -> Result<GroupsData, ClientError> {
    for key in [
        ApiKey::ListGroups,
        ApiKey::DescribeGroups,
        ApiKey::OffsetFetch,
    ] {
        if client.broker_versions(key).await?.is_none() {
            return Ok(GroupsData::Unsupported(format!("{key:?}")));
        }
    }
    let listed = match holocronctl::cmd::group::list_all(client).await {
        Ok(l) => l,
        Err(ClientError::Unsupported(k)) => return Ok(GroupsData::Unsupported(format!("{k:?}"))),
        Err(e) => return Err(e),
    };
    let mut groups: Vec<GroupRow> = listed
        .into_iter()
        .map(|g| GroupRow {
            group_id: g.group_id,
            state: g.state,
            protocol_type: g.protocol_type,
            coordinator: g.coordinator,
            ..Default::default()
        })
        .collect();

    let mut by_coord: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate().take(MAX_DESCRIBED) {
        by_coord.entry(g.coordinator).or_default().push(i);
    }
    for (coord, idx) in &by_coord {
        describe(client, *coord, &mut groups, idx).await?;
    }
    let offsets_v = client.version_for::<OffsetFetchRequest>().await?;
    let mut wanted: Vec<(String, i32)> = Vec::new();
    let mut committed: BTreeMap<usize, BTreeMap<(String, i32), i64>> = BTreeMap::new();
    for (coord, idx) in &by_coord {
        for i in idx {
            match fetch_offsets(client, *coord, &groups[*i].group_id, offsets_v).await {
                Ok(c) => {
                    wanted.extend(c.keys().cloned());
                    for m in &groups[*i].members {
                        for (t, ps) in &m.assignments {
                            wanted.extend(ps.iter().map(|p| (t.clone(), *p)));
                        }
                    }
                    committed.insert(*i, c);
                }
                Err(e) => groups[*i].error = Some(e.to_string()),
            }
        }
    }
    wanted.sort();
    wanted.dedup();
    let hw = if wanted.is_empty() {
        Default::default()
    } else {
        let mut topics: Vec<String> = wanted.iter().map(|k| k.0.clone()).collect();
        topics.dedup();
        let view = client.metadata(Some(&topics)).await?;
        client
            .list_offsets(&view, &wanted, OffsetSpec::Latest)
            .await?
    };
    for (i, c) in committed {
        let g = &mut groups[i];
        let mut keys: Vec<(String, i32)> = c.keys().cloned().collect();
        for m in &g.members {
            for (t, ps) in &m.assignments {
                keys.extend(ps.iter().map(|p| (t.clone(), *p)));
            }
        }
        keys.sort();
        keys.dedup();
        g.offsets = keys
            .into_iter()
            .map(|k| {
                let committed = c.get(&k).copied();
                let high_watermark = hw.get(&k).and_then(|r| r.ok()).map(|o| o.offset);
                let member = g
                    .members
                    .iter()
                    .find(|m| {
                        m.assignments
                            .iter()
                            .any(|(t, ps)| *t == k.0 && ps.contains(&k.1))
                    })
                    .map(|m| m.client_id.clone());
                GroupOffsetRow {
                    lag: committed.zip(high_watermark).map(|(c, h)| (h - c).max(0)),
                    topic: k.0,
                    partition: k.1,
                    committed,
                    high_watermark,
                    member,
                }
            })
            .collect();
    }
    Ok(GroupsData::Groups(groups))
}

async fn describe(
    client: &Client,
    coord: i32,
    groups: &mut [GroupRow],
    idx: &[usize],
) -> Result<(), ClientError> {
    let req = DescribeGroupsRequest::default()
        .with_groups(idx.iter().map(|i| gid(&groups[*i].group_id)).collect());
    let resp = client.send_to(coord, req).await?;
    for d in resp.groups {
        let Some(g) = idx
            .iter()
            .copied()
            .find(|i| groups[*i].group_id == d.group_id.0.as_str())
        else {
            continue;
        };
        let g = &mut groups[g];
        if let Some(code) = from_code(d.error_code) {
            g.error = Some(holocronctl::exit::kafka_name(code));
            continue;
        }
        g.state = d.group_state.to_string();
        g.protocol_type = d.protocol_type.to_string();
        g.protocol = d.protocol_data.to_string();
        g.members = d
            .members
            .into_iter()
            .map(|m| {
                let assignments = holocronctl::cmd::group::member_assignments(
                    &d.protocol_type,
                    &m.member_assignment,
                );
                MemberRow {
                    member_id: m.member_id.to_string(),
                    client_id: m.client_id.to_string(),
                    client_host: m.client_host.to_string(),
                    assignments: assignments.into_iter().collect(),
                }
            })
            .collect();
    }
    Ok(())
}

async fn fetch_offsets(
    client: &Client,
    coord: i32,
    group: &str,
    version: i16,
) -> Result<BTreeMap<(String, i32), i64>, ClientError> {
    let mut req = OffsetFetchRequest::default();
    if version >= 8 {
        req.groups = vec![OffsetFetchRequestGroup::default()
            .with_group_id(gid(group))
            .with_topics(None)];
    } else {
        req.group_id = gid(group);
        req.topics = None;
    }
    let resp = client.send_to(coord, req).await?;
    let mut out = BTreeMap::new();
    let fail = |code: i16| match from_code(code) {
        Some(c) => Err(ClientError::kafka(c, format!("offsets of group {group:?}"))),
        None => Ok(()),
    };
    let mut add = |topic: String, partition: i32, offset: i64, code: i16| {
        if offset >= 0 && code == 0 {
            out.insert((topic, partition), offset);
        }
    };
    if version >= 8 {
        for g in resp.groups {
            fail(g.error_code)?;
            for t in g.topics {
                for p in t.partitions {
                    add(
                        t.name.0.to_string(),
                        p.partition_index,
                        p.committed_offset,
                        p.error_code,
                    );
                }
            }
        }
    } else {
        fail(resp.error_code)?;
        for t in resp.topics {
            for p in t.partitions {
                add(
                    t.name.0.to_string(),
                    p.partition_index,
                    p.committed_offset,
                    p.error_code,
                );
            }
        }
    }
    Ok(out)
}
