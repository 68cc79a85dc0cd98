import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/auth/aksk-signature.js';
import { createHarness, type Harness, json, type Tenant } from '../support/harness.js';
import { sdkSigned, type WireRequest } from '../support/sdk.js';

/**
 * AK/SK verification: requests signed by the official SDK's signer, sent as its HTTP client
 * sends them, then spoiled one way at a time.
 */
describe('AK/SK signatures', () => {
  let h: Harness;
  let t: Tenant;

  beforeAll(async () => {
    h = await createHarness();
  });
  // A tenant (and keys) per test: the bad signatures of one test must not add up with the
  // others' to the six consecutive failures that lock a key (test/http/lockout.test.ts).
  beforeEach(async () => {
    t = await h.tenant();
  });
  afterAll(() => h.close());

  const send = (r: WireRequest) => h.inject(r);

  /** A BMS create signed by the root user's key, with the server's tags to compare after. */
  const bmsCreate = async (overrides: Partial<Parameters<typeof sdkSigned>[0]> = {}) => {
    const id = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    const req = sdkSigned({
      method: 'POST',
      path: `/v1/${t.projectId}/baremetalservers/${id}/tags/action`,
      data: { action: 'create', tags: [{ key: 'env', value: 'prod' }] },
      accessKey: t.root.accessKey,
      secretKey: t.root.secretKey,
      projectId: t.projectId,
      ...overrides,
    });
    const tags = async () =>
      json(
        await h.inject({
          method: 'GET',
          url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
          headers: { 'x-auth-token': t.root.token },
        }),
      );
    return { id, req, tags };
  };

  /** 401 in the gateway envelope, with a message matching `message` and free of the secret. */
  const expect401 = async (r: WireRequest, message: RegExp) => {
    const res = await send(r);
    expect(res.statusCode).toBe(401);
    const body = json(res) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['error_code', 'error_msg', 'request_id']);
    expect(body.error_code).toBe('APIG.0301');
    expect(body.error_msg).toMatch(message);
    expect(body.error_msg).not.toContain(t.root.secretKey);
    expect(body.request_id).toBe(res.headers['x-request-id']);
    return body;
  };

  it('accepts the request exactly as the SDK signed it', async () => {
    const { req, tags } = await bmsCreate();
    expect((await send(req)).statusCode).toBe(204);
    expect(await tags()).toEqual({ tags: [{ key: 'env', value: 'prod' }] });
  });

  it('accepts a V11-HMAC-SHA256 request signed with the derived key', async () => {
    const { req, tags } = await bmsCreate({ derived: { region: 'eu-de', service: 'bms' } });
    expect(req.headers.Authorization).toMatch(
      new RegExp(`^V11-HMAC-SHA256 Credential=${t.root.accessKey}/\\d{8}/eu-de/bms, `),
    );
    expect((await send(req)).statusCode).toBe(204);
    expect(await tags()).toEqual({ tags: [{ key: 'env', value: 'prod' }] });
  });

  it('accepts a GET with a query string, signed over the `{}` body the SDK sends', async () => {
    const id = await t.resource('ddm_instance', [{ key: 'a', value: 'b' }]);
    const req = sdkSigned({
      method: 'GET',
      path: `/v3/${t.projectId}/instances/${id}/tags`,
      queryParams: { limit: 10, offset: 0, name: 'a b/ä' },
      accessKey: t.root.accessKey,
      secretKey: t.root.secretKey,
      projectId: t.projectId,
    });
    expect(req.payload).toBe('{}');
    const res = await send(req);
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ tags: [{ key: 'a', value: 'b' }] });
  });

  it('reads GET bodies only when there is one, and within the body limit', async () => {
    const id = await t.resource('bms_server');
    const url = `/v1/${t.projectId}/baremetalservers/${id}/tags`;
    const plain = await send({
      method: 'GET',
      url,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'not a media type' },
    });
    expect(plain.statusCode).toBe(200);
    const huge = await send({
      method: 'GET',
      url,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
      payload: `"${'x'.repeat(1024 * 1024)}"`,
    });
    expect(huge.statusCode).toBe(413);
    expect(json(huge)).toMatchObject({ error_code: 'APIG.0201' });
  });

  it('refuses a tampered body and changes nothing', async () => {
    const { req, tags } = await bmsCreate();
    await expect401(
      { ...req, payload: req.payload!.replace('prod', 'prud') },
      /signature does not match/,
    );
    expect(await tags()).toEqual({ tags: [{ key: 'env', value: 'dev' }] });
  });

  it('refuses a tampered query string', async () => {
    const id = await t.resource('bms_server');
    const req = sdkSigned({
      method: 'GET',
      path: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
      queryParams: { limit: 10 },
      accessKey: t.root.accessKey,
      secretKey: t.root.secretKey,
      projectId: t.projectId,
    });
    expect((await send(req)).statusCode).toBe(200);
    await expect401({ ...req, url: req.url.replace('limit=10', 'limit=11') }, /does not match/);
    await expect401({ ...req, url: `${req.url}&extra=1` }, /does not match/);
    await expect401({ ...req, url: req.url.split('?')[0]! }, /does not match/);
  });

  it('refuses a tampered path', async () => {
    const { req } = await bmsCreate();
    const other = await t.resource('bms_server');
    await expect401(
      { ...req, url: req.url.replace(/baremetalservers\/[^/]+/, `baremetalservers/${other}`) },
      /does not match/,
    );
  });

  it('refuses a wrong secret key', async () => {
    const { req, tags } = await bmsCreate({ secretKey: `${t.root.secretKey}0` });
    await expect401(req, /signature does not match: check the secret key/);
    expect(await tags()).toEqual({ tags: [{ key: 'env', value: 'dev' }] });
  });

  it("refuses another user's secret key", async () => {
    const { req } = await bmsCreate({ secretKey: t.iamUser.secretKey });
    await expect401(req, /does not match/);
  });

  it('refuses an unknown access key, naming it', async () => {
    const { req } = await bmsCreate({ accessKey: 'NOSUCHKEY0000000' });
    await expect401(req, /access key 'NOSUCHKEY0000000' does not exist/);
  });

  it('refuses a date more than 15 minutes old or ahead, and accepts one within', async () => {
    const id = await t.resource('bms_server');
    const path = `/v1/${t.projectId}/baremetalservers/${id}/tags`;
    const at = (offsetMs: number): WireRequest => {
      const headers = { host: 'tagplane.test', 'content-type': 'application/json' };
      const { authorization, date } = signRequest(
        { method: 'GET', rawPath: path, rawQuery: '', headers, body: Buffer.alloc(0) },
        t.root.accessKey,
        t.root.secretKey,
        Date.now() + offsetMs,
      );
      return {
        method: 'GET',
        url: path,
        headers: { ...headers, 'x-sdk-date': date, authorization },
      };
    };
    await expect401(at(-16 * 60_000), /expired: X-Sdk-Date \d{8}T\d{6}Z is more than 15 minutes/);
    await expect401(at(16 * 60_000), /more than 15 minutes from the server time/);
    expect((await send(at(-14 * 60_000))).statusCode).toBe(200);
    expect((await send(at(14 * 60_000))).statusCode).toBe(200);
  });

  it('refuses a request missing a header it signed', async () => {
    const { req } = await bmsCreate();
    const { 'X-Project-Id': _dropped, ...headers } = req.headers;
    expect(req.headers.Authorization).toContain('x-project-id');
    await expect401({ ...req, headers }, /signed header 'x-project-id' is missing/);
  });

  it('refuses a signed header whose value was changed', async () => {
    const { req } = await bmsCreate({ headers: { 'X-Trace': 'one' } });
    await expect401({ ...req, headers: { ...req.headers, 'X-Trace': 'two' } }, /does not match/);
  });

  it('refuses a missing or malformed X-Sdk-Date', async () => {
    const { req } = await bmsCreate();
    const { 'X-Sdk-Date': _date, ...withoutDate } = req.headers;
    await expect401({ ...req, headers: withoutDate }, /X-Sdk-Date header is missing/);
    await expect401(
      { ...req, headers: { ...withoutDate, 'X-Sdk-Date': '2024-01-01T00:00:00Z' } },
      /X-Sdk-Date header '2024-01-01T00:00:00Z' is malformed/,
    );
    await expect401(
      { ...req, headers: { ...withoutDate, 'X-Sdk-Date': '20240231T000000Z' } },
      /malformed/,
    );
  });

  it('refuses malformed Authorization headers, saying what is wrong', async () => {
    const { req } = await bmsCreate();
    const auth = req.headers.Authorization!;
    const cases: [string, RegExp][] = [
      ['garbage', /Malformed Authorization header/],
      [
        auth.replace('SDK-HMAC-SHA256', 'AWS4-HMAC-SHA256'),
        /unsupported algorithm 'AWS4-HMAC-SHA256'/,
      ],
      [auth.replace(/, Signature=[0-9a-f]+/, ''), /Signature field is missing/],
      [auth.replace(/Access=[^,]+, /, ''), /Access field is missing/],
      [auth.replace(/Signature=[0-9a-f]+/, 'Signature=xyz'), /64 hexadecimal digits/],
      [auth.replace('SignedHeaders=', 'SignedHeaders=;'), /empty name/],
      [auth.replace('x-project-id', 'x-other'), /signed header 'x-other' is missing/],
      [
        'V11-HMAC-SHA256 Credential=AK/2024/eu/bms, SignedHeaders=host;x-sdk-date, Signature=' +
          'a'.repeat(64),
        /Credential must be <AK>\/<YYYYMMDD>\/<region>\/<service>/,
      ],
    ];
    for (const [authorization, message] of cases) {
      await expect401(
        { ...req, headers: { ...req.headers, Authorization: authorization } },
        message,
      );
    }
  });

  it('requires x-sdk-date among the signed headers', async () => {
    const { req } = await bmsCreate();
    const auth = req.headers.Authorization!.replace(';x-sdk-date', '');
    await expect401(
      { ...req, headers: { ...req.headers, Authorization: auth } },
      /SignedHeaders must include x-sdk-date/,
    );
  });

  it('refuses a V11 signature whose scope date is not the X-Sdk-Date date, or whose scope was altered', async () => {
    const { req } = await bmsCreate({ derived: { region: 'eu-de', service: 'bms' } });
    const auth = req.headers.Authorization!;
    await expect401(
      {
        ...req,
        headers: { ...req.headers, Authorization: auth.replace(/\/\d{8}\//, '/20000101/') },
      },
      /scope date 20000101 is not the date of X-Sdk-Date/,
    );
    await expect401(
      { ...req, headers: { ...req.headers, Authorization: auth.replace('/eu-de/', '/eu-nl/') } },
      /V11-HMAC-SHA256 signature does not match/,
    );
  });

  it('query names: signed as sent or lower-cased (the Go SDK form) verify; a changed value does not', async () => {
    await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    const signedAs = (queryParams: Record<string, string>) =>
      sdkSigned({
        method: 'GET',
        path: '/v1.0/tag-values',
        queryParams: { project_id: t.projectId, ...queryParams },
        accessKey: t.root.accessKey,
        secretKey: t.root.secretKey,
      });
    const lower = signedAs({ key: 'env' });
    const ok = await send(lower);
    expect(ok.statusCode, ok.body).toBe(200);
    expect((json(ok) as { values: string[] }).values).toEqual(['dev']);
    // SPEC §6: a case change of a query name alone is not detected, as with the real gateway.
    const renamed = await send({ ...lower, url: lower.url.replace('project_id=', 'Project_Id=') });
    expect(renamed.statusCode).not.toBe(401);
    await expect401({ ...lower, url: lower.url.replace('key=env', 'key=envx') }, /does not match/);
    // A name with capitals signed as sent (the Node SDK, the Go SDK since 0.0.51) verifies.
    const upper = signedAs({ key: 'env', Marker: '' });
    expect(upper.url).toContain('Marker=');
    expect((await send(upper)).statusCode).toBe(200);
  });

  it("checks X-Project-Id against the body's project_id on the cross-service API", async () => {
    const id = await t.resource('bms_server', [{ key: 'env', value: 'dev' }]);
    const batch = (projectId: string) =>
      sdkSigned({
        method: 'POST',
        path: '/v1.0/resource-tags/batch-create',
        data: {
          project_id: t.projectId,
          resources: [{ resource_id: id, resource_type: 'bms_server' }],
          tags: [{ key: 'env', value: 'prod' }],
        },
        accessKey: t.root.accessKey,
        secretKey: t.root.secretKey,
        projectId,
      });
    const filter = (projectId: string) =>
      sdkSigned({
        method: 'POST',
        path: '/v1.0/resource-instances/filter',
        data: { project_id: t.projectId },
        accessKey: t.root.accessKey,
        secretKey: t.root.secretKey,
        projectId,
      });
    const other = `${t.projectId}-other`;
    const refused = new RegExp(
      `X-Project-Id '${other}' does not match the project '${t.projectId}'`,
    );
    await expect401(batch(other), refused);
    await expect401(filter(other), refused);
    const tags = async () =>
      json(
        await h.inject({
          method: 'GET',
          url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
          headers: { 'x-auth-token': t.root.token },
        }),
      );
    expect(await tags()).toEqual({ tags: [{ key: 'env', value: 'dev' }] });
    // The body's own project in X-Project-Id, or none at all: accepted.
    expect((await send(filter(t.projectId))).statusCode).toBe(200);
    const ok = await send(batch(t.projectId));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await tags()).toEqual({ tags: [{ key: 'env', value: 'prod' }] });
  });

  it('checks X-Project-Id against the project in the path', async () => {
    const { req } = await bmsCreate({ projectId: 'p-other' });
    await expect401(req, /X-Project-Id 'p-other' does not match the project '.+' in the path/);
  });

  it('takes X-Sdk-Content-Sha256 only when signed and true to the body', async () => {
    const unsigned = await bmsCreate({ headers: { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' } });
    expect((await send(unsigned.req)).statusCode).toBe(204);

    const wrong = await bmsCreate({ headers: { 'X-Sdk-Content-Sha256': 'ab'.repeat(32) } });
    await expect401(wrong.req, /X-Sdk-Content-Sha256 is not the SHA-256 of the body/);

    const { req } = await bmsCreate();
    await expect401(
      { ...req, headers: { ...req.headers, 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' } },
      /X-Sdk-Content-Sha256 is sent but not listed in SignedHeaders/,
    );
  });

  it('refuses a request with no credentials at all', async () => {
    const id = await t.resource('bms_server');
    await expect401(
      { method: 'GET', url: `/v1/${t.projectId}/baremetalservers/${id}/tags`, headers: {} },
      /No credentials/,
    );
  });

  it('refuses a key after it is deleted through the admin API', async () => {
    const created = await h.inject({
      method: 'POST',
      url: `/admin/v1/users/${t.root.id}/access-keys`,
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    expect(created.statusCode).toBe(201);
    const key = json(created) as { access_key: string; secret_key: string };
    const sign = () =>
      bmsCreate({ accessKey: key.access_key, secretKey: key.secret_key }).then((r) => r.req);
    expect((await send(await sign())).statusCode).toBe(204);
    const del = await h.inject({
      method: 'DELETE',
      url: `/admin/v1/users/${t.root.id}/access-keys/${key.access_key}`,
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    expect(del.statusCode).toBe(204);
    await expect401(await sign(), /does not exist/);
  });
});
