//! The raw command line, as clap parses it. Nothing here touches the network;
//! each command turns its arguments into a validated plan first (see
//! `cmd/*`), so bad input fails with exit 2 before any I/O.
//!
//! Man pages (`man/`) and shell completions are generated from these
//! definitions.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const MAIN_AFTER: &str = "\
Examples:
  holocronctl cluster info
  holocronctl topic create orders -p 6
  echo 'k1:hello' | holocronctl produce orders --key-separator :
  holocronctl consume orders -o beginning -n 10 --json | jq .value
  holocronctl --brokers 10.0.0.1:9092 topic list --json

Connection: --brokers, else $HOLOCRON_BROKERS, else the current profile,
else 127.0.0.1:9092. TLS: --tls-ca (and --tls-cert/--tls-key for mTLS);
`holocronctl certs` makes the files (offline).

JSON (--json): data only on stdout, one document per command (NDJSON for
streams), each with \"schema\": \"holocron.<command>/v1\"; errors as one JSON
object on stderr. Shapes: docs/json.md.

Exit codes:
  0  success (also when stdout's reader closes the pipe)
  1  failure (the broker refused the request, protocol or local I/O error)
  2  usage (bad flag or value)
  3  not found (topic, partition, group, broker, profile)
  4  already exists
  5  unreachable or timed out
  6  not authorized
  7  partial failure (some items failed; the output says which)
  8  unsupported by the broker (the API is missing)
  9  unhealthy (cluster health)
  10 invalid certificate (certs verify; a broker's certificate over TLS)";

/// holocronctl: operate a Holocron (or any Kafka) cluster.
#[derive(Debug, Parser)]
#[command(
    name = "holocronctl",
    version,
    about = "Operate a Holocron cluster: topics, partitions, groups, produce, consume, bench",
    after_help = MAIN_AFTER,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Connection and output settings.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Bootstrap brokers, comma separated [default: the profile's, else 127.0.0.1:9092]
    #[arg(
        long,
        global = true,
        env = "HOLOCRON_BROKERS",
        value_delimiter = ',',
        value_name = "HOST:PORT,..."
    )]
    pub brokers: Vec<String>,
    /// Print JSON: one document per command (NDJSON for streams), errors as JSON on stderr
    #[arg(long, global = true)]
    pub json: bool,
    /// Use this named profile instead of the current one
    #[arg(long, global = true, env = "HOLOCRON_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Profile file [default: $XDG_CONFIG_HOME/holocron/holocronctl.toml]
    #[arg(
        long = "config-file",
        global = true,
        env = "HOLOCRON_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Connect and request timeout
    #[arg(long, global = true, env = "HOLOCRON_TIMEOUT", default_value = "10s",
          value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
    /// TLS settings.
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// TLS settings for TLS listeners (`--listen tls://…`).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "TLS")]
pub struct TlsArgs {
    /// Connect with TLS
    #[arg(long, global = true, env = "HOLOCRON_TLS")]
    pub tls: bool,
    /// CA certificate (PEM) to verify brokers with
    #[arg(long, global = true, env = "HOLOCRON_TLS_CA", value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mTLS
    #[arg(
        long,
        global = true,
        env = "HOLOCRON_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mTLS
    #[arg(
        long,
        global = true,
        env = "HOLOCRON_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Server name to verify instead of the broker's host
    #[arg(
        long,
        global = true,
        env = "HOLOCRON_TLS_SERVER_NAME",
        value_name = "NAME"
    )]
    pub tls_server_name: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Cluster-wide views: brokers, controller, API versions, health
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Brokers: list them, describe one
    #[command(subcommand)]
    Broker(BrokerCmd),
    /// Topics: list, describe, create, delete, alter configs, add partitions
    #[command(subcommand)]
    Topic(TopicCmd),
    /// Partitions: replicas, epochs, offsets
    #[command(subcommand)]
    Partition(PartitionCmd),
    /// Produce records from stdin or a file
    Produce(ProduceArgs),
    /// Consume records (to a format string, or NDJSON with --json)
    Consume(ConsumeArgs),
    /// Consumer groups: list, describe, lag, reset offsets, delete
    #[command(subcommand)]
    Group(GroupCmd),
    /// A topic's earliest and latest offsets, and the offset for a time
    Offsets(OffsetsArgs),
    /// Load generators: produce and consume throughput and latency
    #[command(subcommand)]
    Bench(BenchCmd),
    /// Named connection profiles in the config file
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Certificates for TLS: a CA, node and client certificates, inspect, verify (offline)
    #[command(subcommand)]
    Certs(CertsCmd),
    /// Print a shell completion script
    Completion(CompletionArgs),
    /// The live dashboard (runs holocron-tui with these connection flags)
    Tui(TuiArgs),
}

