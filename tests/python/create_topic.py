#!/usr/bin/env python3
"""Creates a topic with confluent-kafka's AdminClient and waits until the
broker's metadata shows every partition with a leader."""

import _confluent as cf
from _common import parser, run


def main():
    p = parser(__doc__)
    p.add_argument("--topic", required=True)
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--replication-factor", type=int, default=1)
    p.add_argument(
        "--config", action="append", default=[], metavar="NAME=VALUE", help="topic config"
    )
    args = p.parse_args()
    config = dict(c.split("=", 1) for c in args.config)
    cf.create_topic(
        args.bootstrap,
        args.topic,
        args.partitions,
        config,
        replication_factor=args.replication_factor,
    )
    return {"topic": args.topic, "partitions": args.partitions, "config": config}


if __name__ == "__main__":
    run(main)
