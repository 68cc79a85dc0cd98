import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { readEvents, tagsAsOf } from '../../src/admin/events.js';
import { parseDatabaseUrl, Store } from '../../src/store/database.js';
import { migrations } from '../../src/store/migrations/index.js';
import { newMasterKey, startNode } from '../support/nodes.js';
import { runCli } from '../support/process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-store.js';

/** Migrations run on their own (`tagplane migrate`) for rolling deploys, on either store. */
const known = Object.keys(migrations('sqlite')).sort();
const latest = known[known.length - 1]!;

describe('tagplane migrate', () => {
  const env = { TAGPLANE_MASTER_KEY: newMasterKey() };
  const dbs: TestDatabase[] = [];
  const newDb = async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    return db;
  };
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.drop();
  });

  it('brings a new database to the current schema, and then has nothing to do', async () => {
    const db = await newDb();
    const first = await runCli(['migrate', '--database', db.url], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`: ${known.length} migration\\(s\\) applied; schema at ${latest}\n$`),
    );
    const again = await runCli(['migrate', '--database', db.url], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      new RegExp(`: 0 migration\\(s\\) applied; schema at ${latest}\n$`),
    );
  });

  it('serve --no-migrate (TAGPLANE_MIGRATE=0) refuses a database with migrations pending, and starts once they ran', async () => {
    const db = await newDb();
    await expect(startNode(['--database', db.url, '--no-migrate'], env)).rejects.toThrow(
      `the database schema is behind this version of tagplane (pending: ${known.join(', ')}); run \`tagplane migrate\` first`,
    );
    await expect(
      startNode(['--database', db.url], { ...env, TAGPLANE_MIGRATE: '0' }),
    ).rejects.toThrow('run `tagplane migrate` first');
    expect((await runCli(['migrate', '--database', db.url], env)).code).toBe(0);
    const node = await startNode(['--database', db.url, '--no-migrate'], env);
    await node.stop();
  });

  it('every command refuses a schema newer than this version knows', async () => {
    const db = await newDb();
    expect((await runCli(['migrate', '--database', db.url], env)).code).toBe(0);
    // What a newer tagplane leaves behind: a migration this version has never heard of.
    const store = Store.open(parseDatabaseUrl(db.url));
    try {
      await store.db
        .insertInto('kysely_migration' as never)
        .values({ name: '9999-from-the-future', timestamp: new Date().toISOString() } as never)
        .execute();
    } finally {
      await store.close();
    }
    const newer =
      /the database schema is newer than this version of tagplane knows \(unknown migrations: 9999-from-the-future\); upgrade tagplane/;

    const migrate = await runCli(['migrate', '--database', db.url], env);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toMatch(newer);
    await expect(startNode(['--database', db.url], env)).rejects.toThrow(newer);
    await expect(startNode(['--database', db.url, '--no-migrate'], env)).rejects.toThrow(newer);
    const exported = await runCli(['export', '--database', db.url], env);
    expect(exported.code).toBe(1);
    expect(exported.stderr).toMatch(/schema is newer than this version of tagplane knows/);
    expect(exported.stdout).toBe('');
  });

  it('0012 makes project names unique in a domain, and refuses a database that has two', async () => {
    const db = await newDb();
    const store = Store.open(parseDatabaseUrl(db.url));
    try {
      await store.migrate('0010-faults');
      const now = new Date().toISOString();
      await store.db
        .insertInto('domains')
        .values({ id: 'd-1', name: 'one', created_at: now })
        .execute();
      const project = (id: string, name: string) =>
        store.db
          .insertInto('projects')
          .values({ id, name, domain_id: 'd-1', created_at: now })
          .execute();
      await project('p-1', 'eu-de');
      await project('p-2', 'eu-de');
      await expect(store.migrate()).rejects.toThrow("'eu-de' in domain 'd-1'");
      expect(await store.executedMigrations()).not.toContain('0012-project-names');

      await store.db
        .updateTable('projects')
        .set({ name: 'eu-nl' })
        .where('id', '=', 'p-2')
        .execute();
      await store.migrate();
      await expect(project('p-3', 'eu-nl')).rejects.toThrow();
      await project('p-3', 'eu-fr');
    } finally {
      await store.close();
    }
  });

  it('0014 and 0015 keep the history of a database that holds events: reads by resource, project and time answer before and after the indexes catch up', async () => {
    const db = await newDb();
    const store = Store.open(parseDatabaseUrl(db.url), { backgroundEventIndex: false });
    try {
      await store.migrate('0012-project-names');
      const now = new Date().toISOString();
      await store.db
        .insertInto('domains')
        .values({ id: 'd-1', name: 'one', created_at: now })
        .execute();
      await store.db
        .insertInto('projects')
        .values({ id: 'p-1', name: 'eu-de', domain_id: 'd-1', created_at: now })
        .execute();
      const event = (resourceId: string, key: string, old: string | null, value: string | null) =>
        store.db
          .insertInto('events')
          .values({
            time: now,
            domain_id: 'd-1',
            project_id: 'p-1',
            resource_type: 'bms_server',
            resource_id: resourceId,
            service: 'admin',
            operation: 'op',
            principal_type: 'admin',
            user_id: null,
            user_name: null,
            access_key: null,
            source_ip: '127.0.0.1',
            request_id: 'r',
            changes: JSON.stringify([{ key, old, new: value }]),
          })
          .execute();
      await event('s-1', 'a', null, '1');
      await event('s-2', 'a', null, 'x');
      await event('s-1', 'a', '1', '2');
      await event('s-1', 'b', null, '3');
      // Its tags today, as those events left them.
      await store.db
        .insertInto('resources')
        .values({
          project_id: 'p-1',
          resource_type: 'bms_server',
          resource_id: 's-1',
          name: '',
          enterprise_project_id: '0',
          created_at: now,
        })
        .execute();
      const { rid } = await store.db
        .selectFrom('resources')
        .select('rid')
        .where('resource_id', '=', 's-1')
        .executeTakeFirstOrThrow();
      for (const [key, value] of [
        ['a', '2'],
        ['b', '3'],
      ] as const) {
        await store.db
          .insertInto('tags')
          .values({ project_id: 'p-1', rid: Number(rid), resource_type: 'bms_server', key, value })
          .execute();
      }
      await store.migrate();
      // A process of the previous version still running during a rolling upgrade indexes by
      // resource only, and moves 0014's mark past what it indexed: reads must not rely on it.
      if (store.caps.deferredEventIndex) {
        await sql`insert or ignore into event_resource_index (resource_key, event_id)
          select 0, id from events`.execute(store.db);
        await sql`update event_index_mark set indexed_through = 4`.execute(store.db);
      }

      const filter = { projectId: 'p-1', resourceType: 'bms_server', resourceId: 's-1' };
      const ids = async (f: Parameters<typeof readEvents>[1]) =>
        (await readEvents(store, f, 'desc', 100)).events.map((e) => e.id);
      const read = async () => ({
        events: (await readEvents(store, filter, 'desc', 100)).events.map((e) => e.changes),
        asOf: await tagsAsOf(store, 'p-1', 'bms_server', 's-1', { id: 3 }),
        project: await ids({ projectId: 'p-1' }),
        time: await ids({ from: now, to: now }),
      });
      const expected = {
        events: [
          [{ key: 'b', old: null, new: '3' }],
          [{ key: 'a', old: '1', new: '2' }],
          [{ key: 'a', old: null, new: '1' }],
        ],
        asOf: { tags: [{ key: 'a', value: '2' }], asOfEvent: '3' },
        project: ['4', '3', '2', '1'],
        time: ['4', '3', '2', '1'],
      };
      expect(await read()).toEqual(expected);
      expect(await store.indexEvents()).toBe(store.caps.deferredEventIndex ? 4 : 0);
      expect(await read()).toEqual(expected);
    } finally {
      await store.close();
    }
  });
  it('0017 keeps every event as it reads, and ids go on past the largest ever given', async () => {
    const db = await newDb();
    const store = Store.open(parseDatabaseUrl(db.url), { backgroundEventIndex: false });
    try {
      await store.migrate('0016-event-time-brin');
      const now = new Date().toISOString();
      await store.db
        .insertInto('domains')
        .values([
          { id: 'd-1', name: 'one', created_at: now },
          { id: 'd-2', name: 'two', created_at: now },
        ])
        .execute();
      await store.db
        .insertInto('projects')
        .values([
          { id: 'p-1', name: 'eu-de', domain_id: 'd-1', created_at: now },
          { id: 'p-2', name: 'eu-de', domain_id: 'd-2', created_at: now },
        ])
        .execute();
      const principals = [
        { principal_type: 'admin', user_id: null, user_name: null, access_key: null },
        { principal_type: 'token', user_id: 'u-1', user_name: 'alice', access_key: null },
        { principal_type: 'aksk', user_id: 'u-1', user_name: 'alice', access_key: 'AK1' },
      ];
      for (let i = 0; i < 9; i++) {
        await store.db
          .insertInto('events')
          .values({
            time: new Date(Date.parse(now) + i).toISOString(),
            domain_id: i % 2 === 0 ? 'd-1' : 'd-2',
            project_id: i % 2 === 0 ? 'p-1' : 'p-2',
            resource_type: i % 3 === 0 ? 'bms_server' : 'as_group',
            resource_id: `r-${i % 4}`,
            service: i % 3 === 0 ? 'bms' : 'as',
            operation: 'batch_create_tags',
            ...principals[i % 3]!,
            source_ip: i < 5 ? '127.0.0.1' : '10.0.0.7',
            request_id: `req-${i}`,
            changes: JSON.stringify([{ key: `k${i}`, old: null, new: `v${i}` }]),
          })
          .execute();
      }
      // The newest is pruned: its id is never given again.
      const newest = await store.db
        .selectFrom('events')
        .select((eb) => eb.fn.max('id').as('id'))
        .executeTakeFirstOrThrow();
      await store.db.deleteFrom('events').where('id', '=', newest.id).execute();
      // The event's own columns (PostgreSQL also keeps its per-resource index key, since 0019).
      const columns = [
        'id',
        'time',
        'domain_id',
        'project_id',
        'resource_type',
        'resource_id',
        'service',
        'operation',
        'principal_type',
        'user_id',
        'user_name',
        'access_key',
        'source_ip',
        'request_id',
        'changes',
      ] as const;
      const all = () => store.db.selectFrom('events').select(columns).orderBy('id').execute();
      const before = await all();
      expect(before).toHaveLength(8);

      await store.migrate();
      expect(await all()).toEqual(before);
      const read = await readEvents(store, { projectId: 'p-2', userId: 'u-1' }, 'asc', 100);
      expect(read.events.map((e) => e.request_id)).toEqual(
        before
          .filter((e) => e.project_id === 'p-2' && e.user_id === 'u-1')
          .map((e) => e.request_id),
      );

      await store.db
        .insertInto('events')
        .values({ ...before[0]!, id: undefined, request_id: 'after' })
        .execute();
      const added = await store.db
        .selectFrom('events')
        .select(columns)
        .where('request_id', '=', 'after')
        .executeTakeFirstOrThrow();
      expect(Number(added.id)).toBeGreaterThan(Number(newest.id));
      expect({ ...added, id: before[0]!.id, request_id: before[0]!.request_id }).toEqual(before[0]);
      await store.db.deleteFrom('events').where('project_id', '=', 'p-1').execute();
      expect((await all()).map((e) => e.project_id)).toEqual(['p-2', 'p-2', 'p-2', 'p-2']);
    } finally {
      await store.close();
    }
  });
});
