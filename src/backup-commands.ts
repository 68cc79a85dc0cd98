import { once } from 'node:events';
import { existsSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { exportDatabase, importDatabase } from './admin/backup.js';
import { givenMasterKey, keyBeside, masterKeyFileOf } from './auth/master-key.js';
import { SecretBox } from './auth/secret-box.js';
import { ProgressBar } from './cli-progress.js';
import { parseToolConfig, type ToolConfig } from './config.js';
import { explainDatabaseError } from './database-errors.js';
import { type DatabaseLocation, parseDatabaseUrl, redactUrl, Store } from './store/database.js';

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
  const config = parseToolConfig(opts, process.env);
  const { databaseUrl } = config;
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
  const key =
    givenMasterKey(config.masterKey, config.masterKeyFile) ??
    keyBeside(parseDatabaseUrl(databaseUrl));
  const where = key
    ? key.source === 'TAGPLANE_MASTER_KEY'
      ? 'the key in TAGPLANE_MASTER_KEY'
      : `the key in ${key.source}`
    : "this database's master key";
  process.stderr.write(
    `export: the file holds password hashes and secrets sealed under ${where}: keep the file as safe as the database, keep a copy of the key apart from it, and restore with \`tagplane import --master-key-file KEYFILE\`.\n`,
  );
}

/** A new SQLite database file and the folders made for it, removed again if the import fails. */
function newSqliteFiles(location: DatabaseLocation): () => void {
  if (location.kind !== 'sqlite' || location.path === ':memory:') return () => {};
  const file = resolve(location.path);
  if (existsSync(file)) return () => {};
  let folder = dirname(file);
  const folders: string[] = [];
  while (!existsSync(folder)) {
    folders.push(folder);
    folder = dirname(folder);
  }
  return () => {
    for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`])
      rmSync(f, { force: true });
    for (const f of folders) {
      try {
        rmdirSync(f);
      } catch {
        // Something else was put there meanwhile: leave it.
      }
    }
  };
}

/**
 * The key an import checks the export against: the one named (--master-key-file,
 * TAGPLANE_MASTER_KEY), or else a key file already beside a SQLite target, which must then be
 * the exported database's own, since `serve` would use it.
 */
function importKey(config: ToolConfig, location: DatabaseLocation) {
  const given = givenMasterKey(config.masterKey, config.masterKeyFile);
  if (given) return { given, key: given, source: `the one given (${given.source})` };
  const beside = keyBeside(location);
  if (beside) {
    return {
      key: beside,
      source: `the key file beside the target database (${beside.source}), which belongs to another database: import into a folder of its own, or pass the exported database's key with --master-key-file FILE`,
    };
  }
  return {};
}

export async function importCommand(opts: {
  database?: string;
  input?: string;
  masterKeyFile?: string;
  progress: boolean;
}): Promise<void> {
  const config = parseToolConfig(opts, process.env);
  const location = parseDatabaseUrl(config.databaseUrl);
  const { given, key, source } = importKey(config, location);
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
  const removeNewFiles = newSqliteFiles(location);
  let store: Store | undefined;
  let failed = true;
  const bar = opts.progress ? new ProgressBar('import') : undefined;
  try {
    store = Store.open(location, { poolSize: 2 });
    const summary = await importDatabase(store, lines, {
      ...(bar ? { progress: bar } : {}),
      ...(key ? { secrets: new SecretBox(key.key), keySource: source } : {}),
    }).catch((err: unknown) => {
      throw explainDatabaseError(err, config.databaseUrl);
    });
    failed = false;
    const rows = Object.values(summary.counts).reduce((a, b) => a + b, 0);
    bar?.finish(
      `${rows.toLocaleString('en-US')} rows from a ${summary.header.source} export of ${summary.header.exported_at} into ${redactUrl(config.databaseUrl)}`,
    );
    const keyFile = masterKeyFileOf(location);
    if (given && keyFile !== undefined && !existsSync(keyFile)) {
      // The key travels with the restored database, so that `serve` finds it as it would have.
      writeFileSync(keyFile, `${given.key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      process.stderr.write(`import: the master key is now beside the database: ${keyFile}\n`);
    } else if (!key) {
      process.stderr.write(
        'import: serve this database with the master key of the exported one (--master-key-file FILE or TAGPLANE_MASTER_KEY): its secrets are sealed under that key.\n',
      );
    }
  } finally {
    lines.close();
    await store?.close();
    if (failed) removeNewFiles();
  }
}
