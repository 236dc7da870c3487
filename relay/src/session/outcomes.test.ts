import { describe, expect, it } from 'vitest';
import { CloseCode, CloseReason } from '../frames/index.js';
import { CLOSE_LOG, closeOutcome, FAMILY_OUTCOMES, OUTCOMES, type Outcome } from './outcomes.js';

describe('outcome table', () => {
  it('counts every policy close under its reason with underscores, as the drop label dashboards read', () => {
    for (const [name, e] of Object.entries(OUTCOMES)) {
      if (e.close?.code !== CloseCode.policy || name.startsWith('refused:') || name === 'slow_peer') continue;
      expect(e.drop, name).toBe(e.close.reason.replace(/ /g, '_'));
    }
    expect(OUTCOMES.slow_peer).toMatchObject({ drop: 'buffer_overflow', close: { code: 4008, reason: CloseReason.bufferOverflow } });
  });

  it('closes an oversized frame 1009 `frame too large`', () => {
    expect(OUTCOMES.frame_too_large.close).toEqual({ code: 1009, reason: 'frame too large' });
    expect(OUTCOMES.socket_frame_too_large.close).toBeUndefined();
  });

  it('has a post-upgrade refusal for every close reason, labelled and logged with it', () => {
    for (const reason of Object.values(CloseReason)) {
      expect(OUTCOMES[`refused:${reason}`]).toEqual({
        counter: 'ws_connections_rejected_total',
        upgradeRejection: `post_upgrade:${reason}`,
        log: { level: 'info', event: 'connection_rejected', withReason: true },
        close: { code: 4008, reason },
      });
    }
  });

  it('maps each close routing decides to an outcome that closes with the same reason', () => {
    for (const reason of [
      CloseReason.sessionEventsScopeRequired,
      CloseReason.runtimeScopeOnly,
      CloseReason.pairingScopeOnly,
      CloseReason.clientProfileMismatch,
      CloseReason.daemonProfileMismatch,
    ]) {
      expect(OUTCOMES[closeOutcome(reason)].close).toEqual({ code: 4008, reason });
    }
    expect(() => closeOutcome(CloseReason.superseded)).toThrow();
  });

  it('counts every route family drop on the family counter; only unowned frames and failed publishes add a drop label', () => {
    const dropped = { kex: 'key_exchange_response_dropped_total', pairing: 'pairing_response_dropped_total', session: 'session_frame_dropped_total' };
    for (const [family, o] of Object.entries(FAMILY_OUTCOMES) as [keyof typeof dropped, Record<string, Outcome>][]) {
      expect(OUTCOMES[o.undelivered!]).toEqual({ counter: dropped[family] });
      expect(OUTCOMES[o.noOwner!]).toEqual({ counter: dropped[family], drop: `${family}_no_owner` });
      expect(OUTCOMES[o.publishFailed!]).toEqual({ counter: dropped[family], drop: 'bus_publish_failed' });
    }
  });

  it('answers invalid client frames INVALID_FRAME with the parser reason in the drop label', () => {
    expect(OUTCOMES['client_invalid:not_json']).toEqual({ counter: 'frames_client_rejected_total', drop: 'invalid_frame:not_json', status: 'INVALID_FRAME', invalid: true });
    expect(OUTCOMES['client_invalid:scope'].drop).toBe('invalid_frame:scope');
    expect(OUTCOMES['daemon_invalid:missing_field']).toEqual({ counter: 'frames_daemon_rejected_total', drop: 'invalid_daemon_frame:missing_field', invalid: true });
    expect(OUTCOMES['worker_invalid:unknown_type']).toEqual({ counter: 'frames_daemon_rejected_total', drop: 'invalid_worker_frame:unknown_type', invalid: true });
  });

  it('refuses frames nested too deep as invalid, and closes 4008 when the invalid-frame allowance is spent', () => {
    expect(OUTCOMES['client_invalid:too_deep']).toMatchObject({ drop: 'invalid_frame:too_deep', status: 'INVALID_FRAME', invalid: true });
    expect(OUTCOMES['daemon_invalid:too_deep'].invalid).toBe(true);
    expect(OUTCOMES['worker_invalid:too_deep'].invalid).toBe(true);
    expect(OUTCOMES.invalid_frames.close).toEqual({ code: 4008, reason: 'too many invalid frames' });
  });

  it('logs every close the relay initiates, with its reason', () => {
    for (const [name, e] of Object.entries(OUTCOMES)) {
      if (e.close === undefined) continue;
      const line = e.log ?? CLOSE_LOG;
      expect(line.withReason, name).toBe(true);
    }
    for (const o of ['idle_timeout', 'pong_timeout'] as const) expect(OUTCOMES[o].log?.reason).toBeDefined();
  });
});
