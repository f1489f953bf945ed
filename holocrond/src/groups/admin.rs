//! DescribeGroups, ListGroups and DeleteGroups.

use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt};

use super::codec::{self, RecordKey};
use super::coordinator::{check_group_id, GroupCoordinator};
use super::group::GroupState;
use super::store::Write;
use super::GroupError;

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// State name.
    pub state: &'static str,
    /// Protocol type ("" for simple groups).
    pub protocol_type: String,
    /// Selected protocol when Stable, else "".
    pub protocol: String,
    /// Members.
    pub members: Vec<MemberDescription>,
}

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static membership id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
    /// Metadata for the selected protocol (Stable groups only).
    pub metadata: Bytes,
    /// Assignment (Stable groups only).
    pub assignment: Bytes,
}

/// A group as ListGroups shows it.
#[derive(Debug, Clone)]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// Protocol type.
    pub protocol_type: String,
    /// State name.
    pub state: &'static str,
}

impl GroupCoordinator {
    /// DescribeGroups of one group; None if it does not exist.
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let cell = self.get(group_id)?;
        let g = cell.lock();
        if g.is(GroupState::Dead) {
            return None;
        }
        let stable = g.is(GroupState::Stable);
        let protocol = if stable {
            g.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        Some(GroupDescription {
            state: g.state.as_str(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            members: g
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
            protocol,
        })
    }

    /// ListGroups, filtered by state names (case-insensitive; empty: all).
    pub fn list(&self, states: &[String]) -> Vec<ListedGroup> {
        self.load_led();
        let mut out: Vec<ListedGroup> = self
            .all()
            .into_iter()
            .filter(|(id, _)| self.is_current_group(id))
            .filter_map(|(id, cell)| {
                let g = cell.lock();
                let state = g.state.as_str();
                let wanted =
                    states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(state));
                (wanted && !g.is(GroupState::Dead)).then(|| ListedGroup {
                    group_id: id,
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    state,
                })
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DeleteGroups: each group must exist and be Empty; its offsets and
    /// metadata get tombstones, and the answer waits for them to commit.
    pub fn delete_groups(
        &self,
        ids: Vec<String>,
    ) -> BoxFuture<'static, Vec<(String, Option<GroupError>)>> {
        let mut waits = Vec::with_capacity(ids.len());
        for id in ids {
            let outcome = self.delete_group(&id);
            waits.push(async move {
                let error = match outcome {
                    Ok(appended) => appended.committed().await.err(),
                    Err(e) => Some(e),
                };
                (id, error)
            });
        }
        futures::future::join_all(waits).boxed()
    }

    fn delete_group(&self, id: &str) -> Result<super::store::Appended, GroupError> {
        check_group_id(id, true)?;
        self.own(id)?;
        let cell = self.get(id).ok_or(GroupError::GroupIdNotFound)?;
        let mut g = cell.lock();
        match g.state {
            GroupState::Dead => return Err(GroupError::GroupIdNotFound),
            GroupState::Empty => {}
            _ => return Err(GroupError::NonEmptyGroup),
        }
        let mut writes: Vec<Write> = g
            .offsets
            .keys()
            .map(|(topic, partition)| Write {
                key: codec::encode_key(&RecordKey::Offset {
                    group: id.to_owned(),
                    topic: topic.clone(),
                    partition: *partition,
                }),
                value: None,
            })
            .collect();
        writes.push(Write {
            key: codec::encode_key(&RecordKey::Group {
                group: id.to_owned(),
            }),
            value: None,
        });
        let appended = self.log.append(id, &writes, GroupError::CommitTooLarge)?;
        g.offsets.clear();
        g.mark_dead();
        drop(g);
        self.forget(id, &cell);
        tracing::info!(group = id, "deleted group");
        Ok(appended)
    }
}
