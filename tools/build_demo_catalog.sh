#!/usr/bin/env bash
# Builds the demo product catalog for the visual-search web page from the labelled COCO images in
# ../shared/data: the labelled objects of coco128 and coco-mini that make a product photo (big enough to
# show, not a strip: docs/search.md "Demo catalog") become products (the crop with a margin is the product
# photo; category, title, brand, price and colour are generated), up to 15 per class.
# The products are then imported (detector + embedder on each photo), which takes about a minute.
#
#   tools/build_demo_catalog.sh [DATA_DIR]     default: build/demo-catalog
# Environment: VISEARCH_BIN (default build/visearch), SHARED_DATA (default ../shared/data),
#              MAX_PER_LABEL (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${1:-build/demo-catalog}
bin=${VISEARCH_BIN:-build/visearch}
shared=${SHARED_DATA:-../shared/data}
if [ ! -x "$bin" ]; then
  echo "build_demo_catalog: $bin not found; build it first (cmake --build --preset release --target visearch)" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" catalog demo --out "$work" --shared "$shared" --max-per-label "${MAX_PER_LABEL:-15}"
# The import is one transaction: an interrupted run leaves the previous catalog (or none) intact.
"$bin" catalog import "$work/products.jsonl" --data-dir "$data_dir" --format table --progress 2>&1 |
  awk '/^indexed/ { n++; if (n % 50 == 0) print; next } { print }'
"$bin" catalog stats --data-dir "$data_dir" --format table | head -3
