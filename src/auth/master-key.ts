import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DatabaseLocation,
  databaseDirectory,
  sharedAcrossMachines,
} from '../store/database.js';
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
  if (sharedAcrossMachines(location)) {
    throw new Error(
      'TAGPLANE_MASTER_KEY is required with PostgreSQL: every node must hold the same key (64 hex digits; e.g. `openssl rand -hex 32`).',
    );
  }
  const file = keyFileOf(location);
  if (file === undefined) return { key: randomBytes(32), source: 'in memory' };
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

/** The key file beside a database kept in a file; undefined where there is none (in memory). */
function keyFileOf(location: DatabaseLocation): string | undefined {
  const directory = databaseDirectory(location);
  return directory === undefined ? undefined : join(directory, 'master.key');
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
  const file = keyFileOf(location);
  if (file === undefined) return undefined;
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
