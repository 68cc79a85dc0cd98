import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  killAll,
  LISTENING,
  runCli,
  runClis,
  type ServerProcess,
  send,
  startServer,
  tempDir,
} from '../support/process.js';
import { signed } from '../support/signing.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

function dir(): string {
  const d = tempDir();
  cleanups.push(d.remove);
  return d.dir;
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

const MEMORY = ['--database', 'sqlite::memory:'];

function seedFile(folder: string, doc: unknown, name = 'seed.json'): string {
  const file = join(folder, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

function sampleSeed() {
  const u = randomBytes(4).toString('hex');
  const keys = { accessKey: `AKSEED${u}`, secretKey: `seed-secret-${u}` };
  return {
    keys,
    projectId: `p-${u}`,
    serverId: `srv-${u}`,
    doc: {
      domains: [{ id: `d-${u}`, name: `acme-${u}` }],
      projects: [{ id: `p-${u}`, name: 'eu-de', domain_id: `d-${u}` }],
      users: [
        {
          id: `u-${u}`,
          name: 'acme',
          domain_id: `d-${u}`,
          root: true,
          password: `pw-${u}`,
          access_keys: [{ access_key: keys.accessKey, secret_key: keys.secretKey }],
        },
      ],
      resources: [
        {
          project_id: `p-${u}`,
          type: 'bms_server',
          id: `srv-${u}`,
          name: 'web-1',
          tags: [{ key: 'env', value: 'seeded' }],
        },
      ],
    },
  };
}

/** The seeded server's tags, read with the seeded access key. */
async function seededTags(s: ServerProcess, seed: ReturnType<typeof sampleSeed>) {
  const res = await send(
    s.url,
    signed(
      {
        method: 'GET',
        url: `/v1/${seed.projectId}/baremetalservers/${seed.serverId}/tags`,
        headers: {},
      },
      seed.keys,
      { host: new URL(s.url).host },
    ),
  );
  return res;
}

/** The admin API accepts `token`. */
async function adminAccepts(s: ServerProcess, token: string): Promise<boolean> {
  const res = await send(s.url, {
    method: 'GET',
    url: '/admin/v1/projects/none/resources',
    headers: { authorization: `Bearer ${token}` },
  });
  expect([401, 404]).toContain(res.statusCode);
  return res.statusCode === 404;
}

/** Splits shell words as sh would for the quoting the example uses ('…', "…", \ newlines). */
function shellWords(text: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === '\n') {
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      current = (current ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      current = (current ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '\\') {
      current = (current ?? '') + text[i + 1];
      i++;
    } else if (/\s/.test(c)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + c;
    }
  }
  if (current !== undefined) words.push(current);
  return words;
}

/** The request a printed `curl` command line sends. */
function parseCurl(command: string) {
  const words = shellWords(command);
  expect(words[0]).toBe('curl');
  let method = 'GET';
  let url = '';
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-X') method = words[++i]!;
    else if (w === '-H') {
      const h = words[++i]!;
      const colon = h.indexOf(':');
      headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
    } else if (w === '-d' || w === '--data' || w === '--data-raw') body = words[++i]!;
    else if (w.startsWith('-')) continue;
    else url = w;
  }
  if (body !== undefined && method === 'GET') method = 'POST';
  return { method, url, headers, body };
}

describe('listening', () => {
  it('--port 0 picks a free port; the first stdout line is the listening line', async () => {
    const s = await startServer(['--port', '0', ...MEMORY]);
    expect(s.lines[0]).toMatch(LISTENING);
    expect(s.lines[0]).toBe(`tagplane listening on http://127.0.0.1:${s.port}`);
    expect(s.port).toBeGreaterThan(0);
    const res = await send(s.url, { method: 'GET', url: '/healthz', headers: {} });
    expect(res.statusCode).toBe(200);
  });

  it('TAGPLANE_PORT sets the port; --port wins over it', async () => {
    const port = await freePort();
    const [s, t] = await Promise.all([
      startServer(MEMORY, { TAGPLANE_PORT: String(port) }),
      // Port 1 would need privileges: the flag must win for this to start.
      startServer(['--port', '0', ...MEMORY], { TAGPLANE_PORT: '1' }),
    ]);
    expect(s.lines[0]).toBe(`tagplane listening on http://127.0.0.1:${port}`);
    expect(t.port).not.toBe(1);
  });

  it('--host and TAGPLANE_HOST set the address; the flag wins', async () => {
    const [s, t] = await Promise.all([
      startServer(['--port', '0', ...MEMORY], { TAGPLANE_HOST: '0.0.0.0' }),
      startServer(['--port', '0', '--host', '127.0.0.1', ...MEMORY], { TAGPLANE_HOST: '0.0.0.0' }),
    ]);
    expect(s.lines[0]).toBe(`tagplane listening on http://0.0.0.0:${s.port}`);
    expect(
      (await send(`http://127.0.0.1:${s.port}`, { method: 'GET', url: '/healthz', headers: {} }))
        .statusCode,
    ).toBe(200);
    expect(t.lines[0]).toBe(`tagplane listening on http://127.0.0.1:${t.port}`);
  });

  it('a port already in use: says what to do, creates nothing; the next start prints the credentials', async () => {
    const s = await startServer(['--port', '0', ...MEMORY]);
    const folder = dir();
    const db = ['--database', `sqlite:${join(folder, 'data', 'tags.db')}`];
    const r = await runCli(['serve', '--port', String(s.port), ...db]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `tagplane: port ${s.port} is in use on 127.0.0.1: pass --port N (another port) or --port 0 (any free port), or stop what holds it\n`,
    );
    expect(readdirSync(folder)).toEqual([]);

    const t = await startServer(['--port', '0', ...db]);
    await t.line(/^admin token: [A-Za-z0-9_-]{16,}$/);
    await t.line(/^demo: root user 'demo', password \S+$/);
  });
  it('a client that connects while the start prepares the database and holds its connection open is turned away, and the start goes on', async () => {
    const port = await freePort();
    const folder = dir();
    // A new database: migrations and the demo data make the time before listening long.
    const starting = startServer([
      '--port',
      String(port),
      '--database',
      `sqlite:${join(folder, 'tags.db')}`,
    ]);
    let listened = false;
    void starting.then(
      () => {
        listened = true;
      },
      () => {},
    );
    // Like a health check without a timeout: connect as soon as anything accepts, send nothing.
    let held: Socket | undefined;
    while (!held && !listened) {
      held = await new Promise<Socket | undefined>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => resolve(socket));
        socket.once('error', () => resolve(undefined));
      });
      if (!held) await new Promise((r) => setTimeout(r, 5));
    }
    expect(held, 'connected before the server listened').toBeDefined();
    const received: Buffer[] = [];
    held!.on('data', (d: Buffer) => received.push(d));
    const closedBeforeListening = await new Promise<boolean>((resolve) => {
      held!.once('close', () => resolve(!listened));
      held!.on('error', () => {});
    });
    // Closed by the start, not by the server it then became, and without a byte of an answer.
    expect(closedBeforeListening).toBe(true);
    expect(Buffer.concat(received).length).toBe(0);
    const s = await starting;
    expect(s.port).toBe(port);
    expect((await send(s.url, { method: 'GET', url: '/healthz', headers: {} })).statusCode).toBe(
      200,
    );
  });
});

