//! Log throughput: appends of 1 KiB and 64 KiB batches without fsync
//! (`FlushPolicy::Never`) and with an fsync per append (`Always`: append +
//! `sync_to`, one caller, so no group commit), and sequential reads.
//!
//! Appends go to a fresh log that is replaced (outside the timed region)
//! after every `CHUNK_BYTES`, so each measurement writes at most 1 GiB to
//! one segment — the same amount `dd bs=64k count=16384` writes — and no
//! segment roll (which fsyncs) falls inside the measurement.
//!
//! Each log benchmark is preceded by `raw_write`, the same pattern with
//! plain `write` (+ `fdatasync`) calls on a file: the in-process baseline
//! for the ratios, measured under the same machine conditions.
//!
//! Run: `cargo bench -p holocrond --bench log`. The log lives in
//! `$HOLOCRON_BENCH_DIR` (default: the system temp dir); measure the raw
//! disk on the same filesystem for comparison (see BENCHMARKS.md).

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use holocrond::log::{FlushPolicy, Log, LogConfig};

const CHUNK_BYTES: u64 = 1 << 30;
const READ_LOG_BYTES: u64 = 256 << 20;
const READ_MAX_BYTES: usize = 1 << 20;

/// A valid RecordBatch v2 of exactly `total` bytes holding one record
/// (opaque filler: the log never decodes records).
fn make_batch(total: usize) -> Vec<u8> {
    let mut b = vec![0u8; total];
    b[8..12].copy_from_slice(&((total - 12) as i32).to_be_bytes());
    b[16] = 2; // magic
    b[23..27].copy_from_slice(&0i32.to_be_bytes()); // lastOffsetDelta
    b[27..35].copy_from_slice(&1_700_000_000_000i64.to_be_bytes());
    b[35..43].copy_from_slice(&1_700_000_000_000i64.to_be_bytes());
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    b[57..61].copy_from_slice(&1i32.to_be_bytes()); // recordCount
    for (i, x) in b[61..].iter_mut().enumerate() {
        *x = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn bench_dir() -> PathBuf {
    std::env::var_os("HOLOCRON_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from)
}

fn config(flush: FlushPolicy) -> LogConfig {
    LogConfig {
        flush,
        retention_ms: None,
        ..LogConfig::default()
    }
}

/// Times `n` writes of `size` bytes with `write_one`, on a target that is
/// replaced every `CHUNK_BYTES` outside the timed region.
fn chunked<T>(
    iters: u64,
    size: usize,
    target: &mut Option<(T, u64)>,
    mut fresh: impl FnMut() -> T,
    mut write_one: impl FnMut(&mut T),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK_BYTES / size as u64);
        left -= n;
        let bytes = n * size as u64;
        if target.as_ref().is_none_or(|t| t.1 + bytes > CHUNK_BYTES) {
            *target = None;
            *target = Some((fresh(), 0));
        }
        let Some((t, written)) = target.as_mut() else {
            unreachable!("just created")
        };
        *written += bytes;
        let start = Instant::now();
        for _ in 0..n {
            write_one(t);
        }
        total += start.elapsed();
    }
    total
}

/// For each size and flush mode: the raw baseline (plain `write`, plus
/// `fdatasync` per write for "always", to a fresh file) and then the log
/// (`append`, plus `sync_to` per append for "always"), back to back so
/// both see the same machine conditions.
fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    for (policy, flush) in [
        ("never", FlushPolicy::Never),
        ("always", FlushPolicy::Always),
    ] {
        let sync = flush == FlushPolicy::Always;
        if sync {
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(4));
        } else {
            group
                .sample_size(20)
                .measurement_time(Duration::from_secs(8));
        }
        for size in [1024usize, 64 * 1024] {
            group.throughput(Throughput::Bytes(size as u64));
            let label = format!("{policy}/{}KiB", size / 1024);

            let block = make_batch(size);
            let mut raw: Option<((tempfile::TempDir, File), u64)> = None;
            group.bench_function(BenchmarkId::new("raw_write", &label), |b| {
                b.iter_custom(|iters| {
                    let fresh = || {
                        let dir = tempfile::tempdir_in(bench_dir()).expect("bench dir");
                        let file = File::create(dir.path().join("raw")).expect("create");
                        (dir, file)
                    };
                    chunked(iters, size, &mut raw, fresh, |(_, f)| {
                        f.write_all(&block).expect("write");
                        if sync {
                            f.sync_data().expect("fdatasync");
                        }
                    })
                });
            });
            drop(raw);

            let mut batch = make_batch(size);
            let mut log: Option<((tempfile::TempDir, Log), u64)> = None;
            group.bench_function(BenchmarkId::new("log", &label), |b| {
                b.iter_custom(|iters| {
                    let fresh = || {
                        let dir = tempfile::tempdir_in(bench_dir()).expect("bench dir");
                        let log = Log::open(dir.path(), config(flush)).expect("open log");
                        (dir, log)
                    };
                    chunked(iters, size, &mut log, fresh, |(_, log)| {
                        let info = log.append(&mut batch, 1, 0).expect("append");
                        if sync {
                            log.durability().sync_to(info.last_offset).expect("sync");
                        }
                    })
                });
            });
        }
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let mut group = c.benchmark_group("log_read_sequential");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for size in [1024usize, 64 * 1024] {
        let dir = tempfile::tempdir_in(bench_dir()).expect("bench dir");
        let mut log = Log::open(dir.path(), config(FlushPolicy::Never)).expect("open log");
        let mut batch = make_batch(size);
        for _ in 0..READ_LOG_BYTES / size as u64 {
            log.append(&mut batch, 1, 0).expect("append");
        }
        let end = log.log_end_offset();
        let mut offset = 0;
        group.throughput(Throughput::Bytes(READ_MAX_BYTES as u64));
        group.bench_function(
            BenchmarkId::new("1MiB_reads", format!("{}KiB_batches", size / 1024)),
            |b| {
                b.iter(|| {
                    let r = log.read(offset, READ_MAX_BYTES).expect("read");
                    assert_eq!(r.bytes.len(), READ_MAX_BYTES);
                    offset = if r.next_offset == end {
                        0
                    } else {
                        r.next_offset
                    };
                    r.bytes
                });
            },
        );
        drop(log);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = append, read
}
criterion_main!(benches);
