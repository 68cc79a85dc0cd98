import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectGatewayError } from '../support/envelopes.js';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';
import { BMS, SERVICE_SPECS, tagsN } from '../support/service-spec.js';
import { expectError, TagApi } from '../support/tag-api.js';

/**
 * A path whose percent-encoding decodes to bytes that are not UTF-8 — `%C0%AF`, the overlong
 * encoding of `/` that path-traversal probes use — cannot be read as text, so no API can be
 * matched to it: it is refused before any route, credential check or store, as the API gateway
 * refuses a request it cannot parse, with 400 APIG.0201 in the gateway envelope (SPEC §2). A path
 * that is UTF-8 reaches its route, which refuses a bad identifier in its own envelope (SPEC §6).
 */

const NOT_UTF8 = '%C0%AF';
const MESSAGE = 'API request error: the path is not valid percent-encoded UTF-8.';

let h: Harness;
let t: Tenant;

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
});
afterAll(() => h.close());

describe('a path that is not percent-encoded UTF-8', () => {
  it.each(Object.values(SERVICE_SPECS).map((spec) => [spec.id, spec] as const))(
    '%s: 400 APIG.0201 in the gateway envelope, with the request id',
    async (_id, spec) => {
      const api = new TagApi(h, t, spec);
      for (const id of [NOT_UTF8, `srv${NOT_UTF8}..${NOT_UTF8}etc`]) {
        const res = await api.send('GET', spec.listUrl(t.projectId, id), undefined, {
          'x-request-id': 'probe-1',
        });
        expectGatewayError(res, 400, 'APIG.0201');
        expect(JSON.parse(res.body).error_msg).toBe(MESSAGE);
        expect(res.headers['x-request-id']).toBe('probe-1');
      }
    },
  );

  it('a write to such a path changes nothing', async () => {
    const api = new TagApi(h, t, BMS);
    const id = await api.resource(tagsN(1));
    const write = BMS.createRequest(t.projectId, `${id}${NOT_UTF8}`, [{ key: 'new', value: 'v' }]);
    expectGatewayError(await api.write(write), 400, 'APIG.0201');
    const project = `/v1/${t.projectId}${NOT_UTF8}/baremetalservers/${id}/tags/action`;
    const res = await api.send('POST', project, { action: 'create', tags: [{ key: 'new' }] });
    expectGatewayError(res, 400, 'APIG.0201');
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it('is refused before credentials are read: 400, not 401', async () => {
    const res = await h.inject({ method: 'GET', url: BMS.listUrl(t.projectId, NOT_UTF8) });
    expectGatewayError(res, 400, 'APIG.0201');
  });

  it('a path that is UTF-8 with a control character reaches the route: its own 400', async () => {
    const api = new TagApi(h, t, BMS);
    const message = expectError(await api.listRaw('%00'), 'nested', 'BMS.0001', 400);
    expect(message).toMatch(/server_id.*U\+0000/);
  });
});
