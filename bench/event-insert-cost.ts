/**
 * What the change log costs PostgreSQL itself, part by part, without tagplane in the way:
 *
 *   npx tsx bench/event-insert-cost.ts [--rounds 10] [--seconds 5] [--clients 10]
 *     [--variants without,with,...] [--pg-url postgres://postgres@127.0.0.1:5432/postgres]
 *
 * `pgbench` (PostgreSQL's own load generator, from the server's packages) replays the statements
 * of a BMS create with a token, as tagplane sends them (`npm run build` first: the database is
 * migrated and seeded by this checkout's build, with the write benchmark's tenant): lock the
 * resource, read its tags, and upsert two tags with the event inserted by the same statement.
 * Each variant runs on a copy of one seeded database, altered to leave one part of the log out,
 * and the variants take turns, round after round, each round just after a checkpoint:
 *
 * - `without`: the tag upsert alone (no event);
 * - `with`: the event as tagplane appends it (since migration 0019: the first event of a
 *   transaction that locked its resource first, its id and index key given by the statement,
 *   inserted into the table `event_log`, which has no trigger);
 * - `through-trigger`: the event with no id and no key, inserted into the view `events`, as every
 *   other event is appended: its INSTEAD OF trigger gives them, checks the resource's order
 *   (migration 0013) and inserts the row;
 * - `no-indexes`: as `with`, with the log's primary key as its only index;
 * - `small-row`: as `no-indexes`, with an event of one-letter fields;
 * - `no-project-index`, `no-resource-index`, `no-time-index`: as `with`, less one index;
 * - `no-primary-key`: as `with`, with the log's other indexes but not its primary key;
 * - `one-column-row`: in place of the event, a row of one column (the transaction's xid) into a
 *   table whose only index is its primary key: what inserting any row at all beside the tags
 *   costs the write.
 *
 * It prints each variant's transactions per second (median of its rounds) and, per round, its
 * rate over that round's `without`: the part of the write rate the parts left in cost. The
 * transactions are the database's whole share of a write; tagplane's own work per write (HTTP,
 * checks, building the event) is measured by `bench/write-paired.ts --store postgres`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { onServer as onPgServer, databaseUrl as urlOf } from './pg-server.js';
import { ROOT } from './write-processes.js';
import { ADMIN_TOKEN, benchTenant, MASTER_KEY, seedTenant } from './write-workload.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '5' },
    clients: { type: 'string', default: '10' },
    variants: {
      type: 'string',
      default: 'without,with,through-trigger,no-indexes,small-row',
    },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});

const PROJECT = benchTenant().projectId;
const HEAD = `\\set n random(1, 10000)
\\set k random(1, 1000000)
begin;
select rid, resource_id from bench_servers where n = :n \\gset
select *, pg_current_xact_id_if_assigned() is null as first_lock from resources where project_id = '${PROJECT}' and resource_type = 'bms_server' and resource_id = :resource_id for update;
select key, value from tags where project_id = '${PROJECT}' and rid = :rid order by key;
`;
const UPSERT = `insert into tags (project_id, rid, resource_type, key, value) values ('${PROJECT}', :rid, 'bms_server', 'bench-a', 'a' || :k), ('${PROJECT}', :rid, 'bms_server', 'bench-b', 'b' || :k) on conflict (project_id, rid, key) do update set value = excluded.value`;
const COLUMNS =
  'time, project_id, resource_type, resource_id, service, operation, principal_type, user_id, user_name, access_key, source_ip, request_id, changes, domain_id';
/** An event as a BMS create with a token makes it (its principal a user; no access key). */
const EVENT = `'2026-12-06T22:48:30.733Z', '${PROJECT}', 'bms_server', :resource_id, 'bms', 'BatchCreateServerTags', 'token', 'bench-root', 'bench-root', null, '127.0.0.1', '4f3b8b1803e96aef0000000000000015', '[{"key":"bench-a","old":"seed","new":"a1"},{"key":"bench-b","old":"seed","new":"b1"}]'`;
const SMALL_EVENT = `'t', '${PROJECT}', 'b', :resource_id, 's', 'o', 't', null, null, null, 'i', 'r', '[]'`;
const DOMAIN = `coalesce((select domain_id from projects where id = '${PROJECT}'), '')`;
/** The event inserted by the tag upsert's statement: its id and key given (`own`) or not. */
const withEvent = (values: string, own = true) =>
  own
    ? `${HEAD}with put as (${UPSERT}) insert into event_log (${COLUMNS}, id, resource_key) values (${values}, ${DOMAIN}, (select base from events_id_base) + pg_current_xact_id()::text::bigint * 1048576, (('x' || left(md5(:resource_id::text), 16))::bit(64)::bigint));
commit;
`
    : `${HEAD}with put as (${UPSERT}) insert into events (${COLUMNS}) values (${values}, ${DOMAIN});
commit;
`;

const NO_INDEXES = [
  'drop index events_resource_key',
  'drop index events_project',
  'drop index events_time',
];

interface Variant {
  readonly script: string;
  readonly alter: readonly string[];
}

