// Testing code that tags BMS servers against tagplane, started in the test process.
// Run: npx vitest run examples/vitest (after `npm run build`; in a project of your own, after
// `npm install --save-dev tagplane`).
import { startTagplane, type Tagplane } from 'tagplane';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

const SEED = {
  domains: [{ id: 'd-acme', name: 'acme' }],
  projects: [{ id: 'p-eu', name: 'eu-de', domain_id: 'd-acme' }],
  users: [
    { id: 'u-root', name: 'acme', domain_id: 'd-acme', root: true, password: 'Passw0rd!acme' },
  ],
  resources: [
    {
      project_id: 'p-eu',
      type: 'bms_server',
      id: 'srv-1',
      name: 'web-1',
      tags: [{ key: 'env', value: 'dev' }],
    },
  ],
};

let tagplane: Tagplane;
let token: string;

beforeAll(async () => {
  tagplane = await startTagplane();
});
afterAll(() => tagplane.close());

// Every test starts from the same data: empty everything, load the seed again.
beforeEach(async () => {
  await tagplane.reset();
  await tagplane.seed(SEED);
  const res = await fetch(`${tagplane.url}/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: { name: 'acme', password: 'Passw0rd!acme', domain: { name: 'acme' } },
          },
        },
        scope: { project: { id: 'p-eu' } },
      },
    }),
  });
  token = res.headers.get('x-subject-token') ?? '';
});

/** The code under test: adds a tag to a BMS server through the BMS tag API. */
async function tagServer(endpoint: string, server: string, key: string, value: string) {
  const res = await fetch(`${endpoint}/v1/p-eu/baremetalservers/${server}/tags/action`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify({ action: 'create', tags: [{ key, value }] }),
  });
  if (res.status !== 204) throw new Error(`tagging failed: ${res.status} ${await res.text()}`);
}

async function tagsOf(server: string) {
  const res = await fetch(`${tagplane.url}/v1/p-eu/baremetalservers/${server}/tags`, {
    headers: { 'x-auth-token': token },
  });
  return ((await res.json()) as { tags: { key: string; value: string }[] }).tags;
}

it('adds a tag', async () => {
  await tagServer(tagplane.url, 'srv-1', 'owner', 'alice');
  expect(await tagsOf('srv-1')).toEqual([
    { key: 'env', value: 'dev' },
    { key: 'owner', value: 'alice' },
  ]);
});

it('starts each test from the seed again', async () => {
  expect(await tagsOf('srv-1')).toEqual([{ key: 'env', value: 'dev' }]);
});

it('reports the service error of an unknown server', async () => {
  await expect(tagServer(tagplane.url, 'srv-404', 'owner', 'alice')).rejects.toThrow(
    /tagging failed: 400 .*BMS\.0040/,
  );
});

it('sees a resource registered by the test', async () => {
  await tagplane.registerResource('p-eu', 'bms_server', 'srv-2', { name: 'web-2' });
  await tagServer(tagplane.url, 'srv-2', 'team', 'payments');
  expect(await tagsOf('srv-2')).toEqual([{ key: 'team', value: 'payments' }]);
});
