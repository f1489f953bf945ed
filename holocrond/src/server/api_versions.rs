//! ApiVersions: the table of what this broker serves (KIP-511 fallback for
//! unknown versions is in `holocron_proto::response`).

use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, ResponseKind};

use super::errors::ErrorCode;

/// Versions served.
pub const VERSIONS: (i16, i16) = (0, 4);

pub(super) fn handle(req: &ApiVersionsRequest, version: i16) -> ResponseKind {
    let mut resp = ApiVersionsResponse::default()
        .with_api_keys(super::api_table().to_api_versions())
        .with_finalized_features_epoch(-1);
    if version >= 3
        && !(valid_software_field(&req.client_software_name)
            && valid_software_field(&req.client_software_version))
    {
        resp.error_code = ErrorCode::InvalidRequest.code();
    }
    ResponseKind::ApiVersions(resp)
}

/// KIP-511: client software name and version are `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
fn valid_software_field(s: &str) -> bool {
    let b = s.as_bytes();
    let edge = |c: &u8| c.is_ascii_alphanumeric();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            edge(first)
                && edge(last)
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_fields_follow_kip_511() {
        assert!(valid_software_field("librdkafka"));
        assert!(valid_software_field("2.3.0"));
        assert!(valid_software_field("apache-kafka-java"));
        assert!(!valid_software_field(""));
        assert!(!valid_software_field("-x"));
        assert!(!valid_software_field("a b"));
    }
}
