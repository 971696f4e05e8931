#!/usr/bin/env python3
"""The embedding model's costs, measured with the real all-MiniLM-L6-v2 (tests/fetch_model.sh)
on a generated vault (../shared/bench/gen_corpus.py), whole `kb` processes, warm page cache:

- model load and one sentence (`kb model check`, median of 5);
- `kb index` computing every note's vectors: time, notes/s, passages, the vectors' file size;
  the time for 100,000 notes is estimated from that throughput unless --embed-100k (hours);
- typed questions (../shared/eval/symptoms: 20 support problems in a caller's words) with the
  model and without (KB_MODEL empty), CLI p50/p95, and `kb mcp` round trips with and without;
- pasted errors (gen_corpus queries) with the model configured and without.

With --questions-100k the questions are also timed on 100,000 notes whose vectors were
computed beforehand (by an earlier run, or now, untimed: hours on 2 cores); the time to compute
them is then estimated from the first size's throughput. --embed-100k times that too.

Writes its section of bench/RESULTS.md (between the markers below; bench/run.sh runs it after
bench.py).   python3 bench/meaning.py [--notes 10000] [--embed-100k | --questions-100k]
"""
import argparse
import json
import os
import re
import random
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("KB_SHARED", os.path.join(ROOT, "..", "shared"))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
KB = os.path.join(TARGET, "release", "kb")
BEGIN, END = "<!-- meaning: begin -->", "<!-- meaning: end -->"


def log(msg):
    print("meaning: " + msg, file=sys.stderr, flush=True)


def env_with(model):
    e = dict(os.environ)
    e["KB_MODEL"] = model or ""
    return e


