import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { BMS } from '../support/service-spec.js';
import { TagApi } from '../support/tag-api.js';

/** SPEC §10 "Request log": GET /admin/v1/requests, newest first, bounded, never a secret. */

interface Entry {
  time: string;
  method: string;
  path: string;
  status: number;
  error_code: string | null;
  duration_ms: number;
  principal: string | null;
  request_id: string;
  service: string | null;
}

let h: Harness;
let t: Tenant;
let api: TagApi;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
  api = new TagApi(h, t, BMS);
});
afterAll(() => h.close());

async function requests(harness: Harness, query = ''): Promise<Entry[]> {
  const res = await harness.inject({
    method: 'GET',
    url: `/admin/v1/requests${query}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(res.statusCode, res.body).toBe(200);
  return (JSON.parse(res.body) as { requests: Entry[] }).requests;
}

describe('entries', () => {
  it('newest first, with every field; the path without its query', async () => {
    const id = await api.resource();
    const listed = await api.send('GET', `/v1/${t.projectId}/baremetalservers/${id}/tags?x=1`);
    const refused = await api.create(id, [{ key: '', value: 'v' }]);
    const anonymous = await h.inject({
      method: 'GET',
      url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
    });
    const [a, r, l] = await requests(h, '?limit=3');
    expect(l).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      method: 'GET',
      path: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
      status: 200,
      error_code: null,
      duration_ms: expect.any(Number),
      principal: t.root.id,
      request_id: listed.headers['x-request-id'],
      service: 'bms',
    });
    expect(r).toMatchObject({
      method: 'POST',
      path: `/v1/${t.projectId}/baremetalservers/${id}/tags/action`,
      status: 400,
      error_code: 'BMS.0022',
      principal: t.root.id,
      request_id: refused.headers['x-request-id'],
    });
    expect(a).toMatchObject({
      status: 401,
      error_code: 'APIG.0301',
      principal: null,
      request_id: anonymous.headers['x-request-id'],
      service: 'bms',
    });
  });

  it('routes without an API of their own have no service; unknown paths are logged too', async () => {
    await h.inject({ method: 'GET', url: '/healthz' });
    await h.inject({ method: 'GET', url: '/no/such/route' });
    const [missing, health] = await requests(h, '?limit=2');
    expect(health).toMatchObject({ path: '/healthz', status: 200, service: null });
    expect(missing).toMatchObject({ status: 404, error_code: 'APIG.0101', service: null });
  });

  it('reads of the log itself are not in it', async () => {
    await h.inject({ method: 'GET', url: '/healthz' });
    await requests(h);
    await requests(h);
    const [newest] = await requests(h, '?limit=1');
    expect(newest?.path).toBe('/healthz');
  });

  it('an injected fault shows as answered', async () => {
    const id = await api.resource();
    const fault = await h.inject({
      method: 'POST',
      url: '/admin/v1/faults',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ match: { resource_id: id }, error: { status: 429 } }),
    });
    expect(fault.statusCode).toBe(201);
    try {
      await api.listRaw(id);
      const [newest] = await requests(h, '?limit=1');
      expect(newest).toMatchObject({ status: 429, error_code: 'APIG.0308', service: 'bms' });
    } finally {
      await h.inject({
        method: 'DELETE',
        url: '/admin/v1/faults',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    }
  });
});

describe('filters', () => {
  it('status (exact or a class), service and limit', async () => {
    const id = await api.resource();
    await api.listRaw(id);
    await h.inject({ method: 'GET', url: `/v1/${t.projectId}/baremetalservers/${id}/tags` });
    await h.inject({ method: 'GET', url: '/v3/regions' });
    expect((await requests(h, '?status=401&limit=2')).map((e) => e.service)).toEqual([
      'iam',
      'bms',
    ]);
    const clientErrors = await requests(h, '?status=4xx');
    expect(clientErrors.length).toBeGreaterThanOrEqual(2);
    expect(clientErrors.every((e) => e.status >= 400 && e.status < 500)).toBe(true);
    const bms = await requests(h, '?service=bms');
    expect(bms.length).toBeGreaterThanOrEqual(2);
    expect(bms.every((e) => e.service === 'bms')).toBe(true);
    expect(await requests(h, '?service=iam&limit=1')).toEqual([
      expect.objectContaining({ path: '/v3/regions', status: 401 }),
    ]);
  });

  it.each([
    ['?limit=0', "'limit'"],
    ['?limit=many', "'limit'"],
    ['?status=600', "'status'"],
    ['?status=4x', "'status'"],
    ['?service=ecs', "'service'"],
  ])('%s → 400 ADMIN.0400', async (query, text) => {
    const res = await h.inject({
      method: 'GET',
      url: `/admin/v1/requests${query}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.statusCode).toBe(400);
    const body = JSON.parse(res.body) as { error_code: string; error_msg: string };
    expect(body.error_code).toBe('ADMIN.0400');
    expect(body.error_msg).toContain(text);
  });

  it('without the admin token → 401', async () => {
    expect((await h.inject({ method: 'GET', url: '/admin/v1/requests' })).statusCode).toBe(401);
  });
});

describe('bounds and secrets', () => {
  it('keeps only the last --request-log requests', async () => {
    const small = await createHarness({ requestLog: 3 });
    try {
      for (let i = 0; i < 5; i++) await small.inject({ method: 'GET', url: `/healthz?i=${i}` });
      const ids = [];
      for (let i = 0; i < 2; i++) {
        const res = await small.inject({ method: 'GET', url: `/no-such-${i}` });
        ids.push(res.headers['x-request-id']);
      }
      const kept = await requests(small);
      expect(kept.map((e) => e.path)).toEqual(['/no-such-1', '/no-such-0', '/healthz']);
      expect(kept.slice(0, 2).map((e) => e.request_id)).toEqual(ids.reverse());
    } finally {
      await small.close();
    }
  });

  it('--request-log 0 keeps nothing', async () => {
    const none = await createHarness({ requestLog: 0 });
    try {
      await none.inject({ method: 'GET', url: '/healthz' });
      expect(await requests(none)).toEqual([]);
    } finally {
      await none.close();
    }
  });

  it('never a token, password, secret key or the admin token', async () => {
    const id = await api.resource();
    await api.send('GET', `/v1/${t.projectId}/baremetalservers/${id}/tags?q=query-text-123`);
    await h.inject({
      method: 'POST',
      url: '/v3/auth/tokens',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: {
              user: { name: 'root', password: t.root.password, domain: { name: t.domainName } },
            },
          },
          scope: { project: { id: t.projectId } },
        },
      }),
    });
    await h.inject({
      method: 'POST',
      url: `/admin/v1/users/${t.root.id}/access_keys`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const text = JSON.stringify(await requests(h, '?limit=1000'));
    expect(text).toContain('/v3/auth/tokens');
    expect(text).not.toContain('query-text-123');
    for (const secret of [t.root.token, t.root.password, t.root.secretKey, ADMIN_TOKEN]) {
      expect(text).not.toContain(secret);
    }
  });
});
