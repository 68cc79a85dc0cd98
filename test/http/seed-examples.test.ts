import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, json, type Tenant } from '../support/harness.js';

/** The example requests of the five seed pages, sent exactly as the pages print them. */
describe('seed example requests', () => {
  let h: Harness;
  let t: Tenant;

  beforeAll(async () => {
    h = await createHarness();
    t = await h.tenant();
  });
  afterAll(() => h.close());

  const send = (method: 'POST' | 'GET', url: string, payload?: string) =>
    h.inject({
      method,
      url,
      headers: { 'x-auth-token': t.root.token, 'content-type': 'application/json' },
      ...(payload !== undefined ? { payload } : {}),
    });

  it('ModelArts: creates k1–k4 and answers 200 with the tags created', async () => {
    const id = await t.resource('modelarts_hyperinstance');
    const body = `{
  "tags" : [ {
    "key" : "k1",
    "value" : "v1"
  }, {
    "key" : "k2",
    "value" : "v2"
  }, {
    "key" : "k3",
    "value" : "v3"
  }, {
    "key" : "k4",
    "value" : "v4"
  } ]
}`;
    const res = await send(
      'POST',
      `/v1/${t.projectId}/dev-servers/hyperinstance/${id}/tags/create`,
      body,
    );
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual(JSON.parse(body));
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('BMS: adds key1 and key2 and answers 204', async () => {
    const id = await t.resource('bms_server');
    const body = `{
    "action": "create",
    "tags": [
        {
            "key": "key1",
            "value": "value1"
        },
        {
            "key": "key2",
            "value": "value3"
        }
    ]
}`;
    const res = await send('POST', `/v1/${t.projectId}/baremetalservers/${id}/tags/action`, body);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    const list = await send('GET', `/v1/${t.projectId}/baremetalservers/${id}/tags`);
    expect(json(list)).toEqual({
      tags: [
        { key: 'key1', value: 'value1' },
        { key: 'key2', value: 'value3' },
      ],
    });
  });

  it('DDM: adds key=value and answers 200 with an empty body', async () => {
    const id = '2f0324a93859487eb5566d75951fcd2din09';
    await t.resource('ddm_instance', undefined, id);
    const body = `{
  "tags": [
    {
      "key": "key",
      "value": "value"
    }
  ]
}`;
    const res = await send('POST', `/v3/${t.projectId}/instances/${id}/tags/create`, body);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    const list = await send('GET', `/v3/${t.projectId}/instances/${id}/tags`);
    expect(json(list)).toEqual({ tags: [{ key: 'key', value: 'value' }] });
  });

  it('AS: adds ENV15 and ENV151 to the scaling group and answers 204', async () => {
    const id = 'e5d27f5c-dd76-4a61-b4bc-a67c5686719a';
    await t.resource('as_group', undefined, id);
    const body = `{ 
  "tags": [
    { 
        "key": "ENV15", 
        "value": "ENV15" 
    }, 
    { 
        "key": "ENV151", 
        "value": "ENV151" 
    }
    ], 
  "action": "create" 
}`;
    const res = await send(
      'POST',
      `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/${id}/tags/action`,
      body,
    );
    expect(res.statusCode).toBe(204);
    const list = await send(
      'GET',
      `/autoscaling-api/v1/${t.projectId}/scaling_group_tag/${id}/tags`,
    );
    expect(json(list)).toEqual({
      tags: [
        { key: 'ENV15', value: 'ENV15' },
        { key: 'ENV151', value: 'ENV151' },
      ],
      sys_tags: [],
    });
  });

  it('MRS: the create example, then the delete example with "tag": null and the extra field', async () => {
    const id = await t.resource('mrs_cluster', [
      { key: 'DEV1', value: 'DEV1' },
      { key: 'DEV2', value: 'DEV2' },
    ]);
    const url = `/v1.1/${t.projectId}/clusters/${id}/tags/action`;
    const create = `{ 
    "action": "create", 
    "tags": [ 
        { 
            "key": "key1", 
            "value": "value1" 
        }, 
        { 
            "key": "key", 
            "value": "value3" 
        } 
    ] 
} `;
    expect((await send('POST', url, create)).statusCode).toBe(204);
    const del = `{
  "action" : "delete",
  "tags" : [ {
    "tag" : null,
    "key" : "DEV1",
    "value" : "DEV1"
  }, {
    "tag" : null,
    "key" : "DEV2",
    "value" : "DEV2"
  } ],
  "x-request-examples-text-1" : "{\\n    \\"action\\":\\"create\\",\\n    \\"tags\\":[\\n        {\\n            \\"key\\":\\"DEV1\\",\\n            \\"value\\":\\"DEV1\\"\\n        }.{\\n            \\"key\\":\\"DEV2\\",\\n            \\"value\\":\\"DEV2\\"\\n        }]\\n}"
}`;
    expect((await send('POST', url, del)).statusCode).toBe(204);
    const list = await send('GET', `/v1.1/${t.projectId}/clusters/${id}/tags`);
    expect(json(list)).toEqual({
      tags: [
        { key: 'key', value: 'value3' },
        { key: 'key1', value: 'value1' },
      ],
    });
  });
});
