//! Node services: what one node asks of another besides Raft messages —
//! today, metadata changes forwarded to the metadata leader. Served as soon
//! as the metadata group is open, before this node's partitions are, so
//! nodes starting together never wait on each other's start-up.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use futures::future::BoxFuture;

use crate::cluster::forward::{self, WireError, FORWARD_META};
use crate::cluster::MetadataStore;
use crate::replication::rpc::{HandlerError, NodeId, RpcHandler};
use crate::server::errors::topic_error;

/// Answers node-service requests.
#[derive(Debug)]
pub struct NodeServices {
    metadata: Weak<MetadataStore>,
}

impl NodeServices {
    /// Services over `metadata`.
    pub fn new(metadata: &Arc<MetadataStore>) -> Arc<Self> {
        Arc::new(Self {
            metadata: Arc::downgrade(metadata),
        })
    }
}

impl RpcHandler for NodeServices {
    fn handle(
        &self,
        from: NodeId,
        _group: Bytes,
        kind: u8,
        payload: Bytes,
    ) -> BoxFuture<'static, Result<Bytes, HandlerError>> {
        let metadata = self.metadata.upgrade();
        Box::pin(async move {
            let metadata = metadata.ok_or("this node is stopping")?;
            match kind {
                FORWARD_META => {
                    let req = forward::decode_request(&payload)?;
                    tracing::debug!(from, ?req, "forwarded metadata request");
                    let result = metadata
                        .execute_local(&req)
                        .await
                        .map_err(|e| WireError::from_error(&e, |e| topic_error(e).code()));
                    Ok(forward::encode_answer(result))
                }
                other => Err(format!("unknown node service {other}").into()),
            }
        })
    }
}
