// Per-file scaffolding of a suite scenario: a provider, a namespace of its
// own with the platform Secret, a fake platform, failure dumps, teardown.
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll } from 'vitest';
import { dumpOnFailure } from './diagnostics.js';
import { startPlatform, type E2ePlatform } from './platform.js';
import { runProbeCli, type ProbeRun } from './probe.js';
import { useProvider, type Provider } from './provider.js';
import { RelayApi, RELAY_PORT } from './relay.js';
import { startTcpRouter, type RoutedConnection } from './tcp-router.js';

/** Scenario is what one suite file works with; platform is set once beforeAll ran. */
export interface Scenario {
  readonly provider: Provider;
  readonly api: RelayApi;
  platform(): E2ePlatform;
  /** platformUrls fills a fixture's VALIDATE_URL and JWKS_URL. */
  platformUrls(): { VALIDATE_URL: string; JWKS_URL: string };
}

/** useScenario registers the hooks for a suite file working in `namespace`. */
export function useScenario(namespace: string): Scenario {
  const provider = useProvider();
  const api = new RelayApi(provider.kc, namespace);
  let platform: E2ePlatform | undefined;
  dumpOnFailure(provider.ctx, provider.kc, () => namespace);
  beforeAll(async () => {
    platform = await startPlatform(provider);
    await api.createNamespace(platform);
  });
  afterAll(async () => {
    await api.deleteNamespace();
    await platform?.close();
    await provider.close();
  });
  const current = (): E2ePlatform => {
    if (platform === undefined) throw new Error('the platform starts in beforeAll');
    return platform;
  };
  return {
    provider,
    api,
    platform: current,
    platformUrls: () => ({ VALIDATE_URL: current().validateUrl, JWKS_URL: current().jwksUrl }),
  };
}

/** probeAcrossPods runs the probe with its daemon connection routed to one pod and the client's to another. */
export async function probeAcrossPods(
  s: Scenario,
  daemonPod: V1Pod,
  clientPod: V1Pod,
  workspace: string,
): Promise<{ probe: ProbeRun; connections: readonly RoutedConnection[] }> {
  // The probe opens the daemon connection first, then the client's.
  const router = await startTcpRouter({
    host: '127.0.0.1',
    pick: (index) => s.provider.reach(index === 0 ? daemonPod : clientPod, RELAY_PORT),
  });
  try {
    const probe = await runProbeCli({
      url: `ws://127.0.0.1:${String(router.port)}/ws`,
      workspace,
      target: 'target-1',
      tokens: await s.platform().tokens(workspace, 'target-1'),
    });
    return { probe, connections: [...router.connections] };
  } finally {
    await router.close();
  }
}
