import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogFormat } from './config.js';

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
      hooks: {
        // Fastify announces each address it listens on; the `started` line already carries the
        // URL, and standard output has the listening line: one would be said three times.
        logMethod(args, method) {
          if (typeof args[0] === 'string' && args[0].startsWith('Server listening at ')) return;
          method.apply(this, args);
        },
      },
    },
    destination,
  );
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

function fieldText(value: unknown): string {
  return typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * One JSON log line as a person reads it: `12:04:05.123 INFO  request method=GET url=/ status=200`,
 * with an error's stack indented below.
 */
export function textLogLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { level, time, msg, pid: _pid, hostname: _host, err, ...rest } = entry;
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const name = (LEVEL_NAMES[Number(level)] ?? String(level)).padEnd(5);
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${fieldText(v)}`);
  let line = [clock, name, typeof msg === 'string' ? msg : '', ...fields]
    .filter((p) => p !== '')
    .join(' ');
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; stack?: unknown };
    const detail = typeof e.stack === 'string' ? e.stack : String(e.message ?? '');
    line += `\n    ${detail.replaceAll('\n', '\n    ')}`;
  }
  return `${line}\n`;
}

/**
 * Where the logs go: standard error, as JSON lines for machines, or as text lines for a person
 * at a terminal (`auto` chooses text when standard output is a terminal).
 */
export function logDestination(format: LogFormat, isTerminal = Boolean(process.stdout.isTTY)) {
  const text = format === 'text' || (format === 'auto' && isTerminal);
  if (!text) return pino.destination({ fd: 2, sync: false });
  const out = pino.destination({ fd: 2, sync: true });
  return {
    write(line: string) {
      out.write(textLogLine(line));
    },
    flush() {
      out.flushSync();
    },
  } as DestinationStream;
}
