// The contract harness: requests are built from an OpenAPI 3.1 document (operation by operationId, path,
// documented parameters, documented request media types, request bodies validated against their schemas),
// and every response is checked against the document of the server that gave it (a documented status, a
// documented media type, the body against its JSON Schema (draft 2020-12, ajv) with undocumented properties
// refused, the documented headers). What was exercised is recorded, so the test can require that every
// documented operation, status, parameter and request media type was seen.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import Ajv2020Module from 'ajv/dist/2020.js';

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const DEFS_ID = 'https://visearch.invalid/openapi';
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// Resolves a local $ref ("#/components/...") in the document.
export function resolve(doc, node) {
  let seen = 0;
  while (node && typeof node === 'object' && typeof node.$ref === 'string' && !node.$ref.startsWith(DEFS_ID)) {
    assert.ok(node.$ref.startsWith('#/'), `only local $refs are supported, got ${node.$ref}`);
    node = node.$ref.slice(2).split('/').reduce((n, key) => n?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    assert.ok(node !== undefined, 'dangling $ref');
    assert.ok(++seen < 20, '$ref loop');
  }
  return node;
}

// Schema $refs to components.schemas point into one registered schema ({$id: DEFS_ID, $defs: ...}).
function rewriteRefs(node) {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
      out.$ref = `${DEFS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`;
    } else {
      out[key] = rewriteRefs(value);
    }
  }
  return out;
}

// For responses: every object schema that lists its properties and says nothing about others is closed
// (unevaluatedProperties: false), so a property the server sends and the document does not describe fails.
// Direct members of an allOf are left open (their siblings may evaluate the rest).
function closeObjects(node, inAllOf = false) {
  if (Array.isArray(node)) return node.map((n) => closeObjects(n, inAllOf));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'allOf') out.allOf = value.map((n) => closeObjects(n, true));
    else if (key === 'properties') out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closeObjects(v)]));
    else if (key === 'enum' || key === 'const' || key === 'examples' || key === 'default') out[key] = value;
    else out[key] = closeObjects(value);
  }
  if (out.properties && !inAllOf && !('additionalProperties' in out) && !('unevaluatedProperties' in out)) {
    out.unevaluatedProperties = false;
  }
  return out;
}

function makeAjv(schemas, transform) {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: DEFS_ID, $defs: transform(rewriteRefs(schemas)) });
  const cache = new Map();
  return (schema) => {
    const key = JSON.stringify(schema);
    if (!cache.has(key)) cache.set(key, ajv.compile(transform(rewriteRefs(schema))));
    return cache.get(key);
  };
}

function schemaErrors(validate) {
  return JSON.stringify(validate.errors?.slice(0, 8), null, 1);
}

