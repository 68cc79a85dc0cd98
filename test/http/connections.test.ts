import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';

/**
 * SPEC §6 "Time limits", over real connections: an idle connection is closed; a request whose
 * headers and body have not arrived in time is answered 408 APIG.0201 and closed. The limits are
 * made short here (idle 1 s, request 0.5 s) so that the tests can wait them out.
 */

const IDLE_MS = 1_000;
const REQUEST_MS = 500;

let h: Harness;
let t: Tenant;
let port: number;

beforeAll(async () => {
  h = await createHarness({
    connections: { idleTimeoutMs: IDLE_MS, requestTimeoutMs: REQUEST_MS },
  });
  t = await h.tenant();
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
});
afterAll(() => h.close());

/** A connection, what it has received, and when it was closed (ms after it opened). */
function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let out = '';
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (d) => {
      out += d.toString();
    });
    const closed = new Promise<number>((done) =>
      socket.on('close', () => done(Date.now() - started)),
    );
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, received: () => out, closed }));
    socket.once('error', reject);
  });
}

function bmsWrite(body: string, length = Buffer.byteLength(body)): string {
  const id = 'srv-1';
  return [
    `POST /v1/${t.projectId}/baremetalservers/${id}/tags/action HTTP/1.1`,
    'Host: x',
    'Content-Type: application/json',
    `X-Auth-Token: ${t.root.token}`,
    `Content-Length: ${length}`,
    '',
    body,
  ].join('\r\n');
}

describe('time limits', () => {
  it('a keep-alive connection left idle after its request is closed', async () => {
    const c = await open();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    // Closed by the server after the idle time (plus the HTTP server's own slack), not before.
    const closedAfter = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(closedAfter).toBeGreaterThanOrEqual(IDLE_MS);
  });

  it('a request whose body does not arrive in time: 408 APIG.0201 in the gateway envelope, closed', async () => {
    const c = await open();
    // Half of the body, then nothing.
    c.socket.write(bmsWrite('{"action":"create",', 80));
    await c.closed;
    const [head, body] = c.received().split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 408 /);
    const parsed = JSON.parse(body) as Record<string, string>;
    expect(Object.keys(parsed).sort()).toEqual(['error_code', 'error_msg', 'request_id']);
    expect(parsed.error_code).toBe('APIG.0201');
    expect(parsed.request_id).toBe(/\r\nx-request-id: ([^\r\n]+)/i.exec(head)?.[1]);
  });

  it('a request whose headers do not arrive in time: 408 APIG.0201, closed', async () => {
    const c = await open();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 [\s\S]*"error_code":"APIG\.0201"/);
  });

  it('a client that aborts mid-body is logged at info as a client abort, not as a store fault', async () => {
    const c = await open();
    const before = h.logs().length;
    c.socket.write(bmsWrite('{"action":"create",', 80));
    await new Promise((r) => setTimeout(r, 100));
    c.socket.destroy();
    await c.closed;
    // The server notices the close at once; give its log a moment.
    let lines: { level: number; msg: string }[] = [];
    for (let i = 0; i < 50 && lines.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      lines = h
        .logs()
        .slice(before)
        .split('\n')
        .filter((l) => l.includes(`/baremetalservers/`))
        .map((l) => JSON.parse(l) as { level: number; msg: string });
    }
    const all = h.logs().slice(before);
    expect(all).not.toMatch(/store unavailable|store timeout/);
    expect(all).not.toMatch(/"level":50/);
    expect(lines.map((l) => [l.level, l.msg])).toContainEqual([30, 'client aborted the request']);
  });
});
