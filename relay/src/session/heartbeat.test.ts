import { describe, expect, it } from 'vitest';
import type { Config } from '../config/index.js';
import { heartbeatStep } from './heartbeat.js';
import type { Peer } from './peer.js';

const timers = { pingIntervalMs: 1000, pongTimeoutMs: 500, idleTimeoutMs: 10_000 } as Config['timers'];
const peer = (over: Partial<Peer>): Peer => ({ role: 'client', lastActivityAt: 0, lastPingAt: 0, pingOutstanding: false, ...over }) as Peer;

describe('heartbeatStep (docs/protocol.md#heartbeat)', () => {
  it('ends an idle client or worker, never an idle daemon', () => {
    expect(heartbeatStep(peer({ role: 'client' }), 10_001, timers)).toBe('idle_timeout');
    expect(heartbeatStep(peer({ role: 'worker' }), 10_001, timers)).toBe('idle_timeout');
    expect(heartbeatStep(peer({ role: 'workspace-daemon', lastPingAt: 10_000 }), 10_001, timers)).toBe('wait');
  });

  it('waits for an outstanding pong until the pong timeout has passed', () => {
    expect(heartbeatStep(peer({ pingOutstanding: true, lastPingAt: 1000, lastActivityAt: 1000 }), 1500, timers)).toBe('wait');
    expect(heartbeatStep(peer({ pingOutstanding: true, lastPingAt: 1000, lastActivityAt: 1000 }), 1501, timers)).toBe('pong_timeout');
  });

  it('pings once the ping interval has passed since the last ping', () => {
    expect(heartbeatStep(peer({ lastPingAt: 1000, lastActivityAt: 1000 }), 1999, timers)).toBe('wait');
    expect(heartbeatStep(peer({ lastPingAt: 1000, lastActivityAt: 1000 }), 2000, timers)).toBe('ping');
  });
});
