import { once } from 'node:events';
import { open, rename, unlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { exportDatabase, importDatabase } from './admin/backup.js';
import { existingMasterKey } from './auth/master-key.js';
import { SecretBox } from './auth/secret-box.js';
import { ProgressBar } from './cli-progress.js';
import { parseToolConfig } from './config.js';
import { explainDatabaseError } from './database-errors.js';
import { parseDatabaseUrl, redactUrl, Store } from './store/database.js';

/*
 * `tagplane export` and `tagplane import`: a whole database as JSON lines (admin/backup.ts), to
 * and from files or the standard streams.
 */

/** Where an export goes: a file (written aside and renamed when complete) or standard output. */
async function openSink(output: string | undefined) {
  if (output === undefined || output === '-') {
    // A reader that goes away (`| head`) ends the export with an error, not a crash.
    let failure: Error | undefined;
    process.stdout.on('error', (err) => {
      failure = err;
    });
    return {
      write: async (text: string) => {
        const closed = (err: Error) => new Error(`standard output closed: ${err.message}`);
        if (failure) throw closed(failure);
        if (!process.stdout.write(text)) {
          await once(process.stdout, 'drain').catch((err: Error) => {
            throw closed(err);
          });
        }
      },
      finish: async () => {},
      abort: async () => {},
    };
  }
  const partial = `${output}.partial`;
  // Opened now, so that a path that cannot be written fails before the database is read.
  // The export holds password hashes and sealed secrets: readable by its owner only.
  const file = await open(partial, 'w', 0o600).catch((err: Error) => {
    throw new Error(`cannot write the export to ${output}: ${err.message}`);
  });
  const head = output.endsWith('.gz') ? createGzip() : new PassThrough();
  const done = pipeline(head, file.createWriteStream());
  return {
    write: async (text: string) => {
      if (!head.write(text)) await Promise.race([once(head, 'drain'), done]);
    },
    finish: async () => {
      head.end();
      await done;
      await rename(partial, output);
    },
    abort: async () => {
      head.destroy();
      await done.catch(() => {});
      await unlink(partial).catch(() => {});
    },
  };
}

export async function exportCommand(opts: {
  database?: string;
  output?: string;
  progress: boolean;
}): Promise<void> {
  const { databaseUrl } = parseToolConfig(opts, process.env);
  const sink = await openSink(opts.output);
  let store: Store | undefined;
  const bar = opts.progress ? new ProgressBar('export') : undefined;
  try {
    store = Store.open(parseDatabaseUrl(databaseUrl), { poolSize: 2, mustExist: true });
    const header = await exportDatabase(store, sink.write, bar).catch((err: unknown) => {
      throw explainDatabaseError(err, databaseUrl);
    });
    await sink.finish();
    const rows = Object.values(header.counts).reduce((a, b) => a + b, 0);
    bar?.finish(
      `${rows.toLocaleString('en-US')} rows at schema ${header.schema} to ${opts.output && opts.output !== '-' ? opts.output : 'standard output'}`,
    );
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await store?.close();
  }
  process.stderr.write(
    "export: the file holds password hashes and secrets sealed under this database's master key: keep it as safe as the database, and serve a restored copy with the same key.\n",
  );
}

export async function importCommand(opts: {
  database?: string;
  input?: string;
  progress: boolean;
}): Promise<void> {
  const config = parseToolConfig(opts, process.env);
  const location = parseDatabaseUrl(config.databaseUrl);
  const key = existingMasterKey(location, config.masterKey);
  const fromStdin = opts.input === undefined || opts.input === '-';
  // A missing or unreadable file fails here, before anything touches the database.
  let input: Readable = fromStdin
    ? process.stdin
    : (await open(opts.input!, 'r')).createReadStream();
  if (opts.input?.endsWith('.gz')) {
    const gunzip = createGunzip();
    input.on('error', (err) => gunzip.destroy(err));
    input = input.pipe(gunzip);
  }
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const store = Store.open(location, { poolSize: 2 });
  const bar = opts.progress ? new ProgressBar('import') : undefined;
  try {
    const summary = await importDatabase(store, lines, {
      ...(bar ? { progress: bar } : {}),
      ...(key ? { secrets: new SecretBox(key.key) } : {}),
    }).catch((err: unknown) => {
      throw explainDatabaseError(err, config.databaseUrl);
    });
    const rows = Object.values(summary.counts).reduce((a, b) => a + b, 0);
    bar?.finish(
      `${rows.toLocaleString('en-US')} rows from a ${summary.header.source} export of ${summary.header.exported_at} into ${redactUrl(config.databaseUrl)}`,
    );
    if (summary.masterKeyMatches === undefined) {
      process.stderr.write(
        'import: serve this database with the master key of the exported one (TAGPLANE_MASTER_KEY, or its master.key file beside a SQLite database): its secrets are sealed under that key.\n',
      );
    }
  } finally {
    lines.close();
    await store.close();
  }
}
