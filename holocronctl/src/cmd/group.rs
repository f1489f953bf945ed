//! `group list|describe|lag|reset-offsets|delete`, over the classic consumer
//! group APIs (FindCoordinator, ListGroups, DescribeGroups, OffsetFetch,
//! OffsetCommit, DeleteGroups). Against a broker without them every command
//! exits 8 (unsupported).

use std::collections::BTreeMap;

use bytes::Buf;
use holocron_proto::client::{Client, ClientError, ClusterView, OffsetSpec};
use holocron_proto::errors::from_code;
use holocron_proto::kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use holocron_proto::kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use holocron_proto::kafka_protocol::messages::{
    ConsumerProtocolAssignment, DeleteGroupsRequest, DescribeGroupsRequest, FindCoordinatorRequest,
    GroupId, ListGroupsRequest, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use holocron_proto::kafka_protocol::protocol::{Decodable, StrBytes};
use serde::{Deserialize, Serialize};

use super::common::{self, ItemError};
use super::{interrupted, Ctx};
use crate::cli::{GroupCmd, ResetArgs};
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};
use crate::timespec::{parse_time, parse_topic_partitions};

/// `holocron.group.list/v1`: every group on every broker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupList {
    /// Groups by id.
    pub groups: Vec<GroupSummary>,
}

/// One group in `group list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// Group id.
    pub group_id: String,
    /// State, e.g. `Stable`, `Empty` (empty string: not reported).
    pub state: String,
    /// Protocol type, e.g. `consumer`.
    pub protocol_type: String,
    /// The broker coordinating it.
    pub coordinator: i32,
}

impl Document for GroupList {
    fn schema(&self) -> &'static str {
        "holocron.group.list/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["group", "state", "protocol-type", "coordinator"]);
        for g in &self.groups {
            t.add_row(vec![
                g.group_id.clone(),
                g.state.clone(),
                g.protocol_type.clone(),
                g.coordinator.to_string(),
            ]);
        }
        output::render(&t)
    }
}

/// One partition's committed offset and lag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LagRow {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Committed offset (null: none committed).
    pub committed_offset: Option<i64>,
    /// High watermark (null: unknown).
    pub high_watermark: Option<i64>,
    /// high_watermark - committed_offset (null if either is unknown).
    pub lag: Option<i64>,
    /// The member assigned the partition (null: none).
    pub member_id: Option<String>,
}

/// `holocron.group.describe/v1`: a group's members and offsets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDescribe {
    /// Group id.
    pub group_id: String,
    /// State.
    pub state: String,
    /// Protocol type.
    pub protocol_type: String,
    /// Assignor in use (e.g. `range`).
    pub protocol: String,
    /// Coordinator node id.
    pub coordinator: i32,
    /// Members.
    pub members: Vec<GroupMember>,
    /// Committed offsets and lag, by topic and partition.
    pub offsets: Vec<LagRow>,
    /// Sum of known lags.
    pub total_lag: i64,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    /// Member id.
    pub member_id: String,
    /// Static membership id, if any.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Assigned partitions by topic (consumer protocol only).
    pub assignments: BTreeMap<String, Vec<i32>>,
}

impl Document for GroupDescribe {
    fn schema(&self) -> &'static str {
        "holocron.group.describe/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut s = output::kv(&[
            ("Group", self.group_id.clone()),
            ("State", self.state.clone()),
            (
                "Protocol",
                format!("{} / {}", self.protocol_type, self.protocol),
            ),
            ("Coordinator", self.coordinator.to_string()),
            ("Members", self.members.len().to_string()),
            ("Total lag", self.total_lag.to_string()),
        ]);
        s.push_str("\nMembers\n");
        let mut t = out.table(&["member", "instance", "client", "host", "assignments"]);
        for m in &self.members {
            let a: Vec<String> = m
                .assignments
                .iter()
                .map(|(t, ps)| format!("{t}:{}", output::ids(ps)))
                .collect();
            t.add_row(vec![
                m.member_id.clone(),
                output::opt(m.group_instance_id.as_ref()),
                m.client_id.clone(),
                m.client_host.clone(),
                a.join(" "),
            ]);
        }
        s.push_str(&output::render(&t));
        s.push_str("\nOffsets\n");
        s.push_str(&lag_table(out, &self.offsets));
        s
    }
}

