import type { Store } from '../store/database.js';
import { pruneEvents } from '../store/events-store.js';
import { getSetting, setSetting } from '../store/settings-store.js';
import { PRUNED_THROUGH_SETTING } from './events.js';

const DAY_MS = 86_400_000;
/** Events removed per transaction: each is short, so writers never wait long behind one. */
const BATCH = 500;
/** How often the log is pruned, and how soon after start-up the first time. */
const INTERVAL_MS = 60_000;
const FIRST_MS = 5_000;

/**
 * Removes the events older than the retention period, in small batches of their own
 * transactions, recording the newest one removed (`PRUNED_THROUGH_SETTING`: the as-of read
 * refuses moments before it). Returns how many were removed.
 */
export async function pruneEventLog(
  store: Store,
  retentionDays: number,
  now = Date.now(),
): Promise<number> {
  if (retentionDays <= 0) return 0;
  const cutoff = new Date(now - retentionDays * DAY_MS).toISOString();
  let removed = 0;
  for (;;) {
    const batch = await store.transaction(async (tx) => {
      const pruned = await pruneEvents(tx, store.caps, cutoff, BATCH);
      if (!pruned) return 0;
      // Several nodes may prune at once: the mark only moves forward.
      const before = await getSetting(tx, PRUNED_THROUGH_SETTING);
      if (before === undefined || Number(before.split(' ')[0]) < pruned.id) {
        await setSetting(tx, PRUNED_THROUGH_SETTING, `${pruned.id} ${pruned.time}`);
      }
      return pruned.count;
    });
    removed += batch;
    if (batch < BATCH) return removed;
  }
}

/** Prunes the log in the background every minute; `stop()` ends it. */
export function startEventRetention(
  store: Store,
  retentionDays: number,
  onError: (err: unknown) => void,
): { stop(): void } {
  if (retentionDays <= 0) return { stop() {} };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = () => {
    pruneEventLog(store, retentionDays)
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(run, INTERVAL_MS).unref();
      });
  };
  timer = setTimeout(run, FIRST_MS).unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