const VARIANTS: Record<string, Variant> = {
  without: { script: `${HEAD}${UPSERT};\ncommit;\n`, alter: [] },
  with: { script: withEvent(EVENT), alter: [] },
  'through-trigger': { script: withEvent(EVENT, false), alter: [] },
  'no-indexes': { script: withEvent(EVENT), alter: NO_INDEXES },
  'small-row': { script: withEvent(SMALL_EVENT), alter: NO_INDEXES },
  'no-project-index': { script: withEvent(EVENT), alter: ['drop index events_project'] },
  'no-resource-index': { script: withEvent(EVENT), alter: ['drop index events_resource_key'] },
  'no-time-index': { script: withEvent(EVENT), alter: ['drop index events_time'] },
  'no-primary-key': {
    script: withEvent(EVENT),
    alter: ['alter table event_log drop constraint events_pkey'],
  },
  'one-column-row': {
    script: `${HEAD}with put as (${UPSERT}) insert into bench_rows (id) values (pg_current_xact_id()::text::bigint);\ncommit;\n`,
    alter: ['create table bench_rows (id bigint primary key)'],
  },
};

const names = args.variants!.split(',').filter((v) => v !== '');
for (const name of names) {
  if (!(name in VARIANTS)) {
    process.stderr.write(
      `unknown variant ${name}; the variants are ${Object.keys(VARIANTS).join(', ')}\n`,
    );
    process.exit(2);
  }
}
if (!names.includes('without')) names.unshift('without');

/** pgbench: on the PATH, or beside a PostgreSQL server of Debian's packages. */
function findPgbench(): string {
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
    return 'pgbench';
  } catch {
    const dir = '/usr/lib/postgresql';
    const versions = existsSync(dir) ? readdirSync(dir).sort().reverse() : [];
    for (const v of versions) {
      const path = join(dir, v, 'bin', 'pgbench');
      if (existsSync(path)) return path;
    }
  }
  process.stderr.write(
    'pgbench was not found: install the PostgreSQL server package (Debian: postgresql), or put pgbench on the PATH\n',
  );
  process.exit(2);
}

const onServer = <R extends Record<string, unknown> = Record<string, unknown>>(
  statement: string,
  database?: string,
) => onPgServer<R>(args['pg-url']!, statement, database);
const databaseUrl = (name: string) => urlOf(args['pg-url']!, name);

const pgbench = findPgbench();
const prefix = `event_cost_${process.pid}`;
const created: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'tagplane-event-cost-'));

async function cleanUp(): Promise<void> {
  for (const name of created) {
    await onServer(`drop database if exists ${name} with (force)`).catch(() => {});
  }
  rmSync(work, { recursive: true, force: true });
}

try {
  process.stderr.write('seeding the write benchmark’s tenant with this build…\n');
  const base = `${prefix}_seed`;
  await onServer(`create database ${base}`);
  created.push(base);
  const { parseServeConfig } = await import(join(ROOT, 'dist', 'config.js'));
  const { startServer } = await import(join(ROOT, 'dist', 'server.js'));
  const server = await startServer(
    parseServeConfig(
      { database: databaseUrl(base), adminToken: ADMIN_TOKEN, demo: false, port: '0' },
      { TAGPLANE_MASTER_KEY: MASTER_KEY },
    ),
  );
  await seedTenant(server.url, benchTenant());
  await server.close();
  await onServer(
    `create table bench_servers as select row_number() over (order by rid) as n, rid, resource_id
     from resources where resource_type = 'bms_server';
     create index on bench_servers (n);
     analyze`,
    base,
  );

  for (const name of names) {
    const db = `${prefix}_${name.replaceAll('-', '_')}`;
    await onServer(`create database ${db} template ${base}`);
    created.push(db);
    for (const statement of VARIANTS[name]!.alter) await onServer(statement, db);
    writeFileSync(join(work, `${name}.sql`), VARIANTS[name]!.script);
  }

  const rounds = Number(args.rounds);
  const tps = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const name of names) {
      const db = `${prefix}_${name.replaceAll('-', '_')}`;
      await onServer('checkpoint');
      const rate = await runPgbench(db, join(work, `${name}.sql`));
      tps.get(name)!.push(rate);
      process.stderr.write(`round ${round}/${rounds}: ${name} ${rate.toFixed(0)} transactions/s\n`);
    }
  }

  const median = (xs: readonly number[]) =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const without = tps.get('without')!;
  const lines = [
    `pgbench, ${args.clients} clients, ${rounds} rounds of ${args.seconds} s each, each round after a checkpoint`,
    '',
    '| Variant | transactions/s (median) | over `without`, per round (median; min–max) |',
    '|---|---|---|',
  ];
  for (const name of names) {
    const xs = tps.get(name)!;
    const ratios = xs.map((x, i) => x / without[i]!);
    lines.push(
      `| ${name} | ${median(xs).toFixed(0)} | ${median(ratios).toFixed(3)}; ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await cleanUp();
}

/** One pgbench run of `script` on `database`: its transactions per second. */
function runPgbench(database: string, script: string): Promise<number> {
  const url = new URL(args['pg-url']!);
  const child = spawn(
    pgbench,
    [
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      decodeURIComponent(url.username || 'postgres'),
      '-n',
      '-M',
      'prepared',
      '-c',
      args.clients!,
      '-j',
      '2',
      '-T',
      args.seconds!,
      '-f',
      script,
      database,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /^tps = ([\d.]+)/m.exec(out);
      if (code !== 0 || !m || /error/i.test(out)) {
        reject(new Error(`pgbench on ${database} failed (exit ${code}):\n${out}`));
        return;
      }
      resolve(Number(m[1]));
    });
  });
}
