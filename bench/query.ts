/**
 * Query-by-tag benchmark: builds a dataset of `--size` resources × 10 tags in one project (see
 * query-dataset.ts and query-load.ts) and prints p50/p99 latency of a fixed query set, sent
 * through the app as HTTP requests (`inject`: the whole stack but the socket).
 *
 *   npm run bench:query -- --size 1000000
 *   npm run bench:query -- --size 100000 --runs 100
 *   npm run bench:query -- --postgres --size 1000000 --keep
 *   npm run bench:query -- --database postgres://postgres@127.0.0.1:5432/mine --size 100000
 *
 * SQLite: the dataset stays in bench/out/query-<size>.db and is reused while it holds the
 * requested size; `--fresh` rebuilds it.
 *
 * PostgreSQL (`--postgres`): the run creates a database `tagplane_bench_<size>` on the server
 * `--server` names (default: the local one) and drops it at the end, unless `--keep` keeps it for
 * later runs, which reuse it; `--fresh` drops and rebuilds a kept one; `--drop` only drops it.
 * `--database postgres://…` runs on a database of your own instead, which is never dropped.
 *
 * `--iam` sends the queries as an IAM user whose policies allow every MRS action but deny reading
 * the tags of clusters tagged `env=test` (a third of them), so every query also applies the
 * policies to each resource it reads; by default the domain's root user sends them.
 *
 * `--only 1,7` runs some of the queries (numbered from 1, as listed); `--explain` prints, for
 * each, the SQL the query store sends and its plan (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS);
 * SQLite: EXPLAIN QUERY PLAN) instead of timing it. Progress goes to stderr, results to stdout.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CompiledQuery,
  type KyselyPlugin,
  type QueryId,
  type RootOperationNode,
  sql,
} from 'kysely';
import pg from 'pg';
import { applySeed } from '../src/admin/seed.js';
import { buildApp } from '../src/app.js';
import { SecretBox } from '../src/auth/secret-box.js';
import { TOKEN_LIFETIME_MS, TokenSigner } from '../src/auth/tokens.js';
import { sha256Hex } from '../src/core/hash.js';
import { readSeedDocument } from '../src/http/seed-schema.js';
import { serviceBodies } from '../src/http/service-input.js';
import { mrs } from '../src/services/mrs.js';
import {
  type DatabaseLocation,
  parseDatabaseUrl,
  redactUrl,
  Store,
} from '../src/store/database.js';
import { findUserById } from '../src/store/identity-store.js';
import { countResources, findResources } from '../src/store/query-store.js';
import { filterOf, serviceQuery } from '../src/tags/tag-query.js';
import { formatDuration, progress } from './progress.js';
import { DATASET } from './query-dataset.js';
import { loadDataset } from './query-load.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '200' },
    database: { type: 'string' },
    postgres: { type: 'boolean', default: false },
    server: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    keep: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    drop: { type: 'boolean', default: false },
    only: { type: 'string' },
    explain: { type: 'boolean', default: false },
    iam: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const SIZE = Number(args.size);
const RUNS = Number(args.runs);
if (!Number.isSafeInteger(SIZE) || SIZE < 1000) fail('--size must be a whole number ≥ 1000');
if (!Number.isSafeInteger(RUNS) || RUNS < 10) fail('--runs must be a whole number ≥ 10');
if (args.postgres && args.database) fail('--postgres and --database exclude each other');
if ((args.keep || args.drop) && !args.postgres) fail('--keep and --drop go with --postgres');

const { projectId: PROJECT, domainId: DOMAIN, userId: USER, type: TYPE, seed: SEED } = DATASET;

// ---------------------------------------------------------------------------------------------
// The PostgreSQL database a `--postgres` run makes on the server

interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  exists(): Promise<boolean>;
  create(): Promise<void>;
  drop(): Promise<void>;
}

function benchDatabase(serverUrl: string, size: number): BenchDatabase {
  const name = `tagplane_bench_${size}`;
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const onServer = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    name,
    url: url.toString(),
    exists: () =>
      onServer(
        async (c) =>
          (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1,
      ),
    create: () => onServer(async (c) => void (await c.query(`create database ${name}`))),
    drop: () =>
      onServer(async (c) => void (await c.query(`drop database if exists ${name} with (force)`))),
  };
}

// ---------------------------------------------------------------------------------------------
// Queries

interface BenchQuery {
  readonly label: string;
  readonly body: Record<string, unknown>;
}

/** The `--iam` caller: every MRS action, but not on clusters tagged env=test. */
const IAM_USER = 'bench-iam';
const IAM_POLICY = {
  Version: '5.0',
  Statement: [
    { Effect: 'Allow', Action: ['mrs:cluster:*'], Resource: ['*'] },
    {
      Effect: 'Deny',
      Action: ['mrs:cluster:listTags'],
      Resource: ['*'],
      Condition: { StringEquals: { 'g:ResourceTag/env': ['test'] } },
    },
  ],
};

