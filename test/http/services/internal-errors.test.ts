import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../../support/harness.js';
import { SERVICE_SPECS, tagsN } from '../../support/service-spec.js';
import { expectError, TagApi } from '../../support/tag-api.js';

/**
 * An unexpected failure (not a store outage: a statement the database refuses) answers 500 in
 * the route's own envelope with the service's internal-error code, and a generic message; the
 * details go to the log only. The tags table is dropped under the running server to cause one.
 */

/** What each service answers an unexpected failure with (SPEC §3 tables and [doc] tables). */
const INTERNAL: Record<keyof typeof SERVICE_SPECS, { code: string; message?: string }> = {
  // ModelArts error codes: ModelArts.0010 "Internal error." (500).
  modelarts: { code: 'ModelArts.0010', message: 'Internal error.' },
  bms: { code: 'BMS.0002' },
  ddm: { code: 'DBS.200001' },
  // AS error codes: AS.0001 "System error." (500); the message stays generic.
  as: { code: 'AS.0001' },
  // SPEC §3.5: 12000004 "Internal server error." (500).
  mrs: { code: '12000004', message: 'Internal server error.' },
};

let h: Harness;
let t: Tenant;
const ids = new Map<string, string>();

beforeAll(async () => {
  h = await createHarness();
  t = await h.tenant();
  for (const spec of Object.values(SERVICE_SPECS)) {
    ids.set(spec.id, await t.resource(spec.type, tagsN(1)));
  }
  await sql`drop table tags`.execute(h.store.db);
});
afterAll(() => h.close());

describe.each(Object.values(SERVICE_SPECS))('$id', (spec) => {
  it('a failing statement → 500 in the service envelope with its internal-error code', async () => {
    const api = new TagApi(h, t, spec);
    const id = ids.get(spec.id)!;
    const { code, message } = INTERNAL[spec.id];
    for (const res of [await api.create(id, tagsN(1, 'n')), await api.listRaw(id)]) {
      const text = expectError(res, spec.envelope, code, 500);
      if (message !== undefined) expect(text).toBe(message);
      // Generic: nothing of the database's own message.
      expect(text).not.toMatch(/tags|relation|table|SQL/i);
    }
  });
});

it('the details are in the log, with the request id', async () => {
  const res = await new TagApi(h, t, SERVICE_SPECS.mrs).listRaw(ids.get('mrs')!);
  expect(res.statusCode).toBe(500);
  const id = res.headers['x-request-id'] as string;
  const line = h
    .logs()
    .split('\n')
    .find((l) => l.includes(id) && l.includes('request failed'));
  expect(line).toBeDefined();
  expect(line).toMatch(/tags/);
});
