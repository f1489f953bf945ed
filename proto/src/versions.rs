//! The API/version table a broker advertises in ApiVersions.
//!
//! The broker builds it from the handlers it has, so ApiVersions can never
//! advertise a version that no handler serves (DESIGN.md §1.2). Each range is
//! also clamped to what the `kafka-protocol` codecs can decode.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiKey;

/// One supported API with its inclusive version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRange {
    /// The API.
    pub key: ApiKey,
    /// Lowest version served.
    pub min: i16,
    /// Highest version served.
    pub max: i16,
}

/// The set of APIs and versions served.
#[derive(Debug, Clone, Default)]
pub struct ApiVersionTable {
    ranges: Vec<ApiRange>,
}

impl ApiVersionTable {
    /// Builds a table; each range is intersected with the codec's own range.
    pub fn new(ranges: impl IntoIterator<Item = ApiRange>) -> Self {
        let mut ranges: Vec<ApiRange> = ranges
            .into_iter()
            .filter_map(|r| {
                let codec = r.key.valid_versions();
                let min = r.min.max(codec.min);
                let max = r.max.min(codec.max);
                (min <= max).then_some(ApiRange {
                    key: r.key,
                    min,
                    max,
                })
            })
            .collect();
        ranges.sort_by_key(|r| r.key as i16);
        ranges.dedup_by_key(|r| r.key as i16);
        Self { ranges }
    }

    /// The range served for `key`, if any.
    pub fn range(&self, key: ApiKey) -> Option<ApiRange> {
        self.ranges.iter().copied().find(|r| r.key == key)
    }

    /// Whether `version` of `key` is served.
    pub fn supports(&self, key: ApiKey, version: i16) -> bool {
        self.range(key)
            .is_some_and(|r| (r.min..=r.max).contains(&version))
    }

    /// All ranges, ordered by API key.
    pub fn ranges(&self) -> &[ApiRange] {
        &self.ranges
    }

    /// The table as ApiVersions response entries.
    pub fn to_api_versions(&self) -> Vec<ApiVersion> {
        self.ranges
            .iter()
            .map(|r| {
                ApiVersion::default()
                    .with_api_key(r.key as i16)
                    .with_min_version(r.min)
                    .with_max_version(r.max)
            })
            .collect()
    }

    /// Picks the highest version both sides speak (client side negotiation).
    pub fn negotiate(&self, key: ApiKey, broker_min: i16, broker_max: i16) -> Option<i16> {
        let ours = self.range(key)?;
        let max = ours.max.min(broker_max);
        (max >= ours.min.max(broker_min)).then_some(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_to_codec_and_drops_empty_ranges() {
        let table = ApiVersionTable::new([
            ApiRange {
                key: ApiKey::Produce,
                min: 0,
                max: 99,
            },
            ApiRange {
                key: ApiKey::Fetch,
                min: 40,
                max: 50,
            },
        ]);
        let produce = table.range(ApiKey::Produce);
        assert_eq!(produce.map(|r| r.min), Some(3));
        assert!(table.range(ApiKey::Fetch).is_none());
        assert!(table.supports(ApiKey::Produce, 3));
        assert!(!table.supports(ApiKey::Produce, 2));
    }

    #[test]
    fn negotiates_highest_common_version() {
        let table = ApiVersionTable::new([ApiRange {
            key: ApiKey::Metadata,
            min: 0,
            max: 12,
        }]);
        assert_eq!(table.negotiate(ApiKey::Metadata, 0, 9), Some(9));
        assert_eq!(table.negotiate(ApiKey::Metadata, 13, 14), None);
        assert_eq!(table.negotiate(ApiKey::Fetch, 0, 12), None);
    }
}
