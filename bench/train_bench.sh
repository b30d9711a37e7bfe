#!/usr/bin/env bash
# Training benchmarks for `visearch train` (issue 10), on ../shared/data/aquarium:
#   1. step cost: ms per image per training step (data + forward + loss + backward) at 416 and 320 px, for
#      --freeze none / backbone / backbone+neck, measured side by side in one run (1 epoch each on
#      every 7th training image (64), no augmentation, so every configuration sees the same pixels);
#   2. the default run: `visearch train --data aquarium` exactly as a user types it: wall time, minutes per
#      epoch, peak RSS, the AP-vs-minutes curve (from train_log.jsonl) and the per-class AP of the result.
# Fails when the default run misses AP50 >= 0.50 or AP >= 0.25 on the valid split, or takes over 15 minutes.
# Usage: bench/train_bench.sh [--skip-steps] [--skip-default]    (build first: cmake --build --preset release)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/visearch
shared=${VISEARCH_SHARED_DIR:-../shared}
data=$shared/data/aquarium
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
skip_steps=0
skip_default=0
for a in "$@"; do
  case $a in
    --skip-steps) skip_steps=1 ;;
    --skip-default) skip_default=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done

if [ "$skip_steps" = 0 ]; then
  mini=$work/mini
  mkdir -p "$mini/train/images" "$mini/train/labels"
  # every 7th training image: 64 images that cover all 7 classes
  for f in $(ls "$data/train/images" | awk 'NR % 7 == 1'); do
    ln -s "$(realpath "$data/train/images/$f")" "$mini/train/images/$f"
    cp "$data/train/labels/${f%.jpg}.txt" "$mini/train/labels/"
  done
  cp -r "$data/valid" "$mini/valid"
  sed 's/^nc:.*/nc: 7/' "$data/data.yaml" > "$mini/data.yaml"
  echo "== step cost (ms per image per step, batch 8, $(nproc) cores)"
  printf '%-6s %-15s %8s %8s %8s %8s %8s\n' size freeze data forward loss backward total
  for size in 416 320; do
    for freeze in none backbone backbone+neck; do
      name="s${size}_${freeze/+/_}"
      "$bin" train --data "$mini" --epochs 1 --img-size "$size" --freeze "$freeze" --no-augment --seed 1 \
        --out "$work/runs" --name "$name" > /dev/null 2> "$work/$name.err" || { cat "$work/$name.err" >&2; exit 1; }
      jq -r --arg s "$size" --arg f "$freeze" \
        '[$s, $f, .ms_per_image.data, .ms_per_image.forward, .ms_per_image.loss, .ms_per_image.backward,
          (.ms_per_image.data + .ms_per_image.forward + .ms_per_image.loss + .ms_per_image.backward)] |
         @tsv' "$work/runs/$name/train_log.jsonl" | awk -F'\t' '{printf "%-6s %-15s %8.1f %8.1f %8.1f %8.1f %8.1f\n", $1,$2,$3,$4,$5,$6,$7}'
    done
  done
fi

if [ "$skip_default" = 0 ]; then
  echo "== default run: visearch train --data $data"
  start=$(date +%s)
  /usr/bin/time -v "$bin" train --data "$data" --out "$work/runs" --name aquarium > "$work/done.json" \
    2> "$work/default.err"
  end=$(date +%s)
  wall=$((end - start))
  rss_kb=$(grep 'Maximum resident set size' "$work/default.err" | awk '{print $NF}')
  log=$work/runs/aquarium/train_log.jsonl
  epochs=$(wc -l < "$log")
  echo "wall ${wall} s ($(awk -v w="$wall" 'BEGIN{printf "%.1f", w/60}') min), ${epochs} epochs," \
       "$(awk -v w="$wall" -v e="$epochs" 'BEGIN{printf "%.2f", w/60/e}') min/epoch, peak RSS $((rss_kb / 1024)) MiB"
  echo "AP-vs-minutes (EMA weights after each epoch, valid split):"
  jq -r '"  epoch \(.epoch)\t\(.elapsed_s / 60 * 100 | round / 100) min\tloss \(.loss)\tAP \(.val_ap)\tAP50 \(.val_ap50)"' "$log"
  m=$work/runs/aquarium/metrics.json
  ap=$(jq '.trained.stats.AP' "$m")
  ap50=$(jq '.trained.stats.AP50' "$m")
  echo "result: AP $ap AP50 $ap50 (base model: AP $(jq '.base.AP // .base.stats.AP' "$m"))"
  echo "per class:"
  jq -r '.trained.per_class[] | "  \(.name)\tAP \(.AP * 1000 | round / 1000)\tAP50 \(.AP50 * 1000 | round / 1000)\tboxes \(.ground_truth)"' "$m"
  ok=1
  awk -v a="$ap50" 'BEGIN{exit !(a >= 0.50)}' || { echo "FAIL: AP50 $ap50 < 0.50"; ok=0; }
  awk -v a="$ap" 'BEGIN{exit !(a >= 0.25)}' || { echo "FAIL: AP $ap < 0.25"; ok=0; }
  [ "$wall" -le 900 ] || { echo "FAIL: wall time $wall s > 15 minutes"; ok=0; }
  [ "$ok" = 1 ] && echo "PASS" || exit 1
fi
