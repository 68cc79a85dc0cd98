import type { Principal } from './principal.js';
import type { Tag } from './tag.js';

/** Who made a change, as an event shows it. Never a secret: an access key id, not its secret. */
export interface EventPrincipal {
  readonly type: 'root' | 'iam_user' | 'admin' | 'open';
  readonly user_id?: string;
  readonly user_name?: string;
  readonly access_key?: string;
}

/** One tag's change: `old` null when it was added, `new` null when it was removed. */
export interface TagChange {
  readonly key: string;
  readonly old: string | null;
  readonly new: string | null;
}

/** Where a change comes from: the route, the caller and the request. */
export interface ChangeOrigin {
  readonly service: string;
  /** The operationId of the route. */
  readonly operation: string;
  readonly principal: EventPrincipal;
  readonly sourceIp: string;
  readonly requestId: string;
}

/** A change of one resource's tags, before it is stored (the store gives it its id). */
export interface NewChangeEvent {
  readonly time: string;
  readonly projectId: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly origin: ChangeOrigin;
  readonly changes: readonly TagChange[];
}

/** One stored event of the change log, in its wire shape. */
export interface ChangeEvent {
  /** Decimal: ids grow past 2^53 as a bigint column may. */
  readonly id: string;
  readonly time: string;
  readonly domain_id: string;
  readonly project_id: string;
  readonly resource_type: string;
  readonly resource_id: string;
  readonly service: string;
  readonly operation: string;
  readonly principal: EventPrincipal;
  readonly source_ip: string;
  readonly request_id: string;
  readonly changes: TagChange[];
}

/** The event principal of a verified caller. */
export function eventPrincipal(p: Principal): EventPrincipal {
  if (p.scope.kind === 'open') return { type: 'open' };
  return {
    type: p.root ? 'root' : 'iam_user',
    user_id: p.userId,
    user_name: p.userName,
    ...(p.scope.kind === 'signature' ? { access_key: p.scope.accessKey } : {}),
  };
}

export const ADMIN_PRINCIPAL: EventPrincipal = Object.freeze({ type: 'admin' });

/** A change made through the admin API (or at start-up, with no request: no address, no id). */
export function adminOrigin(operation: string, sourceIp = '', requestId = ''): ChangeOrigin {
  return { service: 'admin', operation, principal: ADMIN_PRINCIPAL, sourceIp, requestId };
}

/**
 * The changes that turn `before` into `after`, keys in code-point order; none when they hold the
 * same tags.
 */
export function tagChanges(before: readonly Tag[], after: readonly Tag[]): TagChange[] {
  const old = new Map(before.map((t) => [t.key, t.value]));
  const next = new Map(after.map((t) => [t.key, t.value]));
  const keys = [...new Set([...old.keys(), ...next.keys()])].sort(compareCodePoints);
  const out: TagChange[] = [];
  for (const key of keys) {
    const o = old.get(key) ?? null;
    const n = next.get(key) ?? null;
    if (o !== n) out.push({ key, old: o, new: n });
  }
  return out;
}

/** Code-point order (JavaScript's `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
