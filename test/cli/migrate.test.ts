import { afterEach, describe, expect, it } from 'vitest';
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
});
