import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Answer } from './envelopes.js';
import type { RouteRequest } from './routes.js';

/**
 * The one way tests run `tagplane` as a process: the built CLI (the Vitest global setup builds
 * dist/ once per run), started with exactly the arguments given, in an environment without the
 * outer shell's TAGPLANE_* variables. test/support/nodes.ts builds the multi-node helpers on it.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'tagplane.js');

/** The first line a server prints on standard output. */
export const LISTENING = /^tagplane listening on http:\/\/(\S+):(\d+)$/;

/** How long a server may take to print its listening line, or any line waited for. */
const START_TIMEOUT_MS = 30_000;
/** How long `stop()` waits after its signal before it kills the process. */
const STOP_GRACE_MS = 10_000;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A command run to completion. */
export interface CliResult extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `tagplane serve` process and what it has printed so far. */
export interface ServerProcess {
  readonly child: ChildProcess;
  /** `http://host:port` from the listening line. */
  readonly url: string;
  readonly port: number;
  /** Standard output, line by line, the listening line first. */
  readonly lines: string[];
  stdout(): string;
  /** Standard error so far (the logs). */
  stderr(): string;
  /** Resolves once the process has exited and all its output is read. */
  readonly exited: Promise<Exit>;
  /** Resolves with the first stdout line matching `re` (waiting for it to be printed). */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  /**
   * Sends `signal` (SIGTERM: an orderly shutdown) and waits for the exit; kills the process if it
   * is still running after 10 s.
   */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
  /** Ends it with SIGKILL: no shutdown, no flushing. */
  kill(): Promise<Exit>;
}

const running = new Set<ChildProcess>();

/** Kills whatever a test left running; call from afterEach/afterAll. */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const p of running) {
    if (p.exitCode === null && p.signalCode === null) {
      waits.push(new Promise((r) => p.once('exit', r)));
      p.kill('SIGKILL');
    }
  }
  running.clear();
  await Promise.all(waits);
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tagplane-proc-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Resolves once `predicate` holds (checked every 20 ms); rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The environment without any TAGPLANE_* variable of the outer shell, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAGPLANE_')) out[k] = v;
  return { ...out, ...env };
}

function spawnCli(args: readonly string[], env: Record<string, string>): ChildProcess {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  return proc;
}

/**
 * Runs the CLI to completion (for commands that are expected to exit); kills it after
 * `timeoutMs`, so that a command that hangs fails its test instead of outliving it.
 */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  const proc = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const exit = await new Promise<Exit>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}

/**
 * Runs several command lines, at most `concurrency` at a time: each is a Node.js process of its
 * own, and starting many at once on a busy machine can exceed the per-process time-out.
 */
export async function runClis(
  cases: readonly (readonly [string[], Record<string, string>])[],
  concurrency = 4,
): Promise<CliResult[]> {
  const results: CliResult[] = new Array(cases.length);
  let next = 0;
  const lane = async () => {
    while (next < cases.length) {
      const i = next++;
      const [args, env] = cases[i]!;
      results[i] = await runCli(args, env);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, lane));
  return results;
}

/**
 * Starts `tagplane serve` with `args` and resolves once it has printed its listening line (which
 * must be the first line on stdout). Rejects, with all it printed, if it exits or stays silent
 * for `timeoutMs` instead.
 */
export async function startServer(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const timeoutMs = options.timeoutMs ?? START_TIMEOUT_MS;
  const child = spawnCli(['serve', ...args], env);
  const lines: string[] = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters: (() => void)[] = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    out += text;
    partial += text;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    notify();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let done = false;
  const exited = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
      notify();
    }),
  );

  const line = (re: RegExp, wait = timeoutMs) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`no line matching ${re} within ${wait} ms; stdout:\n${out}\nstderr:\n${err}`),
        );
      }, wait);
      const check = () => {
        const found = lines.find((l) => re.test(l));
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else if (done) {
          clearTimeout(timer);
          reject(
            new Error(`the server exited before printing ${re}; stdout:\n${out}\nstderr:\n${err}`),
          );
        } else {
          waiters.push(check);
        }
      };
      check();
    });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (done) return exited;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  };

  try {
    await line(/./);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const first = lines[0]!;
  const m = LISTENING.exec(first);
  if (!m) {
    child.kill('SIGKILL');
    throw new Error(`first stdout line is not the listening line: ${JSON.stringify(first)}`);
  }
  return {
    child,
    url: `http://${m[1]}:${m[2]}`,
    port: Number(m[2]),
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    line,
    stop,
    kill: () => stop('SIGKILL'),
  };
}

/** Sends a request over a real connection; `host` defaults to the URL's. */
export function send(baseUrl: string, req: RouteRequest): Promise<Answer> {
  const url = new URL(req.url, baseUrl);
  return new Promise((resolve, reject) => {
    const body = req.payload === undefined ? undefined : Buffer.from(req.payload);
    const r = http.request(
      {
        method: req.method,
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        headers: {
          host: url.host,
          ...req.headers,
          ...(body ? { 'content-length': String(body.length) } : {}),
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            statusCode: res.statusCode ?? 0,
            headers: res.headers as Answer['headers'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}
