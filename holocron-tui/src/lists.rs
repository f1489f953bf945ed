//! The rows each list shows: the polled data, filtered by the list's filter
//! (a case-insensitive substring). Key handling and drawing both use these,
//! so a selection always points at the row that is drawn.

use crate::app::{App, ListId};
use crate::model::{
    BrokerRow, GroupOffsetRow, GroupRow, GroupsData, PartitionRow, TailRecord, TopicRow,
};

fn needle(app: &App, list: ListId) -> String {
    app.filter(list).to_lowercase()
}

impl App {
    /// Brokers, filtered by id or address.
    pub fn visible_brokers(&self) -> Vec<&BrokerRow> {
        let n = needle(self, ListId::Brokers);
        self.cluster
            .iter()
            .flat_map(|c| &c.brokers)
            .filter(|b| {
                n.is_empty() || b.node_id.to_string() == n || b.address.to_lowercase().contains(&n)
            })
            .collect()
    }

    /// Topics, filtered by name (the picker of the tail has its own filter).
    pub fn visible_topics(&self) -> Vec<&TopicRow> {
        let list = if self.current_list() == ListId::TailPick {
            ListId::TailPick
        } else {
            ListId::Topics
        };
        self.topics_for(list)
    }

    fn topics_for(&self, list: ListId) -> Vec<&TopicRow> {
        let n = needle(self, list);
        self.cluster
            .iter()
            .flat_map(|c| &c.topics)
            .filter(|t| n.is_empty() || t.name.to_lowercase().contains(&n))
            .collect()
    }

    /// The open topic.
    pub fn open_topic_row(&self) -> Option<&TopicRow> {
        let name = self.open_topic.as_deref()?;
        self.cluster
            .as_ref()?
            .topics
            .iter()
            .find(|t| t.name == name)
    }

    /// Partitions of the open topic, filtered by index, leader (`n1`) or error.
    pub fn visible_partitions(&self) -> Vec<&PartitionRow> {
        let n = needle(self, ListId::Partitions);
        self.open_topic_row()
            .iter()
            .flat_map(|t| &t.partitions)
            .filter(|p| {
                n.is_empty()
                    || p.partition.to_string() == n
                    || format!("n{}", p.leader) == n
                    || p.error
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(&n))
            })
            .collect()
    }

    /// Groups, filtered by id or state.
    pub fn visible_groups(&self) -> Vec<&GroupRow> {
        let n = needle(self, ListId::Groups);
        match &self.groups {
            Some(GroupsData::Groups(gs)) => gs
                .iter()
                .filter(|g| {
                    n.is_empty()
                        || g.group_id.to_lowercase().contains(&n)
                        || g.state.to_lowercase().contains(&n)
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The open group.
    pub fn open_group_row(&self) -> Option<&GroupRow> {
        let id = self.open_group.as_deref()?;
        match &self.groups {
            Some(GroupsData::Groups(gs)) => gs.iter().find(|g| g.group_id == id),
            _ => None,
        }
    }

    /// Offsets of the open group, filtered by topic or member.
    pub fn visible_group_offsets(&self) -> Vec<&GroupOffsetRow> {
        let n = needle(self, ListId::GroupOffsets);
        self.open_group_row()
            .iter()
            .flat_map(|g| &g.offsets)
            .filter(|o| {
                n.is_empty()
                    || o.topic.to_lowercase().contains(&n)
                    || o.member
                        .as_deref()
                        .is_some_and(|m| m.to_lowercase().contains(&n))
            })
            .collect()
    }

    /// Tailed records (newest first) matching the filter.
    pub fn visible_tail(&self) -> Vec<&TailRecord> {
        let n = needle(self, ListId::Tail);
        self.tail
            .records
            .iter()
            .filter(|r| n.is_empty() || r.matches(&n))
            .collect()
    }

    /// How many rows a list shows.
    pub fn list_len(&self, list: ListId) -> usize {
        match list {
            ListId::Brokers => self.visible_brokers().len(),
            ListId::Topics | ListId::TailPick => self.topics_for(list).len(),
            ListId::Partitions => self.visible_partitions().len(),
            ListId::Groups => self.visible_groups().len(),
            ListId::GroupOffsets => self.visible_group_offsets().len(),
            ListId::Tail => self.visible_tail().len(),
        }
    }
}
