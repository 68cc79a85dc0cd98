import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

/** What a fleet's subscribers received, summed over its processes. */
export interface FleetReport {
  readonly streams: number;
  readonly open: number;
  readonly minEvents: number;
  readonly maxEvents: number;
  readonly events: number;
  readonly bytes: number;
  readonly reconnects: number;
  /** Events received by each subscriber, in the order of the projects they follow. */
  readonly each: number[];
}

/**
 * Feed subscribers in processes of their own (bench/feed-subscribers.mjs), one stream per
 * project given (opened with the admin token), split evenly among `processes`: they only count
 * what they receive, and reconnect with Last-Event-ID when cut off.
 */
export async function subscriberFleet(
  base: string,
  adminToken: string,
  processes: number,
  projects: readonly string[],
) {
  const urls = projects.map((p) => `${base}/admin/v1/events/stream?project_id=${p}`);
  const perProcess = Math.ceil(urls.length / processes);
  const children = Array.from({ length: Math.ceil(urls.length / perProcess) }, (_, k) =>
    fork(
      join(import.meta.dirname, 'feed-subscribers.mjs'),
      urls.slice(k * perProcess, (k + 1) * perProcess),
      {
        env: { ...process.env, FEED_ADMIN_TOKEN: adminToken },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    ),
  );
  const ask = (child: ChildProcess, type: string, send?: string) =>
    new Promise<unknown>((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type === 'error') reject(new Error(m.message));
        if (m.type !== type) return;
        child.off('message', onMessage);
        resolve(m);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`subscriber process exited (${code})`)));
      if (send) child.send(send);
    });
  await Promise.all(children.map((c) => ask(c, 'ready')));
  return {
    pids: children.map((c) => c.pid!),
    async report(): Promise<FleetReport> {
      const all = (await Promise.all(
        children.map((c) => ask(c, 'report', 'report')),
      )) as FleetReport[];
      return {
        streams: all.reduce((a, r) => a + r.streams, 0),
        open: all.reduce((a, r) => a + r.open, 0),
        minEvents: Math.min(...all.map((r) => r.minEvents)),
        maxEvents: Math.max(...all.map((r) => r.maxEvents)),
        events: all.reduce((a, r) => a + r.events, 0),
        bytes: all.reduce((a, r) => a + r.bytes, 0),
        reconnects: all.reduce((a, r) => a + r.reconnects, 0),
        each: all.flatMap((r) => r.each),
      };
    },
    async stop(): Promise<void> {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.send('stop');
            }),
        ),
      );
    },
  };
}