/// `cluster …`
#[derive(Debug, Subcommand)]
pub enum ClusterCmd {
    /// Cluster id, brokers, controller, metadata leader and API versions
    #[command(
        after_help = "Examples:\n  holocronctl cluster info\n  holocronctl cluster info --json | jq '.brokers[].node_id'"
    )]
    Info,
    /// Whether every broker answers and every partition has a leader and a full ISR
    #[command(
        after_help = "Exits 0 when healthy, 9 when not.\n\nExamples:\n  holocronctl cluster health\n  holocronctl cluster health --watch --exit-when-healthy --max-wait 1m"
    )]
    Health(HealthArgs),
}

/// `cluster health`
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Check again every --interval (NDJSON with --json) until interrupted
    #[arg(short, long)]
    pub watch: bool,
    /// With --watch: stop and exit 0 as soon as the cluster is healthy
    #[arg(long, requires = "watch")]
    pub exit_when_healthy: bool,
    /// Time between checks
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub interval: Duration,
    /// With --watch: give up after this long (exit 9)
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION", requires = "watch")]
    pub max_wait: Option<Duration>,
}

/// `broker …`
#[derive(Debug, Subcommand)]
pub enum BrokerCmd {
    /// Every broker in the metadata
    #[command(
        after_help = "Examples:\n  holocronctl broker list\n  holocronctl broker list --json | jq -r '.brokers[].address'"
    )]
    List,
    /// One broker: address, role, configs, log directories
    #[command(
        after_help = "Examples:\n  holocronctl broker describe 0\n  holocronctl broker describe 0 --json | jq '.log_dirs'"
    )]
    Describe {
        /// Node id
        id: i32,
    },
}

/// `topic …`
#[derive(Debug, Subcommand)]
pub enum TopicCmd {
    /// Topics with their partition and replica counts
    #[command(
        after_help = "Examples:\n  holocronctl topic list\n  holocronctl topic list --json | jq -r '.topics[].name'"
    )]
    List {
        /// Include internal topics (e.g. __consumer_offsets)
        #[arg(short, long)]
        internal: bool,
    },
    /// Every partition of a topic (leader, replicas, ISR, offsets, size) and its configs
    #[command(
        after_help = "Examples:\n  holocronctl topic describe orders\n  holocronctl topic describe orders --json | jq '.topics[0].partitions[].high_watermark'"
    )]
    Describe {
        /// Topic names
        #[arg(required = true)]
        topics: Vec<String>,
    },
    /// Create topics
    #[command(
        after_help = "Examples:\n  holocronctl topic create orders -p 6\n  holocronctl topic create a b c -c retention.ms=3600000 --if-not-exists"
    )]
    Create {
        /// Topic names
        #[arg(required = true)]
        topics: Vec<String>,
        /// Partitions [default: the broker's num.partitions]
        #[arg(short, long)]
        partitions: Option<i32>,
        /// Replication factor [default: the broker's]
        #[arg(short, long)]
        replication_factor: Option<i16>,
        /// Topic config, KEY=VALUE (repeatable)
        #[arg(short, long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
        /// Succeed if a topic already exists
        #[arg(long)]
        if_not_exists: bool,
        /// Only validate the request; create nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete topics and all their data
    #[command(
        after_help = "Examples:\n  holocronctl topic delete orders\n  holocronctl topic delete a b --if-exists"
    )]
    Delete {
        /// Topic names
        #[arg(required = true)]
        topics: Vec<String>,
        /// Succeed if a topic does not exist
        #[arg(long)]
        if_exists: bool,
    },
    /// Set or remove topic configs
    #[command(
        after_help = "Examples:\n  holocronctl topic alter-config orders --set retention.ms=86400000\n  holocronctl topic alter-config orders --delete retention.ms"
    )]
    AlterConfig {
        /// Topic name
        topic: String,
        /// Set KEY=VALUE (repeatable)
        #[arg(short, long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Reset KEY to its default (repeatable)
        #[arg(short, long = "delete", value_name = "KEY")]
        delete: Vec<String>,
        /// Only validate the change
        #[arg(long)]
        dry_run: bool,
    },
    /// Grow a topic to a total number of partitions
    #[command(after_help = "Examples:\n  holocronctl topic add-partitions orders --count 12")]
    AddPartitions {
        /// Topic name
        topic: String,
        /// The new total number of partitions
        #[arg(short, long)]
        count: i32,
        /// Only validate the change
        #[arg(long)]
        dry_run: bool,
    },
}

