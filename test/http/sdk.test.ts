import http from 'node:http';
import type { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';
import {
  derivedSignatures,
  type SdkCall,
  type SdkClientOptions,
  sdkClient,
  sdkSend,
} from '../support/sdk.js';

/**
 * Every tag route of the five services, called through the official Node SDK core: its
 * credentials, its signer and its HTTP client, against the server on a real port.
 */
describe('calls signed by the official Node SDK', () => {
  let h: Harness;
  let t: Tenant;
  let endpoint: string;

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
    endpoint = await h.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => h.close());

  const clients: [string, boolean, (t: Tenant) => Partial<SdkClientOptions>][] = [
    ['SDK-HMAC-SHA256 with the project id given', false, (t) => ({ projectId: t.projectId })],
    [
      'SDK-HMAC-SHA256 with the project discovered by region',
      false,
      (t) => ({ region: t.projectName }),
    ],
    [
      'V11-HMAC-SHA256 (derived key)',
      true,
      (t) => ({ projectId: t.projectId, region: t.projectName, derivedService: 'tagplane' }),
    ],
  ];

  const send = async (c: HcClient, call: SdkCall, status: number) => {
    const res = await sdkSend(c, call);
    expect(res, `${call.method} ${call.url}`).toMatchObject({ status });
    return res;
  };

  for (const [name, derived, extra] of clients) {
    describe(name, () => {
      let before = 0;
      beforeEach(() => {
        before = derivedSignatures.count;
      });
      afterEach(() => {
        // The SDK really signed this test's calls with V11-HMAC-SHA256, or really did not.
        expect(derivedSignatures.count > before).toBe(derived);
      });
      const client = () =>
        sdkClient({
          endpoint,
          accessKey: t.root.accessKey,
          secretKey: t.root.secretKey,
          ...extra(t),
        });

      it('ModelArts: create, list (with a query string), delete', async () => {
        const id = await t.resource('modelarts_hyperinstance');
        const c = client();
        const base = '/v1/{project_id}/dev-servers/hyperinstance/{id}/tags';
        const tags = [
          { key: '环境', value: '生产' },
          { key: 'team name', value: 'Zürich' },
        ];
        const created = await send(
          c,
          { method: 'POST', url: `${base}/create`, pathParams: { id }, data: { tags } },
          200,
        );
        expect(created.body).toEqual({ tags });
        const listed = await send(
          c,
          {
            method: 'GET',
            url: base,
            pathParams: { id },
            queryParams: { limit: 10, marker: 'ä b' },
          },
          200,
        );
        expect(listed.body).toEqual({ tags: [tags[1], tags[0]] });
        const deleted = await send(
          c,
          { method: 'POST', url: `${base}/delete`, pathParams: { id }, data: { tags: [tags[0]] } },
          200,
        );
        expect(deleted.body).toEqual({ tags: [tags[0]] });
      });

      it('BMS: action create and delete, list with a query string', async () => {
        const id = await t.resource('bms_server');
        const c = client();
        const base = '/v1/{project_id}/baremetalservers/{server_id}/tags';
        await send(
          c,
          {
            method: 'POST',
            url: `${base}/action`,
            pathParams: { server_id: id },
            data: { action: 'create', tags: [{ key: 'Umgebung', value: 'Prüfung 環境' }] },
          },
          204,
        );
        const listed = await send(
          c,
          {
            method: 'GET',
            url: base,
            pathParams: { server_id: id },
            queryParams: { Offset: 0, tag: ['b', 'a'], q: 'x y+z' },
          },
          200,
        );
        expect(listed.body).toEqual({ tags: [{ key: 'Umgebung', value: 'Prüfung 環境' }] });
        await send(
          c,
          {
            method: 'POST',
            url: `${base}/action`,
            pathParams: { server_id: id },
            data: { action: 'delete', tags: [{ key: 'Umgebung' }] },
          },
          204,
        );
        expect(
          (await send(c, { method: 'GET', url: base, pathParams: { server_id: id } }, 200)).body,
        ).toEqual({ tags: [] });
      });

      it('DDM: create, set one (key in the path, raw and pre-encoded), list, delete', async () => {
        const id = await t.resource('ddm_instance');
        const c = client();
        const base = '/v3/{project_id}/instances/{instance_id}/tags';
        await send(
          c,
          {
            method: 'POST',
            url: `${base}/create`,
            pathParams: { instance_id: id },
            data: { tags: [{ key: 'owner', value: 'José' }] },
          },
          200,
        );
        // The SDK puts a path parameter in as given: raw text, or text the caller encoded.
        for (const key of ['环境 名', encodeURIComponent('ключ'), "it's"]) {
          await send(
            c,
            {
              method: 'PUT',
              url: `${base}/{key}`,
              pathParams: { instance_id: id, key },
              data: { value: 'v/1' },
            },
            200,
          );
        }
        const listed = await send(
          c,
          { method: 'GET', url: base, pathParams: { instance_id: id } },
          200,
        );
        expect(listed.body).toEqual({
          tags: [
            { key: "it's", value: 'v/1' },
            { key: 'owner', value: 'José' },
            { key: 'ключ', value: 'v/1' },
            { key: '环境 名', value: 'v/1' },
          ],
        });
        await send(
          c,
          {
            method: 'POST',
            url: `${base}/delete`,
            pathParams: { instance_id: id },
            data: { tags: [{ key: 'owner' }, { key: '环境 名', value: 'v/1' }] },
          },
          200,
        );
        const after = await send(
          c,
          { method: 'GET', url: base, pathParams: { instance_id: id } },
          200,
        );
        expect(after.body).toEqual({
          tags: [
            { key: "it's", value: 'v/1' },
            { key: 'ключ', value: 'v/1' },
          ],
        });
      });

      it('AS: action create and delete, list', async () => {
        const id = await t.resource('as_group');
        const c = client();
        const base = '/autoscaling-api/v1/{project_id}/{resource_type}/{resource_id}/tags';
        const pathParams = { resource_type: 'scaling_group_tag', resource_id: id };
        await send(
          c,
          {
            method: 'POST',
            url: `${base}/action`,
            pathParams,
            data: { action: 'create', tags: [{ key: '环境', value: '生产.v1' }, { key: 'k_2' }] },
          },
          204,
        );
        const listed = await send(
          c,
          { method: 'GET', url: base, pathParams, queryParams: { limit: '5' } },
          200,
        );
        expect(listed.body).toEqual({
          tags: [
            { key: 'k_2', value: '' },
            { key: '环境', value: '生产.v1' },
          ],
          sys_tags: [],
        });
        await send(
          c,
          {
            method: 'POST',
            url: `${base}/action`,
            pathParams,
            data: { action: 'delete', tags: [{ key: '环境' }] },
          },
          204,
        );
        expect((await send(c, { method: 'GET', url: base, pathParams }, 200)).body).toEqual({
          tags: [{ key: 'k_2', value: '' }],
          sys_tags: [],
        });
      });

      it('MRS: action create, add one, delete one (key in the path), list, action delete', async () => {
        const id = await t.resource('mrs_cluster');
        const c = client();
        const base = '/v1.1/{project_id}/clusters/{cluster_id}/tags';
        await send(
          c,
          {
            method: 'POST',
            url: `${base}/action`,
            pathParams: { cluster_id: id },
            data: {
              action: 'create',
              tags: [
                { key: '数据 集', value: 'ä' },
                { key: 'a', value: 'b' },
              ],
            },
          },
          204,
        );
        await send(
          c,
          {
            method: 'POST',
            url: base,
            pathParams: { cluster_id: id },
            data: { tag: { key: 'élan', value: 'vital' } },
          },
          204,
        );
        await send(
          c,
          {
            method: 'DELETE',
            url: `${base}/{key}`,
            pathParams: { cluster_id: id, key: '数据 集' },
          },
          204,
        );
        const missing = await sdkSend(c, {
          method: 'DELETE',
          url: `${base}/{key}`,
          pathParams: { cluster_id: id, key: '数据 集' },
        });
        expect(missing).toMatchObject({ status: 404, errorCode: '12005003' });
        const listed = await send(
          c,
          { method: 'GET', url: base, pathParams: { cluster_id: id }, queryParams: { x: '1' } },
          200,
        );
        expect(listed.body).toEqual({
          tags: [
            { key: 'a', value: 'b' },
            { key: 'élan', value: 'vital' },
          ],
        });
        await send(
          c,
          {
            method: 'POST',
            url: `${base}/action`,
            pathParams: { cluster_id: id },
            data: { action: 'delete', tags: [{ key: 'a' }, { key: 'élan' }] },
          },
          204,
        );
        expect(
          (await send(c, { method: 'GET', url: base, pathParams: { cluster_id: id } }, 200)).body,
        ).toEqual({ tags: [] });
      });
    });
  }

  it('a streamed GET body over 1 MiB answers 413 and closes the connection', async () => {
    const id = await t.resource('bms_server');
    const url = new URL(`${endpoint}/v1/${t.projectId}/baremetalservers/${id}/tags`);
    const res = await new Promise<{ status: number; connection: string | undefined; body: string }>(
      (resolve, reject) => {
        const req = http.request(
          url,
          {
            method: 'GET',
            headers: { 'x-auth-token': t.root.token, 'transfer-encoding': 'chunked' },
          },
          (r) => {
            let body = '';
            r.on('data', (c) => {
              body += c;
            });
            r.on('end', () =>
              resolve({ status: r.statusCode ?? 0, connection: r.headers.connection, body }),
            );
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 12; i++) req.write('x'.repeat(100_000));
        req.end();
      },
    );
    expect(res.status).toBe(413);
    expect(res.connection).toBe('close');
    expect(JSON.parse(res.body)).toMatchObject({ error_code: 'APIG.0201' });
  });

  it('a wrong secret key answers 401 APIG.0301 through the SDK', async () => {
    const id = await t.resource('bms_server');
    const c = sdkClient({
      endpoint,
      accessKey: t.root.accessKey,
      secretKey: `${t.root.secretKey}x`,
      projectId: t.projectId,
    });
    const res = await sdkSend(c, {
      method: 'GET',
      url: '/v1/{project_id}/baremetalservers/{server_id}/tags',
      pathParams: { server_id: id },
    });
    expect(res).toMatchObject({ status: 401, errorCode: 'APIG.0301' });
    expect(res.errorMsg).toMatch(/signature does not match/);
  });

  it('a region without a project: the SDK lists the regions and refuses the region itself, not with a 404', async () => {
    const x = await h.tenant();
    // The SDK looks the project up by name (GET /v3/projects?name=ap-nowhere-1), finds none,
    // lists the regions (GET /v3/regions: eu-de only) and refuses one not among them.
    const c = sdkClient({
      endpoint,
      accessKey: x.root.accessKey,
      secretKey: x.root.secretKey,
      region: 'ap-nowhere-1',
    });
    const sent = sdkSend(c, { method: 'GET', url: '/v1/{project_id}/baremetalservers/x/tags' });
    await expect(sent).rejects.toThrow(
      /^the region input is not supported to create project automatically$/,
    );
    await expect(sent).rejects.toMatchObject({ name: 'SdkException' });
  });

  it('a key locked by bad signatures answers the limit message through the SDK, however it is signed', async () => {
    const x = await h.tenant();
    const id = await x.resource('bms_server');
    const call = (secretKey: string) =>
      sdkSend(
        sdkClient({ endpoint, accessKey: x.root.accessKey, secretKey, projectId: x.projectId }),
        {
          method: 'GET',
          url: '/v1/{project_id}/baremetalservers/{server_id}/tags',
          pathParams: { server_id: id },
        },
      );
    for (let i = 1; i <= 5; i++) {
      expect((await call('wrong-secret')).errorMsg).toMatch(/signature does not match/);
    }
    for (const secretKey of ['wrong-secret', x.root.secretKey]) {
      expect(await call(secretKey)).toMatchObject({
        status: 401,
        errorCode: 'APIG.0301',
        errorMsg:
          'Incorrect IAM authentication information: AK access failed to reach the limit,forbidden.',
      });
    }
  });

  it("an IAM user signs with its own key and gets MRS's policy refusal (401 12000136) in the service envelope", async () => {
    const id = await t.resource('mrs_cluster');
    const c = sdkClient({
      endpoint,
      accessKey: t.iamUser.accessKey,
      secretKey: t.iamUser.secretKey,
      projectId: t.projectId,
    });
    const res = await sdkSend(c, {
      method: 'GET',
      url: '/v1.1/{project_id}/clusters/{cluster_id}/tags',
      pathParams: { cluster_id: id },
    });
    expect(res).toMatchObject({ status: 401, errorCode: '12000136' });
    expect(res.errorMsg).toBe(
      "Permission denied. Error message: Policy doesn't allow mrs:cluster:listTags to be performed.",
    );
  });
});
