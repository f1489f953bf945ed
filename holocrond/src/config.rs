//! One `Config` for the broker: command-line flags, `HOLOCRON_*` environment
//! variables and an optional TOML file, in that order of precedence, over
//! built-in defaults that make `holocrond` with no arguments a working
//! single-node broker (data in `./data`, Kafka on 127.0.0.1:9092, metrics on
//! 127.0.0.1:9644).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;

use crate::groups::GroupConfig;
use crate::log::{FlushPolicy, LogConfig};

/// Raw command line (every flag also reads `HOLOCRON_<FLAG>`).
#[derive(Debug, Parser, Default)]
#[command(
    name = "holocrond",
    version,
    about = "Holocron: a single-binary, Kafka-compatible log broker",
    long_about = "Holocron: a single-binary, Kafka-compatible log broker.\n\n\
        With no arguments it serves the Kafka protocol on 127.0.0.1:9092 from ./data and \
        Prometheus metrics on 127.0.0.1:9644. Every flag can also be set with an environment \
        variable HOLOCRON_<FLAG> (for example HOLOCRON_DATA_DIR) or in a TOML file given with \
        --config (keys are the flag names with underscores, e.g. data_dir = \"/var/lib/holocron\"). \
        Flags win over the environment, which wins over the file.",
    after_help = "Examples:\n  holocrond\n  holocrond --data-dir /var/lib/holocron --listen plaintext://0.0.0.0:9092 --advertised-host broker1.example.com\n  HOLOCRON_LOG_FLUSH=never holocrond --default-partitions 8"
)]
pub struct Args {
    /// TOML configuration file.
    #[arg(long, env = "HOLOCRON_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory holding topic data and broker state [default: ./data].
    #[arg(long, env = "HOLOCRON_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Kafka listener, e.g. plaintext://127.0.0.1:9092; repeat for several [default: plaintext://127.0.0.1:9092].
    #[arg(
        long,
        env = "HOLOCRON_LISTEN",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub listen: Vec<String>,
    /// Server certificate chain (PEM) for tls:// listeners.
    #[arg(long, env = "HOLOCRON_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "HOLOCRON_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// CA certificate (PEM) that client certificates must chain to.
    #[arg(long, env = "HOLOCRON_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificates on tls:// listeners: none, optional (verified when presented) or required [default: none].
    #[arg(
        long,
        env = "HOLOCRON_CLIENT_AUTH",
        value_name = "none|optional|required"
    )]
    pub client_auth: Option<String>,
    /// Host name advertised to clients in Metadata [default: the listener's address].
    #[arg(long, env = "HOLOCRON_ADVERTISED_HOST", value_name = "HOST")]
    pub advertised_host: Option<String>,
    /// Prometheus metrics listener [default: 127.0.0.1:9644]; "off" disables it.
    #[arg(long, env = "HOLOCRON_METRICS_LISTEN", value_name = "HOST:PORT")]
    pub metrics_listen: Option<String>,
    /// This broker's node id [default: 0].
    #[arg(long, env = "HOLOCRON_NODE_ID", value_name = "N")]
    pub node_id: Option<i32>,
    /// Create topics on first Metadata request, as Kafka's auto.create.topics.enable [default: true].
    #[arg(long, env = "HOLOCRON_AUTO_CREATE_TOPICS", value_name = "BOOL")]
    pub auto_create_topics: Option<bool>,
    /// Partitions of auto-created topics and CreateTopics without a count [default: 1].
    #[arg(long, env = "HOLOCRON_DEFAULT_PARTITIONS", value_name = "N")]
    pub default_partitions: Option<i32>,
    /// Default retention.ms of new topics; -1 keeps data forever [default: 604800000 (7 days)].
    #[arg(
        long,
        env = "HOLOCRON_RETENTION_MS",
        value_name = "MS",
        allow_hyphen_values = true
    )]
    pub retention_ms: Option<i64>,
    /// Default retention.bytes per partition; -1 for no limit [default: -1].
    #[arg(
        long,
        env = "HOLOCRON_RETENTION_BYTES",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub retention_bytes: Option<i64>,
    /// Default segment.bytes [default: 1073741824].
    #[arg(long, env = "HOLOCRON_SEGMENT_BYTES", value_name = "BYTES")]
    pub segment_bytes: Option<u64>,
    /// Default segment.ms; roll segments older than this [default: 604800000].
    #[arg(long, env = "HOLOCRON_SEGMENT_MS", value_name = "MS")]
    pub segment_ms: Option<u64>,
    /// Default max.message.bytes, the largest batch accepted [default: 1048588].
    #[arg(long, env = "HOLOCRON_MAX_MESSAGE_BYTES", value_name = "BYTES")]
    pub max_message_bytes: Option<u32>,
    /// When appends are fsynced: "always" (acks=all waits for a group fsync), "never" (leave it to the OS), or an interval in ms [default: always].
    #[arg(long, env = "HOLOCRON_LOG_FLUSH", value_name = "always|never|MS")]
    pub log_flush: Option<String>,
    /// How often retention is checked, in ms [default: 300000].
    #[arg(long, env = "HOLOCRON_RETENTION_CHECK_INTERVAL_MS", value_name = "MS")]
    pub retention_check_interval_ms: Option<u64>,
    /// Largest request accepted, in bytes [default: 104857600].
    #[arg(long, env = "HOLOCRON_MAX_REQUEST_BYTES", value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Most client connections served at once [default: 10000].
    #[arg(long, env = "HOLOCRON_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Forget an idempotent producer after this long without writes, as Kafka's producer.id.expiration.ms [default: 86400000].
    #[arg(long, env = "HOLOCRON_PRODUCER_ID_EXPIRATION_MS", value_name = "MS")]
    pub producer_id_expiration_ms: Option<u64>,
    /// Log filter, e.g. info or holocrond=debug [default: info].
    #[arg(long, env = "HOLOCRON_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Partitions of __consumer_offsets when it is created [default: 50].
    #[arg(long, env = "HOLOCRON_OFFSETS_TOPIC_PARTITIONS", value_name = "N")]
    pub offsets_topic_partitions: Option<i32>,
    /// Committed offsets of an empty group (or of a simple consumer, since the commit) expire after this [default: 10080 (7 days)].
    #[arg(long, env = "HOLOCRON_OFFSETS_RETENTION_MINUTES", value_name = "MIN")]
    pub offsets_retention_minutes: Option<u64>,
    /// How often offsets are checked for expiry, in ms [default: 600000].
    #[arg(
        long,
        env = "HOLOCRON_OFFSETS_RETENTION_CHECK_INTERVAL_MS",
        value_name = "MS"
    )]
    pub offsets_retention_check_interval_ms: Option<u64>,
    /// Smallest session timeout a group member may ask for, as group.min.session.timeout.ms [default: 6000].
    #[arg(long, env = "HOLOCRON_GROUP_MIN_SESSION_TIMEOUT_MS", value_name = "MS")]
    pub group_min_session_timeout_ms: Option<i32>,
    /// Largest session timeout a group member may ask for, as group.max.session.timeout.ms [default: 1800000].
    #[arg(long, env = "HOLOCRON_GROUP_MAX_SESSION_TIMEOUT_MS", value_name = "MS")]
    pub group_max_session_timeout_ms: Option<i32>,
    /// How long the first rebalance of an empty group waits for more members, as group.initial.rebalance.delay.ms [default: 3000].
    #[arg(
        long,
        env = "HOLOCRON_GROUP_INITIAL_REBALANCE_DELAY_MS",
        value_name = "MS"
    )]
    pub group_initial_rebalance_delay_ms: Option<u64>,
    /// Most members per consumer group, as group.max.size [default: 1000].
    #[arg(long, env = "HOLOCRON_GROUP_MAX_SIZE", value_name = "N")]
    pub group_max_size: Option<usize>,
    /// Every node of the cluster, this one included, as ID=HOST:PORT of its node-to-node listener (comma separated). Turns on cluster mode; needs --node-id and the --node-* certificates.
    #[arg(
        long,
        env = "HOLOCRON_PEERS",
        value_name = "ID=HOST:PORT",
        value_delimiter = ','
    )]
    pub peers: Vec<String>,
    /// Where to accept node-to-node mTLS connections [default: this node's address in --peers].
    #[arg(long, env = "HOLOCRON_PEER_LISTEN", value_name = "HOST:PORT")]
    pub peer_listen: Option<String>,
    /// This node's certificate (PEM, from `holocronctl certs node`), naming its node id.
    #[arg(long, env = "HOLOCRON_NODE_CERT", value_name = "FILE")]
    pub node_cert: Option<PathBuf>,
    /// Private key (PEM) of --node-cert.
    #[arg(long, env = "HOLOCRON_NODE_KEY", value_name = "FILE")]
    pub node_key: Option<PathBuf>,
    /// The cluster CA (PEM) every node's certificate must chain to.
    #[arg(long, env = "HOLOCRON_NODE_CA", value_name = "FILE")]
    pub node_ca: Option<PathBuf>,
    /// Replicas per partition when a topic is created without a factor [default: 3, at most the number of nodes].
    #[arg(long, env = "HOLOCRON_DEFAULT_REPLICATION_FACTOR", value_name = "N")]
    pub default_replication_factor: Option<i16>,
    /// Raft heartbeat interval in ms [default: 500].
    #[arg(long, env = "HOLOCRON_RAFT_HEARTBEAT_MS", value_name = "MS")]
    pub raft_heartbeat_ms: Option<u64>,
    /// Shortest Raft election timeout in ms; the longest is twice it [default: 1500].
    #[arg(long, env = "HOLOCRON_RAFT_ELECTION_TIMEOUT_MS", value_name = "MS")]
    pub raft_election_timeout_ms: Option<u64>,
}

