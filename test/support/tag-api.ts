import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Harness, Tenant } from './harness.js';
import { type ServiceSpec, sortTags, type Tag, type WriteRequest } from './service-spec.js';

export type Response = LightMyRequestResponse;
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
/** Extra request headers; a header set to `undefined` is left out. */
export type Headers = Record<string, string | undefined>;

/**
 * Checks that `res` is an error of `code` and `status` whose body has exactly the fields of the
 * service's envelope, and returns its message.
 */
export function expectError(
  res: Response,
  envelope: ServiceSpec['envelope'] | 'gateway',
  code: string,
  status = 400,
): string {
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  let message: unknown;
  if (envelope === 'nested') {
    expect(Object.keys(body)).toEqual(['error']);
    const inner = body.error as Record<string, unknown>;
    expect(Object.keys(inner).sort()).toEqual(['code', 'message']);
    expect(inner.code).toBe(code);
    message = inner.message;
  } else {
    const fields =
      envelope === 'gateway'
        ? ['error_code', 'error_msg', 'request_id']
        : ['error_code', 'error_msg'];
    expect(Object.keys(body).sort()).toEqual(fields);
    expect(body.error_code).toBe(code);
    if (envelope === 'gateway') expect(body.request_id).toBe(res.headers['x-request-id']);
    message = body.error_msg;
  }
  expect(typeof message).toBe('string');
  expect((message as string).length).toBeGreaterThan(0);
  return message as string;
}

/** One service's tag API, called as a tenant's root user. */
export class TagApi {
  constructor(
    readonly h: Harness,
    readonly t: Tenant,
    readonly spec: ServiceSpec,
  ) {}

  get project(): string {
    return this.t.projectId;
  }

  /** Registers a resource of the service's type holding `tags`. */
  resource(tags?: Tag[], id?: string): Promise<string> {
    return this.t.resource(this.spec.type, tags, id);
  }

  /**
   * Sends a request with the root user's token. A body (an object, or a string or bytes sent as they are)
   * goes with `Content-Type: application/json` unless `headers` says otherwise.
   */
  send(method: Method, url: string, body?: unknown, headers: Headers = {}): Promise<Response> {
    const all: Record<string, string> = { 'x-auth-token': this.t.root.token };
    if (body !== undefined) all['content-type'] = 'application/json';
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) delete all[name];
      else all[name] = value;
    }
    return this.h.inject({
      method,
      url,
      headers: all,
      ...(body !== undefined
        ? {
            payload:
              typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
          }
        : {}),
    });
  }

  write(req: WriteRequest, headers?: Headers): Promise<Response> {
    return this.send(req.method, req.url, req.body, headers);
  }

  /** The service's create call with `tags` as the `tags` field (sent as given, valid or not). */
  create(id: string, tags: unknown, headers?: Headers): Promise<Response> {
    return this.write(this.spec.createRequest(this.project, id, tags), headers);
  }

  /** The service's delete call with `tags` as the `tags` field. */
  remove(id: string, tags: unknown, headers?: Headers): Promise<Response> {
    return this.write(this.spec.deleteRequest(this.project, id, tags), headers);
  }

  /** POSTs `body` (an object or a raw string) to the create URL. */
  createRaw(id: string, body: unknown, headers?: Headers): Promise<Response> {
    const req = this.spec.createRequest(this.project, id, []);
    return this.send(req.method, req.url, body, headers);
  }

  listRaw(id: string): Promise<Response> {
    return this.send('GET', this.spec.listUrl(this.project, id));
  }

  /** The resource's tags (the listing must answer 200 with exactly its documented fields). */
  async list(id: string): Promise<Tag[]> {
    const res = await this.listRaw(id);
    expect(res.statusCode, res.body).toBe(200);
    const body = JSON.parse(res.body) as { tags: Tag[] };
    expect(body).toEqual({ tags: expect.any(Array), ...this.spec.listExtras });
    return sortTags(body.tags);
  }

  /** A successful create or delete: the service's status and body (`tags` for ModelArts). */
  expectWritten(res: Response, tags: Tag[] = []): void {
    expect({ status: res.statusCode, body: res.body }).toMatchObject({
      status: this.spec.writeStatus,
    });
    if (this.spec.writeBody === 'tags') {
      expect(JSON.parse(res.body)).toEqual({ tags });
    } else {
      expect(res.body).toBe('');
    }
  }

  expectError(res: Response, code: string, status = 400): string {
    return expectError(res, this.spec.envelope, code, status);
  }

  /**
   * Sends a write that must fail with `code`; the resource's tags must be what they were.
   * Returns the error message.
   */
  async expectRefused(
    id: string,
    send: () => Promise<Response>,
    code: string,
    status = 400,
  ): Promise<string> {
    const before = await this.list(id);
    const res = await send();
    const message = this.expectError(res, code, status);
    expect(await this.list(id)).toEqual(before);
    return message;
  }

  /** Creating `tags` on a fresh resource succeeds and leaves exactly `stored` (default: `tags`). */
  async acceptsCreate(tags: Tag[], stored: Tag[] = tags): Promise<void> {
    const id = await this.resource();
    this.expectWritten(await this.create(id, tags), tags);
    expect(await this.list(id)).toEqual(sortTags(stored));
  }

  /** Creating `tags` on a resource holding one tag fails with `code` and changes nothing. */
  async refusesCreate(tags: unknown, code: string, status = 400): Promise<string> {
    const id = await this.resource([{ key: 'keep', value: 'me' }]);
    return this.expectRefused(id, () => this.create(id, tags), code, status);
  }
}
