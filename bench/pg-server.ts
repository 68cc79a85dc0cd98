/** A PostgreSQL server that benchmarks make databases on, by the URL of one of its databases. */
import pg from 'pg';

/** The URL of database `name` on the server of `serverUrl`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `statement` on its own connection (to `database`, or to the URL's own) and closes it. */
export async function onServer<R extends pg.QueryResultRow = pg.QueryResultRow>(
  serverUrl: string,
  statement: string,
  database?: string,
): Promise<R[]> {
  const client = new pg.Client({
    connectionString: database === undefined ? serverUrl : databaseUrl(serverUrl, database),
  });
  await client.connect();
  try {
    return (await client.query<R>(statement)).rows;
  } finally {
    await client.end();
  }
}