/// The same settings as read from a TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<Vec<String>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_ca: Option<PathBuf>,
    client_auth: Option<String>,
    advertised_host: Option<String>,
    metrics_listen: Option<String>,
    node_id: Option<i32>,
    auto_create_topics: Option<bool>,
    default_partitions: Option<i32>,
    retention_ms: Option<i64>,
    retention_bytes: Option<i64>,
    segment_bytes: Option<u64>,
    segment_ms: Option<u64>,
    max_message_bytes: Option<u32>,
    log_flush: Option<String>,
    retention_check_interval_ms: Option<u64>,
    max_request_bytes: Option<usize>,
    max_connections: Option<usize>,
    producer_id_expiration_ms: Option<u64>,
    log_level: Option<String>,
    offsets_topic_partitions: Option<i32>,
    offsets_retention_minutes: Option<u64>,
    offsets_retention_check_interval_ms: Option<u64>,
    group_min_session_timeout_ms: Option<i32>,
    group_max_session_timeout_ms: Option<i32>,
    group_initial_rebalance_delay_ms: Option<u64>,
    group_max_size: Option<usize>,
    peers: Option<Vec<String>>,
    peer_listen: Option<String>,
    node_cert: Option<PathBuf>,
    node_key: Option<PathBuf>,
    node_ca: Option<PathBuf>,
    default_replication_factor: Option<i16>,
    raft_heartbeat_ms: Option<u64>,
    raft_election_timeout_ms: Option<u64>,
}

