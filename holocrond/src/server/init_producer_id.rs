//! InitProducerId for idempotent producers: a fresh producer id at epoch 0
//! for every call, as Kafka does when there is no transactional id.
//! Transactional ids need the transaction coordinator, which does not exist
//! yet: they are refused with a fatal error rather than half-supported.

use std::sync::Arc;

use kafka_protocol::messages::{
    InitProducerIdRequest, InitProducerIdResponse, ProducerId, ResponseKind,
};

use super::errors::{topic_error, ErrorCode};
use crate::broker::Broker;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 5);

pub(super) async fn handle(
    broker: Arc<Broker>,
    req: InitProducerIdRequest,
    _version: i16,
) -> ResponseKind {
    let mut resp = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let outcome = if req.transactional_id.as_ref().is_some_and(|t| !t.is_empty()) {
        Err(ErrorCode::TransactionalIdAuthorizationFailed)
    } else {
        broker
            .producer_ids
            .next(&broker.metadata)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot reserve producer ids");
                topic_error(&e)
            })
    };
    match outcome {
        Ok(id) => {
            resp.producer_id = ProducerId(id);
            resp.producer_epoch = 0;
        }
        Err(code) => {
            broker.metrics.observe_error("InitProducerId", code);
            resp.error_code = code.code();
        }
    }
    ResponseKind::InitProducerId(resp)
}
