import cluster, { type Worker } from 'node:cluster';
import type { ServeConfig } from './config.js';
import { createLogger, logDestination } from './logging.js';
import { reservePort } from './port-reservation.js';
import {
  announce,
  listeningUrl,
  prepareDatabase,
  type RunningServer,
  startServer,
} from './server.js';
import { parseDatabaseUrl, Store } from './store/database.js';

/**
 * `serve --workers N`: N processes serving one port through node:cluster, for the PostgreSQL
 * store (several processes share its connections' work; SQLite has one writer at a time). The
 * primary migrates and prepares the database once, forks the workers, prints the listening line
 * and what a start prints once, restarts a worker that dies, and drains them all on SIGTERM or
 * SIGINT. It serves no request itself.
 */

/** The port a replacement worker listens on, when the original one was 0 and all workers died. */
const WORKER_PORT_ENV = 'TAGPLANE_WORKER_PORT';

/** A worker that lived less than this is restarted after a growing delay, not at once. */
const STABLE_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

export interface RunningCluster {
  readonly url: string;
  /** Drains every worker (each finishes its in-flight requests); rejects if one fails to. */
  close(): Promise<void>;
  /** Ends every worker now, without draining. */
  kill(): void;
}

/** The configuration a worker serves with: the primary already migrated and seeded. */
export function workerConfig(config: ServeConfig, env: NodeJS.ProcessEnv): ServeConfig {
  const port = env[WORKER_PORT_ENV];
  const { seedFile: _seed, ...rest } = config;
  return Object.freeze({
    ...rest,
    migrate: false,
    demo: false,
    ...(port ? { port: Number(port) } : {}),
  });
}

/** Runs in a worker: serves until the primary (or a signal) stops it; prints nothing. */
export async function startWorker(config: ServeConfig): Promise<RunningServer> {
  return startServer(workerConfig(config, process.env));
}

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `code ${code}`;
}

export async function startCluster(
  config: ServeConfig,
  print: (line: string) => void,
): Promise<RunningCluster> {
  const logger = createLogger(config.logLevel, logDestination(config.logFormat));
  // A port that is taken fails the start before the database is touched; the workers bind it.
  const reservation = await reservePort(config.host, config.port);
  const location = parseDatabaseUrl(config.databaseUrl);
  let store: Store | undefined;
  let prepared: Awaited<ReturnType<typeof prepareDatabase>>;
  try {
    store = Store.open(location, { poolSize: 2 });
    prepared = await prepareDatabase(store, config, location);
  } catch (err) {
    await store?.close().catch(() => {});
    throw err;
  } finally {
    await reservation.release();
  }

  const listening = new Set<Worker>();
  const workers = new Set<Worker>();
  const startedAt = new Map<Worker, number>();
  /** The port each worker asked for: 0 or, for a replacement, the number 0 turned into. */
  const asked = new Map<Worker, number>();
  let port: number | undefined;
  let stopping = false;
  /** Each worker's place (0…N-1); a place whose workers keep dying young waits longer each time. */
  const slotOf = new Map<Worker, number>();
  const restartDelay = new Array<number>(config.workers).fill(0);
  const exits: { code: number | null; signal: string | null }[] = [];
  let allExited: (() => void) | undefined;

  const fork = (slot: number) => {
    // Workers asking for port 0 share the primary's handle for it, and so one port, while one of
    // them holds it; once none does, the handle is gone, and a replacement must ask for the port
    // by number (joining any other replacement that already did).
    const byNumber =
      config.port === 0 && port !== undefined && ![...listening].some((w) => asked.get(w) === 0);
    const worker = cluster.fork(byNumber ? { [WORKER_PORT_ENV]: String(port) } : {});
    workers.add(worker);
    startedAt.set(worker, Date.now());
    asked.set(worker, byNumber ? port! : config.port);
    slotOf.set(worker, slot);
    return worker;
  };

  const ready = new Promise<void>((resolve, reject) => {
    const onListening = (worker: Worker, address: { port: number }) => {
      listening.add(worker);
      port ??= address.port;
      if (listening.size === config.workers && !startedAll) {
        startedAll = true;
        resolve();
      }
    };
    let startedAll = false;
    cluster.on('listening', onListening);
    cluster.on('exit', (worker, code, signal) => {
      workers.delete(worker);
      listening.delete(worker);
      const lived = Date.now() - (startedAt.get(worker) ?? 0);
      startedAt.delete(worker);
      asked.delete(worker);
      const slot = slotOf.get(worker) ?? 0;
      slotOf.delete(worker);
      if (stopping) {
        exits.push({ code, signal });
        if (workers.size === 0) allExited?.();
        return;
      }
      if (!startedAll) {
        stopping = true;
        for (const w of workers) w.process.kill('SIGKILL');
        reject(
          new Error(
            `a worker exited (${describeExit(code, signal)}) before listening; see its messages above`,
          ),
        );
        return;
      }
      const delay =
        lived >= STABLE_MS
          ? 0
          : Math.min(MAX_RESTART_DELAY_MS, Math.max(500, restartDelay[slot]! * 2));
      restartDelay[slot] = delay;
      logger.error(
        { worker: worker.process.pid, exit: describeExit(code, signal), restartInMs: delay },
        'worker exited; starting another',
      );
      // Not unref'd: with every worker gone, this timer is what keeps the primary running.
      setTimeout(() => {
        if (!stopping) fork(slot);
      }, delay);
    });
  });

  for (let i = 0; i < config.workers; i++) fork(i);
  try {
    await ready;
    await announce(store, prepared, config.host, port!, print);
  } finally {
    await store.close().catch(() => {});
  }
  const url = listeningUrl(config.host, port!);
  logger.info(
    { url, database: location.kind, auth: config.auth, workers: config.workers },
    'started',
  );

  return {
    url,
    async close() {
      stopping = true;
      const done = new Promise<void>((resolve) => {
        allExited = resolve;
      });
      if (workers.size > 0) {
        for (const w of workers) w.process.kill('SIGTERM');
        await done;
      }
      logger.flush();
      const failed = exits.filter((e) => e.code !== 0);
      if (failed.length > 0) {
        throw new Error(
          `${failed.length} worker(s) did not drain cleanly (${failed.map((e) => describeExit(e.code, e.signal)).join(', ')})`,
        );
      }
    },
    kill() {
      stopping = true;
      for (const w of workers) w.process.kill('SIGKILL');
    },
  };
}
