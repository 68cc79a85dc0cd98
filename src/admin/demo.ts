import { randomBytes, randomUUID } from 'node:crypto';
import type { SecretBox } from '../auth/secret-box.js';
import { LETTERS_DIGITS, randomString } from '../core/random.js';
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
 * an access key, and one resource of each type. Credentials are random and shown once.
 */
export async function createDemo(store: Store, secrets: SecretBox): Promise<DemoData> {
  const demo: DemoData = {
    domainName: 'demo',
    userName: 'demo',
    password: randomString(20, 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'),
    projectId: hex32(),
    projectName: 'eu-de',
    accessKey: randomString(20),
    secretKey: randomString(40, LETTERS_DIGITS),
    bmsServerId: randomUUID(),
  };
  const domainId = hex32();
  await applySeed(store, secrets, {
    domains: [{ id: domainId, name: demo.domainName }],
    projects: [{ id: demo.projectId, name: demo.projectName, domain_id: domainId }],
    users: [
      {
        id: hex32(),
        name: demo.userName,
        domain_id: domainId,
        root: true,
        password: demo.password,
        access_keys: [{ access_key: demo.accessKey, secret_key: demo.secretKey }],
      },
    ],
    resources: [
      {
        project_id: demo.projectId,
        type: 'modelarts_hyperinstance',
        id: randomUUID(),
        name: 'supernode-1',
        tags: [{ key: 'team', value: 'ml' }],
      },
      {
        project_id: demo.projectId,
        type: 'bms_server',
        id: demo.bmsServerId,
        name: 'web-1',
        tags: [{ key: 'env', value: 'dev' }],
      },
      {
        project_id: demo.projectId,
        type: 'ddm_instance',
        id: `${hex32()}in09`,
        name: 'orders-ddm',
        tags: [{ key: 'env', value: 'dev' }],
      },
      {
        project_id: demo.projectId,
        type: 'as_group',
        id: randomUUID(),
        name: 'web-asg',
        tags: [{ key: 'env', value: 'dev' }],
      },
      {
        project_id: demo.projectId,
        type: 'mrs_cluster',
        id: randomUUID(),
        name: 'analytics',
        tags: [{ key: 'env', value: 'dev' }],
      },
    ],
  });
  return demo;
}
