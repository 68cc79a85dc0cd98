/**
 * Change-history benchmark: what the change log costs writes, and how fast and cheap the live
 * feed is.
 *
 *   npx tsx bench/events.ts --base /tmp/tp-base          all three parts
 *   npx tsx bench/events.ts --parts write --base DIR     one part
 *
 * - `write`: BMS creates with a token (each one a real change, so each appends an event), on
 *   SQLite and on PostgreSQL, by this build and by `--base DIR` (a build of tagplane from before
 *   the change log: `bin/tagplane.js` and `dist/` there). Same load as bench/write.ts: autocannon,
 *   32 connections, a warm-up, then the measured run.
 * - `stream`: three nodes on one PostgreSQL database, a live feed subscriber on each; writes go
 *   to the nodes in turn, one at a time; the delay from a write's acknowledgement to its event
 *   arriving on every node's feed (p50, p99, max).
 * - `subscribers`: one node (SQLite), the write load alternating without and with 1,000 feed
 *   subscribers (`--rounds` times each); the subscribers run in `--subscriber-processes`
 *   processes of their own (bench/feed-subscribers.mjs), only counting what they receive, so the
 *   server's own cost shows apart from its clients' (CPU ms per request: on a 2-core machine the
 *   subscribers still compete with it for the cores). Reports writes/s, server CPU per request,
 *   server memory idle and at peak, and whether every subscriber received every event written
 *   meanwhile. `--feed-base DIR`: the same runs against another build (e.g. before a change to
 *   the feed), after this one's. `--subscriber-filter`: `all` (the default), every subscriber
 *   follows the project written to and receives every event; `project`, each follows a project
 *   of its own, as test runs each following theirs would: 10 of them the project written to,
 *   the others one each that nothing is written to (the stream takes any project id), so that
 *   the server's cost shows for many filters of which few pass an event (`--on-written N`
 *   of them on the project written to, 10 by default). Memory is reported three ways: RSS
 *   (which also counts the database file's pages mapped into memory, growing with the file),
 *   anonymous RSS (the process's own memory: heap, buffers, SQLite's page cache), and the heap
 *   still live after each full garbage collection (bench/heap-probe.cjs, loaded into the
 *   server), which is what the process holds rather than what it has not yet collected.
 *
 * Options: --stores sqlite,postgres (write), --duration S (10), --warmup S (3), --connections N (32), --writes N (stream: 500),
 * --subscribers N (1000), --subscriber-processes N (4), --subscriber-filter all|project (all), --on-written N (10), --rounds N (2), --feed-base DIR,
 * --pg-url URL (postgres://postgres@127.0.0.1:5432/postgres), --profile (tagplane runs under
 * --cpu-prof: V8 profiles in bench/out/profiles/<run>/).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type FleetReport, subscriberFleet } from './feed-fleet.js';
import { drive, type LoadResult, type RequestSpec } from './write-load.js';
import {
  type Child,
  cpuMs,
  killAll,
  OUT,
  ROOT,
  spawnServer,
  TAGPLANE_LISTENING,
} from './write-processes.js';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    parts: { type: 'string', default: 'write,stream,subscribers' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    writes: { type: 'string', default: '500' },
    subscribers: { type: 'string', default: '1000' },
    'subscriber-processes': { type: 'string', default: '4' },
    'subscriber-filter': { type: 'string', default: 'all' },
    'on-written': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    'feed-base': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const parts = new Set(args.parts.split(','));
const subscriberFilter = args['subscriber-filter'];
if (subscriberFilter !== 'all' && subscriberFilter !== 'project') {
  throw new Error(`--subscriber-filter: all or project, not '${subscriberFilter}'`);
}
const load = {
  connections: Number(args.connections),
  durationS: Number(args.duration),
  warmupS: Number(args.warmup),
};
const ADMIN = 'events-bench-admin-token-0123456789';
const MASTER = randomBytes(32).toString('hex');
const SERVERS = 200;
const u = randomBytes(4).toString('hex');
const T = {
  domain: `bench-${u}`,
  project: `p-events-${u}`,
  user: 'bench-root',
  password: `pw-${u}-0123456789`,
};
mkdirSync(join(OUT, 'logs'), { recursive: true });
const dir = join(OUT, `events-${u}`);
mkdirSync(dir, { recursive: true });

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});

function node(
  name: string,
  root: string,
  database: string,
  extra: string[] = [],
  heapProbe?: string,
): Promise<Child> {
  return spawnServer({
    name,
    command: process.execPath,
    args: [
      ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT, 'profiles', name)}`] : []),
      ...(heapProbe ? ['--require', join(ROOT, 'bench', 'heap-probe.cjs')] : []),
      join(root, 'bin', 'tagplane.js'),
      'serve',
      '--port',
      '0',
      '--database',
      database,
      '--no-demo',
      '--admin-token',
      ADMIN,
      '--log-level',
      'warn',
      ...extra,
    ],
    env: { TAGPLANE_MASTER_KEY: MASTER, ...(heapProbe ? { HEAP_PROBE_FILE: heapProbe } : {}) },
    listening: (line) => TAGPLANE_LISTENING.exec(line)?.[1],
  });
}

async function call(base: string, method: string, path: string, body?: unknown, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const serverId = (i: number) => `srv-${String(i).padStart(4, '0')}`;

async function seed(base: string): Promise<string> {
  const res = await call(
    base,
    'POST',
    '/admin/v1/seed',
    {
      domains: [{ id: T.domain, name: T.domain }],
      projects: [{ id: T.project, name: 'eu-de', domain_id: T.domain }],
      users: [
        { id: `u-${u}`, name: T.user, domain_id: T.domain, root: true, password: T.password },
      ],
      resources: Array.from({ length: SERVERS }, (_, i) => ({
        project_id: T.project,
        type: 'bms_server',
        id: serverId(i),
        tags: [{ key: 'env', value: 'seed' }],
      })),
    },
    { authorization: `Bearer ${ADMIN}` },
  );
  if (res.status !== 200) throw new Error(`seed: ${res.status} ${res.text}`);
  const token = await call(base, 'POST', '/v3/auth/tokens', {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: T.user, password: T.password, domain: { name: T.domain } } },
      },
      scope: { project: { id: T.project } },
    },
  });
  const t = token.headers.get('x-subject-token');
  if (!t) throw new Error(`token: ${token.status} ${token.text}`);
  return t;
}

/** Creates that each change a tag: server i takes values in turn, so no write repeats the last. */
function writePool(token: string): RequestSpec[] {
  const pool: RequestSpec[] = [];
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < SERVERS; i++) {
      pool.push({
        method: 'POST',
        path: `/v1/${T.project}/baremetalservers/${serverId(i)}/tags/action`,
        headers: { 'content-type': 'application/json', 'x-auth-token': token },
        body: JSON.stringify({ action: 'create', tags: [{ key: 'env', value: `v${round}` }] }),
      });
    }
  }
  return pool;
}

