#!/usr/bin/env bash
# Retrieval benchmark: `visearch search-eval` of label-only, visual-only and fused ranking on object regions
# of COCO images that are not in the catalog. Builds a catalog from coco128 (2,000-odd objects -> up to 20
# products per class), writes a judgments file with every labelled object of coco-mini (no image in
# common; relevant = the products of the category the object's label maps to) and runs search-eval on it.
#
#   bench/search_retrieval.sh [BUILD_DIR]        default: build (the release preset)
#   KEEP=dir bench/search_retrieval.sh build     keep (and reuse) the catalog and judgments in dir
#   MIN_SIDE=32 bench/search_retrieval.sh build  smaller objects, in the catalog and as queries (default 48)
#   STEPS=final bench/search_retrieval.sh build   only the shipped configuration (default: every step below)
#   SWAP=1 bench/search_retrieval.sh build       the sets' roles swapped: catalog from coco-mini, queries
#                                                from coco128 (a second benchmark with the same rules)
# The steps of issue 15, each on the same judgments, each a table (and search_eval_STEP.json):
#   detector-label  query boxes labelled at the detector's own threshold (before issue 15)
#   region-label    labelled from detections down to 0.15 (search::kRegionLabelThreshold, the default)
#   adapted         + `visearch catalog adapt` on a copy of the catalog (the catalog's own embedding space)
#   tuned           + the fusion weights `search-eval --tune --objective p@5` chose, on the adapted catalog
# Exits non-zero when, in the last step, fused precision@5 falls below the better of the two single rankings.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shared=${SHARED:-../shared/data}
min_side=${MIN_SIDE:-48}
catalog_source=coco128
query_source=coco-mini
if [ -n "${SWAP:-}" ]; then catalog_source=coco-mini; query_source=coco128; fi
cmake --build "$build" --target visearch visearch_bench_search_judgments >/dev/null
work=${KEEP:-$(mktemp -d)}
if [ ! -f "$work/catalog/catalog.db" ]; then
  "$build/visearch" catalog demo --out "$work/demo" --shared "$shared" --sources "$catalog_source" --max-per-label 20 --min-side "$min_side"
  "$build/visearch" catalog import "$work/demo/products.jsonl" --data-dir "$work/catalog" --format table
fi
"$build/bench/visearch_bench_search_judgments" --data-dir "$work/catalog" --shared "$shared" --min-side "$min_side" \
  --queries-from "$query_source" --out "$work/judgments.jsonl"
evaluate() {  # STEP CATALOG_DIR [search-eval options...]
  local step=$1 dir=$2
  shift 2
  echo "== $step"
  "$build/visearch" search-eval --queries "$work/judgments.jsonl" --data-dir "$dir" --ranking all --k 5,10 \
    --format table --json-out "$work/search_eval_$step.json" --sweep "$@"
  cp "$work/search_eval_$step.json" "$work/search_eval.json"
}
steps=${STEPS:-all}
if [ "$steps" = all ]; then
  evaluate detector-label "$work/catalog" --region-label-threshold 0
  evaluate region-label "$work/catalog"
fi
rm -rf "$work/adapted" && cp -r "$work/catalog" "$work/adapted"
"$build/visearch" catalog adapt --data-dir "$work/adapted" --format table
[ "$steps" = all ] && evaluate adapted "$work/adapted"
"$build/visearch" search-eval --queries "$work/judgments.jsonl" --data-dir "$work/adapted" --sweep --tune \
  --objective p@5 --tune-out "$work/tuned_mapping.json" --format table | sed -n '/^tune/,/^after/p'
evaluate tuned "$work/adapted" --mapping "$work/tuned_mapping.json"
status=0
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rankings;
const p = (n) => r[n].precision["5"];
console.log(`precision@5: label-only ${p("label").toFixed(3)}, visual-only ${p("visual").toFixed(3)}, fused ${p("fused").toFixed(3)}`);
process.exit(p("fused") + 1e-9 >= Math.max(p("label"), p("visual")) ? 0 : 1);
' "$work/search_eval.json" || status=$?
[ -n "${KEEP:-}" ] || rm -rf "$work"
exit $status
