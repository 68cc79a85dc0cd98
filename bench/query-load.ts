/**
 * Bulk load of the query benchmark's dataset: the rows the store would hold had every resource
 * been registered and tagged through the API (same tables, same indexes, rids in registration
 * order), written far faster than row by row.
 *
 * - SQLite: batched multi-row inserts in large transactions; the tag-value index is built once
 *   after the rows rather than maintained row by row.
 * - PostgreSQL (query-load-postgres.ts): one `COPY … FROM STDIN` per table, both streamed at once
 *   on two connections. Each table is loaded in one transaction that drops its keys and indexes
 *   (and other tables' foreign keys that reference them), copies the rows (with FREEZE when the
 *   table was empty: the rows are written frozen and all-visible, so no later pass has to set
 *   hint bits or the visibility map that index-only scans need), rebuilds exactly what it
 *   dropped, from the definitions the database reports, and commits — all or nothing. Then
 *   VACUUM ANALYZE gives the planner its statistics.
 */
import BetterSqlite3 from 'better-sqlite3';
import type { DatabaseLocation } from '../src/store/database.js';
import { type BulkSink, RESOURCE_COLUMNS, TAG_COLUMNS } from './bulk-sink.js';
import { progress } from './progress.js';
import { makeResource, prng } from './query-dataset.js';
import { postgresSink } from './query-load-postgres.js';

export interface DatasetShape {
  readonly size: number;
  readonly projectId: string;
  readonly type: string;
  readonly seed: number;
}

/** Resources generated per write. */
const BATCH = 500;

// ---------------------------------------------------------------------------------------------
// SQLite

const SQLITE_KV_INDEX = 'create index tags_kv on tags (project_id, resource_type, key, value, rid)';

function sqliteSink(path: string): BulkSink {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -1000000');
  db.exec('drop index if exists tags_kv');
  // One prepared multi-row insert per row count (all batches but the last are full).
  const statements = new Map<string, BetterSqlite3.Statement>();
  const insert = (table: string, columns: readonly string[], rows: unknown[][]) => {
    const id = `${table}:${rows.length}`;
    let stmt = statements.get(id);
    if (!stmt) {
      const row = `(${Array(columns.length).fill('?').join(',')})`;
      stmt = db.prepare(
        `insert into ${table} (${columns.join(', ')}) values ${Array(rows.length).fill(row).join(',')}`,
      );
      statements.set(id, stmt);
    }
    stmt.run(rows.flat());
  };
  db.exec('begin');
  return {
    async firstRid() {
      const row = db.prepare('select coalesce(max(rid), 0) + 1 as rid from resources').get() as {
        rid: number;
      };
      return row.rid;
    },
    async write(resources, tags) {
      insert('resources', RESOURCE_COLUMNS, resources);
      insert('tags', TAG_COLUMNS, tags);
    },
    async checkpoint() {
      db.exec('commit');
      db.exec('begin');
    },
    async finish() {
      db.exec('commit');
      const p = progress('building the tag index', 1);
      db.exec(SQLITE_KV_INDEX);
      p.done();
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    },
    async abort() {
      if (db.inTransaction) db.exec('rollback');
      db.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------

/** Loads the dataset into a migrated, seeded, otherwise empty store; returns the milliseconds. */
export async function loadDataset(
  location: DatabaseLocation,
  shape: DatasetShape,
): Promise<number> {
  const started = Date.now();
  const sink =
    location.kind === 'sqlite' ? sqliteSink(location.path) : await postgresSink(location.url);
  try {
    const rand = prng(shape.seed);
    const now = new Date().toISOString();
    const first = await sink.firstRid();
    const bar = progress('loading resources', shape.size);
    for (let i = 0; i < shape.size; i += BATCH) {
      const n = Math.min(BATCH, shape.size - i);
      const resources: unknown[][] = [];
      const tags: unknown[][] = [];
      for (let j = 0; j < n; j++) {
        const r = makeResource(i + j, rand);
        const rid = first + i + j;
        resources.push([rid, shape.projectId, shape.type, r.resourceId, r.name, '0', now]);
        for (const [k, v] of r.tags) tags.push([shape.projectId, rid, shape.type, k, v]);
      }
      await sink.write(resources, tags);
      if ((i + n) % 100_000 === 0) await sink.checkpoint();
      bar.tick(i + n);
    }
    bar.done();
    await sink.finish();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  return Date.now() - started;
}
