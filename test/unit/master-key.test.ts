import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMasterKey } from '../../src/auth/master-key.js';
import { SecretBox } from '../../src/auth/secret-box.js';

describe('master key', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'tagplane-key-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('is generated into the data directory on first start (owner-only) and reused after', () => {
    const dir = tempDir();
    const location = { kind: 'sqlite' as const, path: join(dir, 'tagplane.db') };
    const first = loadMasterKey(location, undefined);
    const file = join(dir, 'master.key');
    expect(first.source).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.key.toString('hex'));
    const second = loadMasterKey(location, undefined);
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('comes from TAGPLANE_MASTER_KEY when set, as hex or base64', () => {
    const dir = tempDir();
    const location = { kind: 'sqlite' as const, path: join(dir, 'tagplane.db') };
    const hex = 'ab'.repeat(32);
    expect(loadMasterKey(location, hex)).toEqual({
      key: Buffer.from(hex, 'hex'),
      source: 'TAGPLANE_MASTER_KEY',
    });
    const b64 = Buffer.alloc(32, 7).toString('base64');
    expect(loadMasterKey(location, b64).key).toEqual(Buffer.alloc(32, 7));
    expect(() => loadMasterKey(location, 'too-short')).toThrow(/must be 32 bytes/);
  });

  it('is required from the environment with PostgreSQL', () => {
    expect(() => loadMasterKey({ kind: 'postgres', url: 'postgres://x' }, undefined)).toThrow(
      /TAGPLANE_MASTER_KEY is required with PostgreSQL/,
    );
  });

  it('seals secrets so that only the same key opens them', () => {
    const box = new SecretBox(Buffer.alloc(32, 1));
    const sealed = box.seal('SK-very-secret');
    expect(sealed).not.toContain('SK-very-secret');
    expect(box.open(sealed)).toBe('SK-very-secret');
    expect(() => new SecretBox(Buffer.alloc(32, 2)).open(sealed)).toThrow();
  });
});
