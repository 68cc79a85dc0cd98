import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { sdkClient, sdkSend } from '../support/sdk.js';
import { signed } from '../support/signing.js';

/**
 * SPEC §8 tenant reads: GET /v3/{project_id}/traces answers as Cloud Trace Service v3 ListTraces
 * (field names of the official SDK models ListTracesResponse, MetaData, Traces, UserInfo).
 */

interface Trace {
  trace_id: string;
  trace_name: string;
  trace_rating: string;
  trace_type: string;
  service_type: string;
  resource_type: string;
  resource_id: string;
  resource_name?: string;
  source_ip: string;
  request_id: string;
  request: string;
  time: number;
  record_time: number;
  user: Record<string, unknown>;
}
interface Answer {
  traces: Trace[];
  meta_data: { count: number; marker: string | null };
}

let h: Harness;
let t: Tenant;
let endpoint: string;
let bms: string;
let ddm: string;

beforeAll(async () => {
  h = await createHarness();
  endpoint = await h.app.listen({ port: 0, host: '127.0.0.1' });
  t = await h.tenant();
  bms = await t.resource('bms_server');
  ddm = await t.resource('ddm_instance');
  const send = (url: string, body: unknown, requestId: string) =>
    h.inject({
      method: 'POST',
      url,
      headers: {
        'x-auth-token': t.root.token,
        'content-type': 'application/json',
        'x-request-id': requestId,
      },
      payload: JSON.stringify(body),
    });
  for (const [i, value] of ['a', 'b', 'c'].entries()) {
    const res = await send(
      `/v1/${t.projectId}/baremetalservers/${bms}/tags/action`,
      { action: 'create', tags: [{ key: 'env', value }] },
      `req-bms-${i}`,
    );
    expect(res.statusCode).toBe(204);
  }
  const res = await h.inject(
    signed(
      {
        method: 'POST',
        url: `/v3/${t.projectId}/instances/${ddm}/tags/create`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ tags: [{ key: 'team', value: 'x' }] }),
      },
      t.root,
    ),
  );
  expect(res.statusCode, res.body).toBeLessThan(300);
});
afterAll(() => h.close());

async function traces(query: string, token = t.root.token) {
  return h.inject({
    method: 'GET',
    url: `/v3/${t.projectId}/traces?${query}`,
    headers: { 'x-auth-token': token },
  });
}

async function ok(query: string): Promise<Answer> {
  const res = await traces(query);
  expect(res.statusCode, res.body).toBe(200);
  return json(res) as Answer;
}

