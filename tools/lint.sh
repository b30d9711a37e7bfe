#!/usr/bin/env bash
# clang-tidy over our sources with build/compile_commands.json (configure first: cmake --preset release).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'src/*.cpp' 'apps/*.cpp')
clang-tidy -p build --quiet "${files[@]}"