/// Cluster mode: the nodes and this node's certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Every node's node-to-node address, this one's included.
    pub peers: std::collections::BTreeMap<u64, String>,
    /// Where this node accepts node-to-node connections.
    pub peer_listen: SocketAddr,
    /// This node's certificate.
    pub node_cert: PathBuf,
    /// Its key.
    pub node_key: PathBuf,
    /// The cluster CA.
    pub node_ca: PathBuf,
}

/// Raft timing shared by every group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftTimings {
    /// Heartbeat interval, ms.
    pub heartbeat_ms: u64,
    /// Shortest election timeout, ms (the longest is twice it).
    pub election_timeout_ms: u64,
}

/// A listener's security protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    /// No encryption.
    Plaintext,
    /// TLS, with client certificates per `--client-auth`.
    Tls,
}

/// Certificate files of the TLS listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Server certificate chain.
    pub cert: PathBuf,
    /// Server key.
    pub key: PathBuf,
    /// CA for client certificates.
    pub ca: Option<PathBuf>,
    /// Client certificate policy.
    pub client_auth: holocron_certs::tls::ClientAuth,
}

/// One Kafka listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Security protocol.
    pub kind: ListenerKind,
    /// Address to bind.
    pub addr: SocketAddr,
}

/// Validated broker configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Kafka listeners.
    pub listeners: Vec<Listener>,
    /// Certificates, when a TLS listener exists.
    pub tls: Option<TlsFiles>,
    /// Host advertised in Metadata, if not the listener address.
    pub advertised_host: Option<String>,
    /// Metrics listener, None when off.
    pub metrics_listen: Option<SocketAddr>,
    /// Node id.
    pub node_id: i32,
    /// Topic auto-creation on Metadata.
    pub auto_create_topics: bool,
    /// Default partition count.
    pub default_partitions: i32,
    /// Defaults of new topics' log settings.
    pub log_defaults: LogConfig,
    /// Retention check period.
    pub retention_check_interval: Duration,
    /// Largest request frame.
    pub max_request_bytes: usize,
    /// Connection limit.
    pub max_connections: usize,
    /// Idle time after which producer state is forgotten.
    pub producer_id_expiration: Duration,
    /// tracing filter.
    pub log_level: String,
    /// Consumer groups and committed offsets.
    pub groups: GroupConfig,
    /// Cluster mode; None for a standalone broker.
    pub cluster: Option<ClusterConfig>,
    /// Replicas per partition of topics created without a factor.
    pub default_replication_factor: i16,
    /// Raft timing.
    pub raft: RaftTimings,
}

