import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type Tenant } from '../support/harness.js';
import { BMS, tagsN } from '../support/service-spec.js';
import { signed } from '../support/signing.js';
import { expectError, TagApi } from '../support/tag-api.js';

/** SPEC §10 "Throttling as the cloud does": --rate-limit N per credential, bursts of N. */

const RATE = 3;
let clock = Date.now();
let h: Harness;
let t: Tenant;
let api: TagApi;

beforeAll(async () => {
  h = await createHarness({ rateLimit: RATE, now: () => clock });
  t = await h.tenant();
  api = new TagApi(h, t, BMS);
});
afterAll(() => h.close());

/** A fresh second, in which every credential has its whole burst again. */
function nextSecond() {
  clock += 1000;
}

/** The gateway's words, with its detail. */
const THROTTLED = `The throttling threshold has been reached: policy user over ratelimit,limit:${RATE},time:1 second`;

describe('a token caller', () => {
  it('a burst of N passes; the next call → 429 APIG.0308 in the gateway envelope', async () => {
    const id = await api.resource();
    nextSecond();
    for (let i = 0; i < RATE; i++) expect((await api.listRaw(id)).statusCode).toBe(200);
    expect(expectError(await api.listRaw(id), 'gateway', 'APIG.0308', 429)).toBe(THROTTLED);
  });

  it('a throttled write changes nothing', async () => {
    const id = await api.resource(tagsN(1));
    nextSecond();
    for (let i = 0; i < RATE; i++) await api.listRaw(id);
    expectError(await api.create(id, [{ key: 'new', value: 'v' }]), 'gateway', 'APIG.0308', 429);
    nextSecond();
    expect(await api.list(id)).toEqual(tagsN(1));
  });

  it('the bucket refills at N per second', async () => {
    const id = await api.resource();
    nextSecond();
    for (let i = 0; i < RATE; i++) await api.listRaw(id);
    expect((await api.listRaw(id)).statusCode).toBe(429);
    clock += Math.ceil(1000 / RATE);
    expect((await api.listRaw(id)).statusCode).toBe(200);
    expect((await api.listRaw(id)).statusCode).toBe(429);
  });

  it('other users have buckets of their own', async () => {
    const other = await h.tenant();
    const otherApi = new TagApi(h, other, BMS);
    const mine = await api.resource();
    const theirs = await otherApi.resource();
    nextSecond();
    for (let i = 0; i < RATE; i++) await api.listRaw(mine);
    expect((await api.listRaw(mine)).statusCode).toBe(429);
    for (let i = 0; i < RATE; i++) expect((await otherApi.listRaw(theirs)).statusCode).toBe(200);
  });

  it('refused credentials take nothing from the bucket', async () => {
    const id = await api.resource();
    nextSecond();
    for (let i = 0; i < RATE + 2; i++) {
      const res = await h.inject({
        method: 'GET',
        url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
        headers: { 'x-auth-token': 'not-a-token' },
      });
      expectError(res, 'gateway', 'APIG.0301', 401);
    }
    for (let i = 0; i < RATE; i++) expect((await api.listRaw(id)).statusCode).toBe(200);
  });
});

describe('an access key', () => {
  const call = (id: string) =>
    h.inject(
      signed(
        {
          method: 'GET',
          url: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
          headers: {},
        },
        t.root,
        { now: clock },
      ),
    );

  it('is throttled per key, apart from its user’s tokens', async () => {
    const id = await api.resource();
    nextSecond();
    for (let i = 0; i < RATE; i++) expect((await call(id)).statusCode).toBe(200);
    expectError(await call(id), 'gateway', 'APIG.0308', 429);
    // The same user with a token: another credential.
    expect((await api.listRaw(id)).statusCode).toBe(200);
  });
});

describe('without --rate-limit', () => {
  it('nothing is throttled', async () => {
    const free = await createHarness({ now: () => clock });
    try {
      const ft = await free.tenant();
      const freeApi = new TagApi(free, ft, BMS);
      const id = await freeApi.resource();
      for (let i = 0; i < 3 * RATE; i++) expect((await freeApi.listRaw(id)).statusCode).toBe(200);
    } finally {
      await free.close();
    }
  });
});
