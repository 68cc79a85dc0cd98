import { dirname, resolve } from 'node:path';

/** Where a store's database is: a SQLite file (or `:memory:`), or a PostgreSQL server. */
export type DatabaseLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

/** Parses `sqlite:PATH`, `sqlite::memory:`, `postgres://…` and `postgresql://…`. */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { kind: 'postgres', url };
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new Error(`database URL '${url}' names no file`);
    return { kind: 'sqlite', path };
  }
  throw new Error(
    `unsupported database URL '${redactUrl(url)}': use sqlite:PATH, sqlite::memory: or postgres://…`,
  );
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+:)[^@]*@/i, '$1***@');
}

/**
 * The database is a server that processes on several machines may share: what they must all
 * agree on (the master key) cannot be kept on one machine's disk beside it.
 */
export function sharedAcrossMachines(location: DatabaseLocation): boolean {
  return location.kind === 'postgres';
}

/**
 * The directory of a database kept in a file on this machine, where files that belong with its
 * data (the master key) are kept too. Undefined for an in-memory database and for a server.
 */
export function databaseDirectory(location: DatabaseLocation): string | undefined {
  if (location.kind !== 'sqlite' || location.path === ':memory:') return undefined;
  return dirname(resolve(location.path));
}
