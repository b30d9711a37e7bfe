#!/usr/bin/env python3
"""A visearch client in Python, standard library only: detects the objects in a photo, imports a product into
the catalog, searches the catalog with the photo, and deletes the product again.

    VISEARCH_URL=http://127.0.0.1:8080 VISEARCH_API_KEY=... python3 examples/clients/visearch_client.py photo.jpg

Environment: VISEARCH_URL (default http://127.0.0.1:8080), VISEARCH_API_KEY (the first line of the server's
--api-key-file; empty when it has none), VISEARCH_TIMEOUT (seconds per try, default 5: a little above the
server's --timeout-ms, e.g. 4000), VISEARCH_PRODUCT_ID (default example-sku-1).

As docs/integration.md says: the key on every call, a timeout on every call, and a retry of 503 (honouring
Retry-After) and of connection errors only, with back-off and jitter, 3 tries at most; never a 4xx.
"""
import base64
import json
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


class VisearchError(Exception):
    """An answer that is not 2xx: the HTTP status and the server's error code and message."""

    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code = status, code


class Visearch:
    def __init__(self, base, key="", timeout=5.0, tries=3):
        self.base, self.key, self.timeout, self.tries = base.rstrip("/"), key, timeout, tries

    def call(self, method, path, body=None, content_type=None, query=None):
        """One API call; returns the decoded JSON answer."""
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"X-Request-Id": "example-py-" + uuid.uuid4().hex[:12]}
        if self.key:
            headers["X-API-Key"] = self.key
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in range(1, self.tries + 1):
            request = urllib.request.Request(url, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                # 503: the queue is full or the models are still loading. Retry it; never a 4xx.
                if error.code != 503 or attempt == self.tries:
                    raise self._error(error) from None
                wait = float(error.headers.get("Retry-After") or attempt)
                error.close()
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                if attempt == self.tries:
                    raise
                wait = float(attempt)
                print(f"visearch_client.py: {method} {path}: {error}", file=sys.stderr)
            wait += random.uniform(0.1, 0.35)  # jitter
            print(f"visearch_client.py: {method} {path}: retrying in {wait:.1f}s", file=sys.stderr)
            time.sleep(wait)
        raise AssertionError("unreachable")

    @staticmethod
    def _error(error):
        try:
            detail = json.load(error)["error"]
            return VisearchError(error.code, detail["code"], detail["message"])
        except (ValueError, KeyError, TypeError):
            return VisearchError(error.code, "http_%d" % error.code, error.reason)
        finally:
            error.close()

    def detect(self, jpeg, score_threshold=0.4):
        """Objects in the photo: the raw image as the body, parameters in the query string."""
        return self.call("POST", "/v1/detect", jpeg, "image/jpeg", {"score_threshold": score_threshold})

    def import_products(self, products):
        """Imports (or replaces, by id) products; their images go inline."""
        return self.call("POST", "/v1/products", json.dumps(products).encode(), "application/json")

    def search(self, jpeg, limit=3):
        """Products per object in the photo: JSON with the base64 image and the parameters."""
        body = {"image": base64.b64encode(jpeg).decode("ascii"), "limit": limit}
        return self.call("POST", "/v1/search", json.dumps(body).encode(), "application/json")

    def delete_product(self, product_id):
        return self.call("DELETE", "/v1/products/" + urllib.parse.quote(product_id, safe=""))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: visearch_client.py IMAGE.jpg")
    with open(sys.argv[1], "rb") as f:
        jpeg = f.read()
    client = Visearch(os.environ.get("VISEARCH_URL", "http://127.0.0.1:8080"),
                      os.environ.get("VISEARCH_API_KEY", ""), float(os.environ.get("VISEARCH_TIMEOUT", "5")))
    product_id = os.environ.get("VISEARCH_PRODUCT_ID", "example-sku-1")
    try:
        detected = client.detect(jpeg)
        objects = ", ".join(f"{o['label']} {o['score']}" for o in detected["objects"])
        print(f"detect: {len(detected['objects'])} objects: {objects}")

        photo = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
        report = client.import_products([{"id": product_id, "title": "Example product", "category": "Examples",
                                          "price": 9.5, "currency": "EUR",
                                          "attributes": {"source": "visearch_client.py"}, "images": [photo]}])
        print(f"import: {product_id} (inserted {report['inserted']}, updated {report['updated']})")

        for o in client.search(jpeg)["objects"]:
            products = ", ".join(f"{p['id']} ({p['score']})" for p in o["products"])
            print(f"search: {o['label']} -> {products}")

        print(f"delete: {client.delete_product(product_id)['deleted']}")
    except (VisearchError, OSError) as error:  # OSError: urllib's URLError, timeouts, connection errors
        sys.exit(f"visearch_client.py: {error}")


if __name__ == "__main__":
    main()
