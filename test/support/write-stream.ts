import { http } from './nodes.js';

/** One batch of two new tags on one BMS server, and what became of it. */
export interface Write {
  readonly n: number;
  readonly resource: string;
  readonly keys: readonly [string, string];
  /** Which server it went to. */
  readonly target: number;
  /** When it was sent (ms since the stream started). */
  readonly sentAt: number;
  /** HTTP status, or 'error' when no answer came (connection refused or cut). */
  status?: number | 'error';
  body?: unknown;
  requestIdHeader?: string | null;
}

/**
 * Streams tag writes (two new keys per request) over BMS servers through several tagplane
 * servers, `perTarget` requests in flight to each, until stopped. Each write is recorded with
 * its answer, so a test can check afterwards which were acknowledged and what the store holds.
 */
export class WriteStream {
  readonly writes: Write[] = [];
  private running = true;
  private readonly started = Date.now();
  private readonly loops: Promise<void>[] = [];
  private readonly stopped = new Set<number>();

  constructor(
    private readonly targets: readonly string[],
    private readonly projectId: string,
    private readonly token: string,
    private readonly resources: readonly string[],
    perTarget = 2,
  ) {
    for (let t = 0; t < targets.length; t++) {
      for (let k = 0; k < perTarget; k++) this.loops.push(this.loop(t));
    }
  }

  /** Time since the stream started, on the clock `sentAt` uses. */
  now(): number {
    return Date.now() - this.started;
  }

  /** Stops sending to one target (its loops end after their current request). */
  abandon(target: number): void {
    this.stopped.add(target);
  }

  acknowledged(target?: number): Write[] {
    return this.writes.filter(
      (w) => w.status === 204 && (target === undefined || w.target === target),
    );
  }

  /** Resolves once `predicate` holds, checking after every answer. */
  async until(predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(target: number): Promise<void> {
    while (this.running && !this.stopped.has(target)) {
      const n = this.writes.length;
      const w: Write = {
        n,
        resource: this.resources[n % this.resources.length]!,
        keys: [`w${n}-a`, `w${n}-b`],
        target,
        sentAt: this.now(),
      };
      this.writes.push(w);
      try {
        const res = await http(
          this.targets[target]!,
          'POST',
          `/v1/${this.projectId}/baremetalservers/${w.resource}/tags/action`,
          {
            headers: { 'x-auth-token': this.token },
            body: { action: 'create', tags: w.keys.map((key) => ({ key, value: String(n) })) },
          },
        );
        w.status = res.status;
        w.body = res.body;
        w.requestIdHeader = res.headers.get('x-request-id');
      } catch {
        w.status = 'error';
      }
      // After a failure, do not spin: the answers during an outage come back at once.
      if (w.status !== 204) await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Every BMS server's tags as `resource → key → value`, read through one server. */
export async function readAllTags(
  base: string,
  projectId: string,
  token: string,
  resources: readonly string[],
): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const id of resources) {
    const res = await http(base, 'GET', `/v1/${projectId}/baremetalservers/${id}/tags`, {
      headers: { 'x-auth-token': token },
    });
    if (res.status !== 200) throw new Error(`listing ${id}: ${res.status} ${res.text}`);
    const tags = (res.body as { tags: { key: string; value: string }[] }).tags;
    out.set(id, new Map(tags.map((t) => [t.key, t.value])));
  }
  return out;
}

/** How many of a write's two tags the store holds (0, 1 or 2). */
export function tagsPresent(all: Map<string, Map<string, string>>, w: Write): number {
  const tags = all.get(w.resource);
  return w.keys.filter((k) => tags?.get(k) === String(w.n)).length;
}
