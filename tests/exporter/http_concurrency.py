"""Scrapes at a high rate, from several keep-alive clients, while the test server's writer
thread applies events: no torn rows, no counter that goes down between two scrapes.

The writer's processes are "w<pid>g<gen>.exe" whose every send is (pid + gen) bytes, so
every row read alone proves that its name, pid and counters belong to one instance."""
import http.client
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, TestServer, check, finish  # noqa: E402

DURATION_S = 4
CLIENTS = 4
LINE = re.compile(r'^(tcpip_tcp_sent_bytes_total|tcpip_tcp_send_events_total|'
                  r'tcpip_tcp_received_bytes_total)\{process="([^"]*)",pid="(\d+)",'
                  r'service="",family="(ipv4|ipv6)"\} (\d+)$')
NAME = re.compile(r"^w(\d+)g(\d+)\.exe$")


def parse(text):
    """{(counter, process, pid, family): value} of the lines we check."""
    out = {}
    for line in text.split("\n"):
        m = LINE.match(line)
        if m:
            out[(m.group(1), m.group(2), m.group(3), m.group(4))] = int(m.group(5))
    return out


def client(port, results, errors):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    previous = {}
    scrapes = 0
    deadline = time.monotonic() + DURATION_S
    while time.monotonic() < deadline:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
        if response.status != 200:
            errors.append("status %d" % response.status)
            continue
        scrapes += 1
        values = parse(text)
        for (counter, process, pid, family), value in values.items():
            if counter != "tcpip_tcp_sent_bytes_total":
                continue
            m = NAME.match(process)
            if not m:
                continue
            if m.group(1) != pid:
                errors.append("torn row: %s with pid %s" % (process, pid))
            events = values.get(("tcpip_tcp_send_events_total", process, pid, family))
            # Every send of this instance adds exactly `size` bytes, so its byte count is a
            # multiple of size; another instance's counters (size + 1 or more) are not. The
            # writer stores bytes, then events: a reader between the two stores may see the
            # counts one event apart, which the table allows (each counter is exact alone).
            size = int(m.group(1)) + int(m.group(2))
            if events is None or value % size != 0 or abs(value // size - events) > 2:
                errors.append("torn row: %s bytes %s events %s" % (process, value, events))
        for key, value in values.items():
            if key in previous and value < previous[key]:
                errors.append("went down: %s %d -> %d" % (key, previous[key], value))
        previous = values
    conn.close()
    results.append(scrapes)


def main():
    if not os.path.exists(os.environ.get("EXPORTER_TEST_SERVER", "")):
        print("EXPORTER_TEST_SERVER not set")
        sys.exit(SKIP)
    with TestServer("--processes", "500", "--writer", "--max-in-flight", "64") as s:
        results, errors = [], []
        threads = [threading.Thread(target=client, args=(s.port, results, errors))
                   for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        code, out, err = s.stop()
    rounds = int(re.search(r"after (\d+) writer rounds", out).group(1))
    total = sum(results)
    print("%d scrapes in %d s by %d clients; writer rounds %d" % (total, DURATION_S, CLIENTS,
                                                                 rounds))
    check(total >= 40, "scraped at a high rate (%d scrapes)" % total)
    check(rounds >= 100, "the writer kept applying events (%d rounds)" % rounds)
    check(not errors, "no torn rows, no counter going down (%d problems%s)" %
          (len(errors), (": " + "; ".join(errors[:5])) if errors else ""))
    check(code == 0, "server stopped cleanly")
    finish()


if __name__ == "__main__":
    main()
