#!/usr/bin/env python3
"""kafka-python round trip and admin: KafkaAdminClient creates a topic;
KafkaProducer (acks=all, not idempotent, no retries) sends keyed records with
explicit timestamps; a KafkaConsumer with manual assignment (group_id=None)
reads every partition from the beginning and compares; offsets_for_times
finds records by timestamp; creating the topic again fails with
TopicAlreadyExistsError; delete_topics removes it from metadata.

Checks:
- every send() future resolves to (partition, offset); per partition the
  offsets are 0..n-1 in send order; a key always maps to one partition;
- end_offsets equal the per-partition counts;
- the records read back are the records sent, at their offsets, with the
  same key, value and create timestamp;
- offsets_for_times(record timestamp) is that record's offset.
"""

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from _common import Deadline, check, log, parser, run

TIMEOUT_MS = 30_000


def wait_for_topic(admin, topic, partitions, present=True, seconds=30):
    deadline = Deadline(seconds, f"{topic} {'in' if present else 'gone from'} metadata")
    while True:
        md = admin.describe_topics([topic]) if present else None
        if present:
            t = md[0] if md else None
            ok = (
                t is not None
                and t.get("error_code", 0) == 0
                and len(t.get("partitions", [])) == partitions
                and all(p.get("leader_id", p.get("leader", -1)) >= 0 for p in t["partitions"])
            )
        else:
            ok = topic not in admin.list_topics()
        if ok:
            return
        deadline.check()
        time.sleep(0.2)


def main():
    p = parser(__doc__)
    p.add_argument("--topic", default="kp-roundtrip")
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--keys", type=int, default=500)
    p.add_argument("--seconds", type=float, default=240)
    args = p.parse_args()
    deadline = Deadline(args.seconds, "the whole kafka-python round trip")

    admin = KafkaAdminClient(
        bootstrap_servers=args.bootstrap,
        client_id="holocron-e2e-admin",
        request_timeout_ms=TIMEOUT_MS,
    )
    try:
        admin.create_topics(
            [NewTopic(args.topic, num_partitions=args.partitions, replication_factor=1)],
            timeout_ms=TIMEOUT_MS,
        )
        wait_for_topic(admin, args.topic, args.partitions)

        produced, by_partition = produce(args, deadline)
        read_back(args, deadline, produced, by_partition)

        try:
            admin.create_topics(
                [NewTopic(args.topic, num_partitions=1, replication_factor=1)],
                timeout_ms=TIMEOUT_MS,
            )
            check(False, f"creating {args.topic} again succeeded")
        except TopicAlreadyExistsError:
            pass

        times_problems = offsets_for_times_problems(args, produced, by_partition)

        admin.delete_topics([args.topic], timeout_ms=TIMEOUT_MS)
        wait_for_topic(admin, args.topic, args.partitions, present=False)
    finally:
        admin.close()
    check(not times_problems, "offsets_for_times: " + "; ".join(times_problems))

    return {
        "client": "kafka-python",
        "topic": args.topic,
        "partitions": args.partitions,
        "records": args.records,
        "per_partition": {str(p): len(e) for p, e in by_partition.items()},
    }


def produce(args, deadline):
    prod = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        client_id="holocron-e2e-producer",
        acks="all",
        enable_idempotence=False,
        retries=0,
        linger_ms=5,
        request_timeout_ms=TIMEOUT_MS,
    )
    base_ts = int(time.time() * 1000) - 3_600_000
    produced, futures = [], []
    started = time.monotonic()
    try:
        for seq in range(args.records):
            key = f"key-{seq % args.keys}".encode()
            value = f"kp-{seq}-".encode() + b"y" * (seq % 61)
            ts = base_ts + seq
            produced.append((key, value, ts))
            futures.append(prod.send(args.topic, key=key, value=value, timestamp_ms=ts))
            if seq % 5000 == 0:
                deadline.check(f"sent {seq} of {args.records}")
        prod.flush(timeout=max(1.0, deadline.remaining()))
        by_partition = {p: [] for p in range(args.partitions)}
        key_partition = {}
        for seq, fut in enumerate(futures):
            md = fut.get(timeout=max(1.0, deadline.remaining()))
            by_partition.setdefault(md.partition, []).append((md.offset, seq))
            key = produced[seq][0]
            check(
                key_partition.setdefault(key, md.partition) == md.partition,
                f"key {key!r} went to partitions {key_partition[key]} and {md.partition}",
            )
    finally:
        prod.close(timeout=10)
    log(f"kafka-python produced {args.records} in {time.monotonic() - started:.1f}s")
    check(
        set(by_partition) == set(range(args.partitions)),
        f"records went to partitions {sorted(by_partition)}",
    )
    for part, entries in by_partition.items():
        offsets = [o for o, _ in entries]
        check(
            offsets == list(range(len(entries))),
            f"partition {part}: offsets in send order are not 0..{len(entries) - 1}",
        )
    return produced, by_partition


def read_back(args, deadline, produced, by_partition):
    cons = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        client_id="holocron-e2e-consumer",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=TIMEOUT_MS,
    )
    try:
        tps = [TopicPartition(args.topic, p) for p in range(args.partitions)]
        cons.assign(tps)
        cons.seek_to_beginning(*tps)
        ends = cons.end_offsets(tps, timeout_ms=TIMEOUT_MS)
        for tp in tps:
            want = len(by_partition[tp.partition])
            check(ends[tp] == want, f"partition {tp.partition}: end offset {ends[tp]}, sent {want}")
        got = {p: [] for p in range(args.partitions)}
        started = time.monotonic()
        while sum(len(v) for v in got.values()) < args.records:
            deadline.check(f"read {sum(len(v) for v in got.values())} of {args.records}")
            for tp, msgs in cons.poll(timeout_ms=500, max_records=5000).items():
                got[tp.partition].extend(msgs)
        log(f"kafka-python read {args.records} in {time.monotonic() - started:.1f}s")
        for part, entries in by_partition.items():
            msgs = got[part]
            check(
                len(msgs) == len(entries),
                f"partition {part}: read {len(msgs)}, sent {len(entries)}",
            )
            for (offset, seq), m in zip(entries, msgs):
                key, value, ts = produced[seq]
                check(
                    (m.offset, m.key, m.value, m.timestamp, m.timestamp_type)
                    == (offset, key, value, ts, 0),
                    f"partition {part}: expected offset {offset} {key!r}={value[:16]!r}… "
                    f"ts {ts} (create time), read offset {m.offset} {m.key!r}="
                    f"{(m.value or b'')[:16]!r}… ts {m.timestamp} type {m.timestamp_type}",
                )
    finally:
        cons.close()


def offsets_for_times_problems(args, produced, by_partition):
    """Each partition's middle record looked up by its timestamp; returns
    the wrong answers (empty when all are right)."""
    cons = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        client_id="holocron-e2e-times",
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=TIMEOUT_MS,
    )
    try:
        queries, want = {}, {}
        for part, entries in by_partition.items():
            if entries:
                mid_offset, mid_seq = entries[len(entries) // 2]
                tp = TopicPartition(args.topic, part)
                queries[tp] = produced[mid_seq][2]
                want[tp] = mid_offset
        found = cons.offsets_for_times(queries, timeout_ms=TIMEOUT_MS)
        problems = []
        for tp, offset in want.items():
            got = found[tp].offset if found.get(tp) else None
            if got != offset:
                problems.append(
                    f"partition {tp.partition} ts {queries[tp]}: got {got}, expected {offset}"
                )
        return problems
    finally:
        cons.close()


if __name__ == "__main__":
    run(main)
