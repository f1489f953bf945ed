#!/usr/bin/env python3
"""A group resumes from its committed offsets after a broker restart (or,
on a cluster, after its coordinator is killed).

  before  produce --records records on an 8-partition topic (replication
          factor --replication-factor), consume half of them with synchronous
          commits, close; print what was committed and the coordinator's id.
  after   (the broker has restarted) the group is listed and described as
          Empty with those committed offsets; a new consumer in the group
          starts exactly at them and reads exactly the other half.

Both phases print one JSON line; exit 1 with a reason on any failure.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition, ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient, NewTopic


def fail(reason, **extra):
    print(json.dumps(dict(ok=False, reason=reason, **extra)), flush=True)
    sys.exit(1)


def consumer(args):
    return Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": "restart-test",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    })


def committed_offsets(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    req = ConsumerGroupTopicPartitions(args.group)
    res = admin.list_consumer_group_offsets([req])[args.group].result(timeout=10)
    return {tp.partition: tp.offset for tp in res.topic_partitions if tp.offset >= 0}


def before(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    admin.create_topics([NewTopic(args.topic, num_partitions=8, replication_factor=args.replication_factor)])[args.topic].result(timeout=10)
    p = Producer({"bootstrap.servers": args.bootstrap})
    for i in range(args.records):
        p.produce(args.topic, key=str(i), value=str(i))
    if p.flush(15):
        fail("produce did not finish")
    c = consumer(args)
    c.subscribe([args.topic])
    seen = []
    deadline = time.time() + 30
    while len(seen) < args.records // 2 and time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        c.commit(message=m, asynchronous=False)
        seen.append([m.partition(), m.offset()])
    c.close()
    if len(seen) < args.records // 2:
        fail("did not consume half the records", consumed=len(seen))
    committed = committed_offsets(args)
    d = admin.describe_consumer_groups([args.group])[args.group].result(timeout=10)
    print(json.dumps(dict(ok=True, consumed=seen, committed=committed,
                          coordinator=d.coordinator.id)), flush=True)


def after(args):
    expected = {int(k): v for k, v in json.loads(args.committed).items()}
    already = {tuple(x) for x in json.loads(args.consumed)}
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    # After a coordinator failover the survivors need an election first.
    deadline = time.time() + 30
    while True:
        groups = {g.group_id: g for g in admin.list_consumer_groups().result(timeout=10).valid}
        if args.group in groups:
            break
        if time.time() > deadline:
            fail("group not listed after restart", listed=sorted(groups))
        time.sleep(0.5)
    d = admin.describe_consumer_groups([args.group])[args.group].result(timeout=10)
    state = str(d.state).split(".")[-1]
    if state != "EMPTY" or d.members:
        fail("group should be Empty without members after restart", state=state)
    got = committed_offsets(args)
    if got != expected:
        fail("committed offsets changed across the restart", before=expected, after=got)
    c = consumer(args)
    first = {}
    c.subscribe([args.topic])
    seen = []
    deadline = time.time() + 30
    while len(seen) < args.records - len(already) and time.time() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        first.setdefault(m.partition(), m.offset())
        c.commit(message=m, asynchronous=False)
        seen.append((m.partition(), m.offset()))
    # Anything more would be a re-read.
    extra = c.poll(1.0)
    c.close()
    for p, o in first.items():
        if o != expected.get(p, 0):
            fail("did not resume at the committed offset", partition=p, started=o, committed=expected.get(p, 0))
    both = already | set(seen)
    if len(seen) != len(set(seen)) or already & set(seen) or len(both) != args.records:
        fail("records not read exactly once across the restart",
             before=len(already), after=len(seen), union=len(both))
    if extra is not None and not extra.error():
        fail("read a record twice", partition=extra.partition(), offset=extra.offset())
    print(json.dumps(dict(ok=True, resumed=first, after=len(seen))), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["before", "after"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--records", type=int, default=400)
    ap.add_argument("--replication-factor", type=int, default=1)
    ap.add_argument("--committed", default="{}")
    ap.add_argument("--consumed", default="[]")
    args = ap.parse_args()
    before(args) if args.phase == "before" else after(args)


if __name__ == "__main__":
    main()
