import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, LISTENING, tempDir } from '../support/process.js';

/**
 * The package as a user gets it: `npm pack`, then installed with `npm install -g` into a prefix
 * of its own, run with `npx` without installing, and installed into a project of its own beside
 * Jest, whose example (examples/jest) runs there as a user's test would. No TypeScript build at
 * install time. Packed once for the file.
 *
 * Install scripts are off: the one dependency with an install script, better-sqlite3, would
 * download or compile its native binding there, which a test cannot; the same version's binding
 * is copied from this project instead (the shipped npm-shrinkwrap.json pins the version). The
 * global install runs offline from npm's cache (which `npm ci` filled); npx and the Jest project
 * take what is not cached from the npm registry.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (await import('../../package.json', { with: { type: 'json' } })).default.version;
const BINDING = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
const NPM_ENV = { ...process.env, npm_config_update_notifier: 'false' };

let work: ReturnType<typeof tempDir>;
let tarball: string;
let prefix: string;
let installed: string;
let bin: string;
let noBinding: string;

/** Gives the package installed at `dir` this project's SQLite binding (see above). */
function copyBinding(dir: string): void {
  mkdirSync(join(dir, BINDING, '..'), { recursive: true });
  copyFileSync(join(ROOT, BINDING), join(dir, BINDING));
}

/** Resolves with the first line `child` prints on standard output. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', () => reject(new Error(`serve exited; stdout: ${out}`)));
  });
}

/** What `GET /` of the server that printed `listening` says its version is. */
async function servedVersion(listening: string): Promise<string> {
  const m = LISTENING.exec(listening);
  expect(m, listening).not.toBeNull();
  const home = await fetch(`http://${m![1]}:${m![2]}/`, {
    headers: { accept: 'application/json' },
  });
  return ((await home.json()) as { version: string }).version;
}

/** `npx` running the packed package, with a cache of its own (see the npx tests). */
const npxArgs = (args: string[]) => [
  '--yes',
  '--cache',
  join(work.dir, 'npx-cache'),
  '--ignore-scripts',
  `--package=${tarball}`,
  'tagplane',
  ...args,
];
let npxVersion: string;
let jestProject: string;

/** `npm install -g` into a prefix of its own, offline from npm's cache. */
async function installGlobally(): Promise<void> {
  prefix = join(work.dir, 'prefix');
  await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      tarball,
    ],
    { cwd: work.dir, env: NPM_ENV },
  );
  installed = join(prefix, 'lib', 'node_modules', 'tagplane');
  bin = join(prefix, 'bin', 'tagplane');
  // What a user sees whose npm skipped the driver's install script.
  noBinding = await run(bin, ['serve', '--port', '0', '--database', 'sqlite::memory:']).then(
    () => 'started',
    (err: { stderr: string }) => err.stderr,
  );
  copyBinding(installed);
}

/**
 * The first `npx` run installs the package and its dependencies into its cache, as on a machine
 * that never ran it (and leaves nothing in the user's cache); later runs reuse that install.
 */
async function firstNpxRun(): Promise<void> {
  npxVersion = (await run('npx', npxArgs(['--version']), { cwd: work.dir, env: NPM_ENV })).stdout;
  const npxDir = join(work.dir, 'npx-cache', '_npx');
  copyBinding(join(npxDir, readdirSync(npxDir)[0]!));
}

/** What a user does: tagplane and Jest as development dependencies of their own project. */
async function installJestProject(): Promise<void> {
  jestProject = join(work.dir, 'jest-project');
  mkdirSync(jestProject);
  writeFileSync(
    join(jestProject, 'package.json'),
    JSON.stringify({ name: 'tagged-app', private: true, type: 'module' }),
  );
  await run(
    'npm',
    [
      'install',
      '--save-dev',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      tarball,
      'jest@30',
    ],
    { cwd: jestProject, env: NPM_ENV },
  );
  copyBinding(jestProject);
  copyFileSync(join(ROOT, 'examples', 'jest', 'tags.test.mjs'), join(jestProject, 'tags.test.mjs'));
}

beforeAll(async () => {
  work = tempDir();
  await run('npm', ['pack', '--silent', '--pack-destination', work.dir], {
    cwd: ROOT,
    env: NPM_ENV,
  });
  tarball = join(work.dir, readdirSync(work.dir).find((f) => f.endsWith('.tgz'))!);
  // The installs wait mostly on the network and the disk: all three at once.
  await Promise.all([installGlobally(), firstNpxRun(), installJestProject()]);
}, 300_000);

afterAll(async () => {
  await killAll();
  // Three installs are some 30,000 files, whose removal waits on the disk far longer than it
  // takes the processor: it goes on in the background while other tests run.
  spawn('rm', ['-rf', work.dir], { detached: true, stdio: 'ignore' }).unref();
});

