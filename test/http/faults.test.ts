import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { AS, BMS, DDM, tagsN } from '../support/service-spec.js';
import { expectError, TagApi } from '../support/tag-api.js';

/** SPEC §10 "Fault injection": POST/GET/DELETE /admin/v1/faults and what a matched request gets. */

let clock = Date.now();
let h: Harness;
let t: Tenant;
let bms: TagApi;
let ddm: TagApi;
let as: TagApi;

beforeAll(async () => {
  h = await createHarness({ now: () => clock });
  t = await h.tenant();
  bms = new TagApi(h, t, BMS);
  ddm = new TagApi(h, t, DDM);
  as = new TagApi(h, t, AS);
});
afterEach(async () => {
  const res = await admin('DELETE', '/admin/v1/faults');
  expect(res.statusCode).toBe(204);
  clock = Date.now();
});
afterAll(() => h.close());

function admin(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) {
  return h.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

interface FaultView {
  id: string;
  match: Record<string, string>;
  error: { status: number; code?: string; message?: string } | null;
  latency_ms: number;
  probability: number;
  count: number | null;
  ttl_s: number | null;
  fired: number;
}

async function inject(body: unknown): Promise<FaultView> {
  const res = await admin('POST', '/admin/v1/faults', body);
  expect(res.statusCode, res.body).toBe(201);
  return JSON.parse(res.body) as FaultView;
}

async function listFaults(): Promise<FaultView[]> {
  const res = await admin('GET', '/admin/v1/faults');
  expect(res.statusCode, res.body).toBe(200);
  return (JSON.parse(res.body) as { faults: FaultView[] }).faults;
}

describe('the admin API', () => {
  it('creates a fault (201) with every field, lists it, deletes it (204), then 404', async () => {
    const created = await inject({
      match: { service: 'bms', method: 'post', resource_id: 'srv-1' },
      error: { status: 503, code: 'BMS.0002', message: 'try again' },
      latency_ms: 5,
      probability: 0.5,
      count: 3,
      ttl_s: 60,
    });
    expect(created).toEqual({
      id: expect.stringMatching(/^fault-[0-9a-f]{16}$/),
      match: { service: 'bms', method: 'POST', resource_id: 'srv-1' },
      error: { status: 503, code: 'BMS.0002', message: 'try again' },
      latency_ms: 5,
      probability: 0.5,
      count: 3,
      ttl_s: 60,
      fired: 0,
    });
    const minimal = await inject({ match: {}, error: { status: 500 } });
    expect(minimal).toMatchObject({
      match: {},
      error: { status: 500 },
      latency_ms: 0,
      probability: 1,
      count: null,
      ttl_s: null,
      fired: 0,
    });
    expect(await listFaults()).toEqual([created, minimal]);

    expect((await admin('DELETE', `/admin/v1/faults/${created.id}`)).statusCode).toBe(204);
    expect((await listFaults()).map((f) => f.id)).toEqual([minimal.id]);
    const again = await admin('DELETE', `/admin/v1/faults/${created.id}`);
    expect(again.statusCode).toBe(404);
    expect(JSON.parse(again.body)).toMatchObject({ error_code: 'ADMIN.0404' });
  });

  it('DELETE /admin/v1/faults removes every fault', async () => {
    await inject({ match: { service: 'bms' }, error: { status: 500 } });
    await inject({ match: { service: 'as' }, latency_ms: 1 });
    expect((await admin('DELETE', '/admin/v1/faults')).statusCode).toBe(204);
    expect(await listFaults()).toEqual([]);
  });

  it.each([
    ['no match', { error: { status: 500 } }, "'match' is required."],
    ['a status below 400', { match: {}, error: { status: 302 } }, "'error.status'"],
    ['a status above 599', { match: {}, error: { status: 600 } }, "'error.status'"],
    ['an error without status', { match: {}, error: { code: 'X' } }, "'error.status'"],
    ['a probability above 1', { match: {}, latency_ms: 1, probability: 1.5 }, "'probability'"],
    ['a negative latency', { match: {}, latency_ms: -1 }, "'latency_ms'"],
    ['a count of 0', { match: {}, latency_ms: 1, count: 0 }, "'count'"],
    ['a ttl of 0', { match: {}, latency_ms: 1, ttl_s: 0 }, "'ttl_s'"],
    ['an unknown service', { match: { service: 'ecs' }, latency_ms: 1 }, "'match.service'"],
    ['an unknown method', { match: { method: 'PATCH' }, latency_ms: 1 }, "'match.method'"],
    ['a relative path prefix', { match: { path_prefix: 'v1' }, latency_ms: 1 }, 'path_prefix'],
    ['an unknown match field', { match: { region: 'x' }, latency_ms: 1 }, "'match.region'"],
    ['an unknown field', { match: {}, latency_ms: 1, delay: 5 }, "'delay'"],
    ['an unknown operation', { match: { operation: 'Nope' }, latency_ms: 1 }, "'Nope'"],
    [
      'an operation of another service',
      { match: { service: 'as', operation: 'BatchBaremetalServerTagsAction' }, latency_ms: 1 },
      "not an operation of 'as'",
    ],
    ['neither error nor latency', { match: {} }, "needs an 'error'"],
  ])('%s → 400 ADMIN.0400 naming the field; nothing is created', async (_label, body, text) => {
    const res = await admin('POST', '/admin/v1/faults', body);
    expect(res.statusCode, res.body).toBe(400);
    const answer = JSON.parse(res.body) as { error_code: string; error_msg: string };
    expect(answer.error_code).toBe('ADMIN.0400');
    expect(answer.error_msg).toContain(text);
    expect(await listFaults()).toEqual([]);
  });

  it('without the admin token → 401, in the gateway envelope', async () => {
    const res = await h.inject({ method: 'GET', url: '/admin/v1/faults' });
    expectError(res, 'gateway', 'APIG.0301', 401);
  });
});

describe('envelopes', () => {
  it("a service code → the route's own envelope (BMS nested), and nothing changes", async () => {
    const id = await bms.resource(tagsN(1));
    await inject({
      match: { resource_id: id },
      error: { status: 500, code: 'BMS.0002', message: 'Injected.' },
    });
    const res = await bms.create(id, [{ key: 'new', value: 'v' }]);
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'BMS.0002', message: 'Injected.' } });
    await admin('DELETE', '/admin/v1/faults');
    expect(await bms.list(id)).toEqual(tagsN(1));
  });

  it.each([
    [500, 'BMS.0002'],
    [403, 'BMS.0033'],
    [400, 'BMS.0001'],
  ])('no code, status %i → the service table code %s', async (status, code) => {
    const id = await bms.resource();
    await inject({ match: { resource_id: id }, error: { status } });
    bms.expectError(await bms.listRaw(id), code, status);
  });

  it('no code, status 500 on DDM → its internal code in its flat envelope', async () => {
    const id = await ddm.resource();
    await inject({ match: { resource_id: id }, error: { status: 500 } });
    ddm.expectError(await ddm.listRaw(id), 'DBS.200001', 500);
  });

  it.each([
    [429, 'APIG.0308', 'The throttling threshold has been reached.'],
    [502, 'APIG.0202', 'Backend unavailable'],
    [504, 'APIG.0203', 'Backend timeout'],
  ])(
    'no code, status %i, which the service has no code for → the gateway code %s',
    async (status, code, message) => {
      const id = await bms.resource();
      await inject({ match: { resource_id: id }, error: { status } });
      const res = await bms.listRaw(id);
      expect(expectError(res, 'gateway', code, status)).toBe(message);
    },
  );

  it('a gateway code → the gateway envelope with its message, changing nothing', async () => {
    const id = await ddm.resource(tagsN(2));
    await inject({ match: { resource_id: id }, error: { status: 429, code: 'APIG.0308' } });
    const res = await ddm.remove(id, tagsN(2));
    expect(expectError(res, 'gateway', 'APIG.0308', 429)).toBe(
      'The throttling threshold has been reached.',
    );
    await admin('DELETE', '/admin/v1/faults');
    expect(await ddm.list(id)).toEqual(tagsN(2));
  });

  it("the cross-service API → TMS's envelope", async () => {
    await inject({ match: { service: 'tms' }, error: { status: 400 } });
    const res = await h.inject({
      method: 'GET',
      url: `/v1.0/tms/providers`,
      headers: { 'x-auth-token': t.root.token },
    });
    expectError(res, 'flat', 'TMS.0002', 400);
  });

  it("IAM → Keystone's envelope", async () => {
    await inject({
      match: { service: 'iam', operation: 'KeystoneListRegions' },
      error: { status: 503 },
    });
    const res = await h.inject({
      method: 'GET',
      url: '/v3/regions',
      headers: { 'x-auth-token': t.root.token },
    });
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 503, message: expect.any(String), title: 'Error' },
    });
  });

  it('admin and operations routes are never faulted', async () => {
    await inject({ match: {}, error: { status: 500 } });
    expect((await h.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await listFaults()).map((f) => f.fired)).toEqual([0]);
  });
});

