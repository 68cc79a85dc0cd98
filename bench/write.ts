/**
 * Write-path benchmark: tagplane's tag writes side by side with two references, in one run.
 *
 *   npm run bench                                  everything (about 6 minutes; longer the first
 *                                                  time, which builds the start-up dataset)
 *   npm run bench -- --rows sqlite-token,ceiling --skip-startup     a subset
 *   npm run bench -- --duration 30 --connections 64 --update-docs
 *
 * - the ceiling: a bare node:http server that reads and parses the JSON body and answers 204;
 * - the peer: the Prism mock server (`prism mock`) on tagplane's own OpenAPI document;
 * - tagplane (`node bin/tagplane.js serve`, built first) on a new SQLite file and on a new
 *   PostgreSQL database (created and dropped here), with one worker and with two.
 *
 * Each server is a child process of its own; this process only generates load (autocannon, 32
 * connections, a warm-up, then the measured run) and samples the server's memory and CPU from
 * /proc. Then it times start-up on a database of 1,000,000 resources. It prints one markdown
 * section (the table, the targets, the machine, the command) and writes it, with the raw figures
 * as JSON, under bench/out/; `--update-docs` also puts it into docs/benchmarks.md.
 *
 * Rows (`--rows`, comma-separated ids or prefixes such as `sqlite` or `prism`): ceiling,
 * prism-create, prism-list, prism-query, sqlite-token, sqlite-aksk, sqlite-list, sqlite-query,
 * pg-token, pg-token-2w; `none` for the start-up measurement alone.
 *
 * Options: --duration S (measured seconds per row, 10), --warmup S (3), --connections N (32),
 * --rows LIST, --skip-pg, --skip-startup, --startup-size N (1000000), --startup-runs N (5),
 * --pg-url URL (a server to create databases on; postgres://postgres@127.0.0.1:5432/postgres),
 * --update-docs, --render bench/out/write-….json (the section again from a run's saved figures),
 * --profile (tagplane runs under --cpu-prof: V8 profiles in bench/out/profiles/<row>/, to open in
 * Chrome DevTools or speedscope for a flame graph).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { parseDatabaseUrl } from '../src/store/database.js';
import { ensureDataset } from './bulk-load.js';
import { formatDuration } from './progress.js';
import { drive, type LoadOptions, type LoadResult, type RequestSpec } from './write-load.js';
import { describeMachine, type Machine } from './write-machine.js';
import {
  type Child,
  killAll,
  OUT,
  profileTagplane,
  ROOT,
  spawnCeiling,
  spawnPrism,
  spawnTagplane,
} from './write-processes.js';
import { measureStartup, type StartupResult } from './write-startup.js';
import {
  ADMIN_TOKEN,
  benchTenant,
  CLUSTERS,
  createPool,
  issueToken,
  listPool,
  MASTER_KEY,
  queryPool,
  SERVERS,
  seedTenant,
  signedCreatePool,
} from './write-workload.js';

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    rows: { type: 'string' },
    'skip-pg': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'skip-startup': { type: 'boolean', default: false },
    'startup-size': { type: 'string', default: '1000000' },
    'startup-runs': { type: 'string', default: '5' },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'update-docs': { type: 'boolean', default: false },
    render: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function whole(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`bench: --${name} must be a whole number ≥ ${min}\n`);
    process.exit(2);
  }
  return n;
}

if (args.help) {
  process.stdout.write(
    `${readFileSync(new URL(import.meta.url), 'utf8')
      .split('*/')[0]!
      .replace(/^\/\*\*\n/, '')
      .replace(/^ \* ?/gm, '')}\n`,
  );
  process.exit(0);
}

const LOAD: LoadOptions = {
  durationS: whole('duration', args.duration, 1),
  warmupS: whole('warmup', args.warmup, 0),
  connections: whole('connections', args.connections, 1),
};
const STARTUP_SIZE = whole('startup-size', args['startup-size'], 1000);
if (args.profile) profileTagplane(join(OUT, 'profiles'));
const STARTUP_RUNS = whole('startup-runs', args['startup-runs'], 1);
/** The command that reproduces this run (`--update-docs` changes where it goes, not what). */
const COMMAND = (() => {
  const rest = process.argv.slice(2).filter((a) => a !== '--update-docs');
  return ['npm run bench', ...(rest.length > 0 ? ['--', ...rest] : [])].join(' ');
})();

type Route = 'create' | 'list' | 'query';
type ServerKind = 'ceiling' | 'prism' | 'sqlite' | 'pg' | 'pg2';

interface RowDef {
  readonly id: string;
  readonly label: string;
  readonly server: ServerKind;
  readonly route: Route;
  readonly tagplane: boolean;
}

const ROWS: readonly RowDef[] = [
  {
    id: 'ceiling',
    label: 'ceiling: node:http, parse JSON, 204',
    server: 'ceiling',
    route: 'create',
    tagplane: false,
  },
  {
    id: 'sqlite-token',
    label: 'SQLite + token: BMS create',
    server: 'sqlite',
    route: 'create',
    tagplane: true,
  },
  {
    id: 'sqlite-aksk',
    label: 'SQLite + AK/SK: BMS create',
    server: 'sqlite',
    route: 'create',
    tagplane: true,
  },
  {
    id: 'sqlite-list',
    label: 'SQLite + token: BMS list (GET)',
    server: 'sqlite',
    route: 'list',
    tagplane: true,
  },
  {
    id: 'sqlite-query',
    label: 'SQLite + token: MRS query, first page',
    server: 'sqlite',
    route: 'query',
    tagplane: true,
  },
  {
    id: 'pg-token',
    label: 'PostgreSQL + token: BMS create',
    server: 'pg',
    route: 'create',
    tagplane: true,
  },
  {
    id: 'pg-token-2w',
    label: 'PostgreSQL + token, 2 workers: BMS create',
    server: 'pg2',
    route: 'create',
    tagplane: true,
  },
  {
    id: 'prism-create',
    label: 'Prism mock: BMS create',
    server: 'prism',
    route: 'create',
    tagplane: false,
  },
  {
    id: 'prism-list',
    label: 'Prism mock: BMS list (GET)',
    server: 'prism',
    route: 'list',
    tagplane: false,
  },
  {
    id: 'prism-query',
    label: 'Prism mock: MRS query',
    server: 'prism',
    route: 'query',
    tagplane: false,
  },
];

function selectedRows(): RowDef[] {
  let rows = [...ROWS];
  if (args.rows === 'none') return [];
  if (args.rows) {
    const wanted = args.rows
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = wanted.filter((w) => !ROWS.some((r) => r.id === w || r.id.startsWith(`${w}-`)));
    if (unknown.length > 0) {
      process.stderr.write(
        `bench: unknown row(s) ${unknown.join(', ')}; rows: ${ROWS.map((r) => r.id).join(', ')}\n`,
      );
      process.exit(2);
    }
    rows = rows.filter((r) => wanted.some((w) => r.id === w || r.id.startsWith(`${w}-`)));
  }
  if (args['skip-pg']) rows = rows.filter((r) => r.server !== 'pg' && r.server !== 'pg2');
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Clean-up: children and PostgreSQL databases go away however the run ends.

const cleanups: (() => Promise<void>)[] = [];
async function cleanUp(): Promise<void> {
  killAll();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
    void cleanUp().then(() => process.exit(130));
  });
}

function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function onServer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A new PostgreSQL database on the server, dropped at the end of the run. */
async function newPostgresDatabase(prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await onServer(args['pg-url'], `create database ${name}`);
  cleanups.push(() => onServer(args['pg-url'], `drop database if exists ${name} with (force)`));
  const url = new URL(args['pg-url']);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The PostgreSQL server processes serving tagplane's connections to a database. */
async function backendPids(databaseUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: args['pg-url'] });
  await client.connect();
  try {
    const r = await client.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = $1 and application_name = 'tagplane'",
      [new URL(databaseUrl).pathname.slice(1)],
    );
    return r.rows.map((x) => x.pid);
  } finally {
    await client.end();
  }
}

async function dropPostgresDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await onServer(args['pg-url'], `drop database if exists ${name} with (force)`);
}

// ---------------------------------------------------------------------------------------------
// Runs

interface RowResult extends LoadResult {
  readonly id: string;
  readonly label: string;
  readonly route: Route;
  readonly tagplane: boolean;
}

const results: RowResult[] = [];
const notes: string[] = [];

async function measure(
  row: RowDef,
  server: Child,
  pool: readonly RequestSpec[],
  expected: number,
  databaseUrl?: string,
) {
  note(
    `▶ ${row.label}: warm-up ${LOAD.warmupS} s, then ${LOAD.durationS} s at ${LOAD.connections} connections`,
  );
  // PostgreSQL writes its dirty pages out at a checkpoint, and after one logs each page's first
  // change whole: one that fell inside a run would weigh on that run alone. Each run starts
  // just after one instead.
  if (databaseUrl?.startsWith('postgres')) await onServer(args['pg-url'], 'checkpoint');
  const r = await drive(
    server.url,
    pool,
    expected,
    server.pid,
    LOAD,
    databaseUrl?.startsWith('postgres') ? () => backendPids(databaseUrl) : undefined,
  );
  results.push({ ...r, id: row.id, label: row.label, route: row.route, tagplane: row.tagplane });
  const bad = Object.entries(r.unexpected);
  note(
    `  ${Math.round(r.rps).toLocaleString('en')} requests/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, peak RSS ${Math.round(r.peakRssMb)} MB, server CPU ${pct(r.serverCpu)}${r.databaseCpu !== undefined ? `, PostgreSQL CPU ${pct(r.databaseCpu)}` : ''}, load generator CPU ${pct(r.clientCpu)}, other CPU ${pct(r.otherCpu)}${bad.length || r.errors ? `; UNEXPECTED: ${JSON.stringify(r.unexpected)}, ${r.errors} connection errors` : ''}`,
  );
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

const tenant = benchTenant();

/** Pools for a tagplane server (token ones need the token). */
function poolFor(row: RowDef, server: Child, token: string): RequestSpec[] {
  if (row.id.endsWith('-aksk')) {
    const started = process.hrtime.bigint();
    const pool = signedCreatePool(tenant, new URL(server.url).host);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    notes.push(
      `AK/SK: the ${pool.length.toLocaleString('en')} requests of the pool were signed (SDK-HMAC-SHA256 over host, content-type and X-Sdk-Date, as the SDKs sign) just before the row, in ${Math.round(ms)} ms, so the load generator does no signing while measuring; the signatures stay valid for 15 minutes.`,
    );
    return pool;
  }
  if (row.route === 'list') return listPool(tenant, token);
  if (row.route === 'query') return queryPool(tenant, token);
  return createPool(tenant, token);
}

const EXPECTED: Record<Route, number> = { create: 204, list: 200, query: 200 };

async function runTagplane(rows: RowDef[], databaseUrl: string, name: string, workers = 1) {
  const child = await spawnTagplane(
    name,
    [
      '--database',
      databaseUrl,
      '--admin-token',
      ADMIN_TOKEN,
      '--no-demo',
      ...(workers > 1 ? ['--workers', String(workers)] : []),
    ],
    { TAGPLANE_MASTER_KEY: MASTER_KEY },
  );
  try {
    const token = await issueToken(child.url, tenant);
    for (const row of rows) {
      await measure(row, child, poolFor(row, child, token), EXPECTED[row.route], databaseUrl);
    }
  } finally {
    await child.stop();
  }
}

/** Seeds the tenant through a server of its own (its load is not measured). */
async function seed(databaseUrl: string, name: string): Promise<void> {
  const child = await spawnTagplane(
    name,
    ['--database', databaseUrl, '--admin-token', ADMIN_TOKEN, '--no-demo'],
    { TAGPLANE_MASTER_KEY: MASTER_KEY },
  );
  try {
    const started = Date.now();
    await seedTenant(child.url, tenant);
    note(
      `  seeded ${tenant.servers.length.toLocaleString('en')} BMS servers (2 tags each) and ${tenant.clusters.length.toLocaleString('en')} MRS clusters (10 tags each) through the admin API in ${formatDuration(Date.now() - started)}`,
    );
  } finally {
    await child.stop();
  }
}

/** tagplane's OpenAPI document, as a running tagplane serves it at /openapi.json. */
async function exportOpenApi(): Promise<string> {
  const child = await spawnTagplane(
    'openapi-export',
    ['--database', 'sqlite::memory:', '--no-demo'],
    {},
  );
  try {
    const res = await fetch(`${child.url}/openapi.json`);
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
    const file = join(OUT, 'openapi.json');
    writeFileSync(file, await res.text());
    return file;
  } finally {
    await child.stop();
  }
}

async function runRows(rows: RowDef[]): Promise<void> {
  const of = (kind: ServerKind) => rows.filter((r) => r.server === kind);

  if (of('ceiling').length > 0) {
    const child = await spawnCeiling();
    try {
      await measure(of('ceiling')[0]!, child, createPool(tenant, 'ceiling-ignores-it'), 204);
    } finally {
      await child.stop();
    }
  }

  if (of('sqlite').length > 0) {
    const file = join(OUT, 'write-bench.db');
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    const url = `sqlite:${file}`;
    note(`SQLite: ${relative(ROOT, file)} (new)`);
    await seed(url, 'sqlite-seed');
    await runTagplane(of('sqlite'), url, 'sqlite');
  }

  if (of('prism').length > 0) {
    const doc = await exportOpenApi();
    note(`Prism ${PRISM_VERSION} on ${relative(ROOT, doc)}`);
    const child = await spawnPrism(doc);
    note(`  Prism answered after ${formatDuration(child.startMs)}`);
    try {
      const token = 'prism-checks-presence-only';
      for (const row of of('prism')) {
        const pool =
          row.route === 'list'
            ? listPool(tenant, token)
            : row.route === 'query'
              ? queryPool(tenant, token)
              : createPool(tenant, token);
        await measure(row, child, pool, EXPECTED[row.route]);
      }
    } finally {
      await child.stop();
    }
  }

  if (of('pg').length + of('pg2').length > 0) {
    const url = await newPostgresDatabase('tagplane_bench_write');
    note(`PostgreSQL: ${new URL(url).pathname.slice(1)} (new; dropped at the end)`);
    await seed(url, 'pg-seed');
    if (of('pg').length > 0) await runTagplane(of('pg'), url, 'pg');
    if (of('pg2').length > 0) await runTagplane(of('pg2'), url, 'pg-2-workers', 2);
  }
}

const PRISM_VERSION = (
  JSON.parse(
    readFileSync(join(ROOT, 'node_modules', '@stoplight', 'prism-cli', 'package.json'), 'utf8'),
  ) as { version: string }
).version;

// ---------------------------------------------------------------------------------------------
// Start-up

async function runStartup(): Promise<StartupResult[]> {
  const out: StartupResult[] = [];
  note(`▶ start-up: ${STARTUP_RUNS} starts each (after one uncounted start)`);

  const empty = join(OUT, 'startup-empty.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${empty}${suffix}`, { force: true });
  out.push(await measureStartup('SQLite, empty database', `sqlite:${empty}`, 0, STARTUP_RUNS));

  // The query benchmark's dataset file: either benchmark builds it, both reuse it.
  const file = join(OUT, `query-${STARTUP_SIZE}.db`);
  const location = parseDatabaseUrl(`sqlite:${file}`);
  const sqlite = await ensureDataset(location, STARTUP_SIZE);
  if (sqlite.loadMs !== undefined) {
    // A new file's pages are still being written back: let that finish before timing.
    const fd = openSync(file, 'r+');
    fsyncSync(fd);
    closeSync(fd);
  }
  out.push(
    await measureStartup('SQLite', `sqlite:${file}`, sqlite.resources, STARTUP_RUNS, sqlite.loadMs),
  );
  note(
    `  SQLite, ${sqlite.resources.toLocaleString('en')} resources: median ${Math.round(out.at(-1)!.median)} ms`,
  );

  if (!args['skip-pg']) {
    const url = await newPostgresDatabase('tagplane_bench_startup');
    const pgData = await ensureDataset(parseDatabaseUrl(url), STARTUP_SIZE);
    out.push(
      await measureStartup('PostgreSQL', url, pgData.resources, STARTUP_RUNS, pgData.loadMs),
    );
    note(
      `  PostgreSQL, ${pgData.resources.toLocaleString('en')} resources: median ${Math.round(out.at(-1)!.median)} ms`,
    );
    await dropPostgresDatabase(url);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

const num = (x: number) => Math.round(x).toLocaleString('en');
const ms = (x: number) => (Number.isNaN(x) ? '—' : x.toFixed(2));

/** Everything a report is made from; saved as JSON, so `--render` can make it again. */
interface Report {
  readonly command: string;
  readonly load: LoadOptions;
  readonly machine: Machine;
  readonly loadAverage: { readonly before: number[]; readonly after: number[] };
  readonly versions: { readonly prism: string; readonly autocannon: string };
  readonly rows: readonly RowResult[];
  readonly startup: readonly StartupResult[];
  readonly notes: readonly string[];
}

function reference(
  rows: readonly RowResult[],
  route: Route,
  kind: 'ceiling' | 'prism',
): RowResult | undefined {
  return rows.find((r) => (kind === 'ceiling' ? r.id === 'ceiling' : r.id === `prism-${route}`));
}

function rss(r: LoadResult): string {
  return r.processes > 1
    ? `${num(r.peakRssMb)} (${r.processes} processes; largest ${num(r.largestProcessMb)})`
    : num(r.peakRssMb);
}

function table(rows: readonly RowResult[]): string {
  const lines = [
    '| row | requests/s | p50 ms | p99 ms | peak RSS MB | CPU: server | server ms/request | PostgreSQL | load generator | other | vs ceiling | vs Prism |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ceiling = reference(rows, r.route, 'ceiling');
    const prism = reference(rows, r.route, 'prism');
    const vsCeiling = r.id !== 'ceiling' && ceiling ? pct(r.rps / ceiling.rps) : '—';
    const vsPrism = r.tagplane && prism ? `${(r.rps / prism.rps).toFixed(1)}×` : '—';
    const bad = Object.values(r.unexpected).reduce((a, b) => a + b, 0) + r.errors;
    lines.push(
      `| ${r.label}${bad ? ` (**${bad} failed**)` : ''} | ${num(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${rss(r)} | ${pct(r.serverCpu)} | ${r.serverCpuPerRequestMs.toFixed(3)} | ${r.databaseCpu !== undefined ? pct(r.databaseCpu) : '—'} | ${pct(r.clientCpu)} | ${pct(r.otherCpu)} | ${vsCeiling} | ${vsPrism} |`,
    );
  }
  return lines.join('\n');
}

function targets(report: Report): string {
  const results = report.rows;
  const lines: string[] = ['| target | measured | |', '|---|---|---|'];
  const row = (target: string, measured: string, met: boolean | undefined) =>
    lines.push(
      `| ${target} | ${measured} | ${met === undefined ? '—' : met ? 'met' : '**not met**'} |`,
    );
  const get = (id: string) => results.find((r) => r.id === id);
  const ceiling = get('ceiling');
  const token = get('sqlite-token');
  const aksk = get('sqlite-aksk');
  const pgOne = get('pg-token');
  const pgTwo = get('pg-token-2w');
  if (token && ceiling) {
    const x = token.rps / ceiling.rps;
    row(
      'SQLite + token ≥ 50% of the ceiling',
      `${pct(x)} (${num(token.rps)} of ${num(ceiling.rps)} requests/s)`,
      x >= 0.5,
    );
  }
  if (token)
    row(
      `SQLite + token p99 ≤ 10 ms at ${report.load.connections} connections`,
      `${ms(token.p99)} ms`,
      token.p99 <= 10,
    );
  if (token && aksk) {
    // Server CPU per request: what verifying a signature costs, less disturbed than requests/s
    // by whatever else the machine runs during one row and not the other.
    const cost = aksk.serverCpuPerRequestMs / token.serverCpuPerRequestMs - 1;
    const sign = (x: number) => `${x >= 0 ? '+' : ''}${pct(x)}`;
    row(
      'AK/SK costs ≤ 10% over token auth',
      `${sign(cost)} server CPU per request (${aksk.serverCpuPerRequestMs.toFixed(3)} vs ${token.serverCpuPerRequestMs.toFixed(3)} ms); requests/s ${num(aksk.rps)} vs ${num(token.rps)}, p50 ${ms(aksk.p50)} vs ${ms(token.p50)} ms`,
      cost <= 0.1,
    );
  }
  if (pgOne && ceiling) {
    const x = pgOne.rps / ceiling.rps;
    row(
      'PostgreSQL + token ≥ 25% of the ceiling, one worker',
      `${pct(x)} (${num(pgOne.rps)} requests/s)`,
      x >= 0.25,
    );
  }
  for (const r of results.filter((x) => x.tagplane)) {
    const prism = reference(results, r.route, 'prism');
    if (prism) {
      const x = r.rps / prism.rps;
      row(
        `≥ 10× Prism on the same route: ${r.label}`,
        `${x.toFixed(1)}× (${num(prism.rps)} requests/s for Prism)`,
        x >= 10,
      );
    }
  }
  for (const r of results.filter((x) => x.tagplane)) {
    row(
      `peak RSS ≤ 200 MB under load: ${r.label}`,
      r.processes > 1
        ? `${num(r.largestProcessMb)} MB for the largest process; ${num(r.peakRssMb)} MB for the ${r.processes} together`
        : `${num(r.peakRssMb)} MB`,
      r.largestProcessMb <= 200,
    );
  }
  for (const s of report.startup.filter((x) => x.resources >= 1_000_000)) {
    row(
      `start-up to listening ≤ 1 s, ${s.label}, ${num(s.resources)} resources`,
      `${num(s.median)} ms (median of ${s.runs.length})`,
      s.median <= 1000,
    );
  }
  if (pgOne && pgTwo) {
    row(
      'PostgreSQL, 1 → 2 workers',
      `${(pgTwo.rps / pgOne.rps).toFixed(2)}× requests/s (${num(pgOne.rps)} → ${num(pgTwo.rps)}); p99 ${ms(pgOne.p99)} → ${ms(pgTwo.p99)} ms; CPU of tagplane ${pct(pgOne.serverCpu)} → ${pct(pgTwo.serverCpu)}, of PostgreSQL ${pct(pgOne.databaseCpu ?? 0)} → ${pct(pgTwo.databaseCpu ?? 0)}, of other work ${pct(pgOne.otherCpu)} → ${pct(pgTwo.otherCpu)}`,
      undefined,
    );
  }
  return lines.join('\n');
}

function startupTable(startup: readonly StartupResult[]): string {
  if (startup.length === 0) return '';
  return [
    '| database | resources | median ms | runs (ms) | dataset |',
    '|---|---:|---:|---|---|',
    ...startup.map(
      (s) =>
        `| ${s.label} | ${num(s.resources)} | ${num(s.median)} | ${s.runs.map(num).join(', ')} | ${s.resources === 0 ? 'new, empty' : s.loadMs !== undefined ? formatDuration(s.loadMs) : 'reused (built by an earlier run)'} |`,
    ),
  ].join('\n');
}

function machineLines(report: Report): string {
  const m = report.machine;
  const load = report.loadAverage;
  const avg = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores; RAM ${m.ramGb} GB; ${m.os}`,
    `- Node.js ${m.node}; SQLite ${m.sqlite} (better-sqlite3); PostgreSQL ${m.postgres ?? '(not used)'} on the same machine; Prism ${report.versions.prism}; autocannon ${report.versions.autocannon}`,
    `- a 4 KiB write + fdatasync in bench/out takes ${m.fsyncMs.toFixed(2)} ms (median): what each durable SQLite commit waits for`,
    `- load average before / after: ${avg(load.before)} / ${avg(load.after)} (1, 5, 15 min)`,
    `- tagplane ${m.commit}`,
  ].join('\n');
}

const AUTOCANNON_VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

function section(report: Report): string {
  const { load, machine, startup, notes } = report;
  const parts = [
    '## Write path (`bench/write.ts`)',
    '',
    '```sh',
    report.command,
    '```',
    '',
    `Every server runs as a child process of its own; the benchmark process only generates load with autocannon (${load.connections} connections, keep-alive, a ${load.warmupS} s warm-up, then ${load.durationS} s measured) and samples the server's memory (VmRSS every 100 ms and the VmHWM high-water mark, from /proc) and CPU time. Requests/s counts answers with the expected status; p50/p99 are taken over every such answer of the measured run.`,
    '',
    '- **ceiling**: a bare `node:http` server (`bench/ceiling-server.mjs`) that reads the body, parses it as JSON and answers 204: no framework, no auth, no database.',
    `- **Prism**: \`prism mock\` (${report.versions.prism}) on tagplane's own \`/openapi.json\`, quiet (\`--verboseLevel error\`); it keeps no state and checks no rules.`,
    `- **tagplane**: \`node bin/tagplane.js serve\` (built first), default log level (a line per request to a file), on a new SQLite file (WAL, \`synchronous=FULL\`: each acknowledged write is on disk) or a new PostgreSQL database on the local server, default pool of 10 connections per process. One tenant (a root user with a password and an access key) holds ${SERVERS.toLocaleString('en')} BMS servers with 2 tags each and ${CLUSTERS.toLocaleString('en')} MRS clusters with 10 tags each, loaded through the admin API before the runs.`,
    `- **BMS create**: \`POST /v1/{project_id}/baremetalservers/{server_id}/tags/action\` \`{"action":"create","tags":[2 tags]}\`, the servers in turn, each write changing both values (answer 204). With a token (\`X-Auth-Token\` from \`POST /v3/auth/tokens\`) or signed with the access key (SDK-HMAC-SHA256, as the SDKs sign).`,
    '- **BMS list**: `GET /v1/{project_id}/baremetalservers/{server_id}/tags`, the servers in turn.',
    '- **MRS query**: `POST /v1.1/{project_id}/clusters/resource_instances/action`, `filter`, `limit` 50, `env=prod AND team=t<n>` for the 50 teams in turn (about 66 matches each, `total_count` counted).',
    '- Prism gets the same requests on the same routes; "vs Prism" compares each tagplane row with Prism on its route, "vs ceiling" with the ceiling row.',
    '- `--workers 2` runs a primary (it serves nothing) and two workers; their memory is given together and for the largest process.',
    `- CPU columns: CPU time over the measured run as a share of one core (the machine has ${machine.cores} cores, ${machine.cores * 100}% in all) of the server's processes, of the PostgreSQL processes serving its connections, of the load generator, and of everything else the machine ran meanwhile; "server ms/request" is the server's CPU time per answer, which a busy machine disturbs less than requests/s. With the load generator on the same machine, the ceiling row is bounded by the cores the generator leaves it, and with PostgreSQL on it too, a second worker has a core of its own only if the database and the generator leave one.`,
    ...notes.map((n) => `- ${n}`),
    '',
    'Machine:',
    '',
    machineLines(report),
    '',
    table(report.rows),
    '',
  ];
  const busiest = Math.max(0, ...report.rows.map((r) => r.otherCpu));
  if (busiest > 0.25) {
    parts.push(
      `**A busy machine:** other work used up to ${pct(busiest)} of a core during a row (column "other"), so requests/s and latencies of rows measured at different moments are not comparable; server ms/request holds up better. Re-run on a quiet machine for figures to keep.`,
      '',
    );
  }
  if (startup.length > 0) {
    parts.push(
      `Start-up: from spawning \`tagplane serve\` to its listening line, on a database that holds the query benchmark's dataset (resources × 10 tags, built with its bulk loader: the rows and indexes the store holds after registering and tagging through the API), and on an empty one for reference; the first start on a database creates its keys and is not counted; the SQLite file is in the page cache:`,
      '',
      startupTable(startup),
      '',
    );
  }
  parts.push('Against the targets:', '', targets(report), '');
  return parts.join('\n');
}

