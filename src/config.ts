import { type AccessKeyLockoutPolicy, DEFAULT_AKSK_LOCKOUT } from './auth/access-key-lockout.js';
import type { AuthMode } from './auth/authenticator.js';
import { DEFAULT_LOGIN_LOCKOUT, type LoginLockoutPolicy } from './auth/login-lockout.js';
import { capabilitiesOf, parseDatabaseUrl } from './store/database.js';

export interface ServeConfig {
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  readonly seedFile?: string;
  readonly auth: AuthMode;
  readonly adminToken?: string;
  /** Create the demo data on a new database. */
  readonly demo: boolean;
  readonly logLevel: LogLevel;
  /** How logs are written to standard error: `auto` is text on a terminal, JSON otherwise. */
  readonly logFormat: LogFormat;
  readonly pgPoolSize: number;
  /** How long a SQLite write waits for another process's write lock before answering 503. */
  readonly sqliteBusyTimeoutMs: number;
  /** The master key from TAGPLANE_MASTER_KEY, unparsed. */
  readonly masterKey?: string;
  /** The file holding the master key (--master-key-file, TAGPLANE_MASTER_KEY_FILE). */
  readonly masterKeyFile?: string;
  /** Run pending migrations at start-up; when false, refuse to start while any is pending. */
  readonly migrate: boolean;
  /** Processes serving the port (node:cluster); more than one only on PostgreSQL. */
  readonly workers: number;
  /** Login lockout; null: off. */
  readonly loginLockout: LoginLockoutPolicy | null;
  /** Access-key lockout; null: off. */
  readonly akskLockout: AccessKeyLockoutPolicy | null;
  /** Days of change log kept (0: all). */
  readonly eventRetentionDays: number;
  /** Requests per second per credential, bursts of as many; null: unlimited. */
  readonly rateLimit: number | null;
  /** How many of its last requests a node keeps for GET /admin/v1/requests (0: none). */
  readonly requestLog: number;
  /** A connection idle this long is closed. */
  readonly idleTimeoutMs: number;
  /** A request not received in full within this long is answered 408. */
  readonly requestTimeoutMs: number;
  /** A query (a statement on PostgreSQL) running longer is stopped and answered 504. */
  readonly queryTimeoutMs: number;
  /** SQLite file: threads running the expensive reads (0: on the main thread). */
  readonly readThreads: number;
}

/** What the one-shot commands (migrate, export, import) need. */
export interface ToolConfig {
  readonly databaseUrl: string;
  readonly masterKey?: string;
  readonly masterKeyFile?: string;
}

export const DEFAULT_DATABASE_URL = 'sqlite:./data/tagplane.db';
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** A problem with the command line or environment: printed, exit status 2. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ServeFlags {
  host?: string;
  port?: string;
  database?: string;
  seed?: string;
  auth?: string;
  adminToken?: string;
  demo?: boolean;
  migrate?: boolean;
  logLevel?: string;
  logFormat?: string;
  masterKeyFile?: string;
  workers?: string;
  loginLockout?: string;
  akskLockout?: string;
  eventRetention?: string;
  rateLimit?: string;
  requestLog?: string;
  idleTimeout?: string;
  requestTimeout?: string;
  queryTimeout?: string;
}

/** More would only queue on the database's connections; a typo like 100 should not fork 100. */
export const MAX_WORKERS = 64;

function pick(flag: string | undefined, env: string | undefined): string | undefined {
  return flag !== undefined ? flag : env !== undefined && env !== '' ? env : undefined;
}

/** Lockout counts go up to this; lockout windows and locks up to a day. */
export const MAX_LOCKOUT_ATTEMPTS = 1000;
export const MAX_LOCKOUT_MINUTES = 1440;

/** A whole number of attempts, 1–1000; or why not. */
function lockoutCount(text: string, name: string): number | string {
  const n = Number(text);
  return /^\d+$/.test(text) && n >= 1 && n <= MAX_LOCKOUT_ATTEMPTS
    ? n
    : `${name} '${text}' is not a whole number 1–${MAX_LOCKOUT_ATTEMPTS}`;
}