impl Config {
    /// Every node id of the cluster (just this one when standalone), ascending.
    pub fn node_ids(&self) -> Vec<i32> {
        match &self.cluster {
            Some(c) => c
                .peers
                .keys()
                .filter_map(|id| i32::try_from(*id).ok())
                .collect(),
            None => vec![self.node_id],
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A setting has a bad value.
    #[error("invalid {setting}: {reason}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

/// Parses a listener URL such as `plaintext://127.0.0.1:9092`.
pub fn parse_listener(url: &str) -> Result<Listener, ConfigError> {
    let (scheme, addr) = url
        .split_once("://")
        .ok_or_else(|| invalid("listen", format!("{url:?} is not SCHEME://HOST:PORT")))?;
    let kind = match scheme.to_ascii_lowercase().as_str() {
        "plaintext" => ListenerKind::Plaintext,
        "tls" | "ssl" => ListenerKind::Tls,
        other => {
            return Err(invalid(
                "listen",
                format!("unknown listener scheme {other:?} in {url:?} (expected plaintext or tls)"),
            ))
        }
    };
    let addr = resolve(addr).map_err(|e| invalid("listen", format!("{url:?}: {e}")))?;
    Ok(Listener { kind, addr })
}

fn resolve(addr: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| format!("{addr:?} resolves to no address"))
}

/// Parses the flush setting: `always`, `never` or an interval in milliseconds.
pub fn parse_flush(value: &str) -> Result<FlushPolicy, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "always" => Ok(FlushPolicy::Always),
        "never" => Ok(FlushPolicy::Never),
        ms => ms
            .trim_end_matches("ms")
            .parse::<u64>()
            .ok()
            .filter(|ms| *ms > 0)
            .map(|ms| FlushPolicy::Interval { ms, messages: None })
            .ok_or_else(|| {
                invalid(
                    "log-flush",
                    format!("{value:?} is not always, never or a positive number of ms"),
                )
            }),
    }
}