describe('database', () => {
  it('TAGPLANE_DATABASE_URL and --database choose the SQLite file; data survives a restart', async () => {
    const folder = dir();
    const file = join(folder, 'sub', 'tags.db');
    const seed = sampleSeed();
    const s = await startServer(['--port', '0', '--seed', seedFile(folder, seed.doc)], {
      TAGPLANE_DATABASE_URL: `sqlite:${file}`,
    });
    expect(existsSync(file)).toBe(true);
    const add = await send(
      s.url,
      signed(
        {
          method: 'POST',
          url: `/v1/${seed.projectId}/baremetalservers/${seed.serverId}/tags/action`,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({
            action: 'create',
            tags: [{ key: 'added', value: 'before-restart' }],
          }),
        },
        seed.keys,
        { host: new URL(s.url).host },
      ),
    );
    expect(add.statusCode, add.body).toBe(204);
    expect(await s.stop()).toEqual({ code: 0, signal: null });

    const t = await startServer(['--port', '0', '--database', `sqlite:${file}`]);
    const res = await seededTags(t, seed);
    expect(JSON.parse(res.body)).toEqual({
      tags: [
        { key: 'added', value: 'before-restart' },
        { key: 'env', value: 'seeded' },
      ],
    });
  });

  it('the flag wins over TAGPLANE_DATABASE_URL', async () => {
    const folder = dir();
    const s = await startServer(
      ['--port', '0', '--database', `sqlite:${join(folder, 'flag.db')}`],
      {
        TAGPLANE_DATABASE_URL: `sqlite:${join(folder, 'env.db')}`,
      },
    );
    expect(existsSync(join(folder, 'flag.db'))).toBe(true);
    expect(existsSync(join(folder, 'env.db'))).toBe(false);
    await s.stop();
  });
});

