#!/usr/bin/env python3
"""confluent-kafka AdminClient against the broker.

Runs every check below, even after one fails, and exits non-zero listing
all failures:
- create a topic with 3 partitions and retention.ms; it appears in metadata;
- create it again: TOPIC_ALREADY_EXISTS (36);
- create with invalid names (space, slash, '.', '..', 250 chars, '$'):
  INVALID_TOPIC_EXCEPTION (17) each, and none appears in metadata;
- create with 0 partitions: INVALID_PARTITIONS (37);
- create with a non-numeric retention.ms: INVALID_CONFIG (40);
- describe_configs shows the retention.ms given at creation;
- incremental_alter_configs SET retention.ms; describe_configs shows it;
- create_partitions 3 -> 5; metadata shows 5 partitions;
- describe_cluster: one node, on the bootstrap port;
- delete_topics; it leaves metadata; deleting it again:
  UNKNOWN_TOPIC_OR_PART (3).
"""

import json
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

import _confluent as cf
from _common import CheckFailed, Deadline, check, log, parser

TIMEOUT = 30


def error_code(future):
    """The Kafka error code a future fails with, or None if it succeeds."""
    try:
        future.result(timeout=TIMEOUT)
        return None
    except KafkaException as e:
        return e.args[0].code()


def expect_error(future, code, what):
    got = error_code(future)
    check(
        got == code,
        f"{what}: expected error {KafkaError(code).name()} ({code}), got "
        + ("success" if got is None else f"{KafkaError(got).name()} ({got})"),
    )


def config_value(admin, topic, name):
    res = ConfigResource(ResourceType.TOPIC, topic)
    entries = admin.describe_configs([res], request_timeout=TIMEOUT)[res].result(timeout=TIMEOUT)
    check(name in entries, f"describe_configs {topic}: no {name} among {sorted(entries)[:20]}")
    return entries[name].value


def wait_until(what, predicate, seconds=TIMEOUT):
    deadline = Deadline(seconds, what)
    while not predicate():
        deadline.check()
        time.sleep(0.1)


class Checks:
    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.admin = cf.admin_client(bootstrap)
        self.topic = "admin-topic"
        self.passed, self.failed = [], []

    def run(self, name, fn):
        try:
            fn()
            self.passed.append(name)
            log(f"ok   {name}")
        except CheckFailed as e:
            self.failed.append(f"{name}: {e}")
            log(f"FAIL {name}: {e}")
        except Exception as e:  # noqa: BLE001 - report and go on with the next check
            self.failed.append(f"{name}: {type(e).__name__}: {e}")
            log(f"FAIL {name}: {type(e).__name__}: {e}")

    def create(self):
        cf.create_topic(self.bootstrap, self.topic, 3, {"retention.ms": "3600000"})

    def create_existing(self):
        fut = self.admin.create_topics(
            [NewTopic(self.topic, num_partitions=3, replication_factor=1)],
            request_timeout=TIMEOUT,
        )[self.topic]
        expect_error(fut, KafkaError.TOPIC_ALREADY_EXISTS, f"creating {self.topic} again")

    def create_invalid_names(self):
        names = ["bad name", "bad/name", ".", "..", "x" * 250, "bad$name"]
        futures = self.admin.create_topics(
            [NewTopic(n, num_partitions=1, replication_factor=1) for n in names],
            request_timeout=TIMEOUT,
        )
        problems = []
        for name in names:
            got = error_code(futures[name])
            if got != KafkaError.TOPIC_EXCEPTION:
                problems.append(f"{name[:20]!r}: {'success' if got is None else got}")
        check(not problems, f"expected INVALID_TOPIC_EXCEPTION (17) for each of: {problems}")
        listed = set(self.admin.list_topics(timeout=TIMEOUT).topics)
        stored = [n[:20] for n in names if n in listed]
        check(not stored, f"invalid topics appear in metadata: {stored}")

    def create_zero_partitions(self):
        name = "admin-zero-partitions"
        fut = self.admin.create_topics(
            [NewTopic(name, num_partitions=0, replication_factor=1)], request_timeout=TIMEOUT
        )[name]
        expect_error(fut, KafkaError.INVALID_PARTITIONS, "creating a topic with 0 partitions")

    def create_invalid_config(self):
        name = "admin-invalid-config"
        fut = self.admin.create_topics(
            [NewTopic(name, 1, 1, config={"retention.ms": "not-a-number"})],
            request_timeout=TIMEOUT,
        )[name]
        expect_error(fut, KafkaError.INVALID_CONFIG, "creating with retention.ms=not-a-number")

    def describe_configs(self):
        got = config_value(self.admin, self.topic, "retention.ms")
        check(got == "3600000", f"retention.ms is {got!r}, created with '3600000'")

    def alter_configs(self):
        res = ConfigResource(
            ResourceType.TOPIC,
            self.topic,
            incremental_configs=[
                ConfigEntry(
                    "retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET
                )
            ],
        )
        self.admin.incremental_alter_configs([res], request_timeout=TIMEOUT)[res].result(
            timeout=TIMEOUT
        )
        got = config_value(self.admin, self.topic, "retention.ms")
        check(got == "7200000", f"retention.ms is {got!r} after setting '7200000'")

    def create_partitions(self):
        fut = self.admin.create_partitions(
            [NewPartitions(self.topic, 5)], request_timeout=TIMEOUT
        )[self.topic]
        fut.result(timeout=TIMEOUT)
        cf.wait_for_topic(self.admin, self.topic, 5, TIMEOUT)

    def describe_cluster(self):
        result = self.admin.describe_cluster(request_timeout=TIMEOUT).result(timeout=TIMEOUT)
        ports = [n.port for n in result.nodes]
        want = int(self.bootstrap.rsplit(":", 1)[1])
        check(ports == [want], f"describe_cluster nodes on ports {ports}, expected [{want}]")

    def delete(self):
        fut = self.admin.delete_topics([self.topic], operation_timeout=TIMEOUT)[self.topic]
        fut.result(timeout=TIMEOUT)
        wait_until(
            f"{self.topic} to leave metadata",
            lambda: self.topic not in self.admin.list_topics(timeout=TIMEOUT).topics,
        )
        fut = self.admin.delete_topics([self.topic], operation_timeout=TIMEOUT)[self.topic]
        expect_error(fut, KafkaError.UNKNOWN_TOPIC_OR_PART, "deleting a deleted topic")


def main():
    args = parser(__doc__).parse_args()
    c = Checks(args.bootstrap)
    c.run("create", c.create)
    c.run("create existing", c.create_existing)
    c.run("create invalid names", c.create_invalid_names)
    c.run("create zero partitions", c.create_zero_partitions)
    c.run("create invalid config", c.create_invalid_config)
    c.run("describe configs", c.describe_configs)
    c.run("incremental alter configs", c.alter_configs)
    c.run("create partitions", c.create_partitions)
    c.run("describe cluster", c.describe_cluster)
    c.run("delete", c.delete)
    result = {"client": "confluent-kafka", "passed": c.passed, "failed": c.failed}
    print(json.dumps(result, sort_keys=True), flush=True)
    if c.failed:
        log(f"FAILED: {len(c.failed)} admin checks failed: " + "; ".join(c.failed))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
