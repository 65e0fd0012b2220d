/** The fakes' HTTP servers: a new server listening on a free port of 127.0.0.1. */
import * as http from 'node:http';

/** An HTTP server listening on 127.0.0.1 at a port the OS picks (read it from `server.address()`). */
export async function listenOnLoopback(): Promise<http.Server> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}
