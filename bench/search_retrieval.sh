#!/usr/bin/env bash
# Retrieval benchmark: precision@5 of label-only, visual-only and fused ranking for object regions of
# COCO images that are not in the catalog. Builds a catalog from coco128 (2,000-odd objects -> up to 20
# products per class), then queries with every labelled object of coco-mini (no image in common).
#
#   bench/search_retrieval.sh [BUILD_DIR]        default: build (the release preset)
#   KEEP=dir bench/search_retrieval.sh build     keep (and reuse) the catalog in dir
#   MIN_SIDE=32 bench/search_retrieval.sh build  smaller objects, in the catalog and as queries (default 48)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shared=${SHARED:-../shared/data}
min_side=${MIN_SIDE:-48}
cmake --build "$build" --target visearch visearch_bench_search_retrieval >/dev/null
work=${KEEP:-$(mktemp -d)}
if [ ! -f "$work/catalog/catalog.db" ]; then
  "$build/visearch" catalog demo --out "$work/demo" --shared "$shared" --sources coco128 --max-per-label 20 --min-side "$min_side"
  "$build/visearch" catalog import "$work/demo/products.jsonl" --data-dir "$work/catalog" --format table
fi
status=0
"$build/bench/visearch_bench_search_retrieval" --data-dir "$work/catalog" --shared "$shared" --min-side "$min_side" || status=$?
[ -n "${KEEP:-}" ] || rm -rf "$work"
exit $status