/**
 * Minutes, as milliseconds: a decimal number above 0 and at most a day; a fraction expresses
 * shorter times (0.05 is 3 seconds). Or why not.
 */
function lockoutMinutes(text: string, name: string): number | string {
  const minutes = Number(text);
  const ms = Math.round(minutes * 60_000);
  return /^\d+(\.\d+)?$/.test(text) && ms >= 1 && minutes <= MAX_LOCKOUT_MINUTES
    ? ms
    : `${name} '${text}' is not a number of minutes above 0 and at most ${MAX_LOCKOUT_MINUTES}`;
}

function lockoutError(what: string, text: string, form: string, example: string, why: string) {
  return new ConfigError(
    `invalid ${what} '${text}': ${why}; use ${form} (e.g. ${example}; minutes may have a fraction: 0.05 is 3 seconds) or off`,
  );
}

/** Time limits go up to an hour. */
export const MAX_TIME_LIMIT_SECONDS = 3600;

/**
 * A time limit in seconds (a fraction allowed: 0.5 is half a second), above 0 and at most an
 * hour, as milliseconds.
 */
function seconds(text: string, what: string): number {
  const s = Number(text);
  const ms = Math.round(s * 1000);
  if (!/^\d+(\.\d+)?$/.test(text) || ms < 1 || s > MAX_TIME_LIMIT_SECONDS) {
    throw new ConfigError(
      `invalid ${what} '${text}': use a number of seconds above 0 and at most ${MAX_TIME_LIMIT_SECONDS} (fractions allowed: 0.5 is half a second)`,
    );
  }
  return ms;
}

/** `ATTEMPTS/WINDOW_MIN/LOCK_MIN` or `off` (--login-lockout, TAGPLANE_LOGIN_LOCKOUT). */
export function parseLoginLockout(text: string): LoginLockoutPolicy | null {
  if (text === 'off') return null;
  const what = 'login lockout (--login-lockout, TAGPLANE_LOGIN_LOCKOUT)';
  const fail = (why: string) =>
    lockoutError(what, text, 'ATTEMPTS/WINDOW_MIN/LOCK_MIN', '5/15/15', why);
  const parts = text.split('/');
  if (parts.length !== 3) throw fail('it needs three parts');
  const attempts = lockoutCount(parts[0]!, 'ATTEMPTS');
  const windowMs = lockoutMinutes(parts[1]!, 'WINDOW_MIN');
  const lockMs = lockoutMinutes(parts[2]!, 'LOCK_MIN');
  for (const v of [attempts, windowMs, lockMs]) if (typeof v === 'string') throw fail(v);
  return Object.freeze({
    attempts: attempts as number,
    windowMs: windowMs as number,
    lockMs: lockMs as number,
  });
}

/** `FAILURES/LOCK_MIN` or `off` (--aksk-lockout, TAGPLANE_AKSK_LOCKOUT). */
export function parseAkskLockout(text: string): AccessKeyLockoutPolicy | null {
  if (text === 'off') return null;
  const what = 'access-key lockout (--aksk-lockout, TAGPLANE_AKSK_LOCKOUT)';
  const fail = (why: string) => lockoutError(what, text, 'FAILURES/LOCK_MIN', '5/5', why);
  const parts = text.split('/');
  if (parts.length !== 2) throw fail('it needs two parts');
  const failures = lockoutCount(parts[0]!, 'FAILURES');
  const lockMs = lockoutMinutes(parts[1]!, 'LOCK_MIN');
  for (const v of [failures, lockMs]) if (typeof v === 'string') throw fail(v);
  return Object.freeze({ failures: failures as number, lockMs: lockMs as number });
}

export const MAX_RATE_LIMIT = 1_000_000;
export const MAX_REQUEST_LOG = 1_000_000;
export const DEFAULT_REQUEST_LOG = 1000;

