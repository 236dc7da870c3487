// Scenario 2: switching a relay to the operator-managed Redis backplane with
// three replicas; a daemon on one pod and its client on another complete the
// E2EE round trip through the backplane, and the pods link to each other.
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../helpers/fixtures.js';
import { probeAcrossPods, useScenario } from '../helpers/scenario.js';
import { adminGet, isReadyAtGeneration, metricSum } from '../helpers/relay.js';

const scenario = useScenario('e2e-redis');
const { provider, api } = scenario;

describe('the managed Redis backplane', () => {
  it('carries a session whose daemon and client sit on different relay pods', async () => {
    const urls = scenario.platformUrls();
    await api.create(loadFixture('minimal', urls));
    await api.waitForRelay('relay', 'minimal relay Ready', isReadyAtGeneration);

    // Switch the running relay to what the redis fixture describes.
    const redis = loadFixture('redis-shared', urls) as { spec: Record<string, unknown> };
    await api.patch('relay', { spec: redis.spec });
    const relay = await api.waitForRelay(
      'relay',
      'relay Ready on the redis backplane with 3 replicas',
      (r) => isReadyAtGeneration(r) && r.status?.readyReplicas === 3 && r.status.backplane?.mode === 'redis' && r.status.backplane.ready,
    );
    expect(relay.status?.backplane).toMatchObject({ mode: 'redis', ready: true });
    expect(await api.pods('relay', 'redis', { readyOnly: true })).toHaveLength(1);

    const pods = await api.waitForReadyPods('relay', 3);
    const [daemonPod, clientPod] = pods;
    if (daemonPod === undefined || clientPod === undefined) throw new Error('need two relay pods');
    const { probe, connections } = await probeAcrossPods(scenario, daemonPod, clientPod, 'ws-redis');
    expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20 }, redirects: 0 });
    expect(connections.map((c) => c.index)).toEqual([0, 1]);
    // The client's relay sent every client frame over the bus to the daemon's relay.
    const token = await api.secretValue('relay-generated', 'admin-token');
    const clientMetrics = await adminGet(provider, clientPod, '/metrics', token);
    expect(metricSum(clientMetrics.body, 'relay_client_messages_routed_bus_total')).toBeGreaterThanOrEqual(20);
    // In redis mode the operator turns peer links on. The first frame for the
    // daemon's relay starts a dial; a dial that fails is tried again only by a
    // later frame, at most once a second (docs/backplane.md#peer-links-redis-mode), so
    // sessions keep going until the client's relay has its link.
    let page = clientMetrics.body;
    for (const deadline = Date.now() + 20_000; metricSum(page, 'relay_bus_peer_links') < 1 && Date.now() < deadline; ) {
      const again = await probeAcrossPods(scenario, daemonPod, clientPod, 'ws-redis');
      expect(again.probe.report, again.probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20 } });
      page = (await adminGet(provider, clientPod, '/metrics', token)).body;
    }
    const links = { open: metricSum(page, 'relay_bus_peer_links'), dialFailed: metricSum(page, 'relay_bus_peer_link_dial_failed_total') };
    expect(links.open, JSON.stringify(links)).toBeGreaterThanOrEqual(1);
  });
});