describe('matching', () => {
  /** A fault answering 503 for `match`; whether each of `calls` is answered by it. */
  async function hits(
    match: Record<string, string>,
    calls: (() => Promise<{ statusCode: number }>)[],
  ) {
    await inject({ match, error: { status: 503, code: 'BMS.0002' } });
    const out: boolean[] = [];
    for (const call of calls) out.push((await call()).statusCode === 503);
    return out;
  }

  it('service', async () => {
    const b = await bms.resource();
    const a = await as.resource();
    expect(await hits({ service: 'as' }, [() => bms.listRaw(b), () => as.listRaw(a)])).toEqual([
      false,
      true,
    ]);
  });

  it('operation', async () => {
    const b = await bms.resource();
    const r = await hits({ operation: 'ShowBaremetalServerTags' }, [
      () => bms.listRaw(b),
      () => bms.create(b, tagsN(1)),
    ]);
    expect(r).toEqual([true, false]);
  });

  it('method', async () => {
    const b = await bms.resource();
    const r = await hits({ method: 'POST' }, [() => bms.listRaw(b), () => bms.create(b, tagsN(1))]);
    expect(r).toEqual([false, true]);
  });

  it('path_prefix (the path as sent)', async () => {
    const b = await bms.resource();
    const d = await ddm.resource();
    const r = await hits({ path_prefix: `/v1/${t.projectId}/baremetalservers/` }, [
      () => bms.listRaw(b),
      () => ddm.listRaw(d),
    ]);
    expect(r).toEqual([true, false]);
  });

  it('project_id', async () => {
    const other = await h.tenant();
    const otherBms = new TagApi(h, other, BMS);
    const b = await bms.resource();
    const o = await otherBms.resource();
    const r = await hits({ project_id: other.projectId }, [
      () => bms.listRaw(b),
      () => otherBms.listRaw(o),
    ]);
    expect(r).toEqual([false, true]);
  });

  it('resource_id', async () => {
    const b1 = await bms.resource();
    const b2 = await bms.resource();
    const r = await hits({ resource_id: b2 }, [() => bms.listRaw(b1), () => bms.listRaw(b2)]);
    expect(r).toEqual([false, true]);
  });

  it('every field together', async () => {
    const b = await bms.resource();
    const match = {
      service: 'bms',
      operation: 'BatchBaremetalServerTagsAction',
      method: 'POST',
      path_prefix: '/v1/',
      project_id: t.projectId,
      resource_id: b,
    };
    const r = await hits(match, [() => bms.listRaw(b), () => bms.create(b, tagsN(1))]);
    expect(r).toEqual([false, true]);
  });
});

