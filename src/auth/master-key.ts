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

/** Where the caller was told to take the key from, besides TAGPLANE_MASTER_KEY. */
export interface KeyOptions {
  /** `--master-key-file` or TAGPLANE_MASTER_KEY_FILE: a file holding the key. */
  readonly file?: string;
  /**
   * Whether a SQLite database without a key beside it may get a new one: only one whose secrets
   * were never sealed. Another (a restored copy) needs the key it was sealed with, not a new one.
   */
  readonly create?: boolean;
}

/** The key named explicitly, by file or by value; a file wins, as a flag wins over a variable. */
export function givenMasterKey(
  fromEnv: string | undefined,
  file: string | undefined,
): MasterKey | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the master key file ${file}: ${(err as Error).message}`);
    }
    try {
      return { key: parseMasterKey(text), source: file };
    } catch (err) {
      throw new Error(`the master key file ${file} holds no key: ${(err as Error).message}`);
    }
  }
  if (fromEnv) return { key: parseMasterKey(fromEnv), source: 'TAGPLANE_MASTER_KEY' };
  return undefined;
}

/**
 * The key that encrypts secret keys at rest: the one named (--master-key-file,
 * TAGPLANE_MASTER_KEY); else, for a SQLite file, a `master.key` file beside the database, created
 * on first start; for an in-memory database a key that lives as long as the process. PostgreSQL
 * serves several nodes, which must all hold the same key, so there it must be named.
 */
export function loadMasterKey(
  location: DatabaseLocation,
  fromEnv: string | undefined,
  options: KeyOptions = {},
): MasterKey {
  const given = givenMasterKey(fromEnv, options.file);
  if (given) return given;
  if (sharedAcrossMachines(location)) {
    throw new Error(
      'TAGPLANE_MASTER_KEY is required with PostgreSQL: every node must hold the same key (64 hex digits; e.g. `openssl rand -hex 32`), given as the variable or in a file named by --master-key-file.',
    );
  }
  const file = keyFileOf(location);
  if (file === undefined) return { key: randomBytes(32), source: 'in memory' };
  if (!existsSync(file)) {
    if (options.create === false) {
      throw new Error(
        `this database's secrets are sealed under a master key, and there is none beside it (${file}): pass the key of the database it was made from or exported from with --master-key-file FILE (or TAGPLANE_MASTER_KEY), or copy that key file to ${file}`,
      );
    }
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

/** The key file beside a SQLite database kept in a file, whether or not it exists. */
export function masterKeyFileOf(location: DatabaseLocation): string | undefined {
  return keyFileOf(location);
}

/** The key file beside a SQLite database, if there is one. Creates nothing. */
export function keyBeside(location: DatabaseLocation): MasterKey | undefined {
  const file = keyFileOf(location);
  if (file === undefined || !existsSync(file)) return undefined;
  return { key: parseMasterKey(readFileSync(file, 'utf8')), source: file };
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
