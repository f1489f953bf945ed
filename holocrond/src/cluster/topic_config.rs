//! Topic configuration: the Kafka config names Holocron understands, their
//! validation, defaults, and how they become a [`LogConfig`].
//!
//! Only names that change behaviour are accepted; anything else is refused
//! with INVALID_CONFIG, so a client never believes a setting took effect when
//! it did not.

use std::collections::BTreeMap;

use crate::log::{FlushPolicy, LogConfig};

/// How a config's value is typed, for validation and DescribeConfigs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// Kafka BOOLEAN (1).
    Boolean,
    /// Kafka STRING (2).
    String,
    /// Kafka INT (3).
    Int,
    /// Kafka LONG (5).
    Long,
    /// Kafka LIST (7).
    List,
}

impl ConfigType {
    /// The DescribeConfigs v3+ wire value.
    pub fn wire(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String => 2,
            ConfigType::Int => 3,
            ConfigType::Long => 5,
            ConfigType::List => 7,
        }
    }
}

/// One supported topic config.
#[derive(Debug)]
pub struct ConfigDef {
    /// Kafka name.
    pub name: &'static str,
    /// Value type.
    pub kind: ConfigType,
    /// One-line documentation.
    pub doc: &'static str,
}

/// Every topic config Holocron accepts.
pub const TOPIC_CONFIGS: &[ConfigDef] = &[
    ConfigDef { name: "cleanup.policy", kind: ConfigType::List, doc: "delete: retention removes old segments; compact: data is kept (compaction itself is not implemented yet, so compacted topics keep every record)" },
    ConfigDef { name: "retention.ms", kind: ConfigType::Long, doc: "Delete sealed segments whose newest record is older than this; -1 keeps them forever" },
    ConfigDef { name: "retention.bytes", kind: ConfigType::Long, doc: "Delete the oldest sealed segments while a partition is larger than this; -1 for no limit" },
    ConfigDef { name: "segment.bytes", kind: ConfigType::Int, doc: "Roll to a new segment file when the active one reaches this size" },
    ConfigDef { name: "segment.ms", kind: ConfigType::Long, doc: "Roll to a new segment file when the active one is older than this" },
    ConfigDef { name: "max.message.bytes", kind: ConfigType::Int, doc: "Largest record batch accepted" },
    ConfigDef { name: "flush.ms", kind: ConfigType::Long, doc: "fsync at most this often (ms); absent: the broker's --log-flush policy" },
    ConfigDef { name: "flush.messages", kind: ConfigType::Long, doc: "fsync after this many messages; absent: the broker's --log-flush policy" },
    ConfigDef { name: "index.interval.bytes", kind: ConfigType::Int, doc: "Bytes between offset index entries" },
    ConfigDef { name: "message.timestamp.type", kind: ConfigType::String, doc: "CreateTime: records keep the producer's timestamps (LogAppendTime is not supported yet)" },
    ConfigDef { name: "compression.type", kind: ConfigType::String, doc: "producer: batches are stored exactly as the producer compressed them (the only mode; the broker never recompresses)" },
    ConfigDef { name: "min.insync.replicas", kind: ConfigType::Int, doc: "Replicas that must acknowledge acks=all writes (a Raft majority in clusters)" },
];

/// Looks up a supported config.
pub fn def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Why a topic config is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigValueError {
    /// Unknown name.
    #[error("unknown topic config {0:?}")]
    Unknown(String),
    /// Known name, bad value.
    #[error("invalid value {value:?} for {name}: {reason}")]
    BadValue {
        /// Name.
        name: String,
        /// Value.
        value: String,
        /// Why.
        reason: &'static str,
    },
}

fn bad(name: &str, value: &str, reason: &'static str) -> ConfigValueError {
    ConfigValueError::BadValue {
        name: name.into(),
        value: value.into(),
        reason,
    }
}

fn parse_long(name: &str, value: &str, min: i64) -> Result<i64, ConfigValueError> {
    let v: i64 = value
        .trim()
        .parse()
        .map_err(|_| bad(name, value, "not a number"))?;
    if v < min {
        return Err(bad(name, value, "below the minimum"));
    }
    Ok(v)
}

