#!/usr/bin/env bash
# Stateless replicas (docs/deployment.md): two `visearch serve` processes sharing one catalog behind nginx,
# configured by deploy/nginx/visearch.conf itself, all on loopback. wrk POSTs a photo to nginx's /v1/detect
# over 4 connections while this script
#   1. kills replica 1 (SIGKILL: a crash), starts it again on the same port 2 s later, and waits until
#      nginx sends it requests again;
#   2. stops replica 2 (SIGTERM: it drains and must exit 0), starts it again at once, and waits likewise;
# the load starts 3 s before the kill and ends 3 s after the last step (about 20 s in all; longer on a
# busy machine, where replicas take longer to start, so the load always covers every step).
# It passes when the client got nothing but 2xx answers and no socket error, at least $min_ok of them, and
# nginx's log shows requests that a replica failed and the other answered (so the kills hit requests).
# Then, with both replicas up: a client's X-Request-Id reaches the replica and comes back; a body over
# the 20 MiB limit gets nginx's JSON 413; a product imported through nginx is seen by both replicas (one
# catalog). Last, deploy/'s other files are checked as far as this machine can: the systemd unit with
# systemd-analyze verify, the Kubernetes manifests as YAML (each only when the tool is there).
#
#   replicas_test.sh BINARY SOURCE_DIR SHARED_DIR [NGINX_CONF]
#
# NGINX_CONF (default SOURCE_DIR/deploy/nginx/visearch.conf) runs the test with a changed copy: without
# `non_idempotent` on the detect location it must fail. nginx, wrk, jq and curl come from PATH (plus
# /usr/sbin); nginx is started as this script's child with every file it writes under a scratch prefix.
set -euo pipefail
binary=$(realpath "$1") source_dir=$2 shared_dir=$3
conf_in=${4:-$source_dir/deploy/nginx/visearch.conf}
PATH=$PATH:/usr/sbin:/sbin

max_load_seconds=90  # the load normally ends well before this (see above)
connections=4
min_ok=60  # a few seconds' worth: this 2-core machine did 9 to 30 a second here while busy with other work
image=$shared_dir/data/samples/bus.jpg

work=$(mktemp -d)
chmod 755 "$work"  # nginx's workers run as nobody when this runs as root; they must reach $work/nginx
# The catalog both replicas share: one SQLite folder on this machine (under a detection load), or, with
# VISEARCH_REPLICAS_CATALOG=URI (tests/integration/opensearch_test.cpp passes its cluster's catalog), an
# OpenSearch catalog the replicas share with nothing else, under a search load.
if [ -n "${VISEARCH_REPLICAS_CATALOG:-}" ]; then
  catalog_args=(--catalog "$VISEARCH_REPLICAS_CATALOG")
  load_path=/v1/search
  min_ok=20  # a search costs several detections' worth (an embedding per object, the cluster's round trips)
else
  catalog_args=(--data-dir "$work/catalog")
  load_path=/v1/detect
fi

declare -A pids=() ports=()
nginx_pid="" wrk_pid=""

cleanup() {
  local status=$? pid
  for pid in "$wrk_pid" "${pids[@]}" "$nginx_pid"; do
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "$wrk_pid" "${pids[@]}" "$nginx_pid"; do
    if [ -n "$pid" ]; then wait "$pid" 2>/dev/null || true; fi
  done
  if [ "$status" != 0 ]; then show_logs; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

show_logs() {
  echo "--- nginx error log (last 40 lines)"
  tail -n 40 "$work/nginx/logs/error.log" 2>/dev/null || true
  local i
  for i in 1 2; do
    echo "--- replica $i: events (access-log lines left out; last 20)"
    grep -v '"path":' "$work/replica$i.log" 2>/dev/null | tail -n 20 || true
  done
  if [ -f "$work/wrk.out" ]; then
    echo "--- wrk"
    cat "$work/wrk.out"
  fi
}
fail() {
  echo "replicas_test: FAIL: $*" >&2
  exit 1
}
since() { echo "$1" | awk -v t0="$t0" '{printf "%.1f", $1 - t0}'; }  # seconds since the load started

for tool in nginx wrk jq curl python3; do
  command -v "$tool" >/dev/null || fail "$tool not found (deps/apt-packages.txt)"
done
[ -f "$image" ] || fail "no sample photo at $image"

# Three free loopback ports, held together so that they differ.
read -r nginx_port ports[1] ports[2] < <(python3 -c '
import socket
held = [socket.socket() for _ in range(3)]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))')