describe('ListTraces', () => {
  it('answers the project’s tag changes as traces, newest first, with CTS’s fields', async () => {
    const body = await ok('trace_type=system');
    expect(Object.keys(body).sort()).toEqual(['meta_data', 'traces']);
    expect(body.meta_data).toEqual({ count: 4, marker: null });
    const [newest, ...rest] = body.traces;
    expect(newest).toMatchObject({
      trace_name: 'CreateDdmInstanceTags',
      service_type: 'DDM',
      resource_type: 'ddm_instance',
      resource_id: ddm,
      trace_rating: 'normal',
      trace_type: 'ApiCall',
      user: {
        id: t.root.id,
        name: t.root.name,
        domain: { id: t.domainId, name: t.domainName },
        access_key_id: t.root.accessKey,
      },
    });
    expect(newest!.trace_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(typeof newest!.time).toBe('number');
    expect(Math.abs(newest!.time - Date.now())).toBeLessThan(10 * 60_000);
    expect(newest!.record_time).toBe(newest!.time);
    expect(JSON.parse(newest!.request)).toEqual({
      changes: [{ key: 'team', old: null, new: 'x' }],
    });
    expect(rest.map((x) => x.request_id)).toEqual(['req-bms-2', 'req-bms-1', 'req-bms-0']);
    expect(rest[0]).toMatchObject({
      trace_name: 'BatchBaremetalServerTagsAction',
      service_type: 'BMS',
      resource_id: bms,
      resource_name: expect.any(String),
    });
    expect(rest[0]!.user).not.toHaveProperty('access_key_id');
  });

  it('pages with limit and next (the marker) through every trace exactly once', async () => {
    const all = (await ok('trace_type=system')).traces.map((x) => x.trace_id);
    const seen: string[] = [];
    let next = '';
    for (let i = 0; i < 5; i++) {
      const page = await ok(`trace_type=system&limit=3${next ? `&next=${next}` : ''}`);
      expect(page.meta_data.count).toBe(page.traces.length);
      seen.push(...page.traces.map((x) => x.trace_id));
      if (page.meta_data.marker === null) break;
      expect(page.meta_data.marker).toBe(page.traces.at(-1)!.trace_id);
      next = page.meta_data.marker;
    }
    expect(seen).toEqual(all);
  });

  it('filters by resource, trace name, user, service type, request id and time', async () => {
    const ids = (a: Answer) => a.traces.map((x) => x.request_id);
    expect(ids(await ok(`trace_type=system&resource_id=${bms}`))).toEqual([
      'req-bms-2',
      'req-bms-1',
      'req-bms-0',
    ]);
    expect((await ok('trace_type=system&trace_name=CreateDdmInstanceTags')).traces).toHaveLength(1);
    expect((await ok('trace_type=system&service_type=BMS')).traces).toHaveLength(3);
    expect((await ok('trace_type=system&service_type=bms')).traces).toHaveLength(0);
    expect((await ok(`trace_type=system&user=${t.root.name}`)).traces).toHaveLength(4);
    expect((await ok('trace_type=system&user=nobody')).traces).toHaveLength(0);
    expect(ids(await ok('trace_type=system&request_id=req-bms-1'))).toEqual(['req-bms-1']);
    const now = Date.now();
    expect(
      (await ok(`trace_type=system&from=${now - 600_000}&to=${now + 1000}`)).traces,
    ).toHaveLength(4);
    expect((await ok(`trace_type=system&to=${now - 600_000}`)).traces).toHaveLength(0);
    expect((await ok('trace_type=data')).traces).toHaveLength(0);
    expect((await ok('trace_type=system&trace_rating=warning')).traces).toHaveLength(0);
  });

  it.each([
    ['no trace_type', ''],
    ['trace_type=other', 'trace_type=other'],
    ['limit=0', 'trace_type=system&limit=0'],
    ['limit=201', 'trace_type=system&limit=201'],
    ['from not epoch ms', 'trace_type=system&from=yesterday'],
    ['a foreign next', 'trace_type=system&next=abc'],
  ])('%s → 400 CTS.0003', async (_label, query) => {
    const res = await traces(query);
    expect(res.statusCode).toBe(400);
    expect(Object.keys(json(res) as object).sort()).toEqual(['error_code', 'error_msg']);
    expect(json(res)).toMatchObject({ error_code: 'CTS.0003' });
  });

  it('an IAM user needs cts:trace:list; another project’s token is refused', async () => {
    const refused = await traces('trace_type=system', t.iamUser.token);
    expect(refused.statusCode).toBe(403);
    expect(json(refused)).toMatchObject({ error_code: 'CTS.0002' });
    const put = await h.inject({
      method: 'PUT',
      url: `/admin/v1/users/${t.iamUser.id}/policies`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({
        policies: [
          { Version: '5.0', Statement: [{ Effect: 'Allow', Action: ['cts:trace:list'] }] },
        ],
      }),
    });
    expect(put.statusCode, put.body).toBeLessThan(300);
    const allowed = await traces('trace_type=system&limit=1', t.iamUser.token);
    expect(allowed.statusCode, allowed.body).toBe(200);
    const other = await h.tenant();
    const foreign = await traces('trace_type=system', other.root.token);
    expect(foreign.statusCode).toBe(403);
    expect(json(foreign)).toMatchObject({ error_code: 'CTS.0012' });
    const anonymous = await h.inject({
      method: 'GET',
      url: `/v3/${t.projectId}/traces?trace_type=system`,
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('is documented: its action in the OpenAPI description and x-iam-actions', async () => {
    const doc = json(await h.inject({ method: 'GET', url: '/openapi.json' })) as {
      info: { description: string };
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    expect(doc.info.description).toContain('`cts:trace:list`');
    expect(doc.paths['/v3/{project_id}/traces']?.get?.['x-iam-actions']).toEqual([
      { action: 'cts:trace:list', requires: [] },
    ]);
  });

  it('answers the official SDK core as CtsClient.listTraces sends it (AK/SK signed)', async () => {
    const client = sdkClient({
      endpoint,
      accessKey: t.root.accessKey,
      secretKey: t.root.secretKey,
      projectId: t.projectId,
    });
    const res = await sdkSend(client, {
      method: 'GET',
      url: '/v3/{project_id}/traces',
      pathParams: { project_id: t.projectId },
      queryParams: { trace_type: 'system', limit: 2 },
    });
    expect(res.status).toBe(200);
    const body = res.body as unknown as Answer;
    expect(body.traces).toHaveLength(2);
    expect(body.meta_data).toEqual({ count: 2, marker: body.traces[1]!.trace_id });
  });
});
