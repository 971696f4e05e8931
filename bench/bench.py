#!/usr/bin/env python3
"""kb benchmark: whole-process timings on generated vaults, written to bench/RESULTS.md.

Usage: bench/run.sh [--quick | --huge] [--work DIR]

For each size (1,000, 10,000 and 100,000 notes; --quick: 1,000 and 10,000; --huge adds
1,000,000: index time and memory, search, add, link and recall there) it generates a vault
with ../shared/bench/gen_corpus.py (and its queries), commits it to git, and measures with
hyperfine and /usr/bin/time -v, on a warm page cache:
  - kb search end to end (p50, p95 over sampled generated queries), beside a bare tantivy search
    (bench/bare.rs: title + body, tantivy's query parser, one process per search) over the same
    notes and rg -i -F for the same text, in the same run (kb/bare and rg/kb ratios);
  - on the largest vault, a search right after the index, the notes and the binary were evicted
    from the page cache (vmtouch -e);
  - kb index with nothing changed; the release binary's size;
  - kb index --rebuild, and kb index after one note changed in place (full check); and the
    next search after one note was saved by an editor (write to a temporary file, rename);
  - kb add and kb link, each with its git commit;
  - peak memory of a search and of a rebuild; index size next to the notes' size;
  - recall@1 of the generated queries (../shared/eval/run_eval.py);
and, on the largest vault, kb scan of a generated 100 MB log (throughput, peak memory).
Nothing here is typed by hand: RESULTS.md is rewritten by every run.
"""
import argparse, datetime, json, os, random, re, shlex, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("KB_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
KB = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "kb")
BARE = os.path.join(os.path.dirname(KB), "examples", "bare")
GIT_ENV = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="kb bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="kb bench", GIT_COMMITTER_EMAIL="bench@example.com")
SEARCH_SAMPLE = 40


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, env=GIT_ENV, **kw)


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def hyperfine(commands, runs, warmup=0, prepare=None, ignore_failure=False, env=None):
    """Per-command lists of wall times (seconds), from hyperfine's JSON export; `env`: the
    environment of every command (default: GIT_ENV)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = ["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--warmup", str(warmup),
           "--export-json", out]
    if prepare:
        cmd += ["--prepare", prepare]
    if ignore_failure:
        cmd += ["-i"]
    subprocess.run(cmd + commands, stdout=subprocess.DEVNULL, check=True, env=env or GIT_ENV)
    with open(out) as f:
        data = json.load(f)
    os.unlink(out)
    return [r["times"] for r in data["results"]]


def time_v(cmd):
    """(wall seconds, peak RSS in MB) of one run, from /usr/bin/time -v."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=GIT_ENV, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = rss = None
    for line in p.stderr.splitlines():
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            parts = line.rsplit(" ", 1)[1].split(":")
            wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(parts)))
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(" ", 1)[1]) / 1024
    return wall, rss