// Query and header values are text: turn them into what the parameter's schema types say.
function coerce(value, schema) {
  const types = [].concat(schema?.type ?? []);
  if ((types.includes('number') || types.includes('integer')) && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) {
    return Number(value);
  }
  if (types.includes('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function mediaType(contentType) {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

export class Contract {
  // `source`: the document as kept in the repository (apps/server/openapi.json).
  constructor(source) {
    this.source = source;
    this.requestSchema = makeAjv(source.components.schemas, (s) => s);
    this.responseSchema = makeAjv(source.components.schemas, (s) => closeObjects(s));
    this.seen = new Map();  // operationId -> {statuses: Set, params: Set, media: Set}
    this.schemesUsed = new Set();
    this.requestCount = 0;
    this.failures = [];
  }

  // Every operation of a document, with its path and method.
  static operations(doc) {
    const out = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        if (item[method]) out.push({ path, method, item, op: item[method] });
      }
    }
    return out;
  }

  record(operationId, kind, value) {
    if (!this.seen.has(operationId)) {
      this.seen.set(operationId, { statuses: new Set(), params: new Set(), media: new Set() });
    }
    this.seen.get(operationId)[kind].add(value);
  }

  // One request to `server` ({base, doc, key?, name}), built from the operation `operationId` of the document
  // that server serves; the response is checked against it. Options:
  //   path: {name: value}, query: {name: value}, headers: {name: value} (documented header parameters),
  //   json | raw + type | multipart: {fields, file: {data, filename, type}}: the body,
  //   auth: false to send no key (a keyed server answers 401), scheme: 'bearer' | 'apiKey',
  //   malformed: the request breaks the description on purpose (its values are not validated; names are),
  //   undocumentedType: the body's content type is not documented on purpose (415),
  //   expect: the status that must come back.
  // Returns {status, headers, json, bytes}.
  async call(server, operationId, options = {}) {
    const doc = server.doc;
    const found = Contract.operations(doc).find((o) => o.op.operationId === operationId);
    assert.ok(found, `${server.name}: operation ${operationId} is not in the document this server serves`);
    const { path, method, item, op } = found;
    const where = `${server.name} ${method.toUpperCase()} ${path} (${operationId})`;
    const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => resolve(doc, p));
    const param = (name, location) => params.find((p) => p.in === location && p.name.toLowerCase() === name.toLowerCase());

    // The URL: every template parameter filled with a documented path parameter.
    const values = options.path ?? {};
    let url = path.replace(/\{([^}]+)\}/g, (_, name) => {
      const p = param(name, 'path');
      assert.ok(p, `${where}: {${name}} is not a documented path parameter`);
      assert.ok(name in values, `${where}: no value for {${name}}`);
      this.checkValue(where, p, String(values[name]), options.malformed);
      this.record(operationId, 'params', `path:${name}`);
      return encodeURIComponent(String(values[name]));
    });
    for (const name of Object.keys(values)) {
      assert.ok(path.includes(`{${name}}`), `${where}: ${name} is not in the path`);
    }
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(options.query ?? {})) {
      const p = param(name, 'query');
      assert.ok(p, `${where}: query parameter ${name} is not documented`);
      this.checkValue(where, p, String(value), options.malformed);
      this.record(operationId, 'params', `query:${name}`);
      query.append(name, String(value));
    }
    if ([...query].length) url += `?${query}`;

    // Headers: documented header parameters, the key, a request id.
    const headers = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      const p = param(name, 'header');
      assert.ok(p, `${where}: header ${name} is not a documented parameter`);
      this.checkValue(where, p, String(value), options.malformed);
      this.record(operationId, 'params', `header:${p.name}`);
      headers[name] = String(value);
    }
    const requestId = `ct-${server.name}-${++this.requestCount}`;
    assert.ok(param('X-Request-Id', 'header'), `${where}: X-Request-Id is not documented`);
    headers['X-Request-Id'] = requestId;
    this.record(operationId, 'params', 'header:X-Request-Id');
    if (server.key && options.auth !== false) {
      const scheme = options.scheme ?? (this.requestCount % 2 ? 'apiKey' : 'bearer');
      if (scheme === 'bearer') headers.Authorization = `Bearer ${server.key}`;
      else headers['X-API-Key'] = server.key;
      this.pendingScheme = scheme;
    } else {
      this.pendingScheme = null;
    }

    // The body, in a documented media type, validated against its schema.
    let body;
    const requestBody = resolve(doc, op.requestBody);
    const hasBody = options.json !== undefined || options.raw !== undefined || options.multipart !== undefined;
    if (hasBody) {
      assert.ok(requestBody, `${where}: the operation documents no request body`);
      let type;
      let instance;
      if (options.json !== undefined) {
        type = 'application/json';
        instance = options.json;
        body = JSON.stringify(options.json);
      } else if (options.multipart !== undefined) {
        type = 'multipart/form-data';
        const form = new FormData();
        instance = {};
        for (const [name, value] of Object.entries(options.multipart.fields ?? {})) {
          form.append(name, String(value));
          instance[name] = String(value);
        }
        if (options.multipart.file) {
          const { data, filename, type: fileType } = options.multipart.file;
          form.append('image', new Blob([data], { type: fileType }), filename);
          instance.image = '<file>';
        }
        body = form;
      } else {
        type = options.type;
        body = options.raw;
        headers['Content-Type'] = type;
        if (mediaType(type) === 'application/json' && !options.malformed) instance = JSON.parse(String(options.raw));
      }
      if (type !== 'multipart/form-data' && options.json !== undefined) headers['Content-Type'] = type;
      const media = requestBody.content?.[mediaType(type)];
      if (options.undocumentedType) {
        assert.ok(!media, `${where}: ${type} is documented; undocumentedType is for media types that are not`);
      } else {
        assert.ok(media, `${where}: request media type ${type} is not documented`);
        this.record(operationId, 'media', mediaType(type));
        if (media.schema && instance !== undefined && !options.malformed) {
          const validate = this.requestSchema(media.schema);
          assert.ok(validate(instance), `${where}: the request body breaks its schema: ${schemaErrors(validate)}`);
        }
      }
    } else if (requestBody?.required && !options.malformed) {
      assert.fail(`${where}: the request body is required`);
    }

    const response = await fetch(`${server.base}${url}`, {
      method: method.toUpperCase(), headers, body, signal: AbortSignal.timeout(120000),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const result = { status: response.status, headers: response.headers, bytes, json: undefined };
    const contentType = mediaType(response.headers.get('content-type'));
    if (contentType === 'application/json') {
      try {
        result.json = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        assert.fail(`${where}: the JSON response does not parse (${error.message})`);
      }
    }
    this.checkResponse(server, where, operationId, op, result, requestId);
    if (options.expect !== undefined) {
      assert.equal(result.status, options.expect,
        `${where}: expected ${options.expect}, got ${result.status}: ${bytes.toString('utf8').slice(0, 400)}`);
    }
    return result;
  }

  checkValue(where, parameter, text, malformed) {
    if (malformed || !parameter.schema) return;
    const validate = this.requestSchema(parameter.schema);
    assert.ok(validate(coerce(text, parameter.schema)),
      `${where}: ${parameter.in} parameter ${parameter.name}=${text} breaks its schema: ${schemaErrors(validate)}`);
  }

  checkResponse(server, where, operationId, op, result, requestId) {
    const { status, headers, bytes, json } = result;
    const documented = op.responses?.[String(status)];
    assert.ok(documented, `${where}: status ${status} is not documented (documented: ${Object.keys(op.responses)}); body: ${bytes.toString('utf8').slice(0, 400)}`);
    const response = resolve(server.doc, documented);
    this.record(operationId, 'statuses', String(status));
    if (this.pendingScheme && status !== 401) this.schemesUsed.add(this.pendingScheme);
    // Every answer carries the request id; a valid one sent is echoed.
    assert.equal(headers.get('x-request-id'), requestId, `${where}: X-Request-Id not echoed`);
    if (json && typeof json === 'object' && 'request_id' in json) {
      assert.equal(json.request_id, requestId, `${where}: request_id in the body is not the request's`);
    }
    for (const [name, spec] of Object.entries(response.headers ?? {})) {
      const header = resolve(server.doc, spec);
      const value = headers.get(name);
      if (value === null) {
        assert.ok(!header.required, `${where}: ${status} lacks its documented header ${name}`);
        continue;
      }
      if (header.schema) {
        const validate = this.requestSchema(header.schema);
        assert.ok(validate(coerce(value, header.schema)), `${where}: header ${name}: ${value} breaks its schema`);
      }
    }
    const content = response.content;
    const type = mediaType(headers.get('content-type'));
    if (!content) {
      assert.equal(bytes.length, 0, `${where}: ${status} documents no body but one came (${type})`);
      return;
    }
    const media = content[type];
    assert.ok(media, `${where}: ${status} came as ${type}, documented: ${Object.keys(content)}`);
    if (!media.schema) return;
    if (type === 'application/json') {
      const validate = this.responseSchema(media.schema);
      assert.ok(validate(json), `${where}: the ${status} body breaks its schema: ${schemaErrors(validate)}\n${bytes.toString('utf8').slice(0, 600)}`);
    } else if (type.startsWith('text/')) {
      const validate = this.responseSchema(media.schema);
      assert.ok(validate(bytes.toString('utf8')), `${where}: the ${status} text breaks its schema`);
    }
  }

  // A wrong method on each documented path answers 405 with `Allow` listing exactly the documented methods:
  // a method the server serves and the document does not list (or the reverse) fails. PATCH is the probe.
  async checkMethods(server, pathValues) {
    for (const [path, item] of Object.entries(server.doc.paths)) {
      const documented = METHODS.filter((m) => item[m]).map((m) => m.toUpperCase());
      if (documented.includes('PATCH')) continue;
      const url = path.replace(/\{([^}]+)\}/g, (_, name) => encodeURIComponent(pathValues[name]));
      const headers = server.key ? { 'X-API-Key': server.key } : {};
      const res = await fetch(`${server.base}${url}`, { method: 'PATCH', headers });
      const text = await res.text();
      assert.equal(res.status, 405, `${server.name}: PATCH ${url}: expected 405 from a routed path, got ${res.status} ${text.slice(0, 200)} (is ${path} still served?)`);
      const allowed = (res.headers.get('allow') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      // httplib answers HEAD wherever GET is routed: the document leaves HEAD implicit.
      assert.deepEqual([...allowed].sort(), [...documented].sort(),
        `${server.name}: ${path}: the server routes ${allowed}, the document lists ${documented}`);
    }
  }

  // The statuses, parameters and media types documented and never seen, less `exempt`
  // ([{operationId, status, why}], operationId '*' for any).
  missing(exempt) {
    const out = [];
    for (const { path, method, item, op } of Contract.operations(this.source)) {
      const seen = this.seen.get(op.operationId) ?? { statuses: new Set(), params: new Set(), media: new Set() };
      const label = `${method.toUpperCase()} ${path} (${op.operationId})`;
      for (const status of Object.keys(op.responses)) {
        const excused = exempt.some((e) => (e.operationId === op.operationId || e.operationId === '*') && e.status === status);
        if (!seen.statuses.has(status) && !excused) out.push(`${label}: status ${status} never seen`);
      }
      for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])].map((x) => resolve(this.source, x))) {
        if (!seen.params.has(`${p.in}:${p.name}`)) out.push(`${label}: ${p.in} parameter ${p.name} never sent`);
      }
      const requestBody = resolve(this.source, op.requestBody);
      for (const type of Object.keys(requestBody?.content ?? {})) {
        if (!seen.media.has(type)) out.push(`${label}: request media type ${type} never sent`);
      }
    }
    return out;
  }
}

