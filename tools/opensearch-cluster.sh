#!/usr/bin/env bash
# Runs a real OpenSearch 2.x cluster on loopback for the tests: one JVM per node, started from the launcher that
# tests/fixtures/opensearch builds (OpenSearch 2.19.1 + k-NN 2.19.1.0, Lucene engine only, plain http, no auth).
# See tests/fixtures/opensearch/README.md.
#
#   tools/opensearch-cluster.sh start [NODES]   start NODES nodes (default 3) on free loopback ports, wait for green;
#                                               prints every node's URL, then the cluster's URL as the LAST line
#   tools/opensearch-cluster.sh stop            end every node (TERM, then KILL) and remove the state folder
#   tools/opensearch-cluster.sh stop-node I     SIGKILL node I (a crash); returns once the process is gone
#   tools/opensearch-cluster.sh start-node I    restart node I on its ports and data folder; waits until it rejoined
#   tools/opensearch-cluster.sh status          print the cluster health JSON (asked of the first live node)
#   tools/opensearch-cluster.sh wait STATUS [NODES] [SECONDS]
#                                               wait until health is STATUS (green|yellow|red; yellow: or
#                                               green) with NODES nodes
#   tools/opensearch-cluster.sh url             print the cluster's URL (node 0)
#
# Environment:
#   VISEARCH_OPENSEARCH_DIR        state folder (default /tmp/visearch-opensearch-$(id -u)); one cluster per folder,
#                                  so parallel tests give each its own folder
#   VISEARCH_OPENSEARCH_HEAP       heap per node (default 512m; -Xms = -Xmx)
#   VISEARCH_OPENSEARCH_TIMEOUT    seconds start/start-node wait (default 180)
#   VISEARCH_OPENSEARCH_JAVA       java binary (default: java on PATH; Java 17 is what the launcher is built for)
#   VISEARCH_OPENSEARCH_JAVA_OPTS  more JVM flags (e.g. -XX:TieredStopAtLevel=1 starts faster, runs slower)
#   VISEARCH_OPENSEARCH_OWNER_PID  if set at start: a watchdog stops the cluster once that process has exited
#                                  (a crashed test does not leave JVMs behind)
#
# Works as root: the launcher starts an org.opensearch.node.Node directly, without the distribution's bootstrap
# (which is what refuses root), so no setting is needed for that.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fixture="$repo/tests/fixtures/opensearch"
target="$fixture/target"
state="${VISEARCH_OPENSEARCH_DIR:-/tmp/visearch-opensearch-$(id -u)}"
heap="${VISEARCH_OPENSEARCH_HEAP:-512m}"
timeout_s="${VISEARCH_OPENSEARCH_TIMEOUT:-180}"
java_bin="${VISEARCH_OPENSEARCH_JAVA:-java}"
me="opensearch-cluster.sh"

