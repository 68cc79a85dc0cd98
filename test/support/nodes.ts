import { randomBytes } from 'node:crypto';
import { type ServerProcess, startServer } from './process.js';

/**
 * tagplane nodes for tests of several processes on one database (PostgreSQL, or a database the
 * CLI exports and imports): each listens on a port of its own, prints no demo and logs warnings
 * only; tenants are seeded through the admin API and tokens issued over HTTP, as an operator and
 * a client would.
 */

export const NODE_ADMIN_TOKEN = 'multi-node-admin-token-0123456789';

/** A fresh master key, as every node of one database must share. */
export function newMasterKey(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Starts `tagplane serve --port 0` with `args` (and `--no-demo` unless `demo`), logging at
 * `warn` unless `env` says otherwise; resolves once it prints its listening line.
 */
export function startNode(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { demo?: boolean } = {},
): Promise<ServerProcess> {
  const demo = options.demo ? [] : ['--no-demo'];
  return startServer(['--port', '0', ...demo, ...args], { TAGPLANE_LOG_LEVEL: 'warn', ...env });
}

/** Starts `count` nodes at once; if any fails to start, stops the others and rejects. */
export async function startNodes(
  count: number,
  args: readonly string[],
  env: Record<string, string> = {},
  options: { demo?: boolean } = {},
): Promise<ServerProcess[]> {
  const results = await Promise.allSettled(
    Array.from({ length: count }, () => startNode(args, env, options)),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((n) => n.stop()));
    throw failed.reason;
  }
  return started;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON, or undefined when empty. */
  readonly body: unknown;
}

/** One JSON request to a running node. */
export async function http(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body ? { body } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    body: text ? JSON.parse(text) : undefined,
  };
}

/** A domain with a root user (password and AK/SK) and a project, loaded through the admin API. */
export interface NodeTenant {
  readonly domainName: string;
  readonly projectId: string;
  readonly userId: string;
  readonly userName: string;
  readonly password: string;
  readonly accessKey: string;
  readonly secretKey: string;
}

export async function seedTenant(
  base: string,
  adminToken: string,
  resources: { type: string; id: string }[] = [],
): Promise<NodeTenant> {
  const u = randomBytes(6).toString('hex');
  const tenant = {
    domainName: `domain-${u}`,
    projectId: `p-${u}`,
    userId: `u-${u}`,
    userName: `root-${u}`,
    password: `pw-${u}-secret`,
    accessKey: `AK${u.toUpperCase()}`,
    secretKey: `SK-${u}-secret`,
  };
  const res = await http(base, 'POST', '/admin/v1/seed', {
    headers: { authorization: `Bearer ${adminToken}` },
    body: {
      domains: [{ id: `d-${u}`, name: tenant.domainName }],
      projects: [{ id: tenant.projectId, name: 'eu-de', domain_id: `d-${u}` }],
      users: [
        {
          id: `u-${u}`,
          name: tenant.userName,
          domain_id: `d-${u}`,
          root: true,
          password: tenant.password,
          access_keys: [{ access_key: tenant.accessKey, secret_key: tenant.secretKey }],
        },
      ],
      resources: resources.map((r) => ({ project_id: tenant.projectId, ...r })),
    },
  });
  if (res.status !== 200) throw new Error(`seed failed: ${res.status} ${res.text}`);
  return tenant;
}

/** A project-scoped token from `POST /v3/auth/tokens` on the given node. */
export async function issueToken(base: string, t: NodeTenant): Promise<string> {
  const res = await http(base, 'POST', '/v3/auth/tokens', {
    body: {
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
  });
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new Error(`token failed: ${res.status} ${res.text}`);
  return token;
}
