#!/usr/bin/env python3
"""The disk's raw limit for commits: appends 8 KiB and fdatasyncs, as Postgres does for its WAL at each
commit, for --seconds in a file under --dir, and prints the latency percentiles. A commit waits for
one such sync; a slow one holds every commit queued behind it.

Not a test: it asserts nothing. Example: python3 Tests/Benchmarks/fsync_latency.py --dir /tmp --seconds 20
"""
import argparse
import json
import os
import tempfile
import time


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    block = os.urandom(8192)
    latencies = []
    fd, path = tempfile.mkstemp(dir=args.dir, prefix="fsync-latency-")
    try:
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            os.write(fd, block)
            started = time.monotonic()
            os.fdatasync(fd)
            latencies.append((time.monotonic() - started) * 1000)
            if len(latencies) % 4096 == 0:
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)
        os.unlink(path)
    print(json.dumps({
        "dir": args.dir, "syncs": len(latencies), "syncs_per_second": round(len(latencies) / args.seconds),
        "ms": {"p50": round(percentile(latencies, 0.5), 2), "p99": round(percentile(latencies, 0.99), 2),
               "p99.9": round(percentile(latencies, 0.999), 2), "max": round(max(latencies), 2)},
        "over_100_ms": sum(1 for v in latencies if v > 100),
    }, indent=2))


if __name__ == "__main__":
    main()
