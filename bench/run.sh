#!/usr/bin/env bash
# Benchmark kb on generated vaults; writes bench/RESULTS.md. See bench/bench.py and, for the
# embedding model, bench/meaning.py.
#   bench/run.sh           1,000, 10,000 and 100,000 notes (about 10 minutes on 2 cores)
#   bench/run.sh --quick   1,000 and 10,000 notes (under 5 minutes)
#   bench/run.sh --huge    also 1,000,000 notes (generating them alone takes a while)
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
[ -x /usr/bin/time ] || missing+=(time)
command -v vmtouch >/dev/null 2>&1 || missing+=(vmtouch)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}" >/dev/null; fi
fi
# `kb mcp` round trips are timed with the official Python MCP SDK client.
python3 -c "import mcp" 2>/dev/null || python3 -m pip install -q "mcp==2.3.0" || python3 -m pip install -q --break-system-packages "mcp==2.3.0"
python3 bench/bench.py "$@"
# The embedding model's costs (10,000 notes: about 20 minutes computing their vectors).
python3 bench/meaning.py