/// `partition …`
#[derive(Debug, Subcommand)]
pub enum PartitionCmd {
    /// Per-replica state of partitions: leader, epoch, log end offset, lag
    #[command(
        after_help = "Examples:\n  holocronctl partition describe orders\n  holocronctl partition describe orders -p 0,1 --json | jq '.partitions[].replicas'"
    )]
    Describe {
        /// Topic name
        topic: String,
        /// Partitions (comma separated) [default: all]
        #[arg(short, long, value_delimiter = ',')]
        partitions: Vec<i32>,
    },
    /// Move a partition's leadership to another of its replicas: makes it
    /// the preferred replica (reorders the replicas) and asks for a
    /// preferred-leader election, then waits until it leads
    #[command(
        name = "transfer-leader",
        after_help = "Examples:\n  holocronctl partition transfer-leader orders 0 --to 2\n  holocronctl partition transfer-leader orders 3 --to 1 --wait 1m --json"
    )]
    TransferLeader {
        /// Topic name
        topic: String,
        /// Partition
        partition: i32,
        /// The node that is to lead (one of the partition's replicas)
        #[arg(long, value_name = "NODE")]
        to: i32,
        /// How long to wait for the new leader (exit 9 if it does not lead by then)
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
        wait: Duration,
    },
    /// Move a partition to other nodes (a Raft membership change): the new
    /// replicas join as learners, catch up, then become the voters; the
    /// old ones delete their copies
    #[command(
        name = "move",
        after_help = "Examples:\n  holocronctl partition move orders 0 --replicas 2,3,4\n  holocronctl partition move orders 1 --replicas 3,1 --wait 10m --json"
    )]
    Move {
        /// Topic name
        topic: String,
        /// Partition
        partition: i32,
        /// The new replicas (comma separated), the preferred leader first
        #[arg(long, value_delimiter = ',', required = true, value_name = "NODES")]
        replicas: Vec<i32>,
        /// How long to wait for the move (exit 9 if not done by then; it goes on)
        #[arg(long, default_value = "2m", value_parser = humantime::parse_duration, value_name = "DURATION")]
        wait: Duration,
    },
}

/// How many acknowledgements a produce waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Acks {
    /// Every in-sync replica (acks=-1): durable
    #[value(alias = "-1")]
    All,
    /// The leader only (acks=1)
    #[value(alias = "1")]
    Leader,
    /// No acknowledgement (acks=0): offsets are not known
    #[value(alias = "0")]
    None,
}

/// Batch compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    /// No compression
    None,
    /// gzip
    Gzip,
    /// Snappy
    Snappy,
    /// LZ4
    Lz4,
    /// Zstandard
    Zstd,
}

/// `produce`
#[derive(Debug, Args)]
#[command(after_help = "\
Each input record (a line by default) becomes one record. With
--key-separator, the text before the first separator is the key.

Examples:
  echo hello | holocronctl produce orders
  printf 'k1=v1\\nk2=v2\\n' | holocronctl produce orders --key-separator = --json
  holocronctl produce orders -f events.txt -H source=import -z zstd --acks leader
  holocronctl produce orders -f blob.bin --delimiter '' -p 3")]
