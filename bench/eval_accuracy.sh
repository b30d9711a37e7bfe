#!/usr/bin/env bash
# Accuracy benchmark (not a test): every shipped detector on ../shared/data/coco128-train2017 and
# ../shared/data/voc2012-sample100, compared with the AP figures in ../shared/models/README.md
# (measurements.json). Settings as stated there: score threshold 0.01, class-aware NMS IoU 0.6, at most
# 100 detections per image; VOC classes mapped to COCO names (data/class_maps/voc_to_coco.json),
# detections restricted to those classes after NMS and the 100 cut (--all-classes: how the reference was
# made), difficult objects counted as normal ground truth.
# A row passes when |AP - reference| <= 0.01. Exit status 1 when any row fails.
#
#   bench/eval_accuracy.sh [build/visearch]          # ~2-4 minutes of CPU on 2 cores
#
# Environment: VISEARCH_SHARED or VISEARCH_SHARED_DIR (default: ../shared beside the repository), OUT (per-run metrics,
# detections and ground truth; default /tmp/visearch-eval-accuracy), THREADS (default 2), TOLERANCE.
# Needs jq.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/build/visearch}
shared=${VISEARCH_SHARED:-${VISEARCH_SHARED_DIR:-$here/../shared}}
out=${OUT:-/tmp/visearch-eval-accuracy}
threads=${THREADS:-2}
tolerance=${TOLERANCE:-0.01}
reference=$shared/models/measurements.json

command -v jq >/dev/null || { echo "eval_accuracy.sh: jq is required" >&2; exit 2; }
[[ -x $bin ]] || { echo "eval_accuracy.sh: no visearch binary at $bin" >&2; exit 2; }
[[ -f $reference ]] || { echo "eval_accuracy.sh: $reference not found" >&2; exit 2; }

models=(picodet_s_416 picodet_s_320 yolox_nano nanodet_m_416 ssd_mobilenet_v1_075 fastestdet)
declare -A dataset_path=(
  [coco128_train2017]=$shared/data/coco128-train2017
  [voc2012_sample100]=$shared/data/voc2012-sample100/gts/pascalvoc_format
)
sets=(coco128_train2017 voc2012_sample100)

failures=0
printf '| model | data set | AP | reference | diff | AP50 (ref) | AP75 (ref) | images | GT boxes | p50 ms | result |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
for model in "${models[@]}"; do
  for set in "${sets[@]}"; do
    dir=$out/$model/$set
    mkdir -p "$dir"
    if ! "$bin" eval --model "$model" --dataset "${dataset_path[$set]}" --score-threshold 0.01 --iou-threshold 0.6 \
        --max-detections 100 --all-classes --threads "$threads" --out "$dir" --json >"$dir/stdout.json" 2>"$dir/stderr.txt"; then
      echo "| $model | $set | - | - | - | - | - | - | - | - | FAIL: $(head -c 200 "$dir/stderr.txt" | tr '\n' ' ') |"
      failures=$((failures + 1))
      continue
    fi
    read -r ap ap50 ap75 images gt p50 < <(jq -r '[.stats.AP, .stats.AP50, .stats.AP75, .images, .ground_truth_boxes, .timing.p50_detect_ms] | @tsv' "$dir/metrics.json")
    read -r ref ref50 ref75 < <(jq -r --arg m "$model" --arg s "$set" '.accuracy[$m][$s] | [.AP, .AP50, .AP75] | @tsv' "$reference")
    verdict=$(awk -v a="$ap" -v r="$ref" -v t="$tolerance" 'BEGIN { d = a - r; if (d < 0) d = -d; print (d <= t ? "pass" : "FAIL") }')
    [[ $verdict == pass ]] || failures=$((failures + 1))
    printf '| %s | %s | %.4f | %.4f | %+.4f | %.4f (%.4f) | %.4f (%.4f) | %s | %s | %.1f | %s |\n' \
      "$model" "$set" "$ap" "$ref" "$(awk -v a="$ap" -v r="$ref" 'BEGIN { print a - r }')" "$ap50" "$ref50" "$ap75" "$ref75" \
      "$images" "$gt" "$p50" "$verdict"
  done
done
echo
echo "tolerance +-$tolerance AP; per-run files under $out"
exit $((failures > 0 ? 1 : 0))
