import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseServeConfig } from './config.js';
import type { SeedDocumentBody } from './http/seed-schema.js';
import { startServer } from './server.js';

/*
 * tagplane inside a test process: `startTagplane()` serves on a free port of 127.0.0.1 over an
 * in-memory database, and the handle it resolves to drives the admin API over HTTP, the same
 * routes any other language uses, so the two ways of testing against tagplane cannot drift.
 */

export interface StartOptions {
  /** `sqlite::memory:` (default), `sqlite:PATH` or `postgres://…`. */
  readonly database?: string;
  /** A seed document, or the path of a JSON file holding one, loaded before the start resolves. */
  readonly seed?: SeedDocument | string;
  /** `strict` (default) verifies credentials; `open` accepts any well-formed ones. */
  readonly auth?: 'strict' | 'open';
  /** Default 0: a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** The admin API's token (16 characters or more); default a fresh random one. */
  readonly adminToken?: string;
  /** 64 hex digits; required with PostgreSQL (every node must hold the same key). */
  readonly masterKey?: string;
  /** Create the demo domain, user and resources on a new database; default false. */
  readonly demo?: boolean;
  /** fatal, error, warn (default), info, debug, trace or silent; logs go to standard error. */
  readonly logLevel?: string;
  /**
   * Throttling as `--rate-limit`: requests per second per credential (an access key, a token's
   * user; with `auth: 'open'`, a token), in bursts of as many; a whole number 1–1,000,000.
   * Excess calls answer 429 `APIG.0308` in the gateway envelope and change nothing.
   * Default `'off'` (0 is off too).
   */
  readonly rateLimit?: number | 'off';
  /**
   * As `--request-log`: how many of its last requests the server keeps for
   * GET /admin/v1/requests; 0–1,000,000, default 1000, 0 keeps none.
   */
  readonly requestLog?: number;
}

/** The seed document of `POST /admin/v1/seed` (see GET /schemas/seed.json and the README). */
export type SeedDocument = SeedDocumentBody;

/** What a seed load answers: every entry's id (given, found by name, or generated). */
export interface SeedAnswer {
  readonly ids: {
    readonly domains: string[];
    readonly projects: string[];
    readonly users: string[];
    readonly resources: string[];
  };
}

export interface ResourceRegistration {
  readonly name?: string;
  readonly enterprise_project_id?: string;
}

/** Filters of GET /admin/v1/events (all optional). */
export interface EventFilter {
  readonly project_id?: string;
  readonly resource_type?: string;
  readonly resource_id?: string;
  readonly key?: string;
  readonly principal?: string;
  readonly from?: string;
  readonly to?: string;
  readonly since?: string;
  readonly before?: string;
  readonly order?: 'asc' | 'desc';
  readonly limit?: number;
}

/** A fault rule, as POST /admin/v1/faults takes it. */
export interface FaultSpec {
  readonly match: {
    readonly service?: string;
    readonly operation?: string;
    readonly method?: string;
    readonly path_prefix?: string;
    readonly project_id?: string;
    readonly resource_id?: string;
  };
  readonly error?: { readonly status: number; readonly code?: string; readonly message?: string };
  readonly latency_ms?: number;
  readonly probability?: number;
  readonly count?: number;
  readonly ttl_s?: number;
}

/** A JSON object as the admin API answered it. */
export type AdminAnswer = Record<string, unknown>;

export interface Faults {
  /** POST /admin/v1/faults: the created rule, with its `id`. */
  add(spec: FaultSpec): Promise<AdminAnswer & { id: string }>;
  /** GET /admin/v1/faults: every rule with how many times it fired. */
  list(): Promise<AdminAnswer[]>;
  /** DELETE /admin/v1/faults/{id}. */
  remove(id: string): Promise<void>;
  /** DELETE /admin/v1/faults: every rule. */
  clear(): Promise<void>;
}

