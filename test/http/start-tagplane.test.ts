import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTagplane, type Tagplane, TagplaneAdminError } from '../../src/index.js';
import { newMasterKey } from '../support/nodes.js';
import { createTestDatabase } from '../support/test-store.js';

/**
 * startTagplane(): tagplane in the test process, on the store under test (a SQLite file, or a
 * PostgreSQL database in the PostgreSQL run), driven through the handle's admin calls.
 */

const started: Tagplane[] = [];
const folder = mkdtempSync(join(tmpdir(), 'tagplane-start-'));
afterAll(async () => {
  for (const t of started) await t.close().catch(() => {});
  rmSync(folder, { recursive: true, force: true });
});

function seedDoc() {
  const u = randomBytes(4).toString('hex');
  return {
    projectId: `p-${u}`,
    doc: {
      domains: [{ id: `d-${u}`, name: `acme-${u}` }],
      projects: [{ id: `p-${u}`, name: 'eu-de', domain_id: `d-${u}` }],
      resources: [
        {
          project_id: `p-${u}`,
          type: 'bms_server' as const,
          id: `srv-${u}`,
          name: 'web-1',
          tags: [{ key: 'env', value: 'dev' }],
        },
      ],
    },
  };
}

async function resources(t: Tagplane, projectId: string) {
  const answer = (await t.request('GET', `/admin/v1/projects/${projectId}/resources`)) as {
    resources: { id: string; tags: unknown[] }[];
  };
  return answer.resources;
}

