import { describe, expect, it } from 'vitest';
import { explainDatabaseError } from '../../src/database-errors.js';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('explainDatabaseError', () => {
  const url = 'postgres://nouser:secret@db.internal:6432/tags';

  it('a refused login names PostgreSQL and what to check, without the password', () => {
    const e = explainDatabaseError(pgError('28000', 'role "nouser" does not exist'), url) as Error;
    expect(e.message).toBe(
      `PostgreSQL at db.internal:6432 refused the login (role "nouser" does not exist): check the user name and password in --database (TAGPLANE_DATABASE_URL) (postgres://nouser:***@db.internal:6432/tags), or create the role: CREATE ROLE name LOGIN PASSWORD '…'`,
    );
    expect(e.message).not.toContain('secret');
  });

  it('a missing database says how to create it', () => {
    const e = explainDatabaseError(
      pgError('3D000', 'database "tags" does not exist'),
      url,
    ) as Error;
    expect(e.message).toContain(
      `PostgreSQL at db.internal:6432 has no database 'tags' (database "tags" does not exist): create it (createdb tags`,
    );
  });

  it('an unknown host names the host', () => {
    const e = explainDatabaseError(
      pgError('ENOTFOUND', 'getaddrinfo ENOTFOUND db.internal'),
      url,
    ) as Error;
    expect(e.message).toBe(
      "PostgreSQL host 'db.internal' was not found (getaddrinfo ENOTFOUND db.internal): check the host name in --database (TAGPLANE_DATABASE_URL)",
    );
  });

  it('other errors pass unchanged', () => {
    const other = new Error('the master key does not match');
    expect(explainDatabaseError(other, url)).toBe(other);
    expect(explainDatabaseError(other, 'sqlite:./x.db')).toBe(other);
  });
});
