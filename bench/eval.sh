#!/usr/bin/env bash
# Search evaluation through the real `kb search --json`: the loghub development set
# (../shared/eval) and the real notes of ../shared/eval/realnotes (hand-written questions and
# pasted lines, paraphrases), each on its own and inside a 10,000-note synthetic vault, and the
# support symptoms of ../shared/eval/symptoms on notes-example; the real notes also
# through ../shared/eval/bm25_baseline.py (plain BM25 of title + body) in the same run.
# With the embedding model (tests/fetch_model.sh: all-MiniLM-L6-v2), the real notes and the
# symptoms are scored again as `kb+m` (typed questions also matched by meaning); the vectors
# of the 10,000-note vault take about 20 minutes to compute on 2 cores.
# Writes bench/EVAL.md.   bench/eval.sh   (the baseline needs `pip install tantivy`)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${KB_SHARED:-../shared}
work=${KB_EVAL_DIR:-$(mktemp -d)}
cargo build --release --quiet
kb=${CARGO_TARGET_DIR:-$PWD/target}/release/kb
# Without the model first: KB_MODEL empty turns off one the person's configuration names.
export KB_MODEL=
model=$(bash tests/fetch_model.sh)
# `kb index` with the model: the vectors the scoring with it needs.
embed() { KB_MODEL="$model" "$kb" --dir "$1" -q index; }

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

rn="$shared/eval/realnotes"
python3 -c "import tantivy" 2>/dev/null || pip install -q tantivy >&2
score() { # engine vault queries -> last line
  python3 "$shared/eval/run_eval.py" "$1" "$2" "$3" | tail -1
}
rm -rf "$work/rn" "$work/rnbig"
cp -r "$rn/vault" "$work/rn"
cp -r "$work/big" "$work/rnbig"
rm -rf "$work/rnbig/loghub" "$work/rnbig/.kb"
cp -r "$rn/vault/." "$work/rnbig/"
base="$shared/eval/bm25_baseline.py"
realnotes=""
for where in rn rnbig; do
  "$kb" --dir "$work/$where" -q index --rebuild
  for set in questions pasted paraphrases; do
    echo "eval: realnotes $set ($where)" >&2
    realnotes+=$(printf '%-8s %-10s %-5s %s' "$where" "$set" kb "$(score "$kb" "$work/$where" "$rn/$set.jsonl")")$'\n'
    realnotes+=$(printf '%-8s %-10s %-5s %s' "$where" "$set" bm25 "$(score "$base" "$work/$where" "$rn/$set.jsonl")")$'\n'
  done
  echo "eval: embedding $where" >&2
  embed "$work/$where"
  for set in questions pasted paraphrases; do
    echo "eval: realnotes $set ($where, with the model)" >&2
    realnotes+=$(printf '%-8s %-10s %-5s %s' "$where" "$set" kb+m "$(KB_MODEL="$model" score "$kb" "$work/$where" "$rn/$set.jsonl")")$'\n'
  done
done

# Support symptoms in a caller's words (../shared/eval/symptoms): notes-example alone, and
# placed among the real notes so that unrelated notes compete.
sy="$shared/eval/symptoms/questions.jsonl"
rm -rf "$work/sy" "$work/syrn"
cp -r notes-example "$work/sy"
rm -rf "$work/sy/.kb"
cp -r "$rn/vault" "$work/syrn"
# notes-example's folders beside the real notes' (paths stay those the questions expect).
cp -r notes-example/. "$work/syrn/"
rm -rf "$work/syrn/.kb" "$work/syrn/kb.toml"
symptoms=""
for where in sy syrn; do
  "$kb" --dir "$work/$where" -q index --rebuild
  echo "eval: symptoms ($where)" >&2
  symptoms+=$(printf '%-8s %-5s %s' "$where" kb "$(score "$kb" "$work/$where" "$sy")")$'\n'
  symptoms+=$(printf '%-8s %-5s %s' "$where" bm25 "$(score "$base" "$work/$where" "$sy")")$'\n'
  embed "$work/$where"
  symptoms+=$(printf '%-8s %-5s %s' "$where" kb+m "$(KB_MODEL="$model" score "$kb" "$work/$where" "$sy")")$'\n'
done
# Pasted log lines with the model: they are ranked by their errors, the model never loaded
# (embedded first all the same: a line that read as words would be ranked with the vectors
# there are, and a search computes missing ones in the background meanwhile).
echo "eval: loghub with the model" >&2
embed "$work/ev/vault"
with_model=$(KB_MODEL="$model" python3 "$shared/eval/run_eval.py" "$kb" "$work/ev/vault" "$work/ev/queries.jsonl" | tail -1)

{
  echo "# kb search evaluation"
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
  echo "With the embedding model configured (pasted lines never load it):"
  echo
  echo '```'
  echo "$with_model"
  echo '```'
  echo
  echo "## Inside a 10,000-note synthetic vault (gen_corpus.py)"
  echo
  echo '```'
  echo "$inside"
  echo '```'
  echo
  echo "## Real notes (../shared/eval/realnotes: 577 notes), kb beside plain BM25 of title + body"
  echo
  echo "\`rn\`: the real notes alone; \`rnbig\`: inside the same 10,000 synthetic notes. \`bm25\` is"
  echo "../shared/eval/bm25_baseline.py, scored in the same run; \`kb+m\` is kb with the embedding"
  echo "model all-MiniLM-L6-v2 (\`KB_MODEL\`, vectors computed by \`kb index\`)."
  echo
  echo '```'
  printf '%s' "$realnotes"
  echo '```'
  echo
  echo "## Symptoms in a caller's words (../shared/eval/symptoms: 20 questions about notes-example)"
  echo
  echo "\`sy\`: notes-example alone; \`syrn\`: notes-example inside the real notes (577 more)."
  echo
  echo '```'
  printf '%s' "$symptoms"
  echo '```'
} > bench/EVAL.md
cat bench/EVAL.md
