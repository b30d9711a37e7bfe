#!/usr/bin/env bash
# The Debian package, as a user gets it: cpack builds it from this build; its dependencies must resolve
# from Debian's archive (apt-get --simulate); it is unpacked into a scratch root, and the binary there must
# work with no source tree (model specs, data files and pages from PREFIX/share/visearch, ONNX Runtime from
# PREFIX/lib/visearch), hold no path of this machine, and say clearly what is missing without weights.
# Then both web pages in headless Chromium (tests/e2e/package_pages.mjs, playwright-core from tests/e2e):
# `serve` and `label` from the unpacked package, with no --static-dir / --web-dir, run in a folder outside
# the source tree and, where a mount namespace can be made (unshare), with the source and build folders
# hidden behind empty mounts, so their pages can only come from the binary itself.
#
#   package_test.sh BUILD_DIR SOURCE_DIR SHARED_DIR
set -euo pipefail
build_dir=$1 source_dir=$2 shared_dir=$3
work=$(mktemp -d)
pid="" shop_pid="" label_pid=""
cleanup() {
  for p in "$pid" "$shop_pid" "$label_pid"; do
    if [ -n "$p" ]; then kill -TERM "$p" 2>/dev/null || true; fi
  done
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

echo "== both pages in Chromium, served by the package alone"
# A catalog of the demo's tv and laptop products (imported by the packaged binary), and a YOLO data set of
# three coco128 photos for the labelling tool.
"$bin" catalog demo --out "$work/demo" --shared "$shared_dir/data" --sources coco128 --max-per-label 1 \
  --min-side 96 >/dev/null
grep -E '"object":"(tv|laptop)"' "$work/demo/products.jsonl" >"$work/demo/some.jsonl" ||
  fail "the demo catalog has no tv or laptop"
"$bin" catalog import "$work/demo/some.jsonl" --data-dir "$work/catalog" --model-dir "$shared_dir/models" \
  --format json >/dev/null 2>"$work/import.log" || { cat "$work/import.log"; fail "catalog import"; }
labelset="$work/labelset"
mkdir -p "$labelset/images/train2017" "$labelset/labels/train2017"
for stem in 000000000009 000000000025 000000000030; do
  cp "$shared_dir/data/coco128-train2017/images/train2017/$stem.jpg" "$labelset/images/train2017/"
done
cp "$shared_dir/data/coco128-train2017/labels/train2017/000000000030.txt" "$labelset/labels/train2017/"
cp "$shared_dir/data/coco128-train2017/data.yaml" "$labelset/"

# Runs a command with the source and build folders hidden (an empty read-only tmpfs over each), in a mount
# namespace of its own (as root, or else in a user namespace where the kernel allows one); the shared data
# folder must stay visible, so nothing is hidden when it lies inside either.
hide=()
inside() { case "$(realpath "$1")/" in "$(realpath "$2")"/*) return 0 ;; *) return 1 ;; esac; }
if ! inside "$shared_dir" "$source_dir" && ! inside "$shared_dir" "$build_dir"; then
  for ns in "unshare --mount --propagation private" "unshare --user --map-root-user --mount --propagation private"; do
    read -r -a ns_words <<<"$ns"
    if "${ns_words[@]}" -- mount -t tmpfs -o ro,size=4k visearch-hidden "$work" 2>/dev/null; then
      hide=("${ns_words[@]}" -- bash -c '
        for d in "$0" "$1"; do
          if [ -d "$d" ]; then mount -t tmpfs -o ro,size=4k visearch-hidden "$d" || exit 97; fi
        done
        shift
        exec "$@"' "$source_dir" "$build_dir")
      break
    fi
  done
fi
if [ ${#hide[@]} -gt 0 ]; then
  echo "(the servers run with $source_dir and $build_dir hidden: ${hide[*]:0:3} ...)"
else
  echo "(no mount namespace here: the servers run outside the source tree, with the source tree visible)"
fi
cd "$work"
shop_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -i PATH=/usr/bin:/bin "${hide[@]}" "$bin" serve --host 127.0.0.1 --port "$shop_port" --workers 2 \
  --model-dir "$shared_dir/models" --data-dir "$work/catalog" 2>"$work/shop.log" &
shop_pid=$!
label_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -i PATH=/usr/bin:/bin "${hide[@]}" "$bin" label "$labelset" --host 127.0.0.1 --port "$label_port" \
  --model-dir "$shared_dir/models" >"$work/label.log" 2>&1 &
label_pid=$!
for _ in $(seq 600); do
  kill -0 "$shop_pid" 2>/dev/null && kill -0 "$label_pid" 2>/dev/null || break
  curl -sf "http://127.0.0.1:$shop_port/ping" >/dev/null && curl -sf "http://127.0.0.1:$label_port/ping" >/dev/null &&
    break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$shop_port/ping" >/dev/null || { cat "$work/shop.log"; fail "serve never answered /ping"; }
curl -sf "http://127.0.0.1:$label_port/ping" >/dev/null || { cat "$work/label.log"; fail "label never answered /ping"; }
node "$source_dir/tests/e2e/package_pages.mjs" "http://127.0.0.1:$shop_port" "http://127.0.0.1:$label_port" \
  "$work/root/usr/share/visearch/web" "$shared_dir/data/samples/000000001503.jpg" 3 ||
  { tail -n 20 "$work/shop.log" "$work/label.log" || true; fail "the packaged pages in Chromium"; }
for p in "$shop_pid" "$label_pid"; do
  kill -TERM "$p"
  wait "$p" || fail "a server did not stop cleanly"
done
shop_pid="" label_pid=""
echo "package_test: ok"
