import { readFileSync } from 'node:fs';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/app-error.js';
import { readSeedDocument } from '../../src/http/seed-schema.js';
import { renderError } from '../../src/services/error-table.js';
import type { ErrorCatalogue } from '../../src/services/profile.js';
import { tms } from '../../src/services/tms.js';
import { expectGatewayError, expectServiceError } from '../support/envelopes.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { ROUTES } from '../support/routes.js';

/**
 * No identifier reaches the store unchecked: every identifier field of every API, driven with
 * every value of the fuzz corpus (test/fixtures/identifier-fuzz.json), answers 400 in the route's
 * own envelope — on SQLite as on PostgreSQL, whose text cannot hold U+0000 — logs no error, and
 * changes nothing.
 */
interface FuzzCase {
  readonly label: string;
  readonly text?: string;
  readonly utf8_hex?: string;
}

const corpus = (
  JSON.parse(
    readFileSync(new URL('../fixtures/identifier-fuzz.json', import.meta.url), 'utf8'),
  ) as { cases: FuzzCase[] }
).cases;

/** A corpus value as a JSON string literal (raw bytes as they are) and as a URL component. */
interface Fuzz {
  readonly label: string;
  /** Raw bytes that are not UTF-8, rather than a string. */
  readonly bytes: boolean;
  readonly json: Buffer;
  readonly url: string;
}

const percent = (bytes: Buffer) =>
  [...bytes]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

const VALUES: Fuzz[] = corpus.map((c) => {
  if (c.utf8_hex !== undefined) {
    const bytes = Buffer.from(c.utf8_hex, 'hex');
    return {
      label: c.label,
      bytes: true,
      json: Buffer.concat([Buffer.from('"'), bytes, Buffer.from('"')]),
      url: percent(bytes),
    };
  }
  const text = c.text ?? '';
  // JSON.stringify writes a lone surrogate as its \u escape; a URL carries its UTF-8 bytes
  // (a lone surrogate becomes U+FFFD on the way, itself refused).
  return {
    label: c.label,
    bytes: false,
    json: Buffer.from(JSON.stringify(text)),
    url: percent(Buffer.from(text, 'utf8')),
  };
});

const MARK = '__FUZZ__';

/** `template` as JSON, with the string MARK replaced by the fuzz value's literal. */
function body(template: unknown, v: Fuzz): Buffer {
  const parts = JSON.stringify(template).split(JSON.stringify(MARK));
  return Buffer.concat(
    parts.flatMap((p, i) => (i === 0 ? [Buffer.from(p)] : [v.json, Buffer.from(p)])),
  );
}

type Envelope = 'keystone' | 'admin' | ErrorCatalogue;

interface Surface {
  readonly name: string;
  readonly envelope: Envelope;
  /**
   * The value travels in the URL path: raw bytes that are not UTF-8 are then refused before
   * any route, as a path the gateway cannot parse (400 APIG.0201).
   */
  readonly inPath?: boolean;
  send(v: Fuzz): Promise<LightMyRequestResponse>;
}

let h: Harness;
let t: Tenant;
let supernode: string;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

const json = { 'content-type': 'application/json' };
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

function login(user: unknown, scope?: unknown) {
  return (v: Fuzz) =>
    h.inject({
      method: 'POST',
      url: '/v3/auth/tokens',
      headers: json,
      payload: body(
        {
          auth: {
            identity: { methods: ['password'], password: { user } },
            ...(scope !== undefined ? { scope } : {}),
          },
        },
        v,
      ),
    });
}

function adminCall(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, template?: unknown) {
  return (v: Fuzz) =>
    h.inject({
      method,
      url: url.replace(MARK, v.url),
      headers: template === undefined ? admin : { ...admin, ...json },
      ...(template !== undefined ? { payload: body(template, v) } : {}),
    });
}

