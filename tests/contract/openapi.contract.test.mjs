// Contract test of apps/server/openapi.json against the real servers: `visearch serve` (with a catalog and an
// API key; with --timeout-ms 1 and --public-search; with a model that cannot load) and `visearch label` (a
// small YOLO data set of coco128 photos), all with the real models, on loopback.
//
// - The document, and what each server serves at /openapi.json, is valid OpenAPI 3.1; each server serves
//   exactly its command's paths, with the security its options give.
// - The routes registered in apps/server/*.cpp are exactly the documented paths, and on each path the
//   methods the server routes (the Allow header of a 405) are exactly the documented ones.
// - Every request is built from the document (lib/contract.mjs) and every response is checked against it:
//   documented status, media type, headers, and the body against its schema with undocumented properties
//   refused.
// - At the end, every documented operation, status, parameter and request media type must have been
//   exercised, except the few listed in EXEMPT with the reason they cannot be provoked from outside.
//
// Run by ctest (openapi_contract) with VISEARCH_BINARY, VISEARCH_SOURCE_DIR and VISEARCH_SHARED_DIR; exits
// non-zero on the first failed check. Needs `npm ci` in tests/contract (tools/install-deps.sh does it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Contract, pathShape, routesInSource, sameJson } from './lib/contract.mjs';
import { killAll, startServer } from './lib/servers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.env.VISEARCH_BINARY;
const sourceDir = process.env.VISEARCH_SOURCE_DIR || path.resolve(here, '../..');
const sharedDir = process.env.VISEARCH_SHARED_DIR || path.resolve(sourceDir, '../shared');
assert.ok(binary && fs.existsSync(binary), `VISEARCH_BINARY must name the visearch binary (got ${binary})`);

const { Validator } = await import('@seriousme/openapi-schema-validator').catch(() => {
  throw new Error('@seriousme/openapi-schema-validator is missing: run `npm ci` in tests/contract');
});

// Documented (operation, status) pairs no request from outside can cause on demand.
const EXEMPT = [
  { operationId: '*', status: '500', why: 'server-side faults (I/O, inference); provoked where a bad model spec causes one' },
  { operationId: 'prelabelImage', status: '503', why: '`visearch label` has no --queue-size: a full queue needs racing requests' },
  { operationId: 'prelabelImage', status: '504', why: '`visearch label` has no --timeout-ms' },
];

let checks = 0;
function ok(name) {
  checks += 1;
  console.log(`ok ${checks} - ${name}`);
}

const source = JSON.parse(fs.readFileSync(path.join(sourceDir, 'apps/server/openapi.json'), 'utf8'));
const contract = new Contract(source);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'visearch-contract-'));
const servers = [];

const samples = path.join(sharedDir, 'data', 'samples');
const photo = fs.readFileSync(path.join(samples, '000000001503.jpg'));  // laptop, tv, keyboard, mouse
const productPhoto = fs.readFileSync(path.join(samples, 'table.jpg'));
const KEY = 'contract-test-key-0123456789';
fs.writeFileSync(path.join(work, 'key.txt'), `${KEY}\n`);

// A JPEG whose header claims 30000 x 30000 pixels (the SOF0 marker patched): refused from the header (422).
function hugeJpeg(jpeg) {
  const out = Buffer.from(jpeg);
  for (let i = 2; i + 9 < out.length;) {
    assert.equal(out[i], 0xff, 'JPEG marker expected');
    const marker = out[i + 1];
    const length = out.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      out.writeUInt16BE(30000, i + 5);
      out.writeUInt16BE(30000, i + 7);
      return out;
    }
    i += 2 + length;
  }
  throw new Error('no SOF marker');
}
const huge = hugeJpeg(photo);
const truncated = photo.subarray(0, 600);  // a JPEG that ends inside its header: corrupt_image
const notAnImage = Buffer.from('this is not an image, just text\n');
const overLimit = Buffer.alloc(1536 * 1024, 0x41);  // over --max-body-mb 1

// A spec whose weights are nowhere (loading it: 503 model_missing) and one that is not JSON (500 invalid_spec).
const specs = path.join(work, 'specs');
fs.mkdirSync(specs);
const missingSpec = path.join(specs, 'ct_missing.json');
const baseSpec = JSON.parse(fs.readFileSync(path.join(sourceDir, 'models/picodet_s_320.json'), 'utf8'));
fs.writeFileSync(missingSpec, JSON.stringify({ ...baseSpec, name: 'ct_missing', weights: { file: 'ct_missing/none.onnx' } }));
const invalidSpec = path.join(specs, 'ct_invalid.json');
fs.writeFileSync(invalidSpec, '{"name": "ct_invalid", ');

function dataUrl(bytes) {
  return `data:image/jpeg;base64,${bytes.toString('base64')}`;
}

