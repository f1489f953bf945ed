#!/usr/bin/env python3
"""Reads every partition of a topic from the beginning up to its high
watermark with confluent-kafka and writes each record as one JSON line:

    {"p": partition, "o": offset, "k": key hex or null, "v": value hex or
     null, "ts": [timestamp type, ms], "h": [[name, value hex or null], ...]}

ordered by partition, then offset. The summary gives the record count and
each partition's high watermark.
"""

import json

import _confluent as cf
from _common import check, parser, run


def hexed(b):
    return None if b is None else b.hex()


def main():
    p = parser(__doc__)
    p.add_argument("--topic", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=120)
    args = p.parse_args()

    partitions = cf.topic_partitions(cf.admin_client(args.bootstrap), args.topic)
    check(partitions, f"topic {args.topic} is not in the broker's metadata")
    records, ends = cf.read_all(args.bootstrap, args.topic, partitions, args.seconds)
    total = 0
    with open(args.out, "w", encoding="ascii") as out:
        for part in partitions:
            for m in records[part]:
                line = {
                    "p": part,
                    "o": m["offset"],
                    "k": hexed(m["key"]),
                    "v": hexed(m["value"]),
                    "ts": list(m["timestamp"]),
                    "h": [[name, hexed(value)] for name, value in m["headers"]],
                }
                out.write(json.dumps(line, sort_keys=True) + "\n")
                total += 1
    return {
        "topic": args.topic,
        "records": total,
        "high_watermarks": {str(p): ends[p] for p in partitions},
    }


if __name__ == "__main__":
    run(main)