fn lag_table(out: &Out, rows: &[LagRow]) -> String {
    let mut t = out.table(&[
        "topic",
        "partition",
        "committed",
        "high-watermark",
        "lag",
        "member",
    ]);
    for r in rows {
        t.add_row(vec![
            r.topic.clone(),
            r.partition.to_string(),
            output::opt(r.committed_offset),
            output::opt(r.high_watermark),
            output::opt(r.lag),
            output::opt(r.member_id.as_ref()),
        ]);
    }
    output::render(&t)
}

/// `holocron.group.lag/v1`: per-partition lag (one per line with --watch).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupLag {
    /// Group id.
    pub group_id: String,
    /// State.
    pub state: String,
    /// Sum of known lags.
    pub total_lag: i64,
    /// By topic and partition.
    pub partitions: Vec<LagRow>,
}

impl Document for GroupLag {
    fn schema(&self) -> &'static str {
        "holocron.group.lag/v1"
    }
    fn human(&self, out: &Out) -> String {
        format!(
            "group {:?} ({}), total lag {}\n{}",
            self.group_id,
            self.state,
            self.total_lag,
            lag_table(out, &self.partitions)
        )
    }
}

/// `holocron.group.reset-offsets/v1`: the plan, and whether it was applied.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupReset {
    /// Group id.
    pub group_id: String,
    /// True with --execute (committed); false for a dry run.
    pub executed: bool,
    /// One per partition.
    pub partitions: Vec<ResetRow>,
}

/// One partition of a reset plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRow {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Committed offset before (null: none).
    pub current_offset: Option<i64>,
    /// The offset planned (and committed with --execute).
    pub new_offset: i64,
}

impl Document for GroupReset {
    fn schema(&self) -> &'static str {
        "holocron.group.reset-offsets/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["topic", "partition", "current", "new"]);
        for r in &self.partitions {
            t.add_row(vec![
                r.topic.clone(),
                r.partition.to_string(),
                output::opt(r.current_offset),
                r.new_offset.to_string(),
            ]);
        }
        let head = if self.executed {
            format!("committed new offsets for group {:?}:\n", self.group_id)
        } else {
            format!(
                "plan for group {:?} (dry run; add --execute to apply):\n",
                self.group_id
            )
        };
        format!("{head}{}", output::render(&t))
    }
}

/// `holocron.group.delete/v1`: one result per group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDelete {
    /// One per group, in the order given.
    pub groups: Vec<GroupDeleteResult>,
}

/// One group's deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDeleteResult {
    /// Group id.
    pub group_id: String,
    /// `deleted` or `failed`.
    pub status: String,
    /// Why it failed.
    pub error: Option<ItemError>,
}

impl Document for GroupDelete {
    fn schema(&self) -> &'static str {
        "holocron.group.delete/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["group", "status", "error"]);
        for g in &self.groups {
            t.add_row(vec![
                g.group_id.clone(),
                g.status.clone(),
                output::opt(g.error.as_ref().map(|e| e.message.clone())),
            ]);
        }
        output::render(&t)
    }
}

fn gid(g: &str) -> GroupId {
    GroupId(StrBytes::from_string(g.to_owned()))
}

/// The coordinator of a group (FindCoordinator).
pub async fn coordinator(client: &Client, group: &str) -> CtlResult<i32> {
    let version = client.version_for::<FindCoordinatorRequest>().await?;
    let mut req = FindCoordinatorRequest::default().with_key_type(0);
    if version >= 4 {
        req.coordinator_keys = vec![StrBytes::from_string(group.to_owned())];
    } else {
        req.key = StrBytes::from_string(group.to_owned());
    }
    let resp = client.send_any(req).await?;
    let (code, node, msg) = match resp.coordinators.first() {
        Some(c) => (c.error_code, c.node_id.0, c.error_message.clone()),
        None => (resp.error_code, resp.node_id.0, resp.error_message.clone()),
    };
    if let Some(code) = from_code(code) {
        let what = match msg {
            Some(m) => format!("finding the coordinator of group {group:?}: {m}"),
            None => format!("finding the coordinator of group {group:?}"),
        };
        return Err(CtlError::kafka(code, what));
    }
    Ok(node)
}

