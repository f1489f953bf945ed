#!/usr/bin/env python3
"""confluent-kafka round trip: create a topic, produce keyed records with
acks=all, read everything back and compare, then look offsets up by time.

Checks:
- every record gets a successful delivery report (partition, offset);
- per partition, delivery offsets are 0..n-1 in produce order;
- records with the same key land on the same partition;
- reading each partition from the beginning returns exactly the produced
  records at their reported offsets: same key, value and create timestamp;
- offsets_for_times (ListOffsets by timestamp) returns, for a record's
  timestamp, that record's offset; 0 for a time before all records; -1
  (end) for a time after all records.
"""

import time

from confluent_kafka import TIMESTAMP_CREATE_TIME, TopicPartition

import _confluent as cf
from _common import Deadline, check, log, parser, run


def main():
    p = parser(__doc__)
    p.add_argument("--topic", default="cf-roundtrip")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--keys", type=int, default=1000, help="distinct keys")
    p.add_argument("--seconds", type=float, default=240, help="time budget")
    args = p.parse_args()
    deadline = Deadline(args.seconds, "the whole round trip")

    cf.create_topic(args.bootstrap, args.topic, args.partitions)

    # Timestamps one hour in the past, one millisecond apart, in produce order.
    base_ts = int(time.time() * 1000) - 3_600_000
    produced = []  # index = sequence number: (key, value, timestamp)
    delivered = {}  # seq -> (partition, offset)
    errors = []

    def on_delivery(err, msg):
        seq = int(msg.value().split(b"-", 2)[1])
        if err is not None:
            errors.append(f"seq {seq}: {err}")
        else:
            delivered[seq] = (msg.partition(), msg.offset())

    prod = cf.producer(args.bootstrap)
    started = time.monotonic()
    for seq in range(args.records):
        key = f"key-{seq % args.keys}".encode()
        value = f"v-{seq}-".encode() + b"x" * (seq % 97)
        ts = base_ts + seq
        produced.append((key, value, ts))
        cf.produce_bounded(
            prod, deadline, args.topic, key=key, value=value, timestamp=ts, on_delivery=on_delivery
        )
        if seq % 1000 == 0:
            prod.poll(0)
        if seq % 20_000 == 0 and seq:
            cf.log_progress("produced", seq, args.records, started)
    cf.flush_bounded(prod, max(1.0, deadline.remaining()))
    check(not errors, f"{len(errors)} delivery errors, first: {errors[:3]}")
    check(
        len(delivered) == args.records,
        f"{len(delivered)} delivery reports for {args.records} records",
    )
    log(f"produced and acknowledged {args.records} in {time.monotonic() - started:.1f}s")

    # Delivery reports: per partition, offsets 0..n-1 in produce order.
    by_partition = {p: [] for p in range(args.partitions)}
    key_partition = {}
    for seq in range(args.records):
        part, offset = delivered[seq]
        check(part in by_partition, f"seq {seq} went to unknown partition {part}")
        by_partition[part].append((offset, seq))
        key = produced[seq][0]
        check(
            key_partition.setdefault(key, part) == part,
            f"key {key!r} went to partitions {key_partition[key]} and {part}",
        )
    for part, entries in by_partition.items():
        offsets = [o for o, _ in entries]
        check(
            offsets == list(range(len(entries))),
            f"partition {part}: delivery offsets in produce order are not 0..{len(entries) - 1}: "
            f"first mismatch at {first_mismatch(offsets)}",
        )
    used = sum(1 for e in by_partition.values() if e)
    check(used > 1, f"all records went to {used} partition(s): the partitioner did not spread keys")

    # Read everything back.
    started = time.monotonic()
    records, ends = cf.read_all(
        args.bootstrap, args.topic, list(range(args.partitions)), max(1.0, deadline.remaining())
    )
    for part, entries in by_partition.items():
        got = records[part]
        check(
            ends[part] == len(entries),
            f"partition {part}: high watermark {ends[part]}, produced {len(entries)}",
        )
        check(
            len(got) == len(entries),
            f"partition {part}: read {len(got)} records, produced {len(entries)}",
        )
        for (offset, seq), msg in zip(entries, got):
            key, value, ts = produced[seq]
            check(
                msg["offset"] == offset,
                f"partition {part}: expected offset {offset}, read offset {msg['offset']}",
            )
            check(
                msg["key"] == key and msg["value"] == value,
                f"partition {part} offset {offset}: expected {key!r}={value[:20]!r}…, "
                f"read {msg['key']!r}={(msg['value'] or b'')[:20]!r}…",
            )
            check(
                msg["timestamp"] == (TIMESTAMP_CREATE_TIME, ts),
                f"partition {part} offset {offset}: timestamp {msg['timestamp']}, "
                f"expected (create time, {ts})",
            )
    log(f"read back {args.records} in {time.monotonic() - started:.1f}s")

    times_checked = check_offsets_for_times(args, by_partition, produced, base_ts)
    return {
        "client": "confluent-kafka",
        "topic": args.topic,
        "partitions": args.partitions,
        "records": args.records,
        "per_partition": {str(p): len(e) for p, e in by_partition.items()},
        "offsets_for_times_checked": times_checked,
    }


def check_offsets_for_times(args, by_partition, produced, base_ts):
    """ListOffsets by timestamp: the earliest offset whose timestamp is at
    or after the given time, or -1 when there is none."""
    labels = ("before all", "first", "just after first", "middle", "last", "after all")
    last_ts = base_ts + args.records - 1
    queries = []  # (partition, label, timestamp, expected offset)
    for part, entries in by_partition.items():
        if len(entries) < 2:
            continue
        ts_of = [produced[seq][2] for _offset, seq in entries]
        mid = len(entries) // 2
        queries += [
            (part, "before all", base_ts - 60_000, 0),
            (part, "first", ts_of[0], 0),
            # Timestamps are unique and increase with offset in a partition,
            # so a time just after record 0's finds record 1.
            (part, "just after first", ts_of[0] + 1, 1),
            (part, "middle", ts_of[mid], mid),
            (part, "last", ts_of[-1], len(entries) - 1),
            (part, "after all", last_ts + 60_000, -1),
        ]
    cons = cf.consumer(args.bootstrap)
    try:
        results = {}
        # One call per label keeps each partition once per request.
        for label in labels:
            tps = [TopicPartition(args.topic, p, ts) for p, lb, ts, _ in queries if lb == label]
            for tp in cons.offsets_for_times(tps, timeout=30):
                check(tp.error is None, f"offsets_for_times {label} p{tp.partition}: {tp.error}")
                results[(tp.partition, label)] = tp.offset
        wrong = [
            f"p{part} {label} (ts {ts}): got {results.get((part, label))}, expected {want}"
            for part, label, ts, want in queries
            if results.get((part, label)) != want
        ]
        check(
            not wrong,
            f"offsets_for_times: {len(wrong)} of {len(queries)} lookups wrong: "
            + "; ".join(wrong[:12]),
        )
        return len(queries)
    finally:
        cons.close()


def first_mismatch(offsets):
    for i, o in enumerate(offsets):
        if o != i:
            return f"position {i} has offset {o}"
    return "none"


if __name__ == "__main__":
    run(main)
