#!/usr/bin/env bash
# Installs everything visearch needs on a fresh Debian 12 machine:
# the pinned Debian packages in deps/apt-packages.txt, the pinned npm
# packages (ONNX Runtime) in third_party/onnxruntime/package-lock.json, and
# the OpenSearch test launcher (Maven, tests/fixtures/opensearch/pom.xml).
# Idempotent: a second run only checks. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

mapfile -t wanted < <(grep -v '^\s*#' deps/apt-packages.txt | grep -v '^\s*$')
missing=()
for spec in "${wanted[@]}"; do
  pkg="${spec%%=*}"
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$spec")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${#missing[@]} Debian packages"
  $SUDO apt-get update -qq
  to_install=()
  for spec in "${missing[@]}"; do
    pkg="${spec%%=*}"
    version="${spec#*=}"
    if apt-cache madison "$pkg" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -qx -- "$version"; then
      to_install+=("$pkg=$version")
    else
      echo "install-deps: $pkg $version is no longer on the mirror; installing the current candidate" >&2
      to_install+=("$pkg")
    fi
  done
  $SUDO apt-get install -y -qq --no-install-recommends "${to_install[@]}" >/dev/null
fi

# Node.js + npm: the machine image ships Node.js 20 with npm; Debian's nodejs/npm otherwise.
# (Never install Debian's npm over a nodesource nodejs: they conflict.)
if ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# ONNX Runtime 1.29.0 (headers + libonnxruntime.so), pinned by package-lock.json.
ort_dir=third_party/onnxruntime
if [ ! -f "$ort_dir/node_modules/com.github.asus4.onnxruntime/Plugins/Linux/x64/libonnxruntime.so" ]; then
  echo "install-deps: fetching ONNX Runtime (npm, ~150 MB)"
  npm ci --prefix "$ort_dir" --ignore-scripts --no-audit --no-fund --loglevel=error
fi
# playwright-core for the shopper page's end-to-end test (tests/e2e, drives Debian's chromium), pinned by
# its package-lock.json.
if [ -f tests/e2e/package-lock.json ] && [ ! -f tests/e2e/node_modules/playwright-core/package.json ]; then
  echo "install-deps: fetching playwright-core (npm, ~10 MB)"
  npm ci --prefix tests/e2e --ignore-scripts --no-audit --no-fund --loglevel=error
fi
# playwright-core for the labelling tool's end-to-end test (tests/e2e/label), pinned by its package-lock.json.
if [ -f tests/e2e/label/package-lock.json ] && [ ! -f tests/e2e/label/node_modules/playwright-core/package.json ]; then
  echo "install-deps: fetching playwright-core for tests/e2e/label (npm, ~10 MB)"
  npm ci --prefix tests/e2e/label --ignore-scripts --no-audit --no-fund --loglevel=error
fi
# ajv and an OpenAPI 3.1 document validator for the API contract test (tests/contract), pinned by its
# package-lock.json.
if [ -f tests/contract/package-lock.json ] && [ ! -f tests/contract/node_modules/ajv/package.json ]; then
  echo "install-deps: fetching the contract test's packages (npm, ~2 MB)"
  npm ci --prefix tests/contract --ignore-scripts --no-audit --no-fund --loglevel=error
fi
# The OpenSearch test cluster (tools/opensearch-cluster.sh) runs nodes from a launcher that Maven builds in
# tests/fixtures/opensearch (OpenSearch 2.19.1 + the k-NN plugin, ~55 MB of jars into ~/.m2 on the first build).
# Maven and JDK 17 come from deps/apt-packages.txt; rebuilt only when its pom.xml or sources changed.
if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
  echo "install-deps: installing Maven and JDK 17 (the OpenSearch test launcher)"
  $SUDO apt-get install -y -qq --no-install-recommends maven openjdk-17-jdk-headless >/dev/null
fi
os_fixture=tests/fixtures/opensearch
os_stamp="$(find "$os_fixture/pom.xml" "$os_fixture/src" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$os_fixture/target/.build-stamp" 2>/dev/null)" != "$os_stamp" ] ||
  [ ! -f "$os_fixture/target/opensearch-node-launcher.jar" ]; then
  echo "install-deps: building the OpenSearch test launcher (Maven)"
  mvn -q -B -f "$os_fixture/pom.xml" package
  echo "$os_stamp" >"$os_fixture/target/.build-stamp"
fi
echo "install-deps: ok"