describe('seed file', () => {
  it('--seed and TAGPLANE_SEED load a seed document at start-up', async () => {
    const folder = dir();
    for (const how of ['flag', 'env'] as const) {
      const seed = sampleSeed();
      const file = seedFile(folder, seed.doc, `${how}.json`);
      const s =
        how === 'flag'
          ? await startServer(['--port', '0', ...MEMORY, '--seed', file])
          : await startServer(['--port', '0', ...MEMORY], { TAGPLANE_SEED: file });
      const res = await seededTags(s, seed);
      expect(res.statusCode, res.body).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ tags: [{ key: 'env', value: 'seeded' }] });
      await s.stop();
    }
  });

  it('loading the same seed on every start is harmless', async () => {
    const folder = dir();
    const seed = sampleSeed();
    const file = seedFile(folder, seed.doc);
    const db = `sqlite:${join(folder, 'db.sqlite')}`;
    for (let i = 0; i < 2; i++) {
      const s = await startServer(['--port', '0', '--database', db, '--seed', file]);
      expect((await seededTags(s, seed)).statusCode).toBe(200);
      expect(await s.stop()).toEqual({ code: 0, signal: null });
    }
  });

  it('a bad seed file: non-zero exit, a message naming the entry, nothing served or written', async () => {
    const folder = dir();
    const seed = sampleSeed();
    const doc = structuredClone(seed.doc) as typeof seed.doc & {
      resources: Record<string, unknown>[];
    };
    doc.resources.push({ project_id: seed.projectId, type: 'ecs_server', id: 'vm-7' });
    const db = join(folder, 'db.sqlite');
    const r = await runCli([
      'serve',
      '--port',
      '0',
      '--database',
      `sqlite:${db}`,
      '--seed',
      seedFile(folder, doc),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stdout).not.toMatch(/listening/);
    expect(r.stderr).toContain('resources[1]');
    expect(r.stderr).toContain('vm-7');
    expect(r.stderr).toContain('ecs_server');

    // Nothing of the document was loaded.
    const s = await startServer(['--port', '0', '--database', `sqlite:${db}`]);
    expect((await seededTags(s, seed)).statusCode).toBe(401);
  });

  it('a missing or unparseable seed file: non-zero exit naming the file', async () => {
    const folder = dir();
    const missing = join(folder, 'missing.json');
    const r = await runCli(['serve', '--port', '0', ...MEMORY, '--seed', missing]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(missing);
    const broken = join(folder, 'broken.json');
    writeFileSync(broken, '{"domains": [');
    const b = await runCli(['serve', '--port', '0', ...MEMORY], { TAGPLANE_SEED: broken });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain(broken);
  });
});

describe('auth mode', () => {
  it('strict by default; TAGPLANE_AUTH=open and --auth open accept any token as root', async () => {
    const seed = sampleSeed();
    const folder = dir();
    const file = seedFile(folder, seed.doc);
    const path = `/v1/${seed.projectId}/baremetalservers/${seed.serverId}/tags`;
    const withToken = {
      method: 'GET' as const,
      url: path,
      headers: { 'x-auth-token': 'anything' },
    };

    const base = ['--port', '0', ...MEMORY, '--seed', file];
    const [strict, open1, open2, strict2] = await Promise.all([
      startServer(base),
      startServer(base, { TAGPLANE_AUTH: 'open' }),
      startServer([...base, '--auth', 'open']),
      // The flag wins over the environment.
      startServer([...base, '--auth', 'strict'], { TAGPLANE_AUTH: 'open' }),
    ]);
    expect((await send(strict.url, withToken)).statusCode).toBe(401);
    expect((await send(open1.url, withToken)).statusCode).toBe(200);
    expect((await send(open2.url, withToken)).statusCode).toBe(200);
    expect((await send(strict2.url, withToken)).statusCode).toBe(401);
  });
});