async function servedDocument(server, command) {
  // Fetched once to know what this server documents, then through the contract like any other route.
  server.doc = await (await fetch(`${server.base}/openapi.json`)).json();
  const res = await contract.call(server, 'getOpenApi', { expect: 200 });
  assert.ok(sameJson(res.json, server.doc), `${server.name}: /openapi.json changed between two requests`);
  const validation = await new Validator().validate(structuredClone(res.json));
  assert.ok(validation.valid, `${server.name}: /openapi.json is not valid OpenAPI 3.1: ${JSON.stringify(validation.errors?.slice(0, 5))}`);
  // Exactly the command's paths.
  const expected = Object.keys(source.paths).filter((p) => (source.paths[p]['x-visearch-commands'] ?? []).includes(command));
  assert.deepEqual(Object.keys(res.json.paths).sort(), expected.sort(), `${server.name}: served paths`);
  assert.ok(sameJson(res.json.components, source.components), `${server.name}: served components differ from the source`);
  // The security its options give: no key -> nothing needs one; --public-search -> the public ones neither.
  for (const { op } of Contract.operations(res.json)) {
    const original = Contract.operations(source).find((o) => o.op.operationId === op.operationId).op;
    const open = !server.key || (server.publicSearch && original['x-visearch-public-search']) ||
      (Array.isArray(original.security) && original.security.length === 0);
    if (open) {
      assert.deepEqual(op.security, [], `${server.name}: ${op.operationId} needs no key here`);
      assert.ok(!op.responses['401'], `${server.name}: ${op.operationId} documents 401 but cannot answer it`);
    } else {
      assert.ok(sameJson(op, original), `${server.name}: ${op.operationId} differs from the source`);
    }
  }
  return res.json;
}

