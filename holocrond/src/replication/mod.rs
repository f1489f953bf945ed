//! Replication: openraft glue and the node-to-node RPC it runs over (DESIGN.md §4).

pub mod rpc;
