//! holocron-proto: the Kafka wire protocol as Holocron speaks it, both sides.
//!
//! The message codecs themselves come from the `kafka-protocol` crate; this
//! crate adds what a broker and its tools need around them:
//!
//! - [`frame`]: size-prefixed framing, checked cheaply before anything is
//!   parsed, with a hard maximum size;
//! - [`request`] / [`response`]: request header + body decoding and response
//!   encoding, including the hand-framed KIP-511 ApiVersions fallback;
//! - [`versions`]: the API/version table a broker advertises;
//! - [`batch`]: zero-copy views over stored RecordBatch v2 headers;
//! - [`errors`]: Kafka error codes;
//! - [`client`]: an async Kafka client (connection, correlation ids, version
//!   negotiation, metadata, leader routing) for holocronctl, the TUI and tests.
#![deny(clippy::unwrap_used)]

pub mod alloc;
pub mod batch;
pub mod client;
pub mod errors;
pub mod frame;
pub mod request;
pub mod response;
pub mod versions;

pub use kafka_protocol;
pub use kafka_protocol::messages::ApiKey;
