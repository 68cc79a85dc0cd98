// The same kind of test with Jest. In a project of your own:
//   npm install --save-dev tagplane jest
//   NODE_OPTIONS=--experimental-vm-modules npx jest
// (tagplane is an ES module, which Jest loads with that Node.js option). tagplane's own suite
// runs this file so, in a project that installs the packed package (test/process/package.test.ts).
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { startTagplane } from 'tagplane';

const SEED = {
  domains: [{ id: 'd-acme', name: 'acme' }],
  projects: [{ id: 'p-eu', name: 'eu-de', domain_id: 'd-acme' }],
  resources: [{ project_id: 'p-eu', type: 'bms_server', id: 'srv-1', name: 'web-1' }],
};

let tagplane;

beforeAll(async () => {
  // Any token is accepted in open mode: the code under test needs no credentials set up.
  tagplane = await startTagplane({ auth: 'open' });
});
afterAll(() => tagplane.close());

beforeEach(async () => {
  await tagplane.reset();
  await tagplane.faults.clear();
  await tagplane.seed(SEED);
});

const tagUrl = () => `${tagplane.url}/v1/p-eu/baremetalservers/srv-1/tags/action`;
const tagOnce = () =>
  fetch(tagUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': 'test' },
    body: JSON.stringify({ action: 'create', tags: [{ key: 'owner', value: 'alice' }] }),
  });

test('a tag change is recorded as an event', async () => {
  expect((await tagOnce()).status).toBe(204);
  const { events } = await tagplane.events({ resource_id: 'srv-1' });
  expect(events.at(-1).changes).toEqual([{ key: 'owner', old: null, new: 'alice' }]);
});

test('the code under test retries when the gateway throttles it', async () => {
  // The next call answers 429 APIG.0308 in the gateway envelope, then the fault is spent.
  await tagplane.faults.add({
    match: { service: 'bms' },
    error: { status: 429, code: 'APIG.0308' },
    count: 1,
  });
  expect((await tagOnce()).status).toBe(429);
  expect((await tagOnce()).status).toBe(204);
});
