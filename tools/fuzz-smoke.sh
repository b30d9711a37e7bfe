#!/usr/bin/env bash
# Runs every libFuzzer target in build-fuzz/ for N seconds (default 20) on its
# seed corpus (tests/fuzz/corpus/<name without fuzz_>/); fails on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
found=0
while IFS= read -r target; do
  found=1
  name=$(basename "$target")
  corpus_src="tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  if [ -d "$corpus_src" ]; then cp -r "$corpus_src/." "$work/"; fi
  echo "fuzz-smoke: $name for ${seconds}s"
  "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 "$work" 2>&1 | tail -n 3
  rm -rf "$work"
done < <(find build-fuzz -type f -name 'fuzz_*' -perm -u+x | sort)
if [ "$found" = 0 ]; then echo "fuzz-smoke: no fuzz targets found in build-fuzz/" >&2; exit 1; fi
