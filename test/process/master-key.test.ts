import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, runCli, startServer, tempDir } from '../support/process.js';

/**
 * A SQLite database restored from an export, and the master key its secrets are sealed under:
 * import is told which key (or finds the one beside the target and checks it), never takes a
 * stray key, carries the key beside a new database, and leaves nothing behind when it fails.
 */

const work = tempDir();
const at = (...parts: string[]) => join(work.dir, ...parts);
const sqlite = (...parts: string[]) => `sqlite:${at(...parts)}`;
let dump: string;
let keyA: string;

beforeAll(async () => {
  // Database A with its demo (an access key sealed under A's key), exported.
  const a = await startServer(['--port', '0', '--database', sqlite('a', 'tags.db')]);
  await a.line(/^example: get a token/);
  expect(await a.stop()).toEqual({ code: 0, signal: null });
  keyA = at('a', 'master.key');
  dump = at('a.jsonl');
  const r = await runCli([
    'export',
    '--database',
    sqlite('a', 'tags.db'),
    '-o',
    dump,
    '--no-progress',
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain(`sealed under the key in ${keyA}`);
  expect(r.stderr).toContain('tagplane import --master-key-file KEYFILE');
  // Folder B holds another database, with a key of its own.
  const b = await startServer(['--port', '0', '--no-demo', '--database', sqlite('b', 'tags.db')]);
  await b.stop();
}, 60_000);

afterAll(async () => {
  await killAll();
  work.remove();
});

const importInto = (url: string, ...args: string[]) =>
  runCli(['import', '--database', url, '-i', dump, '--no-progress', ...args]);

describe('import and the master key', () => {
  it("refuses a folder holding another database's key, says what to do, and leaves no file", async () => {
    const r = await importInto(sqlite('b', 'restored.db'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the export was made under a different master key than the key file beside the target database (${at('b', 'master.key')}), which belongs to another database: import into a folder of its own, or pass the exported database's key with --master-key-file FILE`,
    );
    // What B held before, nothing more (SQLite's -wal and -shm files go when B closes).
    expect(readdirSync(at('b')).sort()).toEqual(['master.key', 'tags.db']);
  });

  it('with the right key into a new folder: the key is placed beside it, and serve starts as is', async () => {
    const r = await importInto(sqlite('c', 'tags.db'), '--master-key-file', keyA);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `import: the master key is now beside the database: ${at('c', 'master.key')}`,
    );
    expect(readFileSync(at('c', 'master.key'), 'utf8')).toBe(readFileSync(keyA, 'utf8'));
    const s = await startServer(['--port', '0', '--database', sqlite('c', 'tags.db')]);
    await s.line(/^example: tag the demo BMS/);
    await s.stop();
  });

  it('with a wrong key: refused, naming the key given; no file left', async () => {
    const wrong = at('wrong.key');
    writeFileSync(wrong, `${'cd'.repeat(32)}\n`);
    const r = await importInto(sqlite('d', 'tags.db'), '--master-key-file', wrong);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the export was made under a different master key than the one given (${wrong})`,
    );
    expect(existsSync(at('d'))).toBe(false);
  });

  it('without a key: imported; serve creates no new key but asks for it, then starts with it', async () => {
    const r = await importInto(sqlite('e', 'tags.db'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'import: serve this database with the master key of the exported one',
    );
    const refused = await runCli(['serve', '--port', '0', '--database', sqlite('e', 'tags.db')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `this database's secrets are sealed under a master key, and there is none beside it (${at('e', 'master.key')}): pass the key`,
    );
    expect(existsSync(at('e', 'master.key'))).toBe(false);
    const s = await startServer([
      '--port',
      '0',
      '--database',
      sqlite('e', 'tags.db'),
      '--master-key-file',
      keyA,
    ]);
    await s.line(/^example: tag the demo BMS/);
    await s.stop();
  });

  it('a failed import leaves no file and no folder', async () => {
    const broken = at('broken.jsonl');
    writeFileSync(broken, '{"format":"something else"}\n');
    const r = await runCli([
      'import',
      '--database',
      sqlite('f', 'sub', 'tags.db'),
      '-i',
      broken,
      '--no-progress',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 1 is not a tagplane export header');
    expect(existsSync(at('f'))).toBe(false);
  });
});
