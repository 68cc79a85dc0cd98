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

/** The columns a gathered event fills, in the order of the insert's parameters. */
const COLUMNS = [
  'time',
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
] as const satisfies readonly (keyof NewEventRow)[];

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
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT);
    const parameters: unknown[] = [];
    for (const r of chunk) {
      for (const c of COLUMNS) parameters.push(r[c]);
      parameters.push(r.project_id);
    }
    await conn.executeQuery(CompiledQuery.raw(insertSql(chunk.length), parameters));
  }
}

const insertTexts = new Map<number, string>();

/** The insert of `n` events, each with its project's domain (looked up by the statement). */
function insertSql(n: number): string {
  let text = insertTexts.get(n);
  if (text === undefined) {
    const row = `(${COLUMNS.map(() => '?').join(', ')}, coalesce((select domain_id from projects where id = ?), ''))`;
    text = `insert into events (${COLUMNS.join(', ')}, domain_id) values ${Array(n).fill(row).join(', ')}`;
    insertTexts.set(n, text);
  }
  return text;
}