describe('count, probability, latency, ttl', () => {
  it('count: fires that many times, then requests pass; fired counts', async () => {
    const id = await bms.resource();
    const f = await inject({ match: { resource_id: id }, error: { status: 500 }, count: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await bms.listRaw(id)).statusCode);
    expect(statuses).toEqual([500, 500, 200, 200]);
    expect(await listFaults()).toEqual([{ ...f, fired: 2 }]);
  });

  it('probability 0 never fires; probability 1 always does', async () => {
    const id = await bms.resource();
    const never = await inject({
      match: { resource_id: id },
      error: { status: 500 },
      probability: 0,
    });
    for (let i = 0; i < 5; i++) expect((await bms.listRaw(id)).statusCode).toBe(200);
    const always = await inject({
      match: { resource_id: id },
      error: { status: 502 },
      probability: 1,
    });
    for (let i = 0; i < 5; i++) expect((await bms.listRaw(id)).statusCode).toBe(502);
    expect((await listFaults()).map((x) => [x.id, x.fired])).toEqual([
      [never.id, 0],
      [always.id, 5],
    ]);
  });

  it('latency_ms without an error: the request waits, then is served as usual', async () => {
    const id = await bms.resource();
    await inject({ match: { resource_id: id }, latency_ms: 150 });
    const start = performance.now();
    bms.expectWritten(await bms.create(id, tagsN(1)));
    expect(performance.now() - start).toBeGreaterThanOrEqual(150);
    expect(await bms.list(id)).toEqual(tagsN(1));
    expect((await listFaults())[0]!.fired).toBe(2);
  });

  it('ttl_s: the fault fires until it expires, then is gone', async () => {
    const id = await bms.resource();
    await inject({ match: { resource_id: id }, error: { status: 500 }, ttl_s: 30 });
    clock += 29_000;
    expect((await bms.listRaw(id)).statusCode).toBe(500);
    clock += 1_000;
    expect((await bms.listRaw(id)).statusCode).toBe(200);
    expect(await listFaults()).toEqual([]);
  });

  it('the oldest matching fault fires, one per request', async () => {
    const id = await bms.resource();
    const first = await inject({ match: { resource_id: id }, error: { status: 500 }, count: 1 });
    const second = await inject({ match: { resource_id: id }, error: { status: 403 } });
    expect((await bms.listRaw(id)).statusCode).toBe(500);
    expect((await bms.listRaw(id)).statusCode).toBe(403);
    expect((await listFaults()).map((x) => [x.id, x.fired])).toEqual([
      [first.id, 1],
      [second.id, 1],
    ]);
  });
});

