// `probe` against a real relay started in this process with the dev issuer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE_DEFAULTS, runProbe, type ProbeOptions } from '../../src/probe/index.js';
import { startLiveRelay, type LiveRelay } from './live-relay.js';

let relay: LiveRelay;
beforeAll(async () => {
  relay = await startLiveRelay();
});
afterAll(async () => {
  await relay?.stop();
});

async function options(overrides: Partial<ProbeOptions> & { workspaceId: string }): Promise<ProbeOptions> {
  return {
    ...PROBE_DEFAULTS,
    url: relay.url,
    runtimeTargetId: 't1',
    frames: 20,
    timeoutMs: 5000,
    tokens: await relay.tokens(overrides.workspaceId, overrides.runtimeTargetId ?? 't1'),
    ...overrides,
  };
}

describe('probe against a live dev relay', () => {
  it.each(['noise-ik', 'noise-ikpsk2'] as const)('completes a %s round trip with every frame intact', async (profile) => {
    const report = await runProbe(await options({ workspaceId: `w-${profile}`, profile }));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.frames).toEqual({ requested: 20, sent: 20, intact: 20, failed: 0 });
    expect(report.handshakes).toBe(1);
    expect(report.handshakeMs).toBeGreaterThan(0);
    expect(report.roundTripMs?.p99).toBeGreaterThanOrEqual(report.roundTripMs?.p50 ?? Infinity);
  });

  it.each(['noise-ik', 'noise-ikpsk2'] as const)('completes a %s round trip over the legacy v2 key exchange', async (profile) => {
    const report = await runProbe(await options({ workspaceId: `w-v2-${profile}`, profile, kexVersion: 2, frames: 5 }));
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ ok: true, kexVersion: 2, handshakes: 1, frames: { intact: 5 } });
  });

  it('re-keys into the next epoch when the daemon asks for rotation', async () => {
    const report = await runProbe(await options({ workspaceId: 'w-rotate', frames: 12, rotateAfterMessages: 5 }));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.rotations).toBe(2);
    expect(report.handshakes).toBe(3);
  });
});

describe('probe --reconnect across a relay restart', () => {
  it('keeps streaming after the relay drains and comes back on the same port, re-doing the handshake', async () => {
    const first = await startLiveRelay();
    let current = first;
    let restart: Promise<void> | undefined;
    try {
      const report = await runProbe(
        {
          ...PROBE_DEFAULTS,
          url: first.url,
          workspaceId: 'w-restart',
          runtimeTargetId: 't1',
          frames: 10,
          timeoutMs: 3000,
          reconnect: true,
          reconnectWindowMs: 15_000,
          tokens: await first.tokens('w-restart', 't1'),
        },
        {
          onFrameIntact: (index) => {
            if (index !== 4) return;
            restart = (async () => {
              await first.stop();
              current = await startLiveRelay({ PORT: String(first.port) }, first.issuer);
            })();
          },
        },
      );
      await restart;
      expect(report.errors).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.frames.intact).toBe(10);
      expect(report.reconnects).toBeGreaterThanOrEqual(1);
      expect(report.handshakes).toBeGreaterThanOrEqual(2);
    } finally {
      await restart;
      await current.stop();
    }
  });

  it('without --reconnect a relay restart fails the run with the close reason', async () => {
    const live = await startLiveRelay();
    let stopping: Promise<void> | undefined;
    try {
      const report = await runProbe(
        { ...PROBE_DEFAULTS, url: live.url, workspaceId: 'w-no-reconnect', runtimeTargetId: 't1', frames: 10, timeoutMs: 3000, tokens: await live.tokens('w-no-reconnect', 't1') },
        { onFrameIntact: (index) => { if (index === 3) stopping = live.stop(); } },
      );
      expect(report.ok).toBe(false);
      expect(report.frames.intact).toBe(3);
      expect(report.errors).toHaveLength(1);
      expect(report.errors[0]).toMatch(/^frame 4: (relay status \w+|(client|daemon) connection closed by the relay \(code \d+)/);
    } finally {
      await stopping;
    }
  });
});
