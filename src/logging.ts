import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * The server's logger. Request logs carry method, URL, status and time only (see app.ts); as a
 * second line of defence, the fields that can carry credentials are censored wherever an object
 * with them is logged.
 */
export function createLogger(level: string, destination: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-auth-token"]',
          'req.headers["x-subject-token"]',
          '*.password',
          '*.secret_key',
          '*.secretKey',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