pub struct ProduceArgs {
    /// Topic name
    pub topic: String,
    /// Read records from this file instead of stdin
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Send every record to this partition [default: by key hash, else round robin]
    #[arg(short, long)]
    pub partition: Option<i32>,
    /// Use this key for every record
    #[arg(short, long, conflicts_with = "key_separator")]
    pub key: Option<String>,
    /// Split each record into KEY<SEP>VALUE at the first SEP
    #[arg(short = 'K', long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// Record separator ('\n' by default; '' reads the whole input as one record)
    #[arg(short = 'D', long, default_value = "\\n", value_name = "SEP")]
    pub delimiter: String,
    /// Header KEY=VALUE added to every record (repeatable)
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// Acknowledgements to wait for
    #[arg(short, long, value_enum, default_value = "all")]
    pub acks: Acks,
    /// Batch compression
    #[arg(short = 'z', long, value_enum, default_value = "none")]
    pub compression: CompressionArg,
    /// Most records per batch
    #[arg(long, default_value = "1000", value_name = "N")]
    pub batch_records: usize,
}

/// `consume`
#[derive(Debug, Args)]
#[command(after_help = "\
Offsets (-o): beginning | end | N (absolute) | +N (N after the start) |
-N (N before the end) | @TIME (RFC 3339, ms since the epoch, or '15m ago').
Without --follow, consume stops at the high watermark seen at start.

Format (--format) placeholders: %t topic, %p partition, %o offset, %k key,
%v value, %T timestamp (ms), %d timestamp (RFC 3339), %h headers (k=v,...),
%% a percent sign; \\n \\t \\\\ escapes. Default: '%v\\n'.

Examples:
  holocronctl consume orders -n 10
  holocronctl consume orders -o -5 --format '%p/%o %k=%v\\n'
  holocronctl consume orders -o '@1h ago' --follow --json | jq -c '{offset, value}'")]
pub struct ConsumeArgs {
    /// Topic name
    pub topic: String,
    /// Partitions (comma separated) [default: all]
    #[arg(short, long, value_delimiter = ',')]
    pub partitions: Vec<i32>,
    /// Where to start (see below)
    #[arg(
        short,
        long,
        default_value = "beginning",
        allow_hyphen_values = true,
        value_name = "SPEC"
    )]
    pub offset: String,
    /// Keep waiting for new records until interrupted
    #[arg(short, long)]
    pub follow: bool,
    /// Stop after this many records
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Output format for each record (ignored with --json)
    #[arg(long, default_value = "%v\\n", value_name = "FMT")]
    pub format: String,
    /// Most bytes per partition per fetch
    #[arg(long, default_value = "1048576", value_name = "BYTES")]
    pub fetch_bytes: i32,
}

/// `group …`
#[derive(Debug, Subcommand)]
pub enum GroupCmd {
    /// Every consumer group on every broker
    #[command(
        after_help = "Examples:\n  holocronctl group list\n  holocronctl group list --json | jq -r '.groups[].group_id'"
    )]
    List,
    /// A group's state, members, assignments and committed offsets with lag
    #[command(after_help = "Examples:\n  holocronctl group describe billing")]
    Describe {
        /// Group id
        group: String,
    },
    /// Per-partition lag of a group (committed offset vs high watermark)
    #[command(
        after_help = "Examples:\n  holocronctl group lag billing\n  holocronctl group lag billing --watch --interval 5s"
    )]
    Lag {
        /// Group id
        group: String,
        /// Print again every --interval until interrupted (NDJSON with --json)
        #[arg(short, long)]
        watch: bool,
        /// Time between updates with --watch
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration, value_name = "DURATION")]
        interval: Duration,
    },
    /// Move a group's committed offsets (a dry run with a plan unless --execute)
    #[command(after_help = "\
The group must have no active members. Without --execute nothing changes:
the plan (current and new offset per partition) is printed.

