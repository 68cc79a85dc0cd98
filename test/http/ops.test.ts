import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGatewayError } from '../support/envelopes.js';
import { createHarness, type Harness } from '../support/harness.js';
import { ROUTES } from '../support/routes.js';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

interface Operation {
  operationId?: string;
  summary?: string;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<
    string,
    { description?: string; content?: Record<string, { schema?: unknown }> }
  >;
  'x-iam-actions'?: { action: string; requires: string[] }[];
}
interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

async function openApi(): Promise<OpenApi> {
  const res = await h.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return JSON.parse(res.body) as OpenApi;
}

/** `METHOD /path/:param` of every route the app serves, from Fastify's own route tree. */
function servedRoutes(): Set<string> {
  const tree = h.app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const out = new Set<string>();
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) {
      out.add(`${method} ${stack.join('')}`);
    }
  }
  return out;
}

/**
 * Routes that are not API operations: the HEAD twins of GET routes (but HEAD /v3/auth/tokens,
 * an operation of its own in IAM) and the docs themselves.
 */
const isDocumentable = (route: string) =>
  (!route.startsWith('HEAD ') || route === 'HEAD /v3/auth/tokens') &&
  !/ \/docs|^GET \/openapi\.json$/.test(route);

function documentedRoutes(doc: OpenApi): Set<string> {
  const out = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      out.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`);
    }
  }
  return out;
}

describe('health', () => {
  it('GET /healthz → 200', async () => {
    const res = await h.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });

  it('GET /readyz → 200 when the database answers', async () => {
    const res = await h.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ready' });
  });

  it('GET /readyz → 503 (APIG.0202 Backend unavailable) when the database does not answer; /healthz stays 200', async () => {
    const own = await createHarness();
    const t = await own.tenant();
    const id = await t.resource('bms_server');
    await own.store.close();
    try {
      expectGatewayError(await own.inject({ method: 'GET', url: '/readyz' }), 503, 'APIG.0202');
      expect((await own.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // A tag call cannot be served either: the answer is a generic 5xx, not a success.
      const res = await own.inject({
        method: 'GET',
        url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
        headers: { 'x-auth-token': t.root.token },
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
      expect(res.body).not.toMatch(/sqlite|kysely|destroyed|stack/i);
    } finally {
      await own.app.close();
    }
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document', async () => {
    const doc = await openApi();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toBe('tagplane');
    expect(doc.info.version).toEqual(expect.any(String));
  });

  it('documents exactly the routes the server serves', async () => {
    const served = [...servedRoutes()].filter(isDocumentable).sort();
    expect(served.length).toBeGreaterThan(20);
    expect([...documentedRoutes(await openApi())].sort()).toEqual(served);
  });

  it('documents every tag route of every profile', async () => {
    const documented = documentedRoutes(await openApi());
    for (const rc of ROUTES) expect(documented).toContain(`${rc.route.method} ${rc.route.path}`);
  });

  it('gives every operation a unique operationId, a summary and responses', async () => {
    const doc = await openApi();
    const ids: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(op.operationId, where).toMatch(/^[A-Za-z][A-Za-z0-9]+$/);
        expect(op.summary, where).toEqual(expect.any(String));
        ids.push(op.operationId!);
        const statuses = Object.keys(op.responses ?? {});
        expect(
          statuses.some((s) => /^2\d\d$/.test(s)),
          `${where} has a success response`,
        ).toBe(true);
        if (!['/', '/healthz', '/readyz', '/schemas/seed.json'].includes(path)) {
          expect(
            statuses.some((s) => /^4\d\d$/.test(s)),
            `${where} has error responses`,
          ).toBe(true);
        }
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every operation that takes a body a JSON request schema', async () => {
    const doc = await openApi();
    for (const rc of ROUTES.filter((r) => r.hasBody)) {
      const op =
        doc.paths[rc.route.path.replace(/:([A-Za-z_]+)/g, '{$1}')]![rc.route.method.toLowerCase()]!;
      expect(op.requestBody?.content?.['application/json']?.schema, rc.name).toEqual(
        expect.any(Object),
      );
    }
    for (const [path, method] of [
      ['/v3/auth/tokens', 'post'],
      ['/admin/v1/seed', 'post'],
      ['/admin/v1/projects/{project_id}/resources/{type}/{id}', 'put'],
    ] as const) {
      expect(
        doc.paths[path]![method]!.requestBody?.content?.['application/json']?.schema,
        path,
      ).toEqual(expect.any(Object));
    }
  });

  it.each(ROUTES)(
    '$name: operationId, success schema, every error code of the service, gateway errors',
    async (rc) => {
      const doc = await openApi();
      const op =
        doc.paths[rc.route.path.replace(/:([A-Za-z_]+)/g, '{$1}')]![rc.route.method.toLowerCase()]!;
      expect(op.operationId).toBe(rc.route.operationId);
      const responses = op.responses!;
      expect(responses[String(rc.successStatus)]).toBeDefined();
      if (rc.route.kind === 'list') {
        expect(responses['200']!.content?.['application/json']?.schema).toEqual(expect.any(Object));
      }
      for (const row of rc.profile.errors) {
        expect(responses[String(row.status)]?.description, `${row.code} documented`).toContain(
          row.code,
        );
      }
      expect(responses['401']?.description).toContain('APIG.0301');
      expect(responses['413']?.description).toContain('APIG.0201');
      if (rc.profile.authorization === 'policy') {
        expect(op['x-iam-actions']?.length, 'identity-policy actions documented').toBeGreaterThan(
          0,
        );
        for (const a of op['x-iam-actions']!)
          expect(a.action).toMatch(/^[a-z]+:[A-Za-z]+:[A-Za-z]+$/);
      }
    },
  );
});

describe('GET /docs', () => {
  it('answers 200 with a browsable page', async () => {
    let res = await h.inject({ method: 'GET', url: '/docs' });
    if (res.statusCode >= 300 && res.statusCode < 400) {
      res = await h.inject({ method: 'GET', url: String(res.headers.location) });
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
  });
});

describe('GET /', () => {
  const version = (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;

  it('answers a client with the name, the version and where to go', async () => {
    for (const headers of [{}, { accept: 'application/json' }, { accept: '*/*' }]) {
      const res = await h.inject({ method: 'GET', url: '/', headers });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.body)).toEqual({
        name: 'tagplane',
        version,
        links: {
          console: '/console/',
          docs: '/docs',
          openapi: '/openapi.json',
          health: '/healthz',
        },
      });
    }
  });

  it('sends a browser to the API reference, which answers', async () => {
    const res = await h.inject({
      method: 'GET',
      url: '/',
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/docs');
    const docs = await h.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
  });
});
