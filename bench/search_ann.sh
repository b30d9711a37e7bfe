#!/usr/bin/env bash
# Vector search benchmark: recall@10 of HNSW against exact search on 50,000 vectors of 1280 dimensions
# (the embedding size), with build time, memory and query latency. Builds the benchmark binary first.
#
#   bench/search_ann.sh [BUILD_DIR]            default build dir: build (the release preset)
#   N=50000 EF_CONSTRUCTION=100 bench/search_ann.sh build-search
#
# Runs two data sets: synthetic clustered non-negative vectors (like crop embeddings), and, when a demo
# catalog exists (tools/build_demo_catalog.sh), vectors around the catalog's real embeddings.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${N:-50000}
queries=${QUERIES:-200}
m=${M:-16}
efc=${EF_CONSTRUCTION:-100}
ef=${EF:-16,32,64,128,256}
catalog=${CATALOG:-build/demo-catalog}
cmake --build "$build" --target visearch_bench_search_ann >/dev/null
bin="$build/bench/visearch_bench_search_ann"
echo "== clustered synthetic vectors"
"$bin" --n "$n" --dim 1280 --queries "$queries" --data clustered --m "$m" --ef-construction "$efc" --ef "$ef"
if [ -f "$catalog/catalog.db" ]; then
  echo
  echo "== vectors around the real embeddings of $catalog"
  "$bin" --n "$n" --queries "$queries" --data seeded --seed-catalog "$catalog" --m "$m" --ef-construction "$efc" --ef "$ef"
fi