// ---------------------------------------------------------------------------------------------- serve
async function serveScenario() {
  const catalog = path.join(work, 'catalog-a');
  const [a, b, c] = await Promise.all([
    // A: the real thing, with a key.
    startServer(binary, ['serve', '--workers', '1', '--solo-threads', '0', '--data-dir', catalog,
      '--api-key-file', path.join(work, 'key.txt'), '--max-body-mb', '1'], { name: 'serve-a', logDir: work }),
    // B: every inference past its deadline (504); searching and catalog reads open (--public-search); no
    // feedback log (404).
    startServer(binary, ['serve', '--workers', '1', '--solo-threads', '0', '--data-dir', path.join(work, 'catalog-b'),
      '--api-key-file', path.join(work, 'key.txt'), '--public-search', '--timeout-ms', '1', '--feedback-log', 'off'],
      { name: 'serve-b', logDir: work }),
    // C: its model cannot load, so it never becomes ready (503); no key.
    startServer(binary, ['serve', '--workers', '1', '--models', missingSpec, '--data-dir', path.join(work, 'catalog-c')],
      { name: 'serve-c', logDir: work, wait: 'listening' }),
  ]);
  servers.push(a, b, c);
  a.key = KEY;
  b.key = KEY;
  b.publicSearch = true;
  for (const s of [a, b, c]) await servedDocument(s, 'serve');
  ok('serve: /openapi.json is valid OpenAPI 3.1 with exactly the serve paths and the security of each configuration');

  const values = { name: 'picodet_s_416', id: 'ct-none', n: '0' };
  for (const s of [a, b, c]) await contract.checkMethods(s, values);
  ok('serve: on every documented path the server routes exactly the documented methods');

  // Health and metadata.
  await contract.call(a, 'ping', { expect: 200 });
  await contract.call(c, 'ping', { expect: 503 });
  await contract.call(a, 'kserveLive', { expect: 200 });
  await contract.call(a, 'kserveReady', { expect: 200 });
  await contract.call(c, 'kserveReady', { expect: 503 });
  await contract.call(a, 'kserveServerMetadata', { expect: 200 });
  const metrics = await contract.call(a, 'metrics', { expect: 200 });
  assert.match(metrics.bytes.toString(), /visearch_http_requests_total/);
  ok('serve: health, readiness and metrics');

  // Detection, in every documented request form.
  const detectLike = async (operationId) => {
    for (const type of Object.keys(source.components.requestBodies.DetectImage.content)) {
      if (type === 'multipart/form-data' || type === 'application/json') continue;
      await contract.call(a, operationId, { raw: photo, type, expect: 200 });
    }
    const res = await contract.call(a, operationId, {
      query: { model: 'picodet_s_416', score_threshold: 0.3, iou_threshold: 0.5, max_detections: 3, classes: 'laptop,tv,keyboard', agnostic_nms: false },
      raw: photo, type: 'image/jpeg', expect: 200,
    });
    assert.ok(res.json.objects.length >= 1 && res.json.objects.length <= 3, JSON.stringify(res.json.objects));
    for (const o of res.json.objects) assert.ok(['laptop', 'tv', 'keyboard'].includes(o.label), o.label);
    const form = await contract.call(a, operationId, {
      multipart: { fields: { score_threshold: '0.4', classes: 'laptop', agnostic_nms: 'true', max_detections: '5', iou_threshold: '0.4', model: 'picodet_s_416' },
        file: { data: photo, filename: 'desk.jpg', type: 'image/jpeg' } },
      expect: 200,
    });
    assert.equal(form.json.source, 'desk.jpg');
    assert.ok(form.json.objects.every((o) => o.label === 'laptop'));
    await contract.call(a, operationId, {
      json: { image: photo.toString('base64'), model: 'picodet_s_416', score_threshold: 0.4, iou_threshold: 0.5, max_detections: 10, classes: ['laptop', 62], agnostic_nms: true },
      expect: 200,
    });
    await contract.call(a, operationId, { json: { image: dataUrl(photo), classes: 'tv' }, expect: 200 });
    const tiled = await contract.call(a, operationId, { query: { tile: '160x160', tile_overlap: 0.2 }, raw: photo, type: 'image/jpeg', expect: 200 });
    assert.ok(tiled.json.tiles >= 1, JSON.stringify(tiled.json));
    await contract.call(a, operationId, { query: { tile: 'big' }, raw: photo, type: 'image/jpeg', malformed: true, expect: 400 });
    // Errors.
    await contract.call(a, operationId, { raw: truncated, type: 'image/jpeg', expect: 400 });
    await contract.call(a, operationId, { raw: '{"image": ', type: 'application/json', malformed: true, expect: 400 });
    await contract.call(a, operationId, { json: { image: photo.toString('base64'), score_threshold: [0.9] }, malformed: true, expect: 400 });
    await contract.call(a, operationId, { query: { score_threshold: 2 }, raw: photo, type: 'image/jpeg', malformed: true, expect: 400 });
    await contract.call(a, operationId, { query: { classes: 'unicorn' }, raw: photo, type: 'image/jpeg', expect: 400 });
    await contract.call(a, operationId, { raw: photo, type: 'image/jpeg', auth: false, expect: 401 });
    await contract.call(a, operationId, { query: { model: 'no_such_model' }, raw: photo, type: 'image/jpeg', expect: 404 });
    await contract.call(a, operationId, { raw: overLimit, type: 'image/jpeg', expect: 413 });
    await contract.call(a, operationId, { raw: photo, type: 'text/plain', undocumentedType: true, expect: 415 });
    await contract.call(a, operationId, { raw: notAnImage, type: 'image/jpeg', expect: 415 });
    await contract.call(a, operationId, { raw: huge, type: 'image/jpeg', expect: 422 });
    const busy = await contract.call(c, operationId, { raw: photo, type: 'image/jpeg', expect: 503 });
    assert.equal(busy.headers.get('retry-after'), '1');
    await contract.call(b, operationId, { raw: photo, type: 'image/jpeg', expect: 504 });
  };
  await detectLike('detect');
  await detectLike('invocations');
  ok('serve: POST /v1/detect and /invocations: every body form and parameter, and 400/401/404/413/415/422/503/504');

  // Models.
  await contract.call(a, 'listModels', { expect: 200 });
  await contract.call(a, 'listModels', { auth: false, expect: 401 });
  await contract.call(c, 'listModels', { expect: 503 });
  const loaded = await contract.call(a, 'loadModel', { json: { spec: 'picodet_s_320' }, expect: 201 });
  assert.equal(loaded.json.replaced, false);
  const replaced = await contract.call(a, 'loadModel', { json: { spec: path.join(sourceDir, 'models/picodet_s_320.json') }, expect: 200 });
  assert.equal(replaced.json.replaced, true);
  await contract.call(a, 'loadModel', { json: { spec: '' }, malformed: true, expect: 400 });
  await contract.call(a, 'loadModel', { raw: 'not json', type: 'application/json', malformed: true, expect: 400 });
  await contract.call(a, 'loadModel', { json: { spec: 'no_such_model' }, expect: 404 });
  await contract.call(a, 'loadModel', { json: { spec: 'picodet_s_320' }, auth: false, expect: 401 });
  await contract.call(a, 'loadModel', { raw: overLimit, type: 'application/json', malformed: true, expect: 413 });
  await contract.call(a, 'loadModel', { json: { spec: invalidSpec }, expect: 500 });
  const missing = await contract.call(a, 'loadModel', { json: { spec: missingSpec }, expect: 503 });
  assert.equal(missing.json.error.code, 'model_missing');
  await contract.call(c, 'loadModel', { json: { spec: 'picodet_s_320' }, expect: 503 });
  await contract.call(a, 'getModel', { path: { name: 'picodet_s_320' }, expect: 200 });
  await contract.call(a, 'getModel', { path: { name: 'picodet_s_320' }, auth: false, expect: 401 });
  await contract.call(a, 'getModel', { path: { name: 'no_such_model' }, expect: 404 });
  await contract.call(c, 'getModel', { path: { name: 'picodet_s_320' }, expect: 503 });
  await contract.call(a, 'kserveModelMetadata', { path: { name: 'picodet_s_320' }, expect: 200 });
  await contract.call(a, 'kserveModelMetadata', { path: { name: 'no_such_model' }, expect: 404 });
  await contract.call(a, 'kserveModelMetadata', { path: { name: 'picodet_s_320' }, auth: false, expect: 401 });
  await contract.call(c, 'kserveModelMetadata', { path: { name: 'picodet_s_320' }, expect: 503 });
  await contract.call(a, 'kserveModelReady', { path: { name: 'picodet_s_320' }, expect: 200 });
  await contract.call(a, 'kserveModelReady', { path: { name: 'no_such_model' }, expect: 404 });
  await contract.call(a, 'kserveModelReady', { path: { name: 'picodet_s_320' }, auth: false, expect: 401 });
  await contract.call(a, 'unloadModel', { path: { name: 'picodet_s_320' }, auth: false, expect: 401 });
  await contract.call(a, 'unloadModel', { path: { name: 'picodet_s_320' }, expect: 200 });
  await contract.call(a, 'unloadModel', { path: { name: 'picodet_s_320' }, expect: 404 });
  await contract.call(a, 'unloadModel', { path: { name: 'picodet_s_416' }, expect: 409 });
  await contract.call(c, 'unloadModel', { path: { name: 'picodet_s_416' }, expect: 503 });
  await contract.call(a, 'kserveServerMetadata', { auth: false, expect: 401 });
  await contract.call(a, 'metrics', { auth: false, expect: 401 });
  ok('serve: models loaded, replaced, refused (400/404/500/503) and unloaded (409 for the default); KServe metadata');

  // KServe inference.
  const inferJson = (bytes, extra = {}) => ({ id: 'ct-infer', inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [bytes.toString('base64')] }], ...extra });
  const infer = await contract.call(a, 'kserveInfer', { path: { name: 'picodet_s_416' },
    json: inferJson(photo, { parameters: { score_threshold: 0.3, iou_threshold: 0.5, max_detections: 5, classes: 'laptop,tv', agnostic_nms: false } }), expect: 200 });
  assert.equal(infer.json.id, 'ct-infer');
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: photo.length } }] }));
  await contract.call(a, 'kserveInfer', { path: { name: 'picodet_s_416' }, headers: { 'Inference-Header-Content-Length': header.length },
    raw: Buffer.concat([header, photo]), type: 'application/octet-stream', expect: 200 });
  await contract.call(a, 'kserveInfer', { path: { name: 'picodet_s_416' }, json: { inputs: [] }, malformed: true, expect: 400 });
  await contract.call(a, 'kserveInfer', { path: { name: 'picodet_s_416' }, json: inferJson(truncated), expect: 400 });
  await contract.call(a, 'kserveInfer', { path: { name: 'picodet_s_416' }, json: inferJson(photo), auth: false, expect: 401 });
  await contract.call(a, 'kserveInfer', { path: { name: 'no_such_model' }, json: inferJson(photo), expect: 404 });
  await contract.call(a, 'kserveInfer', { path: { name: 'picodet_s_416' }, raw: overLimit, type: 'application/json', malformed: true, expect: 413 });
  await contract.call(a, 'kserveInfer', { path: { name: 'picodet_s_416' }, json: inferJson(notAnImage), expect: 415 });
  await contract.call(a, 'kserveInfer', { path: { name: 'picodet_s_416' }, json: inferJson(huge), expect: 422 });
  await contract.call(c, 'kserveInfer', { path: { name: 'picodet_s_416' }, json: inferJson(photo), expect: 503 });
  await contract.call(b, 'kserveInfer', { path: { name: 'picodet_s_416' }, json: inferJson(photo), expect: 504 });
  ok('serve: KServe v2 inference, JSON and binary tensor extension, and its errors');

  // The catalog: import in every documented format, then read it.
  const product = (id, extra = {}) => ({ id, title: `Contract ${id}`, description: 'a product of the contract test', category: 'Tables',
    brand: 'Acme', price: 120.5, currency: 'EUR', attributes: { color: 'brown', seats: 4, outdoor: false }, images: [dataUrl(productPhoto)], ...extra });
  const imported = await contract.call(a, 'importProducts', { json: [product('ct-table-1')], expect: 200 });
  assert.equal(imported.json.committed, true);
  await contract.call(a, 'importProducts', { json: { products: [product('ct-table-2', { images: [{ data: productPhoto.toString('base64') }] })] }, query: { strict: 'true' }, expect: 200 });
  for (const [i, type] of ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'].entries()) {
    await contract.call(a, 'importProducts', { raw: `${JSON.stringify(product(`ct-line-${i}`, { image: dataUrl(productPhoto) }))}\n`, type, expect: 200 });
  }
  const csv = `id,title,category,price,images,attr.color\nct-csv-1,Contract CSV table,Tables,99,"${dataUrl(productPhoto)}",green\n`;
  await contract.call(a, 'importProducts', { raw: csv, type: 'text/csv', query: { strict: 'false' }, expect: 200 });
  const failed = await contract.call(a, 'importProducts', { json: [{ id: 'ct-bad', title: 'no images' }], malformed: true, expect: 400 });
  assert.equal(failed.json.committed, false);
  assert.equal(failed.json.errors.length, 1);
  await contract.call(a, 'importProducts', { json: [product('ct-x')], query: { strict: 'maybe' }, malformed: true, expect: 400 });
  await contract.call(a, 'importProducts', { json: [product('ct-x')], auth: false, expect: 401 });
  await contract.call(a, 'importProducts', { raw: overLimit, type: 'application/json', malformed: true, expect: 413 });
  await contract.call(a, 'importProducts', { raw: 'id,title', type: 'text/plain', undocumentedType: true, expect: 415 });
  await contract.call(c, 'importProducts', { json: [product('ct-x')], expect: 503 });

  await contract.call(a, 'getCatalog', { expect: 200 });
  await contract.call(a, 'getCatalog', { auth: false, expect: 401 });
  await contract.call(b, 'getCatalog', { auth: false, expect: 200 });
  await contract.call(c, 'getCatalog', { expect: 503 });
  const list = await contract.call(a, 'listProducts', { query: { q: 'contract', category: 'Tables', min_price: 10, max_price: 1000,
    attributes: JSON.stringify({ color: 'brown' }), limit: 10, offset: 0 }, expect: 200 });
  assert.ok(list.json.products.some((p) => p.id === 'ct-table-1'), JSON.stringify(list.json));
  await contract.call(a, 'listProducts', { query: { limit: 0 }, malformed: true, expect: 400 });
  await contract.call(a, 'listProducts', { query: { min_price: 10, max_price: 5 }, expect: 400 });
  await contract.call(a, 'listProducts', { auth: false, expect: 401 });
  await contract.call(b, 'listProducts', { auth: false, expect: 200 });
  await contract.call(c, 'listProducts', { expect: 503 });
  await contract.call(a, 'getProduct', { path: { id: 'ct-table-1' }, expect: 200 });
  await contract.call(a, 'getProduct', { path: { id: 'ct-table-1' }, auth: false, expect: 401 });
  await contract.call(a, 'getProduct', { path: { id: 'ct-none' }, expect: 404 });
  await contract.call(b, 'getProduct', { path: { id: 'ct-none' }, auth: false, expect: 404 });
  await contract.call(c, 'getProduct', { path: { id: 'ct-none' }, expect: 503 });
  const image = await contract.call(a, 'getProductImage', { path: { id: 'ct-table-1', n: 0 }, expect: 200 });
  assert.ok(image.bytes.length > 1000);
  await contract.call(a, 'getProductImage', { path: { id: 'ct-table-1', n: 0 }, headers: { 'If-None-Match': image.headers.get('etag') }, expect: 304 });
  await contract.call(a, 'getProductImage', { path: { id: 'ct-table-1', n: 7 }, expect: 404 });
  await contract.call(a, 'getProductImage', { path: { id: 'ct-table-1', n: 0 }, auth: false, expect: 401 });
  await contract.call(c, 'getProductImage', { path: { id: 'ct-table-1', n: 0 }, expect: 503 });
  ok('serve: catalog imports (JSON, JSON Lines, CSV; strict), reads, product images with ETag/304, and their errors');

  // Search, in every documented request form and with every parameter.
  for (const type of Object.keys(source.components.requestBodies.SearchImage.content)) {
    if (type === 'multipart/form-data' || type === 'application/json') continue;
    await contract.call(a, 'search', { raw: photo, type, expect: 200 });
  }
  const found = await contract.call(a, 'search', {
    query: { model: 'picodet_s_416', score_threshold: 0.3, iou_threshold: 0.5, max_detections: 2, classes: 'laptop,tv,dining table',
      agnostic_nms: false, category: 'Tables', min_price: 1, max_price: 500, limit: 5, ranking: 'visual', attributes: JSON.stringify({ color: 'brown' }),
      min_score: 0, q: 'brown' },
    raw: productPhoto, type: 'image/jpeg', expect: 200,
  });
  assert.ok(found.json.objects.some((o) => o.products.some((p) => p.id === 'ct-table-1')), JSON.stringify(found.json.objects));
  await contract.call(a, 'search', { query: { box: '10,10,200,150' }, raw: photo, type: 'image/jpeg', expect: 200 });
  await contract.call(a, 'search', { multipart: { fields: { limit: '3', ranking: 'label', box: '10,10,200,150', category: 'Tables',
    min_price: '1', max_price: '900', attributes: '{"color": "brown"}', classes: 'laptop', model: 'picodet_s_416', score_threshold: '0.3',
    iou_threshold: '0.5', max_detections: '4', agnostic_nms: 'true', min_score: '0.2', q: 'brown table' }, file: { data: photo, filename: 'desk.jpg', type: 'image/jpeg' } }, expect: 200 });
  await contract.call(a, 'search', { json: { image: photo.toString('base64'), box: [10, 10, 200, 150], limit: 3, ranking: 'fused', max_price: 900,
    min_price: 0, category: 'Tables', attributes: { color: 'brown' }, classes: ['laptop'], model: 'picodet_s_416', score_threshold: 0.3,
    iou_threshold: 0.5, max_detections: 4, agnostic_nms: false, min_score: 0.1, q: 'table' }, expect: 200 });
  await contract.call(a, 'search', { json: { image: dataUrl(photo), box: { x1: 10, y1: 10, x2: 200, y2: 150 } }, expect: 200 });
  await contract.call(a, 'search', { query: { box: '200,10,10,150' }, raw: photo, type: 'image/jpeg', expect: 400 });
  await contract.call(a, 'search', { query: { ranking: 'best' }, raw: photo, type: 'image/jpeg', malformed: true, expect: 400 });
  await contract.call(a, 'search', { query: { min_score: 2 }, raw: photo, type: 'image/jpeg', malformed: true, expect: 400 });
  await contract.call(a, 'search', { raw: truncated, type: 'image/jpeg', expect: 400 });
  await contract.call(a, 'search', { raw: photo, type: 'image/jpeg', auth: false, expect: 401 });
  await contract.call(a, 'search', { query: { model: 'no_such_model' }, raw: photo, type: 'image/jpeg', expect: 404 });
  await contract.call(a, 'search', { raw: overLimit, type: 'image/jpeg', expect: 413 });
  await contract.call(a, 'search', { raw: photo, type: 'text/plain', undocumentedType: true, expect: 415 });
  await contract.call(a, 'search', { raw: notAnImage, type: 'image/jpeg', expect: 415 });
  await contract.call(a, 'search', { raw: huge, type: 'image/jpeg', expect: 422 });
  await contract.call(c, 'search', { raw: photo, type: 'image/jpeg', expect: 503 });
  await contract.call(b, 'search', { raw: photo, type: 'image/jpeg', auth: false, expect: 504 });
  ok('serve: POST /v1/search: every body form and parameter, the imported product found, and its errors');

  // Shopper feedback about a search just answered: what was shown, what was opened; the log has both.
  const searched = await contract.call(a, 'search', { raw: photo, type: 'image/jpeg', expect: 200 });
  const rid = searched.json.request_id;
  const shownEvent = { event: 'shown', request_id: rid, objects: searched.json.objects.map((o, i) => ({
    object: i, label: o.label, box: [o.box.x1, o.box.y1, o.box.x2, o.box.y2], products: o.products.map((p) => p.id) })) };
  const openEvent = { event: 'open', request_id: rid, object: 0, product: 'ct-table-1', rank: 1 };
  await contract.call(a, 'searchFeedback', { json: shownEvent, expect: 200 });
  await contract.call(a, 'searchFeedback', { json: openEvent, expect: 200 });
  const logged = fs.readFileSync(path.join(catalog, 'feedback', 'feedback.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((e) => e.request_id === rid);
  assert.deepEqual(logged.map((e) => e.event), ['search', 'shown', 'open'], JSON.stringify(logged).slice(0, 400));
  await contract.call(a, 'searchFeedback', { raw: JSON.stringify({ ...openEvent, ip: '192.0.2.1' }), type: 'application/json', malformed: true,
    expect: 400 });
  await contract.call(a, 'searchFeedback', { json: openEvent, auth: false, expect: 401 });
  await contract.call(b, 'searchFeedback', { json: openEvent, expect: 404 });
  await contract.call(a, 'searchFeedback', { raw: JSON.stringify({ ...openEvent, product: 'p'.repeat(300 * 1024) }), type: 'application/json',
    malformed: true, expect: 413 });
  await contract.call(a, 'searchFeedback', { raw: JSON.stringify(openEvent), type: 'text/plain', undocumentedType: true, expect: 415 });
  await contract.call(c, 'searchFeedback', { json: openEvent, expect: 503 });
  ok('serve: POST /v1/search/feedback: shown and open logged after their search, and its errors');

  await contract.call(a, 'deleteProduct', { path: { id: 'ct-table-1' }, auth: false, expect: 401 });
  await contract.call(b, 'deleteProduct', { path: { id: 'ct-table-1' }, auth: false, expect: 401 });
  await contract.call(a, 'deleteProduct', { path: { id: 'ct-table-1' }, expect: 200 });
  await contract.call(a, 'deleteProduct', { path: { id: 'ct-table-1' }, expect: 404 });
  await contract.call(c, 'deleteProduct', { path: { id: 'ct-table-1' }, expect: 503 });
  await contract.call(a, 'getProduct', { path: { id: 'ct-table-1' }, expect: 404 });
  ok('serve: DELETE /v1/products/{id}');

  for (const s of [a, b, c]) {
    const code = await s.stop();
    assert.equal(code, 0, `${s.name} exit status:\n${s.logText().slice(-2000)}`);
  }
}

// ---------------------------------------------------------------------------------------------- label
async function labelScenario() {
  const dataset = path.join(work, 'shop');
  fs.mkdirSync(dataset);
  const coco = path.join(sharedDir, 'data', 'coco128-train2017', 'images', 'train2017');
  const stems = ['000000000536', '000000000643', '000000000562', '000000000472', '000000000359', '000000000326', '000000000143', '000000000349'];
  for (const stem of stems) fs.copyFileSync(path.join(coco, `${stem}.jpg`), path.join(dataset, `${stem}.jpg`));
  const l = await startServer(binary, ['label', dataset, '--workers', '1', '--max-body-mb', '1'], { name: 'label', logDir: work });
  servers.push(l);
  await servedDocument(l, 'label');
  ok('label: /openapi.json is valid OpenAPI 3.1 with exactly the label paths, none needing a key');
  await contract.checkMethods(l, { name: 'picodet_s_416', id: '0000000000000000' });
  ok('label: on every documented path the server routes exactly the documented methods');

  await contract.call(l, 'getLabelProject', { expect: 200 });
  const listed = await contract.call(l, 'listLabelImages', { query: { status: 'unlabelled', offset: 0, limit: 100 }, expect: 200 });
  assert.equal(listed.json.images.length, stems.length);
  await contract.call(l, 'listLabelImages', { query: { status: 'all' }, expect: 200 });
  await contract.call(l, 'listLabelImages', { query: { status: 'finished' }, malformed: true, expect: 400 });
  await contract.call(l, 'listLabelImages', { query: { limit: 0 }, malformed: true, expect: 400 });
  const ids = listed.json.images.map((i) => i.id);
  const none = '0000000000000000';
  await contract.call(l, 'getLabelImage', { path: { id: ids[0] }, expect: 200 });
  await contract.call(l, 'getLabelImage', { path: { id: none }, expect: 404 });
  const file = await contract.call(l, 'getLabelImageFile', { path: { id: ids[0] }, expect: 200 });
  await contract.call(l, 'getLabelImageFile', { path: { id: ids[0] }, headers: { 'If-None-Match': file.headers.get('etag') }, expect: 304 });
  await contract.call(l, 'getLabelImageFile', { path: { id: none }, expect: 404 });
  ok('label: project, image list, image detail and file (ETag/304) and their errors');

  // Training before any label: nothing to train on.
  await contract.call(l, 'startTrainJob', { json: {}, expect: 400 });
  await contract.call(l, 'startTrainJob', { json: { epochs: 1, img_size: 100 }, expect: 400 });
  await contract.call(l, 'startTrainJob', { raw: overLimit, type: 'application/json', malformed: true, expect: 413 });
  await contract.call(l, 'getTrainJob', { expect: 200 });

  // Saves: PUT and POST, If-Match, conflicts, invalid payloads.
  const sizeOf = async (id) => {
    const res = await contract.call(l, 'getLabelImageFile', { path: { id }, expect: 200 });
    return { width: Number(res.headers.get('x-image-width')), height: Number(res.headers.get('x-image-height')) };
  };
  const boxFor = ({ width, height }, k) => ({ class_id: 0, x1: 10 + k, y1: 10, x2: Math.round(width / 2), y2: Math.round(height / 2) });
  for (const [k, id] of ids.slice(0, 4).entries()) {
    const size = await sizeOf(id);
    const detail = await contract.call(l, 'getLabelImage', { path: { id }, expect: 200 });
    if (k === 0) {
      await contract.call(l, 'saveLabels', { path: { id }, headers: { 'If-Match': detail.headers.get('etag') },
        json: { boxes: [boxFor(size, k), { class: 'laptop', x1: 20, y1: 20, x2: 60, y2: 60 }] }, expect: 200 });
    } else if (k === 1) {
      await contract.call(l, 'saveLabelsPost', { path: { id }, json: { version: detail.json.version, boxes: [boxFor(size, k)] }, expect: 200 });
    } else {
      await contract.call(l, 'saveLabels', { path: { id }, json: { version: detail.json.version, boxes: [{ ...boxFor(size, k), ref: null }] }, expect: 200 });
    }
  }
  const stale = { version: 1, boxes: [] };
  const conflict = await contract.call(l, 'saveLabels', { path: { id: ids[0] }, json: stale, expect: 409 });
  assert.equal(conflict.json.your_version, 1);
  await contract.call(l, 'saveLabelsPost', { path: { id: ids[0] }, headers: { 'If-Match': '"1"' }, json: { boxes: [] }, expect: 409 });
  const current = (await contract.call(l, 'getLabelImage', { path: { id: ids[0] }, expect: 200 })).json.version;
  await contract.call(l, 'saveLabels', { path: { id: ids[0] }, json: { version: current, boxes: [{ class_id: 0, x1: 50, y1: 10, x2: 40, y2: 20 }] }, expect: 400 });
  await contract.call(l, 'saveLabelsPost', { path: { id: ids[0] }, json: { version: current, boxes: [{ class_id: 999, x1: 5, y1: 5, x2: 40, y2: 20 }] }, expect: 400 });
  await contract.call(l, 'saveLabels', { path: { id: ids[0] }, json: { boxes: 'none' }, malformed: true, expect: 400 });
  await contract.call(l, 'saveLabels', { path: { id: none }, json: stale, expect: 404 });
  await contract.call(l, 'saveLabelsPost', { path: { id: none }, json: stale, expect: 404 });
  await contract.call(l, 'saveLabels', { path: { id: ids[0] }, raw: overLimit, type: 'application/json', malformed: true, expect: 413 });
  await contract.call(l, 'saveLabelsPost', { path: { id: ids[0] }, raw: overLimit, type: 'application/json', malformed: true, expect: 413 });
  ok('label: saves (PUT, POST, If-Match), conflicts (409), invalid payloads (400), unknown images (404), 413');

  await contract.call(l, 'prelabelImage', { path: { id: ids[4] }, expect: 200 });
  await contract.call(l, 'prelabelImage', { path: { id: none }, expect: 404 });

  // "Pre-label all": started, refused while it runs (as is switching the model), stopped.
  await contract.call(l, 'getPrelabelJob', { expect: 200 });
  await contract.call(l, 'startPrelabelJob', { expect: 202 });
  const again = await contract.call(l, 'startPrelabelJob', { expect: 503 });
  assert.equal(again.headers.get('retry-after'), '1');
  await contract.call(l, 'useLabelModel', { json: { spec: 'picodet_s_320' }, expect: 409 });
  await contract.call(l, 'cancelPrelabelJob', { expect: 200 });
  await until(async () => (await contract.call(l, 'getPrelabelJob', { expect: 200 })).json.state !== 'running', 'the pre-label job to stop');
  ok('label: single pre-label, and the pre-label job (202, 503 while running, 409 for a model switch, cancel)');

  // Training: started, refused while it runs, stopped.
  const started = await contract.call(l, 'startTrainJob', { json: { epochs: 1, img_size: 96, time_budget_minutes: 1, freeze: 'backbone' }, expect: 202 });
  assert.ok(started.json.classes.includes('person'));
  await contract.call(l, 'startTrainJob', { expect: 409 });
  await contract.call(l, 'stopTrainJob', { expect: 200 });
  const stopped = await until(async () => {
    const progress = (await contract.call(l, 'getTrainJob', { expect: 200 })).json;
    return !['running', 'stopping'].includes(progress.state) && progress;
  }, 'the training run to stop');
  assert.ok(['stopped', 'failed', 'finished'].includes(stopped.state), stopped.state);
  ok(`label: training started (202), refused while running (409), stopped (${stopped.state})`);

  // Another model for pre-labels.
  await contract.call(l, 'useLabelModel', { json: {}, malformed: true, expect: 400 });
  await contract.call(l, 'useLabelModel', { json: { spec: 'no_such_model' }, expect: 404 });
  await contract.call(l, 'useLabelModel', { json: { spec: invalidSpec }, expect: 500 });
  await contract.call(l, 'useLabelModel', { json: { spec: missingSpec }, expect: 503 });
  await contract.call(l, 'useLabelModel', { raw: overLimit, type: 'application/json', malformed: true, expect: 413 });
  const switched = await contract.call(l, 'useLabelModel', { json: { spec: 'picodet_s_320' }, expect: 200 });
  assert.equal(switched.json.model, 'picodet_s_320');
  ok('label: POST /v1/label/model (200, 400, 404, 500, 503, 413)');

  // Files that went bad on disk after the tool opened them.
  const broken = ids[7];
  const detail = await contract.call(l, 'getLabelImage', { path: { id: broken }, expect: 200 });
  const brokenPath = path.join(dataset, detail.json.file);
  for (const [bytes, status] of [[truncated, 400], [notAnImage, 415], [huge, 422]]) {
    fs.writeFileSync(brokenPath, bytes);
    await contract.call(l, 'getLabelImageFile', { path: { id: broken }, expect: status });
    await contract.call(l, 'prelabelImage', { path: { id: broken }, expect: status });
  }
  fs.rmSync(brokenPath);
  const gone = await contract.call(l, 'getLabelImageFile', { path: { id: broken } });
  ok(`label: image files that no longer decode (400/415/422) or are gone (${gone.status} ${gone.json?.error?.code})`);

  // The routes every server has, on the label server.
  await contract.call(l, 'ping', { expect: 200 });
  await contract.call(l, 'kserveLive', { expect: 200 });
  await contract.call(l, 'kserveReady', { expect: 200 });
  await contract.call(l, 'kserveServerMetadata', { expect: 200 });
  await contract.call(l, 'metrics', { expect: 200 });
  await contract.call(l, 'listModels', { expect: 200 });
  await contract.call(l, 'getModel', { path: { name: 'picodet_s_320' }, expect: 200 });
  await contract.call(l, 'kserveModelMetadata', { path: { name: 'picodet_s_416' }, expect: 200 });
  await contract.call(l, 'kserveModelReady', { path: { name: 'picodet_s_416' }, expect: 200 });
  await contract.call(l, 'detect', { raw: photo, type: 'image/jpeg', expect: 200 });
  await contract.call(l, 'invocations', { raw: photo, type: 'image/jpeg', expect: 200 });
  await contract.call(l, 'kserveInfer', { path: { name: 'picodet_s_416' },
    json: { inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], data: [photo.toString('base64')] }] }, expect: 200 });
  await contract.call(l, 'loadModel', { json: { spec: 'picodet_s_320' }, expect: 200 });
  await contract.call(l, 'unloadModel', { path: { name: 'picodet_s_416' }, expect: 409 });
  ok('label: the detection, model, KServe and health routes');

  const code = await l.stop();
  assert.equal(code, 0, `label exit status:\n${l.logText().slice(-2000)}`);
}

