import type { DatabaseLocation } from './database-url.js';

/**
 * Where the two databases differ, as named capabilities rather than dialect checks: code outside
 * the opening of a store branches on these, never on the database's name.
 */
export interface StoreCapabilities {
  /** `SELECT … FOR UPDATE` locks rows (PostgreSQL). SQLite serialises writers instead. */
  readonly rowLocks: boolean;
  /** Statement that opens a write transaction. */
  readonly beginWrite: string;
  /** Statement that opens a read-only transaction seeing one consistent snapshot. */
  readonly beginRead: string;
  /**
   * `f(haystack, needle) > 0` is a case-sensitive substring test that takes every character of
   * the needle literally (SQLite's LIKE ignores ASCII case, and LIKE gives `%` and `_` meaning).
   */
  readonly substringFunction: 'instr' | 'strpos';
  /**
   * The case-sensitive operator for an identity policy's `StringLike` pattern (`*` any run, `?`
   * one character): SQLite's `GLOB` (whose `[` must be escaped as `[[]`), or `LIKE` with `%`, `_`
   * and `\` escaped (SQLite's `LIKE` ignores ASCII case).
   */
  readonly wildcardMatch: 'glob' | 'like';
  /**
   * How resource names are searched by substring. `fts5`: an FTS5 trigram table
   * (`resource_names`) finds candidates for needles of three characters or more. `like`:
   * `name LIKE '%…%'` with `%`, `_` and `\` escaped, which a pg_trgm index serves where present;
   * candidates are found the same way, from a window of the needle (see nameCandidates).
   */
  readonly nameSearch: 'fts5' | 'like';
  /**
   * `INDEXED BY` pins the index of a lookup. SQLite plans without statistics and, for a probe
   * that the primary key and a longer index both serve, prefers the primary key even where the
   * other gives far better locality; PostgreSQL plans from statistics and has no such clause.
   */
  readonly indexHints: boolean;
  /**
   * Writers on several connections run at once, so a transaction can fail on a conflict with
   * another (deadlock, racing first insert) and is retried. SQLite has one writer at a time.
   */
  readonly concurrentWriters: boolean;
  /**
   * `rid` comes from a sequence that does not see ids inserted explicitly (a restore); it must be
   * moved past them. SQLite allocates after the largest id present.
   */
  readonly ridSequence: boolean;
  /**
   * Resources are keyed by (project_id, rid), so a lookup by rid names the project too
   * (PostgreSQL, ready to distribute by project). On SQLite rid is the rowid, found by itself;
   * told the project as well, its planner would rather walk the project's whole index.
   */
  readonly ridKeyedByProject: boolean;
  /**
   * Write transactions that arrive together share one database transaction, each inside its own
   * savepoint, and one commit (SQLite: one writer, and a commit costs a sync to disk). Each keeps
   * its own all-or-nothing outcome, and none is answered before the shared commit is on disk.
   */
  readonly groupCommit: boolean;
  /**
   * `NOT EXISTS` of one posting list against another runs in rid order, as written: one probe
   * per row (SQLite). PostgreSQL 15 cannot walk the inner side of an anti-join in index order
   * (its restrictions there do not form equivalence classes, so the index's order on rid is not
   * seen): it hashes or sorts the whole excluded list, spilling to disk when that is long, while
   * the semi-join `EXISTS` of the same lists merges them in rid order. Without it, counts with
   * exclusions are taken by subtraction, count(D) − count(D and N).
   */
  readonly orderedAntiJoins: boolean;
  /**
   * The database plans joins from statistics that `ANALYZE` gathers (PostgreSQL). Until it has
   * run on freshly loaded tables the planner takes them for nearly empty and may nest full index
   * scans inside each other; so whatever loads rows in bulk analyses the tables after. SQLite's
   * planner needs none: the query store pins the plans that matter.
   */
  readonly plansFromStatistics: boolean;
  /**
   * Each statement is a round trip to a server (PostgreSQL), which costs more than a few more
   * rows in one statement. SQLite runs in the process: a statement costs little, and each row
   * returned costs the object built for it.
   */
  readonly statementRoundTrips: boolean;
  /**
   * Event ids grow with the writing transaction's id, not with its commit (PostgreSQL, migration
   * 0013): a transaction with a smaller id may still commit. A read of the log in ascending id
   * order takes only the events below the horizon (`tagplane_event_horizon()`, in the same
   * statement), all of them final, and holds back the ones above it. SQLite has one writer at a
   * time: ids are handed out in commit order.
   */
  readonly eventHorizon: boolean;
  /**
   * The change log's per-resource index is filled in the background, in batches, rather than by
   * each write (SQLite: an index insert at a random place cost each group commit one more page per
   * write; see migration 0014 and deferred-event-index.ts). Reads by resource take the index up
   * to its mark and scan the log after it. PostgreSQL indexes each event as it is appended.
   */
  readonly deferredEventIndex: boolean;
  /**
   * The change log's per-resource index is keyed by a hash of the resource id, kept in the
   * column `resource_key` (PostgreSQL, migrations 0018 and 0019): a read by resource names the
   * key as well, so that the index serves it (see `resourceIs`).
   */
  readonly hashedResourceIndex: boolean;
}

const SQLITE: StoreCapabilities = Object.freeze({
  rowLocks: false,
  beginWrite: 'begin immediate',
  beginRead: 'begin',
  substringFunction: 'instr',
  wildcardMatch: 'glob',
  nameSearch: 'fts5',
  indexHints: true,
  concurrentWriters: false,
  ridSequence: false,
  ridKeyedByProject: false,
  groupCommit: true,
  orderedAntiJoins: true,
  plansFromStatistics: false,
  statementRoundTrips: false,
  eventHorizon: false,
  deferredEventIndex: true,
  hashedResourceIndex: false,
});

const POSTGRES: StoreCapabilities = Object.freeze({
  rowLocks: true,
  beginWrite: 'begin',
  beginRead: 'begin transaction isolation level repeatable read, read only',
  substringFunction: 'strpos',
  wildcardMatch: 'like',
  nameSearch: 'like',
  indexHints: false,
  concurrentWriters: true,
  ridSequence: true,
  ridKeyedByProject: true,
  groupCommit: false,
  orderedAntiJoins: false,
  plansFromStatistics: true,
  statementRoundTrips: true,
  eventHorizon: true,
  deferredEventIndex: false,
  hashedResourceIndex: true,
});

/** The capabilities of the database at `location`, known before (or without) opening it. */
export function capabilitiesOf(location: DatabaseLocation): StoreCapabilities {
  return location.kind === 'sqlite' ? SQLITE : POSTGRES;
}