impl Config {
    /// Parses the process's arguments and environment, then the config file.
    pub fn from_env_and_args() -> Result<Config, ConfigError> {
        Config::from_args(Args::parse())
    }

    /// Builds a config from parsed arguments (reading the file they name).
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        merge(args, file)
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn merge(mut a: Args, mut f: FileConfig) -> Result<Config, ConfigError> {
    let groups = group_config(&a, &f)?;
    let node_id = a.node_id.or(f.node_id).unwrap_or(0);
    if node_id < 0 {
        return Err(invalid("node-id", "must not be negative"));
    }
    let cluster = cluster_config(&mut a, &mut f, node_id)?;
    let default_replication_factor = a
        .default_replication_factor
        .or(f.default_replication_factor)
        .unwrap_or(3);
    if default_replication_factor < 1 {
        return Err(invalid("default-replication-factor", "must be at least 1"));
    }
    let raft = RaftTimings {
        heartbeat_ms: a.raft_heartbeat_ms.or(f.raft_heartbeat_ms).unwrap_or(500),
        election_timeout_ms: a
            .raft_election_timeout_ms
            .or(f.raft_election_timeout_ms)
            .unwrap_or(1500),
    };
    if raft.heartbeat_ms < 10 || raft.election_timeout_ms < 2 * raft.heartbeat_ms {
        return Err(invalid(
            "raft-election-timeout-ms",
            format!(
                "need heartbeat >= 10 ms and election timeout >= twice the heartbeat, got {} and {}",
                raft.heartbeat_ms, raft.election_timeout_ms
            ),
        ));
    }
    let listen = if a.listen.is_empty() {
        f.listen
            .unwrap_or_else(|| vec!["plaintext://127.0.0.1:9092".into()])
    } else {
        a.listen
    };
    let listeners = listen
        .iter()
        .map(|l| parse_listener(l))
        .collect::<Result<Vec<_>, _>>()?;
    if listeners.is_empty() {
        return Err(invalid("listen", "at least one listener is needed"));
    }
    let client_auth = match a.client_auth.or(f.client_auth).as_deref() {
        None => holocron_certs::tls::ClientAuth::None,
        Some(s) => holocron_certs::tls::ClientAuth::parse(s).ok_or_else(|| {
            invalid(
                "client-auth",
                format!("{s:?} is not none, optional or required"),
            )
        })?,
    };
    let tls_cert = a.tls_cert.or(f.tls_cert);
    let tls_key = a.tls_key.or(f.tls_key);
    let tls_ca = a.tls_ca.or(f.tls_ca);
    let tls = if listeners.iter().any(|l| l.kind == ListenerKind::Tls) {
        let (Some(cert), Some(key)) = (tls_cert, tls_key) else {
            return Err(invalid(
                "tls-cert",
                "tls:// listeners need --tls-cert and --tls-key",
            ));
        };
        if client_auth != holocron_certs::tls::ClientAuth::None && tls_ca.is_none() {
            return Err(invalid(
                "tls-ca",
                "--client-auth optional|required needs --tls-ca to verify client certificates",
            ));
        }
        Some(TlsFiles {
            cert,
            key,
            ca: tls_ca,
            client_auth,
        })
    } else {
        None
    };
    let metrics_listen = match a
        .metrics_listen
        .or(f.metrics_listen)
        .unwrap_or_else(|| "127.0.0.1:9644".into())
    {
        off if off.eq_ignore_ascii_case("off") => None,
        addr => Some(resolve(&addr).map_err(|e| invalid("metrics-listen", e))?),
    };
    let default_partitions = a.default_partitions.or(f.default_partitions).unwrap_or(1);
    if default_partitions < 1 {
        return Err(invalid("default-partitions", "must be at least 1"));
    }
    let flush = parse_flush(
        &a.log_flush
            .or(f.log_flush)
            .unwrap_or_else(|| "always".into()),
    )?;
    let defaults = LogConfig::default();
    let segment_bytes = a.segment_bytes.or(f.segment_bytes).unwrap_or(1 << 30);
    if segment_bytes < 14 {
        return Err(invalid("segment-bytes", "must be at least 14"));
    }
    let log_defaults = LogConfig {
        segment_bytes,
        segment_ms: Some(a.segment_ms.or(f.segment_ms).unwrap_or(604_800_000)),
        retention_ms: non_negative(a.retention_ms.or(f.retention_ms).unwrap_or(604_800_000)),
        retention_bytes: non_negative(a.retention_bytes.or(f.retention_bytes).unwrap_or(-1)),
        max_batch_bytes: a
            .max_message_bytes
            .or(f.max_message_bytes)
            .unwrap_or(1_048_588),
        flush,
        ..defaults
    };
    let max_request_bytes = a
        .max_request_bytes
        .or(f.max_request_bytes)
        .unwrap_or(holocron_proto::frame::DEFAULT_MAX_FRAME);
    if max_request_bytes < 1024 {
        return Err(invalid("max-request-bytes", "must be at least 1024"));
    }
    Ok(Config {
        groups,
        data_dir: a
            .data_dir
            .or(f.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data")),
        listeners,
        tls,
        advertised_host: a.advertised_host.or(f.advertised_host),
        metrics_listen,
        node_id,
        auto_create_topics: a
            .auto_create_topics
            .or(f.auto_create_topics)
            .unwrap_or(true),
        default_partitions,
        log_defaults,
        retention_check_interval: Duration::from_millis(
            a.retention_check_interval_ms
                .or(f.retention_check_interval_ms)
                .unwrap_or(300_000)
                .max(10),
        ),
        max_request_bytes,
        max_connections: a
            .max_connections
            .or(f.max_connections)
            .unwrap_or(10_000)
            .max(1),
        producer_id_expiration: Duration::from_millis(
            a.producer_id_expiration_ms
                .or(f.producer_id_expiration_ms)
                .unwrap_or(86_400_000),
        ),
        log_level: a.log_level.or(f.log_level).unwrap_or_else(|| "info".into()),
        cluster,
        default_replication_factor,
        raft,
    })
}

fn cluster_config(
    a: &mut Args,
    f: &mut FileConfig,
    node_id: i32,
) -> Result<Option<ClusterConfig>, ConfigError> {
    let peers = if a.peers.is_empty() {
        f.peers.take().unwrap_or_default()
    } else {
        std::mem::take(&mut a.peers)
    };
    if peers.is_empty() {
        return Ok(None);
    }
    let me = u64::try_from(node_id)
        .map_err(|_| invalid("node-id", "must not be negative in cluster mode"))?;
    let mut map = std::collections::BTreeMap::new();
    for p in &peers {
        let (id, addr) = p
            .split_once('=')
            .ok_or_else(|| invalid("peers", format!("{p:?} is not ID=HOST:PORT")))?;
        let id: u64 = id
            .trim()
            .parse()
            .ok()
            .filter(|id| i32::try_from(*id).is_ok())
            .ok_or_else(|| invalid("peers", format!("{p:?}: {id:?} is not a node id")))?;
        let addr = addr.trim();
        if addr
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.parse::<u16>().is_err())
        {
            return Err(invalid(
                "peers",
                format!("{p:?}: {addr:?} is not HOST:PORT"),
            ));
        }
        if map.insert(id, addr.to_owned()).is_some() {
            return Err(invalid("peers", format!("node {id} is listed twice")));
        }
    }
    let Some(own) = map.get(&me) else {
        return Err(invalid(
            "peers",
            format!("this node (--node-id {me}) is not in the list"),
        ));
    };
    let peer_listen = a
        .peer_listen
        .take()
        .or_else(|| f.peer_listen.take())
        .unwrap_or_else(|| own.clone());
    let peer_listen = resolve(&peer_listen).map_err(|e| invalid("peer-listen", e))?;
    let need = |v: Option<PathBuf>, flag: &'static str| {
        v.ok_or_else(|| {
            invalid(
                flag,
                "cluster mode needs --node-cert, --node-key and --node-ca: inter-node mTLS cannot be turned off",
            )
        })
    };
    Ok(Some(ClusterConfig {
        peers: map,
        peer_listen,
        node_cert: need(
            a.node_cert.take().or_else(|| f.node_cert.take()),
            "node-cert",
        )?,
        node_key: need(a.node_key.take().or_else(|| f.node_key.take()), "node-key")?,
        node_ca: need(a.node_ca.take().or_else(|| f.node_ca.take()), "node-ca")?,
    }))
}

