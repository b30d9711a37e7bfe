// Runs one client example of examples/clients/ against a real `visearch serve --data-dir ... --api-key-file ...`
// (the real models), started here:
//   node client_example.test.mjs curl|python|javascript|php
// The client talks to the server through a loopback proxy that passes everything on, except that it answers
// the first POST /v1/detect itself with the server's 503 (`unavailable`, `Retry-After: 1`): the client must
// retry it. Then:
//   - the client exits 0, having detected what the server detects in the photo, imported a product, found it
//     by searching with the photo, and deleted it (the server no longer has it);
//   - the proxy saw exactly detect (503), detect, import, search, delete, each with the API key and an
//     X-Request-Id.
// Run by ctest (client_example_*) with VISEARCH_BINARY, VISEARCH_SOURCE_DIR and VISEARCH_SHARED_DIR.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { killAll, startServer } from './lib/servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.env.VISEARCH_BINARY;
const sourceDir = process.env.VISEARCH_SOURCE_DIR || path.resolve(here, '../..');
const sharedDir = process.env.VISEARCH_SHARED_DIR || path.resolve(sourceDir, '../shared');
assert.ok(binary && fs.existsSync(binary), `VISEARCH_BINARY must name the visearch binary (got ${binary})`);

const examples = path.join(sourceDir, 'examples', 'clients');
const CLIENTS = {
  curl: { command: 'bash', script: 'visearch.sh', needs: ['curl', 'jq'] },
  python: { command: 'python3', script: 'visearch_client.py', needs: ['python3'] },
  javascript: { command: process.execPath, script: 'visearch_client.mjs', needs: [] },
  php: { command: 'php', script: 'visearch_client.php', needs: ['php'], check: ['php', ['-r', 'exit(function_exists("curl_init") ? 0 : 1);']] },
};
const name = process.argv[2];
const client = CLIENTS[name];
assert.ok(client, `usage: client_example.test.mjs ${Object.keys(CLIENTS).join('|')}`);
for (const tool of client.needs) {
  assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is not installed (tools/install-deps.sh installs it)`);
}
if (client.check) {
  assert.equal(spawnSync(client.check[0], client.check[1]).status, 0, `${name}: the curl extension is missing (php8.2-curl)`);
}

let checks = 0;
function ok(text) {
  checks += 1;
  console.log(`ok ${checks} - ${text}`);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), `visearch-client-${name}-`));
const KEY = 'client-example-key-0123456789';
const photo = path.join(sharedDir, 'data', 'samples', '000000001503.jpg');  // laptop, tv, keyboard, mouse
const productId = `example-${name}-1`;
let proxy;

try {
  fs.writeFileSync(path.join(work, 'key.txt'), `${KEY}\n`);
  const server = await startServer(binary, ['serve', '--workers', '1', '--data-dir', path.join(work, 'catalog'),
    '--api-key-file', path.join(work, 'key.txt'), '--timeout-ms', '20000'], { name: 'serve', logDir: work });

  // What the server itself detects in the photo, at the threshold the examples use.
  const direct = await fetch(`${server.base}/v1/detect?score_threshold=0.4`, {
    method: 'POST', headers: { 'X-API-Key': KEY, 'Content-Type': 'image/jpeg' }, body: fs.readFileSync(photo),
  });
  assert.equal(direct.status, 200);
  const expectedObjects = (await direct.json()).objects.map((o) => `${o.label} ${o.score}`);
  assert.ok(expectedObjects.length > 0);

  // The proxy: records every request; answers the first detect with a 503 like the server's own.
  const seen = [];
  let injected = false;
  proxy = http.createServer((req, res) => {
    const entry = {
      method: req.method, path: req.url.split('?')[0],
      key: req.headers['x-api-key'] === KEY || req.headers.authorization === `Bearer ${KEY}`,
      requestId: req.headers['x-request-id'] ?? '',
    };
    seen.push(entry);
    if (!injected && req.method === 'POST' && entry.path === '/v1/detect') {
      injected = true;
      req.resume();
      req.on('end', () => {
        entry.status = 503;
        const id = entry.requestId || 'injected';
        res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1', 'X-Request-Id': id, Connection: 'close' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'the inference queue is full (injected by the test)' }, request_id: id }));
      });
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: server.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      entry.status = up.statusCode;
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (error) => {
      entry.status = 502;
      res.destroy(error);
    });
    req.pipe(upstream);
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${proxy.address().port}`;

  // The example, as a shop would run it.
  const child = spawn(client.command, [path.join(examples, client.script), photo], {
    env: { ...process.env, VISEARCH_URL: base, VISEARCH_API_KEY: KEY, VISEARCH_TIMEOUT: '25', VISEARCH_PRODUCT_ID: productId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 180000);
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  process.stdout.write(stdout.replace(/^/gm, '# '));
  assert.equal(code, 0, `${name} exited ${code}:\n${stderr}`);
  ok(`${name}: the example ran to the end`);

  const lines = stdout.trim().split('\n');
  const detectLine = lines.find((l) => l.startsWith('detect: '));
  assert.equal(detectLine, `detect: ${expectedObjects.length} objects: ${expectedObjects.join(', ')}`);
  ok(`${name}: it printed what the server detects (${expectedObjects.length} objects)`);
  assert.ok(lines.includes(`import: ${productId} (inserted 1, updated 0)`), stdout);
  const searchLines = lines.filter((l) => l.startsWith('search: '));
  // The imported product is the photo itself: the objects it shows find it; an object matched only weakly
  // (below the search's minimum score) gets no product rather than an unrelated one.
  assert.ok(searchLines.some((l) => l.includes(productId)), `no object found ${productId}:\n${stdout}`);
  assert.ok(searchLines.every((l) => l.includes(productId) || /->\s*$/.test(l)), `an object found another product:\n${stdout}`);
  assert.ok(lines.includes(`delete: ${productId}`), stdout);
  ok(`${name}: it imported ${productId}, found it by searching with the photo, and deleted it`);

  assert.match(stderr, /retrying/, `${name} did not say it retried the 503`);
  const route = (e) => `${e.method} ${e.path} ${e.status}`;
  assert.deepEqual(seen.map(route), [
    'POST /v1/detect 503', 'POST /v1/detect 200', 'POST /v1/products 200', 'POST /v1/search 200',
    `DELETE /v1/products/${encodeURIComponent(productId)} 200`,
  ]);
  for (const e of seen) {
    assert.ok(e.key, `${route(e)} came without the API key`);
    assert.match(e.requestId, /^[A-Za-z0-9._:-]{1,128}$/, `${route(e)}: X-Request-Id`);
  }
  ok(`${name}: it retried the 503, and sent the key and a request id on every call`);

  const after = await fetch(`${server.base}/v1/products/${encodeURIComponent(productId)}`, { headers: { 'X-API-Key': KEY } });
  assert.equal(after.status, 404);
  assert.equal(await server.stop(), 0, server.logText().slice(-2000));
  ok(`${name}: the product is gone from the catalog; the server stopped cleanly`);
  console.log(`${checks} passed, 0 failed`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  killAll();
  proxy?.close();
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
