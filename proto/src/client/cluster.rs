//! The cluster-aware client: bootstrap, metadata, and routing requests to a
//! partition's leader or to a given broker.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::sync::Mutex;

use super::connection::{Connection, Stream};
use super::error::ClientError;
use crate::errors::{from_code, ErrorCode};

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Bootstrap addresses, `HOST:PORT`.
    pub bootstrap: Vec<String>,
    /// Client id sent with every request.
    pub client_id: String,
    /// Connect and request timeout.
    pub timeout: Duration,
    /// How to open a byte stream to a broker; `None` is plain TCP. This is
    /// the hook a TLS connector plugs into.
    pub connector: Option<Arc<dyn Connector>>,
}

/// A future that opens a byte stream to a broker.
pub type ConnectFuture = Pin<Box<dyn Future<Output = std::io::Result<Box<dyn Stream>>> + Send>>;

/// Opens byte streams to brokers (e.g. TCP + a TLS handshake). The client
/// applies its timeout around [`Connector::connect`] and negotiates API
/// versions over the stream it returns.
pub trait Connector: Send + Sync + std::fmt::Debug {
    /// Opens a stream to `addr` (`HOST:PORT`).
    fn connect(&self, addr: &str) -> ConnectFuture;
}

impl ClientConfig {
    /// A config for these bootstrap addresses with a 30 s timeout.
    pub fn new(bootstrap: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            bootstrap: bootstrap.into_iter().map(Into::into).collect(),
            client_id: "holocron".into(),
            timeout: Duration::from_secs(30),
            connector: None,
        }
    }
}

/// A broker as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Node id.
    pub node_id: i32,
    /// Host.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Rack, if any.
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `HOST:PORT`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A partition as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Index.
    pub partition: i32,
    /// Leader node id (-1 if none).
    pub leader: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
    /// Offline replica node ids.
    pub offline: Vec<i32>,
    /// Error, if any.
    pub error: Option<ErrorCode>,
}

/// A topic as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Name.
    pub name: String,
    /// Topic id.
    pub id: uuid::Uuid,
    /// Internal topic.
    pub internal: bool,
    /// Partitions, by index.
    pub partitions: Vec<PartitionInfo>,
    /// Error, if any.
    pub error: Option<ErrorCode>,
}

/// What a Metadata call returned.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// Controller node id.
    pub controller: i32,
    /// Brokers.
    pub brokers: Vec<BrokerInfo>,
    /// Topics.
    pub topics: Vec<TopicInfo>,
}

/// A client of a whole cluster.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    conns: Mutex<HashMap<String, Arc<Mutex<Connection>>>>,
    brokers: Mutex<HashMap<i32, BrokerInfo>>,
}

impl Client {
    /// Connects to the first bootstrap address that answers.
    pub async fn connect(config: ClientConfig) -> Result<Client, ClientError> {
        if config.bootstrap.is_empty() {
            return Err(ClientError::NoBrokers("no address given".into()));
        }
        let client = Client {
            config,
            conns: Mutex::new(HashMap::new()),
            brokers: Mutex::new(HashMap::new()),
        };
        client.bootstrap_connection().await?;
        Ok(client)
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    async fn connection(&self, addr: &str) -> Result<Arc<Mutex<Connection>>, ClientError> {
        if let Some(c) = self.conns.lock().await.get(addr) {
            return Ok(c.clone());
        }
        let timeout = self.config.timeout;
        let conn = match &self.config.connector {
            None => Connection::connect(addr, &self.config.client_id, timeout).await?,
            Some(connector) => {
                let stream = tokio::time::timeout(timeout, connector.connect(addr))
                    .await
                    .map_err(|_| ClientError::Timeout {
                        what: format!("connecting to {addr}"),
                        ms: timeout.as_millis() as u64,
                    })?
                    .map_err(|source| ClientError::io(addr, source))?;
                Connection::over(addr, stream, &self.config.client_id, timeout).await?
            }
        };
        let conn = Arc::new(Mutex::new(conn));
        self.conns
            .lock()
            .await
            .insert(addr.to_owned(), conn.clone());
        Ok(conn)
    }

    async fn bootstrap_connection(&self) -> Result<Arc<Mutex<Connection>>, ClientError> {
        let mut last = None;
        for addr in &self.config.bootstrap {
            match self.connection(addr).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            // A TLS failure names its cause (every broker has the same CA).
            Some(e @ ClientError::Tls { .. }) => e,
            Some(e @ (ClientError::Unreachable { .. } | ClientError::Timeout { .. }))
                if self.config.bootstrap.len() == 1 =>
            {
                e
            }
            _ => ClientError::NoBrokers(self.config.bootstrap.join(", ")),
        })
    }

    async fn run<R: Request>(
        &self,
        conn: Arc<Mutex<Connection>>,
        req: R,
    ) -> Result<R::Response, ClientError> {
        let result = conn.lock().await.send(req).await;
        if let Err(
            ClientError::Unreachable { addr, .. }
            | ClientError::Tls { addr, .. }
            | ClientError::Timeout { what: addr, .. },
        ) = &result
        {
            // A broken connection is dropped so the next call reconnects.
            let addr = addr.clone();
            self.conns
                .lock()
                .await
                .retain(|a, _| !addr.contains(a.as_str()));
        }
        result
    }

