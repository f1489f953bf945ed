//! `bench produce|consume`: the built-in load generator. Produce sends
//! pre-encoded batches (so it measures the broker, not the encoder) from
//! `--concurrency` connections; consume reads a topic from the start.
//! Both report msgs/s, MB/s and request latency percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use holocron_proto::errors::ErrorCode;
use holocron_proto::kafka_protocol::messages::create_topics_request::CreatableTopic;
use holocron_proto::kafka_protocol::messages::{CreateTopicsRequest, TopicName};
use holocron_proto::kafka_protocol::protocol::StrBytes;
use indexmap::IndexMap;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::consume::{start_positions, Fetcher};
use super::produce::{acks_wire, compression, encode_batch, produce_request, record, send_produce};
use super::{common, interrupted, Ctx};
use crate::cli::{BenchCmd, BenchConsumeArgs, BenchProduceArgs};
use crate::connect;
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::{self, Document, Out};
use crate::timespec::{ms_since_epoch, StartSpec};

/// `holocron.bench.produce/v1` and `holocron.bench.consume/v1`: a run's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    /// `produce` or `consume`.
    pub kind: String,
    /// Topic.
    pub topic: String,
    /// Records moved.
    pub records: u64,
    /// Record value bytes moved (consume: batch bytes received).
    pub bytes: u64,
    /// Wall time, seconds.
    pub duration_s: f64,
    /// Records per second.
    pub records_per_sec: f64,
    /// Megabytes (10^6 bytes) per second.
    pub mb_per_sec: f64,
    /// Requests sent (produce: batches; consume: fetches).
    pub requests: u64,
    /// Request latency percentiles.
    pub latency_ms: Percentiles,
}

/// Latency percentiles in milliseconds (0 when there were no requests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
}

impl Percentiles {
    /// From latencies in microseconds.
    pub fn of(mut us: Vec<u64>) -> Self {
        us.sort_unstable();
        let at = |q: f64| -> f64 {
            if us.is_empty() {
                return 0.0;
            }
            let i = ((us.len() as f64 * q).ceil() as usize).clamp(1, us.len()) - 1;
            us[i] as f64 / 1000.0
        };
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: at(1.0),
        }
    }
}

impl Document for BenchResult {
    fn schema(&self) -> &'static str {
        if self.kind == "produce" {
            "holocron.bench.produce/v1"
        } else {
            "holocron.bench.consume/v1"
        }
    }
    fn human(&self, out: &Out) -> String {
        let l = &self.latency_ms;
        let mut t = out.table(&[
            "records", "msgs/s", "MB/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
        ]);
        t.add_row(vec![
            self.records.to_string(),
            format!("{:.0}", self.records_per_sec),
            format!("{:.2}", self.mb_per_sec),
            format!("{:.2}", l.p50),
            format!("{:.2}", l.p90),
            format!("{:.2}", l.p99),
            format!("{:.2}", l.p999),
            format!("{:.2}", l.max),
        ]);
        format!(
            "bench {} {:?}: {} records, {} in {:.1} s, {} requests\n{}",
            self.kind,
            self.topic,
            self.records,
            output::size(self.bytes),
            self.duration_s,
            self.requests,
            output::render(&t)
        )
    }
}

fn result(
    kind: &str,
    topic: &str,
    records: u64,
    bytes: u64,
    requests: u64,
    elapsed: Duration,
    lat: Vec<u64>,
) -> BenchResult {
    let secs = elapsed.as_secs_f64().max(1e-9);
    BenchResult {
        kind: kind.into(),
        topic: topic.into(),
        records,
        bytes,
        duration_s: (secs * 1000.0).round() / 1000.0,
        records_per_sec: records as f64 / secs,
        mb_per_sec: bytes as f64 / secs / 1e6,
        requests,
        latency_ms: Percentiles::of(lat),
    }
}

