import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { ServiceProfile } from '../../src/services/profile.js';
import { ADMIN_TOKEN, type Harness } from './harness.js';

/** A response of `inject` or of a real request, reduced to what the checks read. */
export interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
}

export function fromFetch(res: Response, body: string): Answer {
  return { statusCode: res.status, headers: Object.fromEntries(res.headers), body };
}

/**
 * The gateway envelope, exactly `{"error_code","error_msg","request_id"}`, with the request id of
 * the X-Request-Id header.
 */
export function expectGatewayError(
  res: Answer | LightMyRequestResponse,
  status: number,
  code: string,
) {
  expect(res.statusCode, res.body).toBe(status);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error_code', 'error_msg', 'request_id']);
  expect(body.error_code).toBe(code);
  expect(body.error_msg).toEqual(expect.any(String));
  expect(body.error_msg).not.toBe('');
  expect(body.request_id).toBe(res.headers['x-request-id']);
}

/** The service's own envelope with exactly its fields. */
export function expectServiceError(
  profile: Pick<ServiceProfile, 'envelope'>,
  res: Answer | LightMyRequestResponse,
  status: number,
  code: string,
) {
  expect(res.statusCode, res.body).toBe(status);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  if (profile.envelope === 'flat') {
    expect(Object.keys(body).sort()).toEqual(['error_code', 'error_msg']);
    expect(body.error_code).toBe(code);
    expect(body.error_msg).toEqual(expect.any(String));
  } else {
    expect(Object.keys(body)).toEqual(['error']);
    const inner = body.error as Record<string, unknown>;
    expect(Object.keys(inner).sort()).toEqual(['code', 'message']);
    expect(inner.code).toBe(code);
    expect(inner.message).toEqual(expect.any(String));
  }
}

/** A resource's tags as the admin API reports them. */
export async function adminTags(
  h: Harness,
  projectId: string,
  type: string,
  id: string,
): Promise<{ key: string; value: string }[]> {
  const res = await h.inject({
    method: 'GET',
    url: `/admin/v1/projects/${projectId}/resources?type=${type}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(res.statusCode, res.body).toBe(200);
  const { resources } = JSON.parse(res.body) as {
    resources: { id: string; tags: { key: string; value: string }[] }[];
  };
  const r = resources.find((x) => x.id === id);
  if (!r) throw new Error(`resource ${type} ${id} is not registered in ${projectId}`);
  return r.tags;
}