Examples:
  holocronctl group reset-offsets billing --topic orders --to-earliest
  holocronctl group reset-offsets billing --all-topics --shift-by -100 --execute
  holocronctl group reset-offsets billing --topic orders:0,1 --to-timestamp '2024-05-01T00:00:00Z'")]
    ResetOffsets(ResetArgs),
    /// Delete consumer groups (they must be empty)
    #[command(after_help = "Examples:\n  holocronctl group delete billing")]
    Delete {
        /// Group ids
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

/// `group reset-offsets`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("to").required(true).args(["to_earliest", "to_latest", "to_offset", "to_timestamp", "shift_by"])))]
#[command(group(clap::ArgGroup::new("which").required(true).args(["topics", "all_topics"])))]
pub struct ResetArgs {
    /// Group id
    pub group: String,
    /// TOPIC or TOPIC:P1,P2 (repeatable)
    #[arg(short, long = "topic", value_name = "TOPIC[:PARTITIONS]")]
    pub topics: Vec<String>,
    /// Every topic the group has committed offsets for
    #[arg(long)]
    pub all_topics: bool,
    /// To the log start offset
    #[arg(long)]
    pub to_earliest: bool,
    /// To the high watermark
    #[arg(long)]
    pub to_latest: bool,
    /// To this offset (clamped to the log)
    #[arg(long, value_name = "OFFSET")]
    pub to_offset: Option<i64>,
    /// To the first offset at or after this time
    #[arg(long, value_name = "TIME")]
    pub to_timestamp: Option<String>,
    /// Move each committed offset by N (negative: back), clamped to the log
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Apply the plan (default: dry run)
    #[arg(long, conflicts_with = "dry_run")]
    pub execute: bool,
    /// Only print the plan (the default)
    #[arg(long)]
    pub dry_run: bool,
}

/// `offsets`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  holocronctl offsets orders\n  holocronctl offsets orders --timestamp '10m ago' --json | jq '.partitions[].at_timestamp'"
)]
pub struct OffsetsArgs {
    /// Topic name
    pub topic: String,
    /// Partitions (comma separated) [default: all]
    #[arg(short, long, value_delimiter = ',')]
    pub partitions: Vec<i32>,
    /// Also find the first offset at or after this time (RFC 3339, ms, or '15m ago')
    #[arg(short, long, value_name = "TIME")]
    pub timestamp: Option<String>,
}

/// `bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Produce as fast as allowed; report msgs/s, MB/s and latency percentiles
    #[command(
        after_help = "Examples:\n  holocronctl bench produce bench -d 10s -s 1024\n  holocronctl bench produce bench --rate 5000 --acks leader --json"
    )]
    Produce(BenchProduceArgs),
    /// Read a topic from the start; report msgs/s, MB/s and fetch latency percentiles
    #[command(after_help = "Examples:\n  holocronctl bench consume bench -d 10s")]
    Consume(BenchConsumeArgs),
}

/// `bench produce`
#[derive(Debug, Args)]
pub struct BenchProduceArgs {
    /// Topic name (created with --partitions if missing)
    pub topic: String,
    /// How long to run
    #[arg(short, long, default_value = "10s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Duration,
    /// Stop after this many records
    #[arg(short = 'n', long, value_name = "N")]
    pub records: Option<u64>,
    /// Value size in bytes
    #[arg(short = 's', long, default_value = "100", value_name = "BYTES")]
    pub record_size: usize,
    /// Records per second (0: as fast as possible)
    #[arg(short, long, default_value = "0", value_name = "N")]
    pub rate: u64,
    /// Partitions when the topic has to be created
    #[arg(short, long, default_value = "1")]
    pub partitions: i32,
    /// Acknowledgements to wait for
    #[arg(short, long, value_enum, default_value = "all")]
    pub acks: Acks,
    /// Batch compression
    #[arg(short = 'z', long, value_enum, default_value = "none")]
    pub compression: CompressionArg,
    /// Records per batch
    #[arg(long, default_value = "100", value_name = "N")]
    pub batch_records: usize,
    /// Produce requests in flight (one connection each)
    #[arg(long, default_value = "4", value_name = "N")]
    pub concurrency: usize,
}

/// `bench consume`
#[derive(Debug, Args)]
pub struct BenchConsumeArgs {
    /// Topic name
    pub topic: String,
    /// How long to run at most
    #[arg(short, long, default_value = "10s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Duration,
    /// Stop after this many records
    #[arg(short = 'n', long, value_name = "N")]
    pub records: Option<u64>,
    /// Most bytes per partition per fetch
    #[arg(long, default_value = "1048576", value_name = "BYTES")]
    pub fetch_bytes: i32,
}

