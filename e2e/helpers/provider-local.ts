// The local provider: pods listen on their own loopback addresses, so the
// suite reaches them directly; the runner records every termination.
import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import type { Termination } from '../local/pod-runner.js';
import type { E2eContext } from './context.js';
import type { Provider } from './provider.js';

/** LOCAL_PLATFORM_HOST is a loopback address other than 127.0.0.1 (which the relay treats as "local development"). */
const LOCAL_PLATFORM_HOST = '127.0.0.2';

/** localProvider reaches pods by their pod IPs. */
export function localProvider(ctx: E2eContext, kc: KubeConfig): Provider {
  const local = ctx.local;
  if (local === undefined) throw new Error('local provider without local context');
  return {
    ctx,
    kc,
    platformHost: { listen: LOCAL_PLATFORM_HOST, url: LOCAL_PLATFORM_HOST },
    perPodHosts: true,
    reach(pod, port) {
      const host = pod.status?.podIP;
      if (host === undefined) return Promise.reject(new Error(`pod ${pod.metadata?.name ?? ''} has no IP yet`));
      return Promise.resolve({ host, port });
    },
    terminations() {
      if (!existsSync(local.terminationsPath)) return [];
      return readFileSync(local.terminationsPath, 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Termination);
    },
    close: () => Promise.resolve(),
  };
}
