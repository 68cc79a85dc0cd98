import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../core/app-error.js';
import { identifierProblem } from '../core/ids.js';

/**
 * No identifier reaches the store unchecked: a user, domain, project or resource id or name with
 * a control character or the trace of invalid UTF-8 (see `identifierProblem`) is answered 400 in
 * the route's own envelope (its generic invalid-parameter code), on both stores alike — never a
 * 500 from a database that cannot hold it, never a record no one can name again.
 *
 * Checked here, once for every route: the path parameters and query parameters that are
 * identifiers, and the identifier fields of the admin API's bodies (seed entries, users,
 * resources), wherever they are nested. Tag keys and values are left to each service's rules, and
 * secrets (passwords, secret keys) and policy documents are no identifiers. Bodies the routes read
 * themselves (IAM's login, the cross-service API) check their identifiers where they read them.
 */

/** Path and query parameters that name a user, domain, project, resource or access key. */
const IDENTIFIER_PARAMS = new Set([
  'project_id',
  'domain_id',
  'user_id',
  'access_key',
  'id',
  'server_id',
  'instance_id',
  'cluster_id',
  'resource_id',
  'name',
]);

/** Fields of admin bodies that are identifiers, at any depth. */
const IDENTIFIER_FIELDS = new Set([
  ...IDENTIFIER_PARAMS,
  'enterprise_project_id',
  'domain_name',
  'project_name',
]);

/** Fields of admin bodies that hold no identifiers: secrets, policy documents, tags. */
const OPAQUE_FIELDS = new Set(['password', 'secret_key', 'policies', 'tags', 'Statement']);

function refuse(where: string, problem: string): never {
  throw new AppError('invalid_parameter', `${where} ${problem}.`);
}

function checkValue(value: unknown, name: string, what: string): void {
  if (typeof value !== 'string') return;
  const problem = identifierProblem(value);
  if (problem) refuse(`The ${what} '${name}'`, problem);
}

function checkValues(values: unknown, what: string): void {
  if (values === null || typeof values !== 'object') return;
  // Runs on every request: own keys walked without building an array of entries.
  const record = values as Record<string, unknown>;
  for (const name in record) {
    if (!Object.hasOwn(record, name) || !IDENTIFIER_PARAMS.has(name)) continue;
    const value = record[name];
    if (Array.isArray(value)) for (const v of value) checkValue(v, name, what);
    else checkValue(value, name, what);
  }
}

/**
 * The first identifier field of a JSON document (at any depth) that no record can hold, as a
 * message naming it; undefined when there is none. Used for the admin API's bodies and for a seed
 * file read at start-up.
 */
export function identifierFieldProblem(value: unknown, path = ''): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = identifierFieldProblem(item, `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return undefined;
  for (const [name, v] of Object.entries(value)) {
    if (OPAQUE_FIELDS.has(name)) continue;
    const where = path === '' ? name : `${path}.${name}`;
    if (typeof v === 'string') {
      if (!IDENTIFIER_FIELDS.has(name)) continue;
      const problem = identifierProblem(v);
      if (problem) return `'${where}' ${problem}.`;
    } else {
      const problem = identifierFieldProblem(v, where);
      if (problem) return problem;
    }
  }
  return undefined;
}

/**
 * The query parser leaves a value whose percent-encoding is not UTF-8 (`%FF`) as it was sent, a
 * harmless-looking string: the identifiers among the raw parameters are decoded here to see.
 * (A path that is not UTF-8 never reaches a route: the gateway refuses it, 400 APIG.0201.)
 */
function checkRawQuery(url: string): void {
  const q = url.indexOf('?');
  if (q < 0) return;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    let name: string;
    try {
      name = decodeURIComponent(pair.slice(0, eq));
    } catch {
      continue;
    }
    if (!IDENTIFIER_PARAMS.has(name)) continue;
    try {
      decodeURIComponent(pair.slice(eq + 1).replaceAll('+', ' '));
    } catch {
      refuse(`The query parameter '${name}'`, 'contains an invalid UTF-8 sequence');
    }
  }
}

/**
 * A preHandler hook: refuses a request whose identifiers no record can hold (by throwing, which
 * Fastify answers through the error handler). Not async: it runs on every request.
 */
export function checkIdentifiers(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: (err?: Error) => void,
): void {
  checkValues(request.params, 'path parameter');
  checkRawQuery(request.url);
  checkValues(request.query, 'query parameter');
  if (request.url.startsWith('/admin/')) {
    const problem = identifierFieldProblem(request.body);
    if (problem) throw new AppError('invalid_parameter', problem);
  }
  done();
}
