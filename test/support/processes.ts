import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** The built CLI (the Vitest global setup builds dist/ once per run). */
export const CLI = fileURLToPath(new URL('../../bin/tagplane.js', import.meta.url));

export const NODE_ADMIN_TOKEN = 'multi-node-admin-token-0123456789';

/** A fresh master key, as every node of one database must share. */
export function newMasterKey(): string {
  return randomBytes(32).toString('hex');
}

/** A `tagplane serve` process listening on a port of its own. */
export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Standard output lines so far. */
  readonly stdout: string[];
  /** Standard error so far (logs), for failure messages. */
  stderr(): string;
  /** The first standard output line matching `pattern`, waiting for it if need be. */
  line(pattern: RegExp): Promise<string>;
  /** Ends it with SIGKILL: no shutdown, no flushing. */
  kill(): Promise<void>;
  /** Ends it with SIGTERM, as an orderly shutdown; resolves once all its output is read. */
  stop(): Promise<void>;
}

/**
 * Starts `tagplane serve --port 0` with `args` (and `--no-demo` unless `demo`); resolves once it
 * prints its listening line.
 */
export function startServer(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { demo?: boolean } = {},
): Promise<ServerProcess> {
  const demo = options.demo ? [] : ['--no-demo'];
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...demo, ...args], {
    env: { ...process.env, TAGPLANE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Ended, with everything it wrote read.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stdout: string[] = [];
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let errText = '';
  let partial = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    errText += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tagplane did not start within 30 s:\n${errText}`));
    }, 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tagplane exited (${code ?? signal}) before listening:\n${errText}`));
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        stdout.push(line);
        for (const w of waiting.filter((x) => x.pattern.test(line))) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(line);
        }
        const m = /^tagplane listening on (http:\/\/\S+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve({
            url: m[1]!,
            child,
            stdout,
            stderr: () => errText,
            line(pattern) {
              const seen = stdout.find((l) => pattern.test(l));
              if (seen !== undefined) return Promise.resolve(seen);
              return new Promise((res, rej) => {
                waiting.push({ pattern, resolve: res });
                child.once('exit', () => rej(new Error(`exited before printing ${pattern}`)));
              });
            },
            async kill() {
              child.kill('SIGKILL');
              await closed;
            },
            async stop() {
              child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
              await closed;
              clearTimeout(t);
            },
          });
        }
      }
    });
  });
}

/** Starts `count` servers at once; if any fails to start, stops the others and rejects. */
export async function startServers(
  count: number,
  args: readonly string[],
  env: Record<string, string> = {},
  options: { demo?: boolean } = {},
): Promise<ServerProcess[]> {
  const results = await Promise.allSettled(
    Array.from({ length: count }, () => startServer(args, env, options)),
  );
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((n) => n.stop()));
    throw failed.reason;
  }
  return started;
}

/** Resolves once `predicate` holds (checked every 20 ms); rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI to completion. */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, TAGPLANE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON, or undefined when empty. */
  readonly body: unknown;
}

/** One HTTP request to a running server. */
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
