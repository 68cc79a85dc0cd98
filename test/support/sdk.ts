import querystring from 'node:querystring';
import { BasicCredentials, Region } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { DerivedAKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/DerivedAKSKSigner.js';
import { ClientBuilder } from '@huaweicloud/huaweicloud-sdk-core/ClientBuilder.js';
import type { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient.js';
import { Logger4jInstance } from '@huaweicloud/huaweicloud-sdk-core/logger/log4jLogger.js';

/*
 * Calls through the official Huawei Cloud Node SDK core: its credentials, its signer
 * (AKSKSigner / DerivedAKSKSigner) and its HTTP client, exactly as a service SDK drives them.
 */

// The SDK logs every failed call to stdout; the tests read the failures from the exceptions.
Logger4jInstance.level = 'off';

/** How many requests the SDK has signed with V11-HMAC-SHA256 in this process. */
export const derivedSignatures = { count: 0 };

export interface SdkClientOptions {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Set, the SDK sends it; unset, it discovers the project through GET /v3/projects?name=. */
  readonly projectId?: string;
  /** The region (project name) to discover the project by, and the V11 credential scope. */
  readonly region?: string;
  /** Sign with V11-HMAC-SHA256 under this service name. */
  readonly derivedService?: string;
}

export function sdkClient(o: SdkClientOptions): HcClient {
  const credentials = new BasicCredentials()
    .withAk(o.accessKey)
    .withSk(o.secretKey)
    .withIamEndpoint(o.endpoint);
  if (o.projectId !== undefined) credentials.withProjectId(o.projectId);
  if (o.derivedService !== undefined) {
    credentials
      // The SDK's default predicate: derived signing for endpoints outside huaweicloud.com.
      .withDerivedPredicate((req) => {
        const derived = BasicCredentials.getDefaultDerivedPredicate(req);
        if (derived) derivedSignatures.count++;
        return derived;
      })
      .withRegionId(o.region ?? 'eu-de');
  }
  const builder = new ClientBuilder((c: HcClient) => c)
    .withCredential(credentials)
    .withEndpoint(o.endpoint)
    // A custom user agent keeps the SDK from writing an application id under $HOME.
    .withOptions({ customUserAgent: 'tagplane-tests' });
  if (o.region !== undefined) builder.withRegion(new Region(o.region, o.endpoint));
  if (o.derivedService !== undefined) builder.withDerivedAuthServiceName(o.derivedService);
  return builder.build();
}

export interface SdkCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** A path template as the service SDKs write it: `/v1/{project_id}/…/{server_id}/tags`. */
  readonly url: string;
  readonly pathParams?: Record<string, string>;
  readonly queryParams?: Record<string, string | number | boolean | string[]>;
  readonly data?: Record<string, unknown>;
  /** The Content-Type the service SDK declares (default application/json). */
  readonly contentType?: string;
}

export interface SdkResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly errorCode?: string;
  readonly errorMsg?: string;
}

/**
 * Sends one call the way the generated service SDKs do (`data: {}` on calls without a body) and
 * answers the status with the body or the SDK's error fields.
 */
export async function sdkSend(client: HcClient, call: SdkCall): Promise<SdkResult> {
  try {
    const res = (await client.sendRequest({
      method: call.method,
      url: call.url,
      contentType: call.contentType ?? 'application/json',
      pathParams: call.pathParams ?? {},
      queryParams: call.queryParams ?? {},
      headers: call.contentType ? { 'Content-Type': call.contentType } : {},
      data: call.data ?? {},
    })) as Record<string, unknown> & { httpStatusCode: number };
    const { httpStatusCode, ...body } = res;
    return { status: httpStatusCode, body };
  } catch (err) {
    const e = err as { httpStatusCode?: number; errorCode?: string; errorMsg?: string };
    if (e.httpStatusCode === undefined) throw err;
    return {
      status: e.httpStatusCode,
      body: {},
      ...(e.errorCode !== undefined ? { errorCode: String(e.errorCode) } : {}),
      ...(e.errorMsg !== undefined ? { errorMsg: e.errorMsg } : {}),
    };
  }
}

export interface SdkSignOptions {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path as the SDK holds it once path parameters are filled in (not encoded). */
  readonly path: string;
  readonly queryParams?: Record<string, string | number | string[]>;
  readonly data?: Record<string, unknown>;
  readonly accessKey: string;
  readonly secretKey: string;
  /** Sent (and signed) as X-Project-Id, as BasicCredentials does. */
  readonly projectId?: string;
  /** Sign with V11-HMAC-SHA256 in this scope. */
  readonly derived?: { readonly region: string; readonly service: string };
  readonly host?: string;
  /** Further headers, signed like every other header. */
  readonly headers?: Record<string, string>;
}

export interface WireRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/**
 * A request signed by the SDK's own signer (AKSKSigner / DerivedAKSKSigner), laid out as its HTTP
 * client puts it on the wire (WHATWG URL path, `querystring` query, `JSON.stringify` body), for
 * sending with `inject` and tampering with.
 */
export function sdkSigned(o: SdkSignOptions): WireRequest {
  const host = o.host ?? 'tagplane.test';
  const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
  if (o.projectId !== undefined) headers['X-Project-Id'] = o.projectId;
  const data = o.method === 'DELETE' ? undefined : (o.data ?? {});
  const request = {
    endpoint: `http://${host}${o.path}`,
    method: o.method,
    headers,
    queryParams: o.queryParams ?? {},
    data,
  };
  const credentials = new BasicCredentials().withAk(o.accessKey).withSk(o.secretKey);
  let signed: Record<string, string>;
  if (o.derived) {
    credentials.withRegionId(o.derived.region);
    credentials.processDerivedAuthParams(o.derived.service, o.derived.region);
    signed = DerivedAKSKSigner.sign(request, credentials) as Record<string, string>;
  } else {
    signed = AKSKSigner.sign(request, credentials) as Record<string, string>;
  }
  const query = querystring.stringify(o.queryParams ?? {});
  return {
    method: o.method,
    url: `${new URL(o.path, `http://${host}`).pathname}${query ? `?${query}` : ''}`,
    headers: signed,
    ...(data !== undefined ? { payload: JSON.stringify(data) } : {}),
  };
}
