//! holocron-tui, the live dashboard, as a library (the binary only calls
//! [`main_with_args`]).
//!
//! The layout follows the flow of data:
//!
//! - [`collect`]: background tasks poll the cluster through the
//!   `holocron-proto` client and send [`collect::Update`]s over a bounded
//!   channel; errors become status updates and the pollers keep retrying;
//! - [`event`]: the main loop's inputs — keys, mouse wheel, resizes, ticks
//!   and updates — merged into one stream;
//! - [`app`] (+ [`lists`], [`history`]): the state and its key handling,
//!   pure and unit-tested; [`model`] is the polled data;
//! - [`ui`]: drawing, a pure function of `&App`, one file per view,
//!   snapshot-tested with ratatui's `TestBackend`;
//! - [`terminal`]: raw mode, the alternate screen, and the panic hook that
//!   restores them.
//!
//! The loop draws, waits for the next input, and folds it in. Old data stays
//! on screen while a poll is in flight, because a snapshot replaces the old
//! one only when it is complete.

pub mod app;
pub mod cli;
pub mod collect;
pub mod event;
pub mod history;
pub mod lists;
pub mod model;
pub mod terminal;
pub mod ui;

#[cfg(test)]
mod fixtures;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::FromArgMatches;
use tokio::sync::mpsc;

use crate::app::App;
use crate::collect::{Collectors, Shared};
use crate::event::{Event, Events};

/// Capacity of the update channel (collectors wait when it is full).
const UPDATES: usize = 64;
/// How often the clock ticks (for "updated 3s ago").
const TICK: Duration = Duration::from_secs(1);

/// Runs the dashboard with these arguments (the first is the program name).
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = match cli::command().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let settings = match holocronctl::connect::resolve(&cli.conn) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("holocron-tui: error: {}", e.message);
            return ExitCode::from(e.class.code());
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("holocron-tui: error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(run(cli, settings));
    rt.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("holocron-tui: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: cli::Cli, settings: holocronctl::connect::Settings) -> std::io::Result<()> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel(UPDATES);
    let mut app = App::new(settings.brokers.join(","), cli.interval);
    app.tab = cli.view;
    let shared = Shared::new(settings, cli.interval, started, cli.metrics.clone());
    let collectors = Collectors::spawn(shared, tx);
    if let Some(topic) = cli.tail.clone() {
        collectors.command(app.tail_topic(topic));
    }
    let mut term = terminal::enter(!cli.no_mouse)?;
    let mut events = Events::new(TICK, rx);
    let result = main_loop(&mut term, &mut app, &collectors, &mut events, started).await;
    terminal::restore();
    result
}

async fn main_loop(
    term: &mut terminal::Term,
    app: &mut App,
    collectors: &Collectors,
    events: &mut Events,
    started: Instant,
) -> std::io::Result<()> {
    app.page = page_rows(term.size()?.height);
    loop {
        app.tick(started.elapsed().as_millis() as u64);
        term.draw(|f| ui::draw(f, app))?;
        match events.next().await {
            Event::Key(k) => {
                if let Some(cmd) = app.on_key(k) {
                    collectors.command(cmd);
                }
            }
            Event::Scroll(d) => app.on_scroll(d),
            Event::Resize(_, h) => app.page = page_rows(h),
            Event::Tick => {}
            Event::Update(u) => {
                app.apply(u);
                while let Some(u) = events.try_update() {
                    app.apply(u);
                }
            }
            Event::InputClosed => return Ok(()),
        }
        if app.quit {
            return Ok(());
        }
    }
}

fn page_rows(height: u16) -> usize {
    height.saturating_sub(ui::CHROME_ROWS).max(1) as usize
}