/// Committed offsets of a group, by (topic, partition).
async fn committed(
    client: &Client,
    coord: i32,
    group: &str,
) -> CtlResult<BTreeMap<(String, i32), i64>> {
    let version = client.version_for::<OffsetFetchRequest>().await?;
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
    let fail = |code: i16| -> CtlResult {
        match from_code(code) {
            Some(c) => Err(CtlError::kafka(c, format!("offsets of group {group:?}"))),
            None => Ok(()),
        }
    };
    if version >= 8 {
        for g in resp.groups {
            fail(g.error_code)?;
            for t in g.topics {
                for p in t.partitions {
                    if p.committed_offset >= 0 && p.error_code == 0 {
                        out.insert(
                            (t.name.0.to_string(), p.partition_index),
                            p.committed_offset,
                        );
                    }
                }
            }
        }
    } else {
        fail(resp.error_code)?;
        for t in resp.topics {
            for p in t.partitions {
                if p.committed_offset >= 0 && p.error_code == 0 {
                    out.insert(
                        (t.name.0.to_string(), p.partition_index),
                        p.committed_offset,
                    );
                }
            }
        }
    }
    Ok(out)
}

struct Described {
    state: String,
    protocol_type: String,
    protocol: String,
    members: Vec<GroupMember>,
}

async fn describe_group(client: &Client, coord: i32, group: &str) -> CtlResult<Described> {
    let resp = client
        .send_to(
            coord,
            DescribeGroupsRequest::default().with_groups(vec![gid(group)]),
        )
        .await?;
    let g =
        resp.groups.into_iter().next().ok_or_else(|| {
            CtlError::new(ErrorClass::Failure, "DescribeGroups answered no group")
        })?;
    if let Some(code) = from_code(g.error_code) {
        return Err(CtlError::kafka(code, format!("group {group:?}")));
    }
    if g.group_state.as_str() == "Dead" {
        return Err(CtlError::new(
            ErrorClass::NotFound,
            format!("group {group:?} does not exist"),
        ));
    }
    let members = g
        .members
        .into_iter()
        .map(|m| {
            let assignments = member_assignments(&g.protocol_type, &m.member_assignment);
            GroupMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.map(|s| s.to_string()),
                client_id: m.client_id.to_string(),
                client_host: m.client_host.to_string(),
                assignments,
            }
        })
        .collect();
    Ok(Described {
        state: g.group_state.to_string(),
        protocol_type: g.protocol_type.to_string(),
        protocol: g.protocol_data.to_string(),
        members,
    })
}

async fn lag_rows(
    client: &Client,
    committed: &BTreeMap<(String, i32), i64>,
    members: &[GroupMember],
) -> CtlResult<Vec<LagRow>> {
    let mut keys: Vec<(String, i32)> = committed.keys().cloned().collect();
    for m in members {
        for (t, ps) in &m.assignments {
            keys.extend(ps.iter().map(|p| (t.clone(), *p)));
        }
    }
    keys.sort();
    keys.dedup();
    let topics: Vec<String> = {
        let mut t: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        t.dedup();
        t
    };
    let view: ClusterView = client.metadata(Some(&topics)).await?;
    let ends = client
        .list_offsets(&view, &keys, OffsetSpec::Latest)
        .await?;
    Ok(keys
        .into_iter()
        .map(|k| {
            let c = committed.get(&k).copied();
            let hw = ends.get(&k).and_then(|r| r.ok()).map(|o| o.offset);
            let member = members
                .iter()
                .find(|m| m.assignments.get(&k.0).is_some_and(|ps| ps.contains(&k.1)))
                .map(|m| m.member_id.clone());
            LagRow {
                lag: c.zip(hw).map(|(c, h)| (h - c).max(0)),
                topic: k.0,
                partition: k.1,
                committed_offset: c,
                high_watermark: hw,
                member_id: member,
            }
        })
        .collect())
}

async fn lag(client: &Client, group: &str) -> CtlResult<GroupLag> {
    let coord = coordinator(client, group).await?;
    let d = describe_group(client, coord, group).await?;
    let c = committed(client, coord, group).await?;
    let partitions = lag_rows(client, &c, &d.members).await?;
    Ok(GroupLag {
        group_id: group.to_owned(),
        state: d.state,
        total_lag: partitions.iter().filter_map(|r| r.lag).sum(),
        partitions,
    })
}

