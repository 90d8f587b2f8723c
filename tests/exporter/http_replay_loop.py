"""A demo that moves: the real tcpip_exporter replaying a trace paced and in a loop, scraped
the way Prometheus would. Two scrapes seconds apart show counters that grew, no series went
down or vanished, no pid took a new name, no series was exposed twice, the status names the pass, a loop is paced in real
time unless told otherwise, and SIGTERM ends it at once."""
import json
import os
import signal
import subprocess
import sys
import time

from harness import SKIP, check, finish, free_port, request, samples, wait_for

REAL = os.path.join("..", "shared", "data", "etl", "perfview", "net.4.5.2.x64.etl")
GENERATED = os.path.join("tests", "etl", "corpus", "mixed64.etl")


def start(exporter, etl, *flags):
    port = free_port()
    proc = subprocess.Popen([exporter, "--etl", etl, "--web.listen-address",
                             "127.0.0.1:%d" % port] + list(flags),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    up = wait_for(lambda: request(port, "/health")[0] == 200, 10)
    if not up:
        proc.kill()
        raise RuntimeError("tcpip_exporter did not serve: %s" % proc.communicate()[1])
    return proc, port


def stop(proc):
    """SIGTERM; (exit code, seconds it took)."""
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, time.monotonic() - t0
    return proc.returncode, time.monotonic() - t0


def reason(port):
    return json.loads(request(port, "/api/v1/status")[2])["source"]["reason"]


def pass_number(port):
    text = reason(port)
    return int(text.rsplit(" ", 1)[1]) if "in a loop, pass " in text else 0


def counters(port):
    """{(name, labels): value} of every per-process counter."""
    return {k: v for k, v in samples(request(port, "/metrics")[2].decode()).items()
            if k[0].startswith("tcpip_") and not k[0].startswith("tcpip_exporter_")
            and dict(k[1]).get("pid") is not None}


def total(series, name):
    return sum(v for (n, _), v in series.items() if n == name)


def names_by_pid(series):
    names = {}
    for _, labels in series:
        labels = dict(labels)
        names.setdefault(labels["pid"], set()).add(labels.get("process"))
    return names


def check_growing(exporter, etl, what):
    proc, port = start(exporter, etl, "--etl.loop", "--etl.pace", "20")
    try:
        # the first pass makes the instances; from the second on, the set is fixed
        check(wait_for(lambda: pass_number(port) >= 2, 30), "%s: the status says "
              "'replaying ... in a loop, pass N' and the loop goes on: %r" % (what, reason(port)))
        first = counters(port)
        time.sleep(3)
        second = counters(port)
        check(pass_number(port) >= 3, "%s: a later pass a few seconds on" % what)
        for name in ("tcpip_tcp_sent_bytes_total", "tcpip_tcp_send_events_total"):
            check(total(second, name) > total(first, name) > 0,
                  "%s: %s grew from %d to %d" % (what, name, total(first, name),
                                                  total(second, name)))
        lower = [k for k, v in first.items() if second.get(k, -1) < v]
        check(not lower, "%s: no series of %d went down or vanished %s" %
              (what, len(first), lower[:3]))
        check(set(second) == set(first), "%s: the same %d series (no instance begun twice)"
              % (what, len(first)))
        # a pid the trace itself reuses has two instances, each with its own name: what
        # must not happen is a pid gaining a name in a later pass
        check(names_by_pid(first) == names_by_pid(second),
              "%s: no pid took a new name: %s" % (what, names_by_pid(second)))
        lines = [l for l in request(port, "/metrics")[2].decode().splitlines()
                 if l and not l.startswith("#")]
        keys = [l.rsplit(" ", 1)[0] for l in lines]
        check(len(keys) == len(set(keys)), "%s: no series is exposed twice (%d lines)"
              % (what, len(keys)))
    finally:
        code, took = stop(proc)
        check(code == 0 and took < 3, "%s: SIGTERM ends the loop: exit %s in %.2f s"
              % (what, code, took))


def check_default_pace(exporter, etl):
    """mixed64.etl spans under a millisecond, so a loop's period is its 1 s floor: paced in
    real time by default, the pass count follows the clock instead of racing ahead."""
    proc, port = start(exporter, etl, "--etl.loop")
    try:
        t0 = time.monotonic()
        time.sleep(3.5)
        n = pass_number(port)
        elapsed = time.monotonic() - t0
        check(2 <= n <= elapsed + 2, "a loop without --etl.pace runs in real time: "
              "pass %d after %.1f s" % (n, elapsed))
    finally:
        code, took = stop(proc)
        check(code == 0 and took < 3, "SIGTERM during a paced wait: exit %s in %.2f s"
              % (code, took))


def main():
    exporter = os.environ.get("TCPIP_EXPORTER", "")
    root = os.environ.get("SOURCE_ROOT", "")
    if not os.path.exists(exporter):
        print("TCPIP_EXPORTER not set")
        sys.exit(SKIP)
    generated = os.path.join(root, GENERATED)
    check_growing(exporter, generated, "generated trace")
    check_default_pace(exporter, generated)
    real = os.path.join(root, REAL)
    if os.path.exists(real):
        check_growing(exporter, real, "real trace")
    else:
        print("SKIP the real trace: %s is absent" % real)
    finish()


if __name__ == "__main__":
    main()