describe('the installed package', () => {
  it('holds the build and its types, no sources, and installed no build tools', () => {
    expect(existsSync(join(installed, 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(join(installed, 'dist', 'index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(installed, 'test'))).toBe(false);
    for (const tool of ['typescript', 'vitest', '@biomejs/biome', 'tsx']) {
      expect(existsSync(join(installed, 'node_modules', tool)), tool).toBe(false);
    }
  });

  it("without the SQLite driver's native binding, says how to install it", () => {
    expect(noBinding).toMatch(
      /^tagplane: the SQLite driver \(better-sqlite3\) has no native binding: .*--allow-scripts=better-sqlite3/,
    );
  });

  it('`tagplane --version` prints the version; `tagplane serve` serves it on GET /', async () => {
    const { stdout } = await run(bin, ['--version']);
    expect(stdout).toBe(`${VERSION}\n`);

    const child = spawn(bin, ['serve', '--port', '0', '--database', 'sqlite::memory:'], {
      cwd: work.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(await servedVersion(await firstLine(child))).toBe(VERSION);
    child.kill('SIGTERM');
  });

  it('an ES module imports startTagplane from it: two instances, seeded, reset and closed', async () => {
    // Beside the global node_modules, so that `import 'tagplane'` resolves to the install.
    const script = join(prefix, 'lib', 'check.mjs');
    writeFileSync(
      script,
      `import { startTagplane } from 'tagplane';
const doc = {
  domains: [{ id: 'd-1', name: 'acme' }],
  projects: [{ id: 'p-1', name: 'eu-de', domain_id: 'd-1' }],
  resources: [{ project_id: 'p-1', type: 'bms_server', id: 'srv-1', name: 'web-1' }],
};
// After a reset the project is gone too (404): nothing listed.
const list = (t) =>
  t.request('GET', '/admin/v1/projects/p-1/resources').then(
    (answer) => answer.resources.length,
    (err) => (err.status === 404 ? 0 : Promise.reject(err)),
  );
const [a, b] = await Promise.all([startTagplane(), startTagplane()]);
await a.seed(doc);
await b.seed(doc);
const seeded = [await list(a), await list(b)];
await a.reset();
const afterReset = [await list(a), await list(b)];
await Promise.all([a.close(), b.close()]);
console.log(JSON.stringify({ distinct: a.url !== b.url, seeded, afterReset }));
`,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: work.dir });
    expect(JSON.parse(stdout)).toEqual({ distinct: true, seeded: [1, 1], afterReset: [0, 1] });
  });
});

describe('run with npx, without installing', () => {
  let group: number | undefined;
  /** Signals the process group of the `npx … serve` run, if any of it is still running. */
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (group !== undefined) process.kill(-group, signal);
    } catch {
      // ESRCH: every process of the group has exited.
    }
  };
  afterAll(() => signalGroup('SIGKILL'));

  it('`npx --package=<tarball> tagplane --version` prints the version', () => {
    expect(npxVersion).toBe(`${VERSION}\n`);
  });

  it('`npx --package=<tarball> tagplane serve` serves it on GET /', async () => {
    const child = spawn('npx', npxArgs(['serve', '--port', '0', '--database', 'sqlite::memory:']), {
      cwd: work.dir,
      env: NPM_ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
      // npx runs the command in a process of its own: a group, to stop both.
      detached: true,
    });
    group = child.pid;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      expect(await servedVersion(await firstLine(child))).toBe(VERSION);
    } finally {
      signalGroup('SIGTERM');
      await exited;
    }
  }, 60_000);
});

describe('in a project of its own, with Jest', () => {
  it('the Jest example (examples/jest) passes, run as its comment says', async () => {
    const { stdout } = await run('npx', ['jest', '--json'], {
      cwd: jestProject,
      env: { ...NPM_ENV, NODE_OPTIONS: '--experimental-vm-modules' },
      // Jest waits for whatever a test leaves open: a handle close() did not free would hang it.
      timeout: 100_000,
    }).catch((err: { stderr: string; killed?: boolean }) => {
      throw new Error(`jest ${err.killed ? 'did not exit' : 'failed'}:\n${err.stderr}`);
    });
    const report = JSON.parse(stdout) as {
      success: boolean;
      numTotalTests: number;
      numPassedTests: number;
      testResults: { name: string }[];
    };
    expect(report.testResults.map((r) => r.name)).toEqual([join(jestProject, 'tags.test.mjs')]);
    expect(report.numTotalTests).toBeGreaterThan(0);
    expect(report.numPassedTests).toBe(report.numTotalTests);
    expect(report.success).toBe(true);
  }, 120_000);
});