/// ListGroups on every broker (each answers for the groups it
/// coordinates), sorted by group id.
pub async fn list_all(client: &Client) -> Result<Vec<GroupSummary>, ClientError> {
    let view = client.metadata(Some(&[])).await?;
    let mut groups = Vec::new();
    for b in &view.brokers {
        let resp = client
            .send_to(b.node_id, ListGroupsRequest::default())
            .await?;
        if let Some(code) = from_code(resp.error_code) {
            return Err(ClientError::kafka(
                code,
                format!("listing groups on broker {}", b.node_id),
            ));
        }
        groups.extend(resp.groups.into_iter().map(|g| GroupSummary {
            group_id: g.group_id.0.to_string(),
            state: g.group_state.to_string(),
            protocol_type: g.protocol_type.to_string(),
            coordinator: b.node_id,
        }));
    }
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    Ok(groups)
}

/// Runs a group command.
pub async fn run(ctx: &Ctx, cmd: GroupCmd) -> CtlResult {
    match cmd {
        GroupCmd::List => {
            let client = ctx.client().await?;
            let groups = list_all(client).await?;
            ctx.out.emit(&GroupList { groups })
        }
        GroupCmd::Describe { group } => {
            let client = ctx.client().await?;
            let coord = coordinator(client, &group).await?;
            let d = describe_group(client, coord, &group).await?;
            let c = committed(client, coord, &group).await?;
            let offsets = lag_rows(client, &c, &d.members).await?;
            ctx.out.emit(&GroupDescribe {
                group_id: group,
                state: d.state,
                protocol_type: d.protocol_type,
                protocol: d.protocol,
                coordinator: coord,
                members: d.members,
                total_lag: offsets.iter().filter_map(|r| r.lag).sum(),
                offsets,
            })
        }
        GroupCmd::Lag {
            group,
            watch,
            interval,
        } => {
            let client = ctx.client().await?;
            loop {
                ctx.out.emit(&lag(client, &group).await?)?;
                if !watch {
                    return Ok(());
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = interrupted() => return Ok(()),
                }
            }
        }
        GroupCmd::ResetOffsets(args) => reset(ctx, args).await,
        GroupCmd::Delete { groups } => {
            let client = ctx.client().await?;
            let mut results = Vec::new();
            for g in &groups {
                let r = async {
                    let coord = coordinator(client, g).await?;
                    let resp = client
                        .send_to(
                            coord,
                            DeleteGroupsRequest::default().with_groups_names(vec![gid(g)]),
                        )
                        .await?;
                    match resp
                        .results
                        .iter()
                        .find(|r| r.group_id.0.as_str() == g.as_str())
                    {
                        Some(r) => match from_code(r.error_code) {
                            Some(code) => {
                                Err(CtlError::kafka(code, format!("deleting group {g:?}")))
                            }
                            None => Ok(()),
                        },
                        None => Err(CtlError::new(
                            ErrorClass::Failure,
                            format!("no answer for group {g:?}"),
                        )),
                    }
                }
                .await;
                if let Err(e) = &r {
                    if matches!(e.class, ErrorClass::Unreachable | ErrorClass::Unsupported) {
                        return r;
                    }
                }
                results.push(GroupDeleteResult {
                    group_id: g.clone(),
                    status: if r.is_ok() { "deleted" } else { "failed" }.into(),
                    error: r.err().as_ref().map(ItemError::from),
                });
            }
            let doc = GroupDelete { groups: results };
            ctx.out.emit(&doc)?;
            common::combine(doc.groups.iter().map(|g| g.error.as_ref()), "groups")
        }
    }
}

/// What to reset to.
#[derive(Debug, Clone, Copy)]
enum Target {
    Earliest,
    Latest,
    Offset(i64),
    Time(i64),
    Shift(i64),
}

