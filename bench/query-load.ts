/**
 * Bulk load of the query benchmark's dataset: the rows the store would hold had every resource
 * been registered and tagged through the API (same tables, same indexes, rids in registration
 * order), written far faster than row by row.
 *
 * - SQLite: batched multi-row inserts in large transactions; the tag-value index is built once
 *   after the rows rather than maintained row by row.
 * - PostgreSQL: one `COPY … FROM STDIN` per table, both streamed at once on two connections. Each
 *   table is loaded in one transaction that drops its keys and indexes, copies the rows (with
 *   FREEZE when the table was empty: the rows are written frozen and all-visible, so no later pass
 *   has to set hint bits or the visibility map that index-only scans need), rebuilds exactly the
 *   keys and indexes it dropped, from their definitions as the database reports them, and commits
 *   — all or nothing. Then VACUUM ANALYZE gives the planner its statistics.
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DatabaseLocation } from '../src/store/database.js';
import { progress } from './progress.js';
import { makeResource, prng } from './query-dataset.js';

export interface DatasetShape {
  readonly size: number;
  readonly projectId: string;
  readonly type: string;
  readonly seed: number;
}

/** Resources generated per write. */
const BATCH = 500;

const RESOURCE_COLUMNS = [
  'rid',
  'project_id',
  'resource_type',
  'resource_id',
  'name',
  'enterprise_project_id',
  'created_at',
] as const;
const TAG_COLUMNS = ['project_id', 'rid', 'resource_type', 'key', 'value'] as const;

interface BulkSink {
  firstRid(): Promise<number>;
  write(resources: unknown[][], tags: unknown[][]): Promise<void>;
  /** Called every 100,000 resources. */
  checkpoint(): Promise<void>;
  /** Everything after the rows: indexes, statistics. Draws its own progress. */
  finish(): Promise<void>;
  /** Gives up: rolls back what is not committed and closes connections. */
  abort(): Promise<void>;
}

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
// PostgreSQL

/** A key, unique constraint, foreign key or plain index, as the database defines it. */
interface IndexDefinition {
  readonly name: string;
  /** Constraint kind (`p`, `u`, `f`, `x`), or undefined for a plain index. */
  readonly constraint?: string;
  /** `CREATE INDEX …`, or the constraint's definition (`PRIMARY KEY (…)`). */
  readonly definition: string;
}