die() {
  echo "$me: $*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

require_launcher() {
  local missing=""
  [ -f "$target/opensearch-node-launcher.jar" ] || missing="$target/opensearch-node-launcher.jar"
  [ -n "$missing" ] || compgen -G "$target/lib/opensearch-2*.jar" >/dev/null || missing="$target/lib/"
  [ -n "$missing" ] || compgen -G "$target/home/plugins/opensearch-knn/opensearch-knn-*.jar" >/dev/null ||
    missing="$target/home/plugins/opensearch-knn/"
  [ -n "$missing" ] || [ -f "$target/home/modules/lang-painless/plugin-descriptor.properties" ] ||
    missing="$target/home/modules/lang-painless/"
  if [ -n "$missing" ]; then
    die "the OpenSearch launcher is not built ($missing is missing). Build it with:
  mvn -q -B -f tests/fixtures/opensearch/pom.xml package
(tools/install-deps.sh runs that too; it needs Maven and a JDK 17)"
  fi
  command -v "$java_bin" >/dev/null || die "no java ($java_bin) found; install openjdk-17-jdk-headless (tools/install-deps.sh)"
  command -v python3 >/dev/null || die "python3 is needed (free ports, health checks)"
}

# --- state -----------------------------------------------------------------------------------------------------

load_state() {
  [ -f "$state/cluster.env" ] || die "no cluster in $state (run: $me start)"
  # shellcheck disable=SC1091
  . "$state/cluster.env"
}

node_pid() { # prints the pid of node $1 if that process is alive and is our node
  local f="$state/node-$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
  [[ "$cmdline" == *NodeLauncher*" --data $state/node-$1 "* ]] || return 1
  echo "$pid"
}

live_nodes() { # prints the indexes of the live nodes
  local i
  for ((i = 0; i < NODES; i++)); do
    if node_pid "$i" >/dev/null; then echo "$i"; fi
  done
}

http_port_of() { echo "$HTTP_PORTS" | cut -d, -f$(($1 + 1)); }
transport_port_of() { echo "$TRANSPORT_PORTS" | cut -d, -f$(($1 + 1)); }

# --- free ports ------------------------------------------------------------------------------------------------

# Picks $1 distinct free ports on 127.0.0.1 below the kernel's ephemeral range (so that an outgoing connection's
# local port can never take a node's port while the node is down for a restart): random, checked by binding, and
# not one that another cluster of this user picked in the last 15 minutes (a shared list under a lock), so that
# clusters started at the same moment never pick the same port before either has bound it.
pick_ports() {
  python3 - "$1" "/tmp/visearch-opensearch-ports-$(id -u)" <<'EOF'
import fcntl, os, random, socket, sys, time
n, ledger = int(sys.argv[1]), sys.argv[2]
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except Exception:
    low = 32768
lo, hi = (10000, low - 1) if low > 12000 else (low, 65535)
rng = random.SystemRandom()
with open(ledger, "a+") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    now = time.time()
    recent = {}
    for line in f:
        try:
            port, when = line.split()
            if now - float(when) < 900:
                recent[int(port)] = float(when)
        except ValueError:
            pass
    picked = []
    while len(picked) < n:
        p = rng.randint(lo, hi)
        if p in picked or p in recent:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", p))
            picked.append(p)
        except OSError:
            pass
        finally:
            s.close()
    for p in picked:
        recent[p] = now
    f.seek(0)
    f.truncate()
    f.writelines("%d %.0f\n" % (p, w) for p, w in recent.items())
print(" ".join(map(str, picked)))
EOF
}

# --- health ----------------------------------------------------------------------------------------------------

# Prints "STATUS NUMBER_OF_NODES" from node $1's /_cluster/health, or nothing.
health_of() {
  python3 - "$(http_port_of "$1")" <<'EOF' 2>/dev/null || true
import json, sys, urllib.request
try:
    with urllib.request.urlopen("http://127.0.0.1:%s/_cluster/health?timeout=2s" % sys.argv[1], timeout=4) as r:
        h = json.load(r)
    print(h["status"], h["number_of_nodes"])
except Exception:
    pass
EOF
}

tail_logs() {
  local i
  for ((i = 0; i < NODES; i++)); do
    if [ -f "$state/node-$i.log" ]; then
      echo "----- $state/node-$i.log (last 40 lines) -----" >&2
      tail -n 40 "$state/node-$i.log" >&2
    fi
  done
}

# Waits until a live node reports status $1 with $2 nodes; fails after $3 seconds.
wait_health() {
  local want="$1" want_nodes="$2" limit="$3" deadline i h
  deadline=$((SECONDS + limit))
  while :; do
    for i in $(live_nodes); do
      h="$(health_of "$i")"
      [ -n "$h" ] || continue
      if [ "$h" = "$want $want_nodes" ]; then return 0; fi
      # yellow is "at least yellow": a cluster that went straight to green has passed it
      if [ "$want" = yellow ] && [ "$h" = "green $want_nodes" ]; then return 0; fi
      break
    done
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

# --- nodes -----------------------------------------------------------------------------------------------------

launch_node() {
  local i="$1" dir="$state/node-$1" seeds="" masters="" j
  for ((j = 0; j < NODES; j++)); do
    seeds+="${seeds:+,}127.0.0.1:$(transport_port_of "$j")"
    masters+="${masters:+,}node-$j"
  done
  mkdir -p "$dir/tmp"
  # shellcheck disable=SC2086
  setsid nohup "$java_bin" \
    -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -XX:-OmitStackTraceInFastThrow -Xss1m \
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true -Djava.io.tmpdir="$dir/tmp" \
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true -Dio.netty.recycler.maxCapacityPerThread=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dvisearch.node.name="node-$i" \
    ${VISEARCH_OPENSEARCH_JAVA_OPTS:-} \
    -cp "$target/opensearch-node-launcher.jar:$target/lib/*" dev.visearch.opensearch.NodeLauncher \
    --home "$target/home" --data "$dir" \
    --cluster-name "$CLUSTER_NAME" --node-name "node-$i" \
    --http-port "$(http_port_of "$i")" --transport-port "$(transport_port_of "$i")" \
    --seed-hosts "$seeds" --initial-cluster-manager-nodes "$masters" \
    </dev/null >>"$state/node-$i.log" 2>&1 &
  echo $! >"$state/node-$i.pid"
  # until setsid and nohup have exec'd java, the pid's command line is not the node's yet (node_pid checks it)
  local t
  for ((t = 0; t < 100; t++)); do
    if node_pid "$i" >/dev/null || [ ! -d "/proc/$(cat "$state/node-$i.pid")" ]; then break; fi
    sleep 0.05
  done
}

# Ends node $1: signal $2, and KILL after $3 seconds. Returns once the process is gone.
end_node() {
  local i="$1" sig="$2" grace="$3" pid t
  pid="$(node_pid "$i")" || {
    rm -f "$state/node-$i.pid"
    return 0
  }
  kill -s "$sig" "$pid" 2>/dev/null || true
  for ((t = 0; t < grace * 10; t++)); do
    [ -d "/proc/$pid" ] || break
    # a zombie (not reaped yet) is gone for our purpose
    if [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = "Z" ]; then break; fi
    sleep 0.1
  done
  if [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; then
    kill -KILL "$pid" 2>/dev/null || true
    while [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; do sleep 0.1; done
  fi
  rm -f "$state/node-$i.pid"
}

stop_watchdog() {
  if [ -f "$state/watchdog.pid" ]; then
    local pid
    pid="$(cat "$state/watchdog.pid")"
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "opensearch-cluster.sh"; then
      kill "$pid" 2>/dev/null || true
    fi
    rm -f "$state/watchdog.pid"
  fi
}

# --- commands --------------------------------------------------------------------------------------------------

cmd_start() {
  local n="${1:-3}" attempt ports i url
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "start: NODES must be a positive number, got '$n'"
  require_launcher
  if [ -f "$state/cluster.env" ]; then
    # shellcheck disable=SC1091
    . "$state/cluster.env"
    if [ -n "$(live_nodes)" ]; then
      die "a cluster is already running in $state ($(cat "$state/url" 2>/dev/null)); stop it first or set VISEARCH_OPENSEARCH_DIR"
    fi
    rm -rf "$state"
  fi
  local t0=$SECONDS
  for attempt in 1 2 3; do
    rm -rf "$state"
    mkdir -p "$state"
    ports="$(pick_ports $((2 * n)))"
    read -r -a ports_arr <<<"$ports"
    NODES="$n"
    CLUSTER_NAME="visearch-test-$$-$RANDOM"
    HTTP_PORTS="$(IFS=,; echo "${ports_arr[*]:0:n}")"
    TRANSPORT_PORTS="$(IFS=,; echo "${ports_arr[*]:n:n}")"
    printf 'NODES=%s\nCLUSTER_NAME=%s\nHTTP_PORTS=%s\nTRANSPORT_PORTS=%s\n' \
      "$NODES" "$CLUSTER_NAME" "$HTTP_PORTS" "$TRANSPORT_PORTS" >"$state/cluster.env"
    url="http://127.0.0.1:$(http_port_of 0)"
    echo "$url" >"$state/url"
    for ((i = 0; i < n; i++)); do launch_node "$i"; done

    local deadline=$((SECONDS + timeout_s)) failed="" h
    while :; do
      if [ "$(live_nodes | wc -l)" -ne "$n" ]; then
        failed="a node exited"
        break
      fi
      h="$(health_of 0)"
      if [ "$h" = "green $n" ]; then break; fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        failed="not green with $n nodes after ${timeout_s}s (last health: ${h:-no answer})"
        break
      fi
      sleep 1
    done
    if [ -z "$failed" ]; then
      for ((i = 0; i < n; i++)); do echo "node-$i http://127.0.0.1:$(http_port_of "$i")"; done
      echo "$me: $n nodes green in $((SECONDS - t0))s (state: $state)" >&2
      if [ -n "${VISEARCH_OPENSEARCH_OWNER_PID:-}" ]; then
        start_watchdog "$VISEARCH_OPENSEARCH_OWNER_PID"
      fi
      echo "$url"
      return 0
    fi
    # a port taken between the probe and the bind: try again with new ports
    if grep -qs "Address already in use" "$state"/node-*.log && [ "$attempt" -lt 3 ]; then
      echo "$me: a port was taken meanwhile; retrying with other ports" >&2
      for ((i = 0; i < n; i++)); do end_node "$i" KILL 0; done
      continue
    fi
    echo "$me: start failed: $failed" >&2
    tail_logs
    for ((i = 0; i < n; i++)); do end_node "$i" KILL 0; done
    echo "$me: the logs are kept in $state" >&2
    exit 1
  done
}

start_watchdog() {
  local owner="$1"
  [[ "$owner" =~ ^[0-9]+$ ]] || die "VISEARCH_OPENSEARCH_OWNER_PID must be a pid"
  # detached, so it outlives this script; it stops the cluster once the owner is gone
  VISEARCH_OPENSEARCH_DIR="$state" setsid nohup bash "${BASH_SOURCE[0]}" __watchdog "$owner" \
    </dev/null >>"$state/watchdog.log" 2>&1 &
  echo $! >"$state/watchdog.pid"
}

cmd_watchdog() {
  local owner="$1"
  while [ -d "/proc/$owner" ] && [ -f "$state/cluster.env" ]; do sleep 2; done
  if [ -f "$state/cluster.env" ]; then
    echo "$me: owner $owner exited; stopping the cluster in $state"
    rm -f "$state/watchdog.pid"
    cmd_stop
  fi
}

cmd_stop() {
  if [ ! -f "$state/cluster.env" ]; then
    rm -rf "$state"
    echo "$me: no cluster in $state" >&2
    return 0
  fi
  load_state
  stop_watchdog
  local i pid
  for i in $(live_nodes); do
    pid="$(node_pid "$i")" && kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < NODES; i++)); do end_node "$i" TERM 20; done
  rm -rf "$state"
  echo "$me: stopped (removed $state)" >&2
}

check_index() {
  [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -lt "$NODES" ] || die "node index must be 0..$((NODES - 1)), got '$1'"
}

cmd_stop_node() {
  local i="${1:?stop-node needs a node index}"
  load_state
  check_index "$i"
  node_pid "$i" >/dev/null || die "node $i is not running"
  end_node "$i" KILL 0
  echo "$me: node-$i killed (SIGKILL)" >&2
}

cmd_start_node() {
  local i="${1:?start-node needs a node index}"
  require_launcher
  load_state
  check_index "$i"
  ! node_pid "$i" >/dev/null || die "node $i is already running"
  local want deadline=$((SECONDS + timeout_s)) h j joined
  want=$(($(live_nodes | wc -l) + 1))
  launch_node "$i"
  while :; do
    node_pid "$i" >/dev/null || {
      echo "$me: node $i exited while starting" >&2
      tail -n 60 "$state/node-$i.log" >&2
      exit 1
    }
    # the restarted node answers health once it has joined, and the others count it
    # (at least `want`: nodes restarted at the same time, as after a whole-cluster stop, join together)
    h="$(health_of "$i")"
    joined=1
    if [ -z "$h" ] || [ "${h#* }" -lt "$want" ]; then joined=0; fi
    for j in $(live_nodes); do
      [ "$joined" = 1 ] || break
      [ "$j" = "$i" ] && continue
      h="$(health_of "$j")"
      if [ -z "$h" ] || [ "${h#* }" -lt "$want" ]; then joined=0; fi
      break
    done
    if [ "$joined" = 1 ]; then break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$me: node $i did not rejoin within ${timeout_s}s" >&2
      tail -n 60 "$state/node-$i.log" >&2
      exit 1
    fi
    sleep 1
  done
  echo "$me: node-$i rejoined ($want nodes)" >&2
  echo "http://127.0.0.1:$(http_port_of "$i")"
}

cmd_status() {
  load_state
  local i
  for i in $(live_nodes); do
    if python3 - "$(http_port_of "$i")" <<'EOF'; then return 0; fi
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/_cluster/health?timeout=2s" % sys.argv[1], timeout=5) as r:
    print(r.read().decode())
EOF
  done
  die "no node of the cluster in $state answers"
}

cmd_wait() {
  local want="${1:?wait needs a status: green, yellow or red}"
  load_state
  local nodes="${2:-$NODES}" limit="${3:-$timeout_s}"
  case "$want" in green | yellow | red) ;; *) die "wait: status must be green, yellow or red" ;; esac
  wait_health "$want" "$nodes" "$limit" || {
    echo "$me: not $want with $nodes nodes after ${limit}s" >&2
    cmd_status >&2 || true
    exit 1
  }
}

cmd="${1:-}"
shift || true
case "$cmd" in
  start) cmd_start "$@" ;;
  stop) cmd_stop ;;
  stop-node) cmd_stop_node "$@" ;;
  start-node) cmd_start_node "$@" ;;
  status) cmd_status ;;
  wait) cmd_wait "$@" ;;
  url)
    load_state
    cat "$state/url"
    ;;
  __watchdog) cmd_watchdog "$@" ;;
  *) usage ;;
esac