export interface Tagplane {
  /** `http://127.0.0.1:PORT`: point SDKs and clients here. */
  readonly url: string;
  readonly adminToken: string;
  /** POST /admin/v1/seed (an idempotent upsert): the id of every entry, in document order. */
  seed(doc: SeedDocument | string): Promise<SeedAnswer>;
  /** POST /admin/v1/reset: every domain, project, user, resource and tag is gone. */
  reset(): Promise<void>;
  /** POST /admin/v1/projects/{project}/reset: its resources, tags and events; identities stay. */
  resetProject(projectId: string): Promise<void>;
  /** PUT /admin/v1/projects/{project}/resources/{type}/{id}: the registered resource. */
  registerResource(
    projectId: string,
    type: string,
    id: string,
    details?: ResourceRegistration,
  ): Promise<AdminAnswer>;
  /** GET /admin/v1/events with the filter: `{events, next_marker}`. */
  events(filter?: EventFilter): Promise<{ events: AdminAnswer[]; next_marker: string | null }>;
  readonly faults: Faults;
  /** Any other admin call: `request('GET', '/admin/v1/requests?limit=5')`. */
  request(method: string, path: string, body?: unknown): Promise<unknown>;
  /** Stops serving and closes the database; an in-memory database is gone after. */
  close(): Promise<void>;
}

/** An admin call answered with an error status; `body` is the answer as sent. */
export class TagplaneAdminError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what} answered ${status}: ${body}`);
    this.name = 'TagplaneAdminError';
  }
}

async function seedBody(doc: SeedDocument | string): Promise<unknown> {
  if (typeof doc !== 'string') return doc;
  try {
    return JSON.parse(await readFile(doc, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read seed file ${doc}: ${(err as Error).message}`);
  }
}

function query(filter: EventFilter): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Starts a tagplane server in this process. Several may run side by side, each on its own port. */
export async function startTagplane(options: StartOptions = {}): Promise<Tagplane> {
  const adminToken = options.adminToken ?? `tp-${randomBytes(18).toString('base64url')}`;
  const config = parseServeConfig(
    {
      host: options.host ?? '127.0.0.1',
      port: String(options.port ?? 0),
      database: options.database ?? 'sqlite::memory:',
      auth: options.auth ?? 'strict',
      adminToken,
      demo: options.demo ?? false,
      logLevel: options.logLevel ?? 'warn',
      logFormat: 'json',
      // Read as the flags are, so that they take the same values and fail with the same words.
      ...(options.rateLimit !== undefined ? { rateLimit: String(options.rateLimit) } : {}),
      ...(options.requestLog !== undefined ? { requestLog: String(options.requestLog) } : {}),
    },
    // Only what the caller passed: a test process's environment does not leak in.
    options.masterKey ? { TAGPLANE_MASTER_KEY: options.masterKey } : {},
  );
  const server = await startServer(config);
  const base = server.url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');

  const request = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new TagplaneAdminError(res.status, text, `${method} ${path}`);
    return text === '' ? undefined : JSON.parse(text);
  };

  const handle: Tagplane = {
    url: base,
    adminToken,
    seed: async (doc) =>
      (await request('POST', '/admin/v1/seed', await seedBody(doc))) as SeedAnswer,
    reset: async () => {
      await request('POST', '/admin/v1/reset');
    },
    resetProject: async (projectId) => {
      await request('POST', `/admin/v1/projects/${encodeURIComponent(projectId)}/reset`);
    },
    registerResource: async (projectId, type, id, details = {}) =>
      (await request(
        'PUT',
        `/admin/v1/projects/${encodeURIComponent(projectId)}/resources/${encodeURIComponent(type)}/${encodeURIComponent(id)}`,
        details,
      )) as AdminAnswer,
    events: async (filter = {}) =>
      (await request('GET', `/admin/v1/events${query(filter)}`)) as {
        events: AdminAnswer[];
        next_marker: string | null;
      },
    faults: {
      add: async (spec) =>
        (await request('POST', '/admin/v1/faults', spec)) as AdminAnswer & { id: string },
      list: async () =>
        ((await request('GET', '/admin/v1/faults')) as { faults: AdminAnswer[] }).faults,
      remove: async (id) => {
        await request('DELETE', `/admin/v1/faults/${encodeURIComponent(id)}`);
      },
      clear: async () => {
        await request('DELETE', '/admin/v1/faults');
      },
    },
    request,
    close: () => server.close(),
  };

  if (options.seed !== undefined) {
    try {
      await handle.seed(options.seed);
    } catch (err) {
      await server.close();
      throw err;
    }
  }
  return handle;
}
