import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isStoreUnavailable, storeFault } from '../../src/store/database.js';
import { markStoreError } from '../../src/store/store-errors.js';

const sqliteError = (code: string) => new Database.SqliteError('failed', code);
const pgError = (code: string) => Object.assign(new Error('failed'), { code });

/**
 * Which store failures the gateway answers 502 APIG.0202 "Backend unavailable" (the store
 * cannot be reached or written) or 504 APIG.0203 "Backend timeout" (a statement past its time
 * limit) rather than 500.
 */
describe('storeFault', () => {
  it('a full disk, an I/O error, a read-only or unopenable SQLite file: unavailable (502)', () => {
    for (const code of [
      'SQLITE_FULL',
      'SQLITE_IOERR_FSYNC',
      'SQLITE_CANTOPEN',
      'SQLITE_READONLY_DBMOVED',
    ]) {
      expect(storeFault(sqliteError(code)), code).toBe('unavailable');
      expect(isStoreUnavailable(sqliteError(code)), code).toBe(true);
    }
  });

  it('the SQLite write lock held past the busy timeout: timeout (504)', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED']) {
      expect(storeFault(sqliteError(code)), code).toBe('timeout');
      expect(isStoreUnavailable(sqliteError(code)), code).toBe(false);
    }
  });

  it('a lost or refused PostgreSQL connection: unavailable (502)', () => {
    for (const code of ['ECONNREFUSED', '08006', '57P01', '57P04', '53300']) {
      expect(storeFault(markStoreError(pgError(code))), code).toBe('unavailable');
    }
    expect(storeFault(new Error('Connection terminated unexpectedly'))).toBe('unavailable');
    expect(storeFault(new Error('timeout exceeded when trying to connect'))).toBe('unavailable');
    const refused = markStoreError(
      new AggregateError([pgError('ECONNREFUSED'), pgError('ECONNREFUSED')]),
    );
    expect(storeFault(refused)).toBe('unavailable');
  });

  it('a PostgreSQL server that cannot write: a full disk, an I/O error, a standby: unavailable (502)', () => {
    for (const code of ['53100', '53200', '58030', '25006']) {
      expect(storeFault(pgError(code)), code).toBe('unavailable');
    }
  });

  it('a PostgreSQL database refusing connections (55000) or gone (3D000): unavailable (502)', () => {
    for (const code of ['55000', '3D000'])
      expect(storeFault(pgError(code)), code).toBe('unavailable');
  });

  it('a PostgreSQL statement cancelled by its timeout, or a lock not granted in time: timeout (504)', () => {
    for (const code of ['57014', '55P03']) expect(storeFault(pgError(code)), code).toBe('timeout');
    expect(storeFault(new Error('Query read timeout'))).toBe('timeout');
  });

  it('a network error not raised by a store connection (a client abort) is no store fault', () => {
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    expect(storeFault(aborted)).toBeUndefined();
    expect(storeFault(markStoreError(pgError('ECONNRESET')))).toBe('unavailable');
  });

  it('a bad statement or a broken constraint is not a store fault: it answers 500', () => {
    // 08P01: what PostgreSQL answers a statement with more than 65,535 parameters ("bind message
    // has 4464 parameter formats but 0 parameters"), on a connection that goes on working.
    for (const code of [
      'SQLITE_ERROR',
      'SQLITE_CONSTRAINT_UNIQUE',
      'SQLITE_CORRUPT',
      '42601',
      '08P01',
    ]) {
      const err = code.startsWith('SQLITE_') ? sqliteError(code) : pgError(code);
      expect(storeFault(err), code).toBeUndefined();
    }
    expect(storeFault(new Error('something else'))).toBeUndefined();
    expect(storeFault(undefined)).toBeUndefined();
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
    expect(storeFault(caught)).toBe('unavailable');
    db.close();
  });
});
