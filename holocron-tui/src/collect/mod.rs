//! Background collectors. Each polls the cluster through the proto client on
//! its own task and sends [`Update`]s over one bounded channel; the main loop
//! folds them into the app state. A failed poll sends a status update and the
//! collector retries on its next round, so the screen keeps the last good
//! data and the app never exits on a connection error.
//!
//! - [`cluster`]: metadata, offsets, sizes, replica (quorum) state, and the
//!   optional Prometheus counters;
//! - [`groups`]: consumer groups, members, assignments, committed offsets and lag;
//! - [`tail`]: live records of one topic, started and stopped by the app.

pub mod cluster;
pub mod groups;
pub mod metrics;
pub mod tail;

use std::time::{Duration, Instant};

use holocron_proto::client::Client;
use holocronctl::connect::{self, Settings};
use tokio::sync::{mpsc, watch};

use crate::model::{ClusterSnapshot, GroupsData, TailRecord};

/// Which collector a status is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The cluster poller.
    Cluster,
    /// The groups poller.
    Groups,
    /// The tail.
    Tail,
    /// The Prometheus endpoint.
    Metrics,
}

impl Source {
    /// A short name for the status bar.
    pub fn name(self) -> &'static str {
        match self {
            Source::Cluster => "cluster",
            Source::Groups => "groups",
            Source::Tail => "tail",
            Source::Metrics => "metrics",
        }
    }
}

/// What collectors send to the main loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A complete cluster poll.
    Cluster(Box<ClusterSnapshot>),
    /// A complete groups poll.
    Groups(GroupsData),
    /// New records of the tailed topic (oldest first).
    Tail {
        /// The topic they belong to.
        topic: String,
        /// The records.
        records: Vec<TailRecord>,
    },
    /// A collector failed (`Some`) or recovered (`None`).
    Status {
        /// Which one.
        source: Source,
        /// The error, one line.
        error: Option<String>,
    },
}

/// Commands from the app to the collectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Tail this topic (None: stop tailing).
    Tail(Option<String>),
    /// Poll again now instead of waiting for the interval.
    Refresh,
}

/// Settings every collector shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Connection settings.
    pub settings: Settings,
    /// Time between polls.
    pub interval: Duration,
    /// The dashboard's clock.
    pub started: Instant,
    /// The Prometheus endpoint, `HOST:PORT`.
    pub metrics: Option<String>,
}

impl Shared {
    /// Settings for collectors.
    pub fn new(
        settings: Settings,
        interval: Duration,
        started: Instant,
        metrics: Option<String>,
    ) -> Self {
        Shared {
            settings,
            interval,
            started,
            metrics,
        }
    }

    /// The client in `slot`, connecting if there is none yet. Each collector
    /// keeps its own, so a tail's long-polling Fetch never delays a poll.
    pub async fn client<'a>(&self, slot: &'a mut Option<Client>) -> Result<&'a Client, String> {
        if slot.is_none() {
            let c = connect::connect(&self.settings)
                .await
                .map_err(|e| e.message)?;
            *slot = Some(c);
        }
        slot.as_ref().ok_or_else(|| "not connected".to_owned())
    }

    /// ms since the dashboard started.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

/// Handles to the running collectors.
#[derive(Debug)]
pub struct Collectors {
    tail: mpsc::Sender<Option<String>>,
    refresh: watch::Sender<u64>,
}

impl Collectors {
    /// Starts every collector on the current runtime.
    pub fn spawn(shared: Shared, updates: mpsc::Sender<Update>) -> Self {
        let (refresh, refresh_rx) = watch::channel(0u64);
        let (tail, tail_rx) = mpsc::channel(8);
        tokio::spawn(cluster::run(
            shared.clone(),
            updates.clone(),
            refresh_rx.clone(),
        ));
        tokio::spawn(groups::run(shared.clone(), updates.clone(), refresh_rx));
        tokio::spawn(tail::run(shared, updates, tail_rx));
        Collectors { tail, refresh }
    }

    /// Passes a command on.
    pub fn command(&self, cmd: Command) {
        match cmd {
            Command::Tail(topic) => {
                // The tail's inbox is small and the user's last wish wins; a
                // full inbox means a newer command is already queued behind.
                let _ = self.tail.try_send(topic);
            }
            Command::Refresh => self.refresh.send_modify(|n| *n += 1),
        }
    }
}

/// Waits for the interval or a refresh request, whichever comes first.
pub async fn pause(interval: Duration, refresh: &mut watch::Receiver<u64>) {
    tokio::select! {
        () = tokio::time::sleep(interval) => {}
        r = refresh.changed() => {
            if r.is_err() {
                // The app is gone; keep the cadence until the runtime stops.
                tokio::time::sleep(interval).await;
            }
        }
    }
}

/// Sends a status update; false when the app is gone.
pub async fn status(tx: &mpsc::Sender<Update>, source: Source, error: Option<String>) -> bool {
    tx.send(Update::Status { source, error }).await.is_ok()
}