describe('admin token', () => {
  it('generated on first start, printed as `admin token: <token>`, and it works', async () => {
    const db = `sqlite:${join(dir(), 'db.sqlite')}`;
    const s = await startServer(['--port', '0', '--database', db]);
    const line = await s.line(/^admin token: /);
    const token = /^admin token: (\S+)$/.exec(line)?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(await adminAccepts(s, token!)).toBe(true);
    expect(await adminAccepts(s, `${token}x`)).toBe(false);
    await s.stop();

    // Later starts keep the same token and do not print it again.
    const t = await startServer(['--port', '0', '--database', db]);
    await t.line(/^example: /);
    expect(t.stdout()).not.toContain(token!);
    expect(await adminAccepts(t, token!)).toBe(true);
  });

  it('TAGPLANE_ADMIN_TOKEN and --admin-token set it; it is never printed', async () => {
    const fromEnv = `env-admin-${randomBytes(8).toString('hex')}`;
    const fromFlag = `flag-admin-${randomBytes(8).toString('hex')}`;
    const [s, t] = await Promise.all([
      startServer(['--port', '0', ...MEMORY], { TAGPLANE_ADMIN_TOKEN: fromEnv }),
      startServer(['--port', '0', ...MEMORY, '--admin-token', fromFlag], {
        TAGPLANE_ADMIN_TOKEN: fromEnv,
      }),
    ]);
    expect(await adminAccepts(s, fromEnv)).toBe(true);
    expect(await adminAccepts(t, fromFlag)).toBe(true);
    expect(await adminAccepts(t, fromEnv)).toBe(false);
    await Promise.all([s.stop(), t.stop()]);
    for (const p of [s, t]) {
      expect(p.stdout() + p.stderr()).not.toContain(fromEnv);
      expect(p.stdout() + p.stderr()).not.toContain(fromFlag);
      expect(p.stdout()).not.toMatch(/^admin token: /m);
    }
  });
});

describe('demo', () => {
  it('a new database gets the demo; the printed signed example call succeeds as printed', async () => {
    const s = await startServer(['--port', '0', ...MEMORY]);
    const projectLine = await s.line(/^demo: domain /);
    const projectId = /\(id ([0-9a-f]{32})\)/.exec(projectLine)![1]!;
    const keyLine = await s.line(/^demo: access key /);
    const [, accessKey, secretKey] = /^demo: access key (\S+), secret key (\S+)$/.exec(keyLine)!;
    await s.line(/^example: get a token/);

    // The curl command is the lines after the "example: tag the demo BMS" line, up to the next label.
    const start = s.lines.findIndex((l) => l.startsWith('example: tag the demo BMS'));
    const curlLines: string[] = [];
    for (const l of s.lines.slice(start + 1)) {
      if (l.startsWith('example:')) break;
      curlLines.push(l);
    }
    const call = parseCurl(curlLines.join('\n'));
    expect(call.method).toBe('POST');
    const url = new URL(call.url);
    expect(url.port).toBe(String(s.port));
    const res = await send(s.url, {
      method: 'POST',
      url: `${url.pathname}${url.search}`,
      headers: { ...call.headers, host: url.host },
      payload: call.body!,
    });
    expect(res.statusCode, res.body).toBe(204);

    // The tag it added is there, and the demo has one resource of each type.
    const serverId = /baremetalservers\/([^/]+)\//.exec(url.pathname)![1]!;
    const list = await send(
      s.url,
      signed(
        { method: 'GET', url: `/v1/${projectId}/baremetalservers/${serverId}/tags`, headers: {} },
        { accessKey: accessKey!, secretKey: secretKey! },
        { host: url.host },
      ),
    );
    expect(JSON.parse(list.body).tags).toContainEqual({ key: 'owner', value: 'alice' });
  });

  it('the printed token example works: password token, then the tag listing', async () => {
    const s = await startServer(['--port', '0', ...MEMORY]);
    await s.line(/^curl -s /);
    const start = s.lines.findIndex((l) => l.startsWith('TOKEN=$(curl'));
    const tokenCall = s.lines.slice(start, start + 2).join('\n');
    const payload = /-d '([^']+)'/.exec(tokenCall)![1]!;
    const issued = await send(s.url, {
      method: 'POST',
      url: '/v3/auth/tokens',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(issued.statusCode, issued.body).toBe(201);
    const token = issued.headers['x-subject-token'] as string;
    const listLine = s.lines.find((l) => l.startsWith('curl -s '))!;
    const list = parseCurl(listLine.replace('$TOKEN', token));
    const res = await send(s.url, {
      method: 'GET',
      url: new URL(list.url).pathname,
      headers: list.headers,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body).tags).toContainEqual({ key: 'env', value: 'dev' });
  });

  it('an existing database gets no new demo, but a fresh signed example', async () => {
    const db = `sqlite:${join(dir(), 'db.sqlite')}`;
    const s = await startServer(['--port', '0', '--database', db]);
    await s.line(/^example: get a token/);
    await s.stop();
    const t = await startServer(['--port', '0', '--database', db]);
    const line = await t.line(/^example: tag the demo BMS/);
    expect(line).toBeTruthy();
    expect(t.stdout()).not.toMatch(/^demo: /m);
  });

  it('TAGPLANE_DEMO=0 and --no-demo start empty', async () => {
    for (const [args, env] of [
      [['--no-demo'], {}],
      [[], { TAGPLANE_DEMO: '0' }],
    ] as const) {
      const s = await startServer(['--port', '0', ...MEMORY, ...args], env);
      await s.line(/^admin token: /);
      await s.stop();
      expect(s.stdout()).not.toMatch(/^(demo|example): /m);
    }
  });
});