describe('startTagplane()', () => {
  it('two side by side, each with its own data; seed, register, reset and close', async () => {
    const db = await createTestDatabase();
    const masterKey = newMasterKey();
    const a = await startTagplane({ database: db.url, masterKey });
    const b = await startTagplane();
    started.push(a, b);
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(b.url).not.toBe(a.url);
    expect(a.adminToken).not.toBe(b.adminToken);

    const home = await fetch(`${a.url}/`);
    expect(((await home.json()) as { name: string }).name).toBe('tagplane');

    const { projectId, doc } = seedDoc();
    expect((await a.seed(doc)).ids).toEqual({
      domains: [doc.domains[0]!.id],
      projects: [projectId],
      users: [],
      resources: [doc.resources[0]!.id],
    });
    const file = join(folder, 'seed.json');
    writeFileSync(file, JSON.stringify(doc));
    await b.seed(file);
    await a.registerResource(projectId, 'ddm_instance', 'ddm-1', { name: 'orders' });
    expect((await resources(a, projectId)).map((r) => r.id).sort()).toEqual(
      ['ddm-1', doc.resources[0]!.id].sort(),
    );
    expect((await resources(b, projectId)).map((r) => r.id)).toEqual([doc.resources[0]!.id]);

    // The seed's tags are in the change log, read through the handle with a filter.
    const { events, next_marker } = await a.events({
      project_id: projectId,
      resource_type: 'bms_server',
    });
    expect(next_marker).toBeNull();
    expect(events).toMatchObject([
      {
        resource_id: doc.resources[0]!.id,
        changes: [{ key: 'env', old: null, new: 'dev' }],
      },
    ]);
    expect((await b.events({ project_id: `${projectId}-none` })).events).toEqual([]);

    await a.reset();
    // The project went with everything else.
    await expect(resources(a, projectId)).rejects.toMatchObject({ status: 404 });
    expect(await resources(b, projectId)).toHaveLength(1);

    // The admin token is the one the handle reports; another one is refused.
    const refused = await fetch(`${b.url}/admin/v1/projects/${projectId}/resources`, {
      headers: { authorization: `Bearer ${a.adminToken}` },
    });
    expect(refused.status).toBe(401);

    await a.close();
    await expect(fetch(`${a.url}/healthz`)).rejects.toThrow();
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
    await b.close();
    await expect(fetch(`${b.url}/healthz`)).rejects.toThrow();
    await db.drop();
  });

  it('options: a seed at start, open auth, a given admin token', async () => {
    const { projectId, doc } = seedDoc();
    const adminToken = `given-admin-token-${randomBytes(6).toString('hex')}`;
    const t = await startTagplane({ seed: doc, auth: 'open', adminToken });
    started.push(t);
    expect(t.adminToken).toBe(adminToken);
    const res = await fetch(
      `${t.url}/v1/${projectId}/baremetalservers/${doc.resources[0]!.id}/tags`,
      { headers: { 'x-auth-token': 'anything' } },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ tags: [{ key: 'env', value: 'dev' }] });
    await t.close();
  });

  it('faults: added, listed, answered in the service envelope, removed; a project reset', async () => {
    const { projectId, doc } = seedDoc();
    const t = await startTagplane({ seed: doc, auth: 'open' });
    started.push(t);
    const tags = `${t.url}/v1/${projectId}/baremetalservers/${doc.resources[0]!.id}/tags`;
    const get = () => fetch(tags, { headers: { 'x-auth-token': 'anything' } });

    const fault = await t.faults.add({ match: { service: 'bms' }, error: { status: 500 } });
    expect(fault.id).toEqual(expect.any(String));
    const refused = await get();
    expect(refused.status).toBe(500);
    expect(Object.keys((await refused.json()) as object)).toEqual(['error']);
    expect(await t.faults.list()).toEqual([expect.objectContaining({ id: fault.id, fired: 1 })]);
    await t.faults.remove(fault.id);
    expect((await get()).status).toBe(200);
    await t.faults.add({ match: { service: 'bms' }, error: { status: 500 } });
    await t.faults.clear();
    expect(await t.faults.list()).toEqual([]);

    await t.resetProject(projectId);
    expect(await resources(t, projectId)).toEqual([]);
    await t.close();
  });

  it('rateLimit: past its burst a credential answers 429 APIG.0308; others still pass', async () => {
    const { projectId, doc } = seedDoc();
    const t = await startTagplane({ seed: doc, auth: 'open', rateLimit: 1 });
    started.push(t);
    const tags = `${t.url}/v1/${projectId}/baremetalservers/${doc.resources[0]!.id}/tags`;
    const get = (token: string) => fetch(tags, { headers: { 'x-auth-token': token } });
    // A burst of 1, refilled at 1 a second: of 20 calls at once, at most one a second passes.
    const answers = await Promise.all(Array.from({ length: 20 }, () => get('token-a')));
    const statuses = answers.map((r) => r.status);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const refused = answers.find((r) => r.status === 429)!;
    expect(await refused.json()).toEqual({
      error_code: 'APIG.0308',
      error_msg:
        'The throttling threshold has been reached: policy user over ratelimit,limit:1,time:1 second',
      request_id: refused.headers.get('x-request-id'),
    });
    // In open mode each token is a credential of its own.
    expect((await get('token-b')).status).toBe(200);
    await t.close();
  });

  it("rateLimit off (the default, 'off' or 0): no call is throttled", async () => {
    const { projectId, doc } = seedDoc();
    for (const rateLimit of [undefined, 'off' as const, 0]) {
      const t = await startTagplane({ seed: doc, auth: 'open', rateLimit });
      started.push(t);
      const tags = `${t.url}/v1/${projectId}/baremetalservers/${doc.resources[0]!.id}/tags`;
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => fetch(tags, { headers: { 'x-auth-token': 'same' } })),
      );
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
      await t.close();
    }
  });

  it('requestLog: the server keeps that many of its last requests (0: none)', async () => {
    const { projectId, doc } = seedDoc();
    const requests = async (t: Tagplane) =>
      ((await t.request('GET', '/admin/v1/requests')) as { requests: { path: string }[] }).requests;
    const kept = await startTagplane({ seed: doc, auth: 'open', requestLog: 2 });
    const none = await startTagplane({ seed: doc, auth: 'open', requestLog: 0 });
    started.push(kept, none);
    const tags = `/v1/${projectId}/baremetalservers/${doc.resources[0]!.id}/tags`;
    for (const t of [kept, none]) {
      for (const path of [tags, '/healthz', '/readyz']) {
        await fetch(`${t.url}${path}`, { headers: { 'x-auth-token': 'any' } });
      }
    }
    expect((await requests(kept)).map((r) => r.path)).toEqual(['/readyz', '/healthz']);
    expect(await requests(none)).toEqual([]);
    await kept.close();
    await none.close();
  });

  it('rateLimit and requestLog take what the flags take, and refuse the rest in their words', async () => {
    await expect(startTagplane({ rateLimit: 2.5 })).rejects.toThrow(
      /invalid rate limit \(--rate-limit, TAGPLANE_RATE_LIMIT\) '2\.5': use a whole number/,
    );
    await expect(startTagplane({ rateLimit: 'fast' as never })).rejects.toThrow(
      /invalid rate limit .* 'fast'/,
    );
    await expect(startTagplane({ requestLog: -1 })).rejects.toThrow(
      /invalid request log size \(--request-log, TAGPLANE_REQUEST_LOG\) '-1': use 0–1000000/,
    );
  });

  it('an admin call refused: the error carries the status and the answer', async () => {
    const t = await startTagplane();
    started.push(t);
    const error = await t
      .seed({ domains: [{ id: 'bad id with spaces', name: 'x' }] } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TagplaneAdminError);
    expect((error as TagplaneAdminError).status).toBe(400);
    expect((error as TagplaneAdminError).body).toContain('bad id with spaces');
    await t.close();
  });

  it('a seed rejected at start: the start fails and frees its port', async () => {
    await expect(startTagplane({ seed: join(folder, 'missing.json') })).rejects.toThrow(
      /cannot read seed file .*missing\.json/,
    );
    await expect(startTagplane({ port: 70000 })).rejects.toThrow(/invalid port '70000'/);
  });
});