fn group_config(a: &Args, f: &FileConfig) -> Result<GroupConfig, ConfigError> {
    let d = GroupConfig::default();
    let partitions = a
        .offsets_topic_partitions
        .or(f.offsets_topic_partitions)
        .unwrap_or(d.offsets_topic_partitions);
    if !(1..=crate::cluster::MAX_PARTITIONS).contains(&partitions) {
        return Err(invalid(
            "offsets-topic-partitions",
            "must be between 1 and 100000",
        ));
    }
    let min = a
        .group_min_session_timeout_ms
        .or(f.group_min_session_timeout_ms)
        .unwrap_or(d.min_session_timeout_ms);
    let max = a
        .group_max_session_timeout_ms
        .or(f.group_max_session_timeout_ms)
        .unwrap_or(d.max_session_timeout_ms);
    if min < 1 || max < min {
        return Err(invalid(
            "group-min-session-timeout-ms",
            format!("need 1 <= min <= max, got min {min} and max {max}"),
        ));
    }
    let minutes = a
        .offsets_retention_minutes
        .or(f.offsets_retention_minutes)
        .unwrap_or(7 * 24 * 60);
    if minutes < 1 {
        return Err(invalid("offsets-retention-minutes", "must be at least 1"));
    }
    Ok(GroupConfig {
        min_session_timeout_ms: min,
        max_session_timeout_ms: max,
        initial_rebalance_delay: Duration::from_millis(
            a.group_initial_rebalance_delay_ms
                .or(f.group_initial_rebalance_delay_ms)
                .unwrap_or(3_000),
        ),
        max_size: a
            .group_max_size
            .or(f.group_max_size)
            .unwrap_or(d.max_size)
            .max(1),
        offsets_topic_partitions: partitions,
        offsets_retention_ms: i64::try_from(minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
        offsets_retention_check_interval: Duration::from_millis(
            a.offsets_retention_check_interval_ms
                .or(f.offsets_retention_check_interval_ms)
                .unwrap_or(600_000)
                .max(100),
        ),
        ..d
    })
}

fn non_negative(v: i64) -> Option<i64> {
    (v >= 0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_is_the_embedded_default() {
        let c = merge(Args::default(), FileConfig::default()).expect("defaults are valid");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.listeners[0].addr.to_string(), "127.0.0.1:9092");
        assert_eq!(
            c.metrics_listen.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9644")
        );
        assert!(matches!(c.log_defaults.flush, FlushPolicy::Always));
        assert_eq!(c.log_defaults.retention_ms, Some(604_800_000));
        assert_eq!(c.log_defaults.retention_bytes, None);
    }

    #[test]
    fn flags_win_over_the_file() {
        let args = Args {
            data_dir: Some("/flag".into()),
            ..Args::default()
        };
        let file: FileConfig =
            toml::from_str("data_dir = \"/file\"\nnode_id = 3\nlog_flush = \"25\"").expect("toml");
        let c = merge(args, file).expect("valid");
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
        assert_eq!(c.node_id, 3);
        assert!(matches!(
            c.log_defaults.flush,
            FlushPolicy::Interval { ms: 25, .. }
        ));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse_listener("127.0.0.1:9092").is_err());
        assert!(parse_listener("carrier-pigeon://127.0.0.1:1").is_err());
        assert!(parse_flush("sometimes").is_err());
        assert!(parse_flush("0").is_err());
        let unknown: Result<FileConfig, _> = toml::from_str("nonsense = 1");
        assert!(unknown.is_err());
    }
}