function surfaces(): Surface[] {
  const me = () => ({ name: t.root.name, password: t.root.password, domain: { id: t.domainId } });
  const seed = (doc: unknown) => adminCall('POST', '/admin/v1/seed', doc);
  const register = `/admin/v1/projects/${t.projectId}/resources/bms_server`;
  const list: Surface[] = [
    { name: 'login user.name', envelope: 'keystone', send: login({ ...me(), name: MARK }) },
    { name: 'login user.id', envelope: 'keystone', send: login({ id: MARK, password: 'x' }) },
    {
      name: 'login user.domain.name',
      envelope: 'keystone',
      send: login({ ...me(), domain: { name: MARK } }),
    },
    {
      name: 'login user.domain.id',
      envelope: 'keystone',
      send: login({ ...me(), domain: { id: MARK } }),
    },
    {
      name: 'login scope.project.id',
      envelope: 'keystone',
      send: login(me(), { project: { id: MARK } }),
    },
    {
      name: 'login scope.project.name',
      envelope: 'keystone',
      send: login(me(), { project: { name: MARK } }),
    },
    {
      name: 'login scope.domain.name',
      envelope: 'keystone',
      send: login(me(), { domain: { name: MARK } }),
    },
    {
      name: 'login scope.domain.id',
      envelope: 'keystone',
      send: login(me(), { domain: { id: MARK } }),
    },
    {
      name: 'GET /v3/projects?name=',
      envelope: 'keystone',
      send: (v) =>
        h.inject({
          method: 'GET',
          url: `/v3/projects?name=${v.url}`,
          headers: { 'x-auth-token': t.root.token },
        }),
    },
    {
      name: 'admin create user: name',
      envelope: 'admin',
      send: adminCall('POST', '/admin/v1/users', { name: MARK, domain_id: t.domainId }),
    },
    {
      name: 'admin create user: domain_id',
      envelope: 'admin',
      send: adminCall('POST', '/admin/v1/users', { name: 'fuzz', domain_id: MARK }),
    },
    {
      name: 'admin show user',
      inPath: true,
      envelope: 'admin',
      send: adminCall('GET', `/admin/v1/users/${MARK}`),
    },
    {
      name: 'admin list users ?domain_id=',
      envelope: 'admin',
      send: adminCall('GET', `/admin/v1/users?domain_id=${MARK}`),
    },
    {
      name: 'admin delete access key',
      inPath: true,
      envelope: 'admin',
      send: adminCall('DELETE', `/admin/v1/users/${t.root.id}/access-keys/${MARK}`),
    },
    {
      name: 'admin set password: user id',
      inPath: true,
      envelope: 'admin',
      send: adminCall('PUT', `/admin/v1/users/${MARK}/password`, { password: 'p' }),
    },
    {
      name: 'admin register resource: id',
      inPath: true,
      envelope: 'admin',
      send: adminCall('PUT', `${register}/${MARK}`, { name: 'fuzz' }),
    },
    {
      name: 'admin register resource: name',
      envelope: 'admin',
      send: adminCall('PUT', `${register}/r-fuzz`, { name: MARK }),
    },
    {
      name: 'admin register resource: enterprise_project_id',
      envelope: 'admin',
      send: adminCall('PUT', `${register}/r-fuzz`, { name: 'x', enterprise_project_id: MARK }),
    },
    {
      name: 'admin register resource: project_id',
      inPath: true,
      envelope: 'admin',
      send: adminCall('PUT', `/admin/v1/projects/${MARK}/resources/bms_server/r-fuzz`, {
        name: 'x',
      }),
    },
    {
      name: 'admin list resources: project_id',
      inPath: true,
      envelope: 'admin',
      send: adminCall('GET', `/admin/v1/projects/${MARK}/resources`),
    },
    {
      name: 'admin put domain: domain_id',
      envelope: 'admin',
      inPath: true,
      send: adminCall('PUT', `/admin/v1/domains/${MARK}`, { name: 'fz' }),
    },
    {
      name: 'admin put domain: name',
      envelope: 'admin',
      send: adminCall('PUT', '/admin/v1/domains/d-fz', { name: MARK }),
    },
    {
      name: 'admin put project: name',
      envelope: 'admin',
      send: adminCall('PUT', '/admin/v1/projects/p-fz', { name: MARK, domain_id: t.domainId }),
    },
    {
      name: 'admin put project: domain_id',
      envelope: 'admin',
      send: adminCall('PUT', '/admin/v1/projects/p-fz', { name: 'fz', domain_id: MARK }),
    },
    {
      name: 'admin list projects ?domain_id=',
      envelope: 'admin',
      send: adminCall('GET', `/admin/v1/projects?domain_id=${MARK}`),
    },
    {
      name: 'seed domains[0].name',
      envelope: 'admin',
      send: seed({ domains: [{ id: 'd-fz', name: MARK }] }),
    },
    {
      name: 'seed projects[0].name',
      envelope: 'admin',
      send: seed({ projects: [{ id: 'p-fz', name: MARK, domain_id: t.domainId }] }),
    },
    {
      name: 'seed users[0].name',
      envelope: 'admin',
      send: seed({ users: [{ id: 'u-fz', name: MARK, domain_id: t.domainId }] }),
    },
    {
      name: 'seed users[0].domain_id',
      envelope: 'admin',
      send: seed({ users: [{ id: 'u-fz', name: 'fz', domain_id: MARK }] }),
    },
    {
      name: 'seed users[0].access_keys[0].access_key',
      envelope: 'admin',
      send: seed({
        users: [
          {
            id: 'u-fz',
            name: 'fz',
            domain_id: t.domainId,
            access_keys: [{ access_key: MARK, secret_key: 'secret-fuzz-0123' }],
          },
        ],
      }),
    },
    ...(['id', 'name', 'project_id'] as const).map(
      (field): Surface => ({
        name: `seed resources[0].${field}`,
        envelope: 'admin',
        send: seed({
          resources: [
            { project_id: t.projectId, type: 'bms_server', id: 'r-fz', name: 'fz', [field]: MARK },
          ],
        }),
      }),
    ),
  ];

  // Every service's tag listing: the project id and the resource id in the path.
  for (const rc of ROUTES.filter((r) => r.route.kind === 'list')) {
    for (const part of ['project', 'resource'] as const) {
      list.push({
        name: `${rc.profile.id} ${rc.route.operationId}: ${part} id in the path`,
        envelope: rc.profile,
        inPath: true,
        send: (v) => {
          const req =
            part === 'project' ? rc.request(MARK, supernode) : rc.request(t.projectId, MARK);
          return h.inject({
            ...req,
            url: req.url.replace(MARK, v.url),
            headers: { ...req.headers, 'x-auth-token': t.root.token },
          });
        },
      });
    }
  }

  const tmsCall = (url: string, template: unknown) => (v: Fuzz) =>
    h.inject({
      method: 'POST',
      url,
      headers: { ...json, 'x-auth-token': t.root.token },
      payload: body(template, v),
    });
  const batch = (over: object) => ({
    project_id: t.projectId,
    resources: [{ resource_id: supernode, resource_type: 'modelarts_hyperinstance' }],
    tags: [{ key: 'k', value: 'v' }],
    ...over,
  });
  list.push(
    {
      name: 'TMS batch-create resources[0].resource_id',
      envelope: tms,
      send: tmsCall(
        '/v1.0/resource-tags/batch-create',
        batch({ resources: [{ resource_id: MARK, resource_type: 'bms_server' }] }),
      ),
    },
    {
      name: 'TMS batch-delete project_id',
      envelope: tms,
      send: tmsCall('/v1.0/resource-tags/batch-delete', batch({ project_id: MARK })),
    },
    {
      name: 'TMS filter project_id',
      envelope: tms,
      send: tmsCall('/v1.0/resource-instances/filter', { project_id: MARK }),
    },
    {
      name: 'TMS tag-keys ?project_id=',
      envelope: tms,
      send: (v) =>
        h.inject({
          method: 'GET',
          url: `/v1.0/tag-keys?project_id=${v.url}`,
          headers: { 'x-auth-token': t.root.token },
        }),
    },
  );
  return list;
}