fn progress(out: &Out, what: &str) -> Option<ProgressBar> {
    if !out.progress() {
        return None;
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(what.to_owned());
    pb.enable_steady_tick(Duration::from_millis(200));
    Some(pb)
}

/// Runs a bench command.
pub async fn run(ctx: &Ctx, cmd: BenchCmd) -> CtlResult {
    match cmd {
        BenchCmd::Produce(a) => produce(ctx, a).await,
        BenchCmd::Consume(a) => consume(ctx, a).await,
    }
}

async fn produce(ctx: &Ctx, a: BenchProduceArgs) -> CtlResult {
    if a.batch_records == 0 || a.concurrency == 0 || a.partitions < 1 {
        return Err(CtlError::usage(
            "--batch-records, --concurrency and --partitions must be at least 1",
        ));
    }
    let client = ctx.client().await?;
    let info = match common::topic_info(client, &a.topic).await {
        Ok((_, info)) => info,
        Err(e) if e.class == ErrorClass::NotFound => {
            let req = CreateTopicsRequest::default()
                .with_timeout_ms(ctx.settings.timeout.as_millis() as i32)
                .with_topics(vec![CreatableTopic::default()
                    .with_name(TopicName(StrBytes::from_string(a.topic.clone())))
                    .with_num_partitions(a.partitions)
                    .with_replication_factor(-1)]);
            let resp = client.send_any(req).await?;
            for t in &resp.topics {
                match holocron_proto::errors::from_code(t.error_code) {
                    None | Some(ErrorCode::TopicAlreadyExists) => {}
                    Some(code) => {
                        return Err(CtlError::kafka(
                            code,
                            format!("creating topic {:?}", a.topic),
                        ))
                    }
                }
            }
            let mut tries = 0;
            loop {
                let (_, info) = common::topic_info(client, &a.topic).await?;
                if info.partitions.iter().all(|p| p.leader >= 0) || tries > 50 {
                    break info;
                }
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Err(e) => return Err(e),
    };
    let value: Bytes = (0..a.record_size)
        .map(|i| b'a' + (i % 26) as u8)
        .collect::<Vec<u8>>()
        .into();
    let now = ms_since_epoch(SystemTime::now());
    let recs: Vec<_> = (0..a.batch_records)
        .map(|i| record(i, now, None, value.clone(), IndexMap::new()))
        .collect();
    let batch = encode_batch(&recs, compression(a.compression))?;
    let acks = acks_wire(a.acks);
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let pb = progress(&ctx.out, "producing");
    let mut tasks = Vec::new();
    for w in 0..a.concurrency {
        let settings = ctx.settings.clone();
        let info = info.clone();
        let batch = batch.clone();
        let sent = sent.clone();
        let (duration, limit, rate, n) = (a.duration, a.records, a.rate, a.batch_records as u64);
        tasks.push(tokio::spawn(async move {
            let client = connect::connect(&settings).await?;
            let mut lat = Vec::new();
            let mut i = w;
            loop {
                if start.elapsed() >= duration {
                    break;
                }
                let before = sent.fetch_add(n, Ordering::Relaxed);
                if limit.is_some_and(|l| before >= l) {
                    sent.fetch_sub(n, Ordering::Relaxed);
                    break;
                }
                if rate > 0 {
                    let due = Duration::from_secs_f64(before as f64 / rate as f64);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                let p = &info.partitions[i % info.partitions.len()];
                i += 1;
                let req = produce_request(
                    &info,
                    acks,
                    settings.timeout,
                    vec![(p.partition, batch.clone())],
                );
                let t0 = Instant::now();
                send_produce(&client, p.leader, req).await?;
                lat.push(t0.elapsed().as_micros() as u64);
            }
            Ok::<_, CtlError>(lat)
        }));
    }
    let ticker = async {
        if let Some(pb) = &pb {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let n = sent.load(Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64().max(1e-9);
                pb.set_message(format!("{n} records, {:.0} msgs/s", n as f64 / secs));
            }
        } else {
            std::future::pending::<()>().await;
        }
    };
    let all = async {
        let mut lat = Vec::new();
        for t in tasks {
            let l = t
                .await
                .map_err(|e| CtlError::new(ErrorClass::Failure, format!("bench task: {e}")))??;
            lat.extend(l);
        }
        Ok::<_, CtlError>(lat)
    };
    let lat = tokio::select! {
        r = all => r?,
        () = ticker => Vec::new(),
        () = interrupted() => return Err(CtlError::new(ErrorClass::Failure, "interrupted")),
    };
    let elapsed = start.elapsed();
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let requests = lat.len() as u64;
    let records = requests * a.batch_records as u64;
    let bytes = records * a.record_size as u64;
    ctx.out.emit(&result(
        "produce", &a.topic, records, bytes, requests, elapsed, lat,
    ))
}

async fn consume(ctx: &Ctx, a: BenchConsumeArgs) -> CtlResult {
    let client = ctx.client().await?;
    let (_, info) = common::topic_info(client, &a.topic).await?;
    let partitions = common::pick_partitions(&info, &[])?;
    let (positions, ends) =
        start_positions(client, &info, &partitions, StartSpec::Beginning).await?;
    let mut f = Fetcher::new(
        client,
        info,
        positions,
        a.fetch_bytes,
        Duration::from_millis(100),
    );
    let pb = progress(&ctx.out, "consuming");
    let start = Instant::now();
    let (mut records, mut bytes, mut lat) = (0u64, 0u64, Vec::new());
    loop {
        let active: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|p| f.positions.get(p) < ends.get(p))
            .collect();
        if active.is_empty()
            || start.elapsed() >= a.duration
            || a.records.is_some_and(|n| records >= n)
        {
            break;
        }
        let t0 = Instant::now();
        let got = tokio::select! {
            r = f.round(&active) => r?,
            () = interrupted() => return Err(CtlError::new(ErrorClass::Failure, "interrupted")),
        };
        lat.push(t0.elapsed().as_micros() as u64);
        for g in got {
            records += g.records.len() as u64;
            bytes += g.bytes as u64;
        }
        if let Some(pb) = &pb {
            pb.set_message(format!("{records} records"));
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let requests = lat.len() as u64;
    ctx.out.emit(&result(
        "consume",
        &a.topic,
        records,
        bytes,
        requests,
        start.elapsed(),
        lat,
    ))
}
