#!/usr/bin/env bash
# Vector search benchmark: recall@10 of HNSW against exact search on 50,000 vectors of 1280 dimensions
# (the embedding size), with build time, memory and query latency. Builds the benchmark binary first.
#
#   bench/search_ann.sh [BUILD_DIR]                        default build dir: build (the release preset)
#   DATA=crops,clustered,seeded bench/search_ann.sh        more data sets (default: crops)
#   N=50000 M=16 EF_CONSTRUCTION=200 EF=64,128 bench/search_ann.sh
#
# Data sets:
#   crops      real embeddings (mobilenetv2_embed) of 50,000 random crops of the shared photos; queries are
#              crops of 100 other photos. Embedding them takes several minutes once; the vectors are then
#              cached in BUILD_DIR/bench/crops_<N>.bin.
#   clustered  synthetic clustered non-negative vectors;
#   seeded     vectors around the real embeddings of a catalog (CATALOG, default build/demo-catalog).
#
# The defaults are the shipped index settings (M 16, ef_construction 200, ef_search 128). Exits non-zero
# when recall@10 at ef_search 128 is below 0.95 on any data set (MIN_RECALL to change).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${N:-50000}
queries=${QUERIES:-200}
m=${M:-16}
efc=${EF_CONSTRUCTION:-200}
ef=${EF:-16,32,64,128,256}
data_sets=${DATA:-crops}
catalog=${CATALOG:-build/demo-catalog}
min_recall=${MIN_RECALL:-0.95}
cmake --build "$build" --target visearch_bench_search_ann >/dev/null
bin="$build/bench/visearch_bench_search_ann"
status=0
IFS=, read -ra sets <<<"$data_sets"
for data in "${sets[@]}"; do
  args=(--n "$n" --dim 1280 --queries "$queries" --data "$data" --m "$m" --ef-construction "$efc" --ef "$ef")
  case "$data" in
    crops) args+=(--cache "$build/bench/crops_${n}.bin") ;;
    seeded)
      if [ ! -f "$catalog/catalog.db" ]; then
        echo "seeded: no catalog at $catalog (./run.sh or tools/build_demo_catalog.sh builds one); skipped"
        continue
      fi
      args+=(--seed-catalog "$catalog")
      ;;
  esac
  echo "== $data"
  out=$("$bin" "${args[@]}")
  echo "$out"
  recall=$(awk '$1 == "128" && NF == 5 { print $2 }' <<<"$out")
  if [ -z "$recall" ]; then
    echo "($data: ef 128 not measured, no recall check)"
  elif awk -v r="$recall" -v min="$min_recall" 'BEGIN { exit !(r < min) }'; then
    echo "FAIL: $data recall@10 at ef 128 is $recall < $min_recall"
    status=1
  else
    echo "ok: $data recall@10 at ef 128 is $recall >= $min_recall"
  fi
  echo
done
exit $status
