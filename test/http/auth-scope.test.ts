import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_LIFETIME_MS } from '../../src/auth/tokens.js';
import { adminTags, expectGatewayError, expectServiceError } from '../support/envelopes.js';
import { ADMIN_TOKEN, createHarness, type Harness, type Tenant } from '../support/harness.js';
import { ROUTES, type RouteCase, type RouteRequest } from '../support/routes.js';
import { signed, withToken } from '../support/signing.js';

const INITIAL_TAGS = [{ key: 'k0', value: 'v0' }];

it('the route list covers every service', () => {
  expect(new Set(ROUTES.map((r) => r.profile.id))).toEqual(
    new Set(['modelarts', 'bms', 'ddm', 'as', 'mrs']),
  );
  expect(ROUTES.length).toBeGreaterThanOrEqual(13);
});

describe.each(ROUTES)('$name', (rc: RouteCase) => {
  let h: Harness;
  /** The tenant whose resources are addressed. */
  let t: Tenant;
  /** A tenant of another domain. */
  let other: Tenant;
  /** A second project of t's domain. */
  let sibling: string;

  beforeAll(async () => {
    // These tests spoil t.root's signatures one way after another, far more than the six
    // consecutive failures that lock a key: access-key lockout is off here, and tested on its own
    // (test/http/lockout.test.ts).
    h = await createHarness({ akskLockout: null });
    [t, other] = await Promise.all([h.tenant(), h.tenant()]);
    sibling = `${t.projectId}-b`;
    await h.seed({ projects: [{ id: sibling, name: 'eu-nl', domain_id: t.domainId }] });
  });
  afterAll(() => h.close());

  const send = (req: RouteRequest) => h.inject(req);
  const tagsOf = (id: string) => adminTags(h, t.projectId, rc.profile.resourceType, id);
  const issue = (claims: { userId: string; domainId: string; projectId?: string }, ttl: number) => {
    const now = Date.now();
    return h.token({ ...claims, issuedAt: now - 1000, expiresAt: now + ttl });
  };

  /** Sends `req` on a fresh resource; expects it refused and the resource unchanged. */
  async function refused(
    build: (valid: RouteRequest) => RouteRequest,
    expectation: (res: Awaited<ReturnType<typeof send>>) => void,
  ) {
    const id = await rc.prepare(t);
    const res = await send(build(rc.request(t.projectId, id)));
    expectation(res);
    expect(await tagsOf(id)).toEqual(INITIAL_TAGS);
  }
  const unauthenticated = (res: Awaited<ReturnType<typeof send>>) =>
    expectGatewayError(res, 401, 'APIG.0301');
  /** The service's answer to `who` (SPEC §3 tables, §6): its own envelope, status and code. */
  const refusedAs = (who: keyof RouteCase['refusals']) => (res: Awaited<ReturnType<typeof send>>) =>
    expectServiceError(rc.profile, res, rc.refusals[who].status, rc.refusals[who].code);
  const otherProject = refusedAs('project');
  const otherDomain = refusedAs('domain');
  const byPolicy = refusedAs('policy');

  describe('credentials', () => {
    it('none: 401 APIG.0301 in the gateway envelope, request_id = X-Request-Id', async () => {
      await refused((r) => r, unauthenticated);
    });

    it('an empty X-Auth-Token: 401', async () => {
      await refused((r) => withToken(r, ''), unauthenticated);
    });

    it('a garbage token: 401', async () => {
      await refused((r) => withToken(r, 'not-a-token'), unauthenticated);
      await refused((r) => withToken(r, `${t.root.token.slice(0, -4)}AAAA`), unauthenticated);
    });

    it('an expired token: 401', async () => {
      const expired = await issue(
        { userId: t.root.id, domainId: t.domainId, projectId: t.projectId },
        -1,
      );
      await refused((r) => withToken(r, expired), unauthenticated);
    });

    it('a token of a user that does not exist: 401', async () => {
      const ghost = await issue(
        { userId: 'u-ghost', domainId: t.domainId, projectId: t.projectId },
        TOKEN_LIFETIME_MS,
      );
      await refused((r) => withToken(r, ghost), unauthenticated);
    });

    it('a token signed with another server key: 401', async () => {
      const foreign = await createHarness();
      try {
        const token = await foreign.token({
          userId: t.root.id,
          domainId: t.domainId,
          projectId: t.projectId,
          issuedAt: Date.now(),
          expiresAt: Date.now() + TOKEN_LIFETIME_MS,
        });
        await refused((r) => withToken(r, token), unauthenticated);
      } finally {
        await foreign.close();
      }
    });

    it('a malformed Authorization header: 401', async () => {
      await refused(
        (r) => ({ ...r, headers: { ...r.headers, authorization: 'Basic dXNlcjpwYXNz' } }),
        unauthenticated,
      );
      await refused(
        (r) => ({ ...r, headers: { ...r.headers, authorization: 'SDK-HMAC-SHA256 nonsense' } }),
        unauthenticated,
      );
    });
  });

  describe('scope', () => {
    it("a token scoped to another project of the same domain: the service's wrong-project refusal", async () => {
      const token = await issue(
        { userId: t.root.id, domainId: t.domainId, projectId: sibling },
        TOKEN_LIFETIME_MS,
      );
      await refused((r) => withToken(r, token), otherProject);
    });

    it("a token of another domain's project: the wrong-project refusal", async () => {
      await refused((r) => withToken(r, other.root.token), otherProject);
    });

    it('a domain-scoped token: the wrong-project refusal', async () => {
      await refused((r) => withToken(r, t.root.domainToken), otherProject);
    });

    it("another domain's user signing a request to this project: the other-domain refusal", async () => {
      await refused((r) => signed(r, other.root), otherDomain);
    });

    it("another domain's user addressing a project that does not exist: the other-domain refusal", async () => {
      const res = await send(signed(rc.request('p-nowhere', 'r-nothing'), other.root));
      otherDomain(res);
    });

    it('the root user, token or signature, in its sibling project: not refused for scope', async () => {
      // The same request in the sibling project fails only because the resource is not there.
      const res = await send(signed(rc.request(sibling, 'r-nothing'), t.root));
      expect(res.statusCode).not.toBe(401);
      expect(res.statusCode).not.toBe(403);
    });
  });

  describe('permissions', () => {
    if (rc.profile.authorization === 'none') {
      it('an IAM user without policies may call it (no permission required)', async () => {
        const id = await rc.prepare(t);
        const res = await send(withToken(rc.request(t.projectId, id), t.iamUser.token));
        expect(res.statusCode, res.body).toBe(rc.successStatus);
        const res2 = await send(signed(rc.request(t.projectId, await rc.prepare(t)), t.iamUser));
        expect(res2.statusCode, res2.body).toBe(rc.successStatus);
      });
    } else {
      it("an IAM user without policies: the service's policy refusal, nothing changes", async () => {
        await refused((r) => withToken(r, t.iamUser.token), byPolicy);
        await refused((r) => signed(r, t.iamUser), byPolicy);
      });
    }

    it('the root user with a project token succeeds', async () => {
      const id = await rc.prepare(t);
      const res = await send(withToken(rc.request(t.projectId, id), t.root.token));
      expect(res.statusCode, res.body).toBe(rc.successStatus);
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    });
  });

  describe('AK/SK signature', () => {
    it('a correctly signed request succeeds', async () => {
      const id = await rc.prepare(t);
      const res = await send(signed(rc.request(t.projectId, id), t.root));
      expect(res.statusCode, res.body).toBe(rc.successStatus);
    });

    it('a signed request with a matching X-Project-Id succeeds', async () => {
      const id = await rc.prepare(t);
      const req = signed(rc.request(t.projectId, id), t.root, {
        extraHeaders: { 'x-project-id': t.projectId },
      });
      const res = await send(req);
      expect(res.statusCode, res.body).toBe(rc.successStatus);
    });

    if (!rc.hasBody) {
      it('a request signed with a body of {} and sent with it (as the Node SDK does) succeeds', async () => {
        const id = await rc.prepare(t);
        const req = { ...rc.request(t.projectId, id), payload: '{}' };
        const res = await send(
          signed(
            { ...req, headers: { ...req.headers, 'content-type': 'application/json' } },
            t.root,
          ),
        );
        expect(res.statusCode, res.body).toBe(rc.successStatus);
      });

      it('a body sent but not the one signed: 401', async () => {
        await refused((r) => {
          const s = signed({ ...r, payload: '{}' }, t.root);
          return { ...s, payload: '{"x":1}' };
        }, unauthenticated);
      });
    }

    if (rc.hasBody) {
      it('a tampered body: 401', async () => {
        await refused((r) => {
          const s = signed(r, t.root);
          // Still valid JSON, but not the bytes that were signed.
          return { ...s, payload: `${s.payload} ` };
        }, unauthenticated);
      });
    }

    if (rc.hasBody) {
      it('a tampered body with X-Sdk-Content-Sha256 set to the signed body hash: 401', async () => {
        await refused((r) => {
          const s = signed(r, t.root);
          const hash = createHash('sha256').update(s.payload!).digest('hex');
          return {
            ...s,
            headers: { ...s.headers, 'x-sdk-content-sha256': hash },
            payload: `${s.payload} `,
          };
        }, unauthenticated);
      });

      it('a signed X-Sdk-Content-Sha256 that does not match the body: 401', async () => {
        await refused((r) => {
          const hash = createHash('sha256').update(r.payload!).digest('hex');
          const s = signed(r, t.root, { extraHeaders: { 'x-sdk-content-sha256': hash } });
          return { ...s, payload: `${s.payload} ` };
        }, unauthenticated);
      });

      it('a signed X-Sdk-Content-Sha256 matching the body is accepted', async () => {
        const id = await rc.prepare(t);
        const r = rc.request(t.projectId, id);
        const hash = createHash('sha256').update(r.payload!).digest('hex');
        const res = await send(
          signed(r, t.root, { extraHeaders: { 'x-sdk-content-sha256': hash } }),
        );
        expect(res.statusCode, res.body).toBe(rc.successStatus);
      });

      it('X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD is honoured only when signed', async () => {
        const id = await rc.prepare(t);
        const unsigned = { 'x-sdk-content-sha256': 'UNSIGNED-PAYLOAD' };
        const res = await send(
          signed(rc.request(t.projectId, id), t.root, { extraHeaders: unsigned }),
        );
        expect(res.statusCode, res.body).toBe(rc.successStatus);
        await refused((r) => {
          const s = signed(r, t.root);
          return { ...s, headers: { ...s.headers, ...unsigned }, payload: `${s.payload} ` };
        }, unauthenticated);
      });
    }

    it('a tampered query: 401', async () => {
      await refused((r) => {
        const s = signed(r, t.root);
        return { ...s, url: `${s.url}?limit=1` };
      }, unauthenticated);
      await refused((r) => {
        const s = signed({ ...r, url: `${r.url}?limit=1` }, t.root);
        return { ...s, url: `${r.url}?limit=2` };
      }, unauthenticated);
    });

    it('a tampered path: 401', async () => {
      const id = await rc.prepare(t);
      const other = await rc.prepare(t);
      const s = signed(rc.request(t.projectId, id), t.root);
      const res = await send({ ...s, url: rc.request(t.projectId, other).url });
      unauthenticated(res);
      expect(await tagsOf(other)).toEqual(INITIAL_TAGS);
    });

    it('a tampered signed header: 401', async () => {
      await refused((r) => {
        const s = signed(r, t.root, { extraHeaders: { 'x-project-id': t.projectId } });
        return { ...s, headers: { ...s.headers, 'x-project-id': sibling } };
      }, unauthenticated);
    });

    it('the wrong secret key: 401', async () => {
      await refused(
        (r) => signed(r, { accessKey: t.root.accessKey, secretKey: `${t.root.secretKey}x` }),
        unauthenticated,
      );
    });

    it("another user's secret key with this access key: 401", async () => {
      await refused(
        (r) => signed(r, { accessKey: t.root.accessKey, secretKey: t.iamUser.secretKey }),
        unauthenticated,
      );
    });

    it('an unknown access key: 401', async () => {
      await refused(
        (r) => signed(r, { accessKey: 'AKUNKNOWN000000000000', secretKey: t.root.secretKey }),
        unauthenticated,
      );
    });

    it('a stale or future X-Sdk-Date (over 15 minutes): 401', async () => {
      await refused((r) => signed(r, t.root, { now: Date.now() - 16 * 60_000 }), unauthenticated);
      await refused((r) => signed(r, t.root, { now: Date.now() + 16 * 60_000 }), unauthenticated);
    });

    it('an X-Sdk-Date within 15 minutes is accepted', async () => {
      const id = await rc.prepare(t);
      const res = await send(
        signed(rc.request(t.projectId, id), t.root, { now: Date.now() - 10 * 60_000 }),
      );
      expect(res.statusCode, res.body).toBe(rc.successStatus);
    });

    it('a signed header missing from the request: 401', async () => {
      await refused((r) => {
        const s = signed(r, t.root, { extraHeaders: { 'x-project-id': t.projectId } });
        const { 'x-project-id': _dropped, ...headers } = s.headers;
        return { ...s, headers };
      }, unauthenticated);
    });

    it('X-Sdk-Date missing or not signed: 401', async () => {
      await refused((r) => {
        const s = signed(r, t.root);
        const { 'x-sdk-date': _dropped, ...headers } = s.headers;
        return { ...s, headers };
      }, unauthenticated);
      await refused((r) => {
        const s = signed(r, t.root);
        return {
          ...s,
          headers: {
            ...s.headers,
            authorization: s.headers.authorization!.replace(/;x-sdk-date/, ''),
          },
        };
      }, unauthenticated);
    });
  });
});

