#!/usr/bin/env python3
"""Reads a Prometheus text exposition on stdin and prints, for each histogram series whose name
matches one of the arguments (a prefix), its count, mean, and p50 / p99 estimated as Prometheus's
histogram_quantile does (linear within the bucket). For the benchmarks' "where the time goes"."""
import re
import sys
from collections import defaultdict

LINE = re.compile(r'^(\w+)_(bucket|sum|count)(\{[^}]*\})? ([0-9.eE+-]+|\+Inf|NaN)$')


def quantile(q, buckets, count):
    if count == 0:
        return float("nan")
    rank = q * count
    previous_bound, previous_count = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return previous_bound
            width = cumulative - previous_count
            return previous_bound + (bound - previous_bound) * ((rank - previous_count) / width if width else 0)
        previous_bound, previous_count = bound, cumulative
    return previous_bound


def main():
    prefixes = sys.argv[1:]
    series = defaultdict(lambda: {"buckets": [], "sum": 0.0, "count": 0.0})
    for line in sys.stdin:
        match = LINE.match(line.strip())
        if not match or not any(match.group(1).startswith(p) for p in prefixes):
            continue
        name, part, labels, value = match.groups()
        labels = labels or ""
        bound = None
        le = re.search(r'le="([^"]*)"', labels)
        if le:
            bound = float("inf") if le.group(1) == "+Inf" else float(le.group(1))
            labels = re.sub(r',?le="[^"]*"', "", labels).replace("{,", "{")
        key = name + (labels if labels not in ("{}", "") else "")
        if part == "bucket":
            series[key]["buckets"].append((bound, float(value)))
        else:
            series[key][part] = float(value)
    for key, data in sorted(series.items()):
        buckets = sorted(data["buckets"])
        count = data["count"]
        if not buckets or count == 0:
            continue
        mean = data["sum"] / count
        print(f"{key}: count {int(count)}, mean {mean * 1000:.1f} ms, "
              f"p50 {quantile(0.5, buckets, count) * 1000:.1f} ms, p99 {quantile(0.99, buckets, count) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
