import { redactUrl } from './store/database.js';

/** A database a command was pointed at cannot be used; the message says which and what to do. */
export class DatabaseUnusableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUnusableError';
  }
}

const WHERE = '--database (TAGPLANE_DATABASE_URL)';

function postgresParts(url: string): { host: string; port: string; database: string } {
  try {
    const u = new URL(url);
    return {
      host: u.hostname || 'localhost',
      port: u.port || '5432',
      database: decodeURIComponent(u.pathname.slice(1)) || '(default)',
    };
  } catch {
    return { host: '?', port: '?', database: '?' };
  }
}

/**
 * The error a command met while opening or migrating its database, told in words that name the
 * database and what to do. A driver's own message (`connect ECONNREFUSED 127.0.0.1:5999`, `role
 * "nouser" does not exist`) says neither; it is kept in parentheses. Other errors pass unchanged.
 */
export function explainDatabaseError(err: unknown, databaseUrl: string): unknown {
  if (!(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const said = err.message || String(code);
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const { host, port, database } = postgresParts(databaseUrl);
    const at = `PostgreSQL at ${host}:${port}`;
    switch (code) {
      case 'ECONNREFUSED':
        return new DatabaseUnusableError(
          `${at} refused the connection (${said}): start PostgreSQL there, or point ${WHERE} at a running server, e.g. postgres://USER:PASSWORD@HOST:5432/DATABASE`,
        );
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new DatabaseUnusableError(
          `PostgreSQL host '${host}' was not found (${said}): check the host name in ${WHERE}`,
        );
      case 'ETIMEDOUT':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return new DatabaseUnusableError(
          `${at} cannot be reached (${said}): check the host and port in ${WHERE}, and that a firewall lets the connection through`,
        );
      case '28000':
      case '28P01':
        return new DatabaseUnusableError(
          `${at} refused the login (${said}): check the user name and password in ${WHERE} (${redactUrl(databaseUrl)}), or create the role: CREATE ROLE name LOGIN PASSWORD '…'`,
        );
      case '3D000':
        return new DatabaseUnusableError(
          `${at} has no database '${database}' (${said}): create it (createdb ${database}, or CREATE DATABASE "${database}") or name an existing one in ${WHERE}`,
        );
      case '42501':
        return new DatabaseUnusableError(
          `${at}: the user may not do what tagplane needs in database '${database}' (${said}): give it the right to create tables there (GRANT CREATE ON SCHEMA public TO name), or run \`tagplane migrate\` as the owner first`,
        );
    }
    if (/^Connection terminated|timeout expired/i.test(said)) {
      return new DatabaseUnusableError(
        `${at} did not let the connection through (${said}): check the host, port and SSL settings in ${WHERE}`,
      );
    }
    return err;
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'EACCES' || code === 'EROFS' || code === 'ENOTDIR') {
    return new DatabaseUnusableError(
      `cannot open the SQLite database ${databaseUrl} (${said}): make sure its folder can be created and written by this user, or pick another path with ${WHERE}`,
    );
  }
  return err;
}
