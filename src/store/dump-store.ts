import { sql } from 'kysely';
import type { Executor, StoreCapabilities } from './database.js';
import { rebuildEventIndex } from './deferred-event-index.js';
import { gatherStatistics } from './resources-store.js';

/**
 * Whole-database copies, table by table, in an order that satisfies every foreign key. The
 * column lists are those of the schema at the latest migration; a migration that changes a
 * table changes its entry here.
 */
export const DUMP_TABLES = [
  'settings',
  'domains',
  'projects',
  'users',
  'access_keys',
  'resources',
  'tags',
  'resource_attributes',
  'events',
] as const;
export type DumpTable = (typeof DUMP_TABLES)[number];

/**
 * The migration that created each table added after the first schema. An export made at an
 * earlier schema has no such table: its header counts none of its rows, and none can be loaded
 * into it before the migration runs.
 */
const TABLE_SINCE: Partial<Record<DumpTable, string>> = {
  resource_attributes: '0006-resource-attributes',
  events: '0009-change-log',
};

/** The tables a database at migration `schema` has, in dump order. */
export function tablesAt(schema: string): DumpTable[] {
  return DUMP_TABLES.filter((t) => {
    const since = TABLE_SINCE[t];
    return since === undefined || since <= schema;
  });
}

export type ColumnType = 'text' | 'text?' | 'integer';
export type DumpRow = Record<string, string | number | null>;

export const DUMP_COLUMNS: Record<DumpTable, Readonly<Record<string, ColumnType>>> = {
  settings: { name: 'text', value: 'text' },
  domains: { id: 'text', name: 'text', created_at: 'text' },
  projects: { id: 'text', domain_id: 'text', name: 'text', created_at: 'text' },
  users: {
    id: 'text',
    domain_id: 'text',
    name: 'text',
    is_root: 'integer',
    password_hash: 'text?',
    policies: 'text',
    created_at: 'text',
    token_epoch: 'text',
  },
  access_keys: {
    access_key: 'text',
    user_id: 'text',
    secret_ciphertext: 'text',
    created_at: 'text',
  },
  resources: {
    rid: 'integer',
    project_id: 'text',
    resource_type: 'text',
    resource_id: 'text',
    name: 'text',
    enterprise_project_id: 'text',
    created_at: 'text',
  },
  tags: { project_id: 'text', rid: 'integer', resource_type: 'text', key: 'text', value: 'text' },
  resource_attributes: { project_id: 'text', rid: 'integer', name: 'text', value: 'text' },
  events: {
    id: 'integer',
    time: 'text',
    domain_id: 'text',
    project_id: 'text',
    resource_type: 'text',
    resource_id: 'text',
    service: 'text',
    operation: 'text',
    principal_type: 'text',
    user_id: 'text?',
    user_name: 'text?',
    access_key: 'text?',
    source_ip: 'text',
    request_id: 'text',
    changes: 'text',
  },
};

/**
 * Columns added to a table after it was created, with the migration that added them: a row of an
 * export made before has none (the migration gives the rows it finds their value).
 */
const COLUMN_SINCE: Partial<Record<DumpTable, Readonly<Record<string, string>>>> = {
  users: { token_epoch: '0008-token-grounds' },
};

/** The columns `table` has at migration `schema`, in dump order. */
export function columnsAt(table: DumpTable, schema: string): string[] {
  return Object.keys(DUMP_COLUMNS[table]).filter((c) => {
    const since = COLUMN_SINCE[table]?.[c];
    return since === undefined || since <= schema;
  });
}

/** Each table's read order and the cursor between batches: a unique key with an index. */
const KEYS: Record<DumpTable, readonly string[]> = {
  settings: ['name'],
  domains: ['id'],
  projects: ['id'],
  users: ['id'],
  access_keys: ['access_key'],
  // An index both stores have (rids travel as they are, so listings keep their order).
  resources: ['project_id', 'resource_type', 'rid'],
  tags: ['project_id', 'rid', 'key'],
  resource_attributes: ['project_id', 'rid', 'name'],
  events: ['id'],
};

const refs = (cols: readonly string[]) => sql.join(cols.map((c) => sql.ref(c)));

export async function countRows(ex: Executor, table: DumpTable): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(
    table,
  )}`.execute(ex);
  return Number(rows[0]?.n ?? 0);
}

/** The next `limit` rows of `table` after the row `after` (in primary-key order). */
export async function readRows(
  ex: Executor,
  table: DumpTable,
  after: DumpRow | undefined,
  limit: number,
): Promise<DumpRow[]> {
  const cols = Object.keys(DUMP_COLUMNS[table]);
  const keys = KEYS[table];
  const where = after
    ? sql`where (${refs(keys)}) > (${sql.join(keys.map((k) => after[k]))})`
    : sql``;
  const { rows } = await sql<DumpRow>`select ${refs(cols)} from ${sql.table(table)} ${where}
    order by ${refs(keys)} limit ${limit}`.execute(ex);
  return rows;
}

/** Inserts rows of an export made at `schema` as they are, explicit `rid`s included. */
export async function insertRows(
  ex: Executor,
  table: DumpTable,
  rows: readonly DumpRow[],
  schema: string,
): Promise<void> {
  if (rows.length === 0) return;
  const cols = columnsAt(table, schema);
  const values = rows.map((r) => sql`(${sql.join(cols.map((c) => r[c]))})`);
  await sql`insert into ${sql.table(table)} (${refs(cols)}) values ${sql.join(values)}`.execute(ex);
}

/**
 * The migration from which SQLite's log has all its indexes beside it (0014 added the one by
 * resource; 0015, by project and by time, starts them all over from the mark at 0).
 */
const EVENT_INDEX_SINCE = '0015-event-project-time-index';

/** The migration from which PostgreSQL's event ids start at a base (0009 had a sequence). */
const EVENT_ID_BASE_SINCE = '0013-transaction-event-ids';

/**
 * After a restore into a database at migration `schema`: the next registration gets a larger
 * `rid` than any inserted explicitly, the next event a larger id, the change log's indexes
 * hold the restored events (where they are kept apart from the log, and the schema has them all;
 * before, the migration that adds them starts them from the mark at 0), and the planner has statistics of the
 * rows restored.
 */
export async function afterRestore(
  ex: Executor,
  caps: StoreCapabilities,
  schema: string,
): Promise<void> {
  if (caps.ridSequence) {
    await sql`select setval(pg_get_serial_sequence('resources', 'rid'),
      coalesce((select max(rid) from resources), 0) + 1, false)`.execute(ex);
  }
  if (caps.eventHorizon && tablesAt(schema).includes('events')) {
    // The restored ids were made on another server, whose transaction ids say nothing of this
    // one's: the base moves past them (migration 0013). Before 0013, the log's own sequence
    // (0009) is moved, and 0013 starts its base past the ids present when it runs.
    if (schema >= EVENT_ID_BASE_SINCE) {
      await sql`select tagplane_event_rebase()`.execute(ex);
    } else {
      await sql`select setval('events_id_seq',
        coalesce((select max(id) from events), 0) + 1, false)`.execute(ex);
    }
  }
  if (caps.deferredEventIndex && schema >= EVENT_INDEX_SINCE) {
    await rebuildEventIndex(ex);
  }
  // The restored rows are not to be queried with the statistics of empty tables.
  await gatherStatistics(ex, caps);
}
