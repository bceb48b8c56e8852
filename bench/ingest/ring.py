#!/usr/bin/env python3
"""Distinct, separately signed webhook bodies for wrk (bench/ingest/ingest.lua).

Since pull mode (issue 15) a security alert delivery is deduplicated by its content (alert, state,
update time), so a load that repeats one body stores one row and then measures only the door's
duplicate path. This writes the real fixture split around its alert number, and one HMAC-SHA256
signature per number: ingest.lua rebuilds body N as PREFIX .. N .. SUFFIX and sends it with
signature N, so every request is a new alert that is stored and synced before its 2xx.

Usage: ring.py FIXTURE SECRET COUNT FIRST OUT_DIR
Writes OUT_DIR/prefix, OUT_DIR/suffix and OUT_DIR/sigs (COUNT lines, numbers FIRST..FIRST+COUNT-1).
"""
import hashlib
import hmac
import os
import re
import sys


def main() -> None:
    fixture, secret, count, first, out = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    body = open(fixture, "rb").read()
    # The alert's own number: the first `"number": N` in the payload (the alert object comes first).
    match = re.search(rb'"number": *(\d+)', body)
    if match is None:
        sys.exit(f"{fixture}: no alert number to vary")
    prefix, suffix = body[: match.start(1)], body[match.end(1) :]
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "prefix"), "wb").write(prefix)
    open(os.path.join(out, "suffix"), "wb").write(suffix)
    with open(os.path.join(out, "sigs"), "w") as sigs:
        mac = hmac.new(secret, prefix, hashlib.sha256)
        for n in range(first, first + count):
            each = mac.copy()
            each.update(str(n).encode() + suffix)
            sigs.write(f"{n} sha256={each.hexdigest()}\n")


if __name__ == "__main__":
    main()