/// `profile …`
#[derive(Debug, Subcommand)]
pub enum ProfileCmd {
    /// Save the current connection flags (--brokers, --tls*) as a named profile
    #[command(
        after_help = "Examples:\n  holocronctl profile create prod --brokers 10.0.0.1:9092,10.0.0.2:9092 --tls --tls-ca ca.pem --use"
    )]
    Create {
        /// Profile name
        name: String,
        /// Also make it the current profile
        #[arg(long = "use")]
        make_current: bool,
        /// Replace an existing profile of that name
        #[arg(long)]
        force: bool,
    },
    /// Make a profile the current one
    #[command(after_help = "Examples:\n  holocronctl profile use prod")]
    Use {
        /// Profile name
        name: String,
    },
    /// List profiles
    #[command(after_help = "Examples:\n  holocronctl profile list --json")]
    List,
    /// Delete a profile
    #[command(after_help = "Examples:\n  holocronctl profile delete old")]
    Delete {
        /// Profile name
        name: String,
    },
}

/// Where `certs` keeps the CA by default.
pub const DEFAULT_CERTS_DIR: &str = "certs";

/// `certs …`
#[derive(Debug, Subcommand)]
#[command(after_help = "\
Offline: no broker is contacted. Keys are written 0600, certificates 0644,
and no file is replaced without --force.

From nothing to a TLS broker:
  holocronctl certs init
  holocronctl certs issue node --id 0 --host localhost --host 127.0.0.1
  holocrond --listen tls://127.0.0.1:9093 --tls-cert certs/node-0.crt --tls-key certs/node-0.key")]
pub enum CertsCmd {
    /// Create a certificate authority: ca.crt and ca.key (0600) in --dir
    #[command(after_help = "\
Examples:
  holocronctl certs init
  holocronctl certs init --dir /etc/holocron/ca --name 'Acme Holocron CA' --json")]
    Init(CertsInitArgs),
    /// Issue a node (broker) or client certificate signed by the CA
    #[command(
        subcommand,
        after_help = "Examples:\n  holocronctl certs issue node --id 0 --host localhost --host 127.0.0.1\n  holocronctl certs issue client --name alice"
    )]
    Issue(IssueCmd),
    /// Show what a certificate file says: subject, SANs, node id, validity, issuer
    #[command(after_help = "\
Examples:
  holocronctl certs inspect certs/node-0.crt
  holocronctl certs inspect certs/client-alice.crt --json | jq .certificates[0].days_left")]
    Inspect {
        /// Certificate file (PEM; every certificate of a chain is shown)
        file: PathBuf,
    },
    /// Check a certificate against a CA for a host, a node id or client use
    #[command(after_help = "\
Without --host, --node or --client: a node certificate is checked for its
node id, any other for client use. An invalid certificate exits 10 and
says why: expired, not yet valid, another CA or another name.

Examples:
  holocronctl certs verify certs/node-0.crt --host 127.0.0.1
  holocronctl certs verify certs/node-0.crt --node 0 --ca certs/ca.crt
  holocronctl certs verify certs/client-alice.crt --client --json | jq .reason")]
    Verify(CertsVerifyArgs),
}

/// Key algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyTypeArg {
    /// ECDSA on P-256 with SHA-256: small, fast, supported everywhere
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384
    EcdsaP384,
    /// Ed25519 (not every Kafka client supports it)
    Ed25519,
}

/// `certs init`
#[derive(Debug, Args)]
pub struct CertsInitArgs {
    /// Directory for ca.crt and ca.key
    #[arg(long, env = "HOLOCRON_CERTS_DIR", default_value = DEFAULT_CERTS_DIR, value_name = "DIR")]
    pub dir: PathBuf,
    /// The CA's common name
    #[arg(long, default_value = "Holocron CA", value_name = "NAME")]
    pub name: String,
    /// Validity in days
    #[arg(long, default_value = "3650", value_name = "DAYS")]
    pub days: u32,
    /// Key algorithm
    #[arg(long, value_enum, default_value = "ecdsa-p256")]
    pub key_type: KeyTypeArg,
    /// Replace an existing CA (certificates it issued stop being trusted)
    #[arg(long)]
    pub force: bool,
}