function updateDocs(section: string): void {
  const text = `${section.trimEnd()}\n\n`;
  const file = join(ROOT, 'docs', 'benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf('## Write path');
  let next: string;
  if (start >= 0) {
    const after = doc.indexOf('\n## ', start + 1);
    next = doc.slice(0, start) + text + (after >= 0 ? doc.slice(after + 1) : '');
  } else {
    const at = doc.indexOf('## ');
    next = at >= 0 ? `${doc.slice(0, at)}${text}${doc.slice(at)}` : `${doc}\n${text}`;
  }
  writeFileSync(file, next);
  note(`updated ${relative(ROOT, file)}`);
}

/** `--render FILE`: the section again from a run's saved figures, nothing measured. */
function render(file: string): void {
  const text = section(JSON.parse(readFileSync(file, 'utf8')) as Report);
  process.stdout.write(text);
  if (args['update-docs']) updateDocs(text);
}

async function main(): Promise<void> {
  if (args.render) {
    render(args.render);
    return;
  }
  mkdirSync(join(OUT, 'logs'), { recursive: true });
  const rows = selectedRows();
  note('building tagplane (npm run build)');
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  const loadBefore = os.loadavg();
  const machine = await describeMachine(args['skip-pg'] ? undefined : args['pg-url']);
  note(
    `machine: ${machine.cpu}, ${machine.cores} cores, load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`,
  );

  await runRows(rows);
  const startup = args['skip-startup'] ? [] : await runStartup();
  const loadAfter = os.loadavg();

  const report: Report = {
    command: COMMAND,
    load: LOAD,
    machine,
    loadAverage: { before: loadBefore, after: loadAfter },
    versions: { prism: PRISM_VERSION, autocannon: AUTOCANNON_VERSION },
    rows: results,
    startup,
    notes,
  };
  const text = section(report);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(OUT, `write-${stamp}.md`), text);
  writeFileSync(join(OUT, 'write-latest.md'), text);
  writeFileSync(join(OUT, `write-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${text}`);
  note(`\nwritten: bench/out/write-${stamp}.md, .json (and write-latest.md)`);
  if (args['update-docs']) updateDocs(text);
}

main()
  .catch(async (err: unknown) => {
    process.stderr.write(
      `\nbench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanUp();
  });
