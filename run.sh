#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running visearch:
# installs dependencies, builds (build/visearch), checks the default model
# (picodet_s_416) on the sample photos, then runs the main job: the HTTP
# service on 127.0.0.1:8080 (Ctrl-C drains and stops it). Extra arguments go
# to `visearch serve`.
set -euo pipefail
cd "$(dirname "$0")"
./tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target visearch
./build/visearch models --format table
./build/visearch detect --format table ../shared/data/samples/bus.jpg
static=()
[ -f web/index.html ] && static=(--static-dir web)
exec ./build/visearch serve --host 127.0.0.1 --port 8080 "${static[@]}" "$@"