async function pgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tagplane_events_bench_${u}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: args['pg-url'] });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(args['pg-url']);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: args['pg-url'] });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

function row(label: string, r: LoadResult): string {
  return `| ${label} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${Math.round(r.peakRssMb)} |`;
}

const out: string[] = [];

async function writeRows(): Promise<void> {
  const builds: [string, string][] = [['with the log', ROOT]];
  if (args.base) builds.push(['without (base build)', args.base]);
  out.push(
    '### Writes with and without the change log',
    '',
    '| Row | req/s | p50 ms | p99 ms | peak RSS MB |',
    '|---|---|---|---|---|',
  );
  for (const store of (['sqlite', 'postgres'] as const).filter((x) => args.stores.includes(x))) {
    for (const [label, root] of builds) {
      const db = store === 'sqlite' ? undefined : await pgDatabase();
      const url = db?.url ?? `sqlite:${join(dir, `${store}-${label.length}-${Date.now()}.db`)}`;
      const s = await node(`events-write-${store}-${label.length}`, root, url);
      try {
        const token = await seed(s.url);
        const r = await drive(s.url, writePool(token), 204, s.pid, load);
        out.push(row(`${store === 'sqlite' ? 'SQLite' : 'PostgreSQL'} + token, ${label}`, r));
        console.error(out.at(-1));
      } finally {
        await s.stop();
        await db?.drop();
      }
    }
  }
  out.push('');
}

