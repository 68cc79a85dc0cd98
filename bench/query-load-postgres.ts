/**
 * The query benchmark's bulk load into PostgreSQL (see query-load.ts): one `COPY … FROM STDIN`
 * per table, both streamed at once on two connections, each table in one transaction that drops
 * its keys and indexes, copies the rows and rebuilds exactly what it dropped.
 */
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type BulkSink, RESOURCE_COLUMNS, TAG_COLUMNS } from './bulk-sink.js';
import { progress } from './progress.js';

/** A key, unique constraint, foreign key or plain index, as the database defines it. */
interface IndexDefinition {
  readonly name: string;
  /**
   * The table it is defined on: the loaded table, or for a foreign key that references the
   * loaded table's key, the referencing table.
   */
  readonly table: string;
  /** Constraint kind (`p`, `u`, `f`, `x`), or undefined for a plain index. */
  readonly constraint?: string;
  /** `CREATE INDEX …`, or the constraint's definition (`PRIMARY KEY (…)`). */
  readonly definition: string;
}

/**
 * What a load drops and rebuilds: the table's keys, constraints and indexes, and the foreign keys
 * of other tables that reference its keys (`resource_attributes` → `resources`), which depend on
 * the key they reference and would keep it from being dropped.
 */
async function indexDefinitions(client: pg.Client, table: string): Promise<IndexDefinition[]> {
  const constraints = await client.query<{
    name: string;
    table: string;
    kind: string;
    definition: string;
  }>(
    `select conname as name, conrelid::regclass::text as table, contype as kind,
            pg_get_constraintdef(oid) as definition
       from pg_constraint
      where (conrelid = $1::regclass and contype in ('p', 'u', 'f', 'x'))
         or (confrelid = $1::regclass and conrelid <> confrelid and contype = 'f')`,
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
      table: r.table,
      constraint: r.kind,
      definition: r.definition,
    })),
    ...indexes.rows.map((r) => ({ ...r, table })),
  ];
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Drop order: foreign keys (the table's own and those referencing it), then keys, then plain
 * indexes. Rebuilt in the reverse order, so a key is back before a foreign key needs it.
 */
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
  try {
    const pid = Number((await client.query('select pg_backend_pid() as pid')).rows[0].pid);
    // Index builds sort the whole table: with room to do it in memory, and parallel workers.
    await client.query("set maintenance_work_mem = '512MB'");
    await client.query('begin');
    await client.query(`lock table ${table} in access exclusive mode`);
    const dropped = (await indexDefinitions(client, table)).sort(
      (a, b) => dropRank(a) - dropRank(b),
    );
    for (const d of dropped) {
      await client.query(
        d.constraint !== undefined
          ? `alter table ${d.table} drop constraint ${ident(d.name)}`
          : `drop index ${ident(d.name)}`,
      );
    }
    // FREEZE needs a table truncated in this transaction; only an empty one is truncated.
    const empty = (await client.query(`select not exists (select 1 from ${table}) as empty`))
      .rows[0].empty as boolean;
    if (empty) await client.query(`truncate ${table}`);
    const copy = client.query(
      copyFrom(`copy ${table} (${columns.join(', ')}) from stdin${empty ? ' with (freeze)' : ''}`),
    );
    return { table, client, pid, dropped, copy, rows: 0 };
  } catch (err) {
    // Not yet a load its caller could abort: roll back and close here, so the error is the one
    // reported (a connection left open would die later with a database dropped under it).
    await client.query('rollback').catch(() => {});
    await client.end().catch(() => {});
    throw err;
  }
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

export async function postgresSink(url: string): Promise<BulkSink> {
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
                  ? `alter table ${d.table} add constraint ${ident(d.name)} ${d.definition}`
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
