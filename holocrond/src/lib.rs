//! holocrond: the Holocron broker.
//!
//! Layers, each calling only the one below it (DESIGN.md §2):
//! `net` (sockets, framing, connection loop) → `server` (one handler per
//! Kafka API) → `cluster` (topic metadata) and `partition` (log + high
//! watermark + group commit) → `log` (the segmented log on disk).
//! `groups` is the consumer group coordinator, storing its state in the
//! internal topic `__consumer_offsets`.
//! `broker` holds the shared state; `run` wires everything together.

pub mod broker;
pub mod cluster;
pub mod config;
pub mod groups;
pub mod log;
pub mod metrics;
pub mod net;
pub mod partition;
pub mod producer;
pub mod replication;
pub mod server;
pub mod services;

mod run;

pub use run::{run, RunError};
