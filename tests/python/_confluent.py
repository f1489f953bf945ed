"""confluent-kafka (librdkafka) helpers shared by the client scripts.

Consumers use manual assignment from the beginning of each partition, with
auto-commit off and a group id that is never joined: the broker under test
need not implement consumer groups for these scripts.
"""

import time

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic

from _common import CheckFailed, Deadline, check, log

UNUSED_GROUP = "holocron-e2e-unused-group"


def admin_client(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def producer(bootstrap, **overrides):
    """An acks=all, non-idempotent producer with no retries: any error fails
    the record instead of being retried, so produce order is offset order."""
    conf = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": False,
        "retries": 0,
        "linger.ms": 5,
    }
    conf.update(overrides)
    return Producer(conf)


def consumer(bootstrap, **overrides):
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": UNUSED_GROUP,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
    }
    conf.update(overrides)
    return Consumer(conf)


def topic_partitions(client, topic, timeout=10.0):
    """The partition ids of topic in the broker's metadata, or None."""
    md = client.list_topics(topic=topic, timeout=timeout)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return None
    return sorted(t.partitions)


def wait_for_topic(client, topic, partitions, seconds=30):
    """Waits until metadata shows topic with the given partition count, each
    partition with a leader."""
    deadline = Deadline(seconds, f"metadata for {topic} with {partitions} partitions")
    last = None
    while True:
        md = client.list_topics(topic=topic, timeout=max(1.0, deadline.remaining()))
        t = md.topics.get(topic)
        if t is not None and t.error is None:
            leaders = [p.leader for p in t.partitions.values()]
            last = f"{len(leaders)} partitions, leaders {sorted(set(leaders))}"
            if len(leaders) == partitions and all(leader >= 0 for leader in leaders):
                return
        else:
            last = f"topic error {t.error if t else 'absent'}"
        deadline.check(last)
        time.sleep(0.1)


def create_topic(bootstrap, topic, partitions, config=None, seconds=30, replication_factor=1):
    """Creates topic with AdminClient and waits until it is in metadata."""
    admin = admin_client(bootstrap)
    futures = admin.create_topics(
        [
            NewTopic(
                topic,
                num_partitions=partitions,
                replication_factor=replication_factor,
                config=config or {},
            )
        ],
        operation_timeout=seconds,
        request_timeout=seconds,
    )
    try:
        futures[topic].result(timeout=seconds)
    except KafkaException as e:
        raise CheckFailed(f"CreateTopics {topic} ({partitions} partitions) failed: {e}") from e
    wait_for_topic(admin, topic, partitions, seconds)
    return admin


def high_watermarks(cons, topic, partitions, seconds=30):
    """{partition: (low, high)} via ListOffsets."""
    marks = {}
    for p in partitions:
        try:
            marks[p] = cons.get_watermark_offsets(TopicPartition(topic, p), timeout=seconds)
        except KafkaException as e:
            raise CheckFailed(f"ListOffsets for {topic}[{p}] failed: {e}") from e
        check(marks[p] is not None, f"no watermarks for {topic}[{p}]")
    return marks


def read_all(bootstrap, topic, partitions, seconds=120):
    """Reads every partition from the beginning up to its high watermark at
    the time of the call. Returns ({partition: [message]}, {partition: hwm}).

    A message is a dict: offset, key, value (bytes or None), timestamp
    (type, ms), headers (list of (name, bytes)).
    """
    deadline = Deadline(seconds, f"reading {topic} to its high watermarks")
    cons = consumer(bootstrap)
    try:
        marks = high_watermarks(cons, topic, partitions)
        ends = {p: high for p, (_low, high) in marks.items()}
        records = {p: [] for p in partitions}
        pending = {p for p in partitions if ends[p] > 0}
        cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        next_offset = {p: None for p in partitions}
        while pending:
            deadline.check(
                "still reading: "
                + ", ".join(
                    f"p{p} at {next_offset[p]} of {ends[p]}" for p in sorted(pending)
                )
            )
            for msg in cons.consume(num_messages=5000, timeout=0.5):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise CheckFailed(f"consume error on {topic}[{msg.partition()}]: {err}")
                p = msg.partition()
                records[p].append(
                    {
                        "offset": msg.offset(),
                        "key": msg.key(),
                        "value": msg.value(),
                        "timestamp": msg.timestamp(),
                        "headers": msg.headers() or [],
                    }
                )
                next_offset[p] = msg.offset() + 1
                if next_offset[p] >= ends[p]:
                    pending.discard(p)
        return records, ends
    finally:
        cons.close()


def flush_bounded(prod, seconds):
    """Flushes the producer; fails if records are still queued afterwards."""
    remaining = prod.flush(seconds)
    check(remaining == 0, f"{remaining} records still undelivered after flush({seconds}s)")


def produce_bounded(prod, deadline, topic, **kwargs):
    """produce() that waits (bounded) for queue space instead of failing."""
    while True:
        try:
            prod.produce(topic, **kwargs)
            return
        except BufferError:
            deadline.check("the producer queue stayed full")
            prod.poll(0.05)


def log_progress(what, done, total, started):
    log(f"{what}: {done}/{total} after {time.monotonic() - started:.1f}s")
