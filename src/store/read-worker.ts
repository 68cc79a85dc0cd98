import { parentPort, workerData } from 'node:worker_threads';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { type ReadName, runRead } from './read-procedures.js';
import type { Database } from './schema.js';
import { cachingSqlite, openSqliteReader } from './sqlite-connection.js';
import { capabilitiesOf } from './store-capabilities.js';

/**
 * A read thread (see read-pool.ts): its own read-only connection to the SQLite file, on which it
 * runs one read at a time, each in a transaction of its own (one snapshot).
 */

export interface ReadJob {
  readonly id: number;
  readonly name: ReadName;
  readonly args: unknown;
}

export type ReadAnswer =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { message: string; code?: string; name: string };
    };

const { path } = workerData as { path: string };
const caps = capabilitiesOf({ kind: 'sqlite', path });
const db = new Kysely<Database>({
  dialect: new SqliteDialect({ database: cachingSqlite(openSqliteReader(path)) }),
});

const port = parentPort!;
port.on('message', (job: ReadJob) => {
  void run(job).then((answer) => port.postMessage(answer));
});
port.postMessage('ready');

async function run(job: ReadJob): Promise<ReadAnswer> {
  try {
    const result = await db.connection().execute(async (conn) => {
      await sql.raw(caps.beginRead).execute(conn);
      try {
        return await runRead(job.name, conn, caps, job.args as never);
      } finally {
        await sql.raw('commit').execute(conn);
      }
    });
    return { id: job.id, ok: true, result };
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown; name?: unknown };
    return {
      id: job.id,
      ok: false,
      error: {
        message: String(e?.message ?? err),
        ...(typeof e?.code === 'string' ? { code: e.code } : {}),
        name: typeof e?.name === 'string' ? e.name : 'Error',
      },
    };
  }
}