const t = (key: string, ...values: string[]) => ({ key, values });
const QUERIES: BenchQuery[] = [
  {
    label: 'first page: env=prod AND team=t7',
    body: { action: 'filter', limit: 50, tags: [t('env', 'prod'), t('team', 't7')] },
  },
  {
    label: 'first page: app=a42 AND owner=o1234',
    body: { action: 'filter', limit: 50, tags: [t('app', 'a42'), t('owner', 'o1234')] },
  },
  {
    label: 'first page: env=prod AND team=t7 AND k05=v3',
    body: {
      action: 'filter',
      limit: 50,
      tags: [t('env', 'prod'), t('team', 't7'), t('k05', 'v3')],
    },
  },
  {
    label: 'first page: tags_any app=a42 OR owner=o1234',
    body: { action: 'filter', limit: 50, tags_any: [t('app', 'a42'), t('owner', 'o1234')] },
  },
  {
    label: 'first page: team=t7, not_tags_any env=prod',
    body: {
      action: 'filter',
      limit: 50,
      tags: [t('team', 't7')],
      not_tags_any: [t('env', 'prod')],
    },
  },
  {
    label: 'first page: not_tags_any env=prod (alone)',
    body: { action: 'filter', limit: 50, not_tags_any: [t('env', 'prod')] },
  },
  {
    label: 'count: env=prod',
    body: { action: 'count', tags: [t('env', 'prod')] },
  },
  {
    label: 'count: env=prod AND team=t7 (the total of the first query)',
    body: { action: 'count', tags: [t('env', 'prod'), t('team', 't7')] },
  },
  {
    label: 'first page: matches resource_name "a42-prod"',
    body: { action: 'filter', limit: 50, matches: [{ key: 'resource_name', value: 'a42-prod' }] },
  },
  {
    label: 'page 21 (offset 1000): env=prod AND team=t7',
    body: { action: 'filter', limit: 50, offset: 1000, tags: [t('env', 'prod'), t('team', 't7')] },
  },
];

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

/** The queries `--only` picks (numbered from 1), or all. */
function selectedQueries(): { n: number; query: BenchQuery }[] {
  const all = QUERIES.map((query, i) => ({ n: i + 1, query }));
  if (args.only === undefined) return all;
  const wanted = args.only.split(',').map((x) => Number(x.trim()));
  for (const n of wanted) {
    if (!Number.isSafeInteger(n) || n < 1 || n > QUERIES.length) {
      fail(`--only takes query numbers from 1 to ${QUERIES.length}, separated by commas`);
    }
  }
  return all.filter((q) => wanted.includes(q.n));
}

