#!/usr/bin/env python3
"""confluent-kafka (librdkafka) over TLS.

--mode roundtrip: create the topic with the AdminClient, produce --records
keyed records with acks=all, then read every partition from the beginning
and check that exactly those records come back at their delivered offsets.

--mode refused: the broker must refuse this client (no certificate when
mTLS is required, a certificate from another CA, an expired certificate):
a metadata request must fail within --seconds, and no topic may be listed.

TLS settings: --ca (always), --cert and --key (mTLS). librdkafka checks the
broker's certificate against the host it dials (here 127.0.0.1).
"""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from _common import CheckFailed, Deadline, check, log, parser, run


def tls_conf(args):
    conf = {
        "bootstrap.servers": args.bootstrap,
        "security.protocol": "ssl",
        "ssl.ca.location": args.ca,
        "ssl.endpoint.identification.algorithm": "https",
    }
    if args.cert:
        conf["ssl.certificate.location"] = args.cert
        conf["ssl.key.location"] = args.key
    return conf


def roundtrip(args):
    deadline = Deadline(args.seconds, "the TLS round trip")
    conf = tls_conf(args)
    admin = AdminClient(conf)
    futures = admin.create_topics(
        [NewTopic(args.topic, num_partitions=args.partitions, replication_factor=1)],
        operation_timeout=30,
        request_timeout=30,
    )
    try:
        futures[args.topic].result(timeout=30)
    except KafkaException as e:
        raise CheckFailed(f"CreateTopics {args.topic} over TLS failed: {e}") from e

    delivered = {}
    errors = []

    def on_delivery(err, msg):
        seq = int(msg.value().split(b"-")[1])
        if err is not None:
            errors.append(f"seq {seq}: {err}")
        else:
            delivered[seq] = (msg.partition(), msg.offset())

    prod = Producer(dict(conf, acks="all", **{"enable.idempotence": False, "linger.ms": 5}))
    for seq in range(args.records):
        while True:
            try:
                prod.produce(
                    args.topic,
                    key=f"k{seq % 17}".encode(),
                    value=f"v-{seq}-tls".encode(),
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                deadline.check("the producer queue stayed full")
                prod.poll(0.05)
        prod.poll(0)
    remaining = prod.flush(max(1.0, deadline.remaining()))
    check(remaining == 0, f"{remaining} records undelivered after flush")
    check(not errors, f"{len(errors)} delivery errors, first: {errors[:3]}")
    check(len(delivered) == args.records, f"{len(delivered)} of {args.records} delivered")
    log(f"produced {args.records} records over TLS")

    expected = {}
    for seq, (part, offset) in delivered.items():
        expected[(part, offset)] = f"v-{seq}-tls".encode()
    cons = Consumer(
        dict(
            conf,
            **{
                "group.id": "holocron-e2e-unused-group",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": True,
            },
        )
    )
    try:
        cons.assign(
            [TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in range(args.partitions)]
        )
        got = {}
        eof = set()
        while len(eof) < args.partitions or len(got) < args.records:
            deadline.check(f"read {len(got)} of {args.records} records back")
            for msg in cons.consume(num_messages=1000, timeout=0.5):
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        eof.add(msg.partition())
                        continue
                    raise CheckFailed(f"consume error: {err}")
                got[(msg.partition(), msg.offset())] = msg.value()
    finally:
        cons.close()
    check(got == expected, f"read back {len(got)} records, not the {len(expected)} produced")
    return {"mode": "roundtrip", "records": len(got), "mtls": bool(args.cert)}


def refused(args):
    errors = []
    conf = dict(tls_conf(args), error_cb=lambda e: errors.append(str(e)))
    admin = AdminClient(conf)
    started = time.monotonic()
    try:
        md = admin.list_topics(timeout=args.seconds)
    except KafkaException as e:
        log(f"metadata failed as expected after {time.monotonic() - started:.1f}s: {e}")
        return {"mode": "refused", "refused": True, "errors": errors[:5]}
    raise CheckFailed(f"the broker served this client: topics {sorted(md.topics)}")


def main():
    p = parser(__doc__)
    p.add_argument("--mode", choices=["roundtrip", "refused"], default="roundtrip")
    p.add_argument("--ca", required=True, help="CA certificate (PEM)")
    p.add_argument("--cert", help="client certificate (PEM), for mTLS")
    p.add_argument("--key", help="client key (PEM), for mTLS")
    p.add_argument("--topic", default="cf-tls")
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=60, help="time budget")
    args = p.parse_args()
    check(bool(args.cert) == bool(args.key), "--cert and --key go together")
    return roundtrip(args) if args.mode == "roundtrip" else refused(args)


if __name__ == "__main__":
    run(main)
