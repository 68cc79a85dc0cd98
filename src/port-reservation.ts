import cluster from 'node:cluster';
import { createServer, type Server } from 'node:net';

/** A port held by this process until `release()`, so that a start fails before it creates anything. */
export interface PortReservation {
  /** The port held: the one asked for, or the one the system chose for 0. */
  readonly port: number;
  release(): Promise<void>;
}

/** The start cannot listen where it was told to; the message says what to do instead. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

export function listenErrorMessage(err: NodeJS.ErrnoException, host: string, port: number): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${port} is in use on ${host}: pass --port N (another port) or --port 0 (any free port), or stop what holds it`;
    case 'EACCES':
      return `port ${port} on ${host} needs privileges this process lacks: pass --port N with N above 1023, or --port 0 (any free port)`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return `cannot listen on ${host}: no such address on this machine; pass --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)`;
    default:
      return `cannot listen on ${host}:${port}: ${err.message}`;
  }
}

/**
 * Binds `host:port` before anything else happens. A first start whose port is taken must not
 * leave a database, a master key and a demo user behind whose credentials it never printed.
 * The server listens on the same port right after `release()`.
 *
 * Meanwhile nothing is served: a client that connects while the start prepares the database (a
 * health check polling the port) is closed at once, as if nothing listened yet, and tries again.
 * Held open, its connection would also hold `release()`, which waits for the reservation's
 * connections to end: a client without a timeout would keep the start from ever listening.
 */
export async function reservePort(host: string, port: number): Promise<PortReservation> {
  // A worker of `serve --workers` listens through the primary, which made the check already;
  // an exclusive handle here would leave the worker outside the shared port.
  if (cluster.isWorker) return { port, release: async () => {} };
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ListenError(listenErrorMessage(err, host, port))),
    );
    server.listen({ host, port, exclusive: true }, resolve);
  });
  const address = server.address();
  const held = typeof address === 'object' && address ? address.port : port;
  let released: Promise<void> | undefined;
  return {
    port: held,
    release() {
      released ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return released;
    },
  };
}
