import { signRequest } from '../../src/auth/aksk-signature.js';
import type { RouteRequest } from './routes.js';

export interface KeyPair {
  readonly accessKey: string;
  readonly secretKey: string;
}

export interface SignOptions {
  /** The signing time (X-Sdk-Date). */
  readonly now?: number;
  /** Headers signed besides host, content-type and x-sdk-date. */
  readonly extraHeaders?: Record<string, string>;
  readonly host?: string;
}

/**
 * The request signed with SDK-HMAC-SHA256 as the official SDKs sign it: host, content-type (when
 * there is a body), X-Sdk-Date and any extra headers are signed.
 */
export function signed(req: RouteRequest, key: KeyPair, options: SignOptions = {}): RouteRequest {
  const q = req.url.indexOf('?');
  const headers: Record<string, string> = {
    ...req.headers,
    host: options.host ?? 'localhost',
    ...options.extraHeaders,
  };
  const { authorization, date } = signRequest(
    {
      method: req.method,
      rawPath: q < 0 ? req.url : req.url.slice(0, q),
      rawQuery: q < 0 ? '' : req.url.slice(q + 1),
      headers,
      body: Buffer.from(req.payload ?? ''),
    },
    key.accessKey,
    key.secretKey,
    options.now,
  );
  return { ...req, headers: { ...headers, 'x-sdk-date': date, authorization } };
}

/** The request with an X-Auth-Token header. */
export function withToken(req: RouteRequest, token: string): RouteRequest {
  return { ...req, headers: { ...req.headers, 'x-auth-token': token } };
}
