//! The command line: holocronctl's connection flags (`--brokers`,
//! `HOLOCRON_BROKERS`, `--profile`, the TLS flags, `--timeout`), flattened
//! from its own definition so both tools always take the same ones, plus
//! the dashboard's own.

use std::time::Duration;

use clap::{CommandFactory, Parser};
use holocronctl::cli::GlobalArgs;

use crate::app::Tab;

const AFTER: &str = "\
Views: 1 Overview, 2 Topics (Enter: partitions), 3 Groups (Enter: members
and lag), 4 Tail. Keys: j/k move, Enter open, Esc back, / filter, t tail
the selected topic, Space pause the tail, ? help, q quit.

Examples:
  holocron-tui
  holocron-tui --brokers 10.0.0.1:9092 --interval 1s
  holocron-tui --tail orders
  holocronctl tui --metrics 127.0.0.1:9644";

/// holocron-tui: a live dashboard of a Holocron (or any Kafka) cluster.
#[derive(Debug, Parser)]
#[command(
    name = "holocron-tui",
    version,
    about = "Live terminal dashboard: brokers, topics and partitions, replication, groups, tail",
    after_help = AFTER,
    max_term_width = 100
)]
pub struct Cli {
    /// Connection settings, as holocronctl takes them.
    #[command(flatten)]
    pub conn: GlobalArgs,
    /// Time between polls
    #[arg(short, long, env = "HOLOCRON_TUI_INTERVAL", default_value = "2s",
          value_parser = parse_interval, value_name = "DURATION")]
    pub interval: Duration,
    /// The broker's Prometheus endpoint, for produce/fetch byte rates and log end offsets
    #[arg(long, env = "HOLOCRON_METRICS", value_name = "HOST:PORT")]
    pub metrics: Option<String>,
    /// The view to start in
    #[arg(long, value_enum, default_value = "overview")]
    pub view: Tab,
    /// Start tailing this topic (opens the Tail view)
    #[arg(long, value_name = "TOPIC")]
    pub tail: Option<String>,
    /// Do not capture the mouse (keeps the terminal's text selection)
    #[arg(long)]
    pub no_mouse: bool,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d < Duration::from_millis(100) {
        return Err("the interval must be at least 100ms".into());
    }
    Ok(d)
}

/// The clap command, with holocronctl's `--json` hidden (the dashboard has
/// no output to format).
pub fn command() -> clap::Command {
    Cli::command().mut_arg("json", |a| a.hide(true))
}

#[cfg(test)]
mod tests {
    use clap::FromArgMatches;

    use super::*;

    #[test]
    fn clap_definitions_are_consistent() {
        command().debug_assert();
    }

    #[test]
    fn takes_holocronctl_connection_flags() {
        let m = command()
            .try_get_matches_from([
                "holocron-tui",
                "--brokers",
                "127.0.0.1:1,127.0.0.1:2",
                "--tls",
                "--interval",
                "500ms",
                "--view",
                "topics",
            ])
            .expect("parses");
        let cli = Cli::from_arg_matches(&m).expect("matches");
        assert_eq!(cli.conn.brokers, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert!(cli.conn.tls.tls);
        assert_eq!(cli.interval, Duration::from_millis(500));
        assert_eq!(cli.view, Tab::Topics);
        assert!(command()
            .try_get_matches_from(["holocron-tui", "--interval", "1ms"])
            .is_err());
    }
}
