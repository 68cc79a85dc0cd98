/**
 * Start-up time: from spawning `tagplane serve` to its listening line, on a database that already
 * holds the query benchmark's dataset (1,000,000 resources × 10 tags by default), median of
 * several starts. The first start on a database creates its keys and is not counted.
 */

import { spawnTagplane } from './write-processes.js';
import { ADMIN_TOKEN, MASTER_KEY } from './write-workload.js';

export interface StartupResult {
  readonly label: string;
  readonly resources: number;
  /** Milliseconds of each counted start. */
  readonly runs: readonly number[];
  readonly median: number;
  /** Building the dataset, when this run built it (ms). */
  readonly loadMs?: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function measureStartup(
  label: string,
  databaseUrl: string,
  resources: number,
  runs: number,
  loadMs?: number,
): Promise<StartupResult> {
  const start = async (i: number) => {
    const child = await spawnTagplane(
      `startup-${label.replace(/\W+/g, '-')}-${i}`,
      ['--database', databaseUrl, '--admin-token', ADMIN_TOKEN, '--no-demo'],
      { TAGPLANE_MASTER_KEY: MASTER_KEY },
      120_000,
    );
    await child.stop();
    return child.startMs;
  };
  await start(0);
  const times: number[] = [];
  for (let i = 1; i <= runs; i++) times.push(await start(i));
  return {
    label,
    resources,
    runs: times,
    median: median(times),
    ...(loadMs !== undefined ? { loadMs } : {}),
  };
}
