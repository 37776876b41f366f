#!/usr/bin/env python3
"""Clients of the storage fault and crash tests (t4400, t4410), on sse.py's sockets.

    faults.py server-faults URL SLUG FAULTS_FILE DB PID FLOWTRACK
    faults.py storm URL SLUG CLIENTS SECONDS ACKED_FILE

Each scenario checks what it asserts and exits non-zero with a message when something does
not hold.
"""
import http.client
import json
import os
import subprocess
import sys
import threading
import time

from sse import die, metrics, open_stream, proc_stats, request, wait_metric


def arm(path, spec):
    """Arm spec in the server: written aside, renamed over the file it watches."""
    with open(path + ".tmp", "w") as f:
        f.write(spec + "\n")
    os.rename(path + ".tmp", path)


def disarm(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def items(url, slug):
    st, _, data = request(url, "GET", "/api/trackers/%s/items" % slug)
    if st != 200:
        die("GET items: %d %s" % (st, data[:200]))
    return [i["text"] for i in json.loads(data)]


def expect_error(st, data, status, code, reason, words, what):
    if st != status:
        die("%s: status %d, expected %d: %s" % (what, st, status, data[:300]))
    try:
        e = json.loads(data)["error"]
    except (ValueError, KeyError):
        die("%s: not a JSON error: %r" % (what, data[:300]))
    if (e.get("status"), e.get("code"), e.get("reason")) != (status, code, reason):
        die("%s: error %r, expected status %d, code %s, reason %s" % (what, e, status, code,
                                                                      reason))
    if words not in e.get("message", ""):
        die("%s: message %r lacks %r" % (what, e.get("message"), words))
    return e["message"]


def quiet(s, secs, what):
    """Nothing but comments arrive on stream s for secs."""
    s.pump(secs)
    got = [f for f in s.pending + s.frames() if "event" in f or f["data"]]
    s.pending = []
    if got:
        die("%s: the stream got %r" % (what, got))


# The write faults: spec, HTTP status, code, reason, the words of the message.
WRITE_FAULTS = [
    ("write=1,times=0", 500, "internal", "io", "storage: disk I/O error (write)"),
    ("full=1,times=0", 507, "insufficient_storage", "storage_full",
     "storage full: database or disk is full"),
    ("fsync=1,times=0", 500, "internal", "io", "storage: disk I/O error (fsync)"),
]


def settled_stats(pid, secs=2.0):
    """fds and threads once they hold still (the same in 4 samples 50 ms apart): a client's
    request returns when it has read the reply, a moment before the server closes its end."""
    end = time.monotonic() + secs
    last = []
    while True:
        last = (last + [proc_stats(pid)[:2]])[-4:]
        if (len(last) == 4 and len(set(last)) == 1) or time.monotonic() > end:
            return last[-1]
        time.sleep(0.05)


def sc_server_faults(url, slug, faults, db, pid, flowtrack):
    pid = int(pid)
    acked = items(url, slug)
    base_fds, base_threads = settled_stats(pid)
    s = open_stream(url, "/api/trackers/%s/events" % slug)
    wait_metric(url, lambda m: m.get("flowtrack_streams_open") == 1, 5, "one stream open")
    for spec, status, code, reason, words in WRITE_FAULTS:
        kind = spec.split("=")[0]
        arm(faults, spec)
        # an add, a patch and a tracker create: each fails, whole
        st, h, data = request(url, "POST", "/api/trackers/%s/items" % slug,
                              {"text": "lost to " + kind})
        msg = expect_error(st, data, status, code, reason, words, spec + " POST item")
        if status == 507 and "Retry-After" in h:
            die("a full disk is not retried in a second: %r" % h)
        st, _, data = request(url, "PATCH", "/api/trackers/%s/items/1" % slug, {"state": "done"})
        expect_error(st, data, status, code, reason, words, spec + " PATCH item")
        st, _, data = request(url, "POST", "/api/trackers",
                              {"title": "lost", "slug": "lost-" + kind})
        expect_error(st, data, status, code, reason, words, spec + " POST tracker")
        # reads go on during a write fault
        st, _, data = request(url, "GET", "/api/trackers/%s" % slug)
        if st != 200:
            die("%s: a read failed during a write fault: %d %s" % (spec, st, data[:200]))
        disarm(faults)
        # nothing half-written: the items, the tracker list and item 1's state are as before
        if items(url, slug) != acked:
            die("%s: items %r, acknowledged %r" % (spec, items(url, slug), acked))
        st, _, data = request(url, "GET", "/api/trackers/lost-" + kind)
        if st != 404:
            die("%s: the failed create left a tracker: %d" % (spec, st))
        st, _, data = request(url, "GET", "/api/trackers/%s/items/1" % slug)
        if st != 200 or json.loads(data)["state"] != "pending":
            die("%s: the failed patch changed item 1: %d %s" % (spec, st, data[:200]))
        quiet(s, 0.2, spec + ": no event for failed writes")
        # cleared: the server serves, and the stream gets the next write
        st, _, data = request(url, "POST", "/api/trackers/%s/items" % slug,
                              {"text": "after " + kind})
        if st != 201:
            die("%s: the write after clearing: %d %s" % (spec, st, data[:200]))
        acked.append("after " + kind)
        f = s.next_event(5)
        if f.get("event") != "item.add" or json.loads(f["data"][0])["text"] != "after " + kind:
            die("%s: the stream got %r after recovery" % (spec, f))
        print("ok %s: %d %s, nothing written, then served" % (spec, status, msg))

    # A read fault. The server's page cache answers reads of what it wrote itself without
    # touching the disk: a write by another process (the command line, without the fault)
    # invalidates it. Then the server's read of the log fails (logged), reads answer 500, a
    # stream that must replay from the log ends with an error event (and is released), and
    # the command line's write is not lost to the open stream.
    arm(faults, "read=1,times=0")
    env = dict(os.environ)
    env.pop("FLOWTRACK_FAULTS_FILE", None)
    subprocess.run([flowtrack, "--db", db, "--actor", "cli", "-t", slug, "item", "add",
                    "from the command line"], env=env, check=True, stdout=subprocess.DEVNULL,
                   timeout=30)
    acked.append("from the command line")
    time.sleep(0.5)  # the server's watch fires, its read of the log fails
    st, _, data = request(url, "GET", "/api/trackers/%s" % slug)
    msg = expect_error(st, data, 500, "internal", "io", "storage: disk I/O error (read)",
                       "read fault: GET tracker")
    st, _, data = request(url, "GET", "/api/trackers/%s/events" % slug)
    expect_error(st, data, 500, "internal", "io", "storage: disk I/O error (read)",
                 "read fault: a tracker's stream")
    r = open_stream(url, "/api/events?last_event_id=0")
    f = r.next_event(5)
    if f.get("event") != "error":
        die("read fault: a replaying stream got %r, not an error event" % f)
    end = time.monotonic() + 5
    while not r.ended and not r.eof and time.monotonic() < end:
        r.pump(0.1)
    if not (r.ended or r.eof):
        die("read fault: the failed stream did not end")
    r.close()
    quiet(s, 0.1, "read fault: the open stream during the fault")
    disarm(faults)
    st, _, data = request(url, "POST", "/api/trackers/%s/items" % slug, {"text": "after read"})
    if st != 201:
        die("read fault: the write after clearing: %d %s" % (st, data[:200]))
    acked.append("after read")
    got = [json.loads(s.next_event(5)["data"][0])["text"] for _ in range(2)]
    if got != ["from the command line", "after read"]:
        die("read fault: the stream got %r after recovery" % got)
    print("ok read=1,times=0: 500 %s; a replaying stream ended with an error; no event lost"
          % msg)

    if items(url, slug) != acked:
        die("items %r, acknowledged %r" % (items(url, slug), acked))
    m = metrics(url)
    n507 = m.get('flowtrack_http_requests_total{route="/api/trackers/{id}/{kind}",code="507"}')
    if n507 != 1:
        die("507s on the items route: %r" % n507)
    if m.get("flowtrack_store_errors_total", 0) < 10:
        die("store errors counted: %r" % m.get("flowtrack_store_errors_total"))
    s.close()
    wait_metric(url, lambda m: m.get("flowtrack_streams_open") == 0, 5, "streams released")
    end = time.monotonic() + 2
    while proc_stats(pid)[:2] != (base_fds, base_threads) and time.monotonic() < end:
        time.sleep(0.02)
    fds, threads, _ = proc_stats(pid)
    if (fds, threads) != (base_fds, base_threads):
        die("descriptors %d, threads %d; baseline %d, %d" % (fds, threads, base_fds,
                                                             base_threads))
    print("ok %d items acknowledged, all there; streams and descriptors back at baseline"
          % len(acked))


def sc_storm(url, slug, clients, seconds, acked_file):
    """CLIENTS threads POST items until killed or SECONDS pass, each item's text acknowledged
    with 201 appended (and flushed) to ACKED_FILE as it is acknowledged. The server is killed
    under it: a refused or reset connection ends a client quietly."""
    clients = int(clients)
    stop_at = time.monotonic() + float(seconds)
    out = open(acked_file, "a", buffering=1)
    lock = threading.Lock()

    def client(c):
        i = 0
        while time.monotonic() < stop_at:
            text = "c%d-%d-%d" % (c, os.getpid(), i)
            i += 1
            try:
                st, _, data = request(url, "POST", "/api/trackers/%s/items" % slug,
                                      {"text": text}, timeout=10)
            except (OSError, http.client.HTTPException):
                return  # the server is gone (refused, reset, or cut in the middle)
            if st == 201:
                with lock:
                    out.write(text + "\n")
                    out.flush()
            elif st != 503:
                with lock:
                    print("client %d: %d %s" % (c, st, data[:200]), file=sys.stderr)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()


SCENARIOS = {
    "server-faults": sc_server_faults,
    "storm": sc_storm,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in SCENARIOS:
        die("usage: faults.py {%s} URL [ARGS...]" % ",".join(SCENARIOS))
    # SIGPIPE stays ignored (Python's default): a client writing to a server just killed gets
    # EPIPE as an OSError, which ends it quietly, not a signal that kills every client.
    SCENARIOS[sys.argv[1]](*sys.argv[2:])
