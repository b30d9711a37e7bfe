#!/usr/bin/env bash
# Tiling benchmark (not a test): COCO AP, AP on small objects (area < 32^2) and the per-image cost of
# `visearch eval` with and without --tile, on the aquarium valid split and on coco128, for the default
# detector (and a model trained with `visearch train` when one is given). The rows of bench/RESULTS.md
# ("Tiling") and the `auto` rule of docs/tiling.md come from this script.
#
#   bench/tiling.sh [build/visearch] [TRAINED_SPEC.json]      # ~10-15 minutes on 2 cores
#
# TRAINED_SPEC.json: e.g. from `visearch train --data ../shared/data/aquarium --out runs/ --name aq`
# (runs/aq/aq.json); evaluated on the aquarium valid split only (its classes are the aquarium's).
# The default detector knows no aquarium class but `bird`: penguins and puffins are scored as birds
# (a class map written to $OUT), the other classes are left out of the ground truth.
#
# Settings as `eval`'s defaults (score >= 0.001, class-aware NMS IoU 0.6, at most 100 detections per image);
# ms = p50 of preprocess + inference + postprocess per image, all passes included, sequential, THREADS
# intra-op threads. Every configuration of one model and data set runs in the same invocation, so their
# ratios are comparable even on a shared machine; the absolute ms are not.
#
# Environment: VISEARCH_SHARED or VISEARCH_SHARED_DIR (default ../shared), OUT (default
# /tmp/visearch-tiling), THREADS (default 2), TILINGS (default "off auto 416x416 auto:nms 640x640").
# An entry NAME:nms runs the tiling NAME with --tile-merge nms instead of the default edge rule. Needs jq.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/build/visearch}
trained=${2:-}
shared=${VISEARCH_SHARED:-${VISEARCH_SHARED_DIR:-$here/../shared}}
out=${OUT:-/tmp/visearch-tiling}
threads=${THREADS:-2}
read -r -a tilings <<<"${TILINGS:-off auto 416x416 auto:nms 640x640}"

command -v jq >/dev/null || { echo "tiling.sh: jq is required" >&2; exit 2; }
[[ -x $bin ]] || { echo "tiling.sh: no visearch binary at $bin" >&2; exit 2; }
mkdir -p "$out"
echo '{"map": {"penguin": "bird", "puffin": "bird"}}' >"$out/aquarium_birds.json"

aquarium=$shared/data/aquarium
coco128=$shared/data/coco128-train2017

# run MODEL DATASET LABEL [extra eval flags...]
run() {
  local model=$1 dataset=$2 label=$3
  shift 3
  local tiling merge flags name
  for tiling in "${tilings[@]}"; do
    merge=edge
    if [[ $tiling == *:nms ]]; then
      tiling=${tiling%:nms}
      merge=nms
    fi
    flags=(--tile "$tiling")
    [[ $merge == nms ]] && flags+=(--tile-merge nms)
    name=$(basename "$model" .json)_${label}_${tiling}_${merge}
    "$bin" eval --model "$model" --dataset "$dataset" --threads "$threads" "$@" "${flags[@]}" --json \
      --out "$out/$name" >"$out/$name.json" 2>"$out/$name.log"
    jq -r --arg model "$(basename "$model" .json)" --arg set "$label" --arg tile "$tiling" --arg merge "$merge" \
      '"| \($model) | \($set) | \($tile) | \(if $tile == "off" then "-" else $merge end) | \(.stats.AP * 10000 | round / 10000) | \(.stats.APs * 10000 | round / 10000) | \(.stats.AR100 * 10000 | round / 10000) | \(.stats.ARs * 10000 | round / 10000) | \(.timing.p50_detect_ms * 10 | round / 10) |"' \
      "$out/$name.json"
  done
}

printf '| model | data set | --tile | merge | AP | AP_small | AR100 | AR_small | ms/image (p50) |\n'
printf '|---|---|---|---|---:|---:|---:|---:|---:|\n'
run picodet_s_416 "$aquarium" aquarium-valid --split valid --class-map "$out/aquarium_birds.json"
run picodet_s_416 "$coco128" coco128
if [[ -n $trained ]]; then
  run "$trained" "$aquarium" aquarium-valid --split valid
fi
