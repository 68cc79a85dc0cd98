import { KEY_CHECK_SETTING, opensKeyCheck } from '../auth/master-key.js';
import type { SecretBox } from '../auth/secret-box.js';
import type { Executor, Store } from '../store/database.js';
import {
  afterRestore,
  columnsAt,
  countRows,
  DUMP_COLUMNS,
  DUMP_TABLES,
  type DumpRow,
  type DumpTable,
  insertRows,
  readRows,
  tablesAt,
} from '../store/dump-store.js';
import { insertGatheredEvents } from '../store/gathered-events.js';

/*
 * A whole database as JSON lines: one header line, then one line per row, table by table in
 * foreign-key order, each table in primary-key order.
 *
 *   {"format":"tagplane-export","version":1,"schema":"0001-initial","source":"sqlite",
 *    "exported_at":"…","counts":{"settings":4,…,"tags":120}}
 *   {"table":"settings","row":{"name":"master_key_check","value":"v1:…"}}
 *   …
 *
 * Rows are copied as stored: password hashes, and secret keys and the token signing key still
 * sealed under the master key, so the file is as sensitive as the database, and a database
 * restored from it must be served with the same master key. Resource rids are kept, so every
 * listing keeps its order.
 */

export const EXPORT_FORMAT = 'tagplane-export';
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: number;
  /** The last migration run on the exported database. */
  readonly schema: string;
  readonly source: 'sqlite' | 'postgres';
  readonly exported_at: string;
  readonly counts: Record<DumpTable, number>;
}

/** An export or import that cannot proceed; the message says why. Nothing was written. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

/** Reports work done, for a progress bar. */
export interface Progress {
  start(total: number): void;
  advance(rows: number): void;
}

const silent: Progress = { start() {}, advance() {} };
const BATCH = 1000;

/** Tables of tenant data: an import goes only into a database where they are all empty. */
const isTenantTable = (t: DumpTable) => t !== 'settings';

/**
 * Writes the whole database, as one consistent snapshot, to `write` (which resolves when the
 * line may be followed by another). Reads in batches: memory does not grow with the database.
 */
export async function exportDatabase(
  store: Store,
  write: (text: string) => Promise<void>,
  progress: Progress = silent,
): Promise<ExportHeader> {
  const { executed, pending, unknown } = await store.schemaStatus();
  if (unknown.length > 0) {
    throw new BackupError(
      `the database schema is newer than this version of tagplane knows (${unknown.join(', ')}); export it with a newer tagplane`,
    );
  }
  if (executed.length === 0 || pending.length > 0) {
    throw new BackupError(
      `the database is not at the current schema (pending: ${pending.join(', ')}); run \`tagplane migrate\` first`,
    );
  }
  return store.readTransaction(async (tx) => {
    const counts = {} as Record<DumpTable, number>;
    for (const table of DUMP_TABLES) counts[table] = await countRows(tx, table);
    const header: ExportHeader = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      schema: executed[executed.length - 1]!,
      source: store.location.kind,
      exported_at: new Date().toISOString(),
      counts,
    };
    progress.start(Object.values(counts).reduce((a, b) => a + b, 0));
    await write(`${JSON.stringify(header)}\n`);
    for (const table of DUMP_TABLES) {
      let after: DumpRow | undefined;
      for (;;) {
        const rows = await readRows(tx, table, after, BATCH);
        if (rows.length === 0) break;
        let text = '';
        for (const row of rows) text += `${JSON.stringify({ table, row: ordered(table, row) })}\n`;
        await write(text);
        progress.advance(rows.length);
        after = rows[rows.length - 1];
        if (rows.length < BATCH) break;
      }
    }
    return header;
  });
}

/** The row with its columns in schema order and numbers as numbers, whichever database. */
function ordered(table: DumpTable, row: DumpRow): DumpRow {
  const out: DumpRow = {};
  for (const [col, type] of Object.entries(DUMP_COLUMNS[table])) {
    const v = row[col] ?? null;
    out[col] = type === 'integer' && v !== null ? Number(v) : v;
  }
  return out;
}