function expectRefused(envelope: Envelope, res: LightMyRequestResponse) {
  if (envelope === 'keystone') {
    expect(res.statusCode, res.body).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      error: { code: 400, message: expect.any(String), title: 'Bad Request' },
    });
  } else if (envelope === 'admin') {
    expectGatewayError(res, 400, 'ADMIN.0400');
  } else {
    const invalid = renderError(envelope, new AppError('invalid_parameter', ''));
    expect(invalid.status).toBe(400);
    expectServiceError(envelope, res, 400, invalid.code);
  }
}

describe('an identifier holding a control character or invalid UTF-8', () => {
  it('answers 400 in the route envelope on every identifier field, logs no error, changes nothing', async () => {
    supernode = await t.resource('modelarts_hyperinstance', [{ key: 'k0', value: 'v0' }]);
    const users = (await adminCall('GET', `/admin/v1/users?domain_id=${t.domainId}`)(VALUES[0]!))
      .body;
    const resources = (
      await adminCall('GET', `/admin/v1/projects/${t.projectId}/resources`)(VALUES[0]!)
    ).body;
    const all = surfaces();
    expect(all.length).toBeGreaterThan(40);
    const failures: string[] = [];
    for (const surface of all) {
      for (const v of VALUES) {
        const res = await surface.send(v);
        try {
          if (surface.inPath && v.bytes) expectGatewayError(res, 400, 'APIG.0201');
          else expectRefused(surface.envelope, res);
        } catch {
          failures.push(
            `${surface.name} with ${v.label}: ${res.statusCode} ${res.body.slice(0, 160)}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);

    // Nothing was created or changed, and nothing was worth an error in the log.
    expect(
      (await adminCall('GET', `/admin/v1/users?domain_id=${t.domainId}`)(VALUES[0]!)).body,
    ).toBe(users);
    expect(
      (await adminCall('GET', `/admin/v1/projects/${t.projectId}/resources`)(VALUES[0]!)).body,
    ).toBe(resources);
    const errors = h
      .logs()
      .split('\n')
      .filter((line) => line !== '' && (JSON.parse(line) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  });
});

describe('a seed file read at start-up', () => {
  it('meets the same rule: the first bad identifier is named, whatever the store', () => {
    for (const v of VALUES.filter((x) => !x.bytes)) {
      const doc = JSON.parse(
        body(
          {
            users: [
              { id: 'u-fz', name: 'fz', domain_id: 'd', access_keys: [] },
              { id: 'u-2', name: MARK, domain_id: 'd' },
            ],
          },
          v,
        ).toString(),
      ) as unknown;
      expect(() => readSeedDocument(doc), v.label).toThrow(/'users\[1\]\.name' contains/);
    }
  });
});
