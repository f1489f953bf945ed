//! `offsets`: a topic's earliest and latest offsets, and the offset for a time.

use holocron_proto::client::OffsetSpec;
use serde::{Deserialize, Serialize};

use super::common;
use super::Ctx;
use crate::cli::OffsetsArgs;
use crate::exit::{CtlError, CtlResult};
use crate::output::{self, Document, Out};
use crate::timespec::parse_time;

/// `holocron.offsets/v1`: offsets of a topic's partitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Offsets {
    /// Topic.
    pub topic: String,
    /// The time looked up, ms since the epoch (null: none asked).
    pub timestamp_ms: Option<i64>,
    /// Partitions, by index.
    pub partitions: Vec<PartitionOffsets>,
}

/// One partition's offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionOffsets {
    /// Index.
    pub partition: i32,
    /// Log start offset.
    pub earliest: i64,
    /// High watermark.
    pub latest: i64,
    /// Records between them.
    pub records: i64,
    /// First offset at or after the time (null: no time asked, or no record
    /// that late — the next record will get `latest`).
    pub at_timestamp: Option<i64>,
    /// The timestamp of that record (null likewise).
    pub at_timestamp_record_ms: Option<i64>,
}

impl Document for Offsets {
    fn schema(&self) -> &'static str {
        "holocron.offsets/v1"
    }
    fn human(&self, out: &Out) -> String {
        let mut header = vec!["partition", "earliest", "latest", "records"];
        if self.timestamp_ms.is_some() {
            header.extend(["at-timestamp", "record-time"]);
        }
        let mut t = out.table(&header);
        for p in &self.partitions {
            let mut row = vec![
                p.partition.to_string(),
                p.earliest.to_string(),
                p.latest.to_string(),
                p.records.to_string(),
            ];
            if self.timestamp_ms.is_some() {
                row.push(output::opt(p.at_timestamp));
                row.push(p.at_timestamp_record_ms.map_or("-".into(), output::time_ms));
            }
            t.add_row(row);
        }
        output::render(&t)
    }
}

/// Runs `offsets`.
pub async fn run(ctx: &Ctx, args: OffsetsArgs) -> CtlResult {
    let timestamp = args.timestamp.as_deref().map(parse_time).transpose()?;
    let client = ctx.client().await?;
    let (view, info) = common::topic_info(client, &args.topic).await?;
    let picked = common::pick_partitions(&info, &args.partitions)?;
    let keys: Vec<(String, i32)> = picked.iter().map(|p| (args.topic.clone(), *p)).collect();
    let starts = client
        .list_offsets(&view, &keys, OffsetSpec::Earliest)
        .await?;
    let ends = client
        .list_offsets(&view, &keys, OffsetSpec::Latest)
        .await?;
    let at = match timestamp {
        Some(ts) => Some(
            client
                .list_offsets(&view, &keys, OffsetSpec::Timestamp(ts))
                .await?,
        ),
        None => None,
    };
    let mut partitions = Vec::new();
    for key in &keys {
        let get = |m: &holocron_proto::client::OffsetAnswers| -> CtlResult<holocron_proto::client::PartitionOffset> {
            match m.get(key) {
                Some(Ok(o)) => Ok(*o),
                Some(Err(code)) => Err(CtlError::kafka(*code, format!("{}-{}", key.0, key.1))),
                None => Err(common::not_found_topic(&key.0)),
            }
        };
        let earliest = get(&starts)?.offset;
        let latest = get(&ends)?.offset;
        let hit = at.as_ref().map(get).transpose()?.filter(|o| o.offset >= 0);
        partitions.push(PartitionOffsets {
            partition: key.1,
            earliest,
            latest,
            records: latest - earliest,
            at_timestamp: hit.map(|o| o.offset),
            at_timestamp_record_ms: hit.map(|o| o.timestamp).filter(|t| *t >= 0),
        });
    }
    ctx.out.emit(&Offsets {
        topic: args.topic,
        timestamp_ms: timestamp,
        partitions,
    })
}