/** An SSE subscriber: calls `onEvent(requestId, at)` for each tag-change event. */
function subscribe(
  base: string,
  onEvent: (requestId: string, at: number) => void,
): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${base}/admin/v1/events/stream?project_id=${T.project}`,
      { headers: { authorization: `Bearer ${ADMIN}` }, agent: false },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`stream: ${res.statusCode}`));
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buf += chunk;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) onEvent((JSON.parse(data.slice(6)) as { request_id: string }).request_id, at);
          }
        });
        resolve(req);
      },
    );
    req.on('error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function streamRows(root: string, label: string): Promise<void> {
  const db = await pgDatabase();
  const nodes: Child[] = [];
  const streams: http.ClientRequest[] = [];
  try {
    nodes.push(await node('events-stream-1', root, db.url));
    const token = await seed(nodes[0]!.url);
    nodes.push(await node('events-stream-2', root, db.url, ['--no-migrate']));
    nodes.push(await node('events-stream-3', root, db.url, ['--no-migrate']));
    // Per write: when each node's feed delivered its event (index: the node).
    const arrivals = new Map<string, number[]>();
    for (const [k, n] of nodes.entries()) {
      streams.push(
        await subscribe(n.url, (id, at) => {
          const list = arrivals.get(id) ?? [];
          list[k] = at;
          arrivals.set(id, list);
        }),
      );
    }
    const acked = new Map<string, { node: number; sent: number; at: number }>();
    const writes = Number(args.writes);
    for (let i = 0; i < writes; i++) {
      const requestId = `bench-${u}-${i}`;
      const sent = performance.now();
      const res = await call(
        nodes[i % 3]!.url,
        'POST',
        `/v1/${T.project}/baremetalservers/${serverId(i % SERVERS)}/tags/action`,
        { action: 'create', tags: [{ key: 'env', value: `s${i}` }] },
        { 'x-auth-token': token, 'x-request-id': requestId },
      );
      if (res.status !== 204) throw new Error(`write: ${res.status} ${res.text}`);
      acked.set(requestId, { node: i % 3, sent, at: performance.now() });
      await new Promise((r) => setTimeout(r, 5));
    }
    const complete = (id: string) => [0, 1, 2].every((k) => arrivals.get(id)?.[k] !== undefined);
    const deadline = Date.now() + 5000;
    while ([...acked.keys()].some((id) => !complete(id))) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // From the acknowledgement (the commit is before it) and from the request's start (after
    // it): the delay from the commit lies between. The write's own round trip is the control:
    // what the machine's scheduling does to any request meanwhile.
    const others: number[] = [];
    const own: number[] = [];
    const fromStart: number[] = [];
    const roundTrips: number[] = [];
    let missing = 0;
    for (const [id, w] of acked) {
      const got = arrivals.get(id) ?? [];
      roundTrips.push(w.at - w.sent);
      for (let k = 0; k < 3; k++) {
        const a = got[k];
        if (a === undefined) {
          missing++;
          continue;
        }
        (k === w.node ? own : others).push(Math.max(0, a - w.at));
        if (k !== w.node) fromStart.push(a - w.sent);
      }
    }
    const f = (x: number) => x.toFixed(1);
    const line = (label: string, xs: number[]) => {
      xs.sort((a, b) => a - b);
      return `| ${label} | ${xs.length} | ${f(percentile(xs, 50))} | ${f(percentile(xs, 90))} | ${f(percentile(xs, 99))} | ${f(xs.at(-1) ?? Number.NaN)} |`;
    };
    out.push(
      `### Live feed delivery across three PostgreSQL nodes (${label})`,
      '',
      `${writes} writes, to the three nodes in turn, 5 ms apart; a subscriber on each node (${missing} deliveries missing):`,
      '',
      '| | n | p50 ms | p90 ms | p99 ms | max ms |',
      '|---|---|---|---|---|---|',
      line("another node's feed, from the write's acknowledgement", others),
      line("another node's feed, from the write's start", fromStart),
      line("the writing node's own feed, from the acknowledgement", own),
      line('control: the write request itself, start to acknowledgement', roundTrips),
      '',
    );
    console.error(out.slice(-7).join('\n'));
  } finally {
    for (const s of streams) s.destroy();
    for (const n of nodes) await n.stop();
    await db.drop();
  }
}

