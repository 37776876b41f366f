"""Two servers on one PostgreSQL store (tests/e2e/t4600-pg-two-servers.sh).

    pgtwo.py URL_A URL_B FLOWTRACK SLUG WRITERS WRITES

Opens /api/events on both servers, then:
  1. adds an item through B and one with the command line (FLOWTRACK, on the same store);
     each must reach the stream on A (and B): prints the latency from the write's
     acknowledgement to the event's arrival on A;
  2. runs WRITERS writers (half through A, half through B), WRITES item adds each, at once:
     every write must be acknowledged (201);
  3. waits (bounded) until both streams have seen every event of the store's history,
     then checks that each saw every event exactly once, in order, and that the items'
     numbers are unique;
  4. a stream on B resumed with Last-Event-ID from an event seen on A gets exactly the
     events after it;
  5. 8 claimers of one item, half through each server, at once: exactly one wins (200),
     the others get 409;
  6. read after write across servers: 100 times, an item added through one server is in the
     other's GET of the tracker sent right after the write's reply (the documents are served
     from the render cache, which must never answer a write already acknowledged with the
     old document).
Prints "ok ..." lines; exits 1 with a message on the first failure.
"""
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse


def die(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


class Stream:
    """An SSE client of URL/api/events: every (id, kind, arrival time) it receives."""

    def __init__(self, url, last_event_id=None):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        resume = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
        self.sock.sendall(f"GET /api/events?envelope=1 HTTP/1.1\r\nHost: {u.netloc}\r\n"
                          f"Accept: text/event-stream\r\n{resume}\r\n".encode())
        self.events = []  # (seq, kind, time)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        buf = b""
        cur = None
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.rstrip(b"\r")
                    if line.startswith(b"id: "):
                        cur = int(line[4:])
                    elif line.startswith(b"event: ") and cur is not None:
                        with self.cond:
                            self.events.append((cur, line[7:].decode(), time.monotonic()))
                            self.cond.notify_all()
                        cur = None
        except OSError:
            return

    def wait_for(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                hit = pred(self.events)
                if hit is not None:
                    return hit
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def post(url, path, body, actor=None):
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if actor:
        headers["Flowtrack-Actor"] = actor
    c.request("POST", path, json.dumps(body), headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def get(url, path):
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        die(f"GET {path}: {r.status}")
    return json.loads(data)


def arrival_after(stream, seq, timeout=10):
    return stream.wait_for(lambda ev: next((t for s, _, t in ev if s == seq), None), timeout)


def main():
    url_a, url_b, ft, slug = sys.argv[1:5]
    writers, writes = int(sys.argv[5]), int(sys.argv[6])
    sa, sb = Stream(url_a), Stream(url_b)
    time.sleep(0.3)  # both streams registered

    # 1. a write through B, and one by the command line, reach the stream on A
    t0 = time.monotonic()
    st, body = post(url_b, f"/api/trackers/{slug}/items", {"text": "written through B"})
    t1 = time.monotonic()
    if st != 201:
        die(f"POST through B: {st} {body[:200]}")
    seq = get(url_b, f"/api/trackers/{slug}/history?limit=1")
    seq = seq["events"][-1]["seq"] if isinstance(seq, dict) else seq[-1]["seq"]
    t = arrival_after(sa, seq)
    if t is None:
        die(f"the event {seq} written through B never reached the stream on A")
    print(f"ok write through B reached A {1000 * (t - t1):.1f} ms after its reply "
          f"(request {1000 * (t1 - t0):.1f} ms)", flush=True)
    t0 = time.monotonic()
    subprocess.run([ft, "-t", slug, "item", "add", "written by the command line"], check=True,
                   stdout=subprocess.DEVNULL, timeout=60)
    t1 = time.monotonic()
    last = get(url_a, f"/api/trackers/{slug}/history?limit=1")
    seq = last["events"][-1]["seq"] if isinstance(last, dict) else last[-1]["seq"]
    t = arrival_after(sa, seq)
    if t is None or arrival_after(sb, seq) is None:
        die(f"the command line's event {seq} did not reach both streams")
    print(f"ok command-line write reached A {1000 * (t - t1):.1f} ms after it exited", flush=True)

    # 2. concurrent writers through both servers
    fails = []

    def writer(k):
        url = url_a if k % 2 == 0 else url_b
        for i in range(writes):
            st, body = post(url, f"/api/trackers/{slug}/items", {"text": f"w{k} #{i}"})
            if st != 201:
                fails.append(f"writer {k} write {i}: {st} {body[:200]}")
                return

    th = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    t0 = time.monotonic()
    for x in th:
        x.start()
    for x in th:
        x.join(120)
    secs = time.monotonic() - t0
    if fails:
        die(fails[0])
    print(f"ok {writers} writers x {writes} writes through both servers in {secs:.2f} s",
          flush=True)

    # 3. every event seen once, in order, by both streams
    hist = []
    since = 0
    while True:
        page = get(url_a, f"/api/history?since={since}&limit=1000")
        evs = page["events"] if isinstance(page, dict) else page
        if not evs:
            break
        hist += [e["seq"] for e in evs]
        since = evs[-1]["seq"]
    first = sa.events[0][0] if sa.events else None
    want = [s for s in hist if first is not None and s >= first]
    for name, s in (("A", sa), ("B", sb)):
        got = s.wait_for(lambda ev: ev if len(ev) >= len(want) else None, 30)
        if got is None:
            die(f"stream {name} saw {len(s.events)} events of {len(want)}")
        seqs = [x[0] for x in got]
        if seqs != want:
            dup = len(seqs) - len(set(seqs))
            die(f"stream {name}: {len(seqs)} events, {dup} duplicates, in order: "
                f"{seqs == sorted(seqs)}; want {len(want)}")
        print(f"ok stream {name} saw all {len(want)} events once, in order", flush=True)

    items = get(url_b, f"/api/trackers/{slug}/items")
    items = items["items"] if isinstance(items, dict) else items
    nums = [i["num"] for i in items]
    if len(nums) != len(set(nums)) or len(nums) != writers * writes + 2:
        die(f"{len(nums)} items, {len(set(nums))} distinct numbers; want {writers * writes + 2}")
    print(f"ok {len(nums)} items, numbers unique", flush=True)

    # 4. resuming on the other server
    mid = want[len(want) // 2]
    rest = [x for x in want if x > mid]
    sr = Stream(url_b, last_event_id=mid)
    got = sr.wait_for(lambda ev: ev if len(ev) >= len(rest) else None, 30)
    if got is None or [x[0] for x in got] != rest:
        die(f"resumed on B after {mid}: {len(sr.events)} events, want the {len(rest)} after it")
    print(f"ok Last-Event-ID {mid} (seen on A) resumed on B: the {len(rest)} events after it",
          flush=True)
    sr.close()

    # 5. claims across servers
    st, body = post(url_a, f"/api/trackers/{slug}/items", {"text": "claimed by one"})
    if st != 201:
        die(f"POST item to claim: {st}")
    num = json.loads(body)["entry"]["num"] if "entry" in json.loads(body) else json.loads(body)["num"]
    results = []
    gate = threading.Barrier(8)

    def claimer(k):
        gate.wait()
        st, _ = post(url_a if k % 2 == 0 else url_b, f"/api/trackers/{slug}/items/{num}/claim",
                     {}, actor=f"agent-{k}")
        results.append(st)

    th = [threading.Thread(target=claimer, args=(k,)) for k in range(8)]
    for x in th:
        x.start()
    for x in th:
        x.join(60)
    if sorted(results) != [200] + [409] * 7:
        die(f"8 claimers through two servers: {sorted(results)}")
    print("ok 8 claimers through two servers: one 200, seven 409", flush=True)

    # 6. read after write across servers
    get(url_a, f"/api/trackers/{slug}")
    get(url_b, f"/api/trackers/{slug}")
    stale = 0
    for k in range(100):
        w, r = (url_b, url_a) if k % 2 == 0 else (url_a, url_b)
        text = f"read after write {k}"
        st, _ = post(w, f"/api/trackers/{slug}/items", {"text": text})
        if st != 201:
            die(f"POST {text}: {st}")
        doc = get(r, f"/api/trackers/{slug}")
        if not any(i["text"] == text for i in doc["items"]):
            stale += 1
    if stale:
        die(f"read after write across servers: {stale} of 100 GETs answered without the write")
    print("ok read after write across servers: 100 of 100 GETs had the write", flush=True)
    sa.close()
    sb.close()


main()
