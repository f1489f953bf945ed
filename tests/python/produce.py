#!/usr/bin/env python3
"""Produces numbered, keyed records with confluent-kafka (acks=all, no
retries, not idempotent) and records every acknowledgement.

Record number n has key "key-<n % keys>" and value "<run>:<n>" (n zero-padded
to 9 digits), so values are unique across runs and sort in produce order.
Each acknowledged record is appended to --acks-file as soon as its delivery
report arrives, one line "<partition> <offset> <value>", flushed after every
poll: a reader sees every acknowledgement the broker gave, even if the
broker is killed mid-run.

Sends at most --rate records per second if given (so that a test can act
while the load is still running). Stops after --records records or
--max-seconds, whichever comes first, then
waits (bounded) for outstanding delivery reports. By default any delivery
error fails the run; with --allow-errors (the crash test, whose broker is
killed under it) errors are only counted.
"""

import time

import _confluent as cf
from _common import Deadline, check, log, parser, run


def main():
    p = parser(__doc__)
    p.add_argument("--topic", required=True)
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--run", default="r1", help="run label, the value prefix")
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--max-seconds", type=float, default=60)
    p.add_argument("--rate", type=float, default=0, help="records per second at most; 0: no limit")
    p.add_argument("--acks-file", help="append '<partition> <offset> <value>' per ack")
    p.add_argument("--allow-errors", action="store_true")
    p.add_argument(
        "--message-timeout-ms",
        type=int,
        default=30_000,
        help="how long librdkafka keeps trying to deliver a record",
    )
    args = p.parse_args()

    acks_file = open(args.acks_file, "a", encoding="ascii") if args.acks_file else None
    acked, errors = 0, []

    def on_delivery(err, msg):
        nonlocal acked
        if err is not None:
            errors.append(str(err))
            return
        acked += 1
        if acks_file:
            acks_file.write(f"{msg.partition()} {msg.offset()} {msg.value().decode()}\n")

    prod = cf.producer(
        args.bootstrap,
        **{
            "message.timeout.ms": args.message_timeout_ms,
            "request.timeout.ms": min(args.message_timeout_ms, 30_000),
        },
    )
    budget = Deadline(args.max_seconds, "producing")
    started = time.monotonic()
    sent = 0
    try:
        while sent < args.records and not budget.expired():
            if args.rate and sent > args.rate * (time.monotonic() - started):
                prod.poll(0.005)
                continue
            value = f"{args.run}:{sent:09d}".encode()
            try:
                prod.produce(
                    args.topic,
                    key=f"key-{sent % args.keys}".encode(),
                    value=value,
                    on_delivery=on_delivery,
                )
                sent += 1
            except BufferError:
                prod.poll(0.05)
            if sent % 500 == 0:
                prod.poll(0)
                if acks_file:
                    acks_file.flush()
            if sent % 50_000 == 0 and sent:
                cf.log_progress("sent", sent, args.records, started)
        # Outstanding records either get delivered or time out within
        # message.timeout.ms; allow that plus a margin.
        remaining = prod.flush(args.message_timeout_ms / 1000 + 10)
    finally:
        if acks_file:
            acks_file.flush()
            acks_file.close()
    log(f"sent {sent}, acknowledged {acked}, errors {len(errors)}, unresolved {remaining}")
    if not args.allow_errors:
        check(not errors, f"{len(errors)} delivery errors, first: {errors[:3]}")
        check(remaining == 0, f"{remaining} records neither delivered nor failed")
        check(acked == sent, f"acknowledged {acked} of {sent}")
    return {
        "topic": args.topic,
        "sent": sent,
        "acked": acked,
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:5],
        "unresolved": remaining,
        "seconds": round(time.monotonic() - started, 2),
    }


if __name__ == "__main__":
    run(main)
