//! Producer id allocation: ids come from blocks reserved durably in the
//! cluster metadata (a block of [`BLOCK`] ids per reservation), so an id is
//! never handed out twice, across restarts and — once the metadata is a Raft
//! group — across the cluster.

use tokio::sync::Mutex;

use crate::cluster::{MetadataStore, TopicError};

/// Ids reserved per metadata write.
pub const BLOCK: i64 = 1000;

/// Hands out producer ids.
#[derive(Debug, Default)]
pub struct ProducerIdAllocator {
    /// Next id to hand out and the end (exclusive) of the reserved block.
    block: Mutex<(i64, i64)>,
}

impl ProducerIdAllocator {
    /// The next unused producer id.
    pub async fn next(&self, metadata: &MetadataStore) -> Result<i64, TopicError> {
        let mut block = self.block.lock().await;
        if block.0 >= block.1 {
            let start = metadata.reserve_producer_ids(BLOCK).await?;
            *block = (start, start + BLOCK);
        }
        let id = block.0;
        block.0 += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ids_are_unique_across_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first: Vec<i64> = {
            let store = crate::cluster::tests::standalone(dir.path()).await;
            let a = ProducerIdAllocator::default();
            let mut ids = Vec::new();
            for _ in 0..3 {
                ids.push(a.next(&store).await.expect("id"));
            }
            store.shutdown().await;
            ids
        };
        assert_eq!(first, vec![0, 1, 2]);
        let store = crate::cluster::tests::standalone(dir.path()).await;
        let a = ProducerIdAllocator::default();
        assert_eq!(a.next(&store).await.expect("id"), BLOCK);
        store.shutdown().await;
    }
}
