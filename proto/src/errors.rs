//! Kafka error codes.
//!
//! The codes themselves are `kafka-protocol`'s [`ResponseError`], re-exported
//! as [`ErrorCode`]; the broker maps its internal errors onto them in one
//! place (`holocrond::server::errors`).

pub use kafka_protocol::error::ResponseError as ErrorCode;

/// The wire value of an optional error: 0 for none.
pub fn code_of(error: Option<ErrorCode>) -> i16 {
    error.map_or(0, |e| e.code())
}

/// The error for a wire value, or None for 0.
pub fn from_code(code: i16) -> Option<ErrorCode> {
    ErrorCode::try_from_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        assert_eq!(code_of(None), 0);
        assert_eq!(code_of(Some(ErrorCode::CorruptMessage)), 2);
        assert_eq!(from_code(87), Some(ErrorCode::InvalidRecord));
        assert_eq!(from_code(0), None);
    }
}
