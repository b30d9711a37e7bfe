#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running visearch:
# installs dependencies, builds (build/visearch), then runs the main job with
# the default model (picodet_s_416). Extra arguments go to the main job.
set -euo pipefail
cd "$(dirname "$0")"
./tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target visearch
exec ./build/visearch detect --format table "${@:-../shared/data/samples}"
