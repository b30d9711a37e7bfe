#!/usr/bin/env bash
# Bounded load test (not part of the unit suite): 60 s at 8 concurrent clients
# posting ../shared/bench/query_640x800.jpg to `visearch serve`, sampling the
# server's resident memory and /ping latency every 5 s. Passes when the only
# non-2xx answers are deliberate 503s, /ping always answers within 2 s, and RSS
# at the end is within 10 % (+16 MiB) of RSS after warm-up.
#
#   bench/load_test.sh [--seconds 60] [--clients 8] [--model picodet_s_416] [--queue-size 4]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60 clients=8 model=picodet_s_416 queue=4
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --queue-size) queue="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
shared="${VISEARCH_SHARED_DIR:-$(cd .. && pwd)/shared}"
image="$shared/bench/query_640x800.jpg"
port=$((20000 + RANDOM % 20000))
log=$(mktemp)
build/visearch serve --port "$port" --models "$model" --queue-size "$queue" 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/{print $2}' "/proc/$pid/status"; }

# Count statuses with a Lua script so 503s are told apart from other failures.
lua=$(mktemp --suffix=.lua)
cat > "$lua" <<LUA
local f = assert(io.open("$image", "rb"))
wrk.method = "POST"; wrk.body = f:read("*all"); f:close()
wrk.headers["Content-Type"] = "image/jpeg"
counts = {}  -- global: read from each thread by done() via thread:get
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function setup(thread) table.insert(threads, thread) end
threads = {}
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts") or {}
    for k, v in pairs(c) do all[k] = (all[k] or 0) + v end
  end
  for k, v in pairs(all) do io.write(string.format("status %d %d\n", k, v)) end
end
LUA
QUERY_IMAGE="$image" wrk -t1 -c"$clients" -d5s -s "$lua" "http://127.0.0.1:$port/v1/detect" >/dev/null
rss_start=$(rss)
echo "rss after warm-up: ${rss_start} KiB"
( for i in $(seq $((seconds / 5))); do
    sleep 5
    ping_s=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 "http://127.0.0.1:$port/ping")
    echo "t=$((i * 5))s rss=$(rss) KiB ping=${ping_s}s"
  done ) > "$log.samples" &
sampler=$!
out=$(wrk -t2 -c"$clients" -d"${seconds}s" --latency -s "$lua" "http://127.0.0.1:$port/v1/detect")
wait "$sampler" || true
cat "$log.samples"
rss_end=$(rss)
slow_ping=$(awk -F'ping=' '{sub(/s$/, "", $2); if ($2 + 0 > 2.0) n++} END {print n+0}' "$log.samples")
rm -f "$log.samples"
rm -f "$lua"
echo "$out" | grep -E "Requests/sec|Latency|50%|99%|status|Socket errors" || true
echo "rss at end: ${rss_end} KiB (start ${rss_start} KiB)"
bad=$(echo "$out" | awk '$1=="status" && $2!=200 && $2!=503 {n+=$3} END {print n+0}')
errors=$(echo "$out" | awk '/Socket errors/{print}' )
limit=$((rss_start + rss_start / 10 + 16384))
status=0
if [ "$bad" -ne 0 ]; then echo "FAIL: $bad responses other than 200/503"; status=1; fi
if [ -n "$errors" ]; then echo "FAIL: $errors"; status=1; fi
if [ "$slow_ping" -ne 0 ]; then echo "FAIL: /ping took more than 2 s under load ($slow_ping samples)"; status=1; fi
if [ "$rss_end" -gt "$limit" ]; then echo "FAIL: RSS grew from $rss_start to $rss_end KiB"; status=1; fi
[ "$status" = 0 ] && echo "PASS: only 200/503, RSS flat"
exit "$status"
