#!/usr/bin/env bash
# Slow-client attack against `visearch serve` (issue 11, defect 2), not part of the unit suite.
# Measures /ping latency from 127.0.0.1 twice in one run: first with no attack, then while N connections
# from 127.0.0.2 send their request heads one byte a second (N = 4x --http-threads by default, so a server
# that gave each connection a thread would have none left). Prints p50/p99/max of both and their ratio;
# passes when every ping under attack answered within 100 ms (p100) and the server stayed up.
#
#   bench/slow_clients.sh [--http-threads 32] [--slow 128] [--pings 200] [--model fastestdet]
#                         [--binary build/visearch]   (another build, e.g. one from before the gate)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=32 slow="" pings=200 model=fastestdet binary=build/visearch
while [ $# -gt 0 ]; do
  case "$1" in
    --http-threads) threads="$2"; shift 2 ;;
    --slow) slow="$2"; shift 2 ;;
    --pings) pings="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
slow="${slow:-$((4 * threads))}"
port=$((20000 + RANDOM % 20000))
log=$(mktemp)
"$binary" serve --port "$port" --models "$model" --http-threads "$threads" 2>"$log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done

python3 - "$port" "$slow" "$pings" <<'PY'
import socket, statistics, sys, threading, time

port, slow, pings = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def ping_once():
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while True:
            try:
                chunk = s.recv(4096)
            except OSError:  # no answer within 30 s
                break
            if not chunk:
                break
            reply += chunk
    ok = reply.startswith(b"HTTP/1.1 200")
    return (time.perf_counter() - t0) * 1000.0, ok

def measure():
    times, failures = [], 0
    for _ in range(pings):
        ms, ok = ping_once()
        times.append(ms)
        failures += 0 if ok else 1
        time.sleep(0.01)
    times.sort()
    return times, failures

def summary(times):
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    return f"p50 {p(0.5):.2f} ms  p99 {p(0.99):.2f} ms  max {times[-1]:.2f} ms"

base, base_fail = measure()
print(f"no attack        ({pings} pings): {summary(base)}  failures {base_fail}")

conns = []
for _ in range(slow):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    conns.append(s)
stop = threading.Event()
head = b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
def trickle():
    i = 0
    while not stop.is_set():
        for s in conns:
            try:
                s.send(head[i:i + 1])
            except OSError:
                pass
        i += 1
        stop.wait(1.0)
t = threading.Thread(target=trickle, daemon=True)
t.start()
time.sleep(2)  # every slow connection has started its head
attack, attack_fail = measure()
print(f"{slow} slow clients ({pings} pings): {summary(attack)}  failures {attack_fail}")
print(f"ratio attack/no attack: p50 {statistics.median(attack) / statistics.median(base):.2f}x  "
      f"max {attack[-1] / base[-1]:.2f}x")
stop.set()
for s in conns:
    s.close()
sys.exit(0 if attack_fail == 0 and attack[-1] < 100.0 else 1)
PY
status=$?
kill -0 "$pid" 2>/dev/null || { echo "the server died" >&2; exit 1; }
exit "$status"
