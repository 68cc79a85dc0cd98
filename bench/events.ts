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
 * - `subscribers`: one node (SQLite); its memory with no feed subscribers and with 1,000, and
 *   the write rate with 0 and with 1,000 subscribers (each receiving every event).
 *
 * Options: --stores sqlite,postgres (write), --duration S (10), --warmup S (3), --connections N (32), --writes N (stream: 500),
 * --subscribers N (1000), --pg-url URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { drive, type LoadResult, type RequestSpec } from './write-load.js';
import {
  type Child,
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
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const parts = new Set(args.parts.split(','));
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

function node(name: string, root: string, database: string, extra: string[] = []): Promise<Child> {
  return spawnServer({
    name,
    command: process.execPath,
    args: [
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
    env: { TAGPLANE_MASTER_KEY: MASTER },
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

async function streamRows(): Promise<void> {
  const db = await pgDatabase();
  const nodes: Child[] = [];
  const streams: http.ClientRequest[] = [];
  try {
    nodes.push(await node('events-stream-1', ROOT, db.url));
    const token = await seed(nodes[0]!.url);
    nodes.push(await node('events-stream-2', ROOT, db.url, ['--no-migrate']));
    nodes.push(await node('events-stream-3', ROOT, db.url, ['--no-migrate']));
    const arrivals = new Map<string, number[]>();
    for (const n of nodes) {
      streams.push(
        await subscribe(n.url, (id, at) => {
          const list = arrivals.get(id) ?? [];
          list.push(at);
          arrivals.set(id, list);
        }),
      );
    }
    const acked = new Map<string, number>();
    const writes = Number(args.writes);
    for (let i = 0; i < writes; i++) {
      const requestId = `bench-${u}-${i}`;
      const res = await call(
        nodes[i % 3]!.url,
        'POST',
        `/v1/${T.project}/baremetalservers/${serverId(i % SERVERS)}/tags/action`,
        { action: 'create', tags: [{ key: 'env', value: `s${i}` }] },
        { 'x-auth-token': token, 'x-request-id': requestId },
      );
      if (res.status !== 204) throw new Error(`write: ${res.status} ${res.text}`);
      acked.set(requestId, performance.now());
      await new Promise((r) => setTimeout(r, 5));
    }
    const deadline = Date.now() + 5000;
    while ([...acked.keys()].some((id) => (arrivals.get(id)?.length ?? 0) < 3)) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const delays: number[] = [];
    let missing = 0;
    for (const [id, at] of acked) {
      const got = arrivals.get(id) ?? [];
      missing += 3 - Math.min(3, got.length);
      for (const a of got) delays.push(Math.max(0, a - at));
    }
    delays.sort((a, b) => a - b);
    const f = (x: number) => x.toFixed(1);
    out.push(
      '### Live feed delivery across three PostgreSQL nodes',
      '',
      `${writes} writes, to the three nodes in turn; a subscriber on each node. Delay from a write's acknowledgement to its event on a feed (every node's, ${delays.length} deliveries, ${missing} missing):`,
      '',
      '| p50 ms | p90 ms | p99 ms | max ms |',
      '|---|---|---|---|',
      `| ${f(percentile(delays, 50))} | ${f(percentile(delays, 90))} | ${f(percentile(delays, 99))} | ${f(delays.at(-1) ?? Number.NaN)} |`,
      '',
    );
    console.error(out.slice(-2).join('\n'));
  } finally {
    for (const s of streams) s.destroy();
    for (const n of nodes) await n.stop();
    await db.drop();
  }
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function subscriberRows(): Promise<void> {
  const count = Number(args.subscribers);
  const url = `sqlite:${join(dir, `subscribers-${Date.now()}.db`)}`;
  const s = await node('events-subscribers', ROOT, url);
  const streams: http.ClientRequest[] = [];
  try {
    const token = await seed(s.url);
    const pool = writePool(token);
    const alone = await drive(s.url, pool, 204, s.pid, load);
    await new Promise((r) => setTimeout(r, 1000));
    const before = rssMb(s.pid);
    let received = 0;
    for (let i = 0; i < count; i++) {
      streams.push(
        await subscribe(s.url, () => {
          received++;
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
    const withSubs = rssMb(s.pid);
    const busy = await drive(s.url, pool, 204, s.pid, load);
    const f = (x: number) => x.toFixed(0);
    out.push(
      `### ${count} live feed subscribers (SQLite, one node)`,
      '',
      '| | req/s | p99 ms | server RSS MB |',
      '|---|---|---|---|',
      `| no subscriber | ${f(alone.rps)} | ${alone.p99} | ${f(before)} |`,
      `| ${count} subscribers, each sent every event | ${f(busy.rps)} | ${busy.p99} | ${f(withSubs)} (idle); peak ${f(busy.peakRssMb)} under load |`,
      '',
      `Memory for ${count} idle subscribers: ${f(withSubs - before)} MB; write rate ${((busy.rps / alone.rps - 1) * 100).toFixed(1)}% (${received} events delivered to subscribers during the run).`,
      '',
    );
    console.error(out.slice(-6).join('\n'));
  } finally {
    for (const st of streams) st.destroy();
    await s.stop();
  }
}

try {
  if (parts.has('write')) await writeRows();
  if (parts.has('stream')) await streamRows();
  if (parts.has('subscribers')) await subscriberRows();
  const text = out.join('\n');
  process.stdout.write(`${text}\n`);
  writeFileSync(join(OUT, `events-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), text);
} finally {
  killAll();
  rmSync(dir, { recursive: true, force: true });
}
