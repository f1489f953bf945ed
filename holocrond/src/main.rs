//! The `holocrond` binary: parse the configuration, set up logging, run.

use std::process::ExitCode;

use holocrond::config::Config;
use tokio_util::sync::CancellationToken;

/// Hostile array lengths in requests must not abort the broker (see the module docs).
#[global_allocator]
static ALLOC: holocron_proto::alloc::LazyLargeAlloc = holocron_proto::alloc::LazyLargeAlloc;

/// Keeps request-sized buffers (up to tens of MiB) in glibc's heap instead of
/// a fresh `mmap` per request that is unmapped again on free: every produce
/// and fetch otherwise pays page faults for its frame buffer (measured as a
/// quarter of the broker's produce CPU; BENCHMARKS.md). Freed memory above
/// 64 MiB at the top of the heap is still returned to the kernel.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: mallopt only changes glibc malloc parameters; it is called once,
    // before the runtime starts any thread, with valid parameter constants.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let config = match Config::from_env_and_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("holocrond: {e}");
            return ExitCode::from(2);
        }
    };
    // openraft logs every vote and membership step at info; unless the
    // filter names it, it speaks at error (a down peer makes it warn on every heartbeat).
    let directives = if config.log_level.contains("openraft") {
        config.log_level.clone()
    } else {
        format!("{},openraft=error", config.log_level)
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
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
