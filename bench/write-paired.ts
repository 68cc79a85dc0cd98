/**
 * Two builds of tagplane compared on the write path's server work alone, in one process:
 *
 *   npx tsx bench/write-paired.ts DIR_A DIR_B [--rounds 20] [--requests 2000]
 *
 * DIR_A and DIR_B are checkouts of tagplane, each built (`npm run build`). Each serves its own
 * SQLite file (a copy of the write benchmark's tenant, seeded once per build under
 * bench/out/paired/ and reused by later runs), and the two take turns: a round of BMS creates
 * with a token (the write benchmark's requests, 32 at a time, through `app.inject`, so no sockets
 * and no HTTP parsing), then a round on the other, the order swapped every pair. The CPU time of this process over a
 * round, divided by its requests, is that build's cost of a request in that round; the round's
 * elapsed time divided by its requests is its wall time per request, which also counts the time
 * the event loop stood still in a system call (a commit's disk sync, a checkpoint).
 *
 * `--store postgres` (with `--pg-url URL`, postgres://postgres@127.0.0.1:5432/postgres by default):
 * each build serves a database of its own on that PostgreSQL server instead, copied from a seeded
 * template kept per build (`paired_<hash>`, reused by later runs) and dropped at the end. Each round
 * starts just after a checkpoint, so that both builds log the same first changes of pages whole;
 * the CPU per request then also counts every PostgreSQL process's (its backends, WAL writer and
 * checkpointer, from /proc), and the WAL each request wrote (`pg_current_wal_lsn`) is reported.
 * After a checkpoint, the first change of each page is logged whole: with one every 2,000
 * writes, a table or index written at random places (the change log's per-resource index) logs
 * nearly every page of it each round, which a server under a steady load, checkpointing every
 * few minutes, does once per hundreds of thousands of writes. `--checkpoints start` makes one
 * checkpoint before the warm-up only, for the cost of a steady load (PostgreSQL's own timed
 * checkpoints then fall where they fall, on both builds alike).
 *
 * `PAIRED_ROUND_TIMES=1` also prints when each round began and ended (`ROUNDTIME build start end
 * requests`, in µs of the monotonic clock, as V8 stamps a CPU profile's samples): run under
 * `node --cpu-prof --import tsx`, then `bench/paired-profile.ts` splits the profile by build.
 *
 * `PAIRED_WAL_RANGES=1` also prints each round's WAL range (`WALRANGE build from to`, to read with
 * `pg_waldump --stats=record`) and keeps the databases at the end.
 *
 * `--subscribers N` (with `--on-written M`, 10 by default): B also has N live feed subscribers
 * (`/admin/v1/events/stream`, in 4 processes of their own, bench/feed-subscribers.mjs), M of them
 * following the project written to and the rest a project each that nothing is written to. With
 * the same build as DIR_A and DIR_B, the pairs measure what the subscribers cost the writes.
 *
 * On a shared machine, other work slows both builds of a pair alike, which separate runs of
 * `bench/write.ts` minutes apart cannot promise: the ratio of each pair, and how many pairs favour
 * one build, say more than any one figure. HTTP parsing, sockets and connection handling are left
 * out; measure those with `bench/write.ts`.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { subscriberFleet } from './feed-fleet.js';
import { onServer as onPgServer, databaseUrl as urlOf } from './pg-server.js';
import { cpuMs, OUT } from './write-processes.js';
import {
  ADMIN_TOKEN,
  benchTenant,
  createPool,
  issueToken,
  MASTER_KEY,
  seedTenant,
} from './write-workload.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '20' },
    requests: { type: 'string', default: '2000' },
    subscribers: { type: 'string', default: '0' },
    'on-written': { type: 'string', default: '10' },
    store: { type: 'string', default: 'sqlite' },
    checkpoints: { type: 'string', default: 'round' },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
if (positionals.length !== 2) {
  process.stderr.write(
    'usage: npx tsx bench/write-paired.ts DIR_A DIR_B [--rounds N] [--requests N] [--store sqlite|postgres [--pg-url URL]] [--subscribers N [--on-written M]]\n',
  );
  process.exit(2);
}
if (args.store !== 'sqlite' && args.store !== 'postgres') {
  process.stderr.write(`--store is sqlite or postgres, not ${args.store}\n`);
  process.exit(2);
}
const POSTGRES = args.store === 'postgres';
if (args.checkpoints !== 'round' && args.checkpoints !== 'start') {
  process.stderr.write(`--checkpoints is round or start, not ${args.checkpoints}\n`);
  process.exit(2);
}
/** PostgreSQL: a checkpoint before every round, or one before the first only (`start`). */
const CHECKPOINT_EACH_ROUND = args.checkpoints === 'round';
const ROUNDS = Number(args.rounds);
const REQUESTS = Number(args.requests);
const CONCURRENCY = 32;

