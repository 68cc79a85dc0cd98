import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents, tagsAsOf } from '../../src/admin/events.js';
import { listTraceEvents } from '../../src/store/trace-events-store.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

/**
 * PostgreSQL indexes the change log by a hash of the resource id (migration 0018; since 0019 kept
 * in the column `resource_key`, indexed with the id in `events_resource_key`). Resources that
 * share the hash (here: the same id in another project, or of another type) must never mix into
 * one another's history, and every read by resource must go through that index rather than walk
 * the project's or the whole log.
 */
describe('the change log by resource on PostgreSQL', () => {
  let ts: TestStore;
  const now = '2026-12-01T10:00:00.000Z';
  const later = '2026-12-01T11:00:00.000Z';

  beforeAll(async () => {
    ts = await openTestStore('postgres');
    const db = ts.store.db;
    await db.insertInto('domains').values({ id: 'd-1', name: 'one', created_at: now }).execute();
    await db
      .insertInto('projects')
      .values([
        { id: 'p-1', name: 'eu-de', domain_id: 'd-1', created_at: now },
        { id: 'p-2', name: 'eu-nl', domain_id: 'd-1', created_at: now },
      ])
      .execute();
    let id = 0;
    const event = (
      project: string,
      type: string,
      resourceId: string,
      key: string,
      time = now,
      old: string | null = null,
    ) => ({
      // Ids given, as a restore gives them: the insert trigger's order check, which reads the
      // index too, stays out of its statistics.
      id: ++id,
      time,
      domain_id: 'd-1',
      project_id: project,
      resource_type: type,
      resource_id: resourceId,
      service: 'bms',
      operation: 'batch_create_tags',
      principal_type: 'admin',
      user_id: null,
      user_name: null,
      access_key: null,
      source_ip: '127.0.0.1',
      request_id: `${project}/${type}/${resourceId}/${key}`,
      changes: JSON.stringify([{ key, old, new: `${key}-value` }]),
    });
    // Enough other resources that a walk of the project would be the planner's last choice.
    const others = Array.from({ length: 3000 }, (_, i) =>
      event('p-1', 'bms_server', `s-${i}`, 'k'),
    );
    for (let i = 0; i < others.length; i += 500) {
      await db
        .insertInto('events')
        .values(others.slice(i, i + 500))
        .execute();
    }
    await db
      .insertInto('events')
      .values([
        event('p-1', 'bms_server', 'shared', 'first'),
        event('p-2', 'bms_server', 'shared', 'other-project', later, 'elsewhere'),
        event('p-1', 'as_group', 'shared', 'other-type', later, 'elsewhere'),
        event('p-1', 'bms_server', 'shared', 'second', later),
      ])
      .execute();
    // The resource and its tags today, as its own events left them.
    const { rid } = await db
      .insertInto('resources')
      .values({
        project_id: 'p-1',
        resource_type: 'bms_server',
        resource_id: 'shared',
        name: '',
        enterprise_project_id: '0',
        created_at: now,
      })
      .returning('rid')
      .executeTakeFirstOrThrow();
    await db
      .insertInto('tags')
      .values(
        ['first', 'second'].map((key) => ({
          project_id: 'p-1',
          rid: Number(rid),
          resource_type: 'bms_server',
          key,
          value: `${key}-value`,
        })),
      )
      .execute();
    await sql`analyze events`.execute(db);
  });
  afterAll(() => ts?.close());

  /** How many scans the resource index has served so far (PostgreSQL's statistics). */
  async function resourceIndexScans(): Promise<number> {
    await sql`select pg_stat_clear_snapshot()`.execute(ts.store.db);
    const { rows } = await sql<{ n: string }>`
      select idx_scan::text as n from pg_stat_user_indexes
      where indexrelname = 'events_resource_key'`.execute(ts.store.db);
    return Number(rows[0]?.n ?? -1);
  }

  /** Runs `read`, and waits until the index's statistics show the scan it made. */
  async function throughIndex<T>(read: () => Promise<T>): Promise<T> {
    const before = await resourceIndexScans();
    const result = await read();
    const deadline = Date.now() + 10_000;
    let after = await resourceIndexScans();
    while (after === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      after = await resourceIndexScans();
    }
    expect(after, 'the read went through events_resource_key').toBeGreaterThan(before);
    return result;
  }

  it('lists a resource’s events and no other’s that share its hash', async () => {
    const page = await throughIndex(() =>
      readEvents(
        ts.store,
        { projectId: 'p-1', resourceType: 'bms_server', resourceId: 'shared' },
        'desc',
        10,
      ),
    );
    expect(page.events.map((e) => e.changes[0]?.key)).toEqual(['second', 'first']);
    const all = await readEvents(ts.store, { resourceId: 'shared' }, 'asc', 10);
    expect(all.events.map((e) => e.changes[0]?.key)).toEqual([
      'first',
      'other-project',
      'other-type',
      'second',
    ]);
  });

  it('answers tags as of a moment from the resource’s own events', async () => {
    const asOf = await throughIndex(() =>
      tagsAsOf(ts.store, 'p-1', 'bms_server', 'shared', { time: now }),
    );
    // Undoing its later event leaves the tag of its first; undoing the others' would have
    // set `first` to theirs.
    expect(asOf.tags).toEqual([{ key: 'first', value: 'first-value' }]);
  });

  it('lists a resource’s traces and no other’s', async () => {
    const traces = await throughIndex(() =>
      listTraceEvents(ts.store.db, ts.store.caps, { projectId: 'p-1', resourceId: 'shared' }, 10),
    );
    expect(traces.map((t) => t.changes[0]?.key)).toEqual(['second', 'other-type', 'first']);
  });
});
