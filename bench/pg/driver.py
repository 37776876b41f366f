"""bench/pg's client: write throughput through the API and fan-out latency.

    driver.py LABEL WRITE_URLS STREAM_URL SLUG WRITERS WRITES PROBES

WRITE_URLS is a comma-separated list of servers; writers take them in turn. One stream of
STREAM_URL (/api/events) is open throughout.
  throughput: WRITERS threads, each WRITES item adds (keep-alive connection of its own), at
              once: acknowledged writes per second, and every write must be acknowledged;
  latency:    PROBES single writes, one after the other, each through the last of WRITE_URLS:
              the time from sending the request to the event's arrival on the stream (p50,
              p99, max), and from the reply to the arrival.
Prints one line: LABEL, writes/s, latency percentiles in ms.
"""
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse


class Stream:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=60)
        self.sock.sendall(f"GET /api/events HTTP/1.1\r\nHost: {u.netloc}\r\n"
                          "Accept: text/event-stream\r\n\r\n".encode())
        self.seen = {}  # seq -> arrival time
        self.cond = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.startswith(b"id: "):
                    with self.cond:
                        self.seen[int(line[4:])] = now
                        self.cond.notify_all()

    def wait(self, seq, timeout=10):
        end = time.monotonic() + timeout
        with self.cond:
            while seq not in self.seen:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.seen[seq]


class Client:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def add(self, slug, text):
        self.c.request("POST", f"/api/trackers/{slug}/items", json.dumps({"text": text}),
                       {"Content-Type": "application/json"})
        r = self.c.getresponse()
        body = r.read()
        if r.status != 201:
            raise SystemExit(f"POST: {r.status} {body[:200]}")
        return r.getheader("ETag")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    label, urls, stream_url, slug = sys.argv[1], sys.argv[2].split(","), sys.argv[3], sys.argv[4]
    writers, writes, probes = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    st = Stream(stream_url)
    time.sleep(0.3)

    def writer(k):
        c = Client(urls[k % len(urls)])
        for i in range(writes):
            c.add(slug, f"w{k} {i}")

    th = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    t0 = time.monotonic()
    for x in th:
        x.start()
    for x in th:
        x.join()
    secs = time.monotonic() - t0
    rate = writers * writes / secs

    c = Client(urls[-1])
    send, reply = [], []
    for i in range(probes):
        t0 = time.monotonic()
        etag = c.add(slug, f"probe {i}")
        t1 = time.monotonic()
        seq = int(etag.strip('"W/')) if etag else None
        if seq is None:
            raise SystemExit("no ETag on the reply: cannot name the event")
        t2 = st.wait(seq)
        if t2 is None:
            raise SystemExit(f"event {seq} never reached the stream")
        send.append(1000 * (t2 - t0))
        reply.append(1000 * (t2 - t1))
        time.sleep(0.01)
    print(f"{label:<28} {rate:9.0f} {pct(send, 50):8.2f} {pct(send, 99):8.2f} {max(send):8.2f}"
          f" {pct(reply, 50):9.2f} {pct(reply, 99):9.2f}", flush=True)


main()
