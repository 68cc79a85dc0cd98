import { readFileSync } from 'node:fs';

/**
 * The package's version, from its package.json: two folders up from this file both in src/core
 * and in dist/core, so the sources and the installed build read the same file.
 */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