describe('bad command lines', () => {
  // Each case is a process of its own; they run side by side to keep the suite quick.
  it('exit with status 2 and say what is wrong, without listening', async () => {
    const serve = (...args: string[]) => ['serve', ...MEMORY, ...args];
    const cases: [string[], Record<string, string>][] = [
      [serve('--port', 'abc'), {}],
      [serve('--port', '70000'), {}],
      [serve('--port', '-1'), {}],
      [serve('--auth', 'maybe'), {}],
      [serve('--database', 'mysql://localhost/x'), {}],
      [serve('--admin-token', 'short'), {}],
      [serve('--colour', 'blue'), {}],
      [serve('extra-argument'), {}],
      [serve('--port'), {}],
      [['unknown-command'], {}],
      [serve(), { TAGPLANE_PORT: 'eighty' }],
      [serve(), { TAGPLANE_AUTH: 'loose' }],
      [['serve'], { TAGPLANE_DATABASE_URL: 'oracle://x' }],
      [serve(), { TAGPLANE_ADMIN_TOKEN: 'tiny' }],
      [serve('--workers', '0'), {}],
      [serve('--workers', 'two'), {}],
      [serve('--workers', '65'), {}],
      [serve(), { TAGPLANE_WORKERS: '-1' }],
    ];
    const results = await runClis(
      // Should a bad line be accepted after all, the server must not take a fixed port.
      cases.map(([args, env]) => [args, { TAGPLANE_PORT: '0', ...env }] as const),
    );
    for (const [i, r] of results.entries()) {
      const what = JSON.stringify(cases[i]);
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stdout, what).not.toMatch(/listening/);
      expect(r.stderr.trim(), what).not.toBe('');
    }
  });

  it('bad lockout values (flag or variable): exit 2, saying which setting and why', async () => {
    const serve = (...args: string[]) => ['serve', ...MEMORY, ...args];
    const cases: [string[], Record<string, string>, RegExp][] = [
      [serve('--login-lockout', '5/15'), {}, /--login-lockout.*'5\/15': it needs three parts/],
      [serve(), { TAGPLANE_LOGIN_LOCKOUT: '0/15/15' }, /TAGPLANE_LOGIN_LOCKOUT.*ATTEMPTS '0'/],
      [serve('--aksk-lockout', '5/0'), {}, /--aksk-lockout.*LOCK_MIN '0'/],
      [serve(), { TAGPLANE_AKSK_LOCKOUT: 'five/5' }, /TAGPLANE_AKSK_LOCKOUT.*FAILURES 'five'/],
    ];
    const results = await runClis(
      cases.map(([args, env]) => [args, { TAGPLANE_PORT: '0', ...env }] as const),
    );
    for (const [i, r] of results.entries()) {
      const [args, env, message] = cases[i]!;
      const what = JSON.stringify([args, env]);
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stdout, what).not.toMatch(/listening/);
      expect(r.stderr, what).toMatch(message);
    }
  });

  it('--workers above 1 on SQLite: refused with the reason, exit 2', async () => {
    const folder = dir();
    const results = await Promise.all([
      runCli(['serve', '--port', '0', ...MEMORY, '--workers', '2']),
      runCli(['serve', '--port', '0', '--database', `sqlite:${join(folder, 'w.db')}`], {
        TAGPLANE_WORKERS: '3',
      }),
    ]);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/needs the PostgreSQL store: a SQLite database has one writer/);
    }
    // Refused before anything was created.
    expect(existsSync(join(folder, 'w.db'))).toBe(false);
  });

  it('--help is not an error, and shows the defaults', async () => {
    const r = await runCli(['serve', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--port <port> .*default 8080\)/);
    expect(help).toMatch(/--host <host> .*default 127\.0\.0\.1\)/);
    expect(help).toContain('default sqlite:./data/tagplane.db)');
    expect(help).toMatch(/--auth <mode> .*default strict\)/);
    expect(help).toMatch(/--log-level <level> .*default info\)/);
  });

  it('--log-level it does not know: exit 2 listing the valid levels', async () => {
    const r = await runCli(['serve', '--port', '0', ...MEMORY, '--log-level', 'verbose']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "tagplane: invalid log level 'verbose' (--log-level, TAGPLANE_LOG_LEVEL): use one of fatal, error, warn, info, debug, trace, silent\n",
    );
  });
});

