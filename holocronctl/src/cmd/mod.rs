//! One module per command group. Each command turns its clap arguments into
//! a validated plan (exit 2 on bad input) before it connects, does its I/O,
//! builds one documented output value and hands it to [`crate::output`].

pub mod bench;
pub mod broker;
pub mod certs;
pub mod cluster;
pub mod common;
pub mod completion;
pub mod consume;
pub mod group;
pub mod offsets;
pub mod partition;
pub mod placement;
pub mod produce;
pub mod profile;
pub mod topic;
pub mod tui;

use holocron_proto::client::Client;
use tokio::sync::OnceCell;

use crate::cli::{Cli, Command};
use crate::connect::{self, Settings};
use crate::exit::{CtlError, CtlResult, ErrorClass};
use crate::output::Out;

/// What every networked command gets: output settings and a client that
/// connects on first use (so plans are validated before any I/O).
#[derive(Debug)]
pub struct Ctx {
    /// Output settings.
    pub out: Out,
    /// Connection settings.
    pub settings: Settings,
    client: OnceCell<Client>,
}

impl Ctx {
    /// The client, connecting on first use.
    pub async fn client(&self) -> CtlResult<&Client> {
        self.client
            .get_or_try_init(|| connect::connect(&self.settings))
            .await
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CtlResult {
    let out = Out::new(cli.global.json);
    let command = match cli.command {
        Command::Completion(a) => return completion::run(&a),
        Command::Profile(c) => return profile::run(c, &cli.global, &out),
        Command::Tui(a) => return tui::run(&cli.global, a),
        Command::Certs(c) => return certs::run(c, &out),
        other => other,
    };
    let settings = connect::resolve(&cli.global)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CtlError::new(ErrorClass::Failure, format!("starting runtime: {e}")))?;
    let ctx = Ctx {
        out,
        settings,
        client: OnceCell::new(),
    };
    rt.block_on(dispatch(&ctx, command))
}

async fn dispatch(ctx: &Ctx, command: Command) -> CtlResult {
    match command {
        Command::Cluster(c) => cluster::run(ctx, c).await,
        Command::Broker(c) => broker::run(ctx, c).await,
        Command::Topic(c) => topic::run(ctx, c).await,
        Command::Partition(c) => partition::run(ctx, c).await,
        Command::Produce(a) => produce::run(ctx, a).await,
        Command::Consume(a) => consume::run(ctx, a).await,
        Command::Group(c) => group::run(ctx, c).await,
        Command::Offsets(a) => offsets::run(ctx, a).await,
        Command::Bench(c) => bench::run(ctx, c).await,
        Command::Completion(_) | Command::Profile(_) | Command::Tui(_) | Command::Certs(_) => {
            Ok(())
        }
    }
}

/// Resolves when the user presses Ctrl-C (never, if the handler cannot be set).
pub async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
