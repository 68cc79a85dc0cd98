/**
 * What the change log costs a SQLite write below HTTP: the write benchmark's BMS create (two tags,
 * servers in turn, 10,000 of them) through the store's own write path (`writeChange`, group
 * commits), with 32 writes in flight, and what it writes to disk.
 *
 *   npx tsx bench/event-index.ts [--writes 40000] [--resources 10000] [--in-flight 32]
 *
 * Prints one JSON line: CPU of this process per write (ms, user + system), pages written to the
 * WAL per write (checkpoints are held back during the run, so the WAL's growth counts every page
 * each commit wrote), and writes per commit; `--checkpoints` lets SQLite checkpoint as a server does,
 * so that the CPU figure counts copying those pages back into the database file too. Where the per-resource index is filled in the background
 * (migration 0014), the indexer runs as a server runs it, and the run ends with the index caught
 * up, so its work is counted. Run it from builds to compare (A, B, A, B): the page count does not
 * depend on the machine's load; the CPU figure does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { applySeed } from '../src/admin/seed.js';
import { SecretBox } from '../src/auth/secret-box.js';
import { adminOrigin } from '../src/core/change-event.js';
import type { ResourceRecord } from '../src/core/resource.js';
import { writeChange } from '../src/store/change-store.js';
import { Store } from '../src/store/database.js';
import { findResourceWithTags } from '../src/store/tags-store.js';

const { values: args } = parseArgs({
  options: {
    writes: { type: 'string', default: '40000' },
    resources: { type: 'string', default: '10000' },
    'in-flight': { type: 'string', default: '32' },
    'no-index': { type: 'boolean', default: false },
    checkpoints: { type: 'boolean', default: false },
  },
});
const WRITES = Number(args.writes);
const RESOURCES = Number(args.resources);
const IN_FLIGHT = Number(args['in-flight']);
/** Leave the per-resource index behind (what the log costs without it). */
const NO_INDEX = args['no-index'];
/** Let SQLite checkpoint as a server does (CPU then counts it; the WAL's pages are not counted). */
const CHECKPOINTS = args.checkpoints;
const PROJECT = 'b0000000000000000000000000000001';

const dir = mkdtempSync(join(tmpdir(), 'tagplane-event-index-'));
const file = join(dir, 'bench.db');
const store = Store.open({ kind: 'sqlite', path: file });
try {
  await store.migrate();
  // Ids in no particular order, as the write benchmark's (and a cloud's) are: the servers taken
  // in turn land at random places of anything keyed by resource.
  const ids = Array.from({ length: RESOURCES }, (_, i) =>
    createHash('sha256').update(`1:${i}`).digest('hex').slice(0, 32),
  );
  const seed = (resources: string[]) =>
    applySeed(store, new SecretBox(randomBytes(32)), {
      domains: [{ id: 'bench-domain', name: 'bench' }],
      projects: [{ id: PROJECT, name: 'eu-de', domain: { id: 'bench-domain' } }],
      users: [],
      resources: resources.map((id) => ({
        project: { id: PROJECT },
        type: 'bms_server',
        id,
        name: id,
        enterpriseProjectId: '0',
        tags: [
          { key: 'bench-a', value: 'seed' },
          { key: 'bench-b', value: 'seed' },
        ],
      })),
    });
  for (let i = 0; i < ids.length; i += 1000) await seed(ids.slice(i, i + 1000));
  const records: ResourceRecord[] = [];
  for (const id of ids) {
    const found = await findResourceWithTags(store.db, PROJECT, 'bms_server', id);
    if (!found) throw new Error(`${id} was not registered`);
    records.push(found.resource);
  }
  // Index the seed's events as a server would have by now; then count only what the writes cost.
  const indexing = store as Store & {
    indexEvents?: () => Promise<number>;
    indexEventsInBackground?: (onError: (e: unknown) => void) => { stop(): Promise<void> };
  };
  await indexing.indexEvents?.();
  await sql`pragma wal_checkpoint(truncate)`.execute(store.db);
  if (!CHECKPOINTS) await sql`pragma wal_autocheckpoint = 0`.execute(store.db);
  const background = NO_INDEX
    ? undefined
    : indexing.indexEventsInBackground?.((err) => {
        throw err;
      });

  let acknowledged = 0;
  const origin = adminOrigin('BatchBaremetalServerTagsAction', '127.0.0.1', 'bench');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    for (let n = next++; n < WRITES; n = next++) {
      const resource = records[n % records.length]!;
      const tags = [
        { key: 'bench-a', value: `a${n}` },
        { key: 'bench-b', value: `b${n}` },
      ];
      await store.transaction((tx) =>
        writeChange(tx, store.caps, resource, [], tags, {
          time: new Date().toISOString(),
          projectId: PROJECT,
          resourceType: 'bms_server',
          resourceId: resource.resourceId,
          origin,
          changes: tags.map((t) => ({ key: t.key, old: 'x', new: t.value })),
        }),
      );
      acknowledged++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const writeMs = performance.now() - t0;
  await background?.stop();
  const indexed = NO_INDEX ? 0 : ((await indexing.indexEvents?.()) ?? 0);
  const cpu = process.cpuUsage(cpu0);
  const { rows } = await sql<{ page_size: number }>`pragma page_size`.execute(store.db);
  const pageSize = Number(rows[0]!.page_size);
  // A WAL file: a 32-byte header, then frames of a 24-byte header and one page each.
  const wal = readFileSync(`${file}-wal`);
  const pages = Math.max(0, wal.length - 32) / (pageSize + 24);
  // A frame whose header gives the database's size after it ends a commit.
  let commits = 0;
  for (let at = 32; at + 24 <= wal.length; at += pageSize + 24) {
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  process.stdout.write(
    `${JSON.stringify({
      writes: WRITES,
      writesPerSecond: Math.round(WRITES / (writeMs / 1000)),
      cpuMsPerWrite: Number(((cpu.user + cpu.system) / 1000 / WRITES).toFixed(4)),
      ...(CHECKPOINTS
        ? {}
        : {
            walPagesPerWrite: Number((pages / WRITES).toFixed(3)),
            writesPerCommit: Number((WRITES / commits).toFixed(1)),
          }),
      indexedAtTheEnd: indexed,
      acknowledged,
    })}\n`,
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
