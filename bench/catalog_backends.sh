#!/usr/bin/env bash
# Catalog engines side by side: SQLite + in-process HNSW against OpenSearch on 1 and 3 nodes, at each catalog
# size: import throughput, search p50/p99 (visual and fused ranking) and memory. Runs
# visearch_bench_catalog_backends (bench/catalog_backends.cpp) once per engine and size, starting and stopping
# its own loopback OpenSearch clusters (tools/opensearch-cluster.sh, state under /tmp/bench-os-PID-*), and
# prints the machine and a markdown table (bench/RESULTS.md, "catalog engines").
#
#   bench/catalog_backends.sh [--sizes "10000 100000"] [--engines "sqlite os1 os3"] [--batch 5000]
#                             [--os-batch all|B] [--queries 200] [--dimension 1280] [--heap 1g]
#                             [--run-timeout 1800] [--out DIR]
#
#   --sizes       catalog sizes (products; 1.6 object vectors per product on average)
#   --engines     sqlite (a temporary folder), os1 (OpenSearch, 1 node, 3 shards, no replica),
#                 os3 (3 nodes, 3 shards, 1 replica)
#   --batch       products per upsert (SQLite, and OpenSearch unless --os-batch)
#   --os-batch    products per upsert on OpenSearch (default all: one upsert of the whole catalog, which is
#                 what `visearch import` does with one catalog file). Each OpenSearch upsert builds a new
#                 generation index (a _reindex copy of the previous one + the change), so importing N
#                 products in batches of B writes ~N^2/(2B) documents
#   --heap        heap per OpenSearch node (VISEARCH_OPENSEARCH_HEAP)
#   --run-timeout seconds one bench run may take before it is stopped and reported as such
#   --out         where the JSON lines of every run are kept (default /tmp/visearch-catalog-bench-PID)
#
# Builds nothing: build the bench first with
#   cmake --build build --target visearch_bench_catalog_backends   (VISEARCH_BUILD_BENCH=ON)
# BUILD_DIR overrides the build folder (default: build). The OpenSearch launcher must be built
# (tools/install-deps.sh, see tests/fixtures/opensearch/README.md).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$repo/build}"
bench="$build/bench/visearch_bench_catalog_backends"
sizes="10000 100000"
engines="sqlite os1 os3"
batch=5000
os_batch="all"
queries=200
dimension=1280
heap="1g"
run_timeout=1800
out="/tmp/visearch-catalog-bench-$$"

while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --engines) engines="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --os-batch) os_batch="$2"; shift 2 ;;
    --queries) queries="$2"; shift 2 ;;
    --dimension) dimension="$2"; shift 2 ;;
    --heap) heap="$2"; shift 2 ;;
    --run-timeout) run_timeout="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "catalog_backends.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ ! -x "$bench" ]; then
  echo "catalog_backends.sh: $bench is missing; build it first:" >&2
  echo "  cmake -B build -DVISEARCH_BUILD_BENCH=ON && cmake --build build --target visearch_bench_catalog_backends" >&2
  exit 1
fi
cluster_tool="$repo/tools/opensearch-cluster.sh"
mkdir -p "$out"

# --- clusters: each run starts its own and stops it; none is left behind, whatever happens -----------------------
cluster_dirs=()
stop_clusters() {
  local d
  for d in "${cluster_dirs[@]+"${cluster_dirs[@]}"}"; do
    if [ -f "$d/cluster.env" ]; then VISEARCH_OPENSEARCH_DIR="$d" "$cluster_tool" stop >/dev/null 2>&1 || true; fi
  done
}
trap stop_clusters EXIT
trap 'exit 130' INT TERM

# --- the machine -------------------------------------------------------------------------------------------------
{
  echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the start"
  echo "commit:  $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "opensearch heap per node: $heap; batch $batch products per upsert (OpenSearch: ${os_batch:-$batch}); $queries queries per ranking; dimension $dimension"
} | tee "$out/machine.txt"

run_one() { # ENGINE SIZE -> writes $out/ENGINE-SIZE.jsonl (+ .err)
  local engine="$1" n="$2" name="$1-$2" rc=0 b="$batch" load0
  local log="$out/$name.jsonl" err="$out/$name.err"
  local args=(--products "$n" --dimension "$dimension" --queries "$queries" --json)
  if [ "$engine" != sqlite ] && [ -n "$os_batch" ]; then b="$os_batch"; fi
  [ "$b" = all ] && b="$n"
  args+=(--batch "$b")
  load0="$(cut -d' ' -f1 /proc/loadavg)"
  echo "== $name: $(date -u +%H:%M:%S), load $load0" >&2
  case "$engine" in
    sqlite)
      local dir
      dir="$(mktemp -d /tmp/bench-sqlite-$$-XXXX)"
      timeout "$run_timeout" "$bench" --catalog "sqlite:$dir" "${args[@]}" >"$log" 2>"$err" || rc=$?
      rm -rf "$dir"
      ;;
    os1 | os3)
      local nodes="${engine#os}" dir="/tmp/bench-os-$$-$name" url pids replicas=1
      [ "$nodes" = 1 ] && replicas=0
      cluster_dirs+=("$dir")
      if ! url="$(VISEARCH_OPENSEARCH_DIR="$dir" VISEARCH_OPENSEARCH_HEAP="$heap" VISEARCH_OPENSEARCH_OWNER_PID=$$ \
        "$cluster_tool" start "$nodes" 2>>"$err" | tail -n 1)"; then
        echo '{"event":"error","stage":"cluster start","message":"tools/opensearch-cluster.sh start failed (see '"$err"')"}' >"$log"
        return 0
      fi
      pids="$(cat "$dir"/node-*.pid | paste -sd, -)"
      timeout "$run_timeout" "$bench" --catalog "opensearch+$url/bench" --shards 3 --replicas "$replicas" \
        --jvm-pids "$pids" "${args[@]}" >"$log" 2>"$err" || rc=$?
      # the nodes' warnings and errors, for the report
      grep -hE '\]\[(WARN|ERROR) ' "$dir"/node-*.log | grep -v 'Falling back to single shard assignment' |
        cut -c1-400 >"$out/$name.node-warnings" 2>/dev/null || true
      VISEARCH_OPENSEARCH_DIR="$dir" "$cluster_tool" stop >/dev/null 2>&1 || true
      ;;
    *) echo "catalog_backends.sh: unknown engine $engine" >&2; exit 2 ;;
  esac
  if [ "$rc" = 124 ]; then
    echo '{"event":"error","stage":"run","message":"stopped after '"$run_timeout"' s (--run-timeout)"}' >>"$log"
  fi
  echo '{"event":"load","start":'"$load0"',"end":'"$(cut -d' ' -f1 /proc/loadavg)"'}' >>"$log"
  sed 's/^/   /' "$err" >&2
}

