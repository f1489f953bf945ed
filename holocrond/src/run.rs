//! Start-up, background maintenance and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::broker::{now_ms, Broker, StartError};
use crate::config::Config;
use crate::net::tls::{TlsError, TlsState};
use crate::net::{self, BoundListener};

/// Why the broker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The broker's state could not be opened.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The TLS certificates could not be loaded.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// How often partitions are checked for age-based rolls and interval flushes.
const TICK: Duration = Duration::from_millis(100);
/// How often producer state is snapshotted (bounding the replay at start).
const PRODUCER_SNAPSHOT_INTERVAL: Duration = Duration::from_secs(30);

/// Runs the broker until SIGINT/SIGTERM or until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), RunError> {
    // Installed before anything listens: a SIGTERM that comes as soon as
    // the port answers (or during start-up) stops the broker cleanly
    // instead of killing it.
    tokio::spawn(watch_signals(install_signals(), shutdown.clone()));
    let mut listeners = Vec::new();
    for l in &config.listeners {
        let listener = TcpListener::bind(l.addr)
            .await
            .map_err(|source| RunError::Bind {
                addr: l.addr,
                source,
            })?;
        listeners.push(BoundListener {
            listener,
            kind: l.kind,
        });
    }
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(
            crate::metrics::http::bind(addr)
                .await
                .map_err(|source| RunError::Bind { addr, source })?,
        ),
        None => None,
    };
    let tls = match &config.tls {
        Some(files) => Some(Arc::new(TlsState::load(files.clone())?)),
        None => None,
    };
    let services: crate::replication::node::ServiceSlot = Default::default();
    // A SIGTERM while the broker opens (a cluster node waits for a quorum)
    // ends start-up cleanly.
    let broker = tokio::select! {
        opened = Broker::open(config, shutdown.clone(), services) => opened?,
        () = shutdown.cancelled() => {
            tracing::info!("stopped while starting");
            return Ok(());
        }
    };
    if let Some(t) = &tls {
        tokio::spawn(t.clone().watch(shutdown.clone()));
    }
    for l in &listeners {
        if let Ok(addr) = l.listener.local_addr() {
            tracing::info!(%addr, kind = ?l.kind, "serving Kafka");
        }
    }
    if let Some(m) = metrics_listener {
        if let Ok(addr) = m.local_addr() {
            tracing::info!(%addr, "serving metrics");
        }
        tokio::spawn(crate::metrics::http::serve(m, broker.clone()));
    }
    let maintenance = tokio::spawn(maintain(broker.clone()));
    tokio::spawn(broker.clone().run_reporter());
    if broker.config.cluster.is_some() {
        tokio::spawn(broker.clone().run_reconciler());
    }
    let groups = tokio::spawn(broker.groups.clone().run(shutdown.clone()));
    tracing::info!(
        data_dir = %broker.config.data_dir.display(),
        topics = broker.metadata.snapshot().topics.len(),
        cluster_id = %broker.metadata.cluster_id(),
        "holocrond started"
    );
    net::serve(broker.clone(), listeners, tls).await;
    let _ = maintenance.await;
    let _ = groups.await;
    for p in broker.partitions.all() {
        if let Some(r) = p.replica() {
            let _ = r.raft().shutdown().await;
        }
    }
    broker.metadata.shutdown().await;
    if let Some(rpc) = &broker.rpc {
        rpc.shutdown().await;
    }
    let closing = broker.clone();
    let _ = tokio::task::spawn_blocking(move || closing.partitions.close_all()).await;
    tracing::info!("holocrond stopped cleanly");
    Ok(())
}

type Signals = Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>;

fn install_signals() -> Signals {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => Some((term, int)),
        _ => {
            tracing::error!("cannot install signal handlers");
            None
        }
    }
}

async fn watch_signals(signals: Signals, shutdown: CancellationToken) {
    let Some((mut term, mut int)) = signals else {
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        () = shutdown.cancelled() => return,
    }
    shutdown.cancel();
}

/// Rolls, interval flushes and retention, off the request path.
async fn maintain(broker: Arc<Broker>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_retention = std::time::Instant::now();
    let mut last_snapshot = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = broker.shutdown.cancelled() => return,
        }
        let run_retention = last_retention.elapsed() >= broker.config.retention_check_interval;
        if run_retention {
            last_retention = std::time::Instant::now();
        }
        let run_snapshots = last_snapshot.elapsed() >= PRODUCER_SNAPSHOT_INTERVAL;
        if run_snapshots {
            last_snapshot = std::time::Instant::now();
        }
        let expiration = broker.config.producer_id_expiration.as_millis() as i64;
        let b = broker.clone();
        let work = tokio::task::spawn_blocking(move || {
            let now = now_ms();
            for p in b.partitions.all() {
                if let Err(e) = p.tick(now) {
                    tracing::error!(partition = %p.id(), error = %e, "segment roll or flush failed");
                }
                if run_snapshots {
                    if let Err(e) = p.snapshot_producers(now, expiration) {
                        tracing::warn!(partition = %p.id(), error = %e, "cannot write producer snapshot");
                    }
                }
                if run_retention {
                    match p.apply_retention(now) {
                        Ok(outcome) => {
                            if !outcome.deleted.is_empty() {
                                tracing::info!(partition = %p.id(), segments = outcome.deleted.len(), log_start = outcome.log_start_offset, "retention deleted segments");
                            }
                        }
                        Err(e) => {
                            tracing::error!(partition = %p.id(), error = %e, "retention failed")
                        }
                    }
                }
            }
        });
        let _ = work.await;
    }
}
