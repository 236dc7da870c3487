// The browser client on Node 22's own WHATWG WebSocket (the API a browser
// has: subprotocol token, no headers) against a real relay and the echo
// daemon: handshakes of both profiles, envelopes up to the frame limit,
// re-keys, and errors that never carry the token. Real browsers: e2e/browser.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, type ClientEvent } from '../../src/browser/client.js';
import { createDevIssuer, devClaims, type DevIssuer } from '../../src/devissuer/issuer.js';
import { maxPlaintextBytes } from '../../src/e2ee/envelope-size.js';
import { toBase64Url } from '../../src/e2ee/base64url.js';
import { systemRandom } from '../../src/e2ee/random.js';
import { startEchoDaemon, type EchoDaemon } from '../../src/probe-page/echo-daemon.js';
import { probePayload } from '../../src/probe/payload.js';
import { startTestRelay, type TestRelay } from '../relay-harness.js';

const FRAME_LIMIT = 256 * 1024;
let issuer: DevIssuer;
let relay: TestRelay;
let daemon: EchoDaemon;
const pairingPeerId = 'browser-test-peer';
const pairingSecret = systemRandom(32);

beforeAll(async () => {
  issuer = await createDevIssuer();
  relay = await startTestRelay(
    { RELAY_ADMISSION_MODE: 'jwks', RELAY_JWKS_URL: 'http://127.0.0.1:9/jwks.json', RELAY_MAX_FRAME_BYTES: String(FRAME_LIMIT) },
    { admission: { keySource: issuer.keySource } },
  );
  daemon = startEchoDaemon({
    url: relay.wsUrl,
    workspaceId: 'wb',
    runtimeTargetId: 'tb',
    token: () => issuer.mint(devClaims({ role: 'workspace-daemon', workspaceId: 'wb', runtimeTargetId: 'tb' })),
    pairingSecrets: new Map([[pairingPeerId, pairingSecret]]),
    rotateAfterMessages: 4,
  });
  await daemon.connected();
});
afterAll(async () => {
  await daemon.stop();
  await relay.close();
});

const clientToken = () => issuer.mint(devClaims({ role: 'client', workspaceId: 'wb', runtimeTargetId: 'tb' }));

describe('browser client on a WHATWG WebSocket', () => {
  for (const profile of ['noise-ik', 'noise-ikpsk2'] as const) {
    it(`completes ${profile}, round-trips every size up to the frame limit and re-keys`, async () => {
      const events: ClientEvent[] = [];
      const client = new BrowserClient({
        url: relay.wsUrl,
        workspaceId: 'wb',
        runtimeTargetId: 'tb',
        token: await clientToken(),
        daemonPublicKey: daemon.identity,
        profile,
        ...(profile === 'noise-ikpsk2' ? { pairingPeerId, pairingSecret: toBase64Url(pairingSecret) } : {}),
        onEvent: (e) => events.push(e),
      });
      await client.connect();
      expect(client.socketInfo).toEqual({ protocol: 'viewport.v1', extensions: '' });
      expect(client.session?.profile).toBe(profile);
      const largest = maxPlaintextBytes({ ...client.session!, seq: 999_999 }, FRAME_LIMIT);
      expect(largest).toBeGreaterThan(FRAME_LIMIT * 0.74);
      const sizes = [1, 100, 1024, 16 * 1024, 64 * 1024, largest];
      for (const [i, size] of sizes.entries()) await client.roundTrip(probePayload(i + 1, size, systemRandom));
      expect(client.stats.rotations).toBeGreaterThanOrEqual(1);
      expect(client.session?.epoch).toBeGreaterThanOrEqual(2);
      client.close();
      expect(events.filter((e) => e.kind === 'handshake').length).toBe(client.stats.handshakes);
    });
  }

  it('reports a refused token without quoting it', async () => {
    const token = (await clientToken()).slice(0, -4) + 'AAAA';
    const client = new BrowserClient({ url: relay.wsUrl, workspaceId: 'wb', runtimeTargetId: 'tb', token, daemonPublicKey: daemon.identity });
    const error = await client.connect().then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toMatch(/refused or (closed|dropped)/);
    expect(error?.message).not.toContain(token);
    expect(relay.logLines.join('\n')).not.toContain(token.slice(20, 60));
  });
});
