import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Answer } from '../support/envelopes.js';
import { killAll, send, startServer, tempDir } from '../support/process.js';
import { signed } from '../support/signing.js';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  for (const c of cleanups.splice(0)) c();
});

/**
 * Starts a request whose body is sent in two parts. Resolves once the server has read the
 * headers and is waiting for the body (it answered `100 Continue`); `finish()` sends the rest.
 */
function startSlowRequest(
  baseUrl: string,
  req: { method: string; url: string; headers: Record<string, string>; payload: string },
): Promise<{ finish: () => Promise<Answer> }> {
  const url = new URL(req.url, baseUrl);
  const body = Buffer.from(req.payload);
  return new Promise((resolveStarted, reject) => {
    let resolveAnswer: (a: Answer) => void;
    const answer = new Promise<Answer>((r) => {
      resolveAnswer = r;
    });
    const r = http.request(
      {
        method: req.method,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: {
          ...req.headers,
          'content-length': String(body.length),
          expect: '100-continue',
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolveAnswer({
            statusCode: res.statusCode ?? 0,
            headers: res.headers as Answer['headers'],
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    r.on('error', reject);
    r.on('continue', () => {
      r.write(body.subarray(0, 10));
      resolveStarted({
        finish: () => {
          r.end(body.subarray(10));
          return answer;
        },
      });
    });
    r.flushHeaders();
  });
}

describe.each(['SIGTERM', 'SIGINT'] as const)('%s', (signal) => {
  it('lets the in-flight request complete, then exits 0; the write is kept', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    const u = randomBytes(4).toString('hex');
    const keys = { accessKey: `AKSHUT${u}`, secretKey: `shutdown-secret-${u}` };
    const seedFile = join(dir, 'seed.json');
    writeFileSync(
      seedFile,
      JSON.stringify({
        domains: [{ id: `d-${u}`, name: `d-${u}` }],
        projects: [{ id: `p-${u}`, name: 'eu-de', domain_id: `d-${u}` }],
        users: [
          {
            id: `u-${u}`,
            name: 'root',
            domain_id: `d-${u}`,
            root: true,
            access_keys: [{ access_key: keys.accessKey, secret_key: keys.secretKey }],
          },
        ],
        resources: [{ project_id: `p-${u}`, type: 'bms_server', id: 'srv-1' }],
      }),
    );
    const db = `sqlite:${join(dir, 'db.sqlite')}`;
    const s = await startServer(['--port', '0', '--database', db, '--seed', seedFile, '--no-demo']);
    const host = new URL(s.url).host;
    const path = `/v1/p-${u}/baremetalservers/srv-1/tags`;

    const req = signed(
      {
        method: 'POST',
        url: `${path}/action`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ action: 'create', tags: [{ key: 'in-flight', value: signal }] }),
      },
      keys,
      { host },
    );
    const slow = await startSlowRequest(s.url, { ...req, payload: req.payload! });

    s.child.kill(signal);
    // Wait until the server has acted on the signal before the request's body arrives.
    await new Promise<void>((resolve) => {
      const check = () =>
        s.stderr().includes(`${signal} received`) ? resolve() : setTimeout(check, 10);
      check();
    });
    const answer = await slow.finish();
    expect(answer.statusCode, answer.body).toBe(204);
    expect(await s.exited).toEqual({ code: 0, signal: null });

    const again = await startServer(['--port', '0', '--database', db, '--no-demo']);
    const list = await send(
      again.url,
      signed({ method: 'GET', url: path, headers: {} }, keys, { host: new URL(again.url).host }),
    );
    expect(JSON.parse(list.body)).toEqual({ tags: [{ key: 'in-flight', value: signal }] });
    expect(await again.stop(signal)).toEqual({ code: 0, signal: null });
  });

  it('exits 0 promptly when idle', async () => {
    const s = await startServer(['--port', '0', '--database', 'sqlite::memory:', '--no-demo']);
    // An idle keep-alive connection must not hold the shutdown up.
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${s.url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
    expect(await s.stop(signal)).toEqual({ code: 0, signal: null });
    agent.destroy();
  });
});