describe('a token whose user was deleted', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('is refused with 401 on every route once the user is gone', async () => {
    const t = await h.tenant();
    const ids = await Promise.all(ROUTES.map((rc) => rc.prepare(t)));
    const reset = await h.inject({
      method: 'POST',
      url: '/admin/v1/reset',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(reset.statusCode).toBe(204);
    // The same project and resources exist again; only the users are gone.
    await h.seed({
      domains: [{ id: t.domainId, name: t.domainName }],
      projects: [{ id: t.projectId, name: t.projectName, domain_id: t.domainId }],
      resources: ROUTES.map((rc, i) => ({
        project_id: t.projectId,
        type: rc.profile.resourceType,
        id: ids[i],
        tags: INITIAL_TAGS,
      })),
    });
    for (const [i, rc] of ROUTES.entries()) {
      const res = await h.inject(withToken(rc.request(t.projectId, ids[i]!), t.root.token));
      expectGatewayError(res, 401, 'APIG.0301');
      const signedRes = await h.inject(signed(rc.request(t.projectId, ids[i]!), t.root));
      expectGatewayError(signedRes, 401, 'APIG.0301');
      expect(await adminTags(h, t.projectId, rc.profile.resourceType, ids[i]!)).toEqual(
        INITIAL_TAGS,
      );
    }
  });
});

describe('a project token whose project has moved to another domain', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it("is refused on every route as another domain's project: the project is no longer in the caller's domain", async () => {
    const [t, other] = await Promise.all([h.tenant(), h.tenant()]);
    const ids = await Promise.all(ROUTES.map((rc) => rc.prepare(t)));
    // The same project id now belongs to the other domain.
    await h.seed({
      projects: [{ id: t.projectId, name: 'eu-nl', domain_id: other.domainId }],
    });
    for (const [i, rc] of ROUTES.entries()) {
      const res = await h.inject(withToken(rc.request(t.projectId, ids[i]!), t.root.token));
      expectServiceError(rc.profile, res, rc.refusals.domain.status, rc.refusals.domain.code);
      // The new owner's root user may act there.
      const owner = await h.inject(signed(rc.request(t.projectId, ids[i]!), other.root));
      expect(owner.statusCode, owner.body).toBe(rc.successStatus);
    }
  });
});