start_replica() {  # start_replica N: `visearch serve` on ports[N], stderr appended to $work/replicaN.log
  local n=$1
  "$binary" serve --host 127.0.0.1 --port "${ports[$n]}" --models picodet_s_416 --model-dir "$shared_dir/models" \
    "${catalog_args[@]}" 2>>"$work/replica$n.log" &
  pids[$n]=$!
}

wait_ready() {  # wait_ready N: until replica N's own /ping answers 200 (models loaded), 60 s at most
  local n=$1 i
  for i in $(seq 600); do
    curl -sf --max-time 1 "http://127.0.0.1:${ports[$n]}/ping" >/dev/null && return 0
    kill -0 "${pids[$n]}" 2>/dev/null || fail "replica $n exited during start-up"
    sleep 0.1
  done
  fail "replica $n did not answer /ping within 60 s"
}

# until nginx's log shows a 200 from replica N that ended after time SINCE (nginx took it back), 20 s at most
wait_routed() {
  local n=$1 after=$2 i
  for i in $(seq 200); do
    if jq -e --arg up "127.0.0.1:${ports[$n]}" --argjson after "$after" \
      'select(.msec > $after and .status == 200 and (.upstream | split(", ") | last) == $up)' \
      "$work/nginx/logs/visearch.access.log" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  fail "nginx sent replica $n no request within 20 s of its restart"
}

echo "== nginx from $conf_in: port $nginx_port, replicas on ${ports[1]} and ${ports[2]}"
prefix=$work/nginx
mkdir -p "$prefix/logs" "$prefix/tmp"
chmod 755 "$prefix" "$prefix/tmp"
# The shipped file with this run's ports and log folder. Each substitution must hit: a shipped file that no
# longer says what the test expects fails here rather than testing something else.
sed -e "s|listen 8080;|listen 127.0.0.1:$nginx_port;|" \
  -e "s|server 127\.0\.0\.1:8081 |server 127.0.0.1:${ports[1]} |" \
  -e "s|server 127\.0\.0\.1:8082 |server 127.0.0.1:${ports[2]} |" \
  -e "s|/var/log/nginx/|$prefix/logs/|" "$conf_in" >"$prefix/visearch.conf"
grep -q "listen 127.0.0.1:$nginx_port;" "$prefix/visearch.conf" || fail "no 'listen 8080;' in $conf_in"
grep -q "server 127.0.0.1:${ports[1]} " "$prefix/visearch.conf" || fail "no 'server 127.0.0.1:8081 ' in $conf_in"
grep -q "server 127.0.0.1:${ports[2]} " "$prefix/visearch.conf" || fail "no 'server 127.0.0.1:8082 ' in $conf_in"
if grep -v '^[[:space:]]*#' "$prefix/visearch.conf" | grep -E -q '/var/|/run/'; then
  fail "the nginx configuration still names a system path: $(grep -v '^[[:space:]]*#' "$prefix/visearch.conf" |
    grep -E '/var/|/run/')"