    /// Sends a request to any reachable broker.
    pub async fn send_any<R: Request>(&self, req: R) -> Result<R::Response, ClientError> {
        let conn = self.bootstrap_connection().await?;
        self.run(conn, req).await
    }

    /// Sends a request to a broker by node id.
    pub async fn send_to<R: Request>(
        &self,
        node_id: i32,
        req: R,
    ) -> Result<R::Response, ClientError> {
        let addr = self.broker_addr(node_id).await?;
        let conn = self.connection(&addr).await?;
        self.run(conn, req).await
    }

    async fn broker_addr(&self, node_id: i32) -> Result<String, ClientError> {
        if let Some(b) = self.brokers.lock().await.get(&node_id) {
            return Ok(b.addr());
        }
        self.metadata(Some(&[])).await?;
        self.brokers
            .lock()
            .await
            .get(&node_id)
            .map(BrokerInfo::addr)
            .ok_or_else(|| {
                ClientError::NoBrokers(format!("broker {node_id} is not in the metadata"))
            })
    }

    /// Sends a request that gets no response (Produce with `acks=0`) to a
    /// broker by node id.
    pub async fn send_oneway_to<R: Request>(
        &self,
        node_id: i32,
        req: R,
    ) -> Result<(), ClientError> {
        let addr = self.broker_addr(node_id).await?;
        let conn = self.connection(&addr).await?;
        let result = conn.lock().await.send_oneway(req).await;
        if result.is_err() {
            self.conns.lock().await.remove(&addr);
        }
        result
    }

    /// The version of `R` requests sent to the bootstrap broker: the highest
    /// both sides speak. Callers need it where a message's fields differ by
    /// version (e.g. OffsetFetch v8 batches groups).
    pub async fn version_for<R: Request>(&self) -> Result<i16, ClientError> {
        let conn = self.bootstrap_connection().await?;
        let v = conn.lock().await.version_for::<R>();
        v
    }

    /// Every API the bootstrap broker advertised, as `(api key, min, max)`.
    pub async fn api_versions(&self) -> Result<Vec<(i16, i16, i16)>, ClientError> {
        let conn = self.bootstrap_connection().await?;
        let v = conn.lock().await.all_broker_versions();
        Ok(v)
    }

    /// The negotiated version of an API on the bootstrap broker.
    pub async fn broker_versions(
        &self,
        key: kafka_protocol::messages::ApiKey,
    ) -> Result<Option<(i16, i16)>, ClientError> {
        let conn = self.bootstrap_connection().await?;
        let v = conn.lock().await.broker_versions(key);
        Ok(v)
    }

    /// Fetches metadata: `None` for every topic, `Some(&[])` for none.
    pub async fn metadata(&self, topics: Option<&[String]>) -> Result<ClusterView, ClientError> {
        let req = MetadataRequest::default()
            .with_topics(topics.map(|t| {
                t.iter()
                    .map(|n| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(false);
        let resp = self.send_any(req).await?;
        let view = view_of(resp);
        let mut brokers = self.brokers.lock().await;
        brokers.clear();
        for b in &view.brokers {
            brokers.insert(b.node_id, b.clone());
        }
        Ok(view)
    }

    /// The leader of a partition.
    pub async fn leader_of(&self, topic: &str, partition: i32) -> Result<i32, ClientError> {
        let view = self.metadata(Some(&[topic.to_owned()])).await?;
        let t = view
            .topics
            .into_iter()
            .find(|t| t.name == topic)
            .ok_or_else(|| {
                ClientError::kafka(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("topic {topic:?}"),
                )
            })?;
        if let Some(code) = t.error {
            return Err(ClientError::kafka(code, format!("topic {topic:?}")));
        }
        let p = t
            .partitions
            .into_iter()
            .find(|p| p.partition == partition)
            .ok_or_else(|| {
                ClientError::kafka(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("{topic}-{partition}"),
                )
            })?;
        if p.leader < 0 {
            return Err(ClientError::kafka(
                ErrorCode::LeaderNotAvailable,
                format!("{topic}-{partition}"),
            ));
        }
        Ok(p.leader)
    }
}

fn view_of(resp: MetadataResponse) -> ClusterView {
    ClusterView {
        cluster_id: resp.cluster_id.map(|c| c.to_string()),
        controller: resp.controller_id.0,
        brokers: resp
            .brokers
            .into_iter()
            .map(|b| BrokerInfo {
                node_id: b.node_id.0,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.map(|r| r.to_string()),
            })
            .collect(),
        topics: resp
            .topics
            .into_iter()
            .map(|t| {
                let mut partitions: Vec<PartitionInfo> = t
                    .partitions
                    .into_iter()
                    .map(|p| PartitionInfo {
                        partition: p.partition_index,
                        leader: p.leader_id.0,
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                        isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                        offline: p.offline_replicas.iter().map(|b| b.0).collect(),
                        error: from_code(p.error_code),
                    })
                    .collect();
                partitions.sort_by_key(|p| p.partition);
                TopicInfo {
                    name: t.name.map(|n| n.0.to_string()).unwrap_or_default(),
                    id: t.topic_id,
                    internal: t.is_internal,
                    partitions,
                    error: from_code(t.error_code),
                }
            })
            .collect(),
    }
}
