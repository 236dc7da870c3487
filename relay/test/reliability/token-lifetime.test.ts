// Issue 22 item 7: connections do not outlive their token. With real tokens
// from the test issuer and a real relay process in JWKS mode: a short-lived
// token's connection is closed at exp with 4001 `token expired` (daemons too,
// though the idle timeout spares them), a token issued in the future is
// refused, and so is a token whose lifetime exceeds the configured maximum.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakePlatform, type FakePlatform } from '../fake-platform.js';
import { startFakeIssuer, type FakeIssuer, type MintOptions } from '../fake-issuer.js';
import { connectPeer, upgradeStatus, type PeerOptions } from '../relay-harness.js';
import { startRelayProcess, type RelayProcess } from '../multi-relay/relay-process.js';

vi.setConfig({ testTimeout: 60_000 });

let platform: FakePlatform;
let issuer: FakeIssuer;
let relay: RelayProcess;

beforeAll(async () => {
  platform = await startFakePlatform();
  issuer = await startFakeIssuer(platform, 'ES256');
  relay = await startRelayProcess('lifetime', {
    RELAY_ADMISSION_MODE: 'jwks',
    RELAY_JWKS_URL: issuer.jwksUrl,
    RELAY_MAX_TOKEN_LIFETIME_SECONDS: '3600',
    RELAY_JWT_CLOCK_SKEW_SECONDS: '30',
  });
}, 60_000);

afterAll(async () => {
  await relay?.kill();
  await platform?.close();
});

const spec = (role: PeerOptions['role'], workspaceId: string): Omit<PeerOptions, 'token'> => ({ role, workspaceId, runtimeTargetId: 't1' });
const mint = (role: PeerOptions['role'], workspaceId: string, options: MintOptions) => issuer.mint({ role, workspaceId, runtimeTargetId: 't1' }, options);

describe('token lifetime', () => {
  it('closes a daemon and a client 4001 `token expired` at their token’s exp, and counts it', async () => {
    const before = await relay.metric('relay_ws_token_expired_closed_total');
    const started = Date.now();
    const daemon = await connectPeer(relay.wsUrl, { ...spec('workspace-daemon', 'w-exp'), token: await mint('workspace-daemon', 'w-exp', { expiresInSeconds: 3 }) });
    const client = await connectPeer(relay.wsUrl, { ...spec('client', 'w-exp'), token: await mint('client', 'w-exp', { expiresInSeconds: 3 }) });
    for (const p of [daemon, client]) {
      expect(await p.closed).toEqual({ code: 4001, reason: 'token expired' });
    }
    // Not before exp (iat is whole seconds, so exp may be up to 1 s earlier than started + 3 s).
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await relay.metric('relay_ws_token_expired_closed_total')).toBe(before + 2);
  });

  it('keeps a connection whose token is still valid', async () => {
    const daemon = await connectPeer(relay.wsUrl, { ...spec('workspace-daemon', 'w-live'), token: await mint('workspace-daemon', 'w-live', { expiresInSeconds: 600 }) });
    const closed = await Promise.race([daemon.closed, new Promise((r) => setTimeout(() => r('open'), 1500))]);
    expect(closed).toBe('open');
    daemon.ws.close();
  });

  it('refuses a token issued in the future beyond the clock skew, and admits one within it', async () => {
    expect(await upgradeStatus(relay.wsUrl, { ...spec('client', 'w-iat'), token: await mint('client', 'w-iat', { issuedAtOffsetSeconds: 300, expiresInSeconds: 600 }) })).toBe(401);
    expect(await upgradeStatus(relay.wsUrl, { ...spec('client', 'w-iat'), token: await mint('client', 'w-iat', { issuedAtOffsetSeconds: 10, expiresInSeconds: 600 }) })).toBe(101);
  });

  it('refuses a token whose lifetime exceeds RELAY_MAX_TOKEN_LIFETIME_SECONDS', async () => {
    expect(await upgradeStatus(relay.wsUrl, { ...spec('workspace-daemon', 'w-long'), token: await mint('workspace-daemon', 'w-long', { expiresInSeconds: 7200 }) })).toBe(401);
    expect(await upgradeStatus(relay.wsUrl, { ...spec('workspace-daemon', 'w-long'), token: await mint('workspace-daemon', 'w-long', { expiresInSeconds: 3000 }) })).toBe(101);
  });
});
