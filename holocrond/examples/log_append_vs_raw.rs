//! Interleaved A/B measurement of `Log::append` (64 KiB batches, no fsync)
//! against plain `write` calls of the same size to a file, on the same
//! filesystem.
//!
//! On a shared machine the throughput of either swings by 2x from one
//! minute to the next, so comparing two separate runs says little. Here
//! the two alternate in 256 MiB rounds (taking turns going first), each
//! into a fresh file, so both see
//! the same conditions; the median per-round ratio is the figure reported
//! in BENCHMARKS.md.
//!
//! `cargo run --release -p holocrond --example log_append_vs_raw [ROUNDS]`
//! (files under `$HOLOCRON_BENCH_DIR`, default the system temp dir).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use holocrond::log::{FlushPolicy, Log, LogConfig};

const BATCH: usize = 64 * 1024;
const ROUND_BYTES: usize = 256 << 20;

fn make_batch(total: usize) -> Vec<u8> {
    let mut b = vec![0u8; total];
    b[8..12].copy_from_slice(&((total - 12) as i32).to_be_bytes());
    b[16] = 2;
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    b[57..61].copy_from_slice(&1i32.to_be_bytes());
    for (i, x) in b[61..].iter_mut().enumerate() {
        *x = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn gib_per_s(secs: f64) -> f64 {
    ROUND_BYTES as f64 / secs / f64::from(1u32 << 30)
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// GiB/s of `ROUND_BYTES` written with plain `write` calls to a new file.
fn raw_round(base: &Path, block: &[u8]) -> BoxResult<f64> {
    let dir = tempfile::tempdir_in(base)?;
    let mut f = File::create(dir.path().join("raw"))?;
    let start = Instant::now();
    for _ in 0..ROUND_BYTES / BATCH {
        f.write_all(block)?;
    }
    Ok(gib_per_s(start.elapsed().as_secs_f64()))
}

/// GiB/s of `ROUND_BYTES` appended to a new log.
fn log_round(base: &Path, config: &LogConfig, batch: &mut [u8]) -> BoxResult<f64> {
    let dir = tempfile::tempdir_in(base)?;
    let mut log = Log::open(dir.path(), config.clone())?;
    let start = Instant::now();
    for _ in 0..ROUND_BYTES / BATCH {
        log.append(batch, 1, 0)?;
    }
    Ok(gib_per_s(start.elapsed().as_secs_f64()))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> BoxResult<()> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(9), |a| a.parse())?;
    let base =
        std::env::var_os("HOLOCRON_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let config = LogConfig {
        flush: FlushPolicy::Never,
        retention_ms: None,
        ..LogConfig::default()
    };
    let mut batch = make_batch(BATCH);
    let block = make_batch(BATCH);
    let (mut raw, mut log, mut ratio) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        // Alternate which goes first, so neither always inherits the
        // other's page-cache and writeback aftermath.
        let (r, a) = if round % 2 == 0 {
            let r = raw_round(&base, &block)?;
            (r, log_round(&base, &config, &mut batch)?)
        } else {
            let a = log_round(&base, &config, &mut batch)?;
            (raw_round(&base, &block)?, a)
        };
        println!(
            "round {round}: raw write {r:.2} GiB/s, log append {a:.2} GiB/s, ratio {:.2}",
            a / r
        );
        raw.push(r);
        log.push(a);
        ratio.push(a / r);
    }
    println!(
        "median: raw write {:.2} GiB/s, log append {:.2} GiB/s, ratio {:.2}",
        median(&mut raw),
        median(&mut log),
        median(&mut ratio)
    );
    Ok(())
}
