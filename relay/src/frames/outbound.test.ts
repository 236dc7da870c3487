import { describe, expect, it } from 'vitest';
import { CloseCode, CloseReason } from './close-codes.js';
import {
  relayStatus,
  sessionSubscribeDenied,
  sessionSubscribed,
  sessionUnsubscribed,
  viewerPresenceDenied,
  workerForwardFailed,
  workerPathDenied,
  workerResponse,
} from './outbound.js';

describe('relayStatus', () => {
  it.each([
    [
      'DAEMON_UNAVAILABLE with target and machine',
      relayStatus('DAEMON_UNAVAILABLE', 'ws_1', { runtimeTargetId: 'rt_1', machineId: 'm_1' }),
      {
        type: 'relay_status',
        code: 'DAEMON_UNAVAILABLE',
        message: 'No machine runtime is connected for this runtime target',
        workspaceId: 'ws_1',
        runtimeTargetId: 'rt_1',
        machineId: 'm_1',
        retryable: true,
      },
    ],
    [
      'DAEMON_UNAVAILABLE without unknown ids',
      relayStatus('DAEMON_UNAVAILABLE', 'ws_1', { runtimeTargetId: 'rt_1', machineId: undefined }),
      {
        type: 'relay_status',
        code: 'DAEMON_UNAVAILABLE',
        message: 'No machine runtime is connected for this runtime target',
        workspaceId: 'ws_1',
        runtimeTargetId: 'rt_1',
        retryable: true,
      },
    ],
    [
      'RUNTIME_TARGET_REQUIRED',
      relayStatus('RUNTIME_TARGET_REQUIRED', 'ws_1'),
      {
        type: 'relay_status',
        code: 'RUNTIME_TARGET_REQUIRED',
        message: 'Runtime client must specify a runtime target',
        workspaceId: 'ws_1',
        retryable: false,
      },
    ],
    [
      'RELAY_REDIRECT at upgrade',
      relayStatus('RELAY_REDIRECT', 'ws_1', { relayWsBaseUrl: 'wss://relay-b.example/ws' }),
      {
        type: 'relay_status',
        code: 'RELAY_REDIRECT',
        message: 'Workspace is assigned to a different relay instance',
        workspaceId: 'ws_1',
        relayWsBaseUrl: 'wss://relay-b.example/ws',
      },
    ],
    [
      'RELAY_REDIRECT per message',
      relayStatus('RELAY_REDIRECT', 'ws_1', { relayWsBaseUrl: 'wss://relay-b.example/ws', runtimeTargetId: 'rt_1' }),
      {
        type: 'relay_status',
        code: 'RELAY_REDIRECT',
        message: 'Workspace is assigned to a different relay instance',
        workspaceId: 'ws_1',
        relayWsBaseUrl: 'wss://relay-b.example/ws',
        runtimeTargetId: 'rt_1',
      },
    ],
    [
      'INVALID_FRAME',
      relayStatus('INVALID_FRAME', 'ws_1'),
      {
        type: 'relay_status',
        code: 'INVALID_FRAME',
        message: 'client frame must be a valid runtime or pairing control frame',
        workspaceId: 'ws_1',
      },
    ],
    [
      'SESSION_EVENTS_SCOPE_ONLY',
      relayStatus('SESSION_EVENTS_SCOPE_ONLY', 'ws_1'),
      {
        type: 'relay_status',
        code: 'SESSION_EVENTS_SCOPE_ONLY',
        message: 'session-events scoped clients can only subscribe to authorized session event channels',
        workspaceId: 'ws_1',
      },
    ],
    [
      'RELAY_SHUTTING_DOWN with a reconnect hint',
      relayStatus('RELAY_SHUTTING_DOWN', 'ws_1', { reconnectAfterMs: 1500 }),
      {
        type: 'relay_status',
        code: 'RELAY_SHUTTING_DOWN',
        message: 'Relay is shutting down; reconnect to continue',
        workspaceId: 'ws_1',
        reconnectAfterMs: 1500,
        retryable: true,
      },
    ],
  ])('builds %s', (_name, text, expected) => {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(parsed).toStrictEqual(expected);
    // `retryable` is absent, not null or false, for codes that do not define it.
    if (!('retryable' in expected)) expect(text).not.toContain('retryable');
  });

  it('requires relayWsBaseUrl for RELAY_REDIRECT at compile time', () => {
    // @ts-expect-error RELAY_REDIRECT without extras must not compile
    const text = relayStatus('RELAY_REDIRECT', 'ws_1');
    expect(JSON.parse(text)).toMatchObject({ code: 'RELAY_REDIRECT' });
  });

  it('escapes ids so the output is always one valid JSON object', () => {
    const text = relayStatus('INVALID_FRAME', 'ws"},{"x":"\n');
    expect(JSON.parse(text)).toMatchObject({ workspaceId: 'ws"},{"x":"\n' });
  });
});

