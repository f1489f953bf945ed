//! Producer id allocation: ids come from blocks reserved durably in the
//! cluster metadata (a block of [`BLOCK`] ids per reservation), so an id is
//! never handed out twice, across restarts and — once the metadata is a Raft
//! group — across the cluster.

use parking_lot::Mutex;

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
    pub fn next(&self, metadata: &MetadataStore) -> Result<i64, TopicError> {
        let mut block = self.block.lock();
        if block.0 >= block.1 {
            let start = metadata.reserve_producer_ids(BLOCK)?;
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

    #[test]
    fn ids_are_unique_across_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first: Vec<i64> = {
            let store = MetadataStore::open(dir.path()).expect("open");
            let a = ProducerIdAllocator::default();
            (0..3).map(|_| a.next(&store).expect("id")).collect()
        };
        assert_eq!(first, vec![0, 1, 2]);
        let store = MetadataStore::open(dir.path()).expect("reopen");
        let a = ProducerIdAllocator::default();
        assert_eq!(a.next(&store).expect("id"), BLOCK);
    }
}
