#!/usr/bin/env bash
# A visearch client in bash with curl (and jq to read the answers): detects the objects in a photo, imports a
# product into the catalog, searches the catalog with the photo, and deletes the product again.
#
#   VISEARCH_URL=http://127.0.0.1:8080 VISEARCH_API_KEY=... examples/clients/visearch.sh photo.jpg
#
# Environment: VISEARCH_URL (default http://127.0.0.1:8080), VISEARCH_API_KEY (the first line of the server's
# --api-key-file; empty when it has none), VISEARCH_TIMEOUT (seconds per try, default 5: a little above the
# server's --timeout-ms, e.g. 4000), VISEARCH_PRODUCT_ID (default example-sku-1).
#
# As docs/integration.md says: the key on every call, a timeout on every call, and a retry of 503 (honouring
# Retry-After) and of connection errors only, with back-off and jitter, 3 tries at most; never a 4xx.
set -euo pipefail

image=${1:?usage: visearch.sh IMAGE.jpg}
base=${VISEARCH_URL:-http://127.0.0.1:8080}
key=${VISEARCH_API_KEY:-}
timeout=${VISEARCH_TIMEOUT:-5}
product_id=${VISEARCH_PRODUCT_ID:-example-sku-1}
tries=3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# call METHOD PATH [curl arguments...]: the answer's body on stdout. Exits with the error's message on a
# status that is not 2xx once the retries are spent.
call() {
  local method=$1 path=$2
  shift 2
  local auth=()
  [ -n "$key" ] && auth=(-H "X-API-Key: $key")
  local request_id="example-sh-$$-$RANDOM"
  local attempt status wait
  for ((attempt = 1; attempt <= tries; attempt++)); do
    status=$(curl --silent --show-error --connect-timeout 2 --max-time "$timeout" \
      --output "$work/body" --dump-header "$work/headers" --write-out '%{http_code}' \
      -X "$method" "${auth[@]}" -H "X-Request-Id: $request_id" "$@" "$base$path") || status=000
    # Retry 503 (queue full, models loading) and connection errors (000); nothing else.
    if [ "$status" != 503 ] && [ "$status" != 000 ]; then break; fi
    [ "$attempt" -eq "$tries" ] && break
    wait=$(tr -d '\r' < "$work/headers" | awk -F': *' 'tolower($1) == "retry-after" { print $2 }')
    wait=${wait:-$((attempt))}
    echo "visearch.sh: $method $path: ${status/#000/connection error}, retrying in ${wait}s" >&2
    sleep "$wait.$((RANDOM % 250 + 100))"  # Retry-After plus jitter
  done
  if [[ $status != 2* ]]; then
    echo "visearch.sh: $method $path: HTTP $status: $(jq -r '.error.message? // .' "$work/body" 2>/dev/null || cat "$work/body")" >&2
    exit 1
  fi
  cat "$work/body"
}

# 1. Detect: the raw image as the body; parameters in the query string.
call POST '/v1/detect?score_threshold=0.4' -H 'Content-Type: image/jpeg' --data-binary "@$image" > "$work/detect.json"
jq -r '"detect: \(.objects | length) objects: " + ([.objects[] | "\(.label) \(.score)"] | join(", "))' "$work/detect.json"

# 2. Import a product whose photo is this image (inline, as a data: URL), as JSON.
{
  printf '[{"id": %s, "title": "Example product", "category": "Examples", "price": 9.5, "currency": "EUR", ' \
    "$(jq -Rn --arg id "$product_id" '$id')"
  printf '"attributes": {"source": "visearch.sh"}, "images": ["data:image/jpeg;base64,%s"]}]' "$(base64 -w0 "$image")"
} > "$work/products.json"
call POST /v1/products -H 'Content-Type: application/json' --data-binary "@$work/products.json" > "$work/import.json"
jq -r --arg id "$product_id" '"import: \($id) (inserted \(.inserted), updated \(.updated))"' "$work/import.json"

# 3. Search: multipart, the file in the field "image", parameters as form fields.
call POST /v1/search -F "image=@$image;type=image/jpeg" -F limit=3 > "$work/search.json"
jq -r '.objects[] | "search: \(.label) -> " + ([.products[] | "\(.id) (\(.score))"] | join(", "))' "$work/search.json"

# 4. Delete the product (the id URL-encoded).
call DELETE "/v1/products/$(jq -rn --arg id "$product_id" '$id | @uri')" > "$work/delete.json"
jq -r '"delete: \(.deleted)"' "$work/delete.json"
