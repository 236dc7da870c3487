// Binding a listener, for the relay's main server and its peer-link listener
// (both bind HOST, so both need the same fallback). In net/, a leaf that
// imports nothing from the relay, so the backplane never imports the server.
import type { Server } from 'node:net';

/** ANY_ADDRESS_V6 is the unspecified IPv6 address: with IPv6 on, Linux accepts IPv4 on it too. */
export const ANY_ADDRESS_V6 = '::';
const ANY_ADDRESS_V4 = '0.0.0.0';

function bind(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * listen binds server to host:port and resolves with the host actually bound,
 * or rejects with the bind error. HOST=:: (every address, which the operator
 * sets so IPv6-only and dual-stack clusters reach the pod) falls back to
 * 0.0.0.0 on a kernel without IPv6 (EAFNOSUPPORT); nothing else falls back.
 */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  try {
    await bind(server, port, host);
    return host;
  } catch (err) {
    if (host !== ANY_ADDRESS_V6 || (err as { code?: string }).code !== 'EAFNOSUPPORT') throw err;
    await bind(server, port, ANY_ADDRESS_V4);
    return ANY_ADDRESS_V4;
  }
}