/// Checks one name/value pair.
pub fn validate(name: &str, value: &str) -> Result<(), ConfigValueError> {
    let d = def(name).ok_or_else(|| ConfigValueError::Unknown(name.into()))?;
    match d.name {
        "cleanup.policy" => {
            let ok = value
                .split(',')
                .map(str::trim)
                .all(|p| p == "delete" || p == "compact");
            if !ok || value.trim().is_empty() {
                return Err(bad(name, value, "expected delete, compact or both"));
            }
        }
        "retention.ms" | "retention.bytes" => {
            parse_long(name, value, -1)?;
        }
        "segment.bytes" => {
            let v = parse_long(name, value, 14)?;
            if v > i64::from(i32::MAX) {
                return Err(bad(name, value, "above the maximum"));
            }
        }
        "segment.ms" | "flush.ms" | "flush.messages" => {
            parse_long(name, value, 1)?;
        }
        "max.message.bytes" | "index.interval.bytes" => {
            let v = parse_long(name, value, 0)?;
            if v > i64::from(i32::MAX) {
                return Err(bad(name, value, "above the maximum"));
            }
        }
        "min.insync.replicas" => {
            parse_long(name, value, 1)?;
        }
        "message.timestamp.type" if value != "CreateTime" => {
            return Err(bad(name, value, "only CreateTime is supported"));
        }
        "compression.type" if value != "producer" => {
            return Err(bad(
                name,
                value,
                "only producer is supported: batches are stored as produced",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// The value a config has when the topic does not set it.
pub fn default_value(name: &str, defaults: &LogConfig) -> Option<String> {
    Some(match name {
        "cleanup.policy" => "delete".into(),
        "retention.ms" => defaults.retention_ms.unwrap_or(-1).to_string(),
        "retention.bytes" => defaults.retention_bytes.unwrap_or(-1).to_string(),
        "segment.bytes" => defaults.segment_bytes.to_string(),
        "segment.ms" => defaults
            .segment_ms
            .map_or(i64::MAX.to_string(), |v| v.to_string()),
        "max.message.bytes" => defaults.max_batch_bytes.to_string(),
        "flush.ms" => match defaults.flush {
            FlushPolicy::Interval { ms, .. } => ms.to_string(),
            FlushPolicy::Always => "0".into(),
            FlushPolicy::Never => i64::MAX.to_string(),
        },
        "flush.messages" => match defaults.flush {
            FlushPolicy::Always => "1".into(),
            FlushPolicy::Interval {
                messages: Some(m), ..
            } => m.to_string(),
            _ => i64::MAX.to_string(),
        },
        "index.interval.bytes" => defaults.index_interval_bytes.to_string(),
        "message.timestamp.type" => "CreateTime".into(),
        "compression.type" => "producer".into(),
        "min.insync.replicas" => "1".into(),
        _ => return None,
    })
}

/// The log settings of a topic: its overrides applied over the broker defaults.
pub fn log_config(overrides: &BTreeMap<String, String>, defaults: &LogConfig) -> LogConfig {
    let mut c = defaults.clone();
    let long = |k: &str| overrides.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let compact = overrides
        .get("cleanup.policy")
        .is_some_and(|p| p.split(',').any(|x| x.trim() == "compact"));
    if let Some(v) = long("retention.ms") {
        c.retention_ms = (v >= 0).then_some(v);
    }
    if let Some(v) = long("retention.bytes") {
        c.retention_bytes = (v >= 0).then_some(v);
    }
    if compact {
        // Until compaction exists, a compacted topic must not lose its latest
        // values to time or size retention.
        c.retention_ms = None;
        c.retention_bytes = None;
    }
    if let Some(v) = long("segment.bytes") {
        c.segment_bytes = v.max(14) as u64;
    }
    if let Some(v) = long("segment.ms") {
        c.segment_ms = Some(v.max(1) as u64);
    }
    if let Some(v) = long("max.message.bytes") {
        c.max_batch_bytes = v.clamp(0, i64::from(u32::MAX)) as u32;
    }
    if let Some(v) = long("index.interval.bytes") {
        c.index_interval_bytes = v.clamp(0, i64::from(u32::MAX)) as u32;
    }
    let flush_ms = long("flush.ms");
    let flush_messages = long("flush.messages");
    if flush_ms.is_some() || flush_messages.is_some() {
        c.flush = match (flush_ms, flush_messages) {
            (_, Some(1)) => FlushPolicy::Always,
            (ms, messages) => FlushPolicy::Interval {
                ms: ms.map_or(u64::MAX / 2, |v| v.max(1) as u64),
                messages: messages.map(|m| m.max(1) as u64),
            },
        };
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_known_names_and_values() {
        assert!(validate("retention.ms", "-1").is_ok());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("retention.ms", "soon").is_err());
        assert!(validate("segment.bytes", "13").is_err());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "shred").is_err());
        assert_eq!(
            validate("made.up", "1"),
            Err(ConfigValueError::Unknown("made.up".into()))
        );
    }

    #[test]
    fn overrides_become_log_settings() {
        let defaults = LogConfig::default();
        let mut o = BTreeMap::new();
        o.insert("retention.ms".to_string(), "1000".to_string());
        o.insert("segment.bytes".to_string(), "4096".to_string());
        let c = log_config(&o, &defaults);
        assert_eq!(c.retention_ms, Some(1000));
        assert_eq!(c.segment_bytes, 4096);
        o.insert("cleanup.policy".to_string(), "compact".to_string());
        assert_eq!(log_config(&o, &defaults).retention_ms, None);
        o.insert("retention.ms".to_string(), "-1".to_string());
        o.remove("cleanup.policy");
        assert_eq!(log_config(&o, &defaults).retention_ms, None);
    }
}