function rssMb(pid: number, field = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
}

/** Memory of the server over a run, beyond the peak RSS the load driver reports. */
interface RunMemory {
  /** The peak of its anonymous RSS (sampled every 100 ms): RSS less the mapped file's pages. */
  readonly peakAnonMb: number;
  /** The heap live after each full collection during the run: the median and the largest. */
  readonly liveHeapMb: readonly [number, number] | undefined;
}

/** Runs `run` while sampling the server's anonymous RSS, and reads its heap probe after. */
async function withMemory<R>(
  pid: number,
  probe: string,
  run: () => Promise<R>,
): Promise<[R, RunMemory]> {
  let peakAnonMb = rssMb(pid, 'RssAnon');
  const timer = setInterval(() => {
    peakAnonMb = Math.max(peakAnonMb, rssMb(pid, 'RssAnon'));
  }, 100);
  const from = Date.now();
  try {
    const result = await run();
    const to = Date.now();
    let lines: string[] = [];
    try {
      lines = readFileSync(probe, 'utf8').split('\n');
    } catch {
      // No full collection at all yet: nothing written.
    }
    const live = lines
      .map((l) => l.split(' ').map(Number) as [number, number])
      .filter(([t, bytes]) => t >= from && t <= to && bytes > 0)
      .map(([, bytes]) => bytes / 1048576)
      .sort((a, b) => a - b);
    return [
      result,
      {
        peakAnonMb,
        liveHeapMb:
          live.length > 0 ? [live[Math.floor((live.length - 1) / 2)]!, live.at(-1)!] : undefined,
      },
    ];
  } finally {
    clearInterval(timer);
  }
}

/** How many of the subscribers follow the project written to, with `--subscriber-filter project`. */
const ON_WRITTEN = Number(args['on-written']);

/**
 * The project each subscriber follows: all the project written to, or (`project`) each one of
 * its own, `ON_WRITTEN` of them spread among the others (and so among the processes) on the
 * project written to.
 */
function followedProjects(count: number): string[] {
  if (subscriberFilter === 'all') return Array.from({ length: count }, () => T.project);
  const stride = Math.max(1, Math.floor(count / ON_WRITTEN));
  return Array.from({ length: count }, (_, i) =>
    i % stride === 0 && i / stride < ON_WRITTEN ? T.project : `${T.project}-other-${i}`,
  );
}

/** The id of the log's newest event (0 when empty). */
async function headId(base: string): Promise<number> {
  const res = await call(base, 'GET', '/admin/v1/events?order=desc&limit=1', undefined, {
    authorization: `Bearer ${ADMIN}`,
  });
  const [e] = (JSON.parse(res.text) as { events: { id: string }[] }).events;
  return Number(e?.id ?? 0);
}

/**
 * How many events the log holds after `since`, by project (walked page by page, as a client
 * would).
 */
