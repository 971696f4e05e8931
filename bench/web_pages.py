"""Time `kb serve` pages: the server's own time (its Server-Timing header) and the round trip
over one keep-alive loopback connection.

Usage: web_pages.py KB VAULT QUERIES_JSON RUNS
Starts one server (port chosen by the system), warms it with one search per query, then
requests each query's search page RUNS times, and the note page of each query's first hit
RUNS times. Prints {"search_p50_ms", "search_p95_ms", "note_p50_ms", "note_p95_ms",
"search_rtt_p50_ms", "n"} as JSON.
"""
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.parse


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


def main(kb, vault, queries, runs):
    server = subprocess.Popen([kb, "--dir", vault, "-q", "serve", "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = urllib.parse.urlparse(server.stdout.readline().strip())
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

        def get(path):
            t = time.perf_counter()
            conn.request("GET", path, headers={"Host": url.netloc})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            rtt = time.perf_counter() - t
            timing = resp.getheader("Server-Timing", "")
            m = re.search(r"dur=([0-9.]+)", timing)
            if resp.status != 200 or not m:
                raise SystemExit("GET %s: %d %s" % (path, resp.status, timing))
            return float(m.group(1)), rtt * 1000, body

        paths = ["/?q=" + urllib.parse.quote(q) for q in queries]
        notes = []
        for p in paths:
            _, _, body = get(p)
            hit = re.search(r'class="title" href="(/note/[^"]+)"', body)
            if hit:
                notes.append(hit.group(1))
        search, rtt, note = [], [], []
        for _ in range(runs):
            for p in paths:
                s, r, _ = get(p)
                search.append(s)
                rtt.append(r)
            for p in notes:
                note.append(get(p)[0])
        print(json.dumps({"n": len(search), "search_p50_ms": pct(search, 0.5),
                          "search_p95_ms": pct(search, 0.95), "search_rtt_p50_ms": pct(rtt, 0.5),
                          "note_p50_ms": pct(note, 0.5), "note_p95_ms": pct(note, 0.95)}))
    finally:
        server.kill()
        server.wait()


main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]))
