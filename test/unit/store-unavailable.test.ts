import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isStoreUnavailable } from '../../src/store/database.js';

/** Which store failures answer 503 APIG.0503 (retry later) rather than 500. */
describe('isStoreUnavailable', () => {
  it('a full disk, an I/O error, a busy or read-only SQLite file: unavailable', () => {
    for (const code of [
      'SQLITE_BUSY',
      'SQLITE_BUSY_SNAPSHOT',
      'SQLITE_LOCKED',
      'SQLITE_FULL',
      'SQLITE_IOERR_FSYNC',
      'SQLITE_CANTOPEN',
      'SQLITE_READONLY_DBMOVED',
    ]) {
      expect(isStoreUnavailable(new Database.SqliteError('failed', code)), code).toBe(true);
    }
  });

  it('a lost or refused PostgreSQL connection: unavailable', () => {
    for (const code of ['ECONNREFUSED', '08006', '57P01', '53300']) {
      expect(isStoreUnavailable(Object.assign(new Error('failed'), { code })), code).toBe(true);
    }
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('a bad statement or a broken constraint is not: it answers 500', () => {
    for (const code of ['SQLITE_ERROR', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CORRUPT', '42601']) {
      const err = code.startsWith('SQLITE_')
        ? new Database.SqliteError('failed', code)
        : Object.assign(new Error('failed'), { code });
      expect(isStoreUnavailable(err), code).toBe(false);
    }
  });

  it('a real full database: SQLite reports SQLITE_FULL, which is unavailable', () => {
    const db = new Database(':memory:');
    db.pragma('max_page_count = 2');
    let caught: unknown;
    try {
      db.exec('create table t (x text)');
      for (let i = 0; i < 100; i++) db.prepare('insert into t values (?)').run('x'.repeat(1000));
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).toBe('SQLITE_FULL');
    expect(isStoreUnavailable(caught)).toBe(true);
    db.close();
  });
});