/** Opens the dataset's database, loading the dataset first where it is missing. */
async function openDataset(
  location: DatabaseLocation,
  secrets: SecretBox,
): Promise<{ store: Store; loadMs?: number }> {
  let store = Store.open(location);
  await store.migrate();
  await applySeed(
    store,
    secrets,
    readSeedDocument({
      domains: [{ id: DOMAIN, name: 'bench' }],
      projects: [{ id: PROJECT, name: 'bench', domain_id: DOMAIN }],
      users: [
        { id: USER, name: 'bench', domain_id: DOMAIN, root: true },
        { id: IAM_USER, name: 'bench-iam', domain_id: DOMAIN, policies: [IAM_POLICY] },
      ],
    }),
  );
  const existing = Number(
    (
      await sql<{
        n: number | string;
      }>`select count(*) as n from resources where project_id = ${PROJECT}`.execute(store.db)
    ).rows[0]?.n ?? 0,
  );
  if (existing === SIZE) {
    process.stderr.write(`reusing the dataset of ${existing.toLocaleString('en')} resources\n`);
    return { store };
  }
  if (existing !== 0) {
    await store.close();
    throw new Error(
      `the database holds ${existing.toLocaleString('en')} benchmark resources, not ${SIZE.toLocaleString('en')}: use --fresh or another database`,
    );
  }
  await store.close();
  const loadMs = await loadDataset(location, {
    size: SIZE,
    projectId: PROJECT,
    type: TYPE,
    seed: SEED,
  });
  store = Store.open(location);
  return { store, loadMs };
}

/**
 * Runs each query once through the query store, capturing the SQL it sends, and prints each
 * statement with its plan as the database ran it.
 */