async function eventsAfter(base: string, since: number): Promise<Map<string, number>> {
  const byProject = new Map<string, number>();
  let marker: string | null = String(since);
  while (marker !== null) {
    const res = await call(base, 'GET', `/admin/v1/events?since=${marker}&limit=1000`, undefined, {
      authorization: `Bearer ${ADMIN}`,
    });
    const page = JSON.parse(res.text) as {
      events: { project_id: string }[];
      next_marker: string | null;
    };
    for (const e of page.events)
      byProject.set(e.project_id, (byProject.get(e.project_id) ?? 0) + 1);
    marker = page.next_marker;
  }
  return byProject;
}

/** Subscribers of one kind (on the project written to, or on another): what each expected and received. */
interface FleetKind {
  readonly label: string;
  readonly streams: number;
  readonly expected: readonly [number, number];
  readonly received: readonly [number, number];
}

interface SubscriberRun {
  readonly load: LoadResult;
  readonly memory: RunMemory;
  readonly idleRssMb: number;
  /** With subscribers: the server's RSS just before they connected (the idle figure is after). */
  readonly beforeRssMb?: number;
  readonly fleet?: FleetReport & { kinds: FleetKind[]; cpu: number };
}

const range = (xs: readonly number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];

/** One write run against `s`, with `count` subscribers (0: none) in their own processes. */
async function subscriberRun(
  s: Child,
  probe: string,
  pool: RequestSpec[],
  count: number,
): Promise<SubscriberRun> {
  const measured = () => withMemory(s.pid, probe, () => drive(s.url, pool, 204, s.pid, load));
  // The server settles after the previous run (or the seed) before its idle RSS is read.
  await new Promise((r) => setTimeout(r, 1000));
  const beforeRssMb = rssMb(s.pid);
  if (count === 0) {
    const [result, memory] = await measured();
    return { idleRssMb: beforeRssMb, load: result, memory };
  }
  const processes = Number(args['subscriber-processes']);
  const projects = followedProjects(count);
  const fleet = await subscriberFleet(s.url, ADMIN, processes, projects);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idleRssMb = rssMb(s.pid);
    const head = await headId(s.url);
    const cpuBefore = fleet.pids.map(cpuMs);
    const wallBefore = performance.now();
    const [result, memory] = await measured();
    const logged = await eventsAfter(s.url, head);
    const expected = projects.map((p) => logged.get(p) ?? 0);
    // The subscribers may still be reading what was sent during the run.
    const deadline = Date.now() + 60_000;
    const short = (r: FleetReport) => expected.some((n, i) => (r.each[i] ?? 0) < n);
    let report = await fleet.report();
    while (short(report) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      report = await fleet.report();
    }
    const cpu =
      fleet.pids.reduce((a, pid, i) => a + cpuMs(pid) - cpuBefore[i]!, 0) /
      (performance.now() - wallBefore);
    const kinds: FleetKind[] = [];
    for (const [label, written] of [
      ['on the written project', true],
      ['on other projects', false],
    ] as const) {
      const mine = projects.flatMap((p, i) => ((p === T.project) === written ? [i] : []));
      if (mine.length === 0) continue;
      kinds.push({
        label,
        streams: mine.length,
        expected: range(mine.map((i) => expected[i]!)),
        received: range(mine.map((i) => report.each[i] ?? 0)),
      });
    }
    return { load: result, memory, idleRssMb, beforeRssMb, fleet: { ...report, kinds, cpu } };
  } finally {
    await fleet.stop();
  }
}