describe('every node of the database', () => {
  it('a fault set on one node fires on another; count holds exactly across both', async () => {
    const other = await createHarness({
      databaseUrl: h.databaseUrl,
      keys: h.keys,
      now: () => clock,
    });
    try {
      const otherBms = new TagApi(other, t, BMS);
      const id = await bms.resource();
      const marker = await bms.resource();
      /** Waits until the other node answers `status` for `resource` (it sees a change at once on
       * SQLite, once its notification arrives on PostgreSQL). */
      const seen = (resource: string, status: number) =>
        vi.waitFor(async () => expect((await otherBms.listRaw(resource)).statusCode).toBe(status), {
          timeout: 10_000,
          interval: 20,
        });

      await inject({ match: { resource_id: id }, error: { status: 502 } });
      await seen(id, 502);
      await admin('DELETE', '/admin/v1/faults');
      await seen(id, 200);

      const counted = await inject({
        match: { resource_id: id },
        error: { status: 500 },
        count: 3,
      });
      // Created after it: once the other node fires this one, it holds the counted one too.
      await inject({ match: { resource_id: marker }, error: { status: 503 } });
      await seen(marker, 503);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? bms : otherBms).listRaw(id)),
      );
      expect(answers.filter((r) => r.statusCode === 500)).toHaveLength(3);
      expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(7);
      expect((await listFaults()).find((f) => f.id === counted.id)?.fired).toBe(3);
    } finally {
      await other.close();
    }
  });
});