interface Server {
  readonly url: string;
  readonly app: {
    inject(opts: {
      method: string;
      url: string;
      headers: Record<string, string>;
      payload?: string;
    }): Promise<{ statusCode: number }>;
  };
  close(): Promise<void>;
}

const tenant = benchTenant();
process.env.TAGPLANE_MASTER_KEY = MASTER_KEY;
const dir = join(OUT, 'paired');
mkdirSync(dir, { recursive: true });

/**
 * CPU time of every PostgreSQL process on this machine so far, ms (from /proc): in all, and of
 * the background processes alone (WAL writer, checkpointer, autovacuum, ...: every process whose
 * title names no client's address).
 */
function postgresCpuMs(): { all: number; background: number } {
  let all = 0;
  let background = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      const ms = cpuMs(Number(entry));
      all += ms;
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!/\(\d+\)|\[local\]/.test(title)) background += ms;
    } catch {
      // The process ended meanwhile.
    }
  }
  return { all, background };
}

/** Where the PostgreSQL server's WAL ends now. */
async function walPosition(): Promise<string> {
  const [row] = await onServer<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  return row!.lsn;
}

async function walBytesSince(lsn: string, name: string): Promise<number> {
  const [row] = await onServer<{ bytes: string; now: string }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), '${lsn}')::bigint::text as bytes, pg_current_wal_lsn()::text as now`,
  );
  if (process.env.PAIRED_WAL_RANGES) process.stderr.write(`WALRANGE ${name} ${lsn} ${row!.now}\n`);
  return Number(row!.bytes);
}

const onServer = <R extends Record<string, unknown> = Record<string, unknown>>(
  statement: string,
  database?: string,
) => onPgServer<R>(args['pg-url']!, statement, database);
const databaseUrl = (name: string) => urlOf(args['pg-url']!, name);

const dropped: string[] = [];

/** A build serving a fresh copy of its seeded database, and a way to send it a round. */
async function open(root: string, name: string) {
  const { parseServeConfig } = await import(join(root, 'dist', 'config.js'));
  const { startServer } = await import(join(root, 'dist', 'server.js'));
  const start = (database: string): Promise<Server> =>
    startServer(
      parseServeConfig(
        { database, adminToken: ADMIN_TOKEN, demo: false, port: '0' },
        { TAGPLANE_MASTER_KEY: MASTER_KEY },
      ),
    );
  // Seeded once per build (its own schema), reused by later runs.
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 12);
  let database: string;
  if (POSTGRES) {
    const template = `paired_${hash}`;
    const present = await onServer(`select 1 from pg_database where datname = '${template}'`);
    if (present.length === 0) {
      // Seeded under another name and renamed when done: a run stopped halfway leaves no
      // template that looks ready.
      const seeding = `${template}_seeding`;
      await onServer(`drop database if exists ${seeding} with (force)`);
      await onServer(`create database ${seeding}`);
      const s = await start(databaseUrl(seeding));
      await seedTenant(s.url, tenant);
      await s.close();
      await onServer(`alter database ${seeding} rename to ${template}`);
    }
    const copy = `paired_run_${name}`;
    await onServer(`drop database if exists ${copy} with (force)`);
    await onServer(`create database ${copy} template ${template}`);
    dropped.push(copy);
    database = databaseUrl(copy);
  } else {
    const seeded = join(dir, `${hash}.db`);
    if (!existsSync(seeded)) {
      const s = await start(`sqlite:${seeded}`);
      await seedTenant(s.url, tenant);
      await s.close();
    }
    const file = join(dir, `${name}.db`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    copyFileSync(seeded, file);
    database = `sqlite:${file}`;
  }
  const server = await start(database);
  const pool = createPool(tenant, await issueToken(server.url, tenant));
  let next = 0;
  let unexpected = 0;
  /** One round: its CPU time, its elapsed time and (PostgreSQL) its WAL, each per request. */
  const round = async (requests: number): Promise<Round> => {
    let left = requests;
    let lsn = '';
    if (POSTGRES) {
      if (CHECKPOINT_EACH_ROUND) await onServer('checkpoint');
      lsn = await walPosition();
    }
    const before = process.cpuUsage();
    const postgresBefore = POSTGRES ? postgresCpuMs() : { all: 0, background: 0 };
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left > 0) {
          left--;
          const spec = pool[next++ % pool.length]!;
          const res = await server.app.inject({
            method: spec.method,
            url: spec.path,
            headers: spec.headers,
            ...(spec.body !== undefined ? { payload: spec.body } : {}),
          });
          if (res.statusCode !== 204) unexpected++;
        }
      }),
    );
    const ended = process.hrtime.bigint();
    const wall = Number(ended - started) / 1e6 / requests;
    if (process.env.PAIRED_ROUND_TIMES)
      process.stderr.write(`ROUNDTIME ${name} ${started / 1000n} ${ended / 1000n} ${requests}\n`);
    const cpu = process.cpuUsage(before);
    const postgresAfter = POSTGRES ? postgresCpuMs() : postgresBefore;
    const postgres = (postgresAfter.all - postgresBefore.all) / requests;
    const background = (postgresAfter.background - postgresBefore.background) / requests;
    const user = cpu.user / 1000 / requests;
    const system = cpu.system / 1000 / requests;
    return {
      cpu: user + system + postgres,
      server: user + system,
      user,
      system,
      postgres,
      backends: postgres - background,
      background,
      wall,
      wal: POSTGRES ? (await walBytesSince(lsn, name)) / requests : 0,
    };
  };
  return { server, round, unexpected: () => unexpected };
}

/** One round's figures, per request: CPU ms (this process's plus PostgreSQL's), wall ms, WAL bytes. */
interface Round {
  readonly cpu: number;
  readonly server: number;
  /** This process's CPU in user mode and in the kernel (system calls: sockets, disk). */
  readonly user: number;
  readonly system: number;
  readonly postgres: number;
  /** PostgreSQL's CPU in the backends serving the requests, and in its background processes. */
  readonly backends: number;
  readonly background: number;
  readonly wall: number;
  readonly wal: number;
}

const a = await open(resolve(positionals[0]!), 'a');
const b = await open(resolve(positionals[1]!), 'b');
if (POSTGRES && !CHECKPOINT_EACH_ROUND) await onServer('checkpoint');
const subscribers = await subscribe(b.server.url, Number(args.subscribers));
await a.round(4000);
await b.round(4000);
const roundsA: Round[] = [];
const roundsB: Round[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const order = i % 2 === 0 ? [a, b] : [b, a];
  for (const build of order) (build === a ? roundsA : roundsB).push(await build.round(REQUESTS));
}
const received = await subscribers.stop();
await a.server.close();
await b.server.close();
if (!process.env.PAIRED_WAL_RANGES)
  for (const name of dropped) await onServer(`drop database if exists ${name} with (force)`);

/**
 * N feed subscribers of `base` in 4 processes of their own (bench/feed-fleet.ts); `stop` ends
 * them and says what the ones on the written project and the others received.
 */
async function subscribe(base: string, n: number) {
  if (n === 0) return { stop: async () => undefined };
  const onWritten = Math.min(n, Number(args['on-written']));
  const projects = Array.from({ length: n }, (_, i) =>
    i < onWritten ? tenant.projectId : `${tenant.projectId}-other-${i}`,
  );
  const fleet = await subscriberFleet(base, ADMIN_TOKEN, 4, projects);
  return {
    async stop(): Promise<string> {
      const { each } = await fleet.report();
      await fleet.stop();
      const on = each.slice(0, onWritten);
      const off = each.slice(onWritten);
      const written =
        on.length > 0
          ? `${onWritten} on the written project received ${Math.min(...on)}–${Math.max(...on)} events each`
          : 'none on the written project';
      return `${written}; ${off.length} on other projects ${off.reduce((x, y) => x + y, 0)} in all`;
    },
  };
}

const median = (xs: readonly number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => x.toFixed(4);
const lines = (what: string, key: keyof Round) => {
  const unit = key === 'wal' ? 'bytes' : 'ms';
  const msA = roundsA.map((r) => r[key]);
  const msB = roundsB.map((r) => r[key]);
  const ratios = msA.map((x, i) => msB[i]! / x);
  return [
    `A ${positionals[0]}: ${what} per request median ${fmt(median(msA))} ${unit} (min ${fmt(Math.min(...msA))})`,
    `B ${positionals[1]}: ${what} per request median ${fmt(median(msB))} ${unit} (min ${fmt(Math.min(...msB))})`,
    `${what}, B / A per pair: median ${median(ratios).toFixed(3)}; B cheaper in ${ratios.filter((r) => r < 1).length} of ${ratios.length} pairs`,
  ];
};
process.stdout.write(
  [
    ...(POSTGRES
      ? [
          ...lines('CPU (tagplane and PostgreSQL)', 'cpu'),
          ...lines('tagplane CPU', 'server'),
          ...lines('tagplane CPU in user mode', 'user'),
          ...lines('tagplane CPU in the kernel', 'system'),
          ...lines('PostgreSQL CPU', 'postgres'),
          ...lines('PostgreSQL CPU in the backends', 'backends'),
          ...lines('PostgreSQL CPU in background processes', 'background'),
          ...lines('WAL', 'wal'),
        ]
      : [
          ...lines('server CPU', 'cpu'),
          ...lines('server CPU in user mode', 'user'),
          ...lines('server CPU in the kernel', 'system'),
        ]),
    ...lines('wall time', 'wall'),
    `unexpected answers: A ${a.unexpected()}, B ${b.unexpected()}`,
    ...(received ? [`B's subscribers: ${received}`] : []),
    '',
  ].join('\n'),
);
process.exit(0);