async function explain(store: Store, queries: { n: number; query: BenchQuery }[]) {
  const captured: { node: RootOperationNode; queryId: QueryId }[] = [];
  const capture: KyselyPlugin = {
    transformQuery: (a) => {
      captured.push({ node: a.node, queryId: a.queryId });
      return a.node;
    },
    transformResult: async (a) => a.result,
  };
  const ex = store.db.withPlugin(capture);
  const postgres = store.location.kind === 'postgres';
  const out: string[] = [];
  for (const { n, query } of queries) {
    const body = serviceBodies(mrs).query;
    if (!body) throw new Error('MRS has no query body');
    const q = serviceQuery(body.read(query.body), { matchValueMax: 64, markerAsOffset: false });
    const filter = filterOf(PROJECT, [TYPE], q);
    // Warm, then capture one run.
    for (let i = 0; i < 3; i++) {
      if (q.action === 'count') await countResources(store.db, store.caps, filter);
      else await findResources(store.db, store.caps, filter, q);
    }
    captured.length = 0;
    const started = process.hrtime.bigint();
    if (q.action === 'count') await countResources(ex, store.caps, filter);
    else await findResources(ex, store.caps, filter, q);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    out.push(`## ${n}. ${query.label} (${ms.toFixed(2)} ms, ${captured.length} statements)`, '');
    for (const { node, queryId } of captured) {
      const compiled = ex.getExecutor().compileQuery(node, queryId);
      const plan = await store.db.executeQuery<Record<string, unknown>>(
        CompiledQuery.raw(
          `${postgres ? 'explain (analyze, buffers)' : 'explain query plan'} ${compiled.sql}`,
          [...compiled.parameters],
        ),
      );
      const lines = plan.rows.map((r) =>
        postgres
          ? String(r['QUERY PLAN'])
          : `${'  '.repeat(Number(r.parent) > 0 ? 1 : 0)}${r.detail}`,
      );
      out.push(
        '```',
        compiled.sql,
        `-- parameters: ${JSON.stringify(compiled.parameters)}`,
        ...lines,
        '```',
        '',
      );
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main() {
  const managed = args.postgres ? benchDatabase(args.server, SIZE) : undefined;
  if (args.drop) {
    if (!(await managed!.exists())) {
      process.stderr.write(`there is no database ${managed!.name}\n`);
      return;
    }
    await managed!.drop();
    process.stderr.write(`dropped database ${managed!.name}\n`);
    return;
  }
  const location: DatabaseLocation = managed
    ? { kind: 'postgres', url: managed.url }
    : parseDatabaseUrl(args.database ?? `sqlite:bench/out/query-${SIZE}.db`);
  if (location.kind === 'sqlite') {
    if (args.fresh && existsSync(location.path)) {
      for (const suffix of ['', '-wal', '-shm'])
        rmSync(`${location.path}${suffix}`, { force: true });
    }
    mkdirSync(dirname(location.path), { recursive: true });
  } else if (managed) {
    if (args.fresh) await managed.drop();
    if (!(await managed.exists())) await managed.create();
    // Interrupted: nothing is left behind unless asked to keep it (a load in progress rolls back).
    process.once('SIGINT', () => {
      process.stderr.write('\ninterrupted\n');
      const done = () => process.exit(130);
      if (args.keep) done();
      else managed.drop().then(done, done);
    });
  } else if (args.fresh) {
    fail('--fresh does not drop a database given with --database: drop it yourself');
  }
  process.stderr.write(
    `database: ${location.kind === 'sqlite' ? location.path : redactUrl(location.url)}${managed ? (args.keep ? ' (kept)' : ' (dropped at the end)') : ''}\n`,
  );
  try {
    await run(location);
  } finally {
    if (managed && !args.keep) {
      await managed.drop();
      process.stderr.write(`dropped database ${managed.name}\n`);
    }
  }
}

async function run(location: DatabaseLocation) {
  const secrets = new SecretBox(randomBytes(32));
  const { store, loadMs } = await openDataset(location, secrets);
  const queries = selectedQueries();
  if (args.explain) {
    try {
      await explain(store, queries);
    } finally {
      await store.close();
    }
    return;
  }

  const tokens = new TokenSigner(randomBytes(32));
  const now = Date.now();
  const caller = args.iam ? IAM_USER : USER;
  const token = tokens.issue({
    userId: caller,
    domainId: DOMAIN,
    projectId: PROJECT,
    issuedAt: now,
    expiresAt: now + TOKEN_LIFETIME_MS,
    epoch: (await findUserById(store.db, caller))?.tokenEpoch ?? '',
  });
  const app = await buildApp(
    { auth: 'strict' },
    { store, secrets, tokens, adminTokenHash: sha256Hex(randomBytes(16).toString('hex')) },
  );
  const url = `/v1.1/${PROJECT}/clusters/resource_instances/action`;
  const send = async (body: Record<string, unknown>) => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    if (res.statusCode !== 200) throw new Error(`query failed: ${res.statusCode} ${res.body}`);
    return JSON.parse(res.body) as { total_count: number; resources?: unknown[] };
  };

  const results: {
    label: string;
    p50: number;
    p99: number;
    mean: number;
    total: number;
    rows: number;
  }[] = [];
  const bar = progress('running queries', queries.length * RUNS);
  let done = 0;
  try {
    for (const { query: q } of queries) {
      let answer = await send(q.body);
      for (let i = 0; i < 5; i++) answer = await send(q.body);
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const started = process.hrtime.bigint();
        await send(q.body);
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        bar.tick(++done);
      }
      times.sort((a, b) => a - b);
      results.push({
        label: q.label,
        p50: percentile(times, 50),
        p99: percentile(times, 99),
        mean: times.reduce((a, b) => a + b, 0) / times.length,
        total: answer.total_count,
        rows: answer.resources?.length ?? 0,
      });
    }
    bar.done();
  } finally {
    await app.close();
    await store.close();
  }

  const ms = (x: number) => x.toFixed(2);
  const lines = [
    `dataset: ${SIZE.toLocaleString('en')} resources × 10 tags, one project, ${location.kind}`,
    loadMs !== undefined ? `load (rows and indexes): ${formatDuration(loadMs)}` : 'load: reused',
    `runs per query: ${RUNS} (after 6 warm-up runs), through app.inject, as ${args.iam ? 'an IAM user denied clusters tagged env=test' : 'the root user'}`,
    '',
    '| query | matches | rows | p50 ms | p99 ms | mean ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.label} | ${r.total.toLocaleString('en')} | ${r.rows} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.mean)} |`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