export interface ImportSummary {
  readonly header: ExportHeader;
  readonly counts: Record<DumpTable, number>;
  /** Whether the master key given could open the export's sealed secrets; undefined: none given. */
  readonly masterKeyMatches?: boolean;
}

function parseHeader(text: string): ExportHeader {
  let h: Partial<ExportHeader>;
  try {
    h = JSON.parse(text) as Partial<ExportHeader>;
  } catch {
    throw new BackupError('line 1 is not JSON: this is not a tagplane export');
  }
  if (h === null || typeof h !== 'object' || h.format !== EXPORT_FORMAT) {
    throw new BackupError('line 1 is not a tagplane export header');
  }
  if (h.version !== EXPORT_VERSION) {
    throw new BackupError(
      `export format version ${String(h.version)} is not supported (this tagplane reads version ${EXPORT_VERSION})`,
    );
  }
  if (typeof h.schema !== 'string' || typeof h.counts !== 'object' || h.counts === null) {
    throw new BackupError('the export header lacks its schema or row counts');
  }
  const present = tablesAt(h.schema);
  const counts = {} as Record<DumpTable, number>;
  for (const t of DUMP_TABLES) {
    const n = h.counts[t];
    if (!present.includes(t)) {
      // A table a later migration created: an export of an older schema has none of its rows.
      if (n !== undefined && n !== 0) {
        throw new BackupError(
          `the export header counts ${String(n)} rows of ${t}, which schema ${h.schema} does not have`,
        );
      }
      counts[t] = 0;
    } else if (!Number.isSafeInteger(n) || n < 0) {
      throw new BackupError(`the export header has no valid row count for ${t}`);
    } else {
      counts[t] = n;
    }
  }
  return { ...(h as ExportHeader), counts };
}

function checkRow(table: DumpTable, row: unknown, where: string, schema: string): DumpRow {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new BackupError(`${where}: 'row' must be an object`);
  }
  // The columns of the export's schema: a column added later is not in an older export.
  const columns = columnsAt(table, schema);
  const r = row as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!columns.includes(k)) throw new BackupError(`${where}: ${table} has no column '${k}'`);
  }
  for (const col of columns) {
    const type = DUMP_COLUMNS[table][col];
    const v = r[col];
    const ok =
      type === 'integer'
        ? Number.isSafeInteger(v)
        : typeof v === 'string' || (type === 'text?' && v === null);
    if (!ok) {
      const want =
        type === 'integer' ? 'an integer' : type === 'text' ? 'a string' : 'a string or null';
      throw new BackupError(`${where}: ${table}.${col} must be ${want}`);
    }
  }
  return r as DumpRow;
}

async function requireEmpty(tx: Executor, tables: readonly DumpTable[]): Promise<void> {
  // Events that writes before this one in the same group commit appended count too.
  await insertGatheredEvents(tx);
  const present: string[] = [];
  for (const t of tables.filter(isTenantTable)) {
    const n = await countRows(tx, t);
    if (n > 0) present.push(`${n} ${t}`);
  }
  if (present.length > 0) {
    throw new BackupError(
      `the target database already holds data (${present.join(', ')}); import into a new, empty database`,
    );
  }
}

/**
 * Restores an export into an empty database, all or nothing: the database is migrated to the
 * export's schema, every row is inserted in one transaction (the target's own settings are
 * replaced by the export's), the row counts are checked against the header, and the database is
 * then migrated to the latest schema. With `secrets`, the export's master-key check must open
 * under that key.
 */
