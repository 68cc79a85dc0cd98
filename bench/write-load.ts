/**
 * Drives one server with autocannon: a warm-up, then the measured run, every request taken in
 * turn from a pool built beforehand (so the load generator does the same, small, work per
 * request for every server, and signing is not done while measuring).
 */
import http from 'node:http';
import autocannon from 'autocannon';
import { cpuMs, machineCpuMs, ResourceMonitor } from './write-processes.js';

export interface RequestSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export interface LoadOptions {
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
}

export interface LoadResult {
  /** Answers with the expected status in the measured run. */
  readonly ok: number;
  /** Other answers, by status, and connection errors and timeouts. */
  readonly unexpected: Record<string, number>;
  readonly errors: number;
  readonly durationS: number;
  readonly rps: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** The server's peak resident memory (all its processes) over warm-up and run. */
  readonly peakRssMb: number;
  /** With several processes (a cluster): the peak of the largest one, and how many there were. */
  readonly largestProcessMb: number;
  readonly processes: number;
  /** The server's CPU time over the measured run, as a share of one core. */
  readonly serverCpu: number;
  /** The server's CPU time per answered request, ms: less sensitive to a busy machine. */
  readonly serverCpuPerRequestMs: number;
  /** The load generator's (this process's) CPU over the measured run, as a share of one core. */
  readonly clientCpu: number;
  /** The database server's processes serving this server (PostgreSQL), likewise. */
  readonly databaseCpu?: number;
  /** Everything else the machine ran meanwhile (other work on a shared machine), likewise. */
  readonly otherCpu: number;
}

/** Sends one request of the pool the plain way; returns the status and body. */
export function sendOnce(
  baseUrl: string,
  spec: RequestSpec,
): Promise<{ status: number; body: string }> {
  const url = new URL(spec.path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        method: spec.method,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        headers: {
          ...spec.headers,
          ...(spec.body !== undefined ? { 'content-length': Buffer.byteLength(spec.body) } : {}),
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(spec.body);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

/**
 * Runs autocannon against `baseUrl` with the requests of `pool`, in turn across all connections
 * (request n goes out as pool[n % pool.length]); `expected` is the status every answer should
 * have. `serverPid` is the process (tree) whose memory and CPU are sampled.
 */
export async function drive(
  baseUrl: string,
  pool: readonly RequestSpec[],
  expected: number,
  serverPid: number,
  opts: LoadOptions,
  /** The database server processes serving it, when they run on this machine (PostgreSQL). */
  databasePids?: () => Promise<number[]>,
): Promise<LoadResult> {
  if (pool.length === 0) throw new Error('empty request pool');
  const first = await sendOnce(baseUrl, pool[0]!);
  if (first.status !== expected) {
    throw new Error(
      `${pool[0]!.method} ${pool[0]!.path} answered ${first.status}, not ${expected}: ${first.body.slice(0, 500)}`,
    );
  }

  let next = 1;
  const setupRequest = (req: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string | Buffer;
  }) => {
    const spec = pool[next++ % pool.length]!;
    req.method = spec.method;
    req.path = spec.path;
    req.headers = spec.headers;
    req.body = spec.body ?? '';
    return req;
  };
  const run = (durationS: number) =>
    autocannon({
      url: baseUrl,
      connections: opts.connections,
      duration: durationS,
      timeout: 30,
      requests: [{ setupRequest }],
    });

  const monitor = new ResourceMonitor(serverPid);
  if (opts.warmupS > 0) await run(opts.warmupS);

  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let ok = 0;
  const unexpected: Record<string, number> = {};
  const dbPids = databasePids ? await databasePids() : [];
  const dbBefore = dbPids.map(cpuMs);
  monitor.restartCpu();
  const instance = run(opts.durationS);
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineCpuMs();
  const wallBefore = process.hrtime.bigint();
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === expected) {
      ok++;
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = ms;
    } else {
      unexpected[status] = (unexpected[status] ?? 0) + 1;
    }
  });
  const result = await instance;
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineCpuMs();
  const wallMs = Number(process.hrtime.bigint() - wallBefore) / 1e6;
  const server = monitor.finish();
  const dbMs = dbPids.reduce((sum, pid, i) => sum + Math.max(0, cpuMs(pid) - dbBefore[i]!), 0);
  const clientMs = (cpu.user + cpu.system) / 1000;
  const machineBusy = machineAfter.busy - machineBefore.busy;

  const sorted = latencies.subarray(0, count).sort();
  const durationS = result.duration > 0 ? result.duration : opts.durationS;
  return {
    ok,
    unexpected,
    errors: result.errors,
    durationS,
    rps: ok / durationS,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: count > 0 ? sorted[count - 1]! : Number.NaN,
    peakRssMb: server.peakRssMb,
    largestProcessMb: server.largestProcessMb,
    processes: server.processes,
    serverCpu: server.cpuMs / wallMs,
    serverCpuPerRequestMs: ok > 0 ? server.cpuMs / ok : Number.NaN,
    clientCpu: clientMs / wallMs,
    ...(databasePids ? { databaseCpu: dbMs / wallMs } : {}),
    otherCpu: Math.max(0, machineBusy - server.cpuMs - clientMs - dbMs) / wallMs,
  };
}