def pct(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def q(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


def tree_bytes(path, skip_hidden=True):
    total = 0
    for d, dirs, files in os.walk(path):
        if skip_hidden:
            dirs[:] = [x for x in dirs if not x.startswith(".")]
        for f in files:
            if not skip_hidden or f.endswith(".md"):
                total += os.path.getsize(os.path.join(d, f))
    return total


def prepare_vault(work, n):
    vault = os.path.join(work, "vault-%d" % n)
    queries = os.path.join(work, "queries-%d.jsonl" % n)
    marker = os.path.join(work, "vault-%d.ready" % n)
    if not os.path.exists(marker):
        shutil.rmtree(vault, ignore_errors=True)
        log("generating %d notes" % n)
        run([sys.executable, os.path.join(SHARED, "bench", "gen_corpus.py"), vault, str(n), "--queries", queries],
            stdout=subprocess.DEVNULL)
        with open(os.path.join(vault, ".gitignore"), "w") as f:
            f.write("/.kb/\n")
        with open(os.path.join(vault, "kb.toml"), "w") as f:
            f.write("# kb vault (generated for the benchmark)\n")
        run(["git", "init", "-q", vault])
        run(["git", "-C", vault, "add", "-A"])
        run(["git", "-C", vault, "commit", "-qm", "generated corpus"])
        open(marker, "w").close()
    reset(vault)
    return vault, queries


def reset(vault):
    """Back to the generated state (the first commit): drop what earlier runs added or linked."""
    root = subprocess.run(["git", "-C", vault, "rev-list", "--max-parents=0", "HEAD"], env=GIT_ENV,
                          capture_output=True, text=True, check=True).stdout.split()[0]
    run(["git", "-C", vault, "reset", "-q", "--hard", root])
    run(["git", "-C", vault, "clean", "-fdq"])


def rewrite(path, text):
    """Save like an editor: a temporary file in the same folder, then rename."""
    tmp = path + ".tmp~"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def measure_size(n, work, rng, huge=False):
    vault, queries = prepare_vault(work, n)
    rows = [json.loads(l) for l in open(queries)]
    sample = rng.sample(rows, min(SEARCH_SAMPLE, len(rows)))
    r = {"notes": n}
    kbv = [KB, "--dir", vault, "-q"]

    log("%d: full index" % n)
    builds = [time_v(kbv + ["index", "--rebuild"]) for _ in range(1 if huge else 2 if n >= 100000 else 3)]
    r["rebuild_s"] = statistics.median(b[0] for b in builds)
    r["rebuild_rss_mb"] = max(b[1] for b in builds)
    r["index_mb"] = tree_bytes(os.path.join(vault, ".kb", "index"), skip_hidden=False) / 1e6
    r["notes_mb"] = tree_bytes(vault) / 1e6

    log("%d: search, and a bare tantivy search over the same notes" % n)
    bare_dir = os.path.join(work, "bare-%d" % n)
    run([BARE, "index", vault, bare_dir], stdout=subprocess.DEVNULL)
    cmds = [q(kbv + ["search", "--json", "--limit", "5", "--", row["query"]]) for row in sample]
    bare = [q([BARE, "search", bare_dir, row["query"]]) for row in sample]
    # One hyperfine run, kb and bare alternating query by query.
    both = hyperfine([c for pair in zip(cmds, bare) for c in pair], runs=5, warmup=1, ignore_failure=True)
    times = [t for ts in both[0::2] for t in ts]
    bare_times = [t for ts in both[1::2] for t in ts]
    r["search_p50_ms"] = pct(times, 0.5) * 1000
    r["search_p95_ms"] = pct(times, 0.95) * 1000
    r["bare_p50_ms"] = pct(bare_times, 0.5) * 1000
    r["kb_over_bare"] = r["search_p50_ms"] / r["bare_p50_ms"]
    r["search_rss_mb"] = max(time_v(kbv + ["search", "--", row["query"]])[1] for row in sample[:3])
    for k in ("mcp_p50_ms", "mcp_p95_ms", "web_search_p50_ms", "web_search_p95_ms", "web_note_p50_ms",
              "web_note_p95_ms", "web_rtt_p50_ms"):
        r[k] = None
    if n >= 10000:
        log("%d: kb mcp search round trips (Python MCP SDK client), same queries" % n)
        m = front_end_timing("mcp_roundtrip.py", vault, sample)
        r["mcp_p50_ms"], r["mcp_p95_ms"] = m["p50_ms"], m["p95_ms"]
        log("%d: kb serve pages (server time), same queries and their first hits' notes" % n)
        w = front_end_timing("web_pages.py", vault, sample)
        r["web_search_p50_ms"], r["web_search_p95_ms"] = w["search_p50_ms"], w["search_p95_ms"]
        r["web_note_p50_ms"], r["web_note_p95_ms"] = w["note_p50_ms"], w["note_p95_ms"]
        r["web_rtt_p50_ms"] = w["search_rtt_p50_ms"]
    shutil.rmtree(bare_dir, ignore_errors=True)
    if huge:
        r["index_nochange_ms"] = None
        r["cold_search_ms"] = None
    else:
        log("%d: kb index with nothing changed" % n)
        subprocess.run(kbv + ["index"], env=GIT_ENV, check=False)
        r["index_nochange_ms"] = statistics.median(hyperfine([q(kbv + ["index"])], runs=10, warmup=1,
                                                              ignore_failure=True)[0]) * 1000
        r["cold_search_ms"] = None
        if n >= 100000 and shutil.which("vmtouch"):
            log("%d: search on a cold page cache" % n)
            evict = q(["vmtouch", "-qe", vault, KB])
            cold = hyperfine([cmds[0]], runs=5, prepare=evict, ignore_failure=True)[0]
            r["cold_search_ms"] = statistics.median(cold) * 1000

    if huge:
        r.update(rg_p50_ms=None, speedup_vs_rg=None, incremental_full_check_ms=None,
                 incremental_editor_save_search_ms=None)
    else:
        measure_rg_and_incremental(r, n, kbv, vault, sample)
    log("%d: add and link" % n)
    add_and_link(r, kbv, vault, sample)
    log("%d: recall" % n)
    subprocess.run(kbv + ["index"], env=GIT_ENV, check=False)  # 1: nothing changed
    p = subprocess.run([sys.executable, os.path.join(SHARED, "eval", "run_eval.py"), KB, vault, queries],
                       env=GIT_ENV, capture_output=True, text=True, check=True)
    last = p.stdout.strip().splitlines()[-1]
    r["recall_line"] = last
    r["recall_at_1"] = float(re.search(r"recall@1 ([0-9.]+)", last).group(1))
    reset(vault)
    return r, vault, queries


def measure_rg_and_incremental(r, n, kbv, vault, sample):
    log("%d: rg" % n)
    rg_cmds = [q(["rg", "-i", "-F", "-l", "--", row["query"], vault]) for row in sample[:10]]
    rg_times = [t for ts in hyperfine(rg_cmds, runs=3, warmup=1, ignore_failure=True) for t in ts]
    r["rg_p50_ms"] = pct(rg_times, 0.5) * 1000
    r["speedup_vs_rg"] = r["rg_p50_ms"] / r["search_p50_ms"]

    log("%d: incremental" % n)
    first = sample[0]["expect"][0]
    note_path = None
    for d, _, files in os.walk(vault):
        if first + ".md" in files:
            note_path = os.path.join(d, first + ".md")
            break
    touch = q([sys.executable, "-c", "import sys; open(sys.argv[1], 'a').write('edited in place\\n')", note_path])
    inc = hyperfine([q(kbv + ["index"])], runs=10, warmup=0, prepare=touch)[0]
    r["incremental_full_check_ms"] = statistics.median(inc) * 1000
    saver = q([sys.executable, "-c",
               "import os,sys; p=sys.argv[1]; t=open(p).read()+'saved by an editor\\n'; "
               "open(p+'.tmp~','w').write(t); os.replace(p+'.tmp~',p)", note_path])
    inc2 = hyperfine([q(kbv + ["search", "--limit", "1", "--", "printer"])], runs=10, prepare=saver,
                     ignore_failure=True)[0]
    r["incremental_editor_save_search_ms"] = statistics.median(inc2) * 1000


def add_and_link(r, kbv, vault, sample):
    note_id = find_note_id(vault, sample[0]["expect"][0])
    add = hyperfine([q(kbv + ["add", "--yes", "--title", "Benchmark note", "--error",
                              "Benchmark error while syncing", "--fix", "Restart it."])], runs=10)[0]
    r["add_ms"] = statistics.median(add) * 1000
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
    link_cmds = [q(kbv + ["link", "Benchmark variant %s appeared after the update" % w, note_id]) for w in words]
    link = [t for ts in hyperfine(link_cmds, runs=1) for t in ts]
    r["link_ms"] = statistics.median(link) * 1000


def find_note_id(vault, stem):
    for d, _, files in os.walk(vault):
        if stem + ".md" in files:
            return os.path.relpath(os.path.join(d, stem + ".md"), vault)[:-3]
    raise SystemExit("bench: note %s not found" % stem)


NOISE = [
    "systemd[1]: Started Session {n} of user {u}.",
    "systemd[1]: Starting Daily apt download activities...",
    "CRON[{pid}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
    "kernel: [{n}.{n}] usb 1-{d}: new high-speed USB device number {d} using xhci_hcd",
    "NetworkManager[{pid}]: <info>  [{n}.{n}] dhcp4 (wlan0): state changed bound -> bound",
    "sshd[{pid}]: Accepted publickey for {u} from 10.{d}.{d}.{d} port {n} ssh2",
    "dockerd[{pid}]: time=\"2026-11-23T10:{d}{d}:00Z\" level=info msg=\"Container {h} started\"",
    "app[{pid}]: GET /api/v1/items/{n} 200 {n}ms",
    "smartd[{pid}]: Device: /dev/sda [SAT], SMART Usage Attribute: 194 Temperature_Celsius changed from {d}{d} to {d}{d}",
    "chronyd[{pid}]: Selected source 10.0.{d}.{d} (ntp{d}.example.net)",
]


def make_log(path, queries, size, rng):
    """A syslog-like file of `size` bytes: 20% of the lines carry errors recorded in the vault's
    notes with other variable parts (the generated queries), the rest is routine noise."""
    errors = [json.loads(l)["query"] for l in open(queries)]
    users = ["alice", "bob", "jsmith", "svc_backup"]
    written = 0
    with open(path, "w") as f:
        while written < size:
            ts = "Nov 23 %02d:%02d:%02d host-%02d " % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(1, 40))
            if rng.random() < 0.2:
                line = ts + "svc[%d]: %s\n" % (rng.randint(100, 65000), rng.choice(errors))
            else:
                line = ts + rng.choice(NOISE).format(n=rng.randint(1, 99999), u=rng.choice(users), pid=rng.randint(100, 65000),
                                                     d=rng.randint(0, 9), h="%012x" % rng.getrandbits(48)) + "\n"
            f.write(line)
            written += len(line)


def measure_sync(vault, work, changed=1000):
    """kb sync bringing in `changed` notes edited by a teammate: time, and how many notes it
    re-indexed (from git's diff, not a rescan)."""
    remote = os.path.join(work, os.path.basename(vault) + "-remote.git")
    mate = os.path.join(work, os.path.basename(vault) + "-mate")
    shutil.rmtree(remote, ignore_errors=True)
    shutil.rmtree(mate, ignore_errors=True)
    log("sync: preparing a remote and a teammate's %d edits" % changed)
    run(["git", "clone", "-q", "--bare", vault, remote])
    subprocess.run(["git", "-C", vault, "remote", "remove", "origin"], env=GIT_ENV, capture_output=True)
    run(["git", "-C", vault, "remote", "add", "origin", remote])
    branch = subprocess.run(["git", "-C", vault, "branch", "--show-current"], env=GIT_ENV, capture_output=True,
                            text=True, check=True).stdout.strip()
    run(["git", "-C", vault, "fetch", "-q", "origin"])
    run(["git", "-C", vault, "branch", "-q", "--set-upstream-to", "origin/" + branch])
    run(["git", "clone", "-q", remote, mate])
    notes = sorted(os.path.relpath(os.path.join(d, f), mate) for d, _, fs in os.walk(mate) if "/." not in d
                   for f in fs if f.endswith(".md"))
    for rel in notes[:changed]:
        with open(os.path.join(mate, rel), "a") as f:
            f.write("\nChecked again by a teammate.\n")
    run(["git", "-C", mate, "commit", "-qam", "teammate edits"])
    run(["git", "-C", mate, "push", "-q", "origin", "HEAD"])
    subprocess.run([KB, "--dir", vault, "-q", "index"], env=GIT_ENV, check=False)  # 1: nothing changed
    log("sync")
    start = time.perf_counter()
    p = subprocess.run([KB, "--dir", vault, "-q", "sync", "--json"], env=GIT_ENV, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    report = json.loads(p.stdout)
    reindexed = report["reindexed"]
    subprocess.run(["git", "-C", vault, "remote", "remove", "origin"], env=GIT_ENV, capture_output=True)
    shutil.rmtree(remote, ignore_errors=True)
    shutil.rmtree(mate, ignore_errors=True)
    return {"sync_s": wall, "sync_reindexed": reindexed, "sync_changed": changed}


def measure_two_vaults(vault, queries, work, rng):
    """The largest vault's notes split into two vaults of half the size, searched together as
    two configured vaults, against one search of the whole vault: same queries, one hyperfine
    run, alternating."""
    n = int(os.path.basename(vault).split("-")[-1])
    home = os.path.join(work, "two-vaults-%d" % n)
    halves = [os.path.join(home, "half-a"), os.path.join(home, "half-b")]
    marker = os.path.join(home, ".ready")
    if not os.path.exists(marker):
        log("two vaults: splitting %d notes in two" % n)
        shutil.rmtree(home, ignore_errors=True)
        notes = sorted(os.path.relpath(os.path.join(d, f), vault) for d, _, fs in os.walk(vault)
                       if "/." not in d and not os.path.relpath(d, vault).startswith(".") for f in fs if f.endswith(".md"))
        for i, rel in enumerate(notes):
            dst = os.path.join(halves[i % 2], rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.link(os.path.join(vault, rel), dst)
        for h in halves:
            with open(os.path.join(h, "kb.toml"), "w") as f:
                f.write("# half of the benchmark vault\n")
        open(marker, "w").close()
    config = os.path.join(home, ".config", "kb")
    os.makedirs(config, exist_ok=True)
    with open(os.path.join(config, "config.toml"), "w") as f:
        f.write("default_vault = \"a\"\n[vaults.a]\npath = \"%s\"\n[vaults.b]\npath = \"%s\"\n" % tuple(halves))
    for h in halves:
        subprocess.run([KB, "--dir", h, "-q", "index"], env=GIT_ENV, check=False, stdout=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(queries)]
    sample = rng.sample(rows, min(SEARCH_SAMPLE, len(rows)))
    # Every command runs with HOME and XDG_CONFIG_HOME at the two vaults' configuration: the
    # one-vault search names its vault with --dir (one vault, the configuration unused), the
    # two-vault search names none.
    env = dict(GIT_ENV, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"))
    env.pop("KB_DIR", None)
    one = [q([KB, "--dir", vault, "-q", "search", "--json", "--limit", "5", "--", r["query"]]) for r in sample]
    two = [q([KB, "-q", "search", "--json", "--limit", "5", "--", r["query"]]) for r in sample]
    log("two vaults: search")
    both = hyperfine([c for pair in zip(one, two) for c in pair], runs=5, warmup=1, ignore_failure=True, env=env)
    t_one = [t for ts in both[0::2] for t in ts]
    t_two = [t for ts in both[1::2] for t in ts]
    # The same hits: the two vaults return the notes one vault returns, in the same order.
    same = 0
    for r in sample[:10]:
        a = subprocess.run([KB, "--dir", vault, "-q", "search", "--json", "--limit", "1", "--", r["query"]],
                           capture_output=True, text=True, env=GIT_ENV).stdout
        b = subprocess.run([KB, "-q", "search", "--json", "--limit", "1", "--", r["query"]],
                           capture_output=True, text=True, env=env).stdout
        ids = lambda out: [h["path"] for h in json.loads(out or "[]")]
        same += ids(a) == ids(b)
    return {"two_vaults_notes": n, "one_p50_ms": pct(t_one, 0.5) * 1000, "two_p50_ms": pct(t_two, 0.5) * 1000,
            "two_same_top": same}


def measure_scan(vault, queries, work, rng):
    n = os.path.basename(vault).split("-")[-1]
    path = os.path.join(work, "scan-100MB-%s.log" % n)
    size = 100 * 1000 * 1000
    if not os.path.exists(path) or os.path.getsize(path) < size:
        log("generating a 100 MB log")
        make_log(path, queries, size, rng)
    log("scan")
    wall, rss = time_v([KB, "--dir", vault, "-q", "scan", "--json", path])
    # How well: the first 20,000 lines that carry an error, and 50,000 lines of noise, apart.
    errors, noise = [], []
    for line in open(path):
        (errors if " svc[" in line else noise).append(line)
        if len(errors) >= 20000 and len(noise) >= 50000:
            break
    def matched(lines):
        p = subprocess.run([KB, "--dir", vault, "-q", "scan", "--json", "-"], input="".join(lines),
                           capture_output=True, text=True)
        return json.loads(p.stdout)["matched"]
    mb = os.path.getsize(path) / 1e6
    return {"scan_s": wall, "scan_rss_mb": rss, "scan_mb": mb, "scan_mb_per_s": mb / wall,
            "scan_error_lines": len(errors[:20000]), "scan_error_matched": matched(errors[:20000]),
            "scan_noise_lines": len(noise[:50000]), "scan_noise_matched": matched(noise[:50000])}


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%.3f" % v if v < 1 else "%.1f" % v) + unit
    return str(v) + unit


def front_end_timing(script, vault, sample):
    """Run bench/SCRIPT (a long-running front end's timing: kb mcp, kb serve) on the vault with
    the sampled queries, 5 runs each; its last line of JSON."""
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", script), KB, vault,
                        json.dumps([row["query"] for row in sample]), "5"],
                       env=GIT_ENV, capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1,000 and 10,000 notes only")
    ap.add_argument("--huge", action="store_true", help="also 1,000,000 notes (an hour or more)")
    ap.add_argument("--work", default=os.environ.get("KB_BENCH_DIR", "/tmp/kb-bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    a = ap.parse_args()
    for tool in ("hyperfine", "rg", "git", "/usr/bin/time"):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (Debian: apt-get install hyperfine ripgrep git time)" % tool)
    os.makedirs(a.work, exist_ok=True)
    started = time.time()
    log("building kb (release)")
    run(["cargo", "build", "--release", "--quiet", "--bin", "kb", "--example", "bare"], cwd=ROOT)
    sizes = [1000, 10000] if a.quick else [1000, 10000, 100000]
    rng = random.Random(5)
    results, vault, queries = [], None, None
    for n in sizes:
        r, vault, queries = measure_size(n, a.work, rng)
        results.append(r)
    scan = measure_scan(vault, queries, a.work, rng)
    scan.update(measure_sync(vault, a.work))
    scan.update(measure_two_vaults(vault, queries, a.work, rng))
    reset(vault)
    if a.huge:
        r, _, _ = measure_size(1000000, a.work, rng, huge=True)
        results.append(r)
    scan["binary_mb"] = os.path.getsize(KB) / 1e6
    write_results(a, results, scan, time.time() - started)


def write_results(a, results, scan, elapsed):
    by = {r["notes"]: r for r in results}
    huge = by.get(1000000)
    results_std = [r for r in results if r["notes"] < 1000000]
    small, largest = results_std[0], results_std[-1]
    big = by.get(100000)
    ten = by.get(10000)
    targets = []

    def target(name, ok, measured):
        targets.append((name, "met" if ok else "NOT met", measured))

    if ten:
        target("search p50 <= 10 ms at 10,000 notes", ten["search_p50_ms"] <= 10, fmt(ten["search_p50_ms"], " ms"))
    if big:
        target("search p50 <= 15 ms at 100,000 notes", big["search_p50_ms"] <= 15, fmt(big["search_p50_ms"], " ms"))
    for r in results:
        target("search p95 <= 2 x p50 at %d notes" % r["notes"], r["search_p95_ms"] <= 2 * r["search_p50_ms"],
               "%s / %s ms" % (fmt(r["search_p95_ms"]), fmt(r["search_p50_ms"])))
    if big:
        target("search >= 20x faster than rg at 100,000 notes", big["speedup_vs_rg"] >= 20, fmt(big["speedup_vs_rg"], "x"))
        target("search at 100,000 <= 3 x search at 1,000", big["search_p50_ms"] <= 3 * small["search_p50_ms"],
               "%s x" % fmt(big["search_p50_ms"] / small["search_p50_ms"]))
        target("full index of 100,000 notes <= 10 s", big["rebuild_s"] <= 10, fmt(big["rebuild_s"], " s"))
    target("incremental update after one changed note <= 100 ms (kb index, full check, %d notes)" % largest["notes"],
           largest["incremental_full_check_ms"] <= 100, fmt(largest["incremental_full_check_ms"], " ms"))
    target("incremental update after one note saved by an editor, with the search (%d notes)" % largest["notes"],
           largest["incremental_editor_save_search_ms"] <= 100, fmt(largest["incremental_editor_save_search_ms"], " ms"))
    target("kb add with commit <= 100 ms (%d notes)" % largest["notes"], largest["add_ms"] <= 100, fmt(largest["add_ms"], " ms"))
    target("kb link with commit <= 100 ms (%d notes)" % largest["notes"], largest["link_ms"] <= 100, fmt(largest["link_ms"], " ms"))
    target("kb index with nothing changed <= 100 ms (%d notes)" % largest["notes"], largest["index_nochange_ms"] <= 100,
           fmt(largest["index_nochange_ms"], " ms"))
    target("kb search p50 <= 1.15 x a bare tantivy search (%d notes, same run)" % largest["notes"],
           largest["kb_over_bare"] <= 1.15, "%s x (%s / %s ms)" % (fmt(largest["kb_over_bare"]),
           fmt(largest["search_p50_ms"]), fmt(largest["bare_p50_ms"])))
    if largest.get("cold_search_ms") is not None:
        target("search on a cold page cache <= 100 ms (%d notes)" % largest["notes"], largest["cold_search_ms"] <= 100,
               fmt(largest["cold_search_ms"], " ms"))
    target("release binary <= 20 MB", scan["binary_mb"] <= 20, fmt(scan["binary_mb"], " MB"))
    if huge:
        target("full index of 1,000,000 notes <= 120 s", huge["rebuild_s"] <= 120, fmt(huge["rebuild_s"], " s"))
        target("full index of 1,000,000 notes: peak memory <= 1 GB", huge["rebuild_rss_mb"] <= 1000,
               fmt(huge["rebuild_rss_mb"], " MB"))
        target("search p50 <= 25 ms at 1,000,000 notes", huge["search_p50_ms"] <= 25, fmt(huge["search_p50_ms"], " ms"))
        target("generated-query recall@1 >= 0.99 at 1,000,000 notes", huge["recall_at_1"] >= 0.99, fmt(huge["recall_at_1"]))
    half = scan["two_vaults_notes"] // 2
    target("search of two vaults of %d notes <= 1.3 x one vault of %d (same notes, same run)" % (half, scan["two_vaults_notes"]),
           scan["two_p50_ms"] <= 1.3 * scan["one_p50_ms"],
           "%s x (%s / %s ms); same best hit for %d of 10 queries" % (
               fmt(scan["two_p50_ms"] / scan["one_p50_ms"]), fmt(scan["two_p50_ms"]), fmt(scan["one_p50_ms"]),
               scan["two_same_top"]))
    target("kb sync of %d changed notes re-indexes only those" % scan["sync_changed"],
           scan["sync_reindexed"] == scan["sync_changed"], "%d re-indexed" % scan["sync_reindexed"])
    target("kb scan of 100 MB <= 10 s", scan["scan_s"] <= 10, fmt(scan["scan_s"], " s"))
    target("kb scan peak memory <= 200 MB", scan["scan_rss_mb"] <= 200, fmt(scan["scan_rss_mb"], " MB"))
    for r in results_std:
        target("search peak memory <= 50 MB at %d notes" % r["notes"], r["search_rss_mb"] <= 50, fmt(r["search_rss_mb"], " MB"))
        target("index size <= 60%% of the notes' text at %d notes" % r["notes"], r["index_mb"] <= 0.6 * r["notes_mb"],
               "%.0f%%" % (100 * r["index_mb"] / r["notes_mb"]))
        target("generated-query recall@1 >= 0.99 at %d notes" % r["notes"], r["recall_at_1"] >= 0.99, fmt(r["recall_at_1"]))

    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    rows = [
        ("notes", "notes", ""),
        ("notes' text (MB)", "notes_mb", ""),
        ("index on disk (MB)", "index_mb", ""),
        ("kb search p50 (ms)", "search_p50_ms", ""),
        ("kb search p95 (ms)", "search_p95_ms", ""),
        ("bare tantivy search p50 (ms)", "bare_p50_ms", ""),
        ("kb / bare tantivy", "kb_over_bare", ""),
        ("rg -i -F p50 (ms)", "rg_p50_ms", ""),
        ("kb speed-up over rg", "speedup_vs_rg", ""),
        ("kb mcp search round trip p50, warm server (ms)", "mcp_p50_ms", ""),
        ("kb mcp search round trip p95, warm server (ms)", "mcp_p95_ms", ""),
        ("kb serve search page p50, server time (ms)", "web_search_p50_ms", ""),
        ("kb serve search page p95, server time (ms)", "web_search_p95_ms", ""),
        ("kb serve search page p50, loopback round trip (ms)", "web_rtt_p50_ms", ""),
        ("kb serve note page p50, server time (ms)", "web_note_p50_ms", ""),
        ("kb serve note page p95, server time (ms)", "web_note_p95_ms", ""),
        ("kb search peak RSS (MB)", "search_rss_mb", ""),
        ("kb index --rebuild (s)", "rebuild_s", ""),
        ("rebuild peak RSS (MB)", "rebuild_rss_mb", ""),
        ("kb index with nothing changed (ms)", "index_nochange_ms", ""),
        ("kb index after one note edited in place (ms)", "incremental_full_check_ms", ""),
        ("kb search after one note saved by an editor (ms)", "incremental_editor_save_search_ms", ""),
        ("kb add, with commit (ms)", "add_ms", ""),
        ("kb link, with commit (ms)", "link_ms", ""),
        ("generated-query recall@1", "recall_at_1", ""),
        ("search on a cold page cache (ms)", "cold_search_ms", ""),
    ]
    lines = ["# kb benchmark results", "",
             "Written by `bench/run.sh%s` on %s; do not edit by hand." % (" --quick" if a.quick else " --huge" if a.huge else "", datetime.date.today().isoformat()), "",
             "- machine: %d cores (%s), kb %s" % (os.cpu_count(), cpu or "unknown CPU", commit),
             "- whole processes, warm page cache; search: %d sampled generated queries x 5 runs each" % SEARCH_SAMPLE,
             "- run time: %.0f s; release binary %s MB" % (elapsed, fmt(scan["binary_mb"])), "",
             "| measure | " + " | ".join("%d notes" % r["notes"] for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for label, key, unit in rows:
        lines.append("| %s | %s |" % (label, " | ".join(fmt(r[key]) for r in results)))
    lines += ["", "Scan of a generated %.0f MB log (%d-note vault): %s s, %s MB/s, peak RSS %s MB. Of %d lines "
              "carrying a recorded error with other variable parts, %d matched; of %d routine lines, %d matched." % (
        scan["scan_mb"], largest["notes"], fmt(scan["scan_s"]), fmt(scan["scan_mb_per_s"]), fmt(scan["scan_rss_mb"]),
        scan["scan_error_lines"], scan["scan_error_matched"], scan["scan_noise_lines"], scan["scan_noise_matched"]), ""]
    lines += ["kb sync bringing in %d notes a teammate changed (%d-note vault): %s s; notes re-indexed: %d "
              "(from git's diff; a full rebuild of this vault takes %s s)." % (
        scan["sync_changed"], largest["notes"], fmt(scan["sync_s"]), scan["sync_reindexed"], fmt(largest["rebuild_s"])), ""]
    lines += ["Recall lines as printed by run_eval.py:", ""]
    lines += ["- %d notes: `%s`" % (r["notes"], r["recall_line"]) for r in results]
    lines += ["", "## Targets", "", "| target | measured | |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % (name, measured, ok) for name, ok, measured in targets]
    text = "\n".join(lines) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
