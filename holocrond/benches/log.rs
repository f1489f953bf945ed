//! Log throughput: appends of 1 KiB and 64 KiB batches without fsync
//! (`FlushPolicy::Never`) and with an fsync per append (`Always`: append +
//! `sync_to`, one caller, so no group commit), and sequential reads.
//!
//! Appends go to a fresh log that is replaced (outside the timed region)
//! after every `CHUNK_BYTES`, so each measurement writes at most 1 GiB to
//! one segment — the same amount `dd bs=64k count=16384` writes — and no
//! segment roll (which fsyncs) falls inside the measurement.
//!
//! Run: `cargo bench -p holocrond --bench log`. The log lives in
//! `$HOLOCRON_BENCH_DIR` (default: the system temp dir); measure the raw
//! disk on the same filesystem for comparison (see BENCHMARKS.md).

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

/// A log that is thrown away and recreated every `CHUNK_BYTES`.
struct ChunkedLog {
    flush: FlushPolicy,
    dir: Option<tempfile::TempDir>,
    log: Option<Log>,
    written: u64,
}

impl ChunkedLog {
    fn new(flush: FlushPolicy) -> Self {
        Self {
            flush,
            dir: None,
            log: None,
            written: 0,
        }
    }

    /// The log to append `len` more bytes to (untimed housekeeping).
    fn get(&mut self, len: u64) -> &mut Log {
        if self.log.is_none() || self.written + len > CHUNK_BYTES {
            self.log = None;
            self.dir = None;
            let dir = tempfile::tempdir_in(bench_dir()).expect("bench dir");
            self.log = Some(Log::open(dir.path(), config(self.flush)).expect("open log"));
            self.dir = Some(dir);
            self.written = 0;
        }
        self.written += len;
        self.log.as_mut().expect("log just opened")
    }
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("log_append");
    for (policy, flush) in [
        ("never", FlushPolicy::Never),
        ("always", FlushPolicy::Always),
    ] {
        for size in [1024usize, 64 * 1024] {
            let mut batch = make_batch(size);
            let mut chunked = ChunkedLog::new(flush);
            group.throughput(Throughput::Bytes(size as u64));
            if flush == FlushPolicy::Always {
                group
                    .sample_size(10)
                    .measurement_time(Duration::from_secs(4));
            } else {
                group
                    .sample_size(20)
                    .measurement_time(Duration::from_secs(8));
            }
            let id = BenchmarkId::new(policy, format!("{}KiB", size / 1024));
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut left = iters;
                    while left > 0 {
                        let n = left.min(CHUNK_BYTES / size as u64);
                        left -= n;
                        let log = chunked.get(n * size as u64);
                        let durability = log.durability();
                        let start = Instant::now();
                        for _ in 0..n {
                            let info = log.append(&mut batch, 1, 0).expect("append");
                            if flush == FlushPolicy::Always {
                                durability.sync_to(info.last_offset).expect("sync");
                            }
                        }
                        total += start.elapsed();
                    }
                    total
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
