#!/usr/bin/env bash
# Error-matching evaluation: the loghub development set (../shared/eval) scored through the real
# `kb search --json`, on its own and inside a 10,000-note synthetic vault. Writes bench/EVAL.md.
#   bench/eval.sh            (about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${KB_SHARED:-../shared}
work=${KB_EVAL_DIR:-$(mktemp -d)}
cargo build --release --quiet
kb=${CARGO_TARGET_DIR:-$PWD/target}/release/kb

rm -rf "$work/ev" "$work/big"
python3 "$shared/eval/make_loghub_eval.py" "$shared/eval/loghub" "$work/ev" >&2
"$kb" --dir "$work/ev/vault" -q index --rebuild
echo "eval: loghub vault alone" >&2
alone=$(python3 "$shared/eval/run_eval.py" "$kb" "$work/ev/vault" "$work/ev/queries.jsonl" --by-system)

python3 "$shared/bench/gen_corpus.py" "$work/big" 10000 >/dev/null
mkdir -p "$work/big/loghub"
cp -r "$work/ev/vault/." "$work/big/loghub/"
"$kb" --dir "$work/big" -q index --rebuild
echo "eval: loghub vault inside 10,000 synthetic notes" >&2
inside=$(python3 "$shared/eval/run_eval.py" "$kb" "$work/big" "$work/ev/queries.jsonl" --by-system)

{
  echo "# kb error-matching evaluation"
  echo
  echo "Written by \`bench/eval.sh\` on $(date -u +%Y-%m-%d), kb $(git rev-parse --short HEAD 2>/dev/null || echo '?'); do not edit by hand."
  echo "Data: the loghub development set in ../shared/eval (8 systems), turned into a vault and queries by"
  echo "make_loghub_eval.py and scored by run_eval.py (\`kb --dir VAULT search --json --limit 10 -- QUERY\`)."
  echo
  echo "## The loghub vault alone"
  echo
  echo '```'
  echo "$alone"
  echo '```'
  echo
  echo "## Inside a 10,000-note synthetic vault (gen_corpus.py)"
  echo
  echo '```'
  echo "$inside"
  echo '```'
} > bench/EVAL.md
cat bench/EVAL.md
