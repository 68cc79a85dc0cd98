import { type RawBuilder, sql } from 'kysely';
import type { Executor } from './executor.js';
import type { NewEventRow } from './gathered-events.js';

/*
 * PostgreSQL: the ids of a transaction's events, given by the statements that insert them.
 *
 * An event's id is `base + xid × 2^20 + n` (migration 0013): `xid` the writing transaction's id,
 * `n` the event's place among that transaction's events. The trigger of 0013 computes it row by
 * row in PL/pgSQL, with two lookups of its own; here the application counts `n` for each
 * transaction it runs (a transaction that runs again counts from 1 again), and the insert
 * computes the id in SQL and checks, in the same statement, that no transaction has appended a
 * later event of the same resource. Where one has, the row is not inserted and the write fails
 * as a serialization failure (40001), which runs the transaction again with a new, larger xid,
 * as the trigger's check does. The trigger stays for inserts that bring no id (a node of an
 * earlier version during a rolling upgrade); rows with an id pass through it untouched.
 */

/** A transaction may append at most this many events (n has 20 bits; 0 is never used). */
const MAX_EVENTS = 1_048_575;

const counters = new WeakMap<object, { next: number }>();

/** The transaction just begun on `conn` numbers its events from 1. */
export function startEventNumbers(conn: Executor): void {
  counters.set(conn, { next: 1 });
}

/** The transaction on `conn` has ended. */
export function endEventNumbers(conn: Executor): void {
  counters.delete(conn);
}

/**
 * The numbers of the next `count` events of the transaction on `ex` (the first; the rest follow
 * it), or undefined where its events are not numbered here (SQLite, or outside a transaction).
 */
export function takeEventNumbers(ex: Executor, count: number): number | undefined {
  const c = counters.get(ex);
  if (!c) return undefined;
  const first = c.next;
  if (first + count - 1 > MAX_EVENTS) {
    throw Object.assign(new Error(`a transaction may append at most ${MAX_EVENTS} events`), {
      code: '54000',
    });
  }
  c.next += count;
  return first;
}

/** The columns of a numbered insert, in the order `numberedEvents` gives them. */
export const NUMBERED_COLUMNS = [
  'id',
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
  'domain_id',
] as const;

/**
 * The rows to insert for `rows`, numbered from `first`, each with its project's domain; a row
 * whose resource already has an event with a larger id (a transaction that took its xid later
 * and has committed) is left out: see `requireAllInserted`.
 */
export function numberedEvents(rows: readonly NewEventRow[], first: number): RawBuilder<unknown> {
  // (`first` itself for the first row: a prepared statement stands a placeholder in for it.)
  const values = rows.map(
    (r, i) => sql`((select base from events_id_base)
        + pg_current_xact_id()::text::bigint * 1048576 + ${i === 0 ? first : first + i}::bigint,
      ${r.time}, ${r.project_id}, ${r.resource_type}, ${r.resource_id}, ${r.service},
      ${r.operation}, ${r.principal_type}, ${r.user_id}::text, ${r.user_name}::text,
      ${r.access_key}::text, ${r.source_ip}, ${r.request_id}, ${r.changes},
      coalesce((select domain_id from projects where id = ${r.project_id}), ''))`,
  );
  return sql`select v.* from (values ${sql.join(values)})
      as v (${sql.join(NUMBERED_COLUMNS.map((c) => sql.ref(c)))})
    where not exists (select 1 from events e
      where e.project_id = v.project_id collate "C" and e.resource_type = v.resource_type collate "C"
        and e.resource_id = v.resource_id collate "C" and e.id > v.id)`;
}

/** Fails as a serialization failure unless all `expected` numbered rows were inserted. */
export function requireAllInserted(inserted: number, expected: number): void {
  if (inserted === expected) return;
  throw Object.assign(
    new Error('a later transaction has appended an event of the same resource; run again'),
    { code: '40001' },
  );
}
