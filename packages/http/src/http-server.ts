import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface RunningServer {
  server: http.Server;
  /** The bound port (useful when asked for port 0). */
  port: number;
  url: string;
  /**
   * Graceful close, idempotent: stops accepting connections, keeps serving for `drainMs` so requests
   * already written on open keep-alive sockets are still answered (each answer then says
   * `Connection: close`), then closes idle sockets and waits for in-flight requests.
   */
  close(drainMs?: number): Promise<void>;
}

/** Default drain period of close(), in ms: long enough for a request already on the wire to be read. */
export const DEFAULT_DRAIN_MS = 500;

/** Listens on host:port and resolves once bound; rejects with the listen error (e.g. EADDRINUSE). */
export function listen(handler: RequestListener, port: number, host: string): Promise<RunningServer> {
  let draining = false;
  const server = http.createServer((req, res) => {
    if (draining) res.setHeader('Connection', 'close');
    handler(req, res);
  });
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
        close: (drainMs = DEFAULT_DRAIN_MS) =>
          (closing ??= new Promise<void>((done) => {
            // http.Server.close() would close idle keep-alive sockets at once, resetting a request a
            // client wrote a moment ago that the server has not read yet. net.Server's close only
            // stops accepting; answers during the drain ask the client to close its socket.
            draining = true;
            net.Server.prototype.close.call(server, () => done());
            setTimeout(() => server.closeIdleConnections(), drainMs).unref();
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