// The documented paths as templates with anonymous parameters: "/v1/products/{id}" -> "/v1/products/{}".
export function pathShape(path) {
  return path.replace(/\{[^}]+\}/g, '{}');
}

// The route patterns registered in the server's C++ sources (route("...", ...) and ctx.route(...)), as path
// shapes: a regex group becomes "{}". A string built from literals and named constants is followed through
// the constants' definitions in the same file.
export function routesInSource(files) {
  const shapes = new Map();  // shape -> where
  for (const [file, text] of files) {
    const constant = (name, depth = 0) => {
      assert.ok(depth < 5, `${file}: cannot follow ${name}`);
      const m = text.match(new RegExp(`\\b${name}\\s*=\\s*("(?:[^"\\\\]|\\\\.)*"|[A-Za-z_]\\w*)\\s*;`));
      assert.ok(m, `${file}: the route part ${name} is not a constant this test can follow; update routesInSource`);
      return m[1].startsWith('"') ? JSON.parse(m[1]) : constant(m[1], depth + 1);
    };
    const call = /\broute\(\s*(?=R?")/g;
    let m;
    while ((m = call.exec(text)) !== null) {
      let i = call.lastIndex;
      let pattern = '';
      for (;;) {
        while (/\s/.test(text[i])) i += 1;
        if (text.startsWith('R"(', i)) {
          const end = text.indexOf(')"', i + 3);
          pattern += text.slice(i + 3, end);
          i = end + 2;
        } else if (text[i] === '"') {
          let j = i + 1;
          while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
          pattern += JSON.parse(text.slice(i, j + 1));
          i = j + 1;
        } else {
          const id = /^[A-Za-z_]\w*/.exec(text.slice(i));
          assert.ok(id, `${file}: cannot read the route at ${text.slice(m.index, m.index + 80)}`);
          pattern += constant(id[0]);
          i += id[0].length;
        }
        while (/\s/.test(text[i])) i += 1;
        if (text[i] === '+') {
          i += 1;
          continue;
        }
        assert.equal(text[i], ',', `${file}: cannot read the route at ${text.slice(m.index, m.index + 80)}`);
        break;
      }
      // Regex groups -> {}; escaped characters -> themselves.
      let shape = '';
      for (let k = 0; k < pattern.length; k += 1) {
        if (pattern[k] === '(') {
          let depth = 0;
          for (; k < pattern.length; k += 1) {
            if (pattern[k] === '(') depth += 1;
            if (pattern[k] === ')' && --depth === 0) break;
          }
          shape += '{}';
        } else if (pattern[k] === '\\') {
          shape += pattern[k + 1];
          k += 1;
        } else {
          shape += pattern[k];
        }
      }
      shapes.set(shape, file);
    }
  }
  return shapes;
}

export function sameJson(a, b) {
  return isDeepStrictEqual(a, b);
}