async fn reset(ctx: &Ctx, a: ResetArgs) -> CtlResult {
    let target = if a.to_earliest {
        Target::Earliest
    } else if a.to_latest {
        Target::Latest
    } else if let Some(o) = a.to_offset {
        Target::Offset(o)
    } else if let Some(t) = &a.to_timestamp {
        Target::Time(parse_time(t)?)
    } else if let Some(n) = a.shift_by {
        Target::Shift(n)
    } else {
        return Err(CtlError::usage(
            "give one of --to-earliest, --to-latest, --to-offset, --to-timestamp, --shift-by",
        ));
    };
    let wanted = a
        .topics
        .iter()
        .map(|t| parse_topic_partitions(t))
        .collect::<CtlResult<Vec<_>>>()?;
    let client = ctx.client().await?;
    let coord = coordinator(client, &a.group).await?;
    let d = describe_group(client, coord, &a.group).await;
    let state = match d {
        Ok(d) => d.state,
        Err(e) if e.class == ErrorClass::NotFound => "Empty".into(),
        Err(e) => return Err(e),
    };
    if a.execute && !matches!(state.as_str(), "Empty" | "Dead" | "") {
        return Err(CtlError::new(
            ErrorClass::Failure,
            format!(
                "group {:?} is {state}: stop its consumers before resetting offsets",
                a.group
            ),
        ));
    }
    let current = committed(client, coord, &a.group).await?;
    let mut keys: Vec<(String, i32)> = Vec::new();
    if a.all_topics {
        keys.extend(current.keys().cloned());
    }
    let view = client
        .metadata(Some(
            &wanted
                .iter()
                .map(|(t, _)| t.clone())
                .chain(keys.iter().map(|k| k.0.clone()))
                .collect::<Vec<_>>(),
        ))
        .await?;
    for (t, ps) in &wanted {
        let info = view
            .topics
            .iter()
            .find(|x| &x.name == t && x.error.is_none())
            .ok_or_else(|| common::not_found_topic(t))?;
        for p in common::pick_partitions(info, ps)? {
            keys.push((t.clone(), p));
        }
    }
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Err(CtlError::new(
            ErrorClass::NotFound,
            format!("group {:?} has no committed offsets to reset", a.group),
        ));
    }
    let time = match target {
        Target::Time(t) => Some(t),
        _ => None,
    };
    let bounds = common::OffsetBounds::fetch(client, &view, &keys, time).await?;
    let mut rows = Vec::new();
    for k in &keys {
        let (s, e) = bounds.range(k)?;
        let cur = current.get(k).copied();
        let new = match target {
            Target::Earliest => s,
            Target::Latest => e,
            Target::Offset(o) => o.clamp(s, e),
            Target::Time(_) => bounds.at_time(k)?,
            Target::Shift(n) => (cur.unwrap_or(s) + n).clamp(s, e),
        };
        rows.push(ResetRow {
            topic: k.0.clone(),
            partition: k.1,
            current_offset: cur,
            new_offset: new,
        });
    }
    if a.execute {
        let mut by_topic: BTreeMap<&str, Vec<&ResetRow>> = BTreeMap::new();
        for r in &rows {
            by_topic.entry(&r.topic).or_default().push(r);
        }
        let req = OffsetCommitRequest::default()
            .with_group_id(gid(&a.group))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::from_static_str(""))
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(t, rs)| {
                        let id = view
                            .topics
                            .iter()
                            .find(|x| x.name == t)
                            .map(|x| x.id)
                            .unwrap_or_default();
                        OffsetCommitRequestTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.to_owned())))
                            .with_topic_id(id)
                            .with_partitions(
                                rs.iter()
                                    .map(|r| {
                                        OffsetCommitRequestPartition::default()
                                            .with_partition_index(r.partition)
                                            .with_committed_offset(r.new_offset)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let resp = client.send_to(coord, req).await?;
        for t in resp.topics {
            for p in t.partitions {
                if let Some(code) = from_code(p.error_code) {
                    return Err(CtlError::kafka(
                        code,
                        format!("committing {}-{}", t.name.0, p.partition_index),
                    ));
                }
            }
        }
    }
    ctx.out.emit(&GroupReset {
        group_id: a.group,
        executed: a.execute,
        partitions: rows,
    })
}

/// The partitions a member of a `consumer` group was assigned, by topic,
/// from its SyncGroup assignment bytes (empty for other protocol types or
/// bytes that do not decode).
pub fn member_assignments(
    protocol_type: &str,
    assignment: &bytes::Bytes,
) -> BTreeMap<String, Vec<i32>> {
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    let mut buf = assignment.clone();
    if protocol_type == "consumer" && buf.remaining() >= 2 {
        let v = buf.get_i16();
        if let Ok(a) = ConsumerProtocolAssignment::decode(&mut buf, v.clamp(0, 3)) {
            for tp in a.assigned_partitions {
                out.entry(tp.topic.0.to_string())
                    .or_default()
                    .extend(tp.partitions);
            }
        }
    }
    out
}
