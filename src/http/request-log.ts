import type { FastifyInstance } from 'fastify';
import './fastify-types.js';

/** One request as GET /admin/v1/requests shows it: never a header, a body or the query. */
export interface RequestLogEntry {
  /** When it arrived, ISO 8601. */
  readonly time: string;
  readonly method: string;
  /** The path as sent, without the query. */
  readonly path: string;
  readonly status: number;
  /** The error code of an error answer (`error_code`, or `error.code` when a string). */
  readonly error_code: string | null;
  readonly duration_ms: number;
  /** The id of the authenticated user, when there was one. */
  readonly principal: string | null;
  readonly request_id: string;
  /** The API of the route (a service id, `tms`, `iam`), as faults name it. */
  readonly service: string | null;
}

export interface RequestLogFilter {
  readonly limit: number;
  /** An exact status (`404`) or a class (`4xx`). */
  readonly status?: string;
  readonly service?: string;
}

/** Longest path kept; a longer one is cut (the gateway takes URIs of up to 32 KiB). */
const MAX_PATH = 2048;

/**
 * A request as the ring keeps it: `time` as epoch milliseconds, formatted only when the log is
 * read (formatting a date on every request costs more than all the rest of the entry).
 */
export interface RecordedRequest extends Omit<RequestLogEntry, 'time'> {
  readonly at: number;
}

/** A node's last `capacity` requests, in a ring: the oldest goes when a new one comes. */
export class RequestLog {
  private readonly ring: RecordedRequest[] = [];
  private next = 0;

  constructor(readonly capacity: number) {}

  add(entry: RecordedRequest): void {
    if (this.capacity === 0) return;
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The newest first, at most `limit`, of those the filter keeps. */
  recent(filter: RequestLogFilter): RequestLogEntry[] {
    const out: RequestLogEntry[] = [];
    const n = this.ring.length;
    const statusOk = statusFilter(filter.status);
    for (let i = 1; i <= n && out.length < filter.limit; i++) {
      const { at, ...e } = this.ring[(this.next - i + n) % n]!;
      if (filter.service !== undefined && e.service !== filter.service) continue;
      if (!statusOk(e.status)) continue;
      out.push({ time: new Date(at).toISOString(), ...e });
    }
    return out;
  }
}

function statusFilter(status: string | undefined): (s: number) => boolean {
  if (status === undefined) return () => true;
  if (status.endsWith('xx')) {
    const hundreds = Number(status[0]);
    return (s) => Math.floor(s / 100) === hundreds;
  }
  const exact = Number(status);
  return (s) => s === exact;
}

/** The error code of an error answer's body, whichever envelope it is in. */
function errorCodeOf(payload: unknown): string | null {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return null;
  try {
    const body = JSON.parse(payload.toString()) as {
      error_code?: unknown;
      error?: { code?: unknown };
    };
    if (typeof body.error_code === 'string') return body.error_code;
    if (typeof body.error?.code === 'string') return body.error.code;
  } catch {
    // not JSON
  }
  return null;
}

const errorCodes = new WeakMap<object, string | null>();

/** Records every request the app answers, except reads of the log itself (`requestLog: false`). */
export function installRequestLog(app: FastifyInstance, log: RequestLog, now: () => number): void {
  if (log.capacity === 0) return;
  app.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 400) errorCodes.set(request, errorCodeOf(payload));
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const config = request.routeOptions.config;
    if (config?.requestLog === false) {
      done();
      return;
    }
    const url = request.raw.url ?? request.url;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const duration = reply.elapsedTime;
    log.add({
      at: now() - duration,
      method: request.method,
      path: path.length > MAX_PATH ? path.slice(0, MAX_PATH) : path,
      status: reply.statusCode,
      error_code: errorCodes.get(request) ?? null,
      duration_ms: Math.round(duration * 100) / 100,
      principal: request.principal?.userId ?? null,
      request_id: request.id,
      service: config?.service ?? null,
    });
    done();
  });
}
