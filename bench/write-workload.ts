/**
 * What the write benchmark sends: one tenant (a domain, a project, a root user with a password
 * and an access key) holding 10,000 BMS servers and 10,000 MRS clusters, loaded through the admin
 * API; and the pools of requests each row draws from.
 */
import { createHash } from 'node:crypto';
import { signRequest } from '../src/auth/aksk-signature.js';
import { makeResource, prng } from './query-dataset.js';
import type { RequestSpec } from './write-load.js';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
/** A fixed master key: benchmark databases hold nothing secret. */
export const MASTER_KEY = createHash('sha256').update('tagplane write benchmark').digest('hex');

export const SERVERS = 10_000;
export const CLUSTERS = 10_000;

export interface Tenant {
  readonly domainName: string;
  readonly projectId: string;
  readonly userName: string;
  readonly password: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly servers: readonly string[];
  readonly clusters: readonly string[];
}

/** A deterministic UUID-shaped id: the n-th of a kind. */
function uuid(kind: number, n: number): string {
  const hex = createHash('sha256').update(`${kind}:${n}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function benchTenant(): Tenant {
  return {
    domainName: 'bench',
    projectId: 'b0000000000000000000000000000001',
    userName: 'bench-root',
    password: 'bench-password-0123456789',
    accessKey: 'BENCHAK0000000000001',
    secretKey: 'bench-secret-key-0123456789abcdefghijklmn',
    servers: Array.from({ length: SERVERS }, (_, i) => uuid(1, i)),
    clusters: Array.from({ length: CLUSTERS }, (_, i) => uuid(2, i)),
  };
}

async function post(base: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

/**
 * Loads the tenant through the admin API, in chunks that stay under the body limit: the servers
 * with two tags each (the keys the create rows overwrite), the clusters with ten tags each from
 * the query benchmark's dataset.
 */
export async function seedTenant(base: string, t: Tenant): Promise<void> {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const send = async (doc: unknown) => {
    const res = await post(base, '/admin/v1/seed', doc, admin);
    if (res.status !== 200) throw new Error(`seed failed: ${res.status} ${res.text}`);
  };
  await send({
    domains: [{ id: 'bench-domain', name: t.domainName }],
    projects: [{ id: t.projectId, name: 'eu-de', domain_id: 'bench-domain' }],
    users: [
      {
        id: 'bench-root',
        name: t.userName,
        domain_id: 'bench-domain',
        root: true,
        password: t.password,
        access_keys: [{ access_key: t.accessKey, secret_key: t.secretKey }],
      },
    ],
  });
  const CHUNK = 1000;
  for (let i = 0; i < t.servers.length; i += CHUNK) {
    await send({
      resources: t.servers.slice(i, i + CHUNK).map((id, j) => ({
        project_id: t.projectId,
        type: 'bms_server',
        id,
        name: `bms-${i + j}`,
        tags: [
          { key: 'bench-a', value: 'seed' },
          { key: 'bench-b', value: 'seed' },
        ],
      })),
    });
  }
  const rand = prng(20240601);
  for (let i = 0; i < t.clusters.length; i += CHUNK) {
    await send({
      resources: t.clusters.slice(i, i + CHUNK).map((id, j) => {
        const r = makeResource(i + j, rand);
        return {
          project_id: t.projectId,
          type: 'mrs_cluster',
          id,
          name: r.name,
          tags: r.tags.map(([key, value]) => ({ key, value })),
        };
      }),
    });
  }
}

/** A project-scoped token from POST /v3/auth/tokens. */
export async function issueToken(base: string, t: Tenant): Promise<string> {
  const res = await post(
    base,
    '/v3/auth/tokens',
    {
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: { name: t.userName, password: t.password, domain: { name: t.domainName } },
          },
        },
        scope: { project: { id: t.projectId } },
      },
    },
    {},
  );
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new Error(`token failed: ${res.status} ${res.text}`);
  return token;
}

/**
 * Pool entries per server for the writes: 2, so each server's two values alternate between two
 * settings as the pool repeats, and every write really changes its rows.
 */
const WRITES_PER_SERVER = 2;

function createBody(n: number): string {
  return JSON.stringify({
    action: 'create',
    tags: [
      { key: 'bench-a', value: `a${n}` },
      { key: 'bench-b', value: `b${n}` },
    ],
  });
}

function createPath(t: Tenant, n: number): string {
  return `/v1/${t.projectId}/baremetalservers/${t.servers[n % t.servers.length]}/tags/action`;
}

/** BMS create of two tags, with a token, over the servers in turn. */
export function createPool(t: Tenant, token: string): RequestSpec[] {
  return Array.from({ length: t.servers.length * WRITES_PER_SERVER }, (_, n) => ({
    method: 'POST' as const,
    path: createPath(t, n),
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: createBody(n),
  }));
}

/**
 * The same writes signed with the access key as the SDKs sign them (SDK-HMAC-SHA256 over host,
 * content-type and X-Sdk-Date), all signed now: the signatures stay valid for 15 minutes.
 */
export function signedCreatePool(t: Tenant, host: string): RequestSpec[] {
  const now = Date.now();
  return Array.from({ length: t.servers.length * WRITES_PER_SERVER }, (_, n) => {
    const path = createPath(t, n);
    const body = createBody(n);
    const headers = { 'content-type': 'application/json', host };
    const { authorization, date } = signRequest(
      { method: 'POST', rawPath: path, rawQuery: '', headers, body: Buffer.from(body) },
      t.accessKey,
      t.secretKey,
      now,
    );
    return {
      method: 'POST' as const,
      path,
      headers: { ...headers, 'x-sdk-date': date, authorization },
      body,
    };
  });
}

/** GET the tags of the servers in turn. */
export function listPool(t: Tenant, token: string): RequestSpec[] {
  return t.servers.map((id) => ({
    method: 'GET' as const,
    path: `/v1/${t.projectId}/baremetalservers/${id}/tags`,
    headers: { 'x-auth-token': token },
  }));
}

/**
 * The first page (50) of an MRS filter over the 10,000 clusters: env=prod AND team=t<n>, for
 * each of the 50 teams in turn (about 66 matches each).
 */
export function queryPool(t: Tenant, token: string): RequestSpec[] {
  return Array.from({ length: 50 }, (_, n) => ({
    method: 'POST' as const,
    path: `/v1.1/${t.projectId}/clusters/resource_instances/action`,
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify({
      action: 'filter',
      limit: 50,
      offset: 0,
      tags: [
        { key: 'env', values: ['prod'] },
        { key: 'team', values: [`t${n}`] },
      ],
    }),
  }));
}
