#!/usr/bin/env bash
# Ranking parity of the catalog engines: the retrieval benchmark (bench/search_retrieval.sh: a coco128
# catalog, judgments from coco-mini) run on the SQLite catalog and on the same catalog migrated (vectors
# and all) into a real 3-node OpenSearch cluster on loopback (tools/opensearch-cluster.sh). Prints
# precision@5/@10, nDCG@10 and MRR of each ranking on both engines side by side with the difference.
#
#   bench/search_parity.sh [BUILD_DIR]           default: build (the release preset)
#   KEEP=dir bench/search_parity.sh build        keep (and reuse) the catalog and judgments in dir
# Exits non-zero when any ranking's precision@5 differs by more than 0.02 between the engines.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
export VISEARCH_OPENSEARCH_DIR="$work/opensearch"
cleanup() {
  tools/opensearch-cluster.sh stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
# The SQLite side, and the catalog and judgments it leaves in $work.
KEEP="$work" bench/search_retrieval.sh "$build" >"$work/sqlite.txt"
tail -n 1 "$work/sqlite.txt"
cp "$work/search_eval.json" "$work/sqlite.json"
started=$(date +%s)
tools/opensearch-cluster.sh start 3 >"$work/cluster.txt"
hosts=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/cluster.txt" | sort -u | sed 's|http://||' | paste -sd, -)
uri="opensearch+http://$hosts/parity"
echo "cluster up in $(($(date +%s) - started)) s: $uri"
"$build/visearch" catalog migrate --data-dir "$work/catalog" --to "$uri" --format table
"$build/visearch" search-eval --queries "$work/judgments.jsonl" --catalog "$uri" --ranking all --k 5,10 \
  --format table --json-out "$work/opensearch.json" --sweep >/dev/null  # the same flags as bench/search_retrieval.sh
node -e '
const fs = require("fs");
const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).rankings;
const b = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).rankings;
let worst = 0;
console.log("| ranking | metric | SQLite | OpenSearch | difference |");
console.log("|---|---|---|---|---|");
for (const r of ["label", "visual", "fused"]) {
  const rows = [["precision@5", a[r].precision["5"], b[r].precision["5"]],
                ["precision@10", a[r].precision["10"], b[r].precision["10"]],
                ["nDCG@10", a[r].ndcg["10"], b[r].ndcg["10"]],
                ["MRR", a[r].mrr, b[r].mrr]];
  for (const [m, x, y] of rows) console.log(`| ${r} | ${m} | ${x.toFixed(3)} | ${y.toFixed(3)} | ${(y - x).toFixed(3)} |`);
  worst = Math.max(worst, Math.abs(b[r].precision["5"] - a[r].precision["5"]));
}
console.log(`largest precision@5 difference: ${worst.toFixed(3)} (limit 0.02)`);
process.exit(worst <= 0.02 + 1e-9 ? 0 : 1);
' "$work/sqlite.json" "$work/opensearch.json"
