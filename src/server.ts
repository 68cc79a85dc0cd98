import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { createDemo, type DemoData } from './admin/demo.js';
import { applySeed } from './admin/seed.js';
import { SeedError } from './admin/seed-document.js';
import { buildApp } from './app.js';
import { signRequest } from './auth/aksk-signature.js';
import {
  KEY_CHECK_SETTING,
  KEY_CHECK_TEXT,
  loadMasterKey,
  opensKeyCheck,
} from './auth/master-key.js';
import { SecretBox } from './auth/secret-box.js';
import { TokenSigner } from './auth/tokens.js';
import type { ServeConfig } from './config.js';
import { sha256Hex } from './core/hash.js';
import { readSeedDocument } from './http/seed-schema.js';
import { createLogger, logDestination } from './logging.js';
import { ListenError, listenErrorMessage, reservePort } from './port-reservation.js';
import { type DatabaseLocation, parseDatabaseUrl, Store } from './store/database.js';
import { findAccessKey } from './store/identity-store.js';
import { ensureSetting, getSetting, setSetting } from './store/settings-store.js';

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  close(): Promise<void>;
}

/** Where the demo lives, kept so later starts can print a fresh example call. */
interface DemoPointer {
  projectId: string;
  bmsServerId: string;
  accessKey: string;
}

/**
 * Secrets sealed under one master key cannot be opened with another: refuse to start rather than
 * fail every signed request later.
 */
async function checkMasterKey(store: Store, secrets: SecretBox, source: string): Promise<void> {
  const { value } = await ensureSetting(store.db, KEY_CHECK_SETTING, () =>
    secrets.seal(KEY_CHECK_TEXT),
  );
  if (!opensKeyCheck(secrets, value)) {
    throw new Error(
      `the master key (${source}) is not the one this database's secrets were encrypted with: pass the original key with --master-key-file FILE or TAGPLANE_MASTER_KEY`,
    );
  }
}

function exampleHost(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function signedExample(hostPort: string, demo: DemoPointer, secretKey: string): string {
  const path = `/v1/${demo.projectId}/baremetalservers/${demo.bmsServerId}/tags/action`;
  const body = '{"action":"create","tags":[{"key":"owner","value":"alice"}]}';
  const { authorization, date } = signRequest(
    {
      method: 'POST',
      rawPath: path,
      rawQuery: '',
      headers: { 'content-type': 'application/json', host: hostPort },
      body: Buffer.from(body),
    },
    demo.accessKey,
    secretKey,
  );
  return [
    `curl -i -X POST ${shellQuote(`http://${hostPort}${path}`)} \\`,
    `  -H 'Content-Type: application/json' -H ${shellQuote(`X-Sdk-Date: ${date}`)} \\`,
    `  -H ${shellQuote(`Authorization: ${authorization}`)} \\`,
    `  -d ${shellQuote(body)}`,
  ].join('\n');
}

function tokenExample(hostPort: string, demo: DemoData): string {
  const body = JSON.stringify({
    auth: {
      identity: {
        methods: ['password'],
        password: {
          user: { name: demo.userName, password: demo.password, domain: { name: demo.domainName } },
        },
      },
      scope: { project: { id: demo.projectId } },
    },
  });
  return [
    `TOKEN=$(curl -si -X POST http://${hostPort}/v3/auth/tokens -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(body)} | awk 'tolower($1)=="x-subject-token:"{print $2}' | tr -d '\\r')`,
    `curl -s http://${hostPort}/v1/${demo.projectId}/baremetalservers/${demo.bmsServerId}/tags -H "X-Auth-Token: $TOKEN"`,
  ].join('\n');
}

/** What a start leaves ready in the database before any process listens. */
export interface Prepared {
  readonly secrets: SecretBox;
  readonly tokens: TokenSigner;
  readonly adminTokenHash: string;
  readonly masterSource: string;
  /** Lines to print after the listening line (admin token, seed summary). */
  readonly later: readonly string[];
  /** The demo data created by this start, whose credentials are shown only now. */
  readonly demo?: DemoData;
}

/**
 * Migrates the database (or checks its schema), checks the master key, and creates what a first
 * start creates: the token signing key, a generated admin token, the demo data; then loads the
 * seed file. A start with several workers runs this once, in the primary, before forking.
 */
export async function prepareDatabase(
  store: Store,
  config: ServeConfig,
  location: DatabaseLocation,
): Promise<Prepared> {
  const later: string[] = [];
  let fresh = false;
  if (config.migrate) {
    ({ fresh } = await store.migrate());
  } else {
    await store.requireCurrentSchema();
  }
  // A new key only for a database whose secrets were never sealed: a restored copy needs the
  // key it was sealed with, and a new one would only make the start fail below.
  const sealed = await getSetting(store.db, KEY_CHECK_SETTING);
  const master = loadMasterKey(location, config.masterKey, {
    ...(config.masterKeyFile !== undefined ? { file: config.masterKeyFile } : {}),
    create: sealed === undefined,
  });
  const secrets = new SecretBox(master.key);
  await checkMasterKey(store, secrets, master.source);

  const tokenKey = await ensureSetting(store.db, 'token_signing_key', () =>
    secrets.seal(randomBytes(32).toString('base64')),
  );
  const tokens = new TokenSigner(Buffer.from(secrets.open(tokenKey.value), 'base64'));

  let adminTokenHash: string;
  if (config.adminToken !== undefined) {
    adminTokenHash = sha256Hex(config.adminToken);
  } else {
    const candidate = randomBytes(24).toString('base64url');
    const stored = await ensureSetting(store.db, 'admin_token_sha256', () => sha256Hex(candidate));
    adminTokenHash = stored.value;
    if (stored.created) later.push(`admin token: ${candidate}`);
    else later.push('admin token: (generated on first start; set one with --admin-token)');
  }

  let demo: DemoData | undefined;
  if (fresh && config.demo) {
    demo = await createDemo(store, secrets);
    const pointer: DemoPointer = {
      projectId: demo.projectId,
      bmsServerId: demo.bmsServerId,
      accessKey: demo.accessKey,
    };
    await setSetting(store.db, 'demo', JSON.stringify(pointer));
  }

  if (config.seedFile !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(config.seedFile, 'utf8'));
    } catch (err) {
      throw new SeedError(`cannot read seed file ${config.seedFile}: ${(err as Error).message}`);
    }
    const { ids } = await applySeed(store, secrets, readSeedDocument(doc));
    later.push(
      `seed ${config.seedFile}: ${ids.domains.length} domains, ${ids.projects.length} projects, ${ids.users.length} users, ${ids.resources.length} resources`,
    );
  }
  return {
    secrets,
    tokens,
    adminTokenHash,
    masterSource: master.source,
    later,
    ...(demo ? { demo } : {}),
  };
}

