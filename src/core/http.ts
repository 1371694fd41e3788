/**
 * Listening on a TCP port for the pages draco serves (the dashboard, the volunteers' page), with
 * one line for the user when the port cannot be had.
 */
import type { Server } from 'node:http';
import { UsageError } from './errors.js';

/** Listen on `host:port` (0: any free port); resolves to the page's base URL. `what` names the server in errors. */
export async function listenHttp(server: Server, host: string, port: number, what: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'EADDRINUSE'
          ? `port ${port} is in use on ${host} (pick another, or 0 for any free port)`
          : e.code === 'EACCES'
            ? `not allowed to listen on port ${port} (ports below 1024 need privileges)`
            : `cannot listen on ${host}:${port}: ${e.code ?? e.message}`;
      reject(new UsageError(`${what}: ${why}`));
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
}
