import { describe, expect, it } from 'vitest';
import { asRelayStatus, redirectTarget, relayPeerUrl, tokenSubprotocols } from './relay-endpoint.js';

describe('relay endpoint helpers', () => {
  it('builds the upgrade URL and offers the app protocol before the token', () => {
    expect(relayPeerUrl('ws://127.0.0.1:7781/ws', 'client', 'w 1', 't1')).toBe('ws://127.0.0.1:7781/ws?role=client&workspaceId=w+1&runtimeTargetId=t1');
    expect(tokenSubprotocols('abc.def.ghi')).toEqual(['viewport.v1', 'auth.abc.def.ghi']);
  });

  it('reads relay_status frames and nothing else', () => {
    expect(asRelayStatus({ type: 'relay_status', code: 'RELAY_REDIRECT', relayWsBaseUrl: 'ws://a/ws' })).toMatchObject({ code: 'RELAY_REDIRECT' });
    expect(asRelayStatus({ type: 'relay_status' })?.code).toBe('UNKNOWN');
    expect(asRelayStatus({ type: 'e2ee' })).toBeUndefined();
    expect(asRelayStatus(null)).toBeUndefined();
  });

  it('follows a redirect only to another ws(s) URL, never to the current one (docs/protocol.md#weak-redirect-loop)', () => {
    const status = (relayWsBaseUrl: unknown) => ({ type: 'relay_status' as const, code: 'RELAY_REDIRECT', relayWsBaseUrl });
    expect(redirectTarget(status('wss://b.example/ws'), 'wss://a.example/ws')).toBe('wss://b.example/ws');
    expect(redirectTarget(status('wss://a.example/ws'), 'wss://a.example/ws')).toBeUndefined();
    expect(redirectTarget(status('https://b.example/ws'), 'wss://a.example/ws')).toBeUndefined();
    expect(redirectTarget(status(42), 'wss://a.example/ws')).toBeUndefined();
    expect(redirectTarget({ type: 'relay_status', code: 'DAEMON_UNAVAILABLE', relayWsBaseUrl: 'wss://b.example/ws' }, 'wss://a.example/ws')).toBeUndefined();
  });
});
