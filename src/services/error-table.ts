import type { AppError, AppErrorKind } from '../core/app-error.js';
import type { ErrorCatalogue, ErrorRow, RouteDef, ServiceProfile } from './profile.js';

const cache = new WeakMap<ErrorCatalogue, Map<AppErrorKind, ErrorRow>>();

/**
 * The row of the profile's error table for a kind: the row listing it, else the service's generic
 * invalid-parameter code (the first 400 row).
 */
export function errorRowFor(profile: ErrorCatalogue, kind: AppErrorKind): ErrorRow {
  let map = cache.get(profile);
  if (!map) {
    map = new Map();
    for (const row of profile.errors) for (const k of row.kinds) if (!map.has(k)) map.set(k, row);
    cache.set(profile, map);
  }
  const row = map.get(kind) ?? genericRow(profile);
  return row;
}

export function genericRow(profile: ErrorCatalogue): ErrorRow {
  const row = profile.errors.find((r) => r.status === 400);
  if (!row) throw new Error(`profile ${profile.id} has no 400 row`);
  return row;
}

/** What an error is answered with in an API's envelope. */
export interface RenderedError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

const PLACEHOLDER = /\{(detail|resource_id|action)\}/g;

/**
 * The status, code and message of an error in an API's table. A row's fixed message takes the
 * error's details; a row whose message quotes a detail the error lacks says what went wrong
 * instead.
 */
export function renderError(profile: ErrorCatalogue, err: AppError): RenderedError {
  const row = errorRowFor(profile, err.kind);
  return { status: row.status, code: row.code, message: messageOf(row, err) };
}

/**
 * A hint (how to register an unknown resource) follows a message of ours; a row whose message is
 * the service's published text (ModelArts.6404) answers that text exactly, as clients match it.
 */
function messageOf(row: ErrorRow, err: AppError): string {
  const { hint } = err.details;
  const message = serviceMessage(row, err);
  return hint === undefined || row.message !== undefined ? message : `${message} ${hint}`;
}

function serviceMessage(row: ErrorRow, err: AppError): string {
  if (row.message === undefined) return err.message;
  const values: Record<string, string | undefined> = {
    detail: err.message,
    resource_id: err.details.resourceId,
    action: err.details.action,
  };
  let complete = true;
  const text = row.message.replace(PLACEHOLDER, (_, name: string) => {
    const v = values[name];
    if (v === undefined) complete = false;
    return v ?? '';
  });
  return complete ? text : err.message;
}

/**
 * The catalogue a route answers with: its own rows (RouteDef.errors) before its service's, so a
 * kind it does not list is answered as the service answers it, and its own first 400 row is the
 * generic invalid-parameter code. A route without rows of its own answers as its service.
 */
export function routeCatalogue(profile: ServiceProfile, route: RouteDef): ErrorCatalogue {
  if (!route.errors) return profile;
  return {
    id: route.errors.id,
    envelope: route.errors.envelope,
    errors: [...route.errors.errors, ...profile.errors],
    internalError: profile.internalError,
  };
}
