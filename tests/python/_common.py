"""Shared helpers for the end-to-end client scripts in this directory.

Every script takes --bootstrap, prints exactly one line of JSON on stdout on
success and exits 1 with a one-line reason on stderr on any failure. Every
loop is bounded by a Deadline.
"""

import argparse
import json
import sys
import time
import traceback


class CheckFailed(Exception):
    """A check against the broker failed; the message says which and why."""


def check(condition, message):
    """Raises CheckFailed(message) unless condition holds."""
    if not condition:
        raise CheckFailed(message)


class Deadline:
    """A point in time after which a bounded loop gives up."""

    def __init__(self, seconds, what):
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end

    def check(self, detail=""):
        """Raises CheckFailed once the deadline has passed."""
        if self.expired():
            raise CheckFailed(
                f"timed out after {self.seconds}s: {self.what}"
                + (f" ({detail})" if detail else "")
            )


def parser(description):
    """An ArgumentParser with the common --bootstrap option."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bootstrap", required=True, help="HOST:PORT of the broker")
    return p


def run(main):
    """Runs main(); prints its dict result as one JSON line, or fails cleanly."""
    try:
        result = main()
    except CheckFailed as e:
        print(f"FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - any error is a failure, with context
        traceback.print_exc(file=sys.stderr)
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(json.dumps(result, sort_keys=True), flush=True)
    sys.exit(0)


def log(message):
    """Progress messages go to stderr; stdout carries only the summary."""
    print(message, file=sys.stderr, flush=True)