async function subscriberRows(): Promise<void> {
  const count = Number(args.subscribers);
  const rounds = Number(args.rounds);
  const builds: [string, string][] = [['this build', ROOT]];
  if (args['feed-base']) builds.push(['feed-base build', args['feed-base']]);
  const f = (x: number, d = 0) => x.toFixed(d);
  const onWritten = followedProjects(count).filter((p) => p === T.project).length;
  const filters =
    subscriberFilter === 'all'
      ? 'subscriber filter `all`: every subscriber follows the project written to and receives every event'
      : `subscriber filter \`project\`: each subscriber follows a project of its own, ${onWritten} the project written to (each receives every event), ${count - onWritten} each a project nothing is written to (each receives none)`;
  out.push(
    `### ${count} live feed subscribers (SQLite, one node, filter: ${subscriberFilter})`,
    '',
    `Subscribers in ${args['subscriber-processes']} processes of their own, the server alone in its process, writes from autocannon (${load.connections} connections, ${load.durationS} s after ${load.warmupS} s warm-up), runs alternating; ${filters}.`,
    '',
    '| Build, run | subscribers | writes req/s | p99 ms | server CPU ms/request | server CPU (cores) | subscribers CPU (cores) | other work (cores) | server RSS MB idle (before → after the subscribers connect) / peak | peak anonymous RSS MB | live heap after full GCs MB (median / largest) | events each (expected) | min / max received | reconnects |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  // Round by round, each build in turn (a fresh server and database each time), so that a
  // change in the machine's load meanwhile falls on both.
  for (let round = 1; round <= rounds; round++) {
    for (const [label, root] of builds) {
      const url = `sqlite:${join(dir, `subscribers-${round}-${label.length}.db`)}`;
      const probe = join(dir, `heap-${round}-${label.length}.txt`);
      const s = await node(`events-subscribers-${label.length}`, root, url, [], probe);
      try {
        const pool = writePool(await seed(s.url));
        // The second run finds a larger log and a warmer server: which goes first alternates.
        for (const n of round % 2 === 1 ? [0, count] : [count, 0]) {
          const r = await subscriberRun(s, probe, pool, n);
          const live = r.memory.liveHeapMb;
          const fl = r.fleet;
          // Per kind of subscriber, when there are two: `10 on the written project: 5000`.
          const perKind = (cell: (k: FleetKind) => string) =>
            fl
              ? fl.kinds.length === 1
                ? cell(fl.kinds[0]!)
                : fl.kinds.map((k) => `${k.streams} ${k.label}: ${cell(k)}`).join('; ')
              : '–';
          const expected = perKind(({ expected: [lo, hi] }) =>
            lo === hi ? `${lo}` : `${lo}–${hi}`,
          );
          const received = perKind(({ received: [lo, hi] }) => `${lo} / ${hi}`);
          out.push(
            `| ${label}, ${round} | ${n} | ${f(r.load.rps)} | ${f(r.load.p99)} | ${f(r.load.serverCpuPerRequestMs, 3)} | ${f(r.load.serverCpu, 2)} | ${fl ? f(fl.cpu, 2) : '–'} | ${f(Math.max(0, r.load.otherCpu - (fl?.cpu ?? 0)), 2)} | ${r.beforeRssMb !== undefined ? `${f(r.beforeRssMb)} → ` : ''}${f(r.idleRssMb)} / ${f(r.load.peakRssMb)} | ${f(r.memory.peakAnonMb)} | ${live ? `${f(live[0])} / ${f(live[1])}` : 'no full GC'} | ${expected} | ${received} | ${fl ? fl.reconnects : '–'} |`,
          );
          console.error(out.at(-1));
        }
      } finally {
        await s.stop();
      }
    }
  }
  out.push('');
}

try {
  if (parts.has('write')) await writeRows();
  if (parts.has('stream')) {
    for (let round = 1; round <= Number(args.rounds); round++) {
      await streamRows(ROOT, `this build, run ${round}`);
      if (args['feed-base']) await streamRows(args['feed-base'], `feed-base build, run ${round}`);
    }
  }
  if (parts.has('subscribers')) await subscriberRows();
  const text = out.join('\n');
  process.stdout.write(`${text}\n`);
  writeFileSync(join(OUT, `events-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), text);
} finally {
  killAll();
  rmSync(dir, { recursive: true, force: true });
}
