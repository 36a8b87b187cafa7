#!/usr/bin/env bash
# Writes the Rust sources of the retrieval benchmark (benches/retrieval.rs)
# into DIR: the crates listed in benches/rust-crates.txt, each unpacked into
# DIR/NAME-VERSION as cargo would. Every .crate file is checked against the
# SHA-256 in that list, so the corpus is the same on every machine. A crate
# in the local cargo cache with the right SHA-256 is copied from there. The
# others come from static.crates.io. The 440 crates are about 90 MB to
# download and 820 MB unpacked. Crates already in DIR are kept, so a second run
# downloads nothing.
#
# Usage: scripts/fetch-bench-corpus.sh [DIR]
#   (default: ~/.cache/mcp-code-index/rust-corpus, where the benchmark looks)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crate_list="$repo_root/benches/rust-crates.txt"
if [[ $# -gt 0 && -z "$1" ]]; then
  echo "error: DIR is empty; pass a directory or no argument for the default" >&2
  exit 2
fi
target_dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-code-index/rust-corpus}"
cargo_cache="${CARGO_HOME:-$HOME/.cargo}/registry/cache"
mkdir -p "$target_dir"
download_dir="$(mktemp -d)"
trap 'rm -rf "$download_dir"' EXIT

fetched=0
kept=0
line_number=0
# `|| [[ -n ... ]]` also reads a last line that has no newline.
while IFS= read -r line || [[ -n "$line" ]]; do
  line_number=$((line_number + 1))
  line="${line%$'\r'}"
  [[ -z "${line//[[:space:]]/}" || "$line" == \#* ]] && continue
  read -r name version sha256 extra <<< "$line"
  if [[ -z "$version" || ! "$sha256" =~ ^[0-9a-f]{64}$ || -n "$extra" ]]; then
    echo "error: $crate_list line $line_number is not 'NAME VERSION SHA256' (64 hex digits): $line" >&2
    exit 1
  fi
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
  if [[ -n "$cached" && "$(sha256sum "$cached" | cut -d' ' -f1)" == "$sha256" ]]; then
    cp "$cached" "$archive"
  else
    if [[ -n "$cached" ]]; then
      echo "warning: $cached does not have the listed SHA-256; downloading $crate instead" >&2
    fi
    url="https://static.crates.io/crates/$name/$crate.crate"
    if ! curl --fail --silent --show-error --location --retry 3 --output "$archive" "$url"; then
      echo "error: downloading $crate from $url failed; check the name and version in $crate_list" >&2
      exit 1
    fi
    actual="$(sha256sum "$archive" | cut -d' ' -f1)"
    if [[ "$actual" != "$sha256" ]]; then
      echo "error: $url has SHA-256 $actual, but $crate_list line $line_number expects $sha256" >&2
      exit 1
    fi
  fi
  rm -rf "${target_dir:?}/$crate"
  tar -xzf "$archive" -C "$target_dir"
  touch "$target_dir/$crate/.complete"
  rm "$archive"
  fetched=$((fetched + 1))
done < "$crate_list"
echo "Rust corpus ready in $target_dir: $fetched crates unpacked, $kept already there"
