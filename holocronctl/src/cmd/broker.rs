//! `broker list` and `broker describe`.

use serde::{Deserialize, Serialize};

use super::common::{self, broker_entries, BrokerEntry, ConfigEntry, LogDir};
use super::Ctx;
use crate::cli::BrokerCmd;
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};

/// `holocron.broker.list/v1`: every broker in the metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerList {
    /// Controller node id (null: none).
    pub controller_id: Option<i32>,
    /// Brokers by node id.
    pub brokers: Vec<BrokerEntry>,
}

impl Document for BrokerList {
    fn schema(&self) -> &'static str {
        "holocron.broker.list/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut t = out.table(&["id", "address", "rack", "controller"]);
        for b in &self.brokers {
            t.add_row(vec![
                b.node_id.to_string(),
                b.address.clone(),
                output::opt(b.rack.as_ref()),
                if b.is_controller { "yes" } else { "" }.into(),
            ]);
        }
        output::render(&t)
    }
}

/// `holocron.broker.describe/v1`: one broker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerDescribe {
    /// The broker.
    pub broker: BrokerEntry,
    /// Partitions it leads.
    pub leader_partitions: usize,
    /// Partitions it holds a replica of.
    pub replica_partitions: usize,
    /// Its log directories.
    pub log_dirs: Vec<LogDir>,
    /// Its configs (every one DescribeConfigs returns).
    pub configs: Vec<ConfigEntry>,
}

impl Document for BrokerDescribe {
    fn schema(&self) -> &'static str {
        "holocron.broker.describe/v1"
    }
    fn human(&self, out: &Out) -> String {
        let b = &self.broker;
        let mut s = output::kv(&[
            ("Node id", b.node_id.to_string()),
            ("Address", b.address.clone()),
            ("Rack", output::opt(b.rack.as_ref())),
            (
                "Controller",
                if b.is_controller { "yes" } else { "no" }.into(),
            ),
            (
                "Leader of",
                format!("{} partitions", self.leader_partitions),
            ),
            (
                "Replica of",
                format!("{} partitions", self.replica_partitions),
            ),
        ]);
        s.push_str("\nLog directories\n");
        let mut t = out.table(&["path", "partitions", "size", "total", "usable", "error"]);
        for d in &self.log_dirs {
            t.add_row(vec![
                d.path.clone(),
                d.partitions.to_string(),
                output::size(d.size_bytes),
                output::opt(d.total_bytes.map(|b| output::size(b as u64))),
                output::opt(d.usable_bytes.map(|b| output::size(b as u64))),
                output::opt(d.error.as_ref()),
            ]);
        }
        s.push_str(&output::render(&t));
        s.push_str("\nConfigs\n");
        let mut t = out.table(&["name", "value", "source"]);
        for c in &self.configs {
            t.add_row(vec![
                c.name.clone(),
                output::opt(c.value.as_ref()),
                c.source.clone(),
            ]);
        }
        s.push_str(&output::render(&t));
        s
    }
}

/// Runs a broker command.
pub async fn run(ctx: &Ctx, cmd: BrokerCmd) -> CtlResult {
    let client = ctx.client().await?;
    match cmd {
        BrokerCmd::List => {
            let view = client.metadata(Some(&[])).await?;
            ctx.out.emit(&BrokerList {
                controller_id: (view.controller >= 0).then_some(view.controller),
                brokers: broker_entries(&view),
            })
        }
        BrokerCmd::Describe { id } => {
            let view = client.metadata(None).await?;
            let broker = broker_entries(&view)
                .into_iter()
                .find(|b| b.node_id == id)
                .ok_or_else(|| {
                    CtlError::new(
                        ErrorClass::NotFound,
                        format!("broker {id} is not in the cluster"),
                    )
                })?;
            let parts = view.topics.iter().flat_map(|t| t.partitions.iter());
            let leader_partitions = parts.clone().filter(|p| p.leader == id).count();
            let replica_partitions = parts.filter(|p| p.replicas.contains(&id)).count();
            let (log_dirs, _) = common::log_dirs(client, id, None).await?;
            let configs = common::describe_configs(
                client,
                common::RESOURCE_BROKER,
                &id.to_string(),
                Some(id),
            )
            .await?;
            ctx.out.emit(&BrokerDescribe {
                broker,
                leader_partitions,
                replica_partitions,
                log_dirs,
                configs,
            })
        }
    }
}
