/**
 * The API gateway's error catalogue: what tagplane answers in the gateway envelope
 * `{"error_code","error_msg","request_id"}` for requests no service answers itself. Codes,
 * statuses and messages are those of the API Gateway's published error table (APIG user guide,
 * "Error Codes"); where the gateway sends no detail, the message here adds what went wrong.
 */
export const GATEWAY_ERRORS = {
  /** No route serves this method and path. */
  notFound: {
    status: 404,
    code: 'APIG.0101',
    message: 'The API does not exist or has not been published in the environment.',
  },
  /**
   * A request the gateway cannot parse: bad percent-encoding, a path segment too long, not
   * valid HTTP.
   */
  badRequest: { status: 400, code: 'APIG.0201', message: 'API request error.' },
  requestTimeout: { status: 408, code: 'APIG.0201', message: 'Request timeout.' },
  bodyTooLarge: { status: 413, code: 'APIG.0201', message: 'Request entity too large.' },
  uriTooLarge: { status: 414, code: 'APIG.0201', message: 'Request URI too large.' },
  headersTooLarge: { status: 431, code: 'APIG.0201', message: 'Request headers too large.' },
  /** Credentials missing, malformed, unknown, expired or wrongly signed. */
  unauthorized: {
    status: 401,
    code: 'APIG.0301',
    message: 'Incorrect IAM authentication information.',
  },
  throttled: {
    status: 429,
    code: 'APIG.0308',
    message: 'The throttling threshold has been reached.',
  },
  /** The store cannot be reached (PostgreSQL unreachable; SQLite: full disk, I/O error). */
  backendUnavailable: { status: 502, code: 'APIG.0202', message: 'Backend unavailable' },
  /** A statement or query ran past its time limit (a lock held too long, a statement timeout). */
  backendTimeout: { status: 504, code: 'APIG.0203', message: 'Backend timeout' },
  /** An unexpected failure of a route that has no envelope of its own. */
  internal: { status: 500, code: 'APIG.0201', message: 'An unexpected error occurred.' },
} as const satisfies Record<string, GatewayErrorEntry>;

export interface GatewayErrorEntry {
  readonly status: number;
  readonly code: string;
  /** The gateway's message; a detail, when given, follows it. */
  readonly message: string;
}

export type GatewayErrorName = keyof typeof GATEWAY_ERRORS;

/** The gateway envelope. */
export function gatewayBody(code: string, message: string, requestId: string) {
  return { error_code: code, error_msg: message, request_id: requestId };
}

/** The message of a catalogue entry, with what went wrong after it when there is a detail. */
export function gatewayMessage(name: GatewayErrorName, detail?: string): string {
  const { message } = GATEWAY_ERRORS[name];
  if (detail === undefined || detail === '') return message;
  return `${message.replace(/\.$/, '')}: ${detail}`;
}

/** What a catalogue entry answers: its status and its body in the gateway envelope. */
export function gatewayReply(name: GatewayErrorName, requestId: string, detail?: string) {
  const entry = GATEWAY_ERRORS[name];
  return {
    status: entry.status,
    body: gatewayBody(entry.code, gatewayMessage(name, detail), requestId),
  };
}

/** The message of an injected fault that names none and has no message of its own. */
export const INJECTED_MESSAGE =
  'The request failed: a fault was injected for testing (see GET /admin/v1/faults).';

const entries = Object.values(GATEWAY_ERRORS) as GatewayErrorEntry[];

/** The gateway's entry for a status (the first listed), if it has one. */
export function gatewayEntryForStatus(status: number): GatewayErrorEntry | undefined {
  return entries.find((e) => e.status === status);
}

/**
 * An injected fault answered in the gateway envelope: with `code` (an `APIG.` code) or else the
 * gateway's own code for the status; the gateway's message for that code and status unless the
 * fault gives one.
 */
export function gatewayFaultReply(
  status: number,
  code: string | undefined,
  message: string | undefined,
  requestId: string,
) {
  const entry =
    code === undefined
      ? gatewayEntryForStatus(status)
      : (entries.find((e) => e.code === code && e.status === status) ??
        entries.find((e) => e.code === code));
  const body = gatewayBody(
    code ?? entry?.code ?? GATEWAY_ERRORS.internal.code,
    message ?? entry?.message ?? INJECTED_MESSAGE,
    requestId,
  );
  return { status, body };
}

/** Whether an error code is the gateway's (answered in its envelope). */
export function isGatewayCode(code: string): boolean {
  return code.startsWith('APIG.');
}

/** An error answered in the gateway envelope with a catalogue entry. */
export class GatewayError extends Error {
  constructor(
    readonly entry: GatewayErrorName,
    detail?: string,
  ) {
    super(gatewayMessage(entry, detail));
    this.name = 'GatewayError';
  }

  get status(): number {
    return GATEWAY_ERRORS[this.entry].status;
  }

  get code(): string {
    return GATEWAY_ERRORS[this.entry].code;
  }
}
