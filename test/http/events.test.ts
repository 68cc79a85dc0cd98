import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { SERVICE_SPECS, type ServiceSpec } from '../support/service-spec.js';
import { signed } from '../support/signing.js';
import { TagApi } from '../support/tag-api.js';

/** SPEC §8: the change log, as GET /admin/v1/events and the as-of read show it. */

interface Event {
  id: string;
  time: string;
  domain_id: string;
  project_id: string;
  resource_type: string;
  resource_id: string;
  service: string;
  operation: string;
  principal: Record<string, string>;
  source_ip: string;
  request_id: string;
  changes: { key: string; old: string | null; new: string | null }[];
}

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function events(query: string): Promise<{ events: Event[]; next_marker: string | null }> {
  const res = await h.inject({ method: 'GET', url: `/admin/v1/events?${query}`, headers: admin });
  expect(res.statusCode, res.body).toBe(200);
  return json(res) as { events: Event[]; next_marker: string | null };
}

/** Every event of a resource, oldest first. */
async function eventsOf(tenant: Tenant, id: string): Promise<Event[]> {
  return (await events(`project_id=${tenant.projectId}&resource_id=${id}&limit=1000`)).events;
}

/** The operationIds of each service's create and delete calls (as its OpenAPI document names them). */
const OPERATIONS: Record<string, { create: string; delete: string }> = {
  modelarts: { create: 'CreateHyperinstanceTags', delete: 'DeleteHyperinstanceTags' },
  bms: { create: 'BatchBaremetalServerTagsAction', delete: 'BatchBaremetalServerTagsAction' },
  ddm: { create: 'CreateDdmInstanceTags', delete: 'DeleteDdmInstanceTags' },
  as: { create: 'CreateOrDeleteScalingTags', delete: 'CreateOrDeleteScalingTags' },
  mrs: { create: 'BatchCreateOrDeleteClusterTags', delete: 'BatchCreateOrDeleteClusterTags' },
};

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe.each(Object.values(SERVICE_SPECS).map((s) => [s.id, s] as [string, ServiceSpec]))(
  '%s',
  (service, spec) => {
    it('a create and a delete each append one exact event; repeats and refusals none', async () => {
      const api = new TagApi(h, t, spec);
      const id = await api.resource([{ key: 'keep', value: 'v0' }]);
      const seeded = await eventsOf(t, id);
      expect(seeded).toHaveLength(1);

      const created = await api.create(id, [{ key: 'env', value: 'prod' }], {
        'x-request-id': `req-create-${service}`,
      });
      expect(created.statusCode, created.body).toBe(spec.writeStatus);
      let log = await eventsOf(t, id);
      expect(log).toHaveLength(2);
      const e = log[1]!;
      expect(e).toEqual({
        id: expect.stringMatching(/^\d+$/),
        time: expect.stringMatching(TIME),
        domain_id: t.domainId,
        project_id: t.projectId,
        resource_type: spec.type,
        resource_id: id,
        service,
        operation: OPERATIONS[service]!.create,
        principal: { type: 'root', user_id: t.root.id, user_name: t.root.name },
        source_ip: '127.0.0.1',
        request_id: `req-create-${service}`,
        changes: [{ key: 'env', old: null, new: 'prod' }],
      });
      expect(BigInt(e.id)).toBeGreaterThan(BigInt(log[0]!.id));

      // The same tags again change nothing: no event (where the service refuses it, neither).
      await api.create(id, [{ key: 'env', value: 'prod' }]);
      // A refused request: an invalid key.
      const refused = await api.create(id, [{ key: '', value: 'x' }]);
      expect(refused.statusCode).toBeGreaterThanOrEqual(400);
      expect(await eventsOf(t, id)).toHaveLength(2);

      const removed = await api.remove(id, [{ key: 'env', value: 'prod' }]);
      expect(removed.statusCode, removed.body).toBe(spec.writeStatus);
      log = await eventsOf(t, id);
      expect(log).toHaveLength(3);
      expect(log[2]).toMatchObject({
        operation: OPERATIONS[service]!.delete,
        changes: [{ key: 'env', old: 'prod', new: null }],
      });
      if (spec.absentDeleteSucceeds) {
        await api.remove(id, [{ key: 'env' }]);
        expect(await eventsOf(t, id)).toHaveLength(3);
      }
    });
  },
);

