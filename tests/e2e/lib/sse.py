#!/usr/bin/env python3
"""Socket-level clients for the server's end-to-end tests.

Every scenario talks to a real server over real sockets, reads incrementally with
per-read timeouts (never waits for the end of an endless body), checks what it
asserts and exits non-zero with a message when something does not hold.

    sse.py SCENARIO URL [ARGS...]
"""
import http.client
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import threading
import time
from urllib.parse import urlparse


def die(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def addr(url):
    u = urlparse(url)
    return u.hostname, u.port


def request(url, method, path, body=None, headers=None, timeout=10):
    h, p = addr(url)
    c = http.client.HTTPConnection(h, p, timeout=timeout)
    hd = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        hd.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=hd)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


def metrics(url):
    st, _, data = request(url, "GET", "/metrics")
    if st != 200:
        die("/metrics answered %d" % st)
    out = {}
    for line in data.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def closed(m, reason):
    return m.get('flowtrack_streams_closed_total{reason="%s"}' % reason, 0)


def wait_metric(url, pred, timeout, what):
    end = time.monotonic() + timeout
    while True:
        m = metrics(url)
        if pred(m):
            return m
        if time.monotonic() > end:
            die("%s: not reached within %.1fs (streams_open=%s)" %
                (what, timeout, m.get("flowtrack_streams_open")))
        time.sleep(0.01)


def post_item(url, tracker, text, timeout=10):
    st, _, data = request(url, "POST", "/api/trackers/%s/items" % tracker, {"text": text},
                          timeout=timeout)
    if st != 201:
        die("POST item: %d %s" % (st, data[:200]))
    return json.loads(data)


def ensure_tracker(url, slug):
    st, _, _ = request(url, "GET", "/api/trackers/" + slug)
    if st == 404:
        st, _, data = request(url, "POST", "/api/trackers", {"title": "Tracker " + slug,
                                                              "slug": slug})
        if st != 201:
            die("create tracker: %d %s" % (st, data))


