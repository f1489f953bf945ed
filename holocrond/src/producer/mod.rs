//! The idempotent producer (DESIGN.md §5): producer ids, epochs and the
//! per-partition sequence windows that make retries safe.
//!
//! - [`ids`] hands out producer ids from blocks reserved durably in the
//!   cluster metadata, so ids are never reused, even across restarts;
//! - [`state`] keeps, per partition and producer id, the epoch and the last
//!   five batches' sequence ranges and offsets, and decides for each
//!   incoming batch: append, duplicate (answer with the original offsets),
//!   out of order, or fenced;
//! - [`snapshot`] persists that table next to the log; at start the table is
//!   the latest snapshot plus the batches appended after it (batches carry
//!   producer id, epoch and sequence), so deduplication survives restarts
//!   and `kill -9`.

pub mod ids;
pub mod snapshot;
pub mod state;

pub use ids::ProducerIdAllocator;
pub use state::{BatchMeta, Check, ProducerEntry, ProducerStateTable, SequenceError};
