import { type ClientRequest, type IncomingMessage, request } from 'node:http';

/** One message of a text/event-stream. */
export interface StreamMessage {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
}

/** A received tag-change message, its data parsed. */
export interface ReceivedEvent {
  readonly id: string;
  readonly event: string;
  readonly data: {
    readonly id: string;
    readonly project_id: string;
    readonly resource_id: string;
    readonly request_id: string;
    readonly changes: { key: string; old: string | null; new: string | null }[];
    readonly [field: string]: unknown;
  };
}

/**
 * A client of GET /admin/v1/events/stream on a listening server: collects the messages (and the
 * comment lines) as they arrive, and waits for a given number of them.
 */
export class EventStreamClient {
  readonly messages: StreamMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  private buffer = '';
  private waiters: (() => void)[] = [];
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;
  private ended = false;

  /** Connects; resolves once the answer's head has arrived. */
  static open(
    base: string,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<EventStreamClient> {
    const client = new EventStreamClient();
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { headers }, (res) => {
        client.status = res.statusCode ?? 0;
        client.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => client.take(chunk));
        const ended = () => {
          client.ended = true;
          client.notify();
        };
        // 'close' without 'end': the server cut the stream off.
        res.on('end', ended);
        res.on('close', ended);
        res.on('error', () => {});
        client.res = res;
        resolve(client);
      });
      req.on('error', reject);
      req.end();
      client.req = req;
    });
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end < 0) break;
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message: Record<string, string> = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = line.slice(0, colon);
        message[field] = line.slice(colon + 1).replace(/^ /, '');
      }
      if (Object.keys(message).length > 0) this.messages.push(message);
    }
    this.notify();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Whether the stream has ended (the server closed it, or `close()`). */
  get closed(): boolean {
    return this.ended;
  }

  /** Stops reading: what the server sends from now on waits in the connection and its buffers. */
  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  /** Resolves once `check()` holds (or the stream has ended). */
  async until(check: () => boolean): Promise<void> {
    while (!check() && !this.ended) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Waits for `count` messages in all and returns them, their data parsed. */
  async events(count: number): Promise<ReceivedEvent[]> {
    await this.until(() => this.messages.length >= count);
    return this.messages.map((m) => ({
      id: m.id ?? '',
      event: m.event ?? '',
      data: JSON.parse(m.data ?? 'null') as ReceivedEvent['data'],
    }));
  }

  close(): void {
    this.req?.destroy();
  }
}
