/**
 * Stall benchmark (SPEC §6 "Time limits"): while eight of the most expensive queries of the query
 * benchmark run without pause on a dataset of `--size` resources (bench/query-dataset.ts), how
 * long do `/healthz` and a BMS tag write in another project take? Prints p50/p99/max of each
 * (target p99 ≤ 100 ms), and how many heavy queries were answered or stopped at the time limit.
 * Requests go over a real socket to a server in this process (`app.listen`).
 *
 *   npm run bench:stall -- --size 1000000
 *   npm run bench:stall -- --size 200000 --seconds 20 --threads 0   # reads on the main thread
 *
 * SQLite: the dataset is bench/out/query-<size>.db, shared with bench:query (built when
 * missing). `--database postgres://…` runs on a PostgreSQL database holding the dataset.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { applySeed } from '../src/admin/seed.js';
import { buildApp } from '../src/app.js';
import { SecretBox } from '../src/auth/secret-box.js';
import { TOKEN_LIFETIME_MS, TokenSigner } from '../src/auth/tokens.js';
import { sha256Hex } from '../src/core/hash.js';
import { readSeedDocument } from '../src/http/seed-schema.js';
import { type DatabaseLocation, parseDatabaseUrl, Store } from '../src/store/database.js';
import { findUserById } from '../src/store/identity-store.js';
import { DATASET } from './query-dataset.js';
import { loadDataset } from './query-load.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '20' },
    threads: { type: 'string', default: '2' },
    'query-timeout': { type: 'string', default: '10' },
    database: { type: 'string' },
  },
});

const SIZE = Number(args.size);
const SECONDS = Number(args.seconds);
const THREADS = Number(args.threads);
const QUERY_TIMEOUT_MS = Number(args['query-timeout']) * 1000;
if (!Number.isSafeInteger(SIZE) || SIZE < 1000) throw new Error('--size must be ≥ 1000');

const { projectId: PROJECT, domainId: DOMAIN, userId: USER, type: TYPE, seed: SEED } = DATASET;
const OTHER = { domain: 'stall-other', project: 'stall-other-project', user: 'stall-other-root' };
const SERVER_ID = 'stall-bms-1';

const t = (key: string, ...values: string[]) => ({ key, values });
const TEN_SUBSTRINGS = ['*1', '*2', '*3', '*4', '*5', '*6', '*7', '*8', '*9', '*0'];
/** Eight of the most expensive queries (bench/query.ts and the ten-substring exclusion). */
const HEAVY: Record<string, unknown>[] = [
  { action: 'filter', limit: 50, not_tags_any: [t('owner', ...TEN_SUBSTRINGS)] },
  { action: 'count', not_tags_any: [t('owner', ...TEN_SUBSTRINGS)] },
  { action: 'filter', limit: 50, not_tags_any: [t('env', 'prod')] },
  { action: 'count', tags: [t('env', 'prod')] },
  { action: 'filter', limit: 50, tags_any: [t('app', 'a42'), t('owner', 'o1234')] },
  { action: 'filter', limit: 50, matches: [{ key: 'resource_name', value: 'a42-prod' }] },
  { action: 'filter', limit: 50, offset: 1000, tags: [t('env', 'prod'), t('team', 't7')] },
  { action: 'filter', limit: 50, tags: [t('team', 't7')], not_tags_any: [t('env', 'prod')] },
];

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? Number.NaN;
}

async function openDataset(location: DatabaseLocation, secrets: SecretBox): Promise<Store> {
  const options = { queryTimeoutMs: QUERY_TIMEOUT_MS, readThreads: THREADS };
  let store = Store.open(location, options);
  await store.migrate();
  await applySeed(
    store,
    secrets,
    readSeedDocument({
      domains: [
        { id: DOMAIN, name: 'bench' },
        { id: OTHER.domain, name: 'stall-other' },
      ],
      projects: [
        { id: PROJECT, name: 'bench', domain_id: DOMAIN },
        { id: OTHER.project, name: 'stall-other', domain_id: OTHER.domain },
      ],
      users: [
        { id: USER, name: 'bench', domain_id: DOMAIN, root: true },
        { id: OTHER.user, name: 'stall-other', domain_id: OTHER.domain, root: true },
      ],
    }),
  );
  const { rows } = await sql<{ n: number | string }>`
    select count(*) as n from resources where project_id = ${PROJECT}`.execute(store.db);
  const existing = Number(rows[0]?.n ?? 0);
  if (existing !== SIZE) {
    if (existing !== 0) throw new Error(`the database holds ${existing} resources, not ${SIZE}`);
    await store.close();
    await loadDataset(location, { size: SIZE, projectId: PROJECT, type: TYPE, seed: SEED });
    store = Store.open(location, options);
  }
  // The write target, registered after the dataset (the bulk load wants the project empty).
  await applySeed(
    store,
    secrets,
    readSeedDocument({
      resources: [
        { project_id: OTHER.project, type: 'bms_server', id: SERVER_ID, name: 'stall-bms' },
      ],
    }),
  );
  return store;
}