for n in $sizes; do
  for engine in $engines; do run_one "$engine" "$n"; done
done

# --- the table ---------------------------------------------------------------------------------------------------
python3 - "$out" "$sizes" "$engines" <<'EOF'
import json, os, sys
out, sizes, engines = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
rows = {}
def f(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"
print()
print("| engine | nodes | products | vectors | batch | import products/s | ready products/s | visual p50 / p99 ms | fused p50 / p99 ms | hit@10 visual / fused | peak RSS MB | RSS after (anon) MB | disk MB | load start / end |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    for e in engines:
        path = os.path.join(out, f"{e}-{n}.jsonl")
        lines = []
        if os.path.exists(path):
            for line in open(path):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
        summary = next((l for l in lines if l.get("event") == "summary"), None)
        error = next((l for l in lines if l.get("event") == "error"), None)
        load = next((l for l in lines if l.get("event") == "load"), {})
        loads = f"{load.get('start', '-')} / {load.get('end', '-')}"
        engine = "sqlite+hnsw" if e == "sqlite" else "opensearch"
        nodes = "-" if e == "sqlite" else e[2:]
        if summary is None:
            done = [l for l in lines if l.get("event") == "upsert"]
            why = error["stage"] + ": " + error["message"] if error else "no result"
            print(f"| {engine} | {nodes} | {int(n):,} | - | - | failed after {len(done)} upserts: {why[:300]} | | | | | | | | {loads} |")
            continue
        rows[(n, e)] = summary
        imp = summary["import"]
        mem = summary["memory_after_search"]
        if e == "sqlite":
            peak, after, anon = mem["bench_peak_rss_mb"], mem["bench_rss_mb"], mem["bench_anon_mb"]
        else:
            peak, after, anon = mem.get("jvm_peak_rss_mb"), mem.get("jvm_rss_mb"), mem.get("jvm_anon_mb")
        v, fu = summary["search_visual"], summary["search_fused"]
        errs = v["errors"] + fu["errors"]
        print(f"| {engine} | {nodes} | {summary['products']:,} | {summary['vectors']:,} | {min(summary['batch'], summary['products']):,} "
              f"| {f(imp['products_per_s'], 0)} | {f(imp['ready_products_per_s'], 0)} "
              f"| {f(v['p50_ms'])} / {f(v['p99_ms'])} | {f(fu['p50_ms'])} / {f(fu['p99_ms'])} "
              f"| {v['hit_at_limit']:.2f} / {fu['hit_at_limit']:.2f}{' (' + str(errs) + ' errors)' if errs else ''} "
              f"| {f(peak, 0)} | {f(after, 0)} ({f(anon, 0)}) | {f(summary['stats'].get('bytes', 0) / 1048576, 0)} | {loads} |")
print()
print("Ratios in this run (OpenSearch / SQLite; import: SQLite / OpenSearch):")
for n in sizes:
    base = rows.get((n, "sqlite"))
    if base is None:
        continue
    for e in engines:
        s = rows.get((n, e))
        if e == "sqlite" or s is None:
            continue
        def r(a, b):
            return "-" if not b else f"{a / b:,.1f}x"
        mem_os = s["memory_after_search"].get("jvm_peak_rss_mb", 0)
        print(f"- {int(n):,} products, {e[2:]} node(s): visual p50 {r(s['search_visual']['p50_ms'], base['search_visual']['p50_ms'])}, "
              f"fused p50 {r(s['search_fused']['p50_ms'], base['search_fused']['p50_ms'])}, "
              f"visual p99 {r(s['search_visual']['p99_ms'], base['search_visual']['p99_ms'])}, "
              f"import products/s {r(base['import']['products_per_s'], s['import']['products_per_s'])} "
              f"(ready {r(base['import']['ready_products_per_s'], s['import']['ready_products_per_s'])}), "
              f"peak memory {r(mem_os, base['memory_after_search']['bench_peak_rss_mb'])}")
EOF
echo
echo "JSON lines of every run: $out"
