// Free loopback ports for components that cannot report the port they bound.
import { createServer } from 'node:net';

/** freePort asks the kernel for an unused 127.0.0.1 port. Another process could
 * take it before the component binds; that shows up as a start failure whose
 * log tail names the port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}
