#!/usr/bin/env bash
# HTTP service benchmark with wrk (Debian) and ../shared/bench/post.lua on two photos: the reference
# 640x800 JPEG ("640x800") and a 4032x3024 phone-size JPEG ("phone") that visearch_bench_detect
# --write-phone makes reproducibly from ../shared/data/samples/dog.jpg (the photo of its --phone runs).
# For each model and photo: bare forward and single-process end to end (DetectService::detect: decode ->
# boxes) at 1 and 2 threads (build/bench/visearch_bench_detect, same run), then p50/p99 latency at 1
# client and requests/s at 1, 2, 4 and 8 clients against `visearch serve`.
#
#   bench/serve_bench.sh [--models picodet_s_416,yolox_nano] [--photos 640x800,phone] [--seconds 10]
#                        [--workers 2] [--threads-per-worker 1] [--solo-threads -1]
#                        (the defaults are `visearch serve`'s)
#
# Prints a Markdown table and the target ratios:
#   p50(1 client) / forward(2 threads)                        target <= 1.15
#   rps(4 clients) / (2 * 1000 / end-to-end(1 thread) ms)     target >= 0.9  (the 2-core ideal, issue 13)
#   rps(4 clients) / (2 * 1000 / forward(1 thread) ms)        (the older, forward-only ideal)
#   e2e CPU ms (1 thread) / server CPU ms per request at 4 clients  (what serving adds, in CPU time: on a shared
#                                                               machine the requests/s depend on the other
#                                                               tenants' load, this ratio much less)
set -euo pipefail
cd "$(dirname "$0")/.."
models="picodet_s_416,yolox_nano"
photos="640x800,phone"
seconds=10
workers=2
tpw=1
solo=-1
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --photos) photos="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --threads-per-worker) tpw="$2"; shift 2 ;;
    --solo-threads) solo="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
shared="${VISEARCH_SHARED_DIR:-$(cd .. && pwd)/shared}"
lua="$shared/bench/post.lua"
[ -x build/visearch ] && [ -x build/bench/visearch_bench_detect ] || { echo "build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

port=$((20000 + RANDOM % 20000))
echo "| model | photo | fwd 1t ms | fwd 2t ms | e2e 1t ms | p50 1c ms | p99 1c ms | rps 1c | rps 2c | rps 4c | rps 8c | p50/fwd2t | rps4/(2x1000/e2e1t) | rps4/(2x1000/fwd1t) | e2e 1t cpu ms | server cpu ms/req 4c | e2e cpu / server cpu |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
IFS=',' read -ra model_list <<< "$models"
IFS=',' read -ra photo_list <<< "$photos"
for model in "${model_list[@]}"; do
  for photo in "${photo_list[@]}"; do
    case "$photo" in
      640x800)
        image="$shared/bench/query_640x800.jpg"
        fwd=$(build/bench/visearch_bench_detect --models "$model" --threads 1,2 --runs 30 "$image" 2>/dev/null) ;;
      phone)
        image="$tmp/phone_4032x3024.jpg"
        fwd=$(build/bench/visearch_bench_detect --models "$model" --threads 1,2 --runs 12 --warmup 2 \
          --write-phone "$image" "$shared/data/samples/dog.jpg" 2>/dev/null) ;;
      *) echo "unknown photo $photo (640x800 or phone)" >&2; exit 2 ;;
    esac
    field() {  # field THREADS KEY
      echo "$fwd" | python3 -c 'import sys,json; t,k=int(sys.argv[1]),sys.argv[2]; print([json.loads(l)[k] for l in sys.stdin if json.loads(l)["threads"]==t][0])' "$1" "$2"
    }
    fwd1=$(field 1 forward_ms_median)
    fwd2=$(field 2 forward_ms_median)
    e2e1=$(field 1 e2e_ms_median)
    e2e1cpu=$(field 1 e2e_cpu_ms_median)
    build/visearch serve --port "$port" --models "$model" --workers "$workers" --threads-per-worker "$tpw" \
      --solo-threads "$solo" \
      --queue-size 64 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
    # warm-up
    QUERY_IMAGE="$image" wrk -t1 -c1 -d2s -s "$lua" "http://127.0.0.1:$port/v1/detect" >/dev/null
    declare -A rps
    p50="" p99=""
    cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
    for c in 1 2 4 8; do
      [ "$c" = 4 ] && cpu0=$(cpu_ticks)
      out=$(QUERY_IMAGE="$image" wrk -t1 -c"$c" -d"${seconds}s" --latency -s "$lua" "http://127.0.0.1:$port/v1/detect")
      rps[$c]=$(echo "$out" | awk '/Requests\/sec/{print $2}')
      if [ "$c" = 4 ]; then  # the server's CPU time per request at 4 clients (all its threads)
        cpu1=$(cpu_ticks)
        requests=$(echo "$out" | awk '/requests in/{print $1}')
        cpu_ms=$(python3 -c "import os,sys; print(($cpu1 - $cpu0) * 1000 / os.sysconf('SC_CLK_TCK') / max(1, $requests))")
      fi
      if echo "$out" | grep -q "Non-2xx"; then echo "warning: non-2xx responses at $c clients ($photo)" >&2; fi
      if [ "$c" = 1 ]; then
        p50=$(echo "$out" | awk '$1=="50%"{print $2}')
        p99=$(echo "$out" | awk '$1=="99%"{print $2}')
      fi
    done
    kill -TERM "$pid"; wait "$pid" || true
    python3 - "$model" "$photo" "$fwd1" "$fwd2" "$e2e1" "$p50" "$p99" "${rps[1]}" "${rps[2]}" "${rps[4]}" "${rps[8]}" "$cpu_ms" "$e2e1cpu" <<'PY'
import sys
def ms(t):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if t.endswith(unit) and (unit != "s" or not t.endswith("ms") and not t.endswith("us")):
            return float(t[:-len(unit)]) * f
    return float(t)
m, photo, f1, f2, e1, p50, p99, r1, r2, r4, r8, cpu, e1cpu = sys.argv[1:]
cpu, e1cpu = float(cpu), float(e1cpu)
f1, f2, e1 = float(f1), float(f2), float(e1)
p50, p99 = ms(p50), ms(p99)
r4f = float(r4)
print(f"| {m} | {photo} | {f1:.1f} | {f2:.1f} | {e1:.1f} | {p50:.1f} | {p99:.1f} | {float(r1):.1f} | {float(r2):.1f} | {r4f:.1f} | {float(r8):.1f} | {p50/f2:.2f} | {r4f/(2*1000/e1):.2f} | {r4f/(2*1000/f1):.2f} | {e1cpu:.1f} | {cpu:.1f} | {e1cpu/cpu:.2f} |")
PY
  done
done
echo
echo "config: --workers $workers --threads-per-worker $tpw --solo-threads $solo, wrk -t1 -d${seconds}s, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