describe('errors that name the database and what to do', () => {
  it('PostgreSQL not running: serve, migrate and export say so; export to a bad path fails before reading', async () => {
    const port = await freePort();
    const url = `postgres://postgres@127.0.0.1:${port}/tagplane`;
    const key = { TAGPLANE_MASTER_KEY: 'ab'.repeat(32) };
    const [serve, migrate, exported, badPath] = await runClis([
      [['serve', '--port', '0', '--database', url], key],
      [['migrate', '--database', url], {}],
      [['export', '--database', url, '-o', join(dir(), 'out.jsonl')], {}],
      [['export', '--database', url, '-o', '/nonexistent-folder/out.jsonl'], {}],
    ]);
    const refused = `tagplane: PostgreSQL at 127.0.0.1:${port} refused the connection (connect ECONNREFUSED 127.0.0.1:${port}): start PostgreSQL there, or point --database (TAGPLANE_DATABASE_URL) at a running server, e.g. postgres://USER:PASSWORD@HOST:5432/DATABASE\n`;
    for (const r of [serve!, migrate!, exported!]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(refused);
    }
    expect(badPath!.code).toBe(1);
    expect(badPath!.stderr).toBe(
      "tagplane: cannot write the export to /nonexistent-folder/out.jsonl: ENOENT: no such file or directory, open '/nonexistent-folder/out.jsonl.partial'\n",
    );
  });
});

describe('version and logs', () => {
  const version = (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;

  it('--version and -V print the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('logs are JSON lines when not at a terminal, text lines with --log-format text; the address is announced once', async () => {
    const [json, text] = await Promise.all([
      startServer(['--port', '0', ...MEMORY]),
      startServer(['--port', '0', ...MEMORY, '--log-format', 'text']),
    ]);
    await Promise.all([json.stop(), text.stop()]);
    // Besides the logs, standard error has the CLI's own `tagplane: …` lines (the signal).
    const logLines = (p: ServerProcess) =>
      p
        .stderr()
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('tagplane: '));
    const jsonLines = logLines(json);
    for (const line of jsonLines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(jsonLines.map((l) => JSON.parse(l).msg)).toContain('started');
    const textLines = logLines(text);
    expect(textLines.some((l) => l.startsWith('{'))).toBe(false);
    expect(textLines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  started url=${text.url} database=sqlite`),
      ),
    );
    for (const p of [json, text]) {
      expect(p.stderr()).not.toContain('Server listening at');
      expect(
        p
          .stdout()
          .split('\n')
          .filter((l) => l.includes('listening')),
      ).toHaveLength(1);
    }
  });
});