async function indexDefinitions(client: pg.Client, table: string): Promise<IndexDefinition[]> {
  const constraints = await client.query<{ name: string; kind: string; definition: string }>(
    `select conname as name, contype as kind, pg_get_constraintdef(oid) as definition
       from pg_constraint where conrelid = $1::regclass and contype in ('p', 'u', 'f', 'x')`,
    [table],
  );
  const indexes = await client.query<{ name: string; definition: string }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i
      where i.indrelid = $1::regclass
        and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid and c.conrelid = i.indrelid)`,
    [table],
  );
  return [
    ...constraints.rows.map((r) => ({
      name: r.name,
      constraint: r.kind,
      definition: r.definition,
    })),
    ...indexes.rows,
  ];
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Drop order: foreign keys, then keys, then plain indexes. Rebuilt in the reverse order. */
const dropRank = (d: IndexDefinition) =>
  d.constraint === 'f' ? 0 : d.constraint !== undefined ? 1 : 2;

/** COPY's text format: tab-separated, `\N` for null, backslash escapes. */
function copyLine(row: readonly unknown[]): string {
  return `${row
    .map((v) =>
      v === null || v === undefined
        ? '\\N'
        : String(v).replace(
            /[\\\t\n\r]/g,
            (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!,
          ),
    )
    .join('\t')}\n`;
}

/** One table's load: its own connection and transaction, its rows streamed through COPY. */
interface TableLoad {
  readonly table: string;
  readonly client: pg.Client;
  /** The server process of the connection, as progress views name it. */
  readonly pid: number;
  readonly dropped: IndexDefinition[];
  readonly copy: ReturnType<typeof copyFrom>;
  rows: number;
}

async function beginTableLoad(
  url: string,
  table: string,
  columns: readonly string[],
): Promise<TableLoad> {
  const client = new pg.Client({ connectionString: url, application_name: 'tagplane-bench' });
  await client.connect();
  const pid = Number((await client.query('select pg_backend_pid() as pid')).rows[0].pid);
  // Index builds sort the whole table: with room to do it in memory, and parallel workers.
  await client.query("set maintenance_work_mem = '512MB'");
  await client.query('begin');
  await client.query(`lock table ${table} in access exclusive mode`);
  const dropped = (await indexDefinitions(client, table)).sort((a, b) => dropRank(a) - dropRank(b));
  for (const d of dropped) {
    await client.query(
      d.constraint !== undefined
        ? `alter table ${table} drop constraint ${ident(d.name)}`
        : `drop index ${ident(d.name)}`,
    );
  }
  // FREEZE needs a table truncated in this transaction; only an empty one is truncated.
  const empty = (await client.query(`select not exists (select 1 from ${table}) as empty`)).rows[0]
    .empty as boolean;
  if (empty) await client.query(`truncate ${table}`);
  const copy = client.query(
    copyFrom(`copy ${table} (${columns.join(', ')}) from stdin${empty ? ' with (freeze)' : ''}`),
  );
  return { table, client, pid, dropped, copy, rows: 0 };
}

async function writeRows(load: TableLoad, rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  load.rows += rows.length;
  if (!load.copy.write(rows.map(copyLine).join(''))) await once(load.copy, 'drain');
}

/**
 * Polls PostgreSQL's progress of the index builds the loads' connections run, reporting the
 * fraction of each done: scanning the table is the first half, sorting a tenth, loading the
 * sorted entries into the tree the rest.
 */
async function watchIndexBuilds(
  url: string,
  loads: readonly TableLoad[],
  report: (load: TableLoad, fraction: number) => void,
): Promise<{ stop(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'tagplane-bench' });
  await client.connect();
  const byPid = new Map(loads.map((l) => [l.pid, l]));
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      const { rows } = await client.query<{
        pid: number;
        phase: string;
        blocks_total: string;
        blocks_done: string;
        tuples_total: string;
        tuples_done: string;
      }>(
        'select pid, phase, blocks_total, blocks_done, tuples_total, tuples_done from pg_stat_progress_create_index where pid = any($1)',
        [[...byPid.keys()]],
      );
      for (const r of rows) {
        const ratio = (a: string, b: string) => (Number(b) > 0 ? Number(a) / Number(b) : 0);
        const fraction = r.phase.includes('scanning table')
          ? 0.5 * ratio(r.blocks_done, r.blocks_total)
          : r.phase.includes('sorting')
            ? 0.5
            : r.phase.includes('loading tuples')
              ? 0.6 + 0.4 * ratio(r.tuples_done, r.tuples_total)
              : 0;
        report(byPid.get(Number(r.pid))!, fraction);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  // Progress is a nicety: a failed poll ends the polling, not the load.
  const polling = poll().catch(() => {});
  return {
    async stop() {
      stopped = true;
      await polling;
      await client.end();
    },
  };
}

async function postgresSink(url: string): Promise<BulkSink> {
  const first = new pg.Client({ connectionString: url });
  await first.connect();
  const firstRid = Number(
    (await first.query('select coalesce(max(rid), 0) + 1 as rid from resources')).rows[0].rid,
  );
  await first.end();

  const loads: TableLoad[] = [];
  const abort = async () => {
    for (const l of loads) {
      l.copy.destroy();
      await l.client.query('rollback').catch(() => {});
      await l.client.end().catch(() => {});
    }
  };
  try {
    loads.push(await beginTableLoad(url, 'resources', RESOURCE_COLUMNS));
    loads.push(await beginTableLoad(url, 'tags', TAG_COLUMNS));
  } catch (err) {
    await abort();
    throw err;
  }
  const [resources, tags] = loads as [TableLoad, TableLoad];

  return {
    async firstRid() {
      return firstRid;
    },
    async write(resourceRows, tagRows) {
      await Promise.all([writeRows(resources, resourceRows), writeRows(tags, tagRows)]);
    },
    async checkpoint() {},
    async finish() {
      for (const l of loads) l.copy.end();
      await Promise.all(loads.map((l) => finished(l.copy)));
      // Rebuild each table's keys and indexes (both tables at once), then commit. The bar counts
      // index entries: each key or index weighs its table's rows, VACUUM ANALYZE a tenth.
      const weight = (l: TableLoad) => l.dropped.length * l.rows + Math.ceil(l.rows / 10);
      const bar = progress(
        'building indexes',
        loads.reduce((n, l) => n + weight(l), 0),
      );
      let done = 0;
      const current = new Map<TableLoad, { step: string; weight: number; fraction: number }>();
      const draw = () => {
        let partial = 0;
        for (const c of current.values()) partial += c.weight * c.fraction;
        bar.tick(Math.round(done + partial), [...current.values()].map((c) => c.step).join(', '));
      };
      const watch = await watchIndexBuilds(url, loads, (load, fraction) => {
        const c = current.get(load);
        if (c) c.fraction = fraction;
        draw();
      });
      try {
        await Promise.all(
          loads.map(async (l) => {
            const step = async (name: string, stepWeight: number, statement: string) => {
              current.set(l, { step: name, weight: stepWeight, fraction: 0 });
              draw();
              await l.client.query(statement);
              current.delete(l);
              done += stepWeight;
              draw();
            };
            for (const d of [...l.dropped].reverse()) {
              await step(
                d.name,
                l.rows,
                d.constraint !== undefined
                  ? `alter table ${l.table} add constraint ${ident(d.name)} ${d.definition}`
                  : d.definition,
              );
            }
            await l.client.query('commit');
            // Statistics for the planner; the visibility map for index-only scans, where FREEZE
            // did not already set it.
            await step(
              `vacuum analyze ${l.table}`,
              Math.ceil(l.rows / 10),
              `vacuum analyze ${l.table}`,
            );
          }),
        );
      } finally {
        await watch.stop();
      }
      bar.done();
      // rids were given explicitly: move the identity past them, as a restore does.
      await resources.client.query(
        "select setval(pg_get_serial_sequence('resources', 'rid'), (select max(rid) from resources))",
      );
      for (const l of loads) await l.client.end();
    },
    abort,
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
