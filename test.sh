#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine:
#   1. installs dependencies (tools/install-deps.sh),
#   2. builds and runs every test (unit, golden, integration) in the optimised build,
#   3. builds and runs them again under AddressSanitizer + UndefinedBehaviorSanitizer,
#   4. builds and runs the unit and integration tests under ThreadSanitizer (preset tsan: serve, label, search
#      and training, whose servers and background jobs run many threads; not the golden, e2e and contract
#      tests, which add CLI, browser and schema checks but no threads of their own, nor the 4000-point HNSW
#      recall test, minutes under TSan, whose parallel build a smaller test covers; about 15 min build and
#      3-5 min tests on 2 cores; tools/sanitizers/tsan.supp says what is suppressed and why),
#   5. builds the libFuzzer targets and runs each for a short smoke period,
#   6. checks formatting.
# The presets compile with line tables only (-g1): stack traces keep file:line, and builds take a quarter less.
# Environment: VISEARCH_FUZZ_SECONDS (default 20) per fuzz target; VISEARCH_SKIP_ASAN=1 / VISEARCH_SKIP_TSAN=1 /
# VISEARCH_SKIP_FUZZ=1 to shorten a local run (CI runs everything).
set -euo pipefail
cd "$(dirname "$0")"
./tools/install-deps.sh
jobs=$(nproc)

echo "== release build + tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

if [ "${VISEARCH_SKIP_ASAN:-0}" != 1 ]; then
  echo "== ASan + UBSan build + tests"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j "$jobs"
fi

if [ "${VISEARCH_SKIP_TSAN:-0}" != 1 ]; then
  echo "== ThreadSanitizer build + tests"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j "$jobs"
  ctest --preset tsan -j "$jobs"
fi

if [ "${VISEARCH_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs"
  ./tools/fuzz-smoke.sh "${VISEARCH_FUZZ_SECONDS:-20}"
fi

echo "== format check"
./tools/format.sh --check
echo "test.sh: all passed"