def hyperfine(cmds, runs, env):
    out = os.path.join(TARGET, "meaning-hf.json")
    subprocess.run(["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--warmup", "1",
                    "-i", "--export-json", out] + cmds, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [r["times"] for r in json.load(open(out))["results"]]


def q(args):
    return " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


def vault_of(work, n):
    vault = os.path.join(work, "vault-%d" % n)
    queries = os.path.join(work, "queries-%d.jsonl" % n)
    if not os.path.exists(queries):
        log("generating %d notes" % n)
        subprocess.run([sys.executable, os.path.join(SHARED, "bench", "gen_corpus.py"), vault, str(n),
                        "--queries", queries], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([KB, "--dir", vault, "-q", "index"], env=env_with(None), check=True)
    return vault, queries


def model_load(model):
    loads, firsts = [], []
    for _ in range(5):
        p = subprocess.run([KB, "model", "check", model], capture_output=True, text=True, check=True)
        m = re.search(r"loaded in (\d+) ms.*?; one sentence embedded in (\d+) ms", p.stdout)
        loads.append(int(m.group(1)))
        firsts.append(int(m.group(2)))
    return statistics.median(loads), statistics.median(firsts)


def state_dir(vault):
    """kb's folder of the vault: `.kb` inside it, or in the cache folder for a folder of notes
    that is not a vault (gen_corpus writes no kb.toml); the one whose index was used last."""
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "kb")
    dirs = [os.path.join(vault, ".kb")] + [os.path.join(cache, d) for d in
                                           (os.listdir(cache) if os.path.isdir(cache) else [])]
    dirs = [d for d in dirs if os.path.exists(os.path.join(d, "dirs.bin"))]
    return max(dirs, key=lambda d: os.path.getmtime(os.path.join(d, "dirs.bin")))


def stored(store):
    """Notes and passages in a vectors' file (its header: magic, fingerprint, dim, notes,
    passages)."""
    with open(store, "rb") as f:
        head = f.read(32)
    return int.from_bytes(head[20:24], "little"), int.from_bytes(head[24:28], "little")


def embed(vault, model, timed=True):
    subprocess.run([KB, "--dir", vault, "-q", "index"], env=env_with(None), check=True)
    kb_dir = state_dir(vault)
    store = os.path.join(kb_dir, "embeddings.bin")
    if not timed:
        log("computing the vectors that are missing (not timed)")
        subprocess.run([KB, "--dir", vault, "-q", "index"], env=env_with(model), check=True)
        notes, passages = stored(store)
        return None, notes, passages, os.path.getsize(store) / 1e6, kb_dir
    if os.path.exists(store):
        os.remove(store)
    t0 = time.perf_counter()
    p = subprocess.run([KB, "--dir", vault, "index"], env=env_with(model), capture_output=True,
                       text=True, check=True)
    secs = time.perf_counter() - t0
    m = re.search(r"(\d+) notes? embedded \((\d+) passages\)", p.stderr)
    notes, passages = int(m.group(1)), int(m.group(2))
    return secs, notes, passages, os.path.getsize(store) / 1e6, kb_dir


def cli_times(vault, queries, model, runs=5):
    cmds = [q([KB, "--dir", vault, "search", "--json", "--limit", "5", "--", t]) for t in queries]
    return [t * 1000 for ts in hyperfine(cmds, runs, env_with(model)) for t in ts]


def mcp_times(vault, queries, model):
    p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "mcp_roundtrip.py"), KB, vault,
                        json.dumps(queries), "5"], env=env_with(model), capture_output=True,
                       text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--notes", type=int, default=10000)
    ap.add_argument("--embed-100k", action="store_true",
                    help="also compute the vectors of 100,000 notes (hours on 2 cores)")
    ap.add_argument("--questions-100k", action="store_true",
                    help="also time the questions on 100,000 notes, their vectors computed beforehand")
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    model = subprocess.run(["bash", os.path.join(ROOT, "tests", "fetch_model.sh")], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()
    work = os.path.join(TARGET, "bench-meaning")
    os.makedirs(work, exist_ok=True)
    started = time.time()
    typed = [json.loads(l)["query"] for l in open(os.path.join(SHARED, "eval", "symptoms", "questions.jsonl"))]
    rows = []
    log("model load")
    load_ms, first_ms = model_load(model)
    big = args.embed_100k or args.questions_100k
    sizes = [args.notes] + ([100000] if big else [])
    for n in sizes:
        vault, queries = vault_of(work, n)
        timed = n == args.notes or args.embed_100k
        log("%d: computing every note's vectors" % n)
        secs, notes, passages, mb, kb_dir = embed(vault, model, timed)
        pasted = [json.loads(l)["query"] for l in open(queries)]
        pasted = random.Random(7).sample(pasted, 20)
        log("%d: typed questions and pasted errors, with and without the model" % n)
        with_m = cli_times(vault, typed, model)
        without = cli_times(vault, typed, None)
        p_with = cli_times(vault, pasted, model)
        p_without = cli_times(vault, pasted, None)
        log("%d: kb mcp round trips with the model and without" % n)
        mcp = mcp_times(vault, typed, model)
        mcp_without = mcp_times(vault, typed, None)
        rows.append({"n": n, "embed_s": secs, "notes": notes, "passages": passages, "store_mb": mb,
                     "rate": notes / secs if secs else None, "typed_with": with_m, "typed_without": without,
                     "pasted_with": p_with, "pasted_without": p_without, "mcp": mcp,
                     "mcp_without": mcp_without,
                     "index_mb": sum(os.path.getsize(os.path.join(d, f))
                                     for d, _, fs in os.walk(os.path.join(kb_dir, "index"))
                                     for f in fs) / 1e6})
    rate = rows[0]["rate"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    lines = [BEGIN, "", "## With the embedding model (bench/meaning.py)", "",
             "all-MiniLM-L6-v2 (tests/fetch_model.sh), kb %s, %d s; whole processes, warm page cache;"
             " typed questions: the 20 of ../shared/eval/symptoms, 5 runs each; pasted errors: 20"
             " generated queries, 5 runs each." % (commit, time.time() - started), "",
             "| measure | " + " | ".join("%d notes" % r["n"] for r in rows) + " |",
             "|---|" + "---|" * len(rows)]

    def row(name, f):
        lines.append("| %s | %s |" % (name, " | ".join(f(r) for r in rows)))

    row("computing every note's vectors (`kb index`, s)",
        lambda r: "%.0f" % r["embed_s"] if r["embed_s"] else "computed beforehand, not timed")
    row("notes/s (2 cores)", lambda r: "%.1f" % r["rate"] if r["rate"] else "-")
    row("passages", lambda r: "%d" % r["passages"])
    row("vectors on disk (MB)", lambda r: "%.1f" % r["store_mb"])
    row("index on disk without them (MB)", lambda r: "%.1f" % r["index_mb"])
    row("typed question, words only: CLI p50 (ms)", lambda r: "%.1f" % pct(r["typed_without"], 0.5))
    row("typed question, with the model: CLI p50 (ms)", lambda r: "%.1f" % pct(r["typed_with"], 0.5))
    row("typed question, with the model: CLI p95 (ms)", lambda r: "%.1f" % pct(r["typed_with"], 0.95))
    row("with / without, CLI p50", lambda r: "%.1f" % (pct(r["typed_with"], 0.5) / pct(r["typed_without"], 0.5)))
    row("typed question, with the model: kb mcp round trip p50, warm (ms)", lambda r: "%.1f" % r["mcp"]["p50_ms"])
    row("typed question, with the model: kb mcp round trip p95, warm (ms)", lambda r: "%.1f" % r["mcp"]["p95_ms"])
    row("typed question, words only: kb mcp round trip p50, warm (ms)", lambda r: "%.1f" % r["mcp_without"]["p50_ms"])
    row("with / without, kb mcp p50", lambda r: "%.1f" % (r["mcp"]["p50_ms"] / r["mcp_without"]["p50_ms"]))
    row("kb mcp start with the model loaded (ms)", lambda r: "%.0f" % r["mcp"]["start_ms"])
    row("pasted error, model configured: CLI p50 (ms)", lambda r: "%.1f" % pct(r["pasted_with"], 0.5))
    row("pasted error, no model: CLI p50 (ms)", lambda r: "%.1f" % pct(r["pasted_without"], 0.5))
    lines += ["", "Model load (`kb model check`, median of 5): %d ms; one sentence embedded in %d ms." % (load_ms, first_ms)]
    if not args.embed_100k:
        lines.append("Computing the vectors of 100,000 such notes, estimated from the throughput above"
                     " (not timed: --embed-100k): %.1f h; 10,000: %.0f min." % (100000 / rate / 3600, 10000 / rate / 60))
    lines += ["", END]
    section = "\n".join(lines)
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# kb benchmark results\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    open(path, "w").write(text)
    print(section)


main()
