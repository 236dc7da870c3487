// The provider abstraction: what differs between the local pod runner and a
// kind cluster, so the suite files are the same for both.
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { Termination } from '../local/pod-runner.js';
import './context.js';
import type { E2eContext } from './context.js';
import { kindProvider } from './provider-kind.js';
import { localProvider } from './provider-local.js';
import type { Upstream } from './tcp-router.js';

/** Provider is one kind of cluster as the suite sees it. */
export interface Provider {
  readonly ctx: E2eContext;
  readonly kc: KubeConfig;
  /** platformHost: where suite-side servers listen so pods can reach them, and the host pods use in URLs. */
  readonly platformHost: { readonly listen: string; readonly url: string };
  /** perPodHosts is true when a pinned relay's per-pod public URL is reachable from this machine. */
  readonly perPodHosts: boolean;
  /** reach returns an address on this machine connected to a pod's container port. */
  reach(pod: V1Pod, port: number): Promise<Upstream>;
  /** terminations lists how deleted containers stopped (local only; undefined where the kubelet is real). */
  terminations(): Termination[] | undefined;
  close(): Promise<void>;
}

/** useProvider builds the provider the global setup chose. */
export function useProvider(): Provider {
  const ctx = inject('e2e');
  const kc = new KubeConfig();
  kc.loadFromFile(ctx.kubeconfigPath);
  return ctx.provider === 'local' ? localProvider(ctx, kc) : kindProvider(ctx, kc);
}
