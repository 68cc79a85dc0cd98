import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, LISTENING, tempDir } from '../support/process.js';

/**
 * The package as a user gets it: `npm pack`, installed with `npm install -g` into a prefix of its
 * own, with no TypeScript build at install time. Packed and installed once for the file.
 *
 * The install runs offline from npm's cache (which `npm ci` filled), with install scripts off:
 * the one dependency with an install script, better-sqlite3, would download or compile its
 * native binding there, which a test cannot; the same version's binding is copied from this
 * project instead (the shipped npm-shrinkwrap.json pins the version).
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (await import('../../package.json', { with: { type: 'json' } })).default.version;

let work: ReturnType<typeof tempDir>;
let prefix: string;
let installed: string;
let bin: string;
let noBinding: string;

beforeAll(async () => {
  work = tempDir();
  prefix = join(work.dir, 'prefix');
  const npm = (args: string[]) =>
    run('npm', args, { cwd: ROOT, env: { ...process.env, npm_config_update_notifier: 'false' } });
  await npm(['pack', '--silent', '--pack-destination', work.dir]);
  const tarball = readdirSync(work.dir).find((f) => f.endsWith('.tgz'))!;
  await npm([
    'install',
    '--global',
    '--prefix',
    prefix,
    '--prefer-offline',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    join(work.dir, tarball),
  ]);
  installed = join(prefix, 'lib', 'node_modules', 'tagplane');
  bin = join(prefix, 'bin', 'tagplane');
  // What a user sees whose npm skipped the driver's install script.
  noBinding = await run(bin, ['serve', '--port', '0', '--database', 'sqlite::memory:']).then(
    () => 'started',
    (err: { stderr: string }) => err.stderr,
  );
  const binding = join('node_modules', 'better-sqlite3', 'build', 'Release');
  mkdirSync(join(installed, binding), { recursive: true });
  copyFileSync(
    join(ROOT, binding, 'better_sqlite3.node'),
    join(installed, binding, 'better_sqlite3.node'),
  );
}, 240_000);

afterAll(async () => {
  await killAll();
  work.remove();
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
    const first = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      child.once('exit', () => reject(new Error(`serve exited; stdout: ${out}`)));
    });
    const m = LISTENING.exec(first)!;
    expect(m).not.toBeNull();
    const home = await fetch(`http://${m[1]}:${m[2]}/`, {
      headers: { accept: 'application/json' },
    });
    expect(((await home.json()) as { version: string }).version).toBe(VERSION);
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
