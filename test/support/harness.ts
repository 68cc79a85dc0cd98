import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { type AppOptions, buildApp } from '../../src/app.js';
import type { AuthMode } from '../../src/auth/authenticator.js';
import { SecretBox } from '../../src/auth/secret-box.js';
import { TOKEN_LIFETIME_MS, type TokenClaims, TokenSigner } from '../../src/auth/tokens.js';
import { sha256Hex } from '../../src/core/hash.js';
import { createLogger } from '../../src/logging.js';
import type { ResourceType } from '../../src/services/registry.js';
import type { Store, StoreOptions } from '../../src/store/database.js';
import { findUserById } from '../../src/store/identity-store.js';
import { attachTestStore, openTestStore } from './test-store.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface Harness {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly tokens: TokenSigner;
  /** What `--database` takes for this harness's database. */
  readonly databaseUrl: string;
  /** The keys it seals secrets and signs tokens with. */
  readonly keys: HarnessKeys;
  /** Sends a request through the app without a socket. */
  inject: FastifyInstance['inject'];
  /**
   * A token for a user, signed as the server signs them, carrying the user's current token epoch
   * (none when the user does not exist).
   */
  token(claims: Omit<TokenClaims, 'epoch'>): Promise<string>;
  /** Loads a seed document through the admin API; fails the test on a non-200 answer. */
  seed(doc: unknown): Promise<void>;
  /** A new domain with one project, a root user and an IAM user without policies. */
  tenant(): Promise<Tenant>;
  /** Everything the server logged so far (its own logger configuration, level trace). */
  logs(): string;
  /** Closes the app and fails if any secret the harness has seen appears in the log. */
  close(): Promise<void>;
}

export interface TestUser {
  readonly id: string;
  readonly name: string;
  readonly password: string;
  readonly accessKey: string;
  readonly secretKey: string;
  /** A token scoped to the tenant's project. */
  readonly token: string;
  /** A token scoped to the tenant's domain. */
  readonly domainToken: string;
}

export interface Tenant {
  readonly domainId: string;
  readonly domainName: string;
  readonly projectId: string;
  readonly projectName: string;
  readonly root: TestUser;
  readonly iamUser: TestUser;
  /** Registers a resource (with optional tags) and returns its id. */
  resource(
    type: ResourceType,
    tags?: { key: string; value: string }[],
    id?: string,
  ): Promise<string>;
}

const unique = () => randomBytes(6).toString('hex');

export interface HarnessOptions {
  readonly auth?: AuthMode;
  /** The server's clock (default Date.now). */
  readonly now?: () => number;
  /** Lockout policies (default: the server's defaults; null: off). */
  readonly loginLockout?: AppOptions['loginLockout'];
  readonly akskLockout?: AppOptions['akskLockout'];
  /** Requests per second per credential (default: unlimited). */
  readonly rateLimit?: number;
  /** Requests the request log keeps (default: the server's). */
  readonly requestLog?: number;
  /** Connection time limits (default: the server's). */
  readonly connections?: AppOptions['connections'];
  /** Options of the store the app serves (default: the test store's). */
  readonly store?: StoreOptions;
  /**
   * Serve this existing, migrated database (another harness's: a second node of it, with store
   * connections of its own) instead of a new one. It is left in place on close.
   */
  readonly databaseUrl?: string;
  /** The keys (default: new ones); another harness's serve its database or a copy of it. */
  readonly keys?: HarnessKeys;
  /** How often an idle live event feed sends a keep-alive comment. */
  readonly eventKeepAliveMs?: number;
  /** Bytes a live event feed's client may leave unread before the server closes it. */
  readonly eventStreamMaxUnreadBytes?: number;
}

/** The master key (secrets at rest) and the token signing key. */
export interface HarnessKeys {
  readonly master: Buffer;
  readonly tokens: Buffer;
}

/**
 * A freshly migrated database of its own, and the app over it. The database is the one this run
 * tests (see test-store.ts): a temporary SQLite file, or a new PostgreSQL database dropped on close.
 */
