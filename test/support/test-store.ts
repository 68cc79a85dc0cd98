import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseDatabaseUrl, Store, type StoreOptions } from '../../src/store/database.js';

/**
 * Which database the store-dependent tests run on. The Vitest config runs them once per store:
 * TAGPLANE_TEST_STORE=sqlite (a temporary file) and, when TAGPLANE_TEST_DATABASE_URL names a
 * PostgreSQL server, TAGPLANE_TEST_STORE=postgres (a database of its own on that server).
 */
export type TestStoreKind = 'sqlite' | 'postgres';

export function testStoreKind(): TestStoreKind {
  const kind = process.env.TAGPLANE_TEST_STORE ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'postgres') {
    throw new Error(`TAGPLANE_TEST_STORE='${kind}': use sqlite or postgres`);
  }
  return kind;
}

/** The PostgreSQL server the tests may create databases on. */
export function testServerUrl(): string {
  const url = process.env.TAGPLANE_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      'TAGPLANE_TEST_DATABASE_URL is not set: PostgreSQL tests need a server to create databases on (e.g. postgres://postgres@127.0.0.1:5432/postgres)',
    );
  }
  return url;
}

/** A new, empty database; `drop()` removes it with everything in it. */
export interface TestDatabase {
  readonly kind: TestStoreKind;
  /** What `--database` takes. */
  readonly url: string;
  drop(): Promise<void>;
}

/** Databases made in this test file and not dropped yet (see drop-leftovers.ts). */
const open = new Set<TestDatabase>();

/** Drops every database this test file made and did not drop itself. */
export async function dropLeftovers(): Promise<void> {
  for (const db of [...open]) await db.drop();
}

function track(db: TestDatabase): TestDatabase {
  const drop = db.drop;
  const tracked: TestDatabase = {
    ...db,
    async drop() {
      open.delete(tracked);
      await drop();
    },
  };
  open.add(tracked);
  return tracked;
}

/** Runs statements on the server's maintenance database. */
async function onServer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A fresh PostgreSQL database `tagplane_t_<random>` on the server at `serverUrl`. */
export async function createPostgresDatabase(serverUrl = testServerUrl()): Promise<TestDatabase> {
  const name = `tagplane_t_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, `create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return track({
    kind: 'postgres',
    url: url.toString(),
    drop: () => onServer(serverUrl, `drop database if exists ${name} with (force)`),
  });
}

/** A SQLite file in a new temporary directory. */
export function createSqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'tagplane-test-'));
  return track({
    kind: 'sqlite',
    url: `sqlite:${join(dir, 'test.db')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  });
}

/** A new empty database of the kind this run tests. */
export function createTestDatabase(kind = testStoreKind()): Promise<TestDatabase> {
  return kind === 'postgres' ? createPostgresDatabase() : Promise.resolve(createSqliteDatabase());
}

/** A freshly migrated store on a database of its own; `close()` closes it and drops the database. */
export interface TestStore {
  readonly store: Store;
  readonly database: TestDatabase;
  close(): Promise<void>;
}

/**
 * TAGPLANE_TEST_READ_THREADS=N runs every harness's expensive reads on N read threads (SQLite
 * files), to check a run of the suite against them; by default they run on the test's thread.
 */
function defaultOptions(): StoreOptions {
  const threads = Number(process.env.TAGPLANE_TEST_READ_THREADS ?? 0);
  return { poolSize: 4, ...(threads > 0 ? { readThreads: threads } : {}) };
}

export async function openTestStore(
  kind = testStoreKind(),
  options: StoreOptions = {},
): Promise<TestStore> {
  const database = await createTestDatabase(kind);
  const store = Store.open(parseDatabaseUrl(database.url), { ...defaultOptions(), ...options });
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    await database.drop();
    throw err;
  }
  return {
    store,
    database,
    async close() {
      await store.close();
      await database.drop();
    },
  };
}

/**
 * A store on a database another test made and migrated (a second node of it); closing it closes
 * the store and leaves the database to its owner.
 */
export function attachTestStore(url: string, options: StoreOptions = {}): TestStore {
  const location = parseDatabaseUrl(url);
  const store = Store.open(location, { ...defaultOptions(), ...options });
  return {
    store,
    database: { kind: location.kind, url, drop: async () => {} },
    close: () => store.close(),
  };
}
