#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running visearch:
# installs dependencies, builds (build/visearch), checks the default model
# (picodet_s_416) on the sample photos, builds the demo product catalog once,
# then runs the main job: the HTTP service with the visual-search web page on
# http://127.0.0.1:8080/ (Ctrl-C drains and stops it). Extra arguments go to
# `visearch serve`.
set -euo pipefail
cd "$(dirname "$0")"
# The shared models and data: ../shared beside the checkout, or VISEARCH_SHARED_DIR.
shared=${VISEARCH_SHARED_DIR:-../shared}
if [ ! -d "$shared/models" ]; then
  echo "run.sh: no models at $shared/models; set VISEARCH_SHARED_DIR to the folder holding models/ and data/" >&2
  exit 2
fi
export VISEARCH_SHARED_DIR=$(cd "$shared" && pwd)
./tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target visearch
./build/visearch models --format table
./build/visearch detect --format table "$shared/data/samples/bus.jpg"
# The visual-search demo: a product catalog made from the labelled COCO images in ../shared/data, built
# once (about a minute) into build/demo-catalog; then the shopper page is at http://127.0.0.1:8080/.
demo=build/demo-catalog
if ! ./build/visearch catalog stats --data-dir "$demo" --format json 2>/dev/null | grep -q '"products":[1-9]'; then
  SHARED_DATA="$shared/data" ./tools/build_demo_catalog.sh "$demo"
fi
exec ./build/visearch serve --host 127.0.0.1 --port 8080 --static-dir web --data-dir "$demo" "$@"