export async function importDatabase(
  store: Store,
  lines: AsyncIterable<string>,
  options: {
    progress?: Progress;
    secrets?: SecretBox;
    /** Which key `secrets` holds and where it came from, for the refusal when it does not fit. */
    keySource?: string;
  } = {},
): Promise<ImportSummary> {
  const progress = options.progress ?? silent;
  const iterator = lines[Symbol.asyncIterator]();
  let lineNo = 0;
  const next = async (): Promise<string | undefined> => {
    for (;;) {
      const r = await iterator.next();
      if (r.done) return undefined;
      lineNo++;
      if (r.value.trim() !== '') return r.value;
    }
  };

  const first = await next();
  if (first === undefined) throw new BackupError('the export is empty');
  const header = parseHeader(first);

  const { executed, unknown } = await store.schemaStatus();
  if (unknown.length > 0) {
    throw new BackupError(
      `the target database's schema is newer than this version of tagplane knows (${unknown.join(', ')})`,
    );
  }
  if (!store.knownMigrations().includes(header.schema)) {
    throw new BackupError(
      `the export was made at schema ${header.schema}, which this version of tagplane does not know; import it with a newer tagplane`,
    );
  }
  const beyond = executed.filter((name) => name > header.schema);
  if (beyond.length > 0) {
    throw new BackupError(
      `the target database is already past the export's schema ${header.schema} (${beyond.join(', ')}); import into a new, empty database`,
    );
  }
  await store.migrate(header.schema);

  const counts = Object.fromEntries(DUMP_TABLES.map((t) => [t, 0])) as Record<DumpTable, number>;
  let masterKeyMatches: boolean | undefined;
  progress.start(Object.values(header.counts).reduce((a, b) => a + b, 0));

  await store.transaction(
    async (tx) => {
      // The target is at the export's schema now: it has exactly the tables the export has.
      const tables = tablesAt(header.schema);
      await requireEmpty(tx, tables);
      await tx.deleteFrom('settings').execute();
      let current = 0;
      let batch: DumpRow[] = [];
      const flush = async () => {
        await insertRows(tx, DUMP_TABLES[current]!, batch, header.schema);
        progress.advance(batch.length);
        batch = [];
      };
      for (let text = await next(); text !== undefined; text = await next()) {
        const where = `line ${lineNo}`;
        let entry: { table?: unknown; row?: unknown };
        try {
          entry = JSON.parse(text) as typeof entry;
        } catch {
          throw new BackupError(`${where} is not JSON`);
        }
        const index = DUMP_TABLES.indexOf(entry?.table as DumpTable);
        if (index < 0)
          throw new BackupError(`${where}: unknown table ${JSON.stringify(entry?.table)}`);
        if (index < current) {
          throw new BackupError(
            `${where}: ${DUMP_TABLES[index]} rows must come before ${DUMP_TABLES[current]} rows`,
          );
        }
        if (index !== current) {
          await flush();
          current = index;
        }
        const table = DUMP_TABLES[index]!;
        if (!tables.includes(table)) {
          throw new BackupError(`${where}: schema ${header.schema} has no table ${table}`);
        }
        const row = checkRow(table, entry.row, where, header.schema);
        if (table === 'settings' && row.name === KEY_CHECK_SETTING && options.secrets) {
          masterKeyMatches = opensKeyCheck(options.secrets, String(row.value));
          if (!masterKeyMatches) {
            throw new BackupError(
              `the export was made under a different master key than ${options.keySource ?? 'the one given'}; its secrets could not be opened`,
            );
          }
        }
        batch.push(row);
        counts[table]++;
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      const short = DUMP_TABLES.filter((t) => counts[t] !== header.counts[t]);
      if (short.length > 0) {
        throw new BackupError(
          `the export is incomplete or altered: ${short
            .map((t) => `${t} ${counts[t]} rows, header says ${header.counts[t]}`)
            .join('; ')}`,
        );
      }
      await afterRestore(tx, store.caps, header.schema);
    },
    { once: true },
  );
  await store.migrate();
  return { header, counts, ...(masterKeyMatches !== undefined ? { masterKeyMatches } : {}) };
}
