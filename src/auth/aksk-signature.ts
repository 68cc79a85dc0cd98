import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../core/hash.js';
import { canonicalRequest, canonicalUris, type SignableRequest } from './canonical-request.js';

/**
 * The Huawei Cloud API signatures: `SDK-HMAC-SHA256` (the secret key signs directly) and
 * `V11-HMAC-SHA256` (a key derived from it with HKDF signs), as the official SDKs and the API
 * Gateway signer compute them. Used to verify incoming requests and to sign the example calls
 * tagplane prints.
 * The canonical request they cover is built in canonical-request.ts.
 */

export const ALGORITHM = 'SDK-HMAC-SHA256';
export const DERIVED_ALGORITHM = 'V11-HMAC-SHA256';
export const DATE_HEADER = 'x-sdk-date';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** Allowed distance between the client's X-Sdk-Date and the server clock. */
export const CLOCK_SKEW_MS = 15 * 60 * 1000;

/** The credential scope of a V11 signature: `<AK>/<YYYYMMDD>/<region>/<service>`. */
export interface DerivedScope {
  readonly date: string;
  readonly region: string;
  readonly service: string;
  /** `YYYYMMDD/region/service`: the HKDF info and the third line of the string to sign. */
  readonly info: string;
}

export interface AuthorizationHeader {
  readonly algorithm: typeof ALGORITHM | typeof DERIVED_ALGORITHM;
  readonly accessKey: string;
  /** Present for V11-HMAC-SHA256 only. */
  readonly scope?: DerivedScope;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

export function stringToSign(date: string, canonical: string, scope?: DerivedScope): string {
  const hash = sha256Hex(canonical);
  return scope
    ? `${DERIVED_ALGORITHM}\n${date}\n${scope.info}\n${hash}`
    : `${ALGORITHM}\n${date}\n${hash}`;
}

export function hmacHex(secret: string | Buffer, data: string): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

/**
 * The V11 signing key: HKDF-SHA256 with the secret key as input keying material, the access key
 * as salt and the scope (`YYYYMMDD/region/service`) as info, 32 bytes. The SDKs sign with the
 * key's lower-case hex text, not its bytes.
 */
export function derivedSigningKey(accessKey: string, secretKey: string, info: string): string {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), Buffer.from(accessKey, 'utf8'), info, 32),
  ).toString('hex');
}

/** The key a signature is computed with: the secret key itself, or the V11 derived key. */
export function signingKey(auth: Pick<AuthorizationHeader, 'accessKey' | 'scope'>, secret: string) {
  return auth.scope ? derivedSigningKey(auth.accessKey, secret, auth.scope.info) : secret;
}

export type ParsedAuthorization =
  | { readonly ok: true; readonly auth: AuthorizationHeader }
  | { readonly ok: false; readonly reason: string };

const SIGNATURE_HEX = /^[0-9a-fA-F]{64}$/;
const SCOPE_PART = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex` or
 * `V11-HMAC-SHA256 Credential=AK/YYYYMMDD/region/service, SignedHeaders=a;b, Signature=hex`,
 * saying what is wrong when it cannot.
 */
export function parseAuthorization(header: string): ParsedAuthorization {
  const m = /^\s*(\S+)\s+(.*)$/s.exec(header);
  if (!m) {
    return {
      ok: false,
      reason: `expected '${ALGORITHM} Access=<AK>, SignedHeaders=…, Signature=…'`,
    };
  }
  const algorithm = m[1]!;
  if (algorithm !== ALGORITHM && algorithm !== DERIVED_ALGORITHM) {
    return {
      ok: false,
      reason: `unsupported algorithm '${algorithm.slice(0, 40)}'; use ${ALGORITHM} or ${DERIVED_ALGORITHM}`,
    };
  }
  const fields = new Map<string, string>();
  for (const part of m[2]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const signedText = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  const credentialField = algorithm === ALGORITHM ? 'Access' : 'Credential';
  const credential = fields.get(credentialField);
  const missing = [credentialField, 'SignedHeaders', 'Signature'].filter((f) => !fields.get(f));
  if (missing.length > 0 || !signedText || !signature || !credential) {
    return { ok: false, reason: `the ${missing.join(', ')} field is missing or empty` };
  }
  if (!SIGNATURE_HEX.test(signature)) {
    return { ok: false, reason: 'Signature must be 64 hexadecimal digits' };
  }
  const signedHeaders = signedText.split(';').map((h) => h.trim().toLowerCase());
  if (signedHeaders.some((h) => h === '')) {
    return { ok: false, reason: 'SignedHeaders has an empty name' };
  }
  if (algorithm === ALGORITHM) {
    return {
      ok: true,
      auth: { algorithm, accessKey: credential, signedHeaders, signature: signature.toLowerCase() },
    };
  }
  const parts = credential.split('/');
  if (
    parts.length !== 4 ||
    !parts[0] ||
    !/^\d{8}$/.test(parts[1]!) ||
    !SCOPE_PART.test(parts[2]!) ||
    !SCOPE_PART.test(parts[3]!)
  ) {
    return { ok: false, reason: 'Credential must be <AK>/<YYYYMMDD>/<region>/<service>' };
  }
  const [accessKey, date, region, service] = parts as [string, string, string, string];
  return {
    ok: true,
    auth: {
      algorithm,
      accessKey,
      scope: { date, region, service, info: `${date}/${region}/${service}` },
      signedHeaders,
      signature: signature.toLowerCase(),
    },
  };
}

/** Parses `YYYYMMDDTHHMMSSZ` into epoch milliseconds. */
export function parseSdkDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  // Reject dates that roll over (20240231T…, 25:00) rather than reading them as another time;
  // years below 100 would be read as 19xx.
  const back = new Date(t);
  return back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    back.getUTCSeconds() === se
    ? t
    : undefined;
}

export function formatSdkDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export function constantTimeHexEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Signs a request the way the SDKs do (SDK-HMAC-SHA256, every given header signed); returns the
 * headers to add. The caller supplies every header that is to be signed, `host` included.
 */
export function signRequest(
  req: Omit<SignableRequest, 'headers'> & { headers: Record<string, string> },
  accessKey: string,
  secretKey: string,
  now = Date.now(),
): { authorization: string; date: string } {
  const date = formatSdkDate(now);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  headers[DATE_HEADER] = date;
  const signedHeaders = Object.keys(headers).sort();
  const canonical = canonicalRequest(
    { ...req, headers },
    canonicalUris(req.rawPath)[0]!,
    signedHeaders,
  );
  const signature = hmacHex(secretKey, stringToSign(date, canonical));
  return {
    date,
    authorization: `${ALGORITHM} Access=${accessKey}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`,
  };
}
