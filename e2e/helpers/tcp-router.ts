// A TCP router on this machine for the suite: each accepted connection goes
// to the upstream `pick` chooses for it (by arrival index), and the choices
// are recorded. It stands in for a Service or load balancer in front of relay
// pods, so a test decides which pod the daemon and the client land on.
// `latencyMs` delays what flows back to the caller, like a slow network, so a
// probe's stream lasts as long as a rollout does.
import { connect, createServer, type Socket } from 'node:net';

/** Upstream is a host:port reachable from this machine. */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/** RoutedConnection records where one accepted connection went. */
export interface RoutedConnection {
  readonly index: number;
  readonly upstream: Upstream | undefined;
}

/** TcpRouter is a running router. */
export interface TcpRouter {
  readonly host: string;
  readonly port: number;
  readonly connections: readonly RoutedConnection[];
  /** latencyMs applies to upstream → caller data from now on; 0 turns it off. */
  latencyMs: number;
  /** bytesToCallers counts upstream → caller bytes delivered so far. */
  readonly bytesToCallers: number;
  close(): Promise<void>;
}

/** startTcpRouter listens on host (port 0) and routes each connection to pick(index); undefined refuses it. */
export async function startTcpRouter(o: {
  host: string;
  pick: (index: number) => Promise<Upstream | undefined> | Upstream | undefined;
}): Promise<TcpRouter> {
  const connections: RoutedConnection[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const router = { latencyMs: 0, bytesToCallers: 0 };

  const server = createServer((client) => {
    const index = accepted++;
    sockets.add(client);
    client.pause();
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    void Promise.resolve(o.pick(index)).then(
      (upstream) => {
        connections.push({ index, upstream });
        if (!upstream || client.destroyed) {
          client.destroy();
          return;
        }
        const remote = connect(upstream.port, upstream.host);
        sockets.add(remote);
        const end = () => {
          client.destroy();
          remote.destroy();
          sockets.delete(remote);
        };
        remote.on('error', end).on('close', end);
        client.on('close', end);
        client.pipe(remote);
        client.resume();
        const deliver = (chunk: Buffer): void => {
          if (client.destroyed) return;
          client.write(chunk);
          router.bytesToCallers += chunk.length;
        };
        // Delay chunks in order: each waits for the previous one.
        let chain = Promise.resolve();
        remote.on('data', (chunk: Buffer) => {
          const delay = router.latencyMs;
          if (delay <= 0) {
            chain = chain.then(() => deliver(chunk));
            return;
          }
          chain = chain.then(
            () =>
              new Promise<void>((resolve) =>
                setTimeout(() => {
                  deliver(chunk);
                  resolve();
                }, delay),
              ),
          );
        });
      },
      () => client.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, o.host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('router has no TCP address');
  return Object.assign(router, {
    host: o.host,
    port: address.port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
}
