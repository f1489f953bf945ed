//! Prometheus metrics: the registry, what the broker counts, and the HTTP
//! endpoint (`http`) that serves them on their own listener.
//!
//! Request counters are updated once per request (never per record);
//! per-partition gauges are filled in at scrape time from the partitions
//! themselves, so nothing on the hot path maintains them.

pub mod http;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::partition::registry::PartitionRegistry;

/// Labels of per-API series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiLabels {
    /// API name, e.g. "Produce".
    pub api: String,
}

/// Labels of error series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// API name.
    pub api: String,
    /// Kafka error name, e.g. "UnknownTopicOrPartition".
    pub error: String,
}

/// Labels of per-partition series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    /// Topic.
    pub topic: String,
    /// Partition index.
    pub partition: String,
}

fn latency_histogram() -> Histogram {
    // 50 µs … ~6.5 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
}

/// The broker's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests handled, by API.
    pub requests: Family<ApiLabels, Counter>,
    /// Error codes returned (top-level or per partition), by API and error.
    pub errors: Family<ErrorLabels, Counter>,
    /// Request handling latency in seconds, by API.
    pub latency: Family<ApiLabels, Histogram, fn() -> Histogram>,
    /// Bytes received from clients.
    pub bytes_in: Counter,
    /// Bytes sent to clients.
    pub bytes_out: Counter,
    /// Record batch bytes appended by Produce.
    pub produce_bytes: Counter,
    /// Record batch bytes returned by Fetch.
    pub fetch_bytes: Counter,
    /// Open client connections.
    pub connections: Gauge,
    /// Client connections accepted since start.
    pub connections_total: Counter,
    /// Connections closed because of malformed or unsupported requests.
    pub bad_requests: Counter,
    log_end_offset: Family<PartitionLabels, Gauge>,
    high_watermark: Family<PartitionLabels, Gauge>,
    log_start_offset: Family<PartitionLabels, Gauge>,
    size_bytes: Family<PartitionLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every series registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("holocron");
        let m = Metrics {
            requests: Family::default(),
            errors: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            produce_bytes: Counter::default(),
            fetch_bytes: Counter::default(),
            connections: Gauge::default(),
            connections_total: Counter::default(),
            bad_requests: Counter::default(),
            log_end_offset: Family::default(),
            high_watermark: Family::default(),
            log_start_offset: Family::default(),
            size_bytes: Family::default(),
            registry: Registry::default(),
        };
        registry.register("requests", "Kafka requests handled", m.requests.clone());
        registry.register("errors", "Kafka error codes returned", m.errors.clone());
        registry.register(
            "request_latency_seconds",
            "Time from a request's arrival to its response",
            m.latency.clone(),
        );
        registry.register(
            "network_received_bytes",
            "Bytes received from clients",
            m.bytes_in.clone(),
        );
        registry.register(
            "network_sent_bytes",
            "Bytes sent to clients",
            m.bytes_out.clone(),
        );
        registry.register(
            "produce_bytes",
            "Record batch bytes appended",
            m.produce_bytes.clone(),
        );
        registry.register(
            "fetch_bytes",
            "Record batch bytes served",
            m.fetch_bytes.clone(),
        );
        registry.register(
            "connections",
            "Open client connections",
            m.connections.clone(),
        );
        registry.register(
            "connections_accepted",
            "Client connections accepted",
            m.connections_total.clone(),
        );
        registry.register(
            "bad_requests",
            "Requests refused as malformed or unsupported",
            m.bad_requests.clone(),
        );
        registry.register(
            "partition_log_end_offset",
            "Next offset to be written",
            m.log_end_offset.clone(),
        );
        registry.register(
            "partition_high_watermark",
            "Last committed offset + 1",
            m.high_watermark.clone(),
        );
        registry.register(
            "partition_log_start_offset",
            "First offset still stored",
            m.log_start_offset.clone(),
        );
        registry.register(
            "partition_size_bytes",
            "Bytes on disk",
            m.size_bytes.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Counts a handled request and its latency.
    pub fn observe_request(&self, api: &'static str, seconds: f64) {
        let labels = ApiLabels {
            api: api.to_owned(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
    }

    /// Counts one error code returned by an API.
    pub fn observe_error(&self, api: &'static str, error: holocron_proto::errors::ErrorCode) {
        self.errors
            .get_or_create(&ErrorLabels {
                api: api.to_owned(),
                error: format!("{error:?}"),
            })
            .inc();
    }

    /// Renders the exposition text, refreshing per-partition gauges first.
    pub fn render(&self, partitions: &PartitionRegistry) -> String {
        self.log_end_offset.clear();
        self.high_watermark.clear();
        self.log_start_offset.clear();
        self.size_bytes.clear();
        for p in partitions.all() {
            let labels = PartitionLabels {
                topic: p.id().topic.clone(),
                partition: p.id().partition.to_string(),
            };
            let set = |f: &Family<PartitionLabels, Gauge>, v: u64| {
                f.get_or_create(&labels).set(v as i64);
            };
            set(&self.log_end_offset, p.log_end_offset());
            set(&self.high_watermark, p.high_watermark());
            set(&self.log_start_offset, p.log_start_offset());
            self.size_bytes
                .get_or_create(&labels)
                .set(p.size_bytes() as i64);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
