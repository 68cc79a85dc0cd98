import { type AddressInfo, connect } from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/app-error.js';
import { bms } from '../../src/services/bms.js';
import { renderError } from '../../src/services/error-table.js';
import { adminTags, expectGatewayError, expectServiceError } from '../support/envelopes.js';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';
import { ROUTES, type RouteRequest } from '../support/routes.js';
import { signed, withToken } from '../support/signing.js';

const MiB = 1024 * 1024;
const PRINTABLE = /^[\x20-\x7e]{1,128}$/;

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

/** The request with its JSON body padded with spaces to exactly `size` bytes. */
function padded(req: RouteRequest, size: number): RouteRequest {
  const body = req.payload!;
  return { ...req, payload: body + ' '.repeat(size - Buffer.byteLength(body)) };
}

function requestIdOf(res: LightMyRequestResponse): string {
  const id = res.headers['x-request-id'];
  expect(id).toEqual(expect.any(String));
  expect(id).toMatch(PRINTABLE);
  return id as string;
}

describe('X-Request-Id', () => {
  /** One request of each kind of answer the server gives. */
  const answers: [string, () => Promise<RouteRequest>][] = [
    [
      'a success',
      async () => {
        const id = await t.resource('bms_server');
        return withToken(
          ROUTES.find((r) => r.profile.id === 'bms')!.request(t.projectId, id),
          t.root.token,
        );
      },
    ],
    [
      'a 400',
      async () => ({
        method: 'POST',
        url: `/v1/${t.projectId}/baremetalservers/${await t.resource('bms_server')}/tags/action`,
        headers: { 'content-type': 'application/json', 'x-auth-token': t.root.token },
        payload: '{not json',
      }),
    ],
    [
      'a 403',
      async () => ({
        method: 'GET',
        url: `/v1/${t.projectId}/baremetalservers/${await t.resource('bms_server')}/tags`,
        headers: { 'x-auth-token': t.root.domainToken },
      }),
    ],
    [
      'a not-found of the service',
      async () => ({
        method: 'GET',
        url: `/v1/${t.projectId}/baremetalservers/no-such-server/tags`,
        headers: { 'x-auth-token': t.root.token },
      }),
    ],
    ['a 404 unknown route', async () => ({ method: 'GET', url: '/v9/nothing/here', headers: {} })],
    [
      'a 413',
      async () =>
        padded(
          {
            method: 'POST',
            url: `/v1/${t.projectId}/baremetalservers/x/tags/action`,
            headers: { 'content-type': 'application/json' },
            payload: '{}',
          },
          MiB + 1,
        ),
    ],
    [
      'a 401',
      async () => ({
        method: 'GET',
        url: `/v1/${t.projectId}/baremetalservers/x/tags`,
        headers: {},
      }),
    ],
    ['an IAM 401', async () => ({ method: 'GET', url: '/v3/projects', headers: {} })],
    [
      'an admin 401',
      async () => ({
        method: 'POST',
        url: '/admin/v1/reset',
        headers: { authorization: 'Bearer no' },
      }),
    ],
    ['/healthz', async () => ({ method: 'GET', url: '/healthz', headers: {} })],
  ];

  it.each(answers)('%s carries a fresh id when the client sent none', async (_, build) => {
    const req = await build();
    const a = requestIdOf(await h.inject(req));
    const b = requestIdOf(await h.inject(req));
    expect(a).not.toBe(b);
  });

  it.each(answers)("%s echoes the client's own id", async (_, build) => {
    const req = await build();
    for (const given of ['a', 'req-42 / ~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',.', 'x'.repeat(128)]) {
      const res = await h.inject({ ...req, headers: { ...req.headers, 'x-request-id': given } });
      expect(res.headers['x-request-id']).toBe(given);
      if (res.statusCode >= 400 && res.headers['content-type']?.toString().includes('json')) {
        const body = JSON.parse(res.body) as { request_id?: string };
        if ('request_id' in body) expect(body.request_id).toBe(given);
      }
    }
  });

  it.each(answers)('%s replaces an unusable client id with a fresh one', async (_, build) => {
    const req = await build();
    for (const given of ['x'.repeat(129), 'tab\there', 'caf\u00e9', 'del\u007f']) {
      const res = await h.inject({ ...req, headers: { ...req.headers, 'x-request-id': given } });
      const id = requestIdOf(res);
      expect(id).not.toBe(given);
    }
  });

  it('the gateway envelope carries the same id as the header', async () => {
    const res = await h.inject({
      method: 'GET',
      url: '/nowhere',
      headers: { 'x-request-id': 'trace-me-123' },
    });
    expectGatewayError(res, 404, 'APIG.0101');
    expect(JSON.parse(res.body).request_id).toBe('trace-me-123');
  });
});

describe('body size limit (1 MiB)', () => {
  const withBody = ROUTES.filter((r) => r.hasBody);

  it.each(withBody)('$name: a body of exactly 1 MiB passes the size check', async (rc) => {
    const id = await rc.prepare(t);
    const req = padded(withToken(rc.request(t.projectId, id), t.root.token), MiB);
    expect(Buffer.byteLength(req.payload!)).toBe(MiB);
    const res = await h.inject(req);
    expect(res.statusCode, res.body).toBe(rc.successStatus);
  });

  it.each(withBody)('$name: 1 MiB + 1 byte → 413 APIG.0201, nothing written', async (rc) => {
    const id = await rc.prepare(t);
    const req = padded(withToken(rc.request(t.projectId, id), t.root.token), MiB + 1);
    const res = await h.inject(req);
    expectGatewayError(res, 413, 'APIG.0201');
    expect(await adminTags(h, t.projectId, rc.profile.resourceType, id)).toEqual([
      { key: 'k0', value: 'v0' },
    ]);
  });

  it.each(withBody)(
    '$name: an oversized body is refused even before credentials are checked',
    async (rc) => {
      const id = await rc.prepare(t);
      const res = await h.inject(padded(rc.request(t.projectId, id), 2 * MiB));
      expectGatewayError(res, 413, 'APIG.0201');
    },
  );

  it('a signed request of exactly 1 MiB verifies', async () => {
    const rc = withBody.find((r) => r.profile.id === 'bms')!;
    const id = await rc.prepare(t);
    const res = await h.inject(signed(padded(rc.request(t.projectId, id), MiB), t.root));
    expect(res.statusCode, res.body).toBe(rc.successStatus);
  });

  it('the IAM and admin routes have the same limit', async () => {
    for (const url of ['/v3/auth/tokens', '/admin/v1/seed']) {
      const res = await h.inject(
        padded(
          { method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{}' },
          MiB + 1,
        ),
      );
      expectGatewayError(res, 413, 'APIG.0201');
    }
  });
});

describe('unknown routes', () => {
  it.each([
    ['POST', '/'],
    ['GET', '/v1'],
    ['GET', `/v2/p/baremetalservers/s/tags`],
    ['POST', '/v1/p/baremetalservers/s/tags/act'],
    ['GET', '/v1/p/dev-servers/hyperinstance/x/tags/create/extra'],
  ] as const)('%s %s → 404 APIG.0101 in the gateway envelope', async (method, url) => {
    const res = await h.inject({ method, url });
    expectGatewayError(res, 404, 'APIG.0101');
  });

  it.each(ROUTES)('$name with a method it does not serve → 404 APIG.0101', async (rc) => {
    const id = await rc.prepare(t);
    const req = withToken(rc.request(t.projectId, id), t.root.token);
    const res = await h.inject({ ...req, method: 'PATCH' });
    expectGatewayError(res, 404, 'APIG.0101');
    expect(await adminTags(h, t.projectId, rc.profile.resourceType, id)).toEqual([
      { key: 'k0', value: 'v0' },
    ]);
  });

  it('an unknown route with valid credentials is still 404 APIG.0101', async () => {
    const res = await h.inject({
      method: 'GET',
      url: `/v1/${t.projectId}/servers`,
      headers: { 'x-auth-token': t.root.token },
    });
    expectGatewayError(res, 404, 'APIG.0101');
  });
});

describe('requests the router cannot take', () => {
  it.each([
    '/v1/p/baremetalservers/%zz/tags',
    '/v1/p/baremetalservers/%E0%A4%A/tags',
    '/v1.1/p/clusters/c/tags/%',
  ])('a malformed percent-encoding (%s): 400 APIG.0201 in the gateway envelope', async (url) => {
    for (const headers of [{}, { 'x-request-id': 'bad-url-1' }]) {
      const res = await h.inject({ method: 'GET', url, headers });
      expectGatewayError(res, 400, 'APIG.0201');
      if ('x-request-id' in headers) expect(res.headers['x-request-id']).toBe('bad-url-1');
    }
  });

  it('a path parameter longer than the router takes: 400 APIG.0201 in the gateway envelope', async () => {
    const res = await h.inject({
      method: 'GET',
      url: `/v1/${t.projectId}/baremetalservers/${'a'.repeat(5000)}/tags`,
      headers: { 'x-auth-token': t.root.token, 'x-request-id': 'long-param' },
    });
    expectGatewayError(res, 400, 'APIG.0201');
    expect(res.headers['x-request-id']).toBe('long-param');
  });

  describe('a path segment over 1,024 bytes as sent: 400 APIG.0201', () => {
    const list = (segment: string) => ({
      method: 'GET' as const,
      url: `/v1/${t.projectId}/baremetalservers/${segment}/tags`,
      headers: { 'x-auth-token': t.root.token },
    });

    it('1,024 bytes passes to the service; 1,025 does not', async () => {
      const within = await h.inject(list('s'.repeat(1024)));
      expectServiceError(bms, within, 400, 'BMS.0040');
      expectGatewayError(await h.inject(list('s'.repeat(1025))), 400, 'APIG.0201');
    });

    it('bytes are counted as sent: 171 percent-encoded characters (1,026 bytes) are refused', async () => {
      // Decoded, the segment is 171 characters, far under the limit; as sent it is over it.
      expectGatewayError(await h.inject(list('%C3%A9'.repeat(171))), 400, 'APIG.0201');
      const within = await h.inject(list('%C3%A9'.repeat(170)));
      expect(within.statusCode).toBe(400);
      expect(JSON.parse(within.body)).toMatchObject({ error: { code: 'BMS.0040' } });
    });

    it('on any route, known or not, before the credentials are looked at', async () => {
      for (const url of [
        `/v9/${'x'.repeat(1025)}`,
        `/v1/p/baremetalservers/${'x'.repeat(2000)}/tags`,
      ]) {
        expectGatewayError(await h.inject({ method: 'GET', url }), 400, 'APIG.0201');
      }
    });
  });

  describe('a URI over 32 KiB: 414 APIG.0201', () => {
    /** A tag listing whose URI (path and query) is exactly `size` bytes. */
    async function listing(size: number) {
      const id = await t.resource('bms_server');
      const path = `/v1/${t.projectId}/baremetalservers/${id}/tags?pad=`;
      return {
        method: 'GET' as const,
        url: path + 'p'.repeat(size - path.length),
        headers: { 'x-auth-token': t.root.token },
      };
    }

    it('32 KiB is served; one byte more is refused', async () => {
      const within = await listing(32 * 1024);
      expect(within.url.length).toBe(32 * 1024);
      expect((await h.inject(within)).statusCode).toBe(200);
      const over = await listing(32 * 1024 + 1);
      expectGatewayError(await h.inject(over), 414, 'APIG.0201');
    });
  });
});

describe('a NUL in a path parameter (PostgreSQL text cannot hold one)', () => {
  // Refused as an invalid identifier, 400 with the service's invalid-parameter code, on both
  // stores (test/http/identifier-fuzz.test.ts drives every identifier with more values).
  const invalid = (rc: (typeof ROUTES)[number]) =>
    renderError(rc.profile, new AppError('invalid_parameter', ''));

  it.each(ROUTES)(
    "$name on a resource id holding NUL: 400, the service's invalid-parameter code",
    async (rc) => {
      const res = await h.inject(withToken(rc.request(t.projectId, 'ab\u0000cd'), t.root.token));
      expectServiceError(rc.profile, res, 400, invalid(rc).code);
    },
  );

  it.each(ROUTES)(
    "$name signed, in a project id holding NUL: 400, the service's invalid-parameter code, nothing changes",
    async (rc) => {
      const id = await rc.prepare(t);
      const res = await h.inject(signed(rc.request(`${t.projectId}\u0000`, id), t.root));
      expectServiceError(rc.profile, res, 400, invalid(rc).code);
      expect(await adminTags(h, t.projectId, rc.profile.resourceType, id)).toEqual([
        { key: 'k0', value: 'v0' },
      ]);
    },
  );

  it('with --auth open, a project id holding NUL is refused as invalid, not an internal error', async () => {
    const open = await createHarness({ auth: 'open' });
    try {
      for (const rc of ROUTES) {
        const res = await open.inject(withToken(rc.request('p\u0000', 'r1'), 'any-token'));
        expectServiceError(rc.profile, res, 400, invalid(rc).code);
      }
    } finally {
      await open.close();
    }
  });
});

describe('over a real connection', () => {
  let served: Harness;
  let port: number;
  beforeAll(async () => {
    served = await createHarness();
    await served.app.listen({ host: '127.0.0.1', port: 0 });
    port = (served.app.server.address() as AddressInfo).port;
  });
  afterAll(() => served.close());

  /** Writes raw bytes on a new connection; resolves with everything the server sent back. */
  function raw(bytes: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
      let out = '';
      socket.on('data', (d) => {
        out += d.toString();
      });
      socket.on('close', () => resolve(out));
      // The server may reset the connection once it has answered a request it refused.
      socket.on('error', (err) => (out === '' ? reject(err) : resolve(out)));
    });
  }

  it('a chunked body over 1 MiB (no Content-Length): 413 APIG.0201', async () => {
    const chunk = ' '.repeat(64 * 1024);
    const head = [
      'POST /v1/p/baremetalservers/s/tags/action HTTP/1.1',
      'Host: x',
      'Content-Type: application/json',
      'Transfer-Encoding: chunked',
      'Connection: close',
      '',
      '',
    ].join('\r\n');
    const chunks = Array.from({ length: 17 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const answer = await raw(`${head}${chunks.join('')}0\r\n\r\n`);
    const [statusHead, body] = answer.split('\r\n\r\n') as [string, string];
    expect(statusHead).toMatch(/^HTTP\/1\.1 413 /);
    const parsed = JSON.parse(body) as Record<string, string>;
    expect(parsed.error_code).toBe('APIG.0201');
    expect(parsed.request_id).toBe(/\r\nx-request-id: ([^\r\n]+)/i.exec(statusHead)?.[1]);
  });

  it.each([
    ['a malformed request line', 'GET /healthz HTTP/9.9 extra\r\n\r\n', 400],
    ['an invalid header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400],
    [
      'headers too large',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
      431,
    ],
    [
      'a URI of 40 KiB',
      `GET /healthz?x=${'a'.repeat(40 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      414,
    ],
    [
      'a URI of 100 KiB, longer than the parser reads',
      `GET /healthz?x=${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      414,
    ],
  ] as const)('%s: the gateway envelope with an X-Request-Id', async (_, bytes, status) => {
    const answer = await raw(bytes);
    const [head, body] = answer.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    const id = /\r\nx-request-id: ([^\r\n]+)/i.exec(head)?.[1];
    expect(id).toMatch(PRINTABLE);
    const parsed = JSON.parse(body) as Record<string, string>;
    expect(Object.keys(parsed).sort()).toEqual(['error_code', 'error_msg', 'request_id']);
    expect(parsed.error_code).toBe('APIG.0201');
    expect(parsed.request_id).toBe(id);
  });
});
