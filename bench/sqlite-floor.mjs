/**
 * The floor of a durable SQLite tag write: the SQL of a BMS create of two tags (the resource read
 * with its tags, two upserts) in a savepoint, 32 writes per commit as group commit batches them,
 * on the same schema and indexes, with nothing else around it. Prints µs per write for
 * synchronous=FULL (what tagplane uses) and NORMAL.
 *
 *   node bench/sqlite-floor.mjs
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const out = join(dirname(fileURLToPath(import.meta.url)), 'out');
mkdirSync(out, { recursive: true });
const file = join(out, 'sqlite-floor.db');
for (const sync of ['FULL', 'NORMAL']) {
  rmSync(file, { force: true });
  rmSync(file + '-wal', { force: true });
  rmSync(file + '-shm', { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.exec(`create table resources (rid integer primary key, project_id text not null, resource_type text not null, resource_id text not null, name text not null default '', enterprise_project_id text not null default '0', created_at text not null);
    create unique index resources_ref on resources (project_id, resource_type, resource_id);
    create index resources_order on resources (project_id, resource_type, rid);
    create table tags (project_id text not null, rid bigint not null, resource_type text not null, key text not null, value text not null, primary key (project_id, rid, key)) without rowid;
    create index tags_kv on tags (project_id, resource_type, key, value, rid);`);
  const P = '0123456789abcdef0123456789abcdef';
  const ins = db.prepare(
    'insert into resources (project_id, resource_type, resource_id, created_at) values (?, ?, ?, ?)',
  );
  const tag = db.prepare(
    'insert into tags (project_id, rid, resource_type, key, value) values (?, ?, ?, ?, ?) on conflict (project_id, rid, key) do update set value = excluded.value',
  );
  db.transaction(() => {
    for (let i = 0; i < 10000; i++) {
      const r = ins.run(P, 'bms_server', `srv-${i}`, 'x');
      tag.run(P, r.lastInsertRowid, 'bms_server', 'k1', 'a');
      tag.run(P, r.lastInsertRowid, 'bms_server', 'k2', 'b');
    }
  })();
  const find = db.prepare(
    'select r.rid, t.key, t.value from resources r left join tags t on t.project_id = r.project_id and t.rid = r.rid where r.project_id = ? and r.resource_type = ? and r.resource_id = ?',
  );
  const begin = db.prepare('begin immediate'),
    commit = db.prepare('commit');
  const sp = db.prepare('savepoint w'),
    rel = db.prepare('release w');
  const N = 64000,
    BATCH = 32;
  let n = 0;
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < N / BATCH; b++) {
    begin.run();
    for (let j = 0; j < BATCH; j++) {
      sp.run();
      const i = n++ % 10000;
      const rows = find.all(P, 'bms_server', `srv-${i}`);
      tag.run(P, rows[0].rid, 'bms_server', 'k1', `v${n}`);
      tag.run(P, rows[0].rid, 'bms_server', 'k2', `w${n}`);
      rel.run();
    }
    commit.run();
  }
  console.log(
    `synchronous=${sync}: ${(Number(process.hrtime.bigint() - t0) / 1000 / N).toFixed(1)} µs per write (batches of ${BATCH}, savepoint each)`,
  );
  db.close();
}
for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
