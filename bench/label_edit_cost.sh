#!/usr/bin/env bash
# Edit-cost benchmark of the labelling tool (not a test): on ../shared/data/coco128-train2017, box edits
# per image a person needs starting from the default detector's pre-labels versus from nothing, for several
# score thresholds of the proposal slider. Matching rule: src/labeling/edit_cost.h (docs/labelling.md).
#
#   bench/label_edit_cost.sh [build-dir]     # ~30 s on 2 cores (one detection pass over 128 images)
#
# Environment: VISEARCH_SHARED_DIR (default ../shared beside the repository), MODEL (default picodet_s_416),
# THRESHOLDS (default 0.3,0.4,0.45,0.5,0.55,0.6,0.7), OUT (JSON report; default /tmp/visearch-label-edit-cost.json).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shared=${VISEARCH_SHARED_DIR:-${VISEARCH_SHARED:-$here/../shared}}
bin=$build/bench/visearch_bench_label_edit_cost
data=$shared/data/coco128-train2017
out=${OUT:-/tmp/visearch-label-edit-cost.json}

[[ -x $bin ]] || { echo "label_edit_cost.sh: $bin not built (ninja -C $build visearch_bench_label_edit_cost)" >&2; exit 2; }
[[ -d $data ]] || { echo "label_edit_cost.sh: $data not found" >&2; exit 2; }

"$bin" --data "$data" --model "${MODEL:-picodet_s_416}" --thresholds "${THRESHOLDS:-0.3,0.4,0.45,0.5,0.55,0.6,0.7}" \
  --json "$out" --threads 2
echo "report: $out"
