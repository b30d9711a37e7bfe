#!/usr/bin/env node
// A visearch client in JavaScript with Node's built-in fetch (Node 18 or later, no packages): detects the
// objects in a photo, imports a product into the catalog, searches the catalog with the photo, and deletes the
// product again.
//
//   VISEARCH_URL=http://127.0.0.1:8080 VISEARCH_API_KEY=... node examples/clients/visearch_client.mjs photo.jpg
//
// Environment: VISEARCH_URL (default http://127.0.0.1:8080), VISEARCH_API_KEY (the first line of the server's
// --api-key-file; empty when it has none), VISEARCH_TIMEOUT (seconds per try, default 5: a little above the
// server's --timeout-ms, e.g. 4000), VISEARCH_PRODUCT_ID (default example-sku-1).
//
// As docs/integration.md says: the key on every call, a timeout on every call, and a retry of 503 (honouring
// Retry-After) and of connection errors only, with back-off and jitter, 3 tries at most; never a 4xx. Keep
// the key on your server: never send it to a browser.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

export class VisearchError extends Error {
  constructor(status, code, message) {
    super(`HTTP ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

export class Visearch {
  constructor({ base = 'http://127.0.0.1:8080', key = '', timeoutSeconds = 5, tries = 3 } = {}) {
    this.base = base.replace(/\/$/, '');
    this.key = key;
    this.timeoutMs = timeoutSeconds * 1000;
    this.tries = tries;
  }

  // One API call; returns the decoded JSON answer. `body` is sent as is (a Buffer, a string or FormData).
  async call(method, path, { body, contentType, query } = {}) {
    const url = `${this.base}${path}${query ? `?${new URLSearchParams(query)}` : ''}`;
    const headers = { 'X-Request-Id': `example-js-${randomUUID().slice(0, 12)}` };
    if (this.key) headers['X-API-Key'] = this.key;
    if (contentType) headers['Content-Type'] = contentType;
    for (let attempt = 1; ; attempt += 1) {
      let wait;
      try {
        const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
        const answer = await res.json().catch(() => ({}));
        if (res.ok) return answer;
        // 503: the queue is full or the models are still loading. Retry it; never a 4xx.
        if (res.status !== 503 || attempt === this.tries) {
          throw new VisearchError(res.status, answer.error?.code ?? `http_${res.status}`, answer.error?.message ?? res.statusText);
        }
        wait = Number(res.headers.get('retry-after') ?? attempt);
      } catch (error) {
        // A connection error (fetch failed) or a timeout: retried; everything else is thrown.
        const transient = (error instanceof TypeError && error.message === 'fetch failed') || error.name === 'TimeoutError';
        if (!transient || attempt === this.tries) throw error;
        wait = attempt;
        console.error(`visearch_client.mjs: ${method} ${path}: ${error.cause?.code ?? error.message}`);
      }
      wait += 0.1 + Math.random() * 0.25;  // jitter
      console.error(`visearch_client.mjs: ${method} ${path}: retrying in ${wait.toFixed(1)}s`);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
  }

  // Objects in the photo: the raw image as the body, parameters in the query string.
  detect(jpeg, { scoreThreshold = 0.4 } = {}) {
    return this.call('POST', '/v1/detect', { body: jpeg, contentType: 'image/jpeg', query: { score_threshold: scoreThreshold } });
  }

  // Imports (or replaces, by id) products; their images go inline.
  importProducts(products) {
    return this.call('POST', '/v1/products', { body: JSON.stringify(products), contentType: 'application/json' });
  }

  // Products per object in the photo: multipart, the file in the field "image", parameters as fields.
  search(jpeg, { limit = 3 } = {}) {
    const form = new FormData();
    form.append('image', new Blob([jpeg], { type: 'image/jpeg' }), 'photo.jpg');
    form.append('limit', String(limit));
    return this.call('POST', '/v1/search', { body: form });
  }

  deleteProduct(id) {
    return this.call('DELETE', `/v1/products/${encodeURIComponent(id)}`);
  }
}

async function main() {
  const [image] = process.argv.slice(2);
  if (!image) throw new Error('usage: visearch_client.mjs IMAGE.jpg');
  const jpeg = await readFile(image);
  const client = new Visearch({
    base: process.env.VISEARCH_URL, key: process.env.VISEARCH_API_KEY, timeoutSeconds: Number(process.env.VISEARCH_TIMEOUT ?? 5),
  });
  const productId = process.env.VISEARCH_PRODUCT_ID ?? 'example-sku-1';

  const detected = await client.detect(jpeg);
  console.log(`detect: ${detected.objects.length} objects: ${detected.objects.map((o) => `${o.label} ${o.score}`).join(', ')}`);

  const report = await client.importProducts([{
    id: productId, title: 'Example product', category: 'Examples', price: 9.5, currency: 'EUR',
    attributes: { source: 'visearch_client.mjs' }, images: [`data:image/jpeg;base64,${jpeg.toString('base64')}`],
  }]);
  console.log(`import: ${productId} (inserted ${report.inserted}, updated ${report.updated})`);

  for (const o of (await client.search(jpeg)).objects) {
    console.log(`search: ${o.label} -> ${o.products.map((p) => `${p.id} (${p.score})`).join(', ')}`);
  }

  console.log(`delete: ${(await client.deleteProduct(productId)).deleted}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(`visearch_client.mjs: ${error.message}`);
    process.exit(1);
  });
}
