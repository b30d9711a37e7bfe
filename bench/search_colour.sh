#!/usr/bin/env bash
# Colour benchmark: does the fused ranking put products of the query object's colour first?
# The retrieval benchmark's queries (object regions of coco-mini photos, not catalog images; see
# bench/search_retrieval.sh), graded: products of the right category get grade 1, and those whose declared
# colour attribute names the query object's dominant colour get grade 2 (visearch_bench_search_judgments
# --colour-grades 1). The same catalog is searched with the colour weight at 0 and at each value of a grid;
# nDCG@5 / nDCG@10 show the colour order, precision@5 that finding the right kind of product did not suffer.
# Every run ranks without a minimum score (--sweep), as bench/search_retrieval.sh does.
#
#   bench/search_colour.sh [BUILD_DIR]            default: build
#   KEEP=dir bench/search_colour.sh build         keep (and reuse) the catalog and judgments in dir
#   WEIGHTS="0 0.1 0.2 0.3 0.5" bench/search_colour.sh build
# Exits non-zero when the shipped colour weight gives a lower fused nDCG@5 than colour weight 0.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shared=${SHARED:-../shared/data}
min_side=${MIN_SIDE:-48}
weights=${WEIGHTS:-0 0.1 0.2 0.3 0.5}
cmake --build "$build" --target visearch visearch_bench_search_judgments >/dev/null
work=${KEEP:-$(mktemp -d)}
if [ ! -f "$work/catalog/catalog.db" ]; then
  "$build/visearch" catalog demo --out "$work/demo" --shared "$shared" --sources coco128 --max-per-label 20 --min-side "$min_side"
  "$build/visearch" catalog import "$work/demo/products.jsonl" --data-dir "$work/catalog" --format table
fi
"$build/bench/visearch_bench_search_judgments" --data-dir "$work/catalog" --shared "$shared" --min-side "$min_side" \
  --colour-grades 1 --out "$work/judgments_colour.jsonl"
mapping=data/search/label_mapping.json
shipped=$(node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log((m.weights && m.weights.colour !== undefined) ? m.weights.colour : 0.2)' "$mapping")
echo "| colour weight | fused nDCG@5 | fused nDCG@10 | fused P@5 | fused MRR |"
echo "|---|---|---|---|---|"
for w in $weights $shipped; do
  node -e 'const fs = require("fs"); const m = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    m.weights = Object.assign({}, m.weights || {}, {colour: Number(process.argv[2])});
    fs.writeFileSync(process.argv[3], JSON.stringify(m));' "$mapping" "$w" "$work/colour_$w.json"
  "$build/visearch" search-eval --queries "$work/judgments_colour.jsonl" --data-dir "$work/catalog" --ranking fused \
    --k 5,10 --sweep --mapping "$work/colour_$w.json" --format json --json-out "$work/search_eval_colour_$w.json" >/dev/null
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).rankings.fused;
    const f = (x) => x.toFixed(3);
    console.log(`| ${process.argv[2]} | ${f(r.ndcg["5"])} | ${f(r.ndcg["10"])} | ${f(r.precision["5"])} | ${f(r.mrr)} |`);' \
    "$work/search_eval_colour_$w.json" "$w"
done
status=0
node -e 'const fs = require("fs");
  const n = (w) => JSON.parse(fs.readFileSync(`${process.argv[1]}/search_eval_colour_${w}.json`, "utf8")).rankings.fused.ndcg["5"];
  process.exit(n(process.argv[2]) + 1e-9 >= n("0") ? 0 : 1);' "$work" "$shipped" || status=$?
[ -n "${KEEP:-}" ] || rm -rf "$work"
exit $status
