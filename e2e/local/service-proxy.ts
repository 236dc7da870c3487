// Service stand-ins (the local runner's kube-proxy): one loopback address per
// Service a pod reaches by DNS, listening on each Service port and passing
// every TCP connection to a ready pod the Service selects, round robin. The
// endpoints come from the runner's own pods: the API server refuses loopback
// addresses in EndpointSlices, so the controller-manager cannot publish them. The addresses are stable for the Service's life, so a Redis pod
// replaced by its Deployment is reachable again at the same address, as a
// ClusterIP would be.
import type { V1Service } from '@kubernetes/client-node';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressPool } from './addresses.js';
import type { ServiceRef } from './launch.js';

/** Backend is one ready endpoint address and port. */
export interface Backend {
  readonly address: string;
  readonly port: number;
}

/** EndpointPod is what endpoint selection needs to know about one pod. */
export interface EndpointPod {
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
  /** ready: every container Ready and the pod not terminating. */
  readonly ready: boolean;
  readonly containerPorts: readonly { name?: string; containerPort: number }[];
}

/** readyBackends picks, for one Service port, the ready pods its selector matches, in a stable order
 * (what the EndpointSlice controller and kube-proxy would compute). */
export function readyBackends(service: V1Service, portName: string | undefined, pods: readonly EndpointPod[]): Backend[] {
  const selector = service.spec?.selector;
  const servicePort = service.spec?.ports?.find((p) => (p.name ?? '') === (portName ?? ''));
  if (!selector || Object.keys(selector).length === 0 || !servicePort) return [];
  const target = servicePort.targetPort ?? servicePort.port;
  const backends: Backend[] = [];
  for (const pod of pods) {
    if (!pod.ready || !Object.entries(selector).every(([k, v]) => pod.labels[k] === v)) continue;
    const port =
      typeof target === 'number' || /^\d+$/.test(String(target))
        ? Number(target)
        : pod.containerPorts.find((p) => p.name === target)?.containerPort;
    if (port !== undefined) backends.push({ address: pod.ip, port });
  }
  return backends.sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
}

interface StandIn {
  readonly service: V1Service;
  readonly host: string;
  readonly firstPort: number;
  readonly servers: Server[];
}

/** ServiceProxies owns every stand-in; ensure() creates one on first use. */
export class ServiceProxies {
  private readonly standIns = new Map<string, StandIn>();
  private readonly sockets = new Set<Socket>();
  private turn = 0;

  constructor(
    private readonly pool: AddressPool,
    /** podsIn returns the runner's pods of a namespace. */
    private readonly podsIn: (namespace: string) => readonly EndpointPod[],
  ) {}

  /** addressOf returns a stand-in that already exists. */
  addressOf(ref: ServiceRef): { host: string; firstPort: number } | undefined {
    return this.standIns.get(`${ref.namespace}/${ref.name}`);
  }

  /** ensure starts the stand-in for a Service (read by the caller) unless it runs already. */
  async ensure(service: V1Service): Promise<{ host: string; firstPort: number }> {
    const namespace = service.metadata?.namespace ?? 'default';
    const name = service.metadata?.name ?? '';
    const key = `${namespace}/${name}`;
    const existing = this.standIns.get(key);
    if (existing) return existing;
    const host = this.pool.allocate();
    const ports = service.spec?.ports ?? [];
    const servers: Server[] = [];
    for (const p of ports) {
      const server = createServer((socket) => this.forward(socket, service, p.name));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(p.port, host, () => resolve());
      });
      servers.push(server);
    }
    const standIn: StandIn = { service, host, firstPort: ports[0]?.port ?? 0, servers };
    this.standIns.set(key, standIn);
    return standIn;
  }

  private forward(client: Socket, service: V1Service, portName: string | undefined): void {
    const backends = readyBackends(service, portName, this.podsIn(service.metadata?.namespace ?? 'default'));
    if (backends.length === 0) {
      // No ready endpoint: the same outcome as kube-proxy's reject rule.
      client.destroy();
      return;
    }
    const backend = backends[this.turn++ % backends.length] as Backend;
    const upstream = connect(backend.port, backend.address);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** close stops every stand-in and cuts their connections. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const all = [...this.standIns.values()];
    this.standIns.clear();
    await Promise.all(
      all.flatMap((s) => s.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))),
    );
    for (const s of all) this.pool.release(s.host);
  }
}
