//! openraft's storage conformance suite against the partition-log store
//! and the partition state machine (STYLE.md "Raft").

use std::sync::Arc;

use openraft::testing::log::{StoreBuilder, Suite};
use openraft::StorageError;
use parking_lot::RwLock;
use tempfile::TempDir;
use tokio::sync::watch;

use super::log_store::RaftLogStore;
use super::partition_sm::PartitionStateMachine;
use super::types::HoloRaft;
use crate::log::{FlushPolicy, Log, LogConfig};

fn storage_error(e: &(impl std::error::Error + 'static)) -> StorageError<HoloRaft> {
    StorageError::read(openraft::errors::ErrorSource::from_error(e))
}

struct Builder {
    flush: FlushPolicy,
}

impl StoreBuilder<HoloRaft, RaftLogStore, PartitionStateMachine, TempDir> for Builder {
    async fn build(
        &self,
    ) -> Result<(TempDir, RaftLogStore, PartitionStateMachine), StorageError<HoloRaft>> {
        let dir = tempfile::tempdir().map_err(|e| storage_error(&e))?;
        let config = LogConfig {
            flush: self.flush,
            ..LogConfig::default()
        };
        let log = Log::open(dir.path(), config).map_err(|e| storage_error(&e))?;
        let log = Arc::new(RwLock::new(log));
        let store = RaftLogStore::open(log.clone(), true).map_err(|e| storage_error(&e))?;
        let (hwm, _) = watch::channel(0);
        let sm = PartitionStateMachine::open(log, hwm).map_err(|e| storage_error(&e))?;
        Ok((dir, store, sm))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_suite_with_fsync() -> Result<(), StorageError<HoloRaft>> {
    Suite::test_all(Builder {
        flush: FlushPolicy::Always,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_suite_without_fsync() -> Result<(), StorageError<HoloRaft>> {
    Suite::test_all(Builder {
        flush: FlushPolicy::Never,
    })
    .await
}
