import type { AppError } from '../core/app-error.js';
import { renderError } from '../services/error-table.js';
import type { ErrorCatalogue } from '../services/profile.js';
import { gatewayBody } from './gateway-errors.js';

export interface ErrorReply {
  readonly status: number;
  readonly body: unknown;
}

/** Renders errors in the envelope of the API a route belongs to. */
export interface ErrorRenderer {
  domain(err: AppError, requestId: string): ErrorReply;
  /** An unexpected failure: a generic body; the details go to the log only. */
  internal(requestId: string): ErrorReply;
}

export const INTERNAL_MESSAGE =
  'An internal error occurred; the request was not applied. Quote the X-Request-Id when reporting it.';

export { gatewayBody };

function serviceBody(profile: ErrorCatalogue, code: string, message: string): unknown {
  return profile.envelope === 'flat'
    ? { error_code: code, error_msg: message }
    : { error: { code, message } };
}

export function serviceRenderer(profile: ErrorCatalogue): ErrorRenderer {
  return {
    domain(err) {
      const r = renderError(profile, err);
      return { status: r.status, body: serviceBody(profile, r.code, r.message) };
    },
    internal() {
      const { code, message } = profile.internalError;
      return { status: 500, body: serviceBody(profile, code, message ?? INTERNAL_MESSAGE) };
    },
  };
}

const STATUS_FOR_KIND: Partial<Record<AppError['kind'], number>> = {
  resource_not_found: 404,
  forbidden: 403,
  scope_project: 403,
  scope_domain: 403,
  conflict: 409,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
};

export function keystoneBody(status: number, message: string) {
  return { error: { code: status, message, title: TITLES[status] ?? 'Error' } };
}

/** IAM (Keystone v3) routes: `{"error":{"code":400,"message","title"}}`. */
export const keystoneRenderer: ErrorRenderer = {
  domain(err) {
    const status = STATUS_FOR_KIND[err.kind] ?? 400;
    return { status, body: keystoneBody(status, err.message) };
  },
  internal() {
    return { status: 500, body: keystoneBody(500, INTERNAL_MESSAGE) };
  },
};

/** The admin API: `{"error_code":"ADMIN.0400","error_msg","request_id"}`. */
export const adminRenderer: ErrorRenderer = {
  domain(err, requestId) {
    const status = STATUS_FOR_KIND[err.kind] ?? 400;
    return { status, body: gatewayBody(`ADMIN.0${status}`, err.message, requestId) };
  },
  internal(requestId) {
    return { status: 500, body: gatewayBody('ADMIN.0500', INTERNAL_MESSAGE, requestId) };
  },
};
