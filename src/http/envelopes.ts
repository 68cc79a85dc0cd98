import type { AppError } from '../core/app-error.js';
import { genericRow, renderError } from '../services/error-table.js';
import type { ErrorCatalogue } from '../services/profile.js';
import {
  gatewayBody,
  gatewayEntryForStatus,
  gatewayFaultReply,
  INJECTED_MESSAGE,
  isGatewayCode,
} from './gateway-errors.js';

export interface ErrorReply {
  readonly status: number;
  readonly body: unknown;
}

/** Renders errors in the envelope of the API a route belongs to. */
export interface ErrorRenderer {
  domain(err: AppError, requestId: string): ErrorReply;
  /** An unexpected failure: a generic body; the details go to the log only. */
  internal(requestId: string): ErrorReply;
  /**
   * An injected fault's error (admin/faults.ts): a gateway code in the gateway envelope, any
   * other in this API's; without a code, this API's own code for the status.
   */
  injected(error: InjectedError, requestId: string): ErrorReply;
}

export interface InjectedError {
  readonly status: number;
  readonly code?: string;
  readonly message?: string;
}

export const INTERNAL_MESSAGE =
  'An internal error occurred; the request was not applied. Quote the X-Request-Id when reporting it.';

export { gatewayBody };

function serviceBody(profile: ErrorCatalogue, code: string, message: string): unknown {
  return profile.envelope === 'flat'
    ? { error_code: code, error_msg: message }
    : { error: { code, message } };
}

/** A row's message, when it is fixed (quotes no detail of an error). */
const fixedMessage = (message: string | undefined) =>
  message !== undefined && !message.includes('{') ? message : undefined;

/**
 * A service's answer to an injected error without a code: the first row of its table with the
 * status (its internal-error code for 500); else the gateway's code for the status, as the
 * gateway answers what the service itself never does (401, 429, 502, 504); else the service's
 * internal-error code (5xx) or its generic invalid-parameter code (4xx).
 */
function injectedServiceError(profile: ErrorCatalogue, e: InjectedError, requestId: string) {
  const internal = () => ({
    code: profile.internalError.code,
    message: profile.internalError.message ?? INTERNAL_MESSAGE,
  });
  let own: { code: string; message?: string | undefined } | undefined;
  if (e.code !== undefined) own = { code: e.code };
  else if (e.status === 500) own = internal();
  else {
    const row = profile.errors.find((r) => r.status === e.status);
    if (row) own = { code: row.code, message: fixedMessage(row.message) };
    else if (gatewayEntryForStatus(e.status)) {
      return gatewayFaultReply(e.status, undefined, e.message, requestId);
    } else if (e.status >= 500) own = internal();
    else {
      const row400 = genericRow(profile);
      own = { code: row400.code, message: fixedMessage(row400.message) };
    }
  }
  return {
    status: e.status,
    body: serviceBody(profile, own.code, e.message ?? own.message ?? INJECTED_MESSAGE),
  };
}

export function serviceRenderer(profile: ErrorCatalogue): ErrorRenderer {
  return {
    injected(e, requestId) {
      if (e.code !== undefined && isGatewayCode(e.code)) {
        return gatewayFaultReply(e.status, e.code, e.message, requestId);
      }
      return injectedServiceError(profile, e, requestId);
    },
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
  injected(e, requestId) {
    if (e.code !== undefined && isGatewayCode(e.code)) {
      return gatewayFaultReply(e.status, e.code, e.message, requestId);
    }
    // Keystone's code is the status itself.
    return { status: e.status, body: keystoneBody(e.status, e.message ?? INJECTED_MESSAGE) };
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
  injected(e, requestId) {
    return {
      status: e.status,
      body: gatewayBody(e.code ?? `ADMIN.0${e.status}`, e.message ?? INJECTED_MESSAGE, requestId),
    };
  },
};
