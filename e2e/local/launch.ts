// What process stands in for a container image, and the local-network
// shortcuts applied to its environment. Pure: (pod, container, env) -> plan.
//
// Shortcuts (documented in docs/e2e.md):
// - every pod has its own loopback address; HOST (relay) and --bind (redis)
//   are set to it, so the process listens on the container port at the pod IP;
// - `<svc>.<ns>.svc[.cluster.local]` in an env value or argument becomes the
//   address of that Service's stand-in (a loopback TCP balancer over its
//   ready endpoints) because there is no cluster DNS;
// - `<name>.<ingressDomain>` (per-pod public hosts of pinned routing) becomes
//   the stand-in of the Service `<name>` on its first port: the ingress the
//   operator would configure is replaced by a direct route.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { expandReferences } from './env.js';

/** ServiceRef names a Service a container reaches by DNS. */
export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
}

/** ServiceAddress is where a Service's stand-in listens, per Service port. */
export type ServiceAddressOf = (ref: ServiceRef) => { host: string; firstPort: number } | undefined;

/** LaunchPlan is the process that plays one container. */
export interface LaunchPlan {
  readonly kind: 'relay' | 'redis';
  readonly command: string;
  readonly args: string[];
  readonly env: Record<string, string>;
}

/** LaunchSettings are the runner's fixed facts. */
export interface LaunchSettings {
  /** nodeBinary runs the relay's built CLI (Node 22). */
  readonly nodeBinary: string;
  /** relayCli is the absolute path of relay/dist/cli.js. */
  readonly relayCli: string;
  readonly redisServer: string;
  /** ingressDomain is the DNS suffix whose first label names a Service (per-pod hosts). */
  readonly ingressDomain: string;
  /** workDir is a per-container scratch directory (redis --dir). */
  readonly workDir: string;
}

/** imageKind maps an image reference to the process that plays it, by repository name (tag ignored). */
export function imageKind(image: string): 'relay' | 'redis' | undefined {
  const withoutDigest = image.split('@')[0] ?? image;
  // A registry under the reserved .invalid domain can never be pulled from: the
  // way a test asks for an unpullable image (whatever its repository is called).
  const segments = withoutDigest.split('/');
  if (segments.length > 1 && /\.invalid(:\d+)?$/.test(segments[0] ?? '')) return undefined;
  const lastSegment = withoutDigest.split('/').pop() ?? withoutDigest;
  const repository = lastSegment.split(':')[0] ?? lastSegment;
  if (/(^|-)(redis|valkey)($|-)/.test(repository)) return 'redis';
  if (/(^|-)relay($|-)/.test(repository)) return 'relay';
  return undefined;
}

const SERVICE_DNS = /\b([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?\b/g;

/** servicesReferenced lists the Services named by cluster DNS names in the given texts. */
export function servicesReferenced(texts: readonly string[]): ServiceRef[] {
  const refs = new Map<string, ServiceRef>();
  for (const text of texts) {
    for (const m of text.matchAll(SERVICE_DNS)) {
      const name = m[1] ?? '';
      const namespace = m[3] ?? '';
      refs.set(`${namespace}/${name}`, { namespace, name });
    }
  }
  return [...refs.values()];
}

/** ingressServicesReferenced lists the Services named by `<name>.<ingressDomain>` hosts in the texts. */
export function ingressServicesReferenced(texts: readonly string[], namespace: string, ingressDomain: string): ServiceRef[] {
  const refs = new Map<string, ServiceRef>();
  const pattern = ingressPattern(ingressDomain);
  for (const text of texts) {
    for (const m of text.matchAll(pattern)) refs.set(m[1] ?? '', { namespace, name: m[1] ?? '' });
  }
  return [...refs.values()];
}

function ingressPattern(domain: string): RegExp {
  const escaped = domain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`//([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\.${escaped}(:\\d+)?(?=[/?#]|$)`, 'g');
}

/** rewriteNetworkNames applies the DNS and ingress shortcuts to one text; unknown Services stay as written. */
export function rewriteNetworkNames(text: string, namespace: string, ingressDomain: string, addressOf: ServiceAddressOf): string {
  const viaDns = text.replace(SERVICE_DNS, (match, name: string, _a: unknown, ns: string) => {
    return addressOf({ namespace: ns, name })?.host ?? match;
  });
  return viaDns.replace(ingressPattern(ingressDomain), (match, name: string) => {
    const address = addressOf({ namespace, name });
    return address ? `//${address.host}:${String(address.firstPort)}` : match;
  });
}

function containerPort(container: V1Container): number | undefined {
  return container.ports?.[0]?.containerPort;
}

/** launchPlan decides how to run a container, or says why it cannot. */
export function launchPlan(
  pod: V1Pod,
  container: V1Container,
  env: Readonly<Record<string, string>>,
  podIP: string,
  settings: LaunchSettings,
  addressOf: ServiceAddressOf,
): { ok: true; plan: LaunchPlan } | { ok: false; error: string } {
  const kind = imageKind(container.image ?? '');
  if (kind === undefined) return { ok: false, error: `image ${container.image ?? '(none)'} has no local stand-in` };
  const namespace = pod.metadata?.namespace ?? 'default';
  const rewrite = (text: string) => rewriteNetworkNames(text, namespace, settings.ingressDomain, addressOf);
  const rewrittenEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) rewrittenEnv[name] = rewrite(value);
  // The image's entrypoint is what the stand-in replaces; only args carry over.
  const args = (container.args ?? []).map((a) => rewrite(expandReferences(a, env)));
  if (kind === 'relay') {
    rewrittenEnv.HOST = podIP;
    return {
      ok: true,
      plan: { kind, command: settings.nodeBinary, args: [settings.relayCli, ...args], env: rewrittenEnv },
    };
  }
  const port = containerPort(container) ?? 6379;
  return {
    ok: true,
    plan: {
      kind,
      command: settings.redisServer,
      // Later flags win, so the pod's own flags come first and the network ones last.
      args: [...args, '--port', String(port), '--bind', podIP, '--dir', settings.workDir, '--protected-mode', 'no'],
      env: rewrittenEnv,
    },
  };
}
