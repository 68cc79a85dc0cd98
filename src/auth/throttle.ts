/** A caller over its rate: answered 429 `APIG.0308` in the gateway envelope. */
export class ThrottledError extends Error {
  constructor(readonly limit: number) {
    // The gateway's own detail (APIG FAQ "How Do I Handle the Error APIG.0308?").
    super(`policy user over ratelimit,limit:${limit},time:1 second`);
    this.name = 'ThrottledError';
  }
}

interface Bucket {
  tokens: number;
  /** Epoch milliseconds of the last refill. */
  at: number;
}

/** Above this many buckets, the full ones (callers idle for a second or more) are dropped. */
const PRUNE_ABOVE = 10_000;

/**
 * Requests per second per credential, as the API gateway throttles: a token bucket per
 * credential holding up to `rate` requests (a burst of `rate` at once), refilled at `rate` per
 * second. Per process: each node of a database throttles on its own.
 */
export class Throttle {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: number,
    private readonly now: () => number,
  ) {}

  private level(b: Bucket, now: number): number {
    return Math.min(this.rate, b.tokens + (Math.max(0, now - b.at) * this.rate) / 1000);
  }

  /** Takes one request from the credential's bucket; false when it is empty. */
  take(credential: string): boolean {
    const now = this.now();
    const b = this.buckets.get(credential);
    if (!b) {
      if (this.buckets.size >= PRUNE_ABOVE) this.prune(now);
      this.buckets.set(credential, { tokens: this.rate - 1, at: now });
      return true;
    }
    b.tokens = this.level(b, now);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Throws ThrottledError when the credential is over its rate. */
  admit(credential: string): void {
    if (!this.take(credential)) throw new ThrottledError(this.rate);
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (this.level(b, now) >= this.rate) this.buckets.delete(k);
  }
}
