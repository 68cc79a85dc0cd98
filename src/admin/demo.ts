import { randomBytes, randomUUID } from 'node:crypto';
import type { SecretBox } from '../auth/secret-box.js';
import { LETTERS_DIGITS, randomString } from '../core/random.js';
import { PROFILES } from '../services/registry.js';
import type { Store } from '../store/database.js';
import { applySeed } from './seed.js';

export interface DemoData {
  readonly domainName: string;
  readonly userName: string;
  readonly password: string;
  readonly projectId: string;
  readonly projectName: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bmsServerId: string;
}

const hex32 = () => randomBytes(16).toString('hex');

/**
 * The demo a new database starts with: one domain, one project, a root user with a password and
 * an access key, and one resource of each type (its profile's demoResource). Credentials are
 * random and shown once.
 */
export async function createDemo(store: Store, secrets: SecretBox): Promise<DemoData> {
  const resources = PROFILES.map(({ resourceType, demoResource }) => ({
    type: resourceType,
    id: demoResource.newId?.() ?? randomUUID(),
    name: demoResource.name,
    tags: demoResource.tags,
  }));
  // The BMS server is the one the start-up banner's example requests use.
  const bmsServer = resources.find((r) => r.type === 'bms_server')!;
  const demo: DemoData = {
    domainName: 'demo',
    userName: 'demo',
    password: randomString(20, 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'),
    projectId: hex32(),
    projectName: 'eu-de',
    accessKey: randomString(20),
    secretKey: randomString(40, LETTERS_DIGITS),
    bmsServerId: bmsServer.id,
  };
  const domainId = hex32();
  await applySeed(store, secrets, {
    domains: [{ id: domainId, name: demo.domainName }],
    projects: [{ id: demo.projectId, name: demo.projectName, domain: { id: domainId } }],
    users: [
      {
        id: hex32(),
        name: demo.userName,
        domain: { id: domainId },
        root: true,
        password: demo.password,
        accessKeys: [{ accessKey: demo.accessKey, secretKey: demo.secretKey }],
        policies: [],
      },
    ],
    resources: resources.map((r) => ({
      project: { id: demo.projectId },
      type: r.type,
      id: r.id,
      name: r.name,
      enterpriseProjectId: '0',
      tags: r.tags,
    })),
  });
  return demo;
}
