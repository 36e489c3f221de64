import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface RunningServer {
  server: http.Server;
  /** The bound port (useful when asked for port 0). */
  port: number;
  url: string;
  /** Stops accepting, lets in-flight requests finish, then closes idle keep-alive sockets. Idempotent. */
  close(): Promise<void>;
}

/** Listens on host:port and resolves once bound; rejects with the listen error (e.g. EADDRINUSE). */
export function listen(handler: RequestListener, port: number, host: string): Promise<RunningServer> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      let closing: Promise<void> | undefined;
      resolve({
        server,
        port: bound,
        url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          })),
      });
    });
  });
}

/** One line for a listen error a user can fix, e.g. a port already taken. */
export function describeListenError(err: unknown, what: string, port: number, variable: string): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return `Port ${port} is already in use, so ${what} cannot start. Stop the other process or set ${variable} to a free port.`;
  if (code === 'EACCES') return `No permission to listen on port ${port} for ${what}. Set ${variable} to a port above 1023.`;
  return `${what} could not listen on port ${port}: ${(err as Error)?.message ?? String(err)}`;
}