describe('who and how', () => {
  it('a signed call names the access key (never its secret); an overwrite shows old and new', async () => {
    const api = new TagApi(h, t, SERVICE_SPECS.bms);
    const id = await api.resource([{ key: 'env', value: 'dev' }]);
    const req = signed(
      {
        method: 'POST',
        url: `/v1/${t.projectId}/baremetalservers/${id}/tags/action`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ action: 'create', tags: [{ key: 'env', value: 'prod' }] }),
      },
      t.root,
    );
    const res = await h.inject(req);
    expect(res.statusCode, res.body).toBe(204);
    const log = await eventsOf(t, id);
    expect(log.at(-1)).toMatchObject({
      principal: {
        type: 'root',
        user_id: t.root.id,
        user_name: t.root.name,
        access_key: t.root.accessKey,
      },
      changes: [{ key: 'env', old: 'dev', new: 'prod' }],
    });
    const all = JSON.stringify(await events(`project_id=${t.projectId}&limit=1000`));
    for (const secret of [t.root.secretKey, t.root.token, t.root.password, ADMIN_TOKEN]) {
      expect(all).not.toContain(secret);
    }
  });

  it('the cross-service batch appends one event per changed resource, none for a failed one', async () => {
    const a = await t.resource('bms_server');
    const b = await t.resource('ddm_instance', [{ key: 'env', value: 'x' }]);
    const bad = await t.resource('as_group');
    const res = await h.inject({
      method: 'POST',
      url: '/v1.0/resource-tags/batch-create',
      headers: { 'x-auth-token': t.root.domainToken, 'content-type': 'application/json' },
      payload: JSON.stringify({
        project_id: t.projectId,
        resources: [
          { resource_id: a, resource_type: 'bms_server' },
          { resource_id: b, resource_type: 'ddm_instance' },
          { resource_id: 'missing', resource_type: 'as_group' },
        ],
        tags: [{ key: 'env', value: 'x' }],
      }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect((await eventsOf(t, a)).at(-1)).toMatchObject({
      service: 'tms',
      operation: 'BatchCreateResourceTags',
      resource_type: 'bms_server',
      changes: [{ key: 'env', old: null, new: 'x' }],
    });
    // b already had env=x: nothing changed, no event beyond its seed.
    expect(await eventsOf(t, b)).toHaveLength(1);
    expect(await eventsOf(t, bad)).toHaveLength(0);
  });

  it('seeds and deregistrations are admin events; a registration without tags is none', async () => {
    const id = await t.resource('mrs_cluster', [
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect(await eventsOf(t, id)).toEqual([
      expect.objectContaining({
        service: 'admin',
        operation: 'AdminSeed',
        principal: { type: 'admin' },
        changes: [
          { key: 'a', old: null, new: '1' },
          { key: 'b', old: null, new: '2' },
        ],
      }),
    ]);
    // The same seed again: nothing.
    await t.resource(
      'mrs_cluster',
      [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ],
      id,
    );
    const put = await h.inject({
      method: 'PUT',
      url: `/admin/v1/projects/${t.projectId}/resources/mrs_cluster/${id}`,
      headers: { ...admin, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'renamed' }),
    });
    expect(put.statusCode).toBe(200);
    expect(await eventsOf(t, id)).toHaveLength(1);
    const del = await h.inject({
      method: 'DELETE',
      url: `/admin/v1/projects/${t.projectId}/resources/mrs_cluster/${id}`,
      headers: { ...admin, 'x-request-id': 'req-dereg' },
    });
    expect(del.statusCode).toBe(204);
    const log = await eventsOf(t, id);
    expect(log).toHaveLength(2);
    expect(log[1]).toMatchObject({
      service: 'admin',
      operation: 'AdminDeregisterResource',
      request_id: 'req-dereg',
      changes: [
        { key: 'a', old: '1', new: null },
        { key: 'b', old: '2', new: null },
      ],
    });
  });
});

describe('reads', () => {
  let u: Tenant;
  let ids: string[];

  beforeAll(async () => {
    u = await h.tenant();
    ids = [];
    for (let i = 0; i < 7; i++) {
      ids.push(
        await u.resource(i % 2 ? 'bms_server' : 'ddm_instance', [
          { key: `k${i % 3}`, value: `v${i}` },
        ]),
      );
    }
  });

  it('paging walks every event exactly once, in both orders', async () => {
    const all = (await events(`project_id=${u.projectId}`)).events.map((e) => e.id);
    expect(all).toHaveLength(7);
    for (const order of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let marker: string | null = null;
      let pages = 0;
      do {
        const bound: string =
          marker === null ? '' : `&${order === 'asc' ? 'since' : 'before'}=${marker}`;
        const page = await events(`project_id=${u.projectId}&order=${order}&limit=3${bound}`);
        seen.push(...page.events.map((e) => e.id));
        marker = page.next_marker;
        pages++;
      } while (marker !== null && pages < 10);
      expect(seen).toEqual(order === 'asc' ? all : [...all].reverse());
    }
  });

  it('filters combine', async () => {
    const byTypeAndKey = await events(`project_id=${u.projectId}&resource_type=bms_server&key=k1`);
    // bms_server: i = 1, 3, 5 with keys k1, k0, k2.
    expect(byTypeAndKey.events.map((e) => e.resource_id)).toEqual([ids[1]]);
    const byResource = await events(`project_id=${u.projectId}&resource_id=${ids[4]}`);
    expect(byResource.events.map((e) => e.changes)).toEqual([
      [{ key: 'k1', old: null, new: 'v4' }],
    ]);
    expect((await events(`project_id=${u.projectId}&principal=${u.root.id}`)).events).toEqual([]);
    const first = (await events(`project_id=${u.projectId}`)).events[0]!;
    expect(
      (await events(`project_id=${u.projectId}&from=2000-01-01T00:00:00Z&to=${first.time}`)).events
        .length,
    ).toBeGreaterThanOrEqual(1);
    expect((await events(`project_id=${u.projectId}&to=2000-01-01T00:00:00Z`)).events).toEqual([]);
    expect((await events(`project_id=${u.projectId}&key=K1`)).events).toEqual([]);
  });

  it.each([['limit=0'], ['limit=1001'], ['order=up'], ['since=abc'], ['from=yesterday']])(
    '%s → 400 in the admin envelope',
    async (query) => {
      const res = await h.inject({
        method: 'GET',
        url: `/admin/v1/events?${query}`,
        headers: admin,
      });
      expect(res.statusCode).toBe(400);
      expect(json(res)).toMatchObject({ error_code: 'ADMIN.0400' });
    },
  );

  it('needs the admin token', async () => {
    const res = await h.inject({ method: 'GET', url: '/admin/v1/events' });
    expect(res.statusCode).toBe(401);
  });
});

describe('as of a moment', () => {
  it('the tags at several moments, by event id and by time, also after deregistration', async () => {
    const api = new TagApi(h, t, SERVICE_SPECS.ddm);
    const id = await api.resource([{ key: 'a', value: '1' }]);
    const url = (asOf?: string) =>
      `/admin/v1/projects/${t.projectId}/resources/ddm_instance/${id}/tags${asOf === undefined ? '' : `?as_of=${encodeURIComponent(asOf)}`}`;
    const asOf = async (at?: string) => {
      const res = await h.inject({ method: 'GET', url: url(at), headers: admin });
      expect(res.statusCode, res.body).toBe(200);
      return json(res);
    };
    await api.create(id, [{ key: 'b', value: '2' }]);
    await api.create(id, [{ key: 'a', value: '9' }]);
    await api.remove(id, [{ key: 'b' }]);
    const log = await eventsOf(t, id);
    expect(log).toHaveLength(4);
    const [e0, e1, e2, e3] = log.map((e) => e.id);

    expect(await asOf(String(BigInt(e0!) - 1n))).toEqual({ tags: [], as_of_event: null });
    expect(await asOf(e0)).toEqual({ tags: [{ key: 'a', value: '1' }], as_of_event: e0 });
    expect(await asOf(e1)).toEqual({
      tags: [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ],
      as_of_event: e1,
    });
    expect(await asOf(log[2]!.time)).toMatchObject({ as_of_event: expect.any(String) });
    expect(await asOf(e2)).toEqual({
      tags: [
        { key: 'a', value: '9' },
        { key: 'b', value: '2' },
      ],
      as_of_event: e2,
    });
    expect(await asOf()).toEqual({ tags: [{ key: 'a', value: '9' }], as_of_event: e3 });
    expect(await asOf('2000-01-01T00:00:00.000Z')).toEqual({ tags: [], as_of_event: null });

    const del = await h.inject({
      method: 'DELETE',
      url: `/admin/v1/projects/${t.projectId}/resources/ddm_instance/${id}`,
      headers: admin,
    });
    expect(del.statusCode).toBe(204);
    expect(await asOf()).toMatchObject({ tags: [] });
    expect(await asOf(e2)).toEqual({
      tags: [
        { key: 'a', value: '9' },
        { key: 'b', value: '2' },
      ],
      as_of_event: e2,
    });
    expect(await asOf(e3)).toEqual({ tags: [{ key: 'a', value: '9' }], as_of_event: e3 });
  });

  it('a bad moment → 400; a resource that never was → 404', async () => {
    const id = await t.resource('bms_server');
    const bad = await h.inject({
      method: 'GET',
      url: `/admin/v1/projects/${t.projectId}/resources/bms_server/${id}/tags?as_of=soon`,
      headers: admin,
    });
    expect(bad.statusCode).toBe(400);
    const never = await h.inject({
      method: 'GET',
      url: `/admin/v1/projects/${t.projectId}/resources/bms_server/never/tags`,
      headers: admin,
    });
    expect(never.statusCode).toBe(404);
  });
});
