// console/aws.js - the AWS APIs as the SDKs call them, from the browser:
// SQS (JSON protocol), SNS (query protocol, XML replies), EventBridge (JSON
// 1.1), Step Functions (JSON 1.0), Lambda (REST), plus the console's own
// read-only endpoints (/console/api/...). Requests are signed with SigV4
// when the broker verifies signatures; the key pair lives in sessionStorage.
// Every request carries X-Switchyard-Console so that a broker without
// --console-write=1 refuses the console's write actions.

const enc = new TextEncoder();

// ---- SHA-256 / HMAC: WebCrypto where the page is a secure context
// (loopback or https), else a small pure-JS fallback.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);

function sha256js(bytes) {
  const l = bytes.length, n = ((l + 9 + 63) >> 6) << 6;
  const m = new Uint8Array(n);
  m.set(bytes);
  m[l] = 0x80;
  const dv = new DataView(m.buffer);
  dv.setUint32(n - 4, l * 8);
  dv.setUint32(n - 8, Math.floor(l / 0x20000000));
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const r = (x, k) => (x >>> k) | (x << (32 - k));
  for (let o = 0; o < n; o += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(o + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = r(w[i - 15], 7) ^ r(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = r(w[i - 2], 17) ^ r(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (r(e, 6) ^ r(e, 11) ^ r(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const t2 = ((r(a, 2) ^ r(a, 13) ^ r(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(4 * i, h[i]);
  return out;
}

function hmacjs(key, data) {
  if (key.length > 64) key = sha256js(key);
  const k = new Uint8Array(64);
  k.set(key);
  const ipad = new Uint8Array(64 + data.length), opad = new Uint8Array(64 + 32);
  for (let i = 0; i < 64; i++) { ipad[i] = k[i] ^ 0x36; opad[i] = k[i] ^ 0x5c; }
  ipad.set(data, 64);
  opad.set(sha256js(ipad), 64);
  return sha256js(opad);
}

const subtle = globalThis.crypto && globalThis.crypto.subtle;
export async function sha256(bytes) {
  if (subtle) return new Uint8Array(await subtle.digest('SHA-256', bytes));
  return sha256js(bytes);
}
async function hmac(key, data) {
  if (subtle) {
    const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await subtle.sign('HMAC', k, data));
  }
  return hmacjs(key, data);
}
export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// RFC 3986 encoding as SigV4 wants it.
const uriEncode = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

// ---- settings and credentials
export const settings = { write: false, signed: false, region: 'us-east-1', account: '000000000000' };
const CRED_KEY = 'switchyard.credentials';
export function credentials() {
  try { return JSON.parse(sessionStorage.getItem(CRED_KEY) || 'null'); } catch { return null; }
}
export function setCredentials(akid, secret) {
  if (akid && secret) sessionStorage.setItem(CRED_KEY, JSON.stringify({ akid, secret }));
  else sessionStorage.removeItem(CRED_KEY);
}
export async function loadSettings() {
  const r = await fetch('config.json', { cache: 'no-store' });
  Object.assign(settings, await r.json());
  return settings;
}

// Sign a request (method, path, query pairs, headers object, body string).
export async function sign(service, method, path, query, headers, body) {
  const cred = credentials();
  if (!cred) return headers;
  const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const date = now.slice(0, 8);
  const h = { ...headers, host: location.host, 'x-amz-date': now };
  const names = Object.keys(h).map((k) => k.toLowerCase()).sort();
  const lower = {};
  for (const k of Object.keys(h)) lower[k.toLowerCase()] = String(h[k]).trim().replace(/\s+/g, ' ');
  const canonQuery = query.map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([k, v]) => k + '=' + v).join('&');
  // as botocore does for every service but S3: each segment of the path as
  // it goes on the wire, encoded once more
  const canonPath = path.split('/').map((seg) => uriEncode(seg)).join('/');
  const payloadHash = hex(await sha256(enc.encode(body || '')));
  const canon = [method, canonPath, canonQuery, names.map((n) => n + ':' + lower[n] + '\n').join(''),
    names.join(';'), payloadHash].join('\n');
  const scope = `${date}/${settings.region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', now, scope, hex(await sha256(enc.encode(canon)))].join('\n');
  let k = await hmac(enc.encode('AWS4' + cred.secret), enc.encode(date));
  k = await hmac(k, enc.encode(settings.region));
  k = await hmac(k, enc.encode(service));
  k = await hmac(k, enc.encode('aws4_request'));
  const sig = hex(await hmac(k, enc.encode(toSign)));
  delete h.host; // the browser sets it
  h.Authorization = `AWS4-HMAC-SHA256 Credential=${cred.akid}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`;
  return h;
}

export class ApiError extends Error {
  constructor(code, message, status) {
    super(`${code}: ${message}`);
    this.code = code;
    this.status = status;
  }
}

async function send(service, method, path, query, headers, body) {
  headers = { 'X-Switchyard-Console': '1', ...headers };
  const signed = await sign(service, method, path, query, headers, body);
  const qs = query.length ? '?' + query.map(([k, v]) => uriEncode(k) + '=' + uriEncode(v)).join('&') : '';
  return fetch(path + qs, { method, headers: signed, body: method === 'GET' ? undefined : body });
}

async function jsonCall(service, target, contentType, action, input) {
  const body = JSON.stringify(input || {});
  const r = await send(service, 'POST', '/', [], { 'Content-Type': contentType, 'X-Amz-Target': target + action }, body);
  const text = await r.text();
  const v = text ? JSON.parse(text) : {};
  if (!r.ok) {
    const code = (v.__type || r.headers.get('x-amzn-errortype') || 'Error').split('#').pop();
    throw new ApiError(code, v.message || v.Message || text, r.status);
  }
  return v;
}

export const sqs = (action, input) => jsonCall('sqs', 'AmazonSQS.', 'application/x-amz-json-1.0', action, input);
export const events = (action, input) => jsonCall('events', 'AWSEvents.', 'application/x-amz-json-1.1', action, input);
export const states = (action, input) => jsonCall('states', 'AWSStepFunctions.', 'application/x-amz-json-1.0', action, input);

// SNS: query protocol. Returns the parsed XML document's <...Result> element.
export async function sns(action, params) {
  const pairs = [['Action', action], ['Version', '2010-03-31']];
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null) pairs.push([k, String(v)]);
  const body = pairs.map(([k, v]) => uriEncode(k) + '=' + uriEncode(v)).join('&');
  const r = await send('sns', 'POST', '/', [], { 'Content-Type': 'application/x-www-form-urlencoded' }, body);
  const doc = new DOMParser().parseFromString(await r.text(), 'application/xml');
  if (!r.ok) {
    const code = doc.querySelector('Error > Code');
    const msg = doc.querySelector('Error > Message');
    throw new ApiError(code ? code.textContent : 'Error', msg ? msg.textContent : r.statusText, r.status);
  }
  return doc.querySelector(action + 'Result') || doc.documentElement;
}
// <member><A>..</A><B>..</B></member> list -> objects
export function xmlMembers(el, listName) {
  const list = el.querySelector(listName);
  if (!list) return [];
  return Array.from(list.children).filter((m) => m.tagName === 'member').map((m) => {
    const o = {};
    for (const c of m.children) o[c.tagName] = c.textContent;
    return o;
  });
}
export function xmlEntries(el) {
  const o = {};
  for (const e of el.querySelectorAll('Attributes > entry')) {
    o[e.querySelector('key').textContent] = e.querySelector('value').textContent;
  }
  return o;
}
export function xmlText(el, name) {
  const n = el.querySelector(name);
  return n ? n.textContent : undefined;
}

// Lambda: REST.
export async function lambda(method, path, query) {
  const r = await send('lambda', method, path, query || [], {}, '');
  const text = await r.text();
  const v = text ? JSON.parse(text) : {};
  if (!r.ok) throw new ApiError(r.headers.get('x-amzn-errortype') || v.Type || 'Error', v.message || v.Message || text, r.status);
  return v;
}

// The console's own read-only endpoints.
export async function consoleApi(name, input) {
  const body = JSON.stringify(input || {});
  const path = '/console/api/' + name;
  const r = await send('switchyard', 'POST', path, [], { 'Content-Type': 'application/json' }, body);
  const text = await r.text();
  const v = text ? JSON.parse(text) : {};
  if (!r.ok) throw new ApiError(r.headers.get('x-amzn-errortype') || v.__type || 'Error', v.message || text, r.status);
  return v;
}

export const arn = (service, resource) => `arn:aws:${service}:${settings.region}:${settings.account}:${resource}`;