/** The kinds of route whose valid request (test/support/routes.ts) changes tags. */
const CHANGING = new Set(['create', 'delete', 'batch-action', 'set-one', 'add-one', 'delete-one']);

/** The fields of an event these tests look at. */
interface EventSeen {
  readonly operation: string;
  readonly domain_id: string;
}

describe('--auth open', () => {
  let h: Harness;
  let t: Tenant;
  beforeAll(async () => {
    h = await createHarness({ auth: 'open' });
    t = await h.tenant();
  });
  afterAll(() => h.close());

  const wellFormed = (req: RouteRequest): RouteRequest => ({
    ...req,
    headers: {
      ...req.headers,
      'x-sdk-date': '20000101T000000Z',
      authorization: `SDK-HMAC-SHA256 Access=ANYKEY, SignedHeaders=host;x-sdk-date, Signature=${'0'.repeat(64)}`,
    },
  });

  describe.each(ROUTES)('$name', (rc) => {
    it('any non-empty token acts as the root user of the path project', async () => {
      const id = await rc.prepare(t);
      const res = await h.inject(withToken(rc.request(t.projectId, id), 'anything'));
      expect(res.statusCode, res.body).toBe(rc.successStatus);
      // No credential was checked against the project: a change's event still names the
      // project's domain, as the database has it.
      const log = await h.inject({
        method: 'GET',
        url: `/admin/v1/events?project_id=${t.projectId}&resource_id=${encodeURIComponent(id)}&order=desc&limit=1`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const [last] = (JSON.parse(log.body) as { events: EventSeen[] }).events;
      const changed = CHANGING.has(rc.route.kind);
      expect(last?.operation === rc.route.operationId, 'an event of this request').toBe(changed);
      expect(last?.domain_id).toBe(t.domainId);
    });

    it('any well-formed signature acts as the root user', async () => {
      const id = await rc.prepare(t);
      const res = await h.inject(wellFormed(rc.request(t.projectId, id)));
      expect(res.statusCode, res.body).toBe(rc.successStatus);
    });

    it('a token of another project is accepted too', async () => {
      const other = await h.tenant();
      const id = await rc.prepare(t);
      const res = await h.inject(withToken(rc.request(t.projectId, id), other.iamUser.token));
      expect(res.statusCode, res.body).toBe(rc.successStatus);
    });

    it('no credentials, an empty token or a malformed signature: still 401', async () => {
      const id = await rc.prepare(t);
      const req = rc.request(t.projectId, id);
      expectGatewayError(await h.inject(req), 401, 'APIG.0301');
      expectGatewayError(await h.inject(withToken(req, '')), 401, 'APIG.0301');
      expectGatewayError(
        await h.inject({ ...req, headers: { ...req.headers, authorization: 'Bearer x' } }),
        401,
        'APIG.0301',
      );
      expect(await adminTags(h, t.projectId, rc.profile.resourceType, id)).toEqual(INITIAL_TAGS);
    });
  });
});
