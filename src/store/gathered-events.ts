import { CompiledQuery, type Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { EventsTable } from './schema.js';

/** An event as its row is inserted (the id and domain are the database's). */
export type NewEventRow = Omit<Selectable<EventsTable>, 'id' | 'domain_id'>;

/*
 * Where the store gathers concurrent writes into one transaction (SQLite's group commit, see
 * transactions.ts), the events those writes append are gathered too and inserted together just
 * before the commit: one statement for the whole group rather than one per write. They are still
 * in the writes' own transaction, so a commit has all of them and a rollback none; their ids are
 * taken at that insert, in the order of the writes, which is the order of the commits.
 *
 * A write that fails is undone to its savepoint, and its events with it. A statement that reads
 * or removes events in the transaction first inserts what has been gathered
 * (`insertGatheredEvents`), so it sees the log as the writes before it left it. Where that
 * happens inside a write that then fails, its savepoint takes back the inserted events of the
 * writes before it too: they are gathered again, to be inserted before the commit.
 */

/** Rows per insert: each count has a statement text of its own, kept by the driver. */
const ROWS_PER_INSERT = 64;

interface Gathering {
  /** Events of the transaction not inserted yet, in the order they were appended. */
  rows: NewEventRow[];
  /** Where the current write's events begin in `rows`. */
  writeStart: number;
  /** Events of earlier writes that the current write inserted: its savepoint would undo them. */
  insertedForEarlier: NewEventRow[];
}

const gatherings = new WeakMap<object, Gathering>();

/** From now until `endGathering`, the events appended on `conn` are gathered. */
export function startGathering(conn: Executor): void {
  gatherings.set(conn, { rows: [], writeStart: 0, insertedForEarlier: [] });
}

/** A write of the group begins on `conn`. */
export function startGatheredWrite(conn: Executor): void {
  const g = gatherings.get(conn);
  if (!g) return;
  g.writeStart = g.rows.length;
  g.insertedForEarlier = [];
}

/** The write that began last has been undone to its savepoint: so are its events. */
export function undoGatheredWrite(conn: Executor): void {
  const g = gatherings.get(conn);
  if (!g) return;
  g.rows = [...g.insertedForEarlier, ...g.rows.slice(0, g.writeStart)];
  g.writeStart = g.rows.length;
  g.insertedForEarlier = [];
}

/** Stops gathering on `conn` (after its commit or rollback); what is left is dropped. */
export function endGathering(conn: Executor): void {
  gatherings.delete(conn);
}

/** Gathers `rows` where `conn` gathers; says whether it does (if not, the caller inserts them). */
export function gatherEvents(conn: Executor, rows: readonly NewEventRow[]): boolean {
  const g = gatherings.get(conn);
  if (!g) return false;
  g.rows.push(...rows);
  return true;
}

/** Inserts the events gathered on `conn` so far, if any (nothing where it does not gather). */
export async function insertGatheredEvents(conn: Executor): Promise<void> {
  const g = gatherings.get(conn);
  if (!g || g.rows.length === 0) return;
  const rows = g.rows;
  g.insertedForEarlier.push(...rows.slice(0, g.writeStart));
  g.rows = [];
  g.writeStart = 0;
  const origins = await originIds(conn, rows);
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const end = Math.min(i + ROWS_PER_INSERT, rows.length);
    const parameters: unknown[] = [];
    for (let j = i; j < end; j++) {
      const r = rows[j]!;
      parameters.push(r.time, origins[j], r.resource_id, r.request_id, r.changes);
    }
    await conn.executeQuery(CompiledQuery.raw(insertSql(end - i), parameters));
  }
}

/*
 * Where the store gathers events (SQLite), the log keeps what an event shares with others of its
 * kind once, in `event_origins` (migration 0017): its domain (the project's), project, resource
 * type, service, operation and principal, and its source address. A missing user or access key
 * is kept as ''.
 */

/** The origin's columns, after its domain. */
const ORIGIN_COLUMNS = [
  'project_id',
  'resource_type',
  'service',
  'operation',
  'principal_type',
  'user_id',
  'user_name',
  'access_key',
  'source_ip',
] as const satisfies readonly (keyof NewEventRow)[];

const DOMAIN = `coalesce((select domain_id from projects where id = ?), '')`;
const FIND_ORIGIN = `select id from event_origins where domain_id = ${DOMAIN} and ${ORIGIN_COLUMNS.map((c) => `${c} = ?`).join(' and ')}`;
const ADD_ORIGIN = `insert into event_origins (domain_id, ${ORIGIN_COLUMNS.join(', ')})
  values (${DOMAIN}, ${ORIGIN_COLUMNS.map(() => '?').join(', ')}) returning id`;

/** The origin id of each of `rows`, in their order; an origin not kept yet is added. */
async function originIds(conn: Executor, rows: readonly NewEventRow[]): Promise<number[]> {
  const byKey = new Map<string, number>();
  const ids: number[] = [];
  for (const r of rows) {
    const values = ORIGIN_COLUMNS.map((c) => r[c] ?? '');
    const key = JSON.stringify(values);
    let id = byKey.get(key);
    if (id === undefined) {
      const parameters = [r.project_id, ...values];
      const found = await conn.executeQuery<{ id: number }>(
        CompiledQuery.raw(FIND_ORIGIN, parameters),
      );
      const row =
        found.rows[0] ??
        (await conn.executeQuery<{ id: number }>(CompiledQuery.raw(ADD_ORIGIN, parameters)))
          .rows[0]!;
      id = row.id;
      byKey.set(key, id);
    }
    ids.push(id);
  }
  return ids;
}

const insertTexts = new Map<number, string>();

/** The insert of `n` events into the log's rows, each with its origin's id. */
function insertSql(n: number): string {
  let text = insertTexts.get(n);
  if (text === undefined) {
    text = `insert into event_rows (time, origin_id, resource_id, request_id, changes) values ${Array(n).fill('(?, ?, ?, ?, ?)').join(', ')}`;
    insertTexts.set(n, text);
  }
  return text;
}