def rst_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Stream:
    """An SSE client on a raw socket: HTTP/1.1, chunked body decoded incrementally."""

    def __init__(self, url, path, headers=None, rcvbuf=None, connect_timeout=5):
        self.host, self.port = addr(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(connect_timeout)
        self.sock.connect((self.host, self.port))
        req = "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n" % (
            path, self.host, self.port)
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        self.sock.sendall((req + "\r\n").encode())
        self.raw = b""
        self.body = b""
        self.status = None
        self.headers = {}
        self.eof = False
        self.ended = False  # saw the terminating 0-length chunk
        self.pending = []  # parsed frames not yet returned by next_event

    def _recv(self, timeout):
        p = select.poll()  # not select(): tests hold thousands of descriptors
        p.register(self.sock, select.POLLIN)
        if not p.poll(max(0.0, timeout) * 1000):
            return False
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            d = b""
        if not d:
            self.eof = True
            return True
        self.raw += d
        return True

    def read_headers(self, timeout=5):
        end = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.raw:
            if self.eof or time.monotonic() > end:
                die("no response headers from %s (got %r)" % (self.port, self.raw[:200]))
            self._recv(end - time.monotonic())
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        for l in lines[1:]:
            k, v = l.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        self._dechunk()
        return self.status

    def _dechunk(self):
        while not self.ended:
            i = self.raw.find(b"\r\n")
            if i < 0:
                return
            n = int(self.raw[:i].split(b";")[0], 16)
            if len(self.raw) < i + 2 + n + 2:
                return
            self.body += self.raw[i + 2:i + 2 + n]
            self.raw = self.raw[i + 2 + n + 2:]
            if n == 0:
                self.ended = True

    def pump(self, timeout):
        """Read what arrives within timeout; False at EOF."""
        if self.eof:
            return False
        self._recv(timeout)
        self._dechunk()
        return not self.eof

    def frames(self):
        """Complete frames received so far (consumed): list of dicts."""
        out = []
        while True:
            n = self.body.find(b"\n\n")
            if n < 0:
                return out
            block, self.body = self.body[:n].decode(), self.body[n + 2:]
            f = {"comment": [], "data": []}
            for line in block.split("\n"):
                if line.startswith(":"):
                    f["comment"].append(line[1:].strip())
                    continue
                k, _, v = line.partition(":")
                v = v[1:] if v.startswith(" ") else v
                if k == "data":
                    f["data"].append(v)
                else:
                    f[k] = v
            out.append(f)

    def next_event(self, timeout=5):
        """The next frame with an event (skips comments and retry)."""
        end = time.monotonic() + timeout
        pending = self.pending
        while True:
            for f in self.frames():
                pending.append(f)
            while pending:
                f = pending.pop(0)
                if "event" in f or f["data"]:
                    return f
            if time.monotonic() > end:
                die("no event within %.1fs on stream %s" % (timeout, self.port))
            if not self.pump(end - time.monotonic()) and not self.body:
                die("stream ended while waiting for an event")

    def close(self):
        self.sock.close()

    def rst(self):
        rst_close(self.sock)


def open_stream(url, path, headers=None, **kw):
    s = Stream(url, path, headers, **kw)
    st = s.read_headers()
    if st != 200:
        die("stream %s answered %d" % (path, st))
    return s


# ---- scenarios ----------------------------------------------------------------------------

def sc_headers(url, slug):
    """Response headers, the retry hint first, and no compression even when asked."""
    ensure_tracker(url, slug)
    t0 = time.monotonic()
    s = open_stream(url, "/api/trackers/%s/events" % slug, {"Accept-Encoding": "gzip"})
    if time.monotonic() - t0 > 0.5:
        die("headers took %.3fs" % (time.monotonic() - t0))
    h = s.headers
    if h.get("content-type") != "text/event-stream":
        die("content-type %r" % h.get("content-type"))
    if h.get("cache-control") != "no-cache" or h.get("x-accel-buffering") != "no":
        die("cache headers %r" % h)
    if "content-encoding" in h:
        die("content-encoding on a stream")
    end = time.monotonic() + 2
    while not s.body.startswith(b"retry: ") and time.monotonic() < end:
        s.pump(0.1)
    if not s.body.startswith(b"retry: 2000\n\n"):
        die("the stream does not start with a retry hint: %r" % s.body[:40])
    s.close()
    print("ok headers")


def sc_idle_close(url, slug, mode, count):
    """Idle streams closed by the client (FIN or RST) are freed within 1 s."""
    count = int(count)
    ensure_tracker(url, slug)
    m0 = metrics(url)
    base_open = m0["flowtrack_streams_open"]
    streams = [open_stream(url, "/api/trackers/%s/events" % slug) for _ in range(count)]
    wait_metric(url, lambda m: m["flowtrack_streams_open"] == base_open + count, 2, "open")
    time.sleep(0.2)  # idle: nothing written after the retry hint
    t0 = time.monotonic()
    for s in streams:
        s.rst() if mode == "rst" else s.close()
    m = wait_metric(url, lambda m: m["flowtrack_streams_open"] == base_open, 1.0,
                    "%d idle streams freed after %s" % (count, mode))
    dt = time.monotonic() - t0
    got = closed(m, "client_closed") - closed(m0, "client_closed")
    if got != count:
        die("client_closed counted %d, expected %d" % (got, count))
    print("ok %d idle streams freed %.3fs after %s" % (count, dt, mode))


def sc_mid_event(url, slug, mode):
    """A client resets (or closes) while a large event is half-written; others unaffected."""
    ensure_tracker(url, slug)
    m0 = metrics(url)
    victim = open_stream(url, "/api/trackers/%s/events" % slug, rcvbuf=4096)
    other = open_stream(url, "/api/trackers/%s/events" % slug)
    wait_metric(url, lambda m: m["flowtrack_streams_open"] == m0["flowtrack_streams_open"] + 2,
                2, "open")
    big = "x" * 400000
    post_item(url, slug, big)
    # The victim reads a little of the event, so the server is in the middle of writing it.
    # (a chunk reaches .body only when complete: part of it is in .raw)
    end = time.monotonic() + 3
    while b"id: " not in victim.raw and time.monotonic() < end:
        victim._recv(0.05)
    if b"id: " not in victim.raw:
        die("the victim got no part of the event (or all of it)")
    victim.rst() if mode == "rst" else victim.close()
    f = other.next_event(5)
    if len(json.loads("".join(f["data"]))["text"]) != len(big):
        die("the other stream got a damaged event")
    post_item(url, slug, "after")
    f = other.next_event(2)
    if json.loads("".join(f["data"]))["text"] != "after":
        die("the other stream did not go on")
    m = wait_metric(url, lambda m: closed(m, "client_closed") == closed(m0, "client_closed") + 1,
                    1, "the victim freed")
    if m["flowtrack_streams_open"] != m0["flowtrack_streams_open"] + 1:
        die("open streams %s" % m["flowtrack_streams_open"])
    other.close()
    wait_metric(url, lambda m: m["flowtrack_streams_open"] == m0["flowtrack_streams_open"], 1,
                "all freed")
    print("ok %s mid-event" % mode)


def sc_half_read(url, slug):
    """Half-read responses: requests and streams abandoned at every stage are all freed."""
    ensure_tracker(url, slug)
    h, p = addr(url)
    m0 = metrics(url)
    cases = 0
    # 1. half a request line, then close / reset
    for rst in (False, True):
        s = socket.create_connection((h, p), 5)
        s.sendall(b"GET /api/trac")
        time.sleep(0.05)
        rst_close(s) if rst else s.close()
    # 2. a whole request for a large reply, read 100 bytes, close / reset
    for rst in (False, True):
        s = socket.create_connection((h, p), 5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(("GET /api/trackers/%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (slug, h, p)).encode())
        s.recv(100)
        rst_close(s) if rst else s.close()
    # 3. a stream whose headers are half read
    for rst in (False, True):
        st = Stream(url, "/api/trackers/%s/events" % slug)
        st.sock.recv(20)
        st.rst() if rst else st.close()
        cases += 1
    # 4. a stream that half-closes (SHUT_WR) after its request: policy = client_closed
    st = open_stream(url, "/api/trackers/%s/events" % slug)
    st.sock.shutdown(socket.SHUT_WR)
    end = time.monotonic() + 2
    while st.pump(0.1) and time.monotonic() < end:
        pass
    if not st.eof:
        die("a half-closed stream was not ended")
    st.close()
    cases += 1
    m = wait_metric(url, lambda m: m["flowtrack_streams_open"] == m0["flowtrack_streams_open"], 1,
                    "half-read streams freed")
    got = closed(m, "client_closed") - closed(m0, "client_closed")
    if got != cases:
        die("client_closed counted %d, expected %d" % (got, cases))
    st, _, _ = request(url, "GET", "/healthz")
    if st != 200:
        die("healthz after half reads: %d" % st)
    print("ok half-read")


def sc_resume(url, slug):
    """Last-Event-ID (header and query) replays exactly the missed events, then goes live."""
    ensure_tracker(url, slug)
    s = open_stream(url, "/api/trackers/%s/events" % slug)
    first = [post_item(url, slug, "a%d" % i)["num"] for i in range(5)]
    seen = [s.next_event(3) for _ in range(5)]
    ids = [int(f["id"]) for f in seen]
    if [json.loads(f["data"][0])["num"] for f in seen] != first:
        die("live events out of order")
    last = ids[2]
    s.close()
    # missed while away: the rest of the first batch plus 5 more
    more = [post_item(url, slug, "b%d" % i)["num"] for i in range(5)]
    want_nums = first[3:] + more
    for how in ("header", "query"):
        if how == "header":
            r = open_stream(url, "/api/trackers/%s/events" % slug, {"Last-Event-ID": str(last)})
        else:
            r = open_stream(url, "/api/trackers/%s/events?last_event_id=%d" % (slug, last))
        got = [r.next_event(3) for _ in range(len(want_nums))]
        nums = [json.loads(f["data"][0])["num"] for f in got]
        if nums != want_nums:
            die("%s replay gave %r, expected %r" % (how, nums, want_nums))
        gids = [int(f["id"]) for f in got]
        if gids != sorted(gids) or gids[0] <= last:
            die("replayed ids %r" % gids)
        # then live, with no duplicate and no gap
        n = post_item(url, slug, "live-" + how)["num"]
        f = r.next_event(3)
        if json.loads(f["data"][0])["num"] != n or int(f["id"]) <= gids[-1]:
            die("live after replay: %r" % f)
        r.pump(0.2)
        extra = [f for f in r.pending + r.frames() if "event" in f]
        if extra:
            die("duplicate after the switch to live: %r" % extra)
        r.close()
        # the second client resumes from the same id: the same missed events, and the live one
        want_nums = first[3:] + more + [n]
    # a bad Last-Event-ID is a 400 naming the field
    st, _, data = request(url, "GET", "/api/trackers/%s/events" % slug,
                          headers={"Last-Event-ID": "12abc"})
    if st != 400 or json.loads(data)["error"]["field"] != "Last-Event-ID":
        die("bad Last-Event-ID: %d %s" % (st, data))
    print("ok resume")


def sc_resume_big(url, slug, count):
    """Resume over a backlog far larger than the stream buffer: paced, complete, in order."""
    count = int(count)
    ensure_tracker(url, slug)
    m0 = metrics(url)
    s = open_stream(url, "/api/trackers/%s/events?last_event_id=0" % slug)
    got, last = 0, 0
    end = time.monotonic() + 30
    while got < count:
        f = s.next_event(max(0.1, end - time.monotonic()))
        i = int(f["id"])
        if i <= last:
            die("ids went back: %d after %d" % (i, last))
        last = i
        if f.get("event") == "item.add":
            got += 1
    s.close()
    m = wait_metric(url, lambda m: m["flowtrack_streams_open"] == m0["flowtrack_streams_open"], 1,
                    "freed")
    if closed(m, "slow_reader") != closed(m0, "slow_reader"):
        die("a replaying reader was treated as slow")
    print("ok replayed %d events" % got)


def sc_slow_reader(url, slug, nfast):
    """A reader that stops reading hits the bound and is closed; the others stay fast."""
    nfast = int(nfast)
    ensure_tracker(url, slug)
    m0 = metrics(url)
    slow = open_stream(url, "/api/trackers/%s/events" % slug, rcvbuf=4096)
    fast = [open_stream(url, "/api/trackers/%s/events" % slug) for _ in range(nfast)]
    lag = []
    stop = threading.Event()
    text = "y" * 60000
    # fast readers read in a thread each; the slow one never reads
    counts = [0] * nfast

    def reader(i, s):
        while not stop.is_set():
            s.pump(0.05)
            for f in s.frames():
                if f.get("event") == "item.add":
                    counts[i] += 1
                    sent = float(json.loads(f["data"][0])["text"].split(" ", 1)[0])
                    lag.append(time.time() - sent)

    threads = [threading.Thread(target=reader, args=(i, s)) for i, s in enumerate(fast)]
    for t in threads:
        t.start()
    n = 0
    end = time.monotonic() + 20
    while closed(metrics(url), "slow_reader") == closed(m0, "slow_reader"):
        if time.monotonic() > end:
            stop.set()
            die("the slow reader was never closed")
        post_item(url, slug, "%.6f %s" % (time.time(), text))
        n += 1
    for _ in range(5):
        post_item(url, slug, "%.6f after" % time.time())
        n += 1
    end = time.monotonic() + 5
    while min(counts) < n and time.monotonic() < end:
        time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join()
    if min(counts) < n:
        die("fast readers got %r of %d events" % (counts, n))
    lag.sort()
    p99 = lag[int(len(lag) * 0.99) - 1] if lag else 0
    if p99 > 0.5:
        die("fast readers lagged: p99 %.3fs" % p99)
    m = metrics(url)
    q = m.get("flowtrack_stream_queued_bytes", 0)
    for s in fast:
        s.close()
    slow.close()
    wait_metric(url, lambda m: m["flowtrack_streams_open"] == m0["flowtrack_streams_open"], 1,
                "freed")
    print("ok slow reader closed after %d events; fast readers p99 lag %.3fs; queued %d" %
          (n, p99, q))


def sc_latency(url, slug, db_cli):
    """Writes by another process (the CLI) reach a stream within 200 ms."""
    ensure_tracker(url, slug)
    s = open_stream(url, "/api/trackers/%s/events" % slug)
    worst = 0
    import subprocess
    for i in range(10):
        t0 = time.monotonic()
        subprocess.run(db_cli.split() + ["-t", slug, "item", "add", "cli-%d" % i], check=True,
                       stdout=subprocess.DEVNULL)
        t1 = time.monotonic()
        f = s.next_event(2)
        dt = time.monotonic() - t1
        if json.loads(f["data"][0])["text"] != "cli-%d" % i:
            die("unexpected event %r" % f)
        worst = max(worst, dt)
        time.sleep(0.05)
    if worst > 0.2:
        die("a CLI write took %.3fs to reach the stream" % worst)
    s.close()
    print("ok CLI writes reached the stream; worst %.3fs after the CLI exited" % worst)


def sc_many(url, slug, count, ready_file, expect):
    """Open COUNT streams, signal readiness, then check how each one ends."""
    count = int(count)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ensure_tracker(url, slug)
    streams = []
    for i in range(count):
        s = Stream(url, "/api/trackers/%s/events" % slug)
        streams.append(s)
    for s in streams:
        if s.read_headers() != 200:
            die("stream refused")
    wait_metric(url, lambda m: m["flowtrack_streams_open"] >= count, 5, "all open")
    with open(ready_file + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(ready_file + ".tmp", ready_file)
    # Every stream must get the shutdown event, the end of the chunked body, then EOF.
    end = time.monotonic() + 5
    pending = set(range(count))
    poller = select.poll()
    byfd = {}
    for i in pending:
        poller.register(streams[i].sock, select.POLLIN)
        byfd[streams[i].sock.fileno()] = i
    while pending and time.monotonic() < end:
        for fd, _ in poller.poll(200):
            i = byfd[fd]
            streams[i].pump(0)
            if streams[i].eof:
                pending.discard(i)
                poller.unregister(fd)
    if pending:
        die("%d streams did not see EOF" % len(pending))
    bad = 0
    for s in streams:
        fr = s.frames()
        if expect == "shutdown" and (not s.ended or not fr or fr[-1].get("event") != "shutdown"):
            bad += 1
        s.close()
    if bad:
        die("%d streams did not end with a shutdown event and a clean end of body" % bad)
    print("ok %d streams ended cleanly" % count)


def pid_list(spec):
    """The server's processes: "PID" or "PID,PID,..." (its workers, lib.sh's srv_pids)."""
    return [int(p) for p in str(spec).split(",") if p]


def proc_stats(spec):
    """Open fds, threads and anonymous resident memory of the server's processes, summed.
    Anonymous memory is the heap and stacks, where a leak shows; the whole RSS also counts the
    pages of the store file SQLite maps (mmap), which grow with the file."""
    fds = th = rss = 0
    for pid in pid_list(spec):
        fds += len(os.listdir("/proc/%d/fd" % pid))
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("Threads:"):
                    th += int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    rss += int(line.split()[1]) * 1024
    return fds, th, rss


def cpu_seconds(spec):
    """CPU time (user + system) of the server's processes, summed, in seconds."""
    total = 0
    for pid in pid_list(spec):
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        total += int(v[11]) + int(v[12])
    return total / os.sysconf("SC_CLK_TCK")


def check_baseline(base, after):
    """fds and threads exactly at their baseline, anonymous RSS within FT_RSS_NOISE."""
    if after[0] != base[0]:
        die("open fds %d, baseline %d" % (after[0], base[0]))
    if after[1] != base[1]:
        die("threads %d, baseline %d" % (after[1], base[1]))
    rss_bound = int(os.environ.get("FT_RSS_NOISE", str(2 << 20)))
    if after[2] - base[2] > rss_bound:
        die("RSS grew by %d KiB (bound %d KiB)" % ((after[2] - base[2]) // 1024,
                                                   rss_bound // 1024))


def sc_probe(url, slug, cycles, pid):
    """The leak regression: many connect/abort cycles mixing FIN and RST, idle and mid-event,
    before and after the headers; then fds, threads and RSS are back at their baseline."""
    cycles = int(cycles)
    ensure_tracker(url, slug)
    h, p = addr(url)
    stop = threading.Event()

    def publisher():  # events in flight for the mid-event cycles
        while not stop.is_set():
            post_item(url, slug, "z" * 16000)
            time.sleep(0.003)

    def cycle(i):
        mode = i % 8
        if mode in (0, 1):  # before the request / half a request
            s = socket.create_connection((h, p), 5)
            if mode == 1:
                s.sendall(b"GET /api/tr")
            rst_close(s) if i % 16 < 8 else s.close()
            return 0
        if mode == 2:  # a plain request, reply not read
            s = socket.create_connection((h, p), 5)
            s.sendall(("GET /api/trackers HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (h, p)).encode())
            rst_close(s) if i % 16 < 8 else s.close()
            return 0
        st = Stream(url, "/api/trackers/%s/events" % slug, rcvbuf=4096 if mode >= 6 else None)
        if mode == 3:  # before the headers arrive
            st.rst() if i % 16 < 8 else st.close()
            return 1
        st.read_headers()
        if mode in (4, 5):  # idle
            (st.rst if mode == 4 else st.close)()
            return 1
        # mid-event: wait for part of an event (a partial chunk stays in .raw)
        end = time.monotonic() + 2
        while b"id: " not in st.raw and b"id: " not in st.body and time.monotonic() < end:
            st._recv(0.02)
        (st.rst if mode == 6 else st.close)()
        return 1

    # warm up, then take the baseline
    pub = threading.Thread(target=publisher)
    pub.start()
    for i in range(int(os.environ.get("FT_WARMUP", "400"))):
        cycle(i)
    stop.set()
    pub.join()
    wait_metric(url, lambda m: m["flowtrack_streams_open"] == 0, 2, "warm-up freed")
    time.sleep(0.2)
    base = proc_stats(pid)
    m0 = metrics(url)
    stop.clear()
    pub = threading.Thread(target=publisher)
    pub.start()
    t0 = time.monotonic()
    nstreams = 0
    for i in range(cycles):
        nstreams += cycle(i)
    stop.set()
    pub.join()
    m = wait_metric(url, lambda m: m["flowtrack_streams_open"] == 0, 2, "every stream freed")
    time.sleep(0.2)
    after = proc_stats(pid)
    opened = m["flowtrack_streams_opened_total"] - m0["flowtrack_streams_opened_total"]
    ends = sum(closed(m, r) - closed(m0, r) for r in
               ("complete", "client_closed", "error", "idle_timeout", "slow_reader", "shutdown"))
    print("cycles=%d streams=%d in %.1fs; fds %d->%d threads %d->%d anon rss %d->%d KiB" %
          (cycles, nstreams, time.monotonic() - t0, base[0], after[0], base[1], after[1],
           base[2] // 1024, after[2] // 1024))
    if opened != nstreams or ends != nstreams:
        die("streams opened %d, ended %d, expected %d" % (opened, ends, nstreams))
    if closed(m, "client_closed") - closed(m0, "client_closed") != nstreams:
        die("not every end was a client close")
    check_baseline(base, after)
    print("ok")


# ---- MCP sessions (/mcp) ------------------------------------------------------------------

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def mcp_post(url, msg, session=None, timeout=10):
    hd = dict(MCP_HEADERS)
    if session:
        hd["Mcp-Session-Id"] = session
        hd["MCP-Protocol-Version"] = "2025-11-25"
    return request(url, "POST", "/mcp", json.dumps(msg), hd, timeout)


def mcp_init(url):
    st, hd, data = mcp_post(url, {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"}}})
    sid = {k.lower(): v for k, v in hd.items()}.get("mcp-session-id")
    if st != 200 or not sid:
        die("initialize: %d %s" % (st, data[:200]))
    st, _, _ = mcp_post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, sid)
    if st != 202:
        die("notifications/initialized: %d" % st)
    return sid


def mcp_delete(url, sid):
    st, _, _ = request(url, "DELETE", "/mcp", headers={"Mcp-Session-Id": sid})
    if st != 204:
        die("DELETE /mcp: %d" % st)


def raw_post(url, sid, msg):
    """A POST on a raw socket (to abort it), the request fully sent."""
    h, p = addr(url)
    body = json.dumps(msg).encode()
    s = socket.create_connection((h, p), 5)
    s.sendall(("POST /mcp HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
               "Accept: application/json, text/event-stream\r\nMcp-Session-Id: %s\r\n"
               "Content-Length: %d\r\n\r\n" % (h, p, sid, len(body))).encode() + body)
    return s


def sc_mcp_probe(url, slug, cycles, pid):
    """MCP session lifecycles, clean and aborted: initialize then DELETE or abandon (idle expiry),
    the GET stream closed with FIN or RST (idle or mid-update), a tool call, a POST aborted half
    sent, a malformed POST, now and then a run whose POST is reset while it runs. Afterwards no
    session, stream or run is left and fds, threads and RSS are at their baseline."""
    cycles = int(cycles)
    ensure_tracker(url, slug)
    h, p = addr(url)
    uri = "flowtrack://tracker/" + slug

    def get_stream(sid):
        st = Stream(url, "/mcp", headers={"Mcp-Session-Id": sid,
                                          "MCP-Protocol-Version": "2025-11-25"})
        st.read_headers()
        if st.status != 200:
            die("GET /mcp: %s" % st.status)
        return st

    def cycle(i):
        mode = i % 8
        if mode == 7 and i % 64 == 7:  # a run, its POST reset while it runs
            sid = mcp_init(url)
            s = raw_post(url, sid, {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
                "name": "run", "arguments": {"command": "sleep 30", "timeout_s": 60},
                "_meta": {"progressToken": 1}}})
            s.settimeout(5)
            s.recv(1)  # the stream's headers: the run is going
            rst_close(s)
            mcp_delete(url, sid)
            return
        if mode == 7:  # malformed
            st, _, _ = request(url, "POST", "/mcp", "{not json", MCP_HEADERS)
            if st != 400:
                die("malformed POST: %d" % st)
            return
        sid = mcp_init(url)
        if mode == 0:
            mcp_delete(url, sid)
        elif mode == 1:
            pass  # abandoned: the idle timeout ends it
        elif mode in (2, 3):
            st = get_stream(sid)
            (st.rst if mode == 2 else st.close)()
            if mode == 2:
                mcp_delete(url, sid)
        elif mode == 4:
            st, _, data = mcp_post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": "tracker_read",
                                                    "arguments": {"tracker": slug}}}, sid)
            if st != 200 or b"structuredContent" not in data:
                die("tools/call: %d %s" % (st, data[:200]))
            mcp_delete(url, sid)
        elif mode == 5:  # a POST cut off half sent
            s = socket.create_connection((h, p), 5)
            s.sendall(("POST /mcp HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                       "Mcp-Session-Id: %s\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"" %
                       (h, p, sid)).encode())
            rst_close(s) if i % 16 < 8 else s.close()
            mcp_delete(url, sid)
        elif mode == 6:  # subscribed, an update in flight, then a reset
            st, _, _ = mcp_post(url, {"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
                                      "params": {"uri": uri}}, sid)
            if st != 200:
                die("subscribe: %d" % st)
            g = get_stream(sid)
            post_item(url, slug, "update %d" % i)
            end = time.monotonic() + 2
            while b"resources/updated" not in g.raw + g.body and time.monotonic() < end:
                g._recv(0.02)
            g.rst()
            mcp_delete(url, sid)

    def settled(m):
        return (m.get("flowtrack_mcp_sessions", 1) == 0 and m["flowtrack_streams_open"] == 0 and
                m.get("flowtrack_mcp_runs", 1) == 0)

    for i in range(int(os.environ.get("FT_WARMUP", "64"))):
        cycle(i)
    wait_metric(url, settled, 15, "warm-up: no session, stream or run left")
    time.sleep(0.2)
    base = proc_stats(pid)
    m0 = metrics(url)
    t0 = time.monotonic()
    for i in range(cycles):
        cycle(i)
    m = wait_metric(url, settled, 15, "no session, stream or run left")
    time.sleep(0.2)
    after = proc_stats(pid)
    opened = m["flowtrack_mcp_sessions_opened_total"] - m0["flowtrack_mcp_sessions_opened_total"]
    ended = sum(m['flowtrack_mcp_sessions_closed_total{reason="%s"}' % r] -
                m0['flowtrack_mcp_sessions_closed_total{reason="%s"}' % r]
                for r in ("delete", "idle", "shutdown"))
    print("mcp cycles=%d sessions=%d in %.1fs; fds %d->%d threads %d->%d anon rss %d->%d KiB" %
          (cycles, opened, time.monotonic() - t0, base[0], after[0], base[1], after[1],
           base[2] // 1024, after[2] // 1024))
    if opened != ended:
        die("sessions opened %d, ended %d" % (opened, ended))
    check_baseline(base, after)
    print("ok")


def sc_mcp_hold(url, count, ready_file):
    """Hold sessions with their GET streams open until the server shuts down; each stream must
    end cleanly (the end of its body)."""
    streams = []
    for _ in range(int(count)):
        sid = mcp_init(url)
        st = Stream(url, "/mcp", headers={"Mcp-Session-Id": sid})
        st.read_headers()
        streams.append(st)
    open(ready_file, "w").close()
    bad = 0
    for st in streams:
        end = time.monotonic() + 30
        while not st.ended and not st.eof and time.monotonic() < end:
            st.pump(0.1)
        bad += not st.ended
        st.close()
    if bad:
        die("%d MCP streams did not end cleanly at shutdown" % bad)
    print("ok %s MCP streams ended cleanly" % count)


def sc_mcp_spread(url, count):
    """One MCP session's requests, each on a connection of its own (with several workers, on
    any of them): every one finds the session; subscriptions made through some reach the GET
    stream held by another; a DELETE through one ends that stream."""
    count = int(count)
    sid = mcp_init(url)
    hd = {"Accept": "text/event-stream", "Mcp-Session-Id": sid}
    get = open_stream(url, "/mcp", hd)
    for i in range(4):  # one GET stream per session, whichever worker a second one reaches
        other = Stream(url, "/mcp", hd)
        st = other.read_headers()
        other.close()
        if st != 409:
            die("a second GET stream of the session answered %d, not 409" % st)
    for i in range(3 * count):
        st, _, data = mcp_post(url, {"jsonrpc": "2.0", "id": 100 + i, "method": "ping"}, sid)
        if st != 200:
            die("ping %d on a new connection: %d %s" % (i, st, data[:200]))
    slugs = ["spread-%d" % i for i in range(count)]
    for i, slug in enumerate(slugs):
        ensure_tracker(url, slug)
        st, _, data = mcp_post(url, {"jsonrpc": "2.0", "id": 200 + i, "method": "resources/subscribe",
                                     "params": {"uri": "flowtrack://tracker/" + slug}}, sid)
        if st != 200 or b'"error"' in data:
            die("subscribe to %s: %d %s" % (slug, st, data[:200]))
    for slug in slugs:
        post_item(url, slug, "for the subscribers")
    want = {"flowtrack://tracker/" + s for s in slugs}
    got = set()
    while got != want:
        f = get.next_event(10)
        msg = json.loads("".join(f["data"]))
        if msg.get("method") == "notifications/resources/updated":
            got.add(msg["params"]["uri"])
    mcp_delete(url, sid)
    end = time.monotonic() + 5
    while get.pump(max(0.0, end - time.monotonic())):
        if time.monotonic() > end:
            die("the GET stream outlived its session's DELETE by 5 s")
    get.close()
    # its GET stream gone, the session (a new one: the old was deleted) may open another
    sid = mcp_init(url)
    first = open_stream(url, "/mcp", {"Accept": "text/event-stream", "Mcp-Session-Id": sid})
    first.close()
    for _ in range(100):  # the worker holding it sees the close
        again = Stream(url, "/mcp", {"Accept": "text/event-stream", "Mcp-Session-Id": sid})
        st = again.read_headers()
        again.close()
        if st == 200:
            break
        time.sleep(0.05)
    else:
        die("no new GET stream after the first one closed")
    mcp_delete(url, sid)
    print("ok 4 second GET streams refused, %d pings on new connections, %d subscriptions "
          "delivered to the GET stream, DELETE ended it" % (3 * count, count))


def sc_passes(url, count):
    """Fan-out passes under a burst: COUNT streams of every tracker and a few of one tracker
    open while 4 publishers write back to back; in the middle of the burst, streams open
    (fresh, and resuming from before it) and others are reset. Every stream gets every event
    it wants from where it started, once and in order; writes are answered while passes are
    under way, so the passes carry several events per write."""
    count = int(count)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for slug in ("pa", "pb"):
        ensure_tracker(url, slug)
    m0 = metrics(url)
    head0 = int(m0["flowtrack_log_head_sequence"])
    streams = []  # (stream, kind): "all" from before the burst, "pa", "late", "resume"

    def add(path, kind, headers=None):
        s = Stream(url, path, headers)
        streams.append((s, kind))
        return s

    for _ in range(count):
        add("/api/events", "all")
    for _ in range(20):
        add("/api/trackers/pa/events", "pa")
    for s, _ in streams:
        if s.read_headers() != 200:
            die("stream refused")
    wait_metric(url, lambda m: m["flowtrack_streams_open"] >= count + 20, 10, "all open")

    per, nthreads = 50, 4
    seqs = {}  # seq -> tracker slug, from the write's answer
    lock = threading.Lock()
    started = threading.Event()
    errors = []

    def publisher(k):
        h, p = addr(url)
        c = http.client.HTTPConnection(h, p, timeout=30)
        for i in range(per):
            slug = "pa" if (i + k) % 2 == 0 else "pb"
            c.request("POST", "/api/trackers/%s/items" % slug,
                      body=json.dumps({"text": "burst %d.%d" % (k, i)}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status != 201:
                errors.append("POST %d.%d: %d %s" % (k, i, r.status, data[:200]))
                return
            with lock:
                seqs[json.loads(data)["seq"]] = slug
                if len(seqs) >= nthreads * per // 4:
                    started.set()
        c.close()

    threads = [threading.Thread(target=publisher, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    # while the events of the first quarter of the burst are being fanned out
    if not started.wait(30):
        die("the burst's first quarter was not answered within 30 s: %s" % errors)
    late = [add("/api/events", "late") for _ in range(50)]
    late += [add("/api/events", "resume", {"Last-Event-ID": str(head0)}) for _ in range(50)]
    for s in late:
        if s.read_headers() != 200:
            die("stream opened during the burst refused")
    reset = set()
    for i in range(0, count, max(1, count // 100)):
        streams[i][0].rst()
        reset.add(i)
    for t in threads:
        t.join(60)
        if t.is_alive():
            die("a publisher did not finish within 60 s")
    if errors:
        die(errors[0])
    ref = sorted(seqs)
    ref_pa = [q for q in ref if seqs[q] == "pa"]
    if ref[0] <= head0 or len(ref) != nthreads * per:
        die("the writes' sequence numbers: %d from %d" % (len(ref), ref[0]))

    # read until every live stream has the last event it wants (bounded)
    live = {i: s for i, (s, _) in enumerate(streams) if i not in reset}
    got = {i: [] for i in live}
    want_last = {i: (ref_pa[-1] if streams[i][1] == "pa" else ref[-1]) for i in live}
    poller = select.poll()
    byfd = {}
    for i, s in live.items():
        poller.register(s.sock, select.POLLIN)
        byfd[s.sock.fileno()] = i
    pending = set(live)
    end = time.monotonic() + 60
    while pending and time.monotonic() < end:
        for fd, _ in poller.poll(200):
            i = byfd[fd]
            s = live[i]
            s.pump(0)
            for f in s.frames():
                if "id" in f and f.get("event") not in (None, "shutdown"):
                    got[i].append(int(f["id"]))
            if s.eof:
                poller.unregister(fd)
                pending.discard(i)
            elif got[i] and got[i][-1] >= want_last[i]:
                pending.discard(i)
    if pending:
        i = next(iter(pending))
        die("%d streams did not get the burst's last event within 60 s (one has %d events, "
            "the last %s)" % (len(pending), len(got[i]), got[i][-1:]))
    for i, ids in got.items():
        kind = streams[i][1]
        if kind == "pa":
            want = ref_pa
        elif kind in ("all", "resume"):
            want = ref
        else:  # opened during the burst: from where it started
            want = ref[ref.index(ids[0]):] if ids and ids[0] in seqs else None
        if ids != want:
            die("a %s stream got %d events, not the %s it wants (first %s, last %s)" %
                (kind, len(ids), len(want) if want else "suffix", ids[:3], ids[-3:]))
        live[i].close()
    m1 = metrics(url)
    delivered = m1["flowtrack_events_delivered_total"] - m0["flowtrack_events_delivered_total"]
    writes = m1["flowtrack_fanout_writes_total"] - m0["flowtrack_fanout_writes_total"]
    passes = m1["flowtrack_fanout_passes_total"] - m0["flowtrack_fanout_passes_total"]
    if writes <= 0 or passes <= 0:
        die("no fan-out writes or passes counted (%d, %d)" % (writes, passes))
    per_write = (delivered - 50 * len(ref)) / writes  # less the resumed streams' replay
    print("ok %d streams (%d reset, %d opened during the burst): %d events each, once and in "
          "order; %d passes, %.1f events per write" %
          (len(streams), len(reset), len(late), len(ref), passes, per_write))
    if per_write < 1.5:
        die("the passes carried %.2f events per write: writes waited for the fan-out" % per_write)


def sc_passes_term(url, count, pid):
    """SIGTERM (to PID) right after a burst of answered writes, with COUNT streams open: the
    events of every answered write reach each stream before its shutdown event."""
    count = int(count)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ensure_tracker(url, "pt")
    streams = [Stream(url, "/api/events") for _ in range(count)]
    for s in streams:
        if s.read_headers() != 200:
            die("stream refused")
    wait_metric(url, lambda m: m["flowtrack_streams_open"] >= count, 10, "all open")
    h, p = addr(url)
    c = http.client.HTTPConnection(h, p, timeout=30)
    seqs = []
    for i in range(30):
        c.request("POST", "/api/trackers/pt/items", body=json.dumps({"text": "last %d" % i}),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if r.status != 201:
            die("POST %d: %d %s" % (i, r.status, data[:200]))
        seqs.append(json.loads(data)["seq"])
    os.kill(int(pid), signal.SIGTERM)
    c.close()
    end = time.monotonic() + 30
    bad = 0
    for s in streams:
        while s.pump(max(0.0, end - time.monotonic())):
            if time.monotonic() > end:
                die("a stream did not end within 30 s of SIGTERM")
        ids = [int(f["id"]) for f in s.frames() if "id" in f and f.get("event") != "shutdown"]
        tail = ids[-len(seqs):]
        if tail != seqs:
            bad += 1
        s.close()
    if bad:
        die("%d of %d streams ended without every answered write's event" % (bad, count))
    print("ok SIGTERM after %d answered writes: all %d streams had every event, then the end" %
          (len(seqs), count))


SCENARIOS = {
    "passes-term": sc_passes_term,
    "passes": sc_passes,
    "mcp-spread": sc_mcp_spread,
    "mcp-probe": sc_mcp_probe,
    "mcp-hold": sc_mcp_hold,
    "headers": sc_headers,
    "idle-close": sc_idle_close,
    "mid-event": sc_mid_event,
    "half-read": sc_half_read,
    "resume": sc_resume,
    "resume-big": sc_resume_big,
    "slow-reader": sc_slow_reader,
    "latency": sc_latency,
    "many": sc_many,
    "probe": sc_probe,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in SCENARIOS:
        die("usage: sse.py {%s} URL [ARGS...]" % ",".join(SCENARIOS))
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    SCENARIOS[sys.argv[1]](*sys.argv[2:])
