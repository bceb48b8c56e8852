#!/usr/bin/env python3
"""Reads Sentinel's /metrics and prints the write-turn histograms per writer: how long the inbox
writer and the dispatcher waited for the database's write turn and how long they held it
(transaction, commit and sync). Quantiles are bucket upper bounds (the buckets double from 100 us).
Usage: turns.py http://127.0.0.1:PORT/metrics"""
import re
import sys
import urllib.request

text = urllib.request.urlopen(sys.argv[1]).read().decode()
series = {}
for line in text.splitlines():
    m = re.match(r'sentinel_write_turn_(wait|held)_seconds_bucket\{(.*)\} (\S+)', line)
    if not m:
        continue
    what, labels, count = m.groups()
    writer = re.search(r'writer="([^"]*)"', labels).group(1)
    le = re.search(r'le="([^"]*)"', labels).group(1)
    series.setdefault((writer, what), []).append((float(le), float(count)))


def quantile(buckets, q):
    total = buckets[-1][1]
    for le, count in buckets:
        if total and count >= q * total:
            return le
    return float("nan")


print(f"{'writer':<11}{'turn':<6}{'count':>9}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'max ≤ ms':>10}")
for (writer, what), buckets in sorted(series.items()):
    buckets.sort()
    total = buckets[-1][1]
    top = next((le for le, c in buckets if c >= total), float("nan"))
    print(f"{writer:<11}{what:<6}{int(total):>9}{quantile(buckets, .5) * 1e3:>9.1f}"
          f"{quantile(buckets, .99) * 1e3:>9.1f}{quantile(buckets, .999) * 1e3:>10.1f}{top * 1e3:>10.1f}")