export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const testStore = options.databaseUrl
    ? attachTestStore(options.databaseUrl, options.store)
    : await openTestStore(undefined, options.store);
  const { store } = testStore;
  const keys = options.keys ?? { master: randomBytes(32), tokens: randomBytes(32) };
  const secrets = new SecretBox(keys.master);
  const known = new KnownSecrets();
  const tokens = new RecordingTokenSigner(keys.tokens, known);
  const logLines: string[] = [];
  // The server's own logger configuration, at its most verbose, into memory.
  const logger = createLogger('trace', { write: (line: string) => void logLines.push(line) });
  const app = await buildApp(
    {
      auth: options.auth ?? 'strict',
      ...(options.loginLockout !== undefined ? { loginLockout: options.loginLockout } : {}),
      ...(options.akskLockout !== undefined ? { akskLockout: options.akskLockout } : {}),
      ...(options.eventKeepAliveMs !== undefined
        ? { eventKeepAliveMs: options.eventKeepAliveMs }
        : {}),
      ...(options.eventStreamMaxUnreadBytes !== undefined
        ? { eventStreamMaxUnreadBytes: options.eventStreamMaxUnreadBytes }
        : {}),
      ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
      ...(options.requestLog !== undefined ? { requestLog: options.requestLog } : {}),
      ...(options.connections !== undefined ? { connections: options.connections } : {}),
    },
    {
      store,
      secrets,
      tokens,
      adminTokenHash: sha256Hex(ADMIN_TOKEN),
      logger,
      ...(options.now ? { now: options.now } : {}),
    },
  );

  const inject = ((opts?: InjectOptions | string) => {
    if (opts === undefined) return app.inject();
    if (typeof opts === 'object') known.fromRequest(opts);
    return app.inject(opts).then((res) => {
      known.fromResponse(res);
      return res;
    });
  }) as FastifyInstance['inject'];

  const seed = async (doc: unknown) => {
    const res = await inject({
      method: 'POST',
      url: '/admin/v1/seed',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify(doc),
    });
    if (res.statusCode !== 200) throw new Error(`seed failed: ${res.statusCode} ${res.body}`);
  };

  const token = async (claims: Omit<TokenClaims, 'epoch'>) => {
    const user = await findUserById(store.db, claims.userId);
    return tokens.issue({ ...claims, epoch: user?.tokenEpoch ?? '' });
  };

  const tenant = async (): Promise<Tenant> => {
    const u = unique();
    const domainId = `d-${u}`;
    const projectId = `p-${u}`;
    const user = (name: string, root: boolean) => ({
      id: `u-${name}-${u}`,
      name,
      root,
      password: `pw-${name}-${u}`,
      accessKey: `AK${name.toUpperCase()}${u}`.replace(/[^A-Za-z0-9]/g, ''),
      secretKey: `SK-${name}-${u}-secret`,
    });
    const users = [user('root', true), user('dev', false)];
    for (const x of users) known.add(x.password, x.secretKey);
    await seed({
      domains: [{ id: domainId, name: `domain-${u}` }],
      projects: [{ id: projectId, name: 'eu-de', domain_id: domainId }],
      users: users.map((x) => ({
        id: x.id,
        name: x.name,
        domain_id: domainId,
        root: x.root,
        password: x.password,
        access_keys: [{ access_key: x.accessKey, secret_key: x.secretKey }],
      })),
    });
    // Tokens as the server issues them, after the users exist (they carry the users' epochs).
    const now = Date.now();
    const [root, iamUser] = await Promise.all(
      users.map(async (x) => {
        const claims = {
          userId: x.id,
          domainId,
          issuedAt: now,
          expiresAt: now + TOKEN_LIFETIME_MS,
        };
        return {
          ...x,
          token: await token({ ...claims, projectId }),
          domainToken: await token(claims),
        };
      }),
    );
    if (!root || !iamUser) throw new Error('tenant: users missing');
    return {
      domainId,
      domainName: `domain-${u}`,
      projectId,
      projectName: 'eu-de',
      root,
      iamUser,
      async resource(type, tags, id = randomUUID()) {
        await seed({
          resources: [
            {
              project_id: projectId,
              type,
              id,
              name: `res-${id.slice(0, 8)}`,
              ...(tags ? { tags } : {}),
            },
          ],
        });
        return id;
      },
    };
  };

  return {
    app,
    store,
    tokens,
    databaseUrl: testStore.database.url,
    keys,
    inject,
    token,
    seed,
    tenant,
    logs: () => logLines.join(''),
    async close() {
      await app.close();
      await testStore.close();
      // Every test file's logs are scanned for every secret the harness saw go by.
      const leaked = known.foundIn(logLines.join(''));
      if (leaked.length > 0) {
        throw new Error(
          `secrets appeared in the server log: ${leaked.map((x) => `${x.slice(0, 4)}… (${x.length} characters)`).join(', ')}`,
        );
      }
    },
  };
}

/**
 * The secrets that went by: the admin token, seeded passwords and secret keys, issued tokens,
 * and any password, secret key or token in a request or an answer.
 */
class KnownSecrets {
  private readonly values = new Set<string>([ADMIN_TOKEN]);

  add(...values: unknown[]): void {
    for (const v of values) if (typeof v === 'string' && v.length >= 6) this.values.add(v);
  }

  private walk(v: unknown): void {
    if (Array.isArray(v)) {
      for (const x of v) this.walk(x);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (['password', 'secret_key', 'secretKey', 'token'].includes(k)) this.add(x);
        else this.walk(x);
      }
    }
  }

  private body(text: unknown): void {
    if (typeof text !== 'string' || text === '') {
      if (text !== null && typeof text === 'object' && !Buffer.isBuffer(text)) this.walk(text);
      return;
    }
    try {
      this.walk(JSON.parse(text));
    } catch {
      // not JSON: nothing to learn
    }
  }

  fromRequest(opts: InjectOptions): void {
    const headers = (opts.headers ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(headers)) {
      const name = k.toLowerCase();
      if (name === 'x-auth-token' || name === 'x-subject-token') this.add(v);
      if (name === 'authorization' && typeof v === 'string' && /^bearer /i.test(v)) {
        this.add(v.slice(7).trim());
      }
    }
    this.body(opts.payload);
  }

  fromResponse(res: LightMyRequestResponse): void {
    this.add(res.headers['x-subject-token']);
    if (String(res.headers['content-type'] ?? '').includes('json')) this.body(res.body);
  }

  foundIn(text: string): string[] {
    return [...this.values].filter((v) => text.includes(v));
  }
}

class RecordingTokenSigner extends TokenSigner {
  constructor(
    key: Buffer,
    private readonly known: KnownSecrets,
  ) {
    super(key);
  }

  override issue(claims: TokenClaims): string {
    const token = super.issue(claims);
    this.known.add(token);
    return token;
  }
}

/** The JSON body of a response. */
export function json(res: LightMyRequestResponse): unknown {
  return res.body === '' ? undefined : JSON.parse(res.body);
}
