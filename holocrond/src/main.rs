//! The `holocrond` binary: parse the configuration, set up logging, run.

use std::process::ExitCode;

use holocrond::config::Config;
use tokio_util::sync::CancellationToken;

/// Hostile array lengths in requests must not abort the broker (see the module docs).
#[global_allocator]
static ALLOC: holocron_proto::alloc::LazyLargeAlloc = holocron_proto::alloc::LazyLargeAlloc;

fn main() -> ExitCode {
    let config = match Config::from_env_and_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("holocrond: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("holocrond: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(holocrond::run(config, CancellationToken::new())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("holocrond: {e}");
            ExitCode::FAILURE
        }
    }
}
