// Issue 22 item 12: every close the relay initiates writes a structured log
// line with its reason (a 4008 for a rate limit or a profile mismatch used to
// move only a metric). Read from a real relay process's stdout; no token ever
// appears in it. A peer link that a relay's normal shutdown closes is logged
// at info by the relay that stays (it was warn on every rolling restart).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakePlatform, type FakePlatform } from '../fake-platform.js';
import { startFakeIssuer, type FakeIssuer } from '../fake-issuer.js';
import { e2ee } from '../frame-fixtures.js';
import { connectPeer, waitFor } from '../relay-harness.js';
import { startRelayProcess, type RelayProcess } from '../multi-relay/relay-process.js';
import { openSessionEventually, startCluster } from './cluster.js';

vi.setConfig({ testTimeout: 60_000 });

let platform: FakePlatform;
let issuer: FakeIssuer;
let relay: RelayProcess;
const tokens: string[] = [];

beforeAll(async () => {
  platform = await startFakePlatform();
  issuer = await startFakeIssuer(platform, 'ES256');
  relay = await startRelayProcess('close-logs', {
    RELAY_ADMISSION_MODE: 'jwks',
    RELAY_JWKS_URL: issuer.jwksUrl,
    RELAY_RUNTIME_RATE_PER_MINUTE: '2',
    RELAY_MAX_INVALID_FRAMES_PER_MINUTE: '2',
  });
}, 60_000);

afterAll(async () => {
  await relay?.kill();
  await platform?.close();
});

async function client(workspaceId: string, claims: Record<string, unknown> = {}) {
  const token = await issuer.mint({ role: 'client', workspaceId, runtimeTargetId: 't1', ...claims });
  tokens.push(token);
  return connectPeer(relay.wsUrl, { role: 'client', workspaceId, runtimeTargetId: 't1', token });
}

interface Line {
  level: string;
  event: string;
  details?: Record<string, unknown>;
}
const lines = (): Line[] =>
  relay
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

async function closedLine(workspaceId: string): Promise<Line> {
  let found: Line | undefined;
  await waitFor(() => (found = lines().find((l) => l.event === 'peer_closed' && l.details?.workspaceId === workspaceId)) !== undefined, 5000, `a peer_closed line for ${workspaceId}`);
  return found as Line;
}

describe('close log lines', () => {
  it('logs a rate-limit close with its reason and code', async () => {
    const c = await client('w-rate');
    for (let i = 1; i <= 3; i++) c.send(e2ee('s1', { seq: i }));
    expect(await c.closed).toEqual({ code: 4008, reason: 'runtime rate limit exceeded' });
    expect(await closedLine('w-rate')).toMatchObject({ level: 'warn', details: { role: 'client', reason: 'runtime rate limit exceeded', code: 4008 } });
  });

  it('logs a profile-mismatch close', async () => {
    const c = await client('w-profile', { e2eeProfile: 'noise-ikpsk2' });
    c.send(e2ee('s1', {}, 'noise-ik'));
    expect((await c.closed).reason).toBe('client frame profile mismatch');
    expect((await closedLine('w-profile')).details).toMatchObject({ reason: 'client frame profile mismatch', code: 4008 });
  });

  it('logs the close after repeated invalid frames', async () => {
    const c = await client('w-invalid');
    for (let i = 0; i < 3; i++) c.send('not json');
    expect(await c.closed).toEqual({ code: 4008, reason: 'too many invalid frames' });
    expect((await closedLine('w-invalid')).details).toMatchObject({ reason: 'too many invalid frames', code: 4008 });
  });

  it('never prints a token', () => {
    const out = relay.output();
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of tokens) {
      expect(out).not.toContain(t);
      expect(out).not.toContain(t.split('.')[2] as string);
    }
  });
});

describe('a peer link closed by a normal shutdown', () => {
  it('is logged at info, not warn, by the relay that stays', async () => {
    const cluster = await startCluster('links-shutdown', 2, {}, { peerLinks: true });
    try {
      const [stays, leaves] = cluster.relays as [RelayProcess, RelayProcess];
      const daemon = await cluster.join(leaves, { role: 'workspace-daemon', workspaceId: 'w1', runtimeTargetId: 't1' });
      const c = await cluster.join(stays, { role: 'client', workspaceId: 'w1', runtimeTargetId: 't1' });
      await openSessionEventually(c, daemon, 's1', 'a session across the link');
      await waitFor(() => stays.output().includes('"event":"peer_link_up"'), 10_000, 'the link from the client side');
      await leaves.stop();
      let line: Line | undefined;
      const lineOf = (out: string) => out.split('\n').filter((l) => l.includes('"event":"peer_link_down"')).map((l) => JSON.parse(l) as Line)[0];
      await waitFor(() => (line = lineOf(stays.output())) !== undefined, 10_000, 'peer_link_down on the relay that stays');
      expect(line?.level).toBe('info');
    } finally {
      await cluster.close();
    }
  });
});
