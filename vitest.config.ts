import { readdirSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Two stores, one suite. Every test file runs on SQLite. When TAGPLANE_TEST_DATABASE_URL names
 * a PostgreSQL server, the files that touch the store (those calling createHarness() or
 * openTestStore()) run again on PostgreSQL, each harness on a database of its own, together with
 * the PostgreSQL-only tests under test/postgres/ (several nodes, faults). Tests of processes that
 * do not touch the store run once.
 */
const testFiles = readdirSync('test', { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => `test/${f.replaceAll('\\', '/')}`);
const postgresOnly = (f: string) => f.startsWith('test/postgres/');
const usesStore = (f: string) =>
  /\b(createHarness|openTestStore|createTestDatabase)\(/.test(readFileSync(f, 'utf8'));

const postgresUrl = process.env.TAGPLANE_TEST_DATABASE_URL;
if (!postgresUrl) {
  process.stderr.write(
    'TAGPLANE_TEST_DATABASE_URL is not set: the tests run on SQLite only (.ci/run runs both stores).\n',
  );
}

/** Options every project shares; the global setup (the build) belongs to the root and runs once. */
const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
  setupFiles: ['test/support/drop-leftovers.ts'],
};

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'sqlite',
          // The Vitest example runs too: it is how a user's own test would drive tagplane.
          include: ['test/**/*.test.ts', 'examples/vitest/**/*.test.ts'],
          exclude: ['test/postgres/**'],
          env: { TAGPLANE_TEST_STORE: 'sqlite' },
        },
      },
      ...(postgresUrl
        ? [
            {
              test: {
                ...shared,
                name: 'postgres',
                include: testFiles.filter((f) => postgresOnly(f) || usesStore(f)),
                env: { TAGPLANE_TEST_STORE: 'postgres', TAGPLANE_TEST_DATABASE_URL: postgresUrl },
              },
            },
          ]
        : []),
    ],
  },
});
