import type { ServerResponse } from 'node:http';

/**
 * One event as a Server-Sent Events message (SPEC §8), from its id and JSON text: made once,
 * written to every stream.
 */
export function sseMessage(id: string, json: string): string {
  return `id: ${id}\nevent: tag-change\ndata: ${json}\n\n`;
}

const KEEP_ALIVE = Buffer.from(': keep-alive\n\n');

export interface EventStreamLimits {
  /** How often every open stream is sent a keep-alive comment (≤ 15 s). */
  readonly keepAliveMs: number;
  /**
   * A stream whose client has left more than this many bytes unread on the server (beyond what
   * the connection itself holds) when the next chunk is due is closed: its client resumes with
   * Last-Event-ID and misses nothing, and the server holds no unbounded backlog for it.
   */
  readonly maxUnreadBytes: number;
}

/** An open live feed response: where the feed sends a subscriber's events. */
export interface EventStream {
  /** Writes a chunk, or closes the stream when its client is too far behind to take it. */
  send(chunk: Buffer): void;
  /** Settles once the client has taken what was written (or the stream has closed). */
  taken(): Promise<void>;
  /** Ends the stream (idempotent); `onClose` runs once, whoever closes it. */
  close(): void;
}

/**
 * The open live feed responses of one server: one keep-alive timer for all of them (not one
 * each), closing clients that stop reading, and ending them all when the server closes.
 */
export class EventStreams {
  private readonly open = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly limits: EventStreamLimits) {}

  get size(): number {
    return this.open.size;
  }

  /**
   * Takes a response whose head has been written; `onClose` runs once when it closes, for
   * whatever reason, and `onDropped` when it was closed for not reading.
   */
  add(res: ServerResponse, onClose: () => void, onDropped: () => void): EventStream {
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.remove(res);
      onClose();
      res.end();
    };
    res.on('close', close);
    this.open.add(res);
    if (!this.timer) {
      this.timer = setInterval(() => this.keepAlive(), this.limits.keepAliveMs);
      this.timer.unref();
    }
    return {
      send: (chunk) => {
        if (closed) return;
        if (res.writableLength > this.limits.maxUnreadBytes) {
          onDropped();
          close();
          res.destroy();
          return;
        }
        res.write(chunk);
      },
      taken: () => (closed || !res.writableNeedDrain ? Promise.resolve() : drained(res)),
      close,
    };
  }

  /** Ends every open stream (the server is closing: they never end by themselves). */
  closeAll(): void {
    for (const res of [...this.open]) res.end();
  }

  private remove(res: ServerResponse): void {
    this.open.delete(res);
    if (this.open.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private keepAlive(): void {
    for (const res of this.open) res.write(KEEP_ALIVE);
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