/// `certs issue …`
#[derive(Debug, Subcommand)]
pub enum IssueCmd {
    /// A node certificate: its host names and IPs, and its node id (server and client use)
    #[command(after_help = "\
Writes node-<ID>.crt and node-<ID>.key to --out. Every --host (a DNS name
or an IP address) is a name clients may dial; the node id is encoded so
peers can check which node they talk to.

Examples:
  holocronctl certs issue node --id 0 --host localhost --host 127.0.0.1
  holocronctl certs issue node --id 2 --host broker-2.example.com,10.0.0.12 --out /etc/holocron/tls")]
    Node(IssueNodeArgs),
    /// A client certificate whose subject names the principal (for mTLS)
    #[command(after_help = "\
Writes client-<NAME>.crt and client-<NAME>.key to --out.

Examples:
  holocronctl certs issue client --name alice
  holocronctl --tls-ca certs/ca.crt --tls-cert certs/client-alice.crt --tls-key certs/client-alice.key \\
    --brokers 127.0.0.1:9093 topic list")]
    Client(IssueClientArgs),
}

/// Settings every `certs issue` takes.
#[derive(Debug, Args)]
pub struct IssueOpts {
    /// Directory holding the CA (ca.crt, ca.key)
    #[arg(long, env = "HOLOCRON_CERTS_DIR", default_value = DEFAULT_CERTS_DIR, value_name = "DIR")]
    pub ca_dir: PathBuf,
    /// Directory for the new files [default: --ca-dir]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Validity in days
    #[arg(long, default_value = "365", value_name = "DAYS")]
    pub days: u32,
    /// Key algorithm
    #[arg(long, value_enum, default_value = "ecdsa-p256")]
    pub key_type: KeyTypeArg,
    /// Replace existing files
    #[arg(long)]
    pub force: bool,
}

/// `certs issue node`
#[derive(Debug, Args)]
pub struct IssueNodeArgs {
    /// Node id
    #[arg(long, value_name = "N")]
    pub id: i32,
    /// Host name or IP address clients dial (repeatable or comma separated)
    #[arg(
        long = "host",
        required = true,
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub hosts: Vec<String>,
    /// CA, output and key settings.
    #[command(flatten)]
    pub opts: IssueOpts,
}

/// `certs issue client`
#[derive(Debug, Args)]
pub struct IssueClientArgs {
    /// The principal (the subject's common name), e.g. alice or billing-service
    #[arg(long, value_name = "PRINCIPAL")]
    pub name: String,
    /// CA, output and key settings.
    #[command(flatten)]
    pub opts: IssueOpts,
}

/// `certs verify`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("purpose").args(["host", "node", "client"])))]
pub struct CertsVerifyArgs {
    /// Certificate file (PEM: the leaf, then any intermediates)
    pub file: PathBuf,
    /// CA certificate [default: ca.crt in $HOLOCRON_CERTS_DIR, else certs/ca.crt]
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Check it as a server reached under this host name or IP address
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Check it as the node certificate of node N
    #[arg(long, value_name = "N")]
    pub node: Option<i32>,
    /// Check it as a client certificate
    #[arg(long)]
    pub client: bool,
}

/// `completion`
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  holocronctl completion bash > /etc/bash_completion.d/holocronctl\n  holocronctl completion zsh > \"${fpath[1]}/_holocronctl\"\n  holocronctl completion fish > ~/.config/fish/completions/holocronctl.fish"
)]
pub struct CompletionArgs {
    /// Shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `tui`
#[derive(Debug, Args)]
#[command(
    after_help = "Runs holocron-tui (next to holocronctl, else on PATH) with the connection\nflags given here; other arguments are passed on (see holocron-tui --help).\n\nExamples:\n  holocronctl tui\n  holocronctl --brokers 10.0.0.1:9092 tui --interval 1s --tail orders"
)]
pub struct TuiArgs {
    /// Arguments for holocron-tui
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<std::ffi::OsString>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
