//! holocrond: the Holocron broker.
//!
//! Layers, each calling only the one below it (see DESIGN.md §2):
//! `net` → `server` → `cluster`/`groups`/`producer` → `partition` → `log`.

pub mod log;
