#!/usr/bin/env python3
"""Consumer-group rebalances with real clients, driven phase by phase.

Driver (default): starts group members as child processes of this script
(`--member`), produces a batch per phase, and after every membership change
waits until DescribeGroups shows the group Stable with the expected members
before producing the next batch. Phases:

  1. one member                          (first join)
  2. three more members join             (joins -> rebalance)
  3. one member leaves (close: LeaveGroup)
  4. one member is killed (SIGKILL)      (session timeout -> rebalance)

Members commit every record synchronously and only then report it, so
across the whole run every produced record must be reported exactly once.
With --strategy cooperative-sticky the members also report incremental
assignments, and a member must keep some partitions through a rebalance.

Prints one JSON summary line; exits 1 with a reason on any failure.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

TIMEOUT = 45.0


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def emit(**kw):
    print(json.dumps(kw), flush=True)


# --------------------------------------------------------------- members


def run_confluent_member(args):
    from confluent_kafka import Consumer

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    conf = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": args.name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "max.poll.interval.ms": 20000,
        "partition.assignment.strategy": args.strategy,
    }
    c = Consumer(conf)

    def on_assign(consumer, parts):
        emit(ev="assign", m=args.name, parts=sorted(p.partition for p in parts))

    def on_revoke(consumer, parts):
        emit(ev="revoke", m=args.name, parts=sorted(p.partition for p in parts))

    c.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    emit(ev="started", m=args.name)
    while not stop:
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            emit(ev="error", m=args.name, error=str(msg.error()))
            continue
        try:
            c.commit(message=msg, asynchronous=False)
        except Exception as e:  # a failed commit: the record is not processed
            emit(ev="commit_failed", m=args.name, error=str(e))
            continue
        emit(ev="rec", m=args.name, p=msg.partition(), o=msg.offset())
    c.close()
    emit(ev="closed", m=args.name)


def run_kafka_python_member(args):
    from kafka import KafkaConsumer, ConsumerRebalanceListener, OffsetAndMetadata
    from kafka.errors import CommitFailedError, KafkaError

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))

    class Listener(ConsumerRebalanceListener):
        def on_partitions_assigned(self, assigned):
            emit(ev="assign", m=args.name, parts=sorted(p.partition for p in assigned))

        def on_partitions_revoked(self, revoked):
            emit(ev="revoke", m=args.name, parts=sorted(p.partition for p in revoked))

    c = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        client_id=args.name,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        max_poll_interval_ms=20000,
    )
    c.subscribe([args.topic], listener=Listener())
    emit(ev="started", m=args.name)
    while not stop:
        batches = c.poll(timeout_ms=200)
        for tp, msgs in batches.items():
            for msg in msgs:
                try:
                    c.commit({tp: OffsetAndMetadata(msg.offset + 1, None, -1)})
                except (CommitFailedError, KafkaError) as e:
                    emit(ev="commit_failed", m=args.name, error=str(e))
                    break
                emit(ev="rec", m=args.name, p=msg.partition, o=msg.offset)
    c.close()
    emit(ev="closed", m=args.name)


# ---------------------------------------------------------------- driver


class Member:
    def __init__(self, args, name):
        self.name = name
        cmd = [sys.executable, os.path.abspath(__file__), "--member", "--name", name,
               "--bootstrap", args.bootstrap, "--topic", args.topic, "--group", args.group,
               "--client", args.client, "--strategy", args.strategy]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.events = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def stop(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(timeout=5)


def fail(reason, **extra):
    print(json.dumps(dict(ok=False, reason=reason, **extra)), flush=True)
    sys.exit(1)


def wait_for(what, cond, timeout=TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    fail(f"timed out waiting for {what}")


def describe(admin, group):
    d = admin.describe_consumer_groups([group])[group].result(timeout=10)
    members = {m.client_id: sorted(tp.partition for tp in m.assignment.topic_partitions) for m in d.members}
    return str(d.state).split(".")[-1], members


def drive(args):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    admin.create_topics([NewTopic(args.topic, num_partitions=args.partitions, replication_factor=1)])[args.topic].result(timeout=10)
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    produced = set()

    def produce(phase, n):
        def on_delivery(err, msg):
            if err is None:
                produced.add((msg.partition(), msg.offset()))
            else:
                log("delivery failed", err)
        for i in range(n):
            producer.produce(args.topic, key=f"{phase}-{i}", value=f"{phase}-{i}", on_delivery=on_delivery)
        producer.flush(15)

    members = {}

    def all_events():
        return [e for m in members.values() for e in m.events]

    def processed():
        return [(e["p"], e["o"]) for e in all_events() if e["ev"] == "rec"]

    def stable_with(names):
        def check():
            state, described = describe(admin, args.group)
            if state != "STABLE" or set(described) != set(names):
                return False
            parts = sorted(p for ps in described.values() for p in ps)
            return parts == list(range(args.partitions))
        return check

    def phase(name, n, live):
        wait_for(f"group stable with {sorted(live)} ({name})", stable_with(live))
        produce(name, n)
        wait_for(f"every record consumed after {name}",
                 lambda: produced <= set(processed()))
        log(f"phase {name}: ok, {len(produced)} records so far")

    live = ["m1"]
    members["m1"] = Member(args, "m1")
    phase("first-join", args.records, live)

    for name in ["m2", "m3", "m4"][: args.members - 1]:
        members[name] = Member(args, name)
        live.append(name)
    phase("joins", args.records, live)

    leaver = live[1]
    members[leaver].stop(signal.SIGTERM)
    live.remove(leaver)
    if not any(e["ev"] == "closed" for e in members[leaver].events):
        fail(f"{leaver} did not close cleanly")
    phase("leave", args.records, live)

    victim = live[-1]
    members[victim].stop(signal.SIGKILL)
    live.remove(victim)
    phase("kill", args.records, live)

    state, described = describe(admin, args.group)
    for m in list(members.values()):
        m.stop(signal.SIGTERM)

    seen = processed()
    dups = len(seen) - len(set(seen))
    if dups:
        fail("records processed more than once", duplicates=dups)
    if set(seen) != produced:
        fail("processed records differ from produced ones",
             missing=len(produced - set(seen)), extra=len(set(seen) - produced))

    incremental = None
    if args.strategy == "cooperative-sticky":
        # Some member must have given up only part of what it owned.
        incremental = False
        for m in members.values():
            owned = set()
            for e in m.events:
                if e["ev"] == "assign":
                    owned |= set(e["parts"])
                elif e["ev"] == "revoke":
                    if e["parts"] and set(e["parts"]) < owned:
                        incremental = True
                    owned -= set(e["parts"])
        if not incremental:
            fail("no incremental (partial) revocation seen with cooperative-sticky")

    print(json.dumps(dict(ok=True, records=len(produced), final_state=state,
                          final_assignment=described, incremental=incremental)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--client", choices=["confluent", "kafka-python"], default="confluent")
    ap.add_argument("--strategy", default="range")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--records", type=int, default=200)
    ap.add_argument("--member", action="store_true")
    ap.add_argument("--name", default="m")
    args = ap.parse_args()
    if args.member:
        if args.client == "confluent":
            run_confluent_member(args)
        else:
            run_kafka_python_member(args)
    else:
        drive(args)


if __name__ == "__main__":
    main()
