import cluster from 'node:cluster';
import { Command, CommanderError, Option } from 'commander';
import { BackupError } from './admin/backup.js';
import { SeedError } from './admin/seed-document.js';
import { exportCommand, importCommand } from './backup-commands.js';
import { startCluster, startWorker } from './cluster.js';
import {
  ConfigError,
  DEFAULT_DATABASE_URL,
  DEFAULT_HOST,
  DEFAULT_PORT,
  LOG_LEVELS,
  MAX_WORKERS,
  parseServeConfig,
  parseToolConfig,
  type ServeConfig,
  type ServeFlags,
} from './config.js';
import { VERSION } from './core/version.js';
import { explainDatabaseError } from './database-errors.js';
import { startServer } from './server.js';
import { parseDatabaseUrl, redactUrl, Store } from './store/database.js';

function fail(message: string, status = 1): never {
  process.stderr.write(`tagplane: ${message}\n`);
  process.exit(status);
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = parseServeConfig(flags, process.env);
  if (config.workers > 1) {
    await (cluster.isPrimary ? servePrimary(config) : serveWorker(config));
    return;
  }
  const started = startServer(config, (line) => process.stdout.write(`${line}\n`)).catch(
    (err: unknown) => {
      throw explainDatabaseError(err, config.databaseUrl);
    },
  );
  // Listening before the listening line is printed: a signal that follows the line at once
  // (a supervisor, a test) drains the server instead of killing the process mid-start.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`tagplane: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`tagplane: ${signal} received, finishing in-flight requests\n`);
    started
      .then((server) => server.close())
      .then(
        () => process.exit(0),
        (err: unknown) => fail(`shutdown failed: ${(err as Error).message}`),
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await started;
}

/** The primary of `serve --workers N`: it speaks for the workers and stops them. */
async function servePrimary(config: ServeConfig): Promise<void> {
  const running = startCluster(config, (line) => process.stdout.write(`${line}\n`)).catch(
    (err: unknown) => {
      throw explainDatabaseError(err, config.databaseUrl);
    },
  );
  // As in serve(): the handlers are in place before the listening line is printed.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`tagplane: ${signal} again, exiting now\n`);
      void running
        .then(
          (r) => r.kill(),
          () => {},
        )
        .finally(() => process.exit(1));
      return;
    }
    stopping = true;
    process.stderr.write(
      `tagplane: ${signal} received, ${config.workers} workers finishing in-flight requests\n`,
    );
    running
      .then((r) => r.close())
      .then(
        () => process.exit(0),
        (err: unknown) => fail(`shutdown failed: ${(err as Error).message}`),
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await running;
}

/**
 * A worker drains on the first SIGTERM or SIGINT and lets later ones pass: Ctrl-C reaches the
 * whole process group, and the primary, which decides when to give up waiting, sends its own.
 */
async function serveWorker(config: ServeConfig): Promise<void> {
  const server = await startWorker(config);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (err: unknown) => fail(`worker ${process.pid}: shutdown failed: ${(err as Error).message}`),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function migrate(opts: { database?: string }): Promise<void> {
  const { databaseUrl } = parseToolConfig(opts, process.env);
  const store = Store.open(parseDatabaseUrl(databaseUrl), { poolSize: 2 });
  try {
    const { applied } = await store.migrate().catch((err: unknown) => {
      throw explainDatabaseError(err, databaseUrl);
    });
    const all = await store.executedMigrations();
    process.stdout.write(
      `${redactUrl(databaseUrl)}: ${applied} migration(s) applied; schema at ${all[all.length - 1] ?? '(none)'}\n`,
    );
  } finally {
    await store.close();
  }
}

export function program(): Command {
  const cmd = new Command('tagplane')
    .description(
      'Resource-tag APIs of five Huawei Cloud / Open Telekom Cloud services over one tag store',
    )
    .version(VERSION, '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    // Usage errors are reported by commander and end in main() with status 2, like ConfigError.
    .exitOverride();

  cmd
    .command('serve')
    .description('run the API server')
    .option(
      '--host <host>',
      `address to listen on; 0.0.0.0 for every interface (TAGPLANE_HOST; default ${DEFAULT_HOST})`,
    )
    .option(
      '--port <port>',
      `port to listen on; 0 picks a free one (TAGPLANE_PORT; default ${DEFAULT_PORT})`,
    )
    .option(
      '--database <url>',
      `sqlite:PATH, sqlite::memory: (nothing kept after exit) or postgres://… (TAGPLANE_DATABASE_URL; default ${DEFAULT_DATABASE_URL})`,
    )
    .option('--seed <file>', 'seed document to load at start-up (TAGPLANE_SEED)')
    .addOption(
      new Option(
        '--auth <mode>',
        'strict verifies tokens and signatures; open accepts any token or signature unchecked, as a root user of every project: for local tests (TAGPLANE_AUTH; default strict)',
      ).choices(['strict', 'open']),
    )
    .option(
      '--admin-token <token>',
      'token for the admin API, 16 characters or more (TAGPLANE_ADMIN_TOKEN; default: generated on first start and printed once)',
    )
    .option(
      '--no-demo',
      'do not create demo data in a new database (TAGPLANE_DEMO=0; default: demo data created)',
    )
    .option(
      '--no-migrate',
      'do not run migrations; refuse to start while any is pending (TAGPLANE_MIGRATE=0; default: migrations run)',
    )
    .option('--log-level <level>', `${LOG_LEVELS.join(', ')} (TAGPLANE_LOG_LEVEL; default info)`)
    .option(
      '--log-format <format>',
      'logs on standard error: text (readable lines), json (one JSON object a line) or auto: text when standard output is a terminal, else json (TAGPLANE_LOG_FORMAT; default auto)',
    )
    .option(
      '--master-key-file <file>',
      'file holding the master key that seals secrets at rest (TAGPLANE_MASTER_KEY_FILE, or the key itself in TAGPLANE_MASTER_KEY; default: master.key beside a SQLite database, created for a new one)',
    )
    .option(
      '--workers <n>',
      `processes serving the port, 1–${MAX_WORKERS}; more than 1 needs PostgreSQL (TAGPLANE_WORKERS; default 1)`,
    )
    .option(
      '--login-lockout <spec>',
      'ATTEMPTS/WINDOW_MIN/LOCK_MIN: that many failed logins of a user within WINDOW_MIN minutes lock it for LOCK_MIN minutes (fractions allowed: 0.05 is 3 s), or off (TAGPLANE_LOGIN_LOCKOUT; default 5/15/15)',
    )
    .option(
      '--aksk-lockout <spec>',
      'FAILURES/LOCK_MIN: more than FAILURES consecutive signature failures of an access key lock it for LOCK_MIN minutes, or off (TAGPLANE_AKSK_LOCKOUT; default 5/5)',
    )
    .option(
      '--event-retention <days>',
      'days of change history kept; older events are pruned in the background; 0 keeps all (TAGPLANE_EVENT_RETENTION; default 30)',
    )
    .option(
      '--rate-limit <n>',
      'requests per second per credential (access key, or token user), bursts of N, per node; excess calls get 429 APIG.0308 (TAGPLANE_RATE_LIMIT; default off)',
    )
    .option(
      '--request-log <n>',
      'how many of its last requests each node keeps for GET /admin/v1/requests; 0 keeps none (TAGPLANE_REQUEST_LOG; default 1000)',
    )
    .option(
      '--idle-timeout <seconds>',
      'close a connection idle this long (TAGPLANE_IDLE_TIMEOUT; default 75)',
    )
    .option(
      '--request-timeout <seconds>',
      'answer 408 APIG.0201 to a request whose headers and body have not arrived within this time (TAGPLANE_REQUEST_TIMEOUT; default 30)',
    )
    .option(
      '--query-timeout <seconds>',
      'stop a query running longer and answer 504 APIG.0203; on PostgreSQL the statement_timeout of every statement (TAGPLANE_QUERY_TIMEOUT; default 10)',
    )
    .action(async (opts: ServeFlags & { demo: boolean; migrate: boolean }) => {
      // commander defaults --no-x options to true; only an explicit --no-x overrides the env.
      const flags: ServeFlags = { ...opts };
      if (opts.demo !== false) delete flags.demo;
      if (opts.migrate !== false) delete flags.migrate;
      await serve(flags);
    });

  cmd
    .command('migrate')
    .description('run the database migrations and exit (for rolling deploys)')
    .option('--database <url>', 'database URL (TAGPLANE_DATABASE_URL)')
    .action(migrate);

  cmd
    .command('export')
    .description('write the whole database as JSON lines (a backup, or a move to another store)')
    .option('--database <url>', 'database URL (TAGPLANE_DATABASE_URL)')
    .option('-o, --output <file>', 'file to write (.gz: compressed); default standard output')
    .option('--no-progress', 'no progress bar on standard error')
    .action(exportCommand);

  cmd
    .command('import')
    .description('load an export into a new, empty database, all or nothing')
    .option('--database <url>', 'database URL (TAGPLANE_DATABASE_URL)')
    .option('-i, --input <file>', 'export to read (.gz: compressed); default standard input')
    .option(
      '--master-key-file <file>',
      "the exported database's master key (TAGPLANE_MASTER_KEY_FILE, or the key itself in TAGPLANE_MASTER_KEY); checked against the export, and copied beside a new SQLite database",
    )
    .option('--no-progress', 'no progress bar on standard error')
    .action(importCommand);

  return cmd;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    // Commander has already printed its message (or the help that was asked for).
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    if (err instanceof ConfigError) fail(err.message, 2);
    if (err instanceof SeedError) fail(`seed rejected: ${err.message}`, 1);
    if (err instanceof BackupError) fail(err.message, 1);
    const message = (err as Error).message ?? String(err);
    if (message.includes('Could not locate the bindings file')) {
      // npm 11 skips dependencies' install scripts in global installs unless allowed.
      fail(
        'the SQLite driver (better-sqlite3) has no native binding: it was installed without its install script. Reinstall with `npm install -g --allow-scripts=better-sqlite3 <tagplane package>`, or run `npm rebuild better-sqlite3` in the folder tagplane is installed in',
      );
    }
    fail(message);
  }
}
