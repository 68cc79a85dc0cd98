import { sha256Hex } from '../core/hash.js';

/**
 * The canonical request of a Huawei Cloud API signature, built from a request as it arrived.
 *
 * The SDKs build the canonical request from the request *before* it goes on the wire, and they do
 * not all build it the same way; a verifier only sees the wire. So the verifier derives, from the
 * wire, each canonical form an official SDK could have signed for exactly this request, and
 * accepts a signature over one of them — never a form no SDK produces.
 */

export const CONTENT_SHA256_HEADER = 'x-sdk-content-sha256';

export interface SignableRequest {
  readonly method: string;
  /** The path exactly as sent, percent-encoding included, without the query. */
  readonly rawPath: string;
  /** The query string exactly as sent, without the leading `?`. */
  readonly rawQuery: string;
  /** Header values by lower-case name. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Buffer;
}

/** RFC 3986 percent-encoding of a string's UTF-8 bytes: everything but unreserved characters. */
export function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const finish = (p: string) => (p.endsWith('/') ? p : `${p}/`);

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Percent-decodes to bytes (a `%` not followed by two hex digits stays as it is). */
function percentDecode(s: string): Buffer {
  const out: number[] = [];
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const hex = b === 0x25 ? bytes.subarray(i + 1, i + 3).toString('latin1') : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

/** RFC 3986 percent-encoding of bytes. */
function encodeBytes(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    s += b < 0x80 && UNRESERVED.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

/**
 * The Go, Python and Java SDKs and the API Gateway signer: the path's text (decoded), split at
 * `/`, each segment percent-encoded.
 */
function decodedForm(rawPath: string): string {
  const bytes = percentDecode(rawPath);
  const segments: string[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x2f) {
      segments.push(encodeBytes(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  return finish(segments.join('/'));
}

/**
 * The Node SDK signs `url.parse(endpoint + path).pathname`, each segment percent-encoded, while
 * its HTTP client puts `new URL(…).pathname` on the wire. The two parsers differ: the legacy one
 * escapes `'`, `^` and `|` (the WHATWG one leaves them), and leaves characters beyond ASCII as
 * they are (the WHATWG one encodes their UTF-8 bytes). Every `%` the legacy parser keeps is
 * encoded again by the signer (`%20` is signed as `%2520`).
 */
function nodeEscape(segment: string): string {
  return segment.replace(/['^|]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Runs of percent-encoded bytes 0x80–0xFF, as the WHATWG URL parser writes them. */
const HIGH_BYTES = /(?:%[89A-F][0-9A-F])+/g;
const HAS_HIGH_BYTE = /%[89A-F][0-9A-F]/;
const PLAIN_PATH = /^[A-Za-z0-9\-._~/]*$/;

function isUtf8(hexRun: string): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(hexRun.replace(/%/g, ''), 'hex'));
    return true;
  } catch {
    return false;
  }
}

/** The Node SDK given a path already percent-encoded: every `%` is encoded a second time. */
function nodeEncodedForm(rawPath: string): string {
  return finish(
    rawPath
      .split('/')
      .map((s) => rfc3986(nodeEscape(s)))
      .join('/'),
  );
}

/**
 * The Node SDK given a path with characters beyond ASCII as they are: those reach the signer as
 * characters (signed as their UTF-8 bytes, encoded once), everything else as above.
 */
function nodeRawForm(rawPath: string): string | undefined {
  let usable = true;
  const segments = rawPath.split('/').map((segment) => {
    const s = nodeEscape(segment);
    let out = '';
    let last = 0;
    for (const m of s.matchAll(HIGH_BYTES)) {
      if (!isUtf8(m[0])) usable = false;
      out += rfc3986(s.slice(last, m.index)) + m[0];
      last = m.index + m[0].length;
    }
    return out + rfc3986(s.slice(last));
  });
  return usable ? finish(segments.join('/')) : undefined;
}

/** The canonical URIs the official SDKs can have signed for a path sent as `rawPath`. */
export function canonicalUris(rawPath: string): string[] {
  // Nothing to encode or decode: every SDK signs the path as it is.
  if (PLAIN_PATH.test(rawPath)) return [finish(rawPath)];
  const forms = [decodedForm(rawPath), nodeEncodedForm(rawPath)];
  if (HAS_HIGH_BYTE.test(rawPath)) {
    const raw = nodeRawForm(rawPath);
    if (raw !== undefined) forms.push(raw);
  }
  return [...new Set(forms)];
}

function queryPairs(rawQuery: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const plus = (x: string) => x.replace(/\+/g, ' ');
    const k = safeDecode(plus(eq < 0 ? part : part.slice(0, eq)));
    const v = safeDecode(plus(eq < 0 ? '' : part.slice(eq + 1)));
    pairs.push([k, v]);
  }
  return pairs;
}

function joinQuery(pairs: [string, string][]): string {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...pairs]
    .sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]))
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .join('&');
}

/**
 * The canonical query strings the SDKs can have signed: parameters decoded, sorted by name then
 * value, each encoded, joined with `&`; and, when a name has capitals, the same with every name
 * lower-cased. SPEC §6 (revision 2) keeps that second form "as with the real gateway": the Go
 * SDK's signer lower-cased names in 0.0.37-rc to 0.0.50 (core/auth/signer/signer.go), and such
 * clients still run. The price, stated in SECURITY.md: a change of case of a query name alone is
 * not detected (`?KEY=env` verifies under a signature over `?key=env`); values and every other
 * part stay exact.
 */
export function canonicalQueries(rawQuery: string): string[] {
  const pairs = queryPairs(rawQuery);
  const forms = [joinQuery(pairs)];
  if (pairs.some(([k]) => k !== k.toLowerCase())) {
    forms.push(joinQuery(pairs.map(([k, v]) => [k.toLowerCase(), v])));
  }
  return forms;
}

/** The first canonical query form (what tagplane itself signs). */
export function canonicalQuery(rawQuery: string): string {
  return canonicalQueries(rawQuery)[0]!;
}

export function headerValue(headers: SignableRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.join(',');
}

/** The signed payload hash: the X-Sdk-Content-Sha256 value when sent, else the body's hash. */
export function payloadHash(req: SignableRequest): string {
  return headerValue(req.headers, CONTENT_SHA256_HEADER) ?? sha256Hex(req.body);
}

export function canonicalRequest(
  req: SignableRequest,
  canonicalUri: string,
  signedHeaders: readonly string[],
  query = canonicalQuery(req.rawQuery),
): string {
  const headerLines = signedHeaders
    .map((h) => `${h}:${(headerValue(req.headers, h) ?? '').trim()}\n`)
    .join('');
  return [
    req.method.toUpperCase(),
    canonicalUri,
    query,
    headerLines,
    signedHeaders.join(';'),
    payloadHash(req),
  ].join('\n');
}

/**
 * Every canonical request an official SDK can have signed for this request, the most common
 * first, built as they are asked for: most requests have exactly one.
 */
export function* candidateCanonicalRequests(
  req: SignableRequest,
  signedHeaders: readonly string[],
): Generator<string> {
  const method = req.method.toUpperCase();
  const tail = `${signedHeaders
    .map((h) => `${h}:${(headerValue(req.headers, h) ?? '').trim()}\n`)
    .join('')}\n${signedHeaders.join(';')}\n${payloadHash(req)}`;
  const queries = canonicalQueries(req.rawQuery);
  for (const uri of canonicalUris(req.rawPath)) {
    for (const query of queries) yield `${method}\n${uri}\n${query}\n${tail}`;
  }
}
