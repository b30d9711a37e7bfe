#!/usr/bin/env bash
# The Debian package, as a user gets it: cpack builds it from this build; its dependencies must resolve
# from Debian's archive (apt-get --simulate); it is unpacked into a scratch root, and the binary there must
# work with no source tree (model specs, data files and pages from PREFIX/share/visearch, ONNX Runtime from
# PREFIX/lib/visearch), hold no path of this machine, and say clearly what is missing without weights.
#
#   package_test.sh BUILD_DIR SOURCE_DIR SHARED_DIR
set -euo pipefail
build_dir=$1 source_dir=$2 shared_dir=$3
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }

echo "== cpack"
(cd "$build_dir" && cpack -G DEB -B "$work/out") >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/out/visearch_*.deb)
dpkg-deb --info "$deb" >"$work/info"
cat "$work/info"
grep -q '^ Depends: .*libc6' "$work/info" || fail "the package declares no library dependencies"
grep -q '^ Architecture: amd64' "$work/info" || fail "the package is not amd64"

echo "== dependencies resolve from the archive"
apt-get install --simulate --no-install-recommends "$deb" >"$work/simulate" 2>&1 ||
  { cat "$work/simulate"; fail "apt cannot install the package's dependencies"; }
grep -q '^Inst visearch ' "$work/simulate" || { cat "$work/simulate"; fail "apt would not install visearch"; }

echo "== unpacked into a scratch root"
dpkg-deb -x "$deb" "$work/root"
bin="$work/root/usr/bin/visearch"
for f in usr/share/visearch/models/picodet_s_416.json usr/share/visearch/data/search/label_mapping.json \
  usr/share/visearch/data/class_maps/voc_to_coco.json usr/share/visearch/web/index.html \
  usr/share/visearch/web/label/index.html usr/lib/visearch/libonnxruntime.so.1 usr/share/doc/visearch/README.md; do
  [ -f "$work/root/$f" ] || fail "the package lacks $f"
done

echo "== no path of the build machine in the binary"
for path in "$source_dir" "$build_dir"; do
  if grep -q -a -F "$path" "$bin"; then fail "the installed binary holds $path"; fi
done

echo "== detect from the package"
out=$("$bin" detect --format json --model picodet_s_416 --model-dir "$shared_dir/models" \
  "$shared_dir/data/samples/dog.jpg")
echo "$out" | grep -q '"label": *"dog"' || fail "detect found no dog: $out"

echo "== without weights it says where it looked"
set +e
msg=$(env -u VISEARCH_MODEL_PATH -u VISEARCH_SHARED_DIR "$bin" detect --model picodet_s_416 "$shared_dir/data/samples/dog.jpg" 2>&1)
status=$?
set -e
[ "$status" -eq 3 ] || fail "detect without weights exited $status, not 3: $msg"
echo "$msg" | grep -q '/var/lib/visearch/models' || fail "the message does not name /var/lib/visearch/models: $msg"

echo "== serve from the package"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --port "$port" --models fastestdet --model-dir "$shared_dir/models" \
  --static-dir "$work/root/usr/share/visearch/web" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/ping" >/dev/null || { cat "$work/serve.log"; fail "serve never answered /ping"; }
reply=$(curl -s -w '\n%{http_code}' -H 'Content-Type: image/jpeg' --data-binary "@$shared_dir/data/samples/dog.jpg" \
  "http://127.0.0.1:$port/v1/detect")
[ "$(echo "$reply" | tail -1)" = 200 ] || fail "POST /v1/detect: $reply"
page=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
[ "$page" = 200 ] || fail "the shopper page answered $page"
kill -TERM "$pid"
wait "$pid" || fail "serve did not stop cleanly"
pid=""
echo "package_test: ok"