async function main() {
  const location = parseDatabaseUrl(args.database ?? `sqlite:bench/out/query-${SIZE}.db`);
  if (location.kind === 'sqlite' && !existsSync(location.path)) {
    mkdirSync(dirname(location.path), { recursive: true });
  }
  const secrets = new SecretBox(randomBytes(32));
  const store = await openDataset(location, secrets);
  const tokens = new TokenSigner(randomBytes(32));
  const now = Date.now();
  const token = async (userId: string, domainId: string, projectId: string) =>
    tokens.issue({
      userId,
      domainId,
      projectId,
      issuedAt: now,
      expiresAt: now + TOKEN_LIFETIME_MS,
      epoch: (await findUserById(store.db, userId))?.tokenEpoch ?? '',
    });
  const benchToken = await token(USER, DOMAIN, PROJECT);
  const otherToken = await token(OTHER.user, OTHER.domain, OTHER.project);
  const app = await buildApp(
    { auth: 'strict' },
    { store, secrets, tokens, adminTokenHash: sha256Hex(randomBytes(16).toString('hex')) },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const post = (url: string, tok: string, body: unknown) =>
    fetch(`${base}${url}`, {
      method: 'POST',
      headers: { 'x-auth-token': tok, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  const until = Date.now() + SECONDS * 1000;
  const heavy = { answered: 0, timedOut: 0, other: 0 };
  const heavyLoops = HEAVY.map(async (body) => {
    while (Date.now() < until) {
      const res = await post(
        `/v1.1/${PROJECT}/clusters/resource_instances/action`,
        benchToken,
        body,
      );
      await res.arrayBuffer();
      if (res.status === 200) heavy.answered++;
      else if (res.status === 504) heavy.timedOut++;
      else heavy.other++;
    }
  });

  const health: number[] = [];
  const writes: number[] = [];
  let failures = 0;
  const probe = (async () => {
    // Let the heavy queries start first.
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; Date.now() < until; i++) {
      let started = performance.now();
      const h = await fetch(`${base}/healthz`);
      await h.arrayBuffer();
      health.push(performance.now() - started);
      started = performance.now();
      const w = await post(
        `/v1/${OTHER.project}/baremetalservers/${SERVER_ID}/tags/action`,
        otherToken,
        { action: 'create', tags: [{ key: 'probe', value: `v${i}` }] },
      );
      await w.arrayBuffer();
      writes.push(performance.now() - started);
      if (h.status !== 200 || w.status !== 204) failures++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();

  await Promise.all([...heavyLoops, probe]);
  await app.close();
  await store.close();

  const row = (label: string, xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `| ${label} | ${s.length} | ${percentile(s, 50).toFixed(2)} | ${percentile(s, 99).toFixed(2)} | ${(s.at(-1) ?? Number.NaN).toFixed(2)} |`;
  };
  process.stdout.write(
    `${[
      `dataset: ${SIZE.toLocaleString('en')} resources × 10 tags, ${location.kind}; read threads: ${location.kind === 'sqlite' ? THREADS : 'n/a'}; query timeout ${QUERY_TIMEOUT_MS / 1000} s; ${SECONDS} s`,
      `heavy queries (8 loops): ${heavy.answered} answered, ${heavy.timedOut} stopped at the limit (504), ${heavy.other} other`,
      `probe failures: ${failures}`,
      '',
      '| probe | requests | p50 ms | p99 ms | max ms |',
      '|---|---:|---:|---:|---:|',
      row('GET /healthz', health),
      row('BMS tag write, another project', writes),
    ].join('\n')}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
