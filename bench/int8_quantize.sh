#!/usr/bin/env bash
# INT8 (issue 13): `visearch quantize` for each detector and each activation-range method (--calibrate
# auto|minmax|percentile|mse; auto, the default, tries minmax and percentile and keeps one) on coco128, and, when a model trained with `visearch train` on aquarium is given,
# on the aquarium valid split. One line per run: AP FP32 -> INT8, the forward passes (FP32 and INT8 timed
# alternately in the same run, so read the ratio) and what stayed float. The figures of bench/RESULTS.md's
# "INT8: visearch quantize" section.
#
# Usage: bench/int8_quantize.sh [OUT_DIR]
#   MODELS="yolox_nano nanodet_m_416"   the detectors (default: the five shipped families)
#   METHODS="auto minmax percentile mse"   the --calibrate methods (default: all four)
#   AQUARIUM_MODEL=/tmp/aq_default/yolox_nano_aquarium/yolox_nano_aquarium.json   also the aquarium rows
# Needs build/visearch (release build), ../shared/data and python3 (to print the JSON reports).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/int8_quantize}
models=${MODELS:-nanodet_m_416 ssd_mobilenet_v1_075 fastestdet yolox_nano picodet_s_416}
methods=${METHODS:-auto minmax percentile mse}
data=../shared/data
rm -rf "$out"
mkdir -p "$out"

summary() {  # JSON report -> one line
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("AP %.1f -> %.1f (%+.1f), forward %.2f -> %.2f ms (%.2fx), calibrate %s%s, final layers %s, %d layers INT8, "
      "%d kept FP32, %d activations float, %d clipped, %s" % (
    r["ap_fp32"] * 100, r["ap_int8"] * 100, r["ap_change_points"], r["forward_ms_fp32"], r["forward_ms_int8"],
    r["speedup"], r["calibrate"], " (auto)" if r.get("calibrate_auto") else "", r["final_layers"],
    r["quantized_layers"], len(r["kept_fp32"]), r["float_tensors"], r["clipped_tensors"],
    "written" if r["written"] else "refused"))
for c in r["candidates"]:
    print("    %s, final layers %s: AP %.1f (%+.1f), %.2f ms (%.2fx), %d float%s" % (
        c["calibrate"], c["final_layers"], c["ap"] * 100, c["ap_change_points"], c["forward_ms"], c["speedup"],
        c["float_tensors"], " (chosen)" if c["chosen"] else ""))' "$1"
}

run() {  # LABEL MODEL DATA [flags...]
  local label=$1 model=$2 calibration=$3
  shift 3
  local started load
  started=$(date -u +%H:%M:%S)
  load=$(cut -d' ' -f1 /proc/loadavg)
  # Exit status 1 is a refusal (AP dropped too far): the report is printed all the same.
  build/visearch quantize --model "$model" --calibration "$calibration" --images 32 --out "$out/$label" \
    --threads 1 --json "$@" >"$out/$label.json" 2>"$out/$label.err" || [ $? -eq 1 ]
  echo "$started (load $load) $label: $(summary "$out/$label.json")"
}

for model in $models; do
  for method in $methods; do
    run "${model}_$method" "$model" "$data/coco128-train2017" --calibrate "$method"
  done
done
if [ -n "${AQUARIUM_MODEL:-}" ]; then
  for method in $methods; do
    run "aquarium_$method" "$AQUARIUM_MODEL" "$data/aquarium" --calibrate "$method" --force
  done
fi
