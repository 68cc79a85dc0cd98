import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { INDEX_KEY_FUNCTION, indexKey } from './deferred-event-index.js';

/**
 * Opens the SQLite database at `path` (`:memory:` for one in memory) with the settings the store
 * relies on. `mustExist`: fail rather than create a new database file.
 */
export function openSqlite(
  path: string,
  options: { busyTimeoutMs?: number; mustExist?: boolean },
): BetterSqlite3.Database {
  const memory = path === ':memory:';
  if (!memory && options.mustExist && !existsSync(path)) {
    throw new Error(`there is no SQLite database at ${path}`);
  }
  if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
  const raw = new BetterSqlite3(path);
  if (!memory) raw.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before the response that acknowledges it is sent.
  raw.pragma('synchronous = FULL');
  raw.pragma('foreign_keys = ON');
  raw.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
  raw.pragma('cache_size = -65536');
  // Pages are read through a memory map rather than a read call each: large databases are
  // probed at random (one posting list against another) far faster this way.
  if (!memory) raw.pragma('mmap_size = 1073741824');
  raw.pragma('temp_store = MEMORY');
  // The change log's indexer (deferred-event-index.ts) keys its rows in SQL with this.
  raw.function(INDEX_KEY_FUNCTION, { deterministic: true }, (id) => indexKey(String(id)));
  return raw;
}

/**
 * A read-only connection to the SQLite file at `path`, for a read thread: in WAL mode it reads
 * beside the writer, each transaction on a snapshot of the last commit.
 */
export function openSqliteReader(path: string): BetterSqlite3.Database {
  const raw = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  raw.pragma('busy_timeout = 10000');
  raw.pragma('cache_size = -65536');
  raw.pragma('mmap_size = 1073741824');
  raw.pragma('temp_store = MEMORY');
  return raw;
}

/**
 * better-sqlite3 prepares a statement for every query Kysely sends; caching them by SQL text
 * removes that cost from the hot path. Kysely's driver runs one query at a time on the single
 * connection, so a cached statement is never in use twice.
 */
export function cachingSqlite(db: BetterSqlite3.Database): {
  close(): void;
  prepare(query: string): BetterSqlite3.Statement;
} {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => db.close(),
    prepare(query: string) {
      let stmt = cache.get(query);
      if (!stmt) {
        if (cache.size >= 1000) cache.clear();
        stmt = db.prepare(query);
        cache.set(query, stmt);
      }
      return stmt;
    },
  };
}