/** `http://host:port` as the listening line shows it. */
export function listeningUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Prints the listening line, then the lines the start prepared, the demo credentials and the
 * example calls.
 */
export async function announce(
  store: Store,
  prepared: Prepared,
  host: string,
  port: number,
  print: (line: string) => void,
): Promise<void> {
  print(`tagplane listening on ${listeningUrl(host, port)}`);
  for (const line of prepared.later) print(line);

  const hostPort = exampleHost(host, port);
  const { demo, secrets } = prepared;
  const pointerText = await getSetting(store.db, 'demo');
  if (demo) {
    print(
      `demo: domain '${demo.domainName}', project '${demo.projectName}' (id ${demo.projectId})`,
    );
    print(`demo: root user '${demo.userName}', password ${demo.password}`);
    print(`demo: access key ${demo.accessKey}, secret key ${demo.secretKey}`);
    print('demo: these credentials are shown only now.');
  }
  if (pointerText) {
    const pointer = JSON.parse(pointerText) as DemoPointer;
    const key = await findAccessKey(store.db, pointer.accessKey);
    if (key) {
      print('example: tag the demo BMS, signed with the demo access key (valid for 15 minutes):');
      print(signedExample(hostPort, pointer, secrets.open(key.secretCiphertext)));
      if (demo) {
        print('example: get a token with the demo password, then list the tags:');
        print(tokenExample(hostPort, demo));
      }
    }
  }
}

/**
 * Opens the database, migrates it, prepares keys and data, and listens. `print` receives the
 * lines for standard output; the first is always the listening line. A worker of a cluster
 * (`--workers`) passes no `print`: the primary prepared the database and speaks for it.
 */
export async function startServer(
  config: ServeConfig,
  print?: (line: string) => void,
): Promise<RunningServer> {
  const logger = createLogger(config.logLevel, logDestination(config.logFormat));

  // The port first: a start that cannot listen creates nothing (no database, key or demo whose
  // credentials it would never print).
  const reservation = await reservePort(config.host, config.port);
  const location = parseDatabaseUrl(config.databaseUrl);
  let store: Store | undefined;
  try {
    store = Store.open(location, {
      poolSize: config.pgPoolSize,
      busyTimeoutMs: config.sqliteBusyTimeoutMs,
      queryTimeoutMs: config.queryTimeoutMs,
      readThreads: config.readThreads,
    });
    const prepared = await prepareDatabase(store, config, location);
    const app = await buildApp(
      {
        auth: config.auth,
        loginLockout: config.loginLockout,
        akskLockout: config.akskLockout,
        eventRetentionDays: config.eventRetentionDays,
        rateLimit: config.rateLimit,
        requestLog: config.requestLog,
        connections: {
          idleTimeoutMs: config.idleTimeoutMs,
          requestTimeoutMs: config.requestTimeoutMs,
        },
      },
      {
        store,
        secrets: prepared.secrets,
        tokens: prepared.tokens,
        adminTokenHash: prepared.adminTokenHash,
        logger,
      },
    );
    await reservation.release();
    try {
      await app.listen({ host: config.host, port: reservation.port });
    } catch (err) {
      await app.close();
      throw new ListenError(
        listenErrorMessage(err as NodeJS.ErrnoException, config.host, reservation.port),
      );
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = listeningUrl(config.host, port);
    // Logged before the announcement, whose store reads a prompt SIGTERM may cut short.
    logger.info(
      { url, database: location.kind, auth: config.auth, masterKey: prepared.masterSource },
      'started',
    );
    if (print) await announce(store, prepared, config.host, port, print);

    const opened = store;
    return {
      url,
      app,
      store: opened,
      async close() {
        await app.close();
        await opened.close();
        logger.flush();
      },
    };
  } catch (err) {
    await reservation.release();
    await store?.close().catch(() => {});
    throw err;
  }
}
