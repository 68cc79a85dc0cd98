/**
 * The processes the write benchmark measures, each a child of its own (never the load
 * generator's process): starting them, finding their port, their memory, and stopping them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OUT = join(ROOT, 'bench', 'out');

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly url: string;
  /** Standard output lines so far. */
  readonly lines: string[];
  /** Milliseconds from spawn to the line (or answer) that said it was listening. */
  readonly startMs: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/** The environment without the outer shell's TAGPLANE_* variables, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAGPLANE_')) out[k] = v;
  return { ...out, ...env };
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => proc.once('exit', () => r()));
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await exited(proc);
  clearTimeout(timer);
}

const running = new Set<ChildProcess>();

/** Ends every child still running (on an error or Ctrl-C of the benchmark). */
export function killAll(): void {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

export interface SpawnOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  /** The URL from a standard output line, or undefined while not listening. */
  readonly listening?: (line: string) => string | undefined;
  /** Without a listening line: poll this URL until it answers. */
  readonly pollUrl?: string;
  readonly timeoutMs?: number;
}

/**
 * Spawns a server, its standard error (its log) going to bench/out/logs/<name>.log, and resolves
 * once it listens.
 */
export async function spawnServer(opts: SpawnOptions): Promise<Child> {
  const logFile = join(OUT, 'logs', `${opts.name}.log`);
  const log = createWriteStream(logFile);
  await new Promise((r) => log.once('open', r));
  const started = process.hrtime.bigint();
  const proc = spawn(opts.command, [...opts.args], {
    cwd: ROOT,
    env: cleanEnv(opts.env ?? {}),
    stdio: ['ignore', 'pipe', log],
  });
  running.add(proc);
  proc.once('exit', () => {
    running.delete(proc);
    log.end();
  });
  const lines: string[] = [];
  let partial = '';
  let url: string | undefined;
  let atListening = 0;
  const seen: (() => void)[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (url === undefined && opts.listening) {
        url = opts.listening(line);
        if (url !== undefined) atListening = Number(process.hrtime.bigint() - started) / 1e6;
      }
    }
    for (const f of seen.splice(0)) f();
  });
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const failure = (why: string) =>
    new Error(
      `${opts.name} ${why}; stdout:\n${lines.join('\n')}\nstderr: ${tail(logFile)} (${logFile})`,
    );
  if (opts.listening) {
    while (url === undefined) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw failure('exited');
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw failure(`did not listen within ${timeoutMs} ms`);
      }
      await new Promise<void>((r) => {
        seen.push(r);
        setTimeout(r, 50);
      });
    }
  } else {
    url = opts.pollUrl!;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw failure('exited');
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw failure(`did not answer within ${timeoutMs} ms`);
      }
      if (await answers(url)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    atListening = Number(process.hrtime.bigint() - started) / 1e6;
  }
  return {
    name: opts.name,
    proc,
    pid: proc.pid!,
    url: url!,
    lines,
    startMs: atListening,
    logFile,
    stop: () => stopProcess(proc),
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export const TAGPLANE_LISTENING = /^tagplane listening on (http:\/\/\S+)$/;

/** `node bin/tagplane.js serve --port 0 …` (the built CLI). */
/** With `--profile`: tagplane processes write V8 CPU profiles here, one folder per row. */
let profileDir: string | undefined;

export function profileTagplane(dir: string): void {
  profileDir = dir;
}

export function spawnTagplane(
  name: string,
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs?: number,
): Promise<Child> {
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : [];
  return spawnServer({
    name,
    command: process.execPath,
    args: [...profile, join(ROOT, 'bin', 'tagplane.js'), 'serve', '--port', '0', ...args],
    env,
    listening: (line) => TAGPLANE_LISTENING.exec(line)?.[1],
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

export function spawnCeiling(): Promise<Child> {
  return spawnServer({
    name: 'ceiling',
    command: process.execPath,
    args: [join(ROOT, 'bench', 'ceiling-server.mjs')],
    listening: (line) => /^ceiling listening on (http:\/\/\S+)$/.exec(line)?.[1],
  });
}

export const PRISM_ARGS = ['mock', '--host', '127.0.0.1', '--verboseLevel', 'error'] as const;

/**
 * `prism mock` on tagplane's OpenAPI document. Quiet (`--verboseLevel error`): Prism logs several
 * lines per request otherwise, which would only slow it down.
 */
export async function spawnPrism(openapiFile: string): Promise<Child> {
  const port = await freePort();
  return spawnServer({
    name: 'prism',
    command: process.execPath,
    args: [
      join(ROOT, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js'),
      ...PRISM_ARGS,
      '--port',
      String(port),
      openapiFile,
    ],
    pollUrl: `http://127.0.0.1:${port}/healthz`,
    timeoutMs: 120_000,
  });
}

// ---------------------------------------------------------------------------------------------
// Memory and CPU of a process and its descendants (a cluster primary and its workers)

/** The process and every descendant, from /proc. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    try {
      for (const tid of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/)) {
        if (tid) out.push(Number(tid));
      }
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = 100;

/** User + system CPU time of a process, in ms. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after the command.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * Samples the resident memory of a process tree every 100 ms and reads its CPU time. The peak is
 * the largest sum seen; for a single process, also its high-water mark (VmHWM, reset at the start
 * through /proc/<pid>/clear_refs), which catches a peak between two samples.
 */
export class ResourceMonitor {
  private peakKb = 0;
  private readonly peakByPid = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly cpuAtStart = new Map<number, number>();
  private readonly cpuSeen = new Map<number, number>();
  private hwmReset = false;

  constructor(private readonly pid: number) {
    const tree = processTree(pid);
    if (tree.length === 1) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        this.hwmReset = true;
      } catch {
        // Not permitted: sampling alone.
      }
    }
    for (const p of tree) this.cpuAtStart.set(p, cpuMs(p));
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  /** Counts CPU time from now on (the measured run after the warm-up). */
  restartCpu(): void {
    for (const p of processTree(this.pid)) this.cpuAtStart.set(p, cpuMs(p));
  }

  private sample(): void {
    let sum = 0;
    for (const p of processTree(this.pid)) {
      const kb = statusKb(p, 'VmRSS');
      sum += kb;
      this.peakByPid.set(p, Math.max(this.peakByPid.get(p) ?? 0, kb));
      this.cpuSeen.set(p, cpuMs(p));
    }
    this.peakKb = Math.max(this.peakKb, sum);
  }

  /**
   * Stops sampling; peak RSS in MB (of all processes together, and of the largest one) and CPU
   * time used since the start, in ms.
   */
  finish(): { peakRssMb: number; largestProcessMb: number; processes: number; cpuMs: number } {
    this.sample();
    clearInterval(this.timer);
    let peak = this.peakKb;
    if (this.hwmReset && processTree(this.pid).length === 1) {
      peak = Math.max(peak, statusKb(this.pid, 'VmHWM'));
    }
    let cpu = 0;
    for (const [p, now] of this.cpuSeen) cpu += now - (this.cpuAtStart.get(p) ?? 0);
    const largest = Math.max(0, ...this.peakByPid.values());
    return {
      peakRssMb: peak / 1024,
      largestProcessMb: (this.peakByPid.size === 1 ? peak : largest) / 1024,
      processes: this.peakByPid.size,
      cpuMs: cpu,
    };
  }
}

/** Busy and total CPU time of the whole machine so far (all cores), in ms, from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: ((total - idle) * 1000) / CLOCK_TICKS, total: (total * 1000) / CLOCK_TICKS };
  } catch {
    return { busy: 0, total: 0 };
  }
}
