#!/usr/bin/env python3
"""Produces numbered, keyed records with an idempotent confluent-kafka
producer (enable.idempotence=true, which forces acks=all and bounded
in-flight requests) and records every acknowledgement, for a test that kills
the broker with kill -9 and restarts it while this runs.

Record number n has key "key-<n % keys>" and value "<run>:<n>" (n zero-padded
to 9 digits), so values are unique and sort in produce order. Each
acknowledged record is appended to --acks-file as "<partition> <offset>
<value>", flushed after every poll, as produce.py does.

The producer keeps retrying through broker restarts (message.timeout.ms is
large): no record should fail. Errors reported through error_cb are kept;
a fatal one (librdkafka raises those on idempotence violations, e.g. an
unexpected OUT_OF_ORDER_SEQUENCE_NUMBER) stops producing and is reported as
"fatal_error" with librdkafka's exact code and reason. The run never fails
on delivery errors itself: the summary carries them and the test decides.

librdkafka's "msg" debug log says when a batch in flight may have been
stored before its connection broke ("MsgPossiblyPersisted"): such a batch is
retried with the same sequence numbers, and the broker must deduplicate it
if it was stored. Those events go to the summary ("possibly_persisted":
time, partition, first per-partition message id, message count), so the
test can tell which retries the broker had to deduplicate.
"""

import logging
import re
import time

from confluent_kafka import Producer

import _confluent as cf
from _common import Deadline, log, parser, run


# "t [3]: MessageSet with 4 message(s) (MsgId 1346, BaseSeq 1345)
#  encountered error: Local: Broker transport failure (actions ...,MsgPossiblyPersisted)"
POSSIBLY_PERSISTED = re.compile(
    r"(\S+) \[(\d+)\]: MessageSet with (\d+) message\(s\) \(MsgId (\d+), BaseSeq (-?\d+)\)"
    r" encountered error: (.*)"
)


class PossiblyPersisted(logging.Handler):
    """Keeps librdkafka's MsgPossiblyPersisted events; drops other debug lines."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.events = []
        self.unparsed = []

    def emit(self, record):
        text = record.getMessage()
        if "MsgPossiblyPersisted" not in text:
            return
        m = POSSIBLY_PERSISTED.search(text)
        if m is None:
            self.unparsed.append(text)
            return
        self.events.append(
            {
                "t": time.time(),
                "p": int(m.group(2)),
                "msgid": int(m.group(4)),
                "count": int(m.group(3)),
                "base_seq": int(m.group(5)),
                "error": m.group(6),
            }
        )


def main():
    p = parser(__doc__)
    p.add_argument("--topic", required=True)
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--run", default="idem", help="run label, the value prefix")
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--max-seconds", type=float, default=30)
    p.add_argument("--rate", type=float, default=0, help="records per second at most; 0: no limit")
    p.add_argument("--acks-file", required=True)
    p.add_argument("--message-timeout-ms", type=int, default=120_000)
    p.add_argument(
        "--flush-seconds",
        type=float,
        default=60,
        help="how long to wait for outstanding delivery reports at the end",
    )
    args = p.parse_args()

    acks_file = open(args.acks_file, "a", encoding="ascii")
    acked, errors, client_errors = 0, [], []
    fatal = None

    def on_delivery(err, msg):
        nonlocal acked
        if err is not None:
            errors.append(f"{err.name()}: {err.str()}")
            return
        acked += 1
        acks_file.write(f"{msg.partition()} {msg.offset()} {msg.value().decode()}\n")

    def on_error(err):
        nonlocal fatal
        text = f"{err.name()} ({err.code()}): {err.str()}"
        if err.fatal():
            fatal = text
            log(f"FATAL from librdkafka: {text}")
        else:
            client_errors.append(text)

    persisted = PossiblyPersisted()
    rdkafka_log = logging.getLogger("librdkafka")
    rdkafka_log.propagate = False
    rdkafka_log.setLevel(logging.DEBUG)
    rdkafka_log.addHandler(persisted)
    prod = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": args.message_timeout_ms,
            "request.timeout.ms": 10_000,
            "retry.backoff.ms": 100,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
            "error_cb": on_error,
            "debug": "msg",
        },
        logger=rdkafka_log,
    )
    budget = Deadline(args.max_seconds, "producing")
    started = time.monotonic()
    sent = 0
    remaining = None
    try:
        while sent < args.records and not budget.expired() and fatal is None:
            if args.rate and sent > args.rate * (time.monotonic() - started):
                prod.poll(0.005)
                acks_file.flush()
                continue
            try:
                prod.produce(
                    args.topic,
                    key=f"key-{sent % args.keys}".encode(),
                    value=f"{args.run}:{sent:09d}".encode(),
                    on_delivery=on_delivery,
                )
                sent += 1
            except BufferError:
                prod.poll(0.05)
            if sent % 200 == 0:
                prod.poll(0)
                acks_file.flush()
            if sent % 20_000 == 0 and sent:
                cf.log_progress("sent", sent, args.records, started)
        remaining = prod.flush(args.flush_seconds)
    finally:
        acks_file.flush()
        acks_file.close()
    log(
        f"sent {sent}, acknowledged {acked}, delivery errors {len(errors)}, "
        f"unresolved {remaining}, client errors {len(client_errors)}, fatal {fatal}"
    )
    return {
        "topic": args.topic,
        "sent": sent,
        "acked": acked,
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:5],
        "client_errors": sorted(set(client_errors))[:10],
        "fatal_error": fatal,
        "possibly_persisted": persisted.events[:500],
        "possibly_persisted_unparsed": persisted.unparsed[:5],
        "unresolved": remaining,
        "seconds": round(time.monotonic() - started, 2),
    }


if __name__ == "__main__":
    run(main)
