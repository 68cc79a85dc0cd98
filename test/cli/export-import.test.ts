import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/auth/aksk-signature.js';
import { http, newMasterKey, startNode } from '../support/nodes.js';
import { type CliResult, runCli, type ServerProcess } from '../support/process.js';
import {
  createSqliteDatabase,
  createTestDatabase,
  type TestDatabase,
} from '../support/test-store.js';

/**
 * A whole database out as JSON lines and back in: from SQLite into the store under test (SQLite,
 * or PostgreSQL in the PostgreSQL run) and from there into SQLite again. Nothing may be lost:
 * the second and third exports equal the first row for row, and the restored database serves
 * the same credentials, tokens and listings.
 */
describe('tagplane export / import', () => {
  const masterKey = newMasterKey();
  const env = { TAGPLANE_MASTER_KEY: masterKey };
  const dbs: TestDatabase[] = [];
  let dir: string;
  let source: TestDatabase;
  let adminToken: string;
  let token: string;
  let sourceListing: unknown;
  /** The source database exported once, before the tests. */
  let exportFile: string;
  let exportRun: CliResult;
  const u = randomUUID().slice(0, 8);
  const projectId = `p-${u}`;
  const ak = `AKEXPORT${u.toUpperCase()}`;
  const sk = `sk-export-${u}-secret`;
  const bms = [`bms-z-${u}`, `bms-a-${u}`, `bms-m-${u}`];

  const newDb = async (kind?: 'sqlite') => {
    const db = kind ? createSqliteDatabase() : await createTestDatabase();
    dbs.push(db);
    return db;
  };

  const rootPassword = `pw-${u}-Root!`;
  const devPassword = `pw-${u}-Dev"'\\`;

  const seedDoc = {
    domains: [
      { id: `d-${u}`, name: `acme-${u}` },
      { id: `d2-${u}`, name: `Ünïcode ドメイン ${u}` },
    ],
    projects: [
      { id: projectId, name: 'eu-de', domain_id: `d-${u}` },
      { id: `p2-${u}`, name: 'eu-nl', domain_id: `d2-${u}` },
    ],
    users: [
      {
        id: `u-root-${u}`,
        name: 'acme',
        domain_id: `d-${u}`,
        root: true,
        password: rootPassword,
        access_keys: [{ access_key: ak, secret_key: sk }],
      },
      {
        id: `u-dev-${u}`,
        name: 'dev',
        domain_id: `d-${u}`,
        password: devPassword,
        policies: [{ Version: '1.1', Statement: [{ Effect: 'Allow', Action: ['bms:*:*'] }] }],
      },
      { id: `u-nopw-${u}`, name: 'robot', domain_id: `d2-${u}` },
    ],
    resources: [
      // Registered out of id order: listings follow registration order, which rids carry.
      {
        project_id: projectId,
        type: 'bms_server',
        id: bms[0],
        name: 'web-1',
        tags: [
          { key: 'env', value: 'prod' },
          { key: 'empty', value: '' },
          { key: 'ünï', value: 'ドメイン ✓' },
        ],
      },
      { project_id: projectId, type: 'bms_server', id: bms[1], name: 'web-2' },
      { project_id: projectId, type: 'bms_server', id: bms[2], enterprise_project_id: 'ep-1' },
      {
        project_id: projectId,
        type: 'ddm_instance',
        id: `ddm-${u}`,
        tags: [{ key: 'k', value: 'v' }],
      },
      { project_id: projectId, type: 'as_group', id: `as-${u}`, tags: [{ key: 'k', value: 'v' }] },
      {
        project_id: projectId,
        type: 'mrs_cluster',
        id: `mrs-${u}`,
        tags: [{ key: 'k', value: 'v' }],
      },
      {
        project_id: `p2-${u}`,
        type: 'modelarts_hyperinstance',
        id: `ma-${u}`,
        tags: [{ key: 'team', value: 'a b c' }],
      },
    ],
  };

  const passwordAuth = (name: string, password: string) => ({
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name, password, domain: { name: `acme-${u}` } } },
      },
      scope: { project: { id: projectId } },
    },
  });

  const adminHeaders = () => ({ authorization: `Bearer ${adminToken}` });
  const listing = (n: ServerProcess) =>
    http(n.url, 'GET', `/admin/v1/projects/${projectId}/resources`, { headers: adminHeaders() });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tagplane-export-'));
    source = await newDb('sqlite');
    // No --admin-token: the generated one lives in the database and must travel with it.
    const node = await startNode(['--database', source.url], env);
    try {
      adminToken = (await node.line(/^admin token: /)).slice('admin token: '.length);
      const seeded = await http(node.url, 'POST', '/admin/v1/seed', {
        headers: adminHeaders(),
        body: seedDoc,
      });
      expect(seeded.status).toBe(200);
      // A gap in the rids: a resource registered, then removed.
      const gone = await http(
        node.url,
        'DELETE',
        `/admin/v1/projects/${projectId}/resources/bms_server/${bms[1]}`,
        { headers: adminHeaders() },
      );
      expect(gone.status).toBe(204);
      const again = await http(
        node.url,
        'PUT',
        `/admin/v1/projects/${projectId}/resources/bms_server/${bms[1]}`,
        { headers: adminHeaders(), body: { name: 'web-2 again' } },
      );
      expect(again.status).toBe(200);
      const issued = await http(node.url, 'POST', '/v3/auth/tokens', {
        body: passwordAuth('acme', rootPassword),
      });
      expect(issued.status).toBe(201);
      token = issued.headers.get('x-subject-token')!;
      // The MRS cluster's default tags on: a resource attribute, which must travel too.
      const switched = await http(
        node.url,
        'POST',
        `/v2/${projectId}/clusters/mrs-${u}/tags/switch`,
        { headers: { 'x-auth-token': token }, body: { action: 'create' } },
      );
      expect(switched.status).toBe(202);
      sourceListing = (await listing(node)).body;
    } finally {
      await node.stop();
    }
    exportFile = join(dir, 'source.jsonl');
    exportRun = await exportTo(source, exportFile);
  }, 60_000);

  afterAll(async () => {
    for (const db of dbs) await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The export's lines, the header without the fields that name the moment and the source. */
  const linesOf = (file: string) => {
    const raw = readFileSync(file);
    const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    const lines = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const { exported_at: _at, source: _source, ...header } = lines[0]!;
    return [header, ...lines.slice(1)];
  };

  const exportTo = async (db: TestDatabase, file: string) => {
    const res = await runCli(['export', '--database', db.url, '--output', file], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    return res;
  };

  const importFrom = (db: TestDatabase, file: string, extraEnv = env) =>
    runCli(['import', '--database', db.url, '--input', file], extraEnv);

  it('round-trips SQLite → the store under test → SQLite without losing anything', async () => {
    const first = exportFile;
    const exported = exportRun;
    expect(exported.stderr).toMatch(/export: 100% \(\d+\/\d+ rows\)/);
    expect(exported.stderr).toMatch(/export: \d+ rows at schema \d{4}-[a-z-]+ to /);

    const middle = await newDb();
    const imported = await importFrom(middle, first);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/import: 100% \(\d+\/\d+ rows\)/);
    if (middle.kind === 'postgres') {
      // The restored tables come with planner statistics (ANALYZE), not those of empty tables.
      const client = new pg.Client({ connectionString: middle.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ relname: string; reltuples: number }>(
          "select relname, reltuples from pg_class where relname in ('resources', 'tags') order by relname",
        );
        expect(rows).toEqual([
          { relname: 'resources', reltuples: 7 },
          {
            relname: 'tags',
            reltuples: linesOf(first).filter((l) => l.table === 'tags').length,
          },
        ]);
      } finally {
        await client.end();
      }
    }
    const second = join(dir, 'second.jsonl.gz');
    await exportTo(middle, second);

    const back = await newDb('sqlite');
    expect((await importFrom(back, second)).code).toBe(0);
    const third = join(dir, 'third.jsonl');
    await exportTo(back, third);

    const original = linesOf(first);
    expect(original[0]).toMatchObject({ format: 'tagplane-export', version: 1 });
    // Settings (keys, the admin token hash), both domains, three users, all resources and tags.
    expect(original.filter((l) => l.table === 'settings').length).toBeGreaterThanOrEqual(3);
    expect(original.filter((l) => l.table === 'resources')).toHaveLength(7);
    expect(original.filter((l) => l.table === 'resource_attributes')).toHaveLength(1);
    expect(linesOf(second)).toEqual(original);
    expect(linesOf(third)).toEqual(original);

    // The restored database serves as the original did, with the same master key.
    const node = await startNode(['--database', middle.url], env);
    try {
      expect((await listing(node)).body).toEqual(sourceListing);
      // A token the original database issued is still valid (the signing key travelled).
      const withToken = await http(
        node.url,
        'GET',
        `/v1/${projectId}/baremetalservers/${bms[0]}/tags`,
        {
          headers: { 'x-auth-token': token },
        },
      );
      expect(withToken.status).toBe(200);
      const defaultTags = await http(
        node.url,
        'GET',
        `/v2/${projectId}/clusters/mrs-${u}/tags/status`,
        { headers: { 'x-auth-token': token } },
      );
      expect(defaultTags.body).toEqual({ status: 'succeed', default_tags_enable: true });
      expect(withToken.body).toEqual({
        tags: [
          { key: 'empty', value: '' },
          { key: 'env', value: 'prod' },
          { key: 'ünï', value: 'ドメイン ✓' },
        ],
      });
      // Password hashes travelled: a user logs in with the password set on the original.
      const login = await http(node.url, 'POST', '/v3/auth/tokens', {
        body: passwordAuth('dev', devPassword),
      });
      expect(login.status).toBe(201);
      // The sealed secret key still opens: an AK/SK-signed request verifies.
      const host = new URL(node.url).host;
      const path = `/v1/${projectId}/baremetalservers/${bms[2]}/tags/action`;
      const body = JSON.stringify({ action: 'create', tags: [{ key: 'signed', value: 'yes' }] });
      const signed = signRequest(
        {
          method: 'POST',
          rawPath: path,
          rawQuery: '',
          headers: { host, 'content-type': 'application/json' },
          body: Buffer.from(body),
        },
        ak,
        sk,
      );
      const res = await fetch(`${node.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-sdk-date': signed.date,
          authorization: signed.authorization,
        },
        body,
      });
      expect(res.status).toBe(204);
      // A resource registered now is the newest: the rid sequence continues after the restored ones.
      const later = await http(
        node.url,
        'PUT',
        `/admin/v1/projects/${projectId}/resources/bms_server/bms-0-${u}`,
        { headers: adminHeaders(), body: {} },
      );
      expect(later.status).toBe(200);
      const after = (await listing(node)).body as { resources: { id: string }[] };
      expect(after.resources[0]!.id).toBe(`bms-0-${u}`);
      const ids = (list: unknown) =>
        (list as { resources: { id: string }[] }).resources.map((r) => r.id);
      expect(ids(after).slice(1)).toEqual(ids(sourceListing));
    } finally {
      await node.stop();
    }
  }, 90_000);

  it('refuses a database that already holds data, and changes nothing', async () => {
    const file = exportFile;
    const target = await newDb();
    expect((await importFrom(target, file)).code).toBe(0);
    const again = await importFrom(target, file);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds data .*import into a new, empty database/);
    const check = join(dir, 'refuse-check.jsonl');
    await exportTo(target, check);
    expect(linesOf(check)).toEqual(linesOf(file));
  }, 60_000);

  it('refuses a truncated export whole, leaving the database empty', async () => {
    const file = exportFile;
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, `${lines.slice(0, -2).join('\n')}\n`);
    const target = await newDb();
    const res = await importFrom(target, cut);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /the export is incomplete or altered: [a-z_]+ \d+ rows, header says \d+/,
    );
    // Nothing stayed: the full export still goes in.
    expect((await importFrom(target, file)).code).toBe(0);
  }, 60_000);

  it('refuses an export sealed under another master key than the one given', async () => {
    const file = exportFile;
    const target = await newDb();
    const res = await importFrom(target, file, { TAGPLANE_MASTER_KEY: newMasterKey() });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/different master key/);
  }, 60_000);

  it('refuses what is not an export, naming the line', async () => {
    const target = await newDb();
    const notExport = join(dir, 'not-export.jsonl');
    writeFileSync(notExport, '{"hello":"world"}\n');
    const a = await importFrom(target, notExport);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/line 1 is not a tagplane export header/);

    const badRow = join(dir, 'bad-row.jsonl');
    const header = readFileSync(exportFile, 'utf8').split('\n')[0];
    writeFileSync(
      badRow,
      `${header}\n{"table":"domains","row":{"id":7,"name":"x","created_at":"t"}}\n`,
    );
    const b = await importFrom(target, badRow);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/line 2: domains\.id must be a string/);

    const missing = await importFrom(target, join(dir, 'no-such-file.jsonl'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such-file\.jsonl/);
  }, 60_000);

  it('export names a SQLite database that does not exist instead of creating it', async () => {
    const path = join(dir, 'missing', 'nothing.db');
    const res = await runCli(['export', '--database', `sqlite:${path}`], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`there is no SQLite database at ${path}`);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});
