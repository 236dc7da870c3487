// Scenario 1: a minimal ViewportRelay becomes Ready, the probe completes an
// E2EE round trip through it, and the admin endpoints answer with the token
// from the generated Secret (and refuse without it).
import { describe, expect, it } from 'vitest';
import { loadFixture } from '../helpers/fixtures.js';
import { runProbeCli } from '../helpers/probe.js';
import { useScenario } from '../helpers/scenario.js';
import { adminGet, condition, isReadyAtGeneration, relayWsUrl } from '../helpers/relay.js';

const scenario = useScenario('e2e-minimal');
const { provider, api } = scenario;

describe('a minimal ViewportRelay', () => {
  it('becomes Ready, carries an E2EE round trip, and serves /metrics and /state with the generated admin token', async () => {
    await api.create(loadFixture('minimal', scenario.platformUrls()));
    const relay = await api.waitForRelay('relay', 'relay Ready', isReadyAtGeneration);
    expect(condition(relay, 'Stalled')?.status).toBe('False');
    expect(relay.status?.readyReplicas).toBe(1);

    const [pod] = await api.waitForReadyPods('relay', 1);
    if (pod === undefined) throw new Error('no relay pod');
    const tokens = await scenario.platform().tokens('ws-minimal', 'target-1');
    const probe = await runProbeCli({ url: await relayWsUrl(provider, pod), workspace: 'ws-minimal', target: 'target-1', tokens });
    expect(probe.report, probe.output).toMatchObject({ ok: true, frames: { requested: 20, intact: 20, failed: 0 } });
    expect(probe.code).toBe(0);
    // The relay admitted both peers by asking the platform with the internal key from the Secret.
    expect(scenario.platform().validations()).toBeGreaterThanOrEqual(2);

    const token = await api.secretValue('relay-generated', 'admin-token');
    const metrics = await adminGet(provider, pod, '/metrics', token);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^relay_\w+/m);
    const state = await adminGet(provider, pod, '/state', token);
    expect(state.status).toBe(200);
    expect(() => JSON.parse(state.body) as unknown).not.toThrow();
    expect((await adminGet(provider, pod, '/metrics')).status).toBe(401);
    expect((await adminGet(provider, pod, '/state', `${token}x`)).status).toBe(401);
  });
});