fi
# The main configuration around it: every file nginx writes (pid, logs, lock, temporary bodies) under the
# prefix, none in /run, /var/log/nginx or /var/lib/nginx.
cat >"$prefix/nginx.conf" <<EOF
worker_processes 2;
pid $prefix/logs/nginx.pid;
lock_file $prefix/logs/nginx.lock;
error_log $prefix/logs/error.log warn;
events { worker_connections 512; }
http {
  default_type application/octet-stream;
  access_log $prefix/logs/access.log;
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
  include $prefix/visearch.conf;
}
EOF
nginx_args=(-p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log")
nginx "${nginx_args[@]}" -t -q 2>"$work/nginx-t.log" || { cat "$work/nginx-t.log"; fail "nginx -t"; }

echo "== two replicas sharing ${catalog_args[*]}"
start_replica 1
start_replica 2
nginx "${nginx_args[@]}" -g 'daemon off;' &
nginx_pid=$!
wait_ready 1
wait_ready 2
for _ in $(seq 100); do
  curl -sf --max-time 1 "http://127.0.0.1:$nginx_port/ping" >/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited"
  sleep 0.1
done
curl -sf --max-time 1 "http://127.0.0.1:$nginx_port/ping" >/dev/null || fail "nginx's /ping never answered 200"

echo "== load: POST $load_path over $connections connections; one replica killed, the other stopped"
# wrk stops at SIGINT (below) and then prints its summary, as at the end of its duration.
REPLICAS_IMAGE=$image wrk -t1 -c"$connections" -d"${max_load_seconds}s" --timeout 10s \
  -s "$source_dir/tests/replicas/load.lua" "http://127.0.0.1:$nginx_port$load_path" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
t0=$EPOCHREALTIME
sleep 3

# 1. A crash: SIGKILL, gone for 2 s, then back on the same port.
kill -KILL "${pids[1]}"
{ wait "${pids[1]}"; } 2>/dev/null || true  # (bash would report the kill on stderr)
pids[1]=""
echo "t=$(since "$EPOCHREALTIME") s: replica 1 sent SIGKILL"
sleep 2
start_replica 1
wait_ready 1
back=$EPOCHREALTIME
echo "t=$(since "$back") s: replica 1 restarted, /ping 200"
wait_routed 1 "$back"
echo "t=$(since "$EPOCHREALTIME") s: nginx sends replica 1 requests again"

# 2. A stop: SIGTERM, the replica drains what it holds and exits 0; started again at once.
stop_at=$EPOCHREALTIME
kill -TERM "${pids[2]}"
status=0
wait "${pids[2]}" || status=$?
pids[2]=""
echo "t=$(since "$stop_at") s: replica 2 sent SIGTERM; it exited $status after" \
  "$(echo "$EPOCHREALTIME $stop_at" | awk '{printf "%.2f", $1 - $2}') s"
[ "$status" = 0 ] || fail "replica 2 exited $status on SIGTERM, not 0 (drain)"
start_replica 2
wait_ready 2
back=$EPOCHREALTIME
echo "t=$(since "$back") s: replica 2 restarted, /ping 200"
wait_routed 2 "$back"
echo "t=$(since "$EPOCHREALTIME") s: nginx sends replica 2 requests again"
sleep 3
kill -0 "$wrk_pid" 2>/dev/null || fail "the load ended before both replicas were back (machine too slow?)"
kill -INT "$wrk_pid"
status=0
wait "$wrk_pid" || status=$?
wrk_pid=""
[ "$status" = 0 ] || fail "wrk exited $status"
echo "t=$(since "$EPOCHREALTIME") s: load ended"

echo "== client side"
grep -E '^(status|socket_errors|requests) ' "$work/wrk.out" | sort
# When did the failures come (compare with the steps' times above)?
awk -v t0="$t0" '$1 == "bad" {printf "t=%d s: %d answers %s\n", $2 - int(t0), $4, $3}' "$work/wrk.out" | sort -n -t= -k2
total=$(awk '$1 == "requests" {print $2}' "$work/wrk.out")
ok=$(awk '$1 == "status" && $2 >= 200 && $2 < 300 {n += $3} END {print n + 0}' "$work/wrk.out")
non2xx=$(awk '$1 == "status" && ($2 < 200 || $2 >= 300) {n += $3} END {print n + 0}' "$work/wrk.out")
socket_errors=$(awk '$1 == "socket_errors" {n = 0; for (i = 2; i <= NF; i++) {split($i, kv, "="); n += kv[2]}; print n}' \
  "$work/wrk.out")
[ -n "$total" ] && [ -n "$socket_errors" ] || fail "wrk printed no summary"
log=$prefix/logs/visearch.access.log
passed_on=$(jq -s --arg path "$load_path" \
  '[.[] | select(.uri == $path and (.upstream_status | contains(",")))] | length' "$log")
echo "replicas_test: $total requests: $ok 2xx, $non2xx other, $socket_errors socket errors;" \
  "nginx passed $passed_on of them to the other replica"
jq -r --arg path "$load_path" 'select(.uri == $path and (.upstream_status | contains(","))) | .upstream_status' "$log" |
  sort | uniq -c | sed 's/^/  upstream statuses of a retried request: /'
for n in 1 2; do
  echo "  replica $n answered $(jq -s --arg up "127.0.0.1:${ports[$n]}" --arg path "$load_path" \
    '[.[] | select(.uri == $path and .status == 200 and (.upstream | split(", ") | last) == $up)] | length' \
    "$log") of them"
done
[ "$non2xx" = 0 ] || fail "$non2xx answers other than 2xx reached the client"
[ "$socket_errors" = 0 ] || fail "$socket_errors socket errors at the client"
[ "$ok" -ge "$min_ok" ] || fail "only $ok successful requests (at least $min_ok expected)"
[ "$passed_on" -gt 0 ] || fail "no request was passed to the other replica: the kills hit no request?"

echo "== X-Request-Id through nginx"
headers=$(curl -s -o /dev/null -D - --max-time 10 -H 'X-Request-Id: replicas-test-42' -H 'Content-Type: image/jpeg' \
  --data-binary "@$image" "http://127.0.0.1:$nginx_port/v1/detect")
echo "$headers" | grep -q '^HTTP/1.1 200' || fail "detect with a request id: $headers"
echo "$headers" | grep -qi '^x-request-id: replicas-test-42' || fail "the request id did not come back: $headers"
grep -q '"request_id":"replicas-test-42"' "$work/replica1.log" "$work/replica2.log" ||
  fail "no replica logged the request id"

echo "== a body over 20 MiB: nginx's 413, as JSON"
truncate -s 21M "$work/big.jpg"
reply=$(curl -s -w '\n%{http_code}' --max-time 10 -H 'Content-Type: image/jpeg' --data-binary "@$work/big.jpg" \
  "http://127.0.0.1:$nginx_port/v1/detect")
[ "$(echo "$reply" | tail -n 1)" = 413 ] || fail "a 21 MiB body: $(echo "$reply" | tail -n 1), not 413"
echo "$reply" | head -n 1 | jq -e '.error.code == "payload_too_large"' >/dev/null ||
  fail "the 413 is not the JSON error: $reply"

echo "== one catalog: a product imported through nginx, read from each replica"
printf '{"products": [{"id": "replicas-test-1", "title": "Bus", "images": [{"data": "%s"}]}]}' \
  "$(base64 -w 0 "$image")" >"$work/product.json"
reply=$(curl -s -w '\n%{http_code}' --max-time 60 -H 'Content-Type: application/json' \
  --data-binary "@$work/product.json" "http://127.0.0.1:$nginx_port/v1/products")
[ "$(echo "$reply" | tail -n 1)" = 200 ] || fail "import through nginx: $reply"
for n in 1 2; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:${ports[$n]}/v1/products/replicas-test-1")
  [ "$code" = 200 ] || fail "replica $n answered $code for the product imported through nginx"
done

echo "== deploy/systemd: systemd-analyze verify"
unit=$source_dir/deploy/systemd/visearch.service
grep -q -- '--port 8080' "$unit" || fail "$unit has no '--port 8080' (docs/deployment.md's sed for replicas needs it)"
if command -v systemd-analyze >/dev/null; then
  # The unit names the packaged binary, /usr/bin/visearch, which verify wants to exist: check a copy that
  # names the binary under test.
  mkdir -p "$work/systemd"
  sed "s|/usr/bin/visearch|$binary|g" "$unit" >"$work/systemd/visearch.service"
  verify=$(systemd-analyze verify "$work/systemd/visearch.service" 2>&1) || fail "systemd-analyze verify: $verify"
  # verify only warns about unknown keys or bad values: none is allowed.
  if [ -n "$verify" ]; then fail "systemd-analyze verify: $verify"; fi
else
  echo "skipped: no systemd-analyze here"
fi

echo "== deploy/kubernetes: the manifests parse as YAML (never applied to a cluster here)"
if python3 -c 'import yaml' 2>/dev/null; then
  python3 - "$source_dir/deploy/kubernetes" <<'PY' || fail "deploy/kubernetes"
import sys, yaml
folder = sys.argv[1]
docs = {}
for name in ("deployment.yaml", "service.yaml", "hpa.yaml"):
    with open(f"{folder}/{name}") as f:
        for doc in yaml.safe_load_all(f):
            docs[doc["kind"]] = doc
dep, svc, hpa = docs["Deployment"], docs["Service"], docs["HorizontalPodAutoscaler"]
container = dep["spec"]["template"]["spec"]["containers"][0]
assert container["readinessProbe"]["httpGet"]["path"] == "/ping", "readiness is /ping"
assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live", "liveness is /v2/health/live"
assert "cpu" in container["resources"]["requests"], "the HPA's CPU target needs a CPU request"
port_names = {p["name"] for p in container["ports"]}
assert svc["spec"]["ports"][0]["targetPort"] in port_names, "the Service targets the container's port"
assert svc["spec"]["selector"].items() <= dep["spec"]["template"]["metadata"]["labels"].items(), "selector"
assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
print("ok: Deployment, Service, HorizontalPodAutoscaler")
PY
else
  echo "skipped: python3 has no yaml module here"
fi

echo "replicas_test: ok"