/** `N` requests per second per credential, or `off` (--rate-limit, TAGPLANE_RATE_LIMIT). */
export function parseRateLimit(text: string): number | null {
  if (text === 'off' || text === '0') return null;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > MAX_RATE_LIMIT) {
    throw new ConfigError(
      `invalid rate limit (--rate-limit, TAGPLANE_RATE_LIMIT) '${text}': use a whole number of requests per second per credential, 1–${MAX_RATE_LIMIT}, or off`,
    );
  }
  return n;
}

/** How many requests the request log keeps (--request-log, TAGPLANE_REQUEST_LOG). */
export function parseRequestLog(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > MAX_REQUEST_LOG) {
    throw new ConfigError(
      `invalid request log size (--request-log, TAGPLANE_REQUEST_LOG) '${text}': use 0–${MAX_REQUEST_LOG} (0 keeps none)`,
    );
  }
  return n;
}

/** Flags win over environment variables; both are read here once, at start-up. */
export function parseServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv): ServeConfig {
  const portText = pick(flags.port, env.TAGPLANE_PORT) ?? String(DEFAULT_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new ConfigError(`invalid port '${portText}': use 0–65535 (0 picks a free port)`);
  }
  const auth = pick(flags.auth, env.TAGPLANE_AUTH) ?? 'strict';
  if (auth !== 'strict' && auth !== 'open') {
    throw new ConfigError(`invalid auth mode '${auth}': use strict or open`);
  }
  const databaseUrl = pick(flags.database, env.TAGPLANE_DATABASE_URL) ?? DEFAULT_DATABASE_URL;
  try {
    parseDatabaseUrl(databaseUrl);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const poolText = env.TAGPLANE_PG_POOL ?? '10';
  const pgPoolSize = Number(poolText);
  if (!Number.isInteger(pgPoolSize) || pgPoolSize < 1 || pgPoolSize > 1000) {
    throw new ConfigError(`invalid TAGPLANE_PG_POOL '${poolText}': use 1–1000`);
  }
  const busyText = env.TAGPLANE_SQLITE_BUSY_TIMEOUT ?? '10000';
  const sqliteBusyTimeoutMs = Number(busyText);
  if (!/^\d+$/.test(busyText) || sqliteBusyTimeoutMs > 600_000) {
    throw new ConfigError(
      `invalid TAGPLANE_SQLITE_BUSY_TIMEOUT '${busyText}': use 0–600000 (milliseconds)`,
    );
  }
  const adminToken = pick(flags.adminToken, env.TAGPLANE_ADMIN_TOKEN);
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('the admin token must be at least 16 characters');
  }
  const workersText = pick(flags.workers, env.TAGPLANE_WORKERS) ?? '1';
  const workers = Number(workersText);
  if (!/^\d+$/.test(workersText) || workers < 1 || workers > MAX_WORKERS) {
    throw new ConfigError(`invalid number of workers '${workersText}': use 1–${MAX_WORKERS}`);
  }
  if (workers > 1 && !capabilitiesOf(parseDatabaseUrl(databaseUrl)).concurrentWriters) {
    throw new ConfigError(
      `--workers ${workers} needs the PostgreSQL store: a SQLite database has one writer at a time, so several processes on one file would take turns at its write lock instead of serving in parallel (and wait on each other's transactions); serve SQLite with one process, or use postgres://…`,
    );
  }
  const loginLockoutText = pick(flags.loginLockout, env.TAGPLANE_LOGIN_LOCKOUT);
  const loginLockout =
    loginLockoutText === undefined ? DEFAULT_LOGIN_LOCKOUT : parseLoginLockout(loginLockoutText);
  const akskLockoutText = pick(flags.akskLockout, env.TAGPLANE_AKSK_LOCKOUT);
  const akskLockout =
    akskLockoutText === undefined ? DEFAULT_AKSK_LOCKOUT : parseAkskLockout(akskLockoutText);
  const retentionText = pick(flags.eventRetention, env.TAGPLANE_EVENT_RETENTION) ?? '30';
  const eventRetentionDays = Number(retentionText);
  if (!/^\d+$/.test(retentionText) || eventRetentionDays > 36_500) {
    throw new ConfigError(
      `invalid event retention '${retentionText}': use a number of days 0–36500 (0 keeps every event)`,
    );
  }
  const rateLimitText = pick(flags.rateLimit, env.TAGPLANE_RATE_LIMIT);
  const rateLimit = rateLimitText === undefined ? null : parseRateLimit(rateLimitText);
  const requestLogText = pick(flags.requestLog, env.TAGPLANE_REQUEST_LOG);
  const requestLog =
    requestLogText === undefined ? DEFAULT_REQUEST_LOG : parseRequestLog(requestLogText);
  const idleTimeoutMs = seconds(
    pick(flags.idleTimeout, env.TAGPLANE_IDLE_TIMEOUT) ?? '75',
    'idle timeout (--idle-timeout, TAGPLANE_IDLE_TIMEOUT)',
  );
  const requestTimeoutMs = seconds(
    pick(flags.requestTimeout, env.TAGPLANE_REQUEST_TIMEOUT) ?? '30',
    'request timeout (--request-timeout, TAGPLANE_REQUEST_TIMEOUT)',
  );
  const queryTimeoutMs = seconds(
    pick(flags.queryTimeout, env.TAGPLANE_QUERY_TIMEOUT) ?? '10',
    'query timeout (--query-timeout, TAGPLANE_QUERY_TIMEOUT)',
  );
  const threadsText = env.TAGPLANE_READ_THREADS ?? '2';
  const readThreads = Number(threadsText);
  if (!/^\d+$/.test(threadsText) || readThreads > 16) {
    throw new ConfigError(`invalid TAGPLANE_READ_THREADS '${threadsText}': use 0–16`);
  }
  const logLevel = pick(flags.logLevel, env.TAGPLANE_LOG_LEVEL) ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(
      `invalid log level '${logLevel}' (--log-level, TAGPLANE_LOG_LEVEL): use one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  const logFormat = pick(flags.logFormat, env.TAGPLANE_LOG_FORMAT) ?? 'auto';
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new ConfigError(
      `invalid log format '${logFormat}' (--log-format, TAGPLANE_LOG_FORMAT): use one of ${LOG_FORMATS.join(', ')}`,
    );
  }
  const seedFile = pick(flags.seed, env.TAGPLANE_SEED);
  const demoEnv = env.TAGPLANE_DEMO;
  const migrateEnv = env.TAGPLANE_MIGRATE;
  return Object.freeze({
    host: pick(flags.host, env.TAGPLANE_HOST) ?? DEFAULT_HOST,
    port,
    databaseUrl,
    ...(seedFile !== undefined ? { seedFile } : {}),
    auth,
    ...(adminToken !== undefined ? { adminToken } : {}),
    demo: flags.demo ?? !(demoEnv === '0' || demoEnv === 'false'),
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
    pgPoolSize,
    sqliteBusyTimeoutMs,
    ...masterKeyOf(flags, env),
    migrate: flags.migrate ?? !(migrateEnv === '0' || migrateEnv === 'false'),
    workers,
    loginLockout,
    akskLockout,
    eventRetentionDays,
    rateLimit,
    requestLog,
    idleTimeoutMs,
    requestTimeoutMs,
    queryTimeoutMs,
    readThreads,
  });
}

/** The master key named by a flag or the environment: a file, or the key itself. */
function masterKeyOf(
  flags: { masterKeyFile?: string },
  env: NodeJS.ProcessEnv,
): { masterKey?: string; masterKeyFile?: string } {
  const file = pick(flags.masterKeyFile, env.TAGPLANE_MASTER_KEY_FILE);
  return {
    ...(env.TAGPLANE_MASTER_KEY ? { masterKey: env.TAGPLANE_MASTER_KEY } : {}),
    ...(file !== undefined ? { masterKeyFile: file } : {}),
  };
}

export function parseToolConfig(
  flags: { database?: string; masterKeyFile?: string },
  env: NodeJS.ProcessEnv,
): ToolConfig {
  const databaseUrl = pick(flags.database, env.TAGPLANE_DATABASE_URL) ?? DEFAULT_DATABASE_URL;
  try {
    parseDatabaseUrl(databaseUrl);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return Object.freeze({ databaseUrl, ...masterKeyOf(flags, env) });
}
