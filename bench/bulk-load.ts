/**
 * A database holding the benchmark dataset (query-dataset.ts), loaded in bulk by query-load.ts:
 * used by the write benchmark's start-up measurement, on the same file the query benchmark uses.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { sql } from 'kysely';
import { applySeed } from '../src/admin/seed.js';
import { SecretBox } from '../src/auth/secret-box.js';
import { readSeedDocument } from '../src/http/seed-schema.js';
import { type DatabaseLocation, redactUrl, Store } from '../src/store/database.js';
import { DATASET } from './query-dataset.js';
import { loadDataset } from './query-load.js';

/**
 * Makes `location` hold the dataset of `size` resources (DATASET's project, domain and root user,
 * migrated): loads it into an empty database, reuses one that holds exactly that many, refuses
 * another size. `fresh` deletes a SQLite file first. Returns the resources and the load time
 * (undefined when reused).
 */
export async function ensureDataset(
  location: DatabaseLocation,
  size: number,
  options: { fresh?: boolean } = {},
): Promise<{ resources: number; loadMs?: number }> {
  if (location.kind === 'sqlite') {
    if (options.fresh && existsSync(location.path)) {
      for (const suffix of ['', '-wal', '-shm']) {
        rmSync(`${location.path}${suffix}`, { force: true });
      }
    }
    mkdirSync(dirname(location.path), { recursive: true });
  }
  process.stderr.write(
    `database: ${location.kind === 'sqlite' ? location.path : redactUrl(location.url)}\n`,
  );
  let store = Store.open(location);
  const count = async () =>
    Number(
      (
        await sql<{
          n: number | string;
        }>`select count(*) as n from resources where project_id = ${DATASET.projectId}`.execute(
          store.db,
        )
      ).rows[0]?.n ?? 0,
    );
  try {
    await store.migrate();
    await applySeed(
      store,
      new SecretBox(randomBytes(32)),
      readSeedDocument({
        domains: [{ id: DATASET.domainId, name: 'bench' }],
        projects: [{ id: DATASET.projectId, name: 'bench', domain_id: DATASET.domainId }],
        users: [{ id: DATASET.userId, name: 'bench', domain_id: DATASET.domainId, root: true }],
      }),
    );
    const existing = await count();
    if (existing === size) {
      process.stderr.write(`reusing the dataset of ${existing.toLocaleString('en')} resources\n`);
      return { resources: existing };
    }
    if (existing !== 0) {
      throw new Error(
        `the database holds ${existing.toLocaleString('en')} benchmark resources, not ${size.toLocaleString('en')}: use --fresh or another --database`,
      );
    }
    await store.close();
    const loadMs = await loadDataset(location, {
      size,
      projectId: DATASET.projectId,
      type: DATASET.type,
      seed: DATASET.seed,
    });
    store = Store.open(location);
    return { resources: await count(), loadMs };
  } finally {
    await store.close();
  }
}