describe('session-event replies', () => {
  it.each([
    [
      'subscribed with a requested afterSequence',
      sessionSubscribed('agent-session:a', 12),
      {
        type: 'viewport.session_events.subscribed/v1',
        channel: 'agent-session:a',
        afterSequence: 12,
        authoritativeSource: 'session_events',
        websocketRequiredForBackfill: false,
      },
    ],
    [
      'subscribed without afterSequence defaults to 0',
      sessionSubscribed('agent-session:a', undefined),
      {
        type: 'viewport.session_events.subscribed/v1',
        channel: 'agent-session:a',
        afterSequence: 0,
        authoritativeSource: 'session_events',
        websocketRequiredForBackfill: false,
      },
    ],
    [
      'subscribe denied',
      sessionSubscribeDenied('agent-session:a', 'ws_1'),
      {
        type: 'viewport.session_events.subscribe_denied/v1',
        channel: 'agent-session:a',
        reason: 'CHANNEL_NOT_AUTHORIZED',
        workspaceId: 'ws_1',
      },
    ],
    ['unsubscribed', sessionUnsubscribed('agent-session:a'), { type: 'viewport.session_events.unsubscribed/v1', channel: 'agent-session:a' }],
    [
      'presence denied',
      viewerPresenceDenied('agent-session:a', 'ws_1'),
      {
        type: 'viewport.session_viewer_presence_denied/v1',
        channel: 'agent-session:a',
        reason: 'CHANNEL_NOT_AUTHORIZED',
        workspaceId: 'ws_1',
      },
    ],
  ])('builds %s', (_name, text, expected) => {
    expect(JSON.parse(text)).toStrictEqual(expected);
  });
});

describe('worker replies', () => {
  it.each([
    [
      'a forwarded response',
      workerResponse('r1', 201, { 'content-type': 'text/plain' }, 'hello'),
      { type: 'viewport.worker_transport.response/v1', requestId: 'r1', status: 201, headers: { 'content-type': 'text/plain' }, body: 'hello' },
    ],
    [
      'path denied',
      workerPathDenied('r2'),
      {
        type: 'viewport.worker_transport.response/v1',
        requestId: 'r2',
        status: 403,
        headers: { 'content-type': 'application/json' },
        body: '{"ok":false,"reason":"WORKER_TRANSPORT_PATH_DENIED"}',
      },
    ],
    [
      'forward failed',
      workerForwardFailed('r3', 'timeout'),
      {
        type: 'viewport.worker_transport.response/v1',
        requestId: 'r3',
        status: 502,
        headers: { 'content-type': 'application/json' },
        body: '{"ok":false,"reason":"WORKER_TRANSPORT_FORWARD_FAILED","detail":"timeout"}',
      },
    ],
  ])('builds %s', (_name, text, expected) => {
    expect(JSON.parse(text)).toStrictEqual(expected);
  });
});

describe('close codes', () => {
  it.each([
    ['shutdown', CloseCode.shuttingDown, 1001],
    ['oversize frame', CloseCode.frameTooLarge, 1009],
    ['policy', CloseCode.policy, 4008],
  ])('%s uses code %s', (_name, code, expected) => {
    expect(code).toBe(expected);
  });

  it.each(Object.entries(CloseReason))('reason %s fits a close frame (<= 123 bytes) and is lower-case text', (_key, reason) => {
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toMatch(/^[a-z -]+$/);
  });

  it('has no two situations sharing one reason', () => {
    const reasons = Object.values(CloseReason);
    expect(new Set(reasons).size).toBe(reasons.length);
  });
});
