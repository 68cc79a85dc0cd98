import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DatabaseLocation } from '../store/database.js';
import { parseMasterKey, type SecretBox } from './secret-box.js';

export interface MasterKey {
  readonly key: Buffer;
  /** Where it came from, for the start-up message (never the key itself). */
  readonly source: string;
}

/**
 * The key that encrypts secret keys at rest: TAGPLANE_MASTER_KEY when set; for a SQLite file, a
 * `master.key` file beside the database, created on first start; for an in-memory database a key
 * that lives as long as the process. PostgreSQL serves several nodes, which must all hold the
 * same key, so there it must come from the environment.
 */
export function loadMasterKey(location: DatabaseLocation, fromEnv: string | undefined): MasterKey {
  if (fromEnv) return { key: parseMasterKey(fromEnv), source: 'TAGPLANE_MASTER_KEY' };
  if (location.kind === 'postgres') {
    throw new Error(
      'TAGPLANE_MASTER_KEY is required with PostgreSQL: every node must hold the same key (64 hex digits; e.g. `openssl rand -hex 32`).',
    );
  }
  if (location.path === ':memory:') return { key: randomBytes(32), source: 'in memory' };
  const file = keyFileOf(location.path);
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process created it first; read theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return { key: parseMasterKey(readFileSync(file, 'utf8')), source: file };
}

function keyFileOf(sqlitePath: string): string {
  return join(dirname(resolve(sqlitePath)), 'master.key');
}

/**
 * The master key a database is (or will be) served with, if there already is one: the
 * environment's, or the key file beside a SQLite database. Creates nothing.
 */
export function existingMasterKey(
  location: DatabaseLocation,
  fromEnv: string | undefined,
): MasterKey | undefined {
  if (fromEnv) return { key: parseMasterKey(fromEnv), source: 'TAGPLANE_MASTER_KEY' };
  if (location.kind !== 'sqlite' || location.path === ':memory:') return undefined;
  const file = keyFileOf(location.path);
  return existsSync(file)
    ? { key: parseMasterKey(readFileSync(file, 'utf8')), source: file }
    : undefined;
}

/**
 * The setting holding a known text sealed under the master key: a process holding another key
 * finds out at start-up (or at import), not at the first signed request.
 */
export const KEY_CHECK_SETTING = 'master_key_check';
export const KEY_CHECK_TEXT = 'tagplane master key check';

/** Whether `sealed` (the key-check setting) was sealed under the key of `secrets`. */
export function opensKeyCheck(secrets: SecretBox, sealed: string): boolean {
  try {
    return secrets.open(sealed) === KEY_CHECK_TEXT;
  } catch {
    return false;
  }
}
