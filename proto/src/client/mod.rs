//! An async Kafka client for Holocron's own tools (holocronctl, the TUI,
//! tests): one [`Connection`] per broker with version negotiation, and a
//! [`Client`] that keeps metadata and routes requests to partition leaders,
//! over TCP or TLS ([`TlsSettings`] → [`TlsConnector`]).
//!
//! It is deliberately request/response shaped — the tools need admin calls,
//! produce and fetch, not a full consumer-group implementation.

mod cluster;
mod connection;
mod error;
mod offsets;
mod tls;

pub use cluster::{
    BrokerInfo, Client, ClientConfig, ClusterView, ConnectFuture, Connector, PartitionInfo,
    TopicInfo,
};
pub use connection::{Connection, Stream};
pub use error::{ClientError, TlsFailure};
pub use offsets::{OffsetAnswers, OffsetSpec, PartitionOffset};
pub use tls::{TlsConnector, TlsSettings};
