#!/usr/bin/python3
"""Compares two tcpip_exporter instances replaying the same trace: per-process series of
/metrics and the whole /api/v1/processes answer must be equal. Retries until both replays
settle (equal twice in a row) or the time is up. Fails on empty data too, so two broken
exporters cannot agree on nothing.

usage: compare_scrapes.py URL_A URL_B SECONDS"""
import json
import sys
import time
import urllib.request


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode("utf-8")


def per_process_series(text):
    # Lines of the per-process families: the ones that carry a pid label. Self-metrics
    # (render time, uptime) legitimately differ between the two.
    return sorted(l for l in text.splitlines() if l and not l.startswith("#") and 'pid="' in l)


def processes(text):
    rows = json.loads(text)
    if isinstance(rows, dict):
        rows = rows.get("processes", rows)
    return sorted((json.dumps(r, sort_keys=True) for r in rows))


def snapshot(base):
    return per_process_series(get(base + "/metrics")), processes(get(base + "/api/v1/processes"))


def main():
    a, b, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    deadline = time.time() + seconds
    last = None
    while True:
        try:
            sa, sb = snapshot(a), snapshot(b)
        except Exception as e:  # not up yet, or mid-replay
            sa, sb = None, e
        if sa is not None and sa == sb and sa == last and sa[0] and sa[1]:
            nonzero = [l for l in sa[0] if "_bytes_total" in l and not l.endswith(" 0")]
            print("# equal: %d per-process series (%d non-zero byte counters), %d processes"
                  % (len(sa[0]), len(nonzero), len(sa[1])))
            if not nonzero:
                print("FAIL: no process has any byte counted", file=sys.stderr)
                return 1
            return 0
        last = sa if sa == sb else None
        if time.time() > deadline:
            break
        time.sleep(1)
    if sa is None:
        print("FAIL: %s" % sb, file=sys.stderr)
        return 1
    for name, x, y in (("metrics", sa[0], sb[0]), ("processes", sa[1], sb[1])):
        only_a = [l for l in x if l not in set(y)]
        only_b = [l for l in y if l not in set(x)]
        print("%s: %d lines (%s) vs %d (%s); %d differ" % (name, len(x), a, len(y), b, len(only_a)),
              file=sys.stderr)
        for line in only_a[:5]:
            print("  only in %s: %s" % (a, line[:160]), file=sys.stderr)
        for line in only_b[:5]:
            print("  only in %s: %s" % (b, line[:160]), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
