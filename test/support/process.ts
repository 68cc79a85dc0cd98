import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Answer } from './envelopes.js';
import type { RouteRequest } from './routes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'tagplane.js');

/** The first line a server prints on standard output. */
export const LISTENING = /^tagplane listening on http:\/\/(\S+):(\d+)$/;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `tagplane` process and what it has printed so far. */
export interface ServerProcess {
  readonly proc: ChildProcess;
  /** `http://host:port` from the listening line. */
  readonly url: string;
  readonly port: number;
  /** Standard output, line by line, the listening line first. */
  readonly lines: string[];
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Resolves with the first stdout line matching `re` (waiting for it to be printed). */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
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

/** The environment without any TAGPLANE_* variable of the outer shell, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAGPLANE_')) out[k] = v;
  return { ...out, ...env };
}

function spawnCli(args: string[], env: Record<string, string>, cwd?: string): ChildProcess {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: cwd ?? ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  return proc;
}

/** Runs the CLI to completion (for commands that are expected to exit). */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<Exit & { stdout: string; stderr: string }> {
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
  const exit = await new Promise<Exit>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal })),
  );
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
): Promise<(Exit & { stdout: string; stderr: string })[]> {
  const results: (Exit & { stdout: string; stderr: string })[] = new Array(cases.length);
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
 * must be the first line on stdout).
 */
export async function startServer(
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  const proc = spawnCli(['serve', ...args], env, options.cwd);
  const lines: string[] = [];
  let out = '';
  let err = '';
  let partial = '';
  const waiters: (() => void)[] = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    out += text;
    partial += text;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    notify();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<Exit>((resolve) =>
    proc.once('close', (code, signal) => {
      resolve({ code, signal });
      notify();
    }),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });

  const line = (re: RegExp, timeoutMs = options.timeoutMs ?? 20_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `no line matching ${re} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`,
          ),
        );
      }, timeoutMs);
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

  await line(/./);
  const first = lines[0]!;
  const m = LISTENING.exec(first);
  if (!m) throw new Error(`first stdout line is not the listening line: ${JSON.stringify(first)}`);
  return {
    proc,
    url: `http://${m[1]}:${m[2]}`,
    port: Number(m[2]),
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    line,
    async stop(signal = 'SIGTERM') {
      if (!done) proc.kill(signal);
      return exited;
    },
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
