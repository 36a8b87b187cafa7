#!/usr/bin/env bash
# Writes the Rust sources of the retrieval benchmark (benches/retrieval.rs)
# into DIR: the crates listed in benches/rust-crates.txt, each unpacked into
# DIR/NAME-VERSION as cargo would. Every .crate file is checked against the
# SHA-256 in that list, so the corpus is the same on every machine. A crate
# already in the local cargo cache is taken from there; the others come from
# static.crates.io (about 440 crates, 60 MB unpacked). Crates already in DIR
# are kept, so a second run downloads nothing.
#
# Usage: scripts/fetch-bench-corpus.sh [DIR]
#   (default: ~/.cache/mcp-code-index/rust-corpus, where the benchmark looks)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-code-index/rust-corpus}"
cargo_cache="${CARGO_HOME:-$HOME/.cargo}/registry/cache"
mkdir -p "$target_dir"
download_dir="$(mktemp -d)"
trap 'rm -rf "$download_dir"' EXIT

fetched=0
kept=0
while read -r name version sha256; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  crate="$name-$version"
  if [[ -f "$target_dir/$crate/.complete" ]]; then
    kept=$((kept + 1))
    continue
  fi
  archive="$download_dir/$crate.crate"
  cached=""
  if [[ -d "$cargo_cache" ]]; then
    cached="$(find "$cargo_cache" -maxdepth 2 -name "$crate.crate" -print -quit)"
  fi
  if [[ -n "$cached" ]]; then
    cp "$cached" "$archive"
  else
    curl --fail --silent --show-error --location --retry 3 --output "$archive" \
      "https://static.crates.io/crates/$name/$crate.crate"
  fi
  actual="$(sha256sum "$archive" | cut -d' ' -f1)"
  if [[ "$actual" != "$sha256" ]]; then
    echo "error: $crate.crate has SHA-256 $actual, expected $sha256" >&2
    exit 1
  fi
  rm -rf "${target_dir:?}/$crate"
  tar -xzf "$archive" -C "$target_dir"
  touch "$target_dir/$crate/.complete"
  rm "$archive"
  fetched=$((fetched + 1))
done < "$repo_root/benches/rust-crates.txt"
echo "Rust corpus ready in $target_dir: $fetched crates unpacked, $kept already there"
