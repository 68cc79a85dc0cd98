import { CompiledQuery, type Selectable } from 'kysely';
import type { Executor } from './executor.js';
import type { EventsTable } from './schema.js';

/** An event as its row is inserted (the id, domain and resource key are the database's). */
export type NewEventRow = Omit<Selectable<EventsTable>, 'id' | 'domain_id' | 'resource_key'>;

/**
 * A row of the change log as read back (the table's own type, so the two cannot drift), without
 * the key of PostgreSQL's per-resource index, which is no part of the event.
 */
export type EventRow = Omit<Selectable<EventsTable>, 'resource_key'>;

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
  /**
   * The transaction's events as inserted, with their ids and domains, while all of them are
   * inserted by the last insert before the commit (`insertGatheredEvents(conn, true)`); undefined
   * once an earlier insert has happened, which a savepoint may have partly undone, and when
   * nobody asked to keep them.
   */
  inserted: EventRow[] | undefined;
}

const gatherings = new WeakMap<object, Gathering>();

/**
 * From now until `endGathering`, the events appended on `conn` are gathered. `keepInserted`:
 * someone will ask `insertedEvents` after the commit (nobody does while nobody follows the log).
 */
export function startGathering(conn: Executor, keepInserted: boolean): void {
  gatherings.set(conn, {
    rows: [],
    writeStart: 0,
    insertedForEarlier: [],
    inserted: keepInserted ? [] : undefined,
  });
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

/**
 * The events the transaction on `conn` inserted, in id order with their ids and domains, when
 * the last insert before its commit inserted all of them; undefined if not known so (a read in
 * the transaction inserted some before) or not kept. Asked after the commit, before
 * `endGathering`.
 */
export function insertedEvents(conn: Executor): readonly EventRow[] | undefined {
  return gatherings.get(conn)?.inserted;
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

/**
 * Inserts the events gathered on `conn` so far, if any (nothing where it does not gather).
 * `last`: this is the insert just before the commit, which no write follows.
 */
export async function insertGatheredEvents(conn: Executor, last = false): Promise<void> {
  const g = gatherings.get(conn);
  if (!g || g.rows.length === 0) return;
  const rows = g.rows;
  g.insertedForEarlier.push(...rows.slice(0, g.writeStart));
  g.rows = [];
  g.writeStart = 0;
  if (!last) g.inserted = undefined;
  const origins = await originsOf(conn, rows);
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const end = Math.min(i + ROWS_PER_INSERT, rows.length);
    const parameters: unknown[] = [];
    for (let j = i; j < end; j++) {
      const r = rows[j]!;
      parameters.push(r.time, origins[j]!.id, r.resource_id, r.request_id, r.changes);
    }
    const result = await conn.executeQuery(CompiledQuery.raw(insertSql(end - i), parameters));
    if (g.inserted && result.insertId !== undefined) {
      // One writer, AUTOINCREMENT: the rows of one insert take consecutive ids, the last of
      // which is the statement's last insert rowid.
      let id = Number(result.insertId) - (end - i);
      for (let j = i; j < end; j++) {
        const r = rows[j]!;
        // As the log's view reads it back, with its columns in its order (one object shape
        // for every row): a missing user or access key is kept as '' and read back as null.
        g.inserted.push({
          id: ++id,
          time: r.time,
          domain_id: origins[j]!.domain,
          project_id: r.project_id,
          resource_type: r.resource_type,
          resource_id: r.resource_id,
          service: r.service,
          operation: r.operation,
          principal_type: r.principal_type,
          user_id: r.user_id || null,
          user_name: r.user_name || null,
          access_key: r.access_key || null,
          source_ip: r.source_ip,
          request_id: r.request_id,
          changes: r.changes,
        });
      }
    } else {
      g.inserted = undefined;
    }
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
const FIND_ORIGIN = `select id, domain_id from event_origins where domain_id = ${DOMAIN} and ${ORIGIN_COLUMNS.map((c) => `${c} = ?`).join(' and ')}`;
const ADD_ORIGIN = `insert into event_origins (domain_id, ${ORIGIN_COLUMNS.join(', ')})
  values (${DOMAIN}, ${ORIGIN_COLUMNS.map(() => '?').join(', ')}) returning id, domain_id`;

interface Origin {
  readonly id: number;
  readonly domain: string;
}

/** The origin of each of `rows`, in their order; an origin not kept yet is added. */
async function originsOf(conn: Executor, rows: readonly NewEventRow[]): Promise<Origin[]> {
  const byKey = new Map<string, Origin>();
  const origins: Origin[] = [];
  for (const r of rows) {
    const values = ORIGIN_COLUMNS.map((c) => r[c] ?? '');
    const key = JSON.stringify(values);
    let origin = byKey.get(key);
    if (origin === undefined) {
      const parameters = [r.project_id, ...values];
      const found = await conn.executeQuery<{ id: number; domain_id: string }>(
        CompiledQuery.raw(FIND_ORIGIN, parameters),
      );
      const row =
        found.rows[0] ??
        (
          await conn.executeQuery<{ id: number; domain_id: string }>(
            CompiledQuery.raw(ADD_ORIGIN, parameters),
          )
        ).rows[0]!;
      origin = { id: row.id, domain: row.domain_id };
      byKey.set(key, origin);
    }
    origins.push(origin);
  }
  return origins;
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