// Polls `probe` until it returns something truthy (bounded: 120 s); returns that.
async function until(probe, what) {
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

try {
  // The document itself.
  const validation = await new Validator().validate(structuredClone(source));
  assert.ok(validation.valid, `apps/server/openapi.json is not valid OpenAPI 3.1: ${JSON.stringify(validation.errors?.slice(0, 5))}`);
  const ids = Contract.operations(source).map((o) => o.op.operationId);
  assert.equal(new Set(ids).size, ids.length, 'operationIds must be unique');
  for (const [p, item] of Object.entries(source.paths)) {
    const commands = item['x-visearch-commands'];
    assert.ok(Array.isArray(commands) && commands.length && commands.every((c) => ['serve', 'label'].includes(c)), `${p}: x-visearch-commands`);
  }
  // Every schema that lists its properties lists every property it requires (ajv's strictRequired is off
  // for the anyOf-of-required idiom, so this catches the typos it would).
  const walk = (node, where) => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}/${i}`));
    if (!node || typeof node !== 'object') return;
    if (node.properties && Array.isArray(node.required)) {
      for (const name of node.required) assert.ok(name in node.properties, `${where}: requires ${name}, which it does not list`);
    }
    for (const [key, value] of Object.entries(node)) walk(value, `${where}/${key}`);
  };
  walk(source, '#');
  for (const e of EXEMPT) {
    assert.ok(e.operationId === '*' || Contract.operations(source).some((o) => o.op.operationId === e.operationId && o.op.responses[e.status]),
      `EXEMPT lists ${e.operationId} ${e.status}, which is not documented`);
  }
  ok(`apps/server/openapi.json is valid OpenAPI 3.1 (${ids.length} operations, unique ids)`);

  // The routes in the server's source are the documented paths.
  const serverDir = path.join(sourceDir, 'apps/server');
  const files = fs.readdirSync(serverDir).filter((f) => f.endsWith('.cpp')).map((f) => [f, fs.readFileSync(path.join(serverDir, f), 'utf8')]);
  const registered = routesInSource(files);
  const documented = new Set(Object.keys(source.paths).map(pathShape));
  for (const [shape, file] of registered) assert.ok(documented.has(shape), `${file} registers ${shape}, which apps/server/openapi.json does not document`);
  for (const shape of documented) assert.ok(registered.has(shape), `apps/server/openapi.json documents ${shape}, which no apps/server/*.cpp registers`);
  ok(`the ${registered.size} routes registered in apps/server/*.cpp are the documented paths`);

  await Promise.all([serveScenario(), labelScenario()]);

  const missing = contract.missing(EXEMPT);
  assert.deepEqual(missing, [], `documented but never exercised:\n${missing.join('\n')}`);
  assert.deepEqual([...contract.schemesUsed].sort(), ['apiKey', 'bearer'], 'both security schemes accepted');
  let pairs = 0;
  for (const seen of contract.seen.values()) pairs += seen.statuses.size;
  const documentedPairs = Contract.operations(source).reduce((n, o) => n + Object.keys(o.op.responses).length, 0);
  ok(`every documented operation (${ids.length}), status, parameter and request media type was exercised: ${pairs} of ` +
    `${documentedPairs} (operation, status) pairs in ${contract.requestCount} requests, the other ${documentedPairs - pairs} exempt (EXEMPT)`);
  console.log(`${checks} passed, 0 failed`);
} catch (error) {
  for (const s of servers) {
    if (s.child.exitCode === null) console.error(`--- ${s.name} log (tail):\n${s.logText().slice(-3000)}`);
  }
  console.error(error);
  process.exitCode = 1;
  killAll();
} finally {
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  killAll();
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
