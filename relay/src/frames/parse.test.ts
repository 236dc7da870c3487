// Frame parser tests: a valid sample per variant, then each required field
// dropped, each field given a wrong type or value, and a property test that
// nothing throws and extra fields never matter.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FrameRejectReason, ParseResult } from './frame.js';
import { MAX_FRAME_DEPTH } from './nesting.js';
import { parseClientFrame, parseClientFrameBytes } from './parse-client.js';
import { parseDaemonFrame, parseDaemonFrameBytes } from './parse-daemon.js';
import { parseWorkerFrame } from './parse-worker.js';

type Sample = Record<string, unknown>;

/** validClientFrames holds one valid frame per client frame variant. */
const validClientFrames = {
  e2ee: {
    type: 'e2ee',
    version: 2,
    profile: 'noise-ik',
    sessionId: 'sess-1',
    epoch: 1,
    seq: 1,
    iv: 'aXY=',
    tag: 'dGFn',
    ciphertext: 'Y2lwaGVy',
  },
  kexInitV3: {
    type: 'relay_key_exchange_init',
    version: 3,
    profile: 'noise-ik',
    requestId: 'req-1',
    clientEphemeralPublicKey: 'ZXBo',
    encryptedClientStatic: 'c3Rh',
  },
  kexInitV2: {
    type: 'relay_key_exchange_init',
    version: 2,
    profile: 'noise-ik',
    requestId: 'req-2',
    clientPublicKey: 'cHVi',
    clientNonce: 'bm9uY2U=',
    clientProof: 'cHJvb2Y=',
  },
  kexInitV3Psk: {
    type: 'relay_key_exchange_init',
    version: 3,
    profile: 'noise-ikpsk2',
    requestId: 'req-3',
    clientEphemeralPublicKey: 'ZXBo',
    encryptedClientStatic: 'c3Rh',
    pairingPeerId: 'peer-1',
  },
  pairingOffer: {
    type: 'relay_pairing_offer_request',
    requestId: 'req-4',
    clientChannelPublicKey: 'Y2hhbg==',
    ttlSeconds: 300,
  },
  pairingRedeem: {
    type: 'relay_pairing_redeem_request',
    requestId: 'req-5',
    offerId: 'offer-1',
    encIv: 'aXY=',
    encTag: 'dGFn',
    encCiphertext: 'Y3Q=',
  },
  subscribe: { type: 'viewport.session_events.subscribe/v1', channel: 'agent-session:abc', afterSequence: 7 },
  unsubscribe: { type: 'viewport.session_events.unsubscribe/v1', channel: 'agent-session:abc' },
  presence: {
    type: 'viewport.session_viewer_presence/v1',
    channel: 'agent-session:abc',
    action: 'joined',
    userId: 'user-1',
    displayName: 'Ada',
    sentAt: '2026-01-01T00:00:00Z',
  },
} satisfies Record<string, Sample>;

/** validDaemonFrames holds one valid frame per daemon frame variant. */
const validDaemonFrames = {
  e2ee: { ...validClientFrames.e2ee, profile: 'noise-ikpsk2' },
  kexResponseV3: {
    type: 'relay_key_exchange_response',
    version: 3,
    profile: 'noise-ik',
    requestId: 'req-1',
    daemonPublicKey: 'ZHB1Yg==',
    daemonEphemeralPublicKey: 'ZGVwaA==',
    encryptedMetadata: 'bWV0YQ==',
    sessionId: 'sess-1',
    proof: 'cHJvb2Y=',
    epoch: 1,
  },
  kexResponseV2: {
    type: 'relay_key_exchange_response',
    version: 2,
    profile: 'noise-ik',
    requestId: 'req-2',
    daemonNonce: 'bm9uY2U=',
    sessionId: 'sess-2',
    proof: 'cHJvb2Y=',
    epoch: 1.5,
  },
  keyUpdate: { type: 'relay_key_update_required', sessionId: 'sess-1', nextEpoch: 2, reason: 'message_threshold' },
  offerOk: {
    type: 'relay_pairing_offer_response',
    requestId: 'req-4',
    ok: true,
    daemonChannelPublicKey: 'ZGNo',
    encIv: 'aXY=',
    encTag: 'dGFn',
    encCiphertext: 'Y3Q=',
  },
  offerFailed: { type: 'relay_pairing_offer_response', requestId: 'req-4', ok: false, errorCode: 'PAIRING_DISABLED' },
  redeemOk: { type: 'relay_pairing_redeem_response', requestId: 'req-5', ok: true, redeemed: { deviceId: 'd1' } },
  redeemFailed: { type: 'relay_pairing_redeem_response', requestId: 'req-5', ok: false, errorCode: 'OFFER_EXPIRED' },
  sessionEvent: {
    schema: 'viewport.session_event_relay_frame/v1',
    channel: 'agent-session:abc',
    event: { sequence: 3, kind: 'message' },
  },
} satisfies Record<string, Sample>;

/** validWorkerRequest is a valid worker transport request. */
const validWorkerRequest = {
  type: 'viewport.worker_transport.request/v1',
  requestId: 'wreq-1',
  method: 'POST',
  path: '/api/runtime/workspaces/ws_1/managed-executors/ex_1/claim',
  headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
  body: '{}',
} satisfies Sample;

/** without returns a copy of frame lacking key. */
function without(frame: Sample, key: string): Sample {
  const copy = { ...frame };
  delete copy[key];
  return copy;
}

/** withField returns a copy of frame with key set to value. */
function withField(frame: Sample, key: string, value: unknown): Sample {
  return { ...frame, [key]: value };
}

type Parser = (text: string) => ParseResult<unknown>;

// Every table case also runs through the bytes entry (the e2ee fast path), which must agree.
const BYTES_ENTRY = new Map<Parser, (buf: Buffer) => ParseResult<unknown>>([
  [parseClientFrame, parseClientFrameBytes],
  [parseDaemonFrame, parseDaemonFrameBytes],
]);

function parse(parser: Parser, frame: unknown): ParseResult<unknown> {
  const text = JSON.stringify(frame);
  const result = parser(text);
  const bytes = BYTES_ENTRY.get(parser);
  if (bytes) expect(bytes(Buffer.from(text))).toEqual(result);
  return result;
}

function expectRejected(result: ParseResult<unknown>, reason: FrameRejectReason, detail?: string): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.reason).toBe(reason);
  if (detail !== undefined) expect(result.error.detail).toBe(detail);
}

const SECRET = 'SECRET-VALUE-must-not-leak';

describe('parseClientFrame', () => {
  it.each([
    ['e2ee', validClientFrames.e2ee, { kind: 'e2ee', profile: 'noise-ik', sessionId: 'sess-1', version: 2 }],
    ['kex init v3', validClientFrames.kexInitV3, { kind: 'kex_init', profile: 'noise-ik', requestId: 'req-1', version: 3 }],
    ['kex init v2', validClientFrames.kexInitV2, { kind: 'kex_init', profile: 'noise-ik', requestId: 'req-2', version: 2 }],
    [
      'kex init v3 psk2 with pairingPeerId',
      validClientFrames.kexInitV3Psk,
      { kind: 'kex_init', profile: 'noise-ikpsk2', requestId: 'req-3', version: 3 },
    ],
    [
      'kex init v2 psk2 with pairingPeerId',
      { ...validClientFrames.kexInitV2, profile: 'noise-ikpsk2', pairingPeerId: 'p' },
      { kind: 'kex_init', profile: 'noise-ikpsk2', requestId: 'req-2', version: 2 },
    ],
    ['pairing offer', validClientFrames.pairingOffer, { kind: 'pairing_offer_request', requestId: 'req-4' }],
    ['pairing redeem', validClientFrames.pairingRedeem, { kind: 'pairing_redeem_request', requestId: 'req-5' }],
    ['subscribe', validClientFrames.subscribe, { kind: 'session_subscribe', channel: 'agent-session:abc', afterSequence: 7 }],
    ['unsubscribe', validClientFrames.unsubscribe, { kind: 'session_unsubscribe', channel: 'agent-session:abc' }],
    [
      'viewer presence',
      validClientFrames.presence,
      { kind: 'viewer_presence', channel: 'agent-session:abc', action: 'joined', userId: 'user-1' },
    ],
  ])('accepts a valid %s frame', (_name, frame, expected) => {
    expect(parse(parseClientFrame, frame)).toEqual({ ok: true, frame: expected });
  });

  it.each([
    ['kex init with an empty requestId (forwarded, not tracked)', withField(validClientFrames.kexInitV3, 'requestId', ''), 'requestId', ''],
    ['kex init v3 with empty key strings', { ...validClientFrames.kexInitV3, clientEphemeralPublicKey: '', encryptedClientStatic: '' }, 'requestId', 'req-1'],
    ['noise-ik kex init with an empty pairingPeerId', withField(validClientFrames.kexInitV3, 'pairingPeerId', ''), 'profile', 'noise-ik'],
    ['e2ee sessionId padded with spaces (trimmed)', withField(validClientFrames.e2ee, 'sessionId', '  s-2 '), 'sessionId', 's-2'],
    ['subscribe channel padded with spaces (trimmed)', withField(validClientFrames.subscribe, 'channel', ' agent-session:x '), 'channel', 'agent-session:x'],
    ['subscribe without afterSequence', without(validClientFrames.subscribe, 'afterSequence'), 'afterSequence', undefined],
    ['subscribe with afterSequence 0', withField(validClientFrames.subscribe, 'afterSequence', 0), 'afterSequence', 0],
    ['pairing offer without ttlSeconds', without(validClientFrames.pairingOffer, 'ttlSeconds'), 'requestId', 'req-4'],
    ['pairing offer with ttlSeconds 30', withField(validClientFrames.pairingOffer, 'ttlSeconds', 30), 'requestId', 'req-4'],
    ['pairing offer with ttlSeconds 3600', withField(validClientFrames.pairingOffer, 'ttlSeconds', 3600), 'requestId', 'req-4'],
    ['pairing requestId padded with spaces (trimmed)', withField(validClientFrames.pairingRedeem, 'requestId', ' r '), 'requestId', 'r'],
    ['presence userId of 128 characters', withField(validClientFrames.presence, 'userId', 'u'.repeat(128)), 'userId', 'u'.repeat(128)],
    ['presence displayName of 255 characters', withField(validClientFrames.presence, 'displayName', 'd'.repeat(255)), 'action', 'joined'],
    ['presence without displayName and sentAt', without(without(validClientFrames.presence, 'displayName'), 'sentAt'), 'action', 'joined'],
    ['presence heartbeat', withField(validClientFrames.presence, 'action', 'heartbeat'), 'action', 'heartbeat'],
    ['presence left', withField(validClientFrames.presence, 'action', 'left'), 'action', 'left'],
    ['e2ee with a 512 KiB ciphertext', withField(validClientFrames.e2ee, 'ciphertext', 'A'.repeat(512 * 1024)), 'kind', 'e2ee'],
    ['e2ee with large epoch and seq', { ...validClientFrames.e2ee, epoch: 2 ** 40, seq: Number.MAX_SAFE_INTEGER }, 'kind', 'e2ee'],
    ['a frame with extra passthrough fields', withField(validClientFrames.kexInitV3, 'previousSessionId', 'old'), 'kind', 'kex_init'],
  ])('accepts %s', (_name, frame, key, value) => {
    const result = parse(parseClientFrame, frame);
    expect(result.ok).toBe(true);
    if (result.ok) expect((result.frame as Record<string, unknown>)[key]).toEqual(value);
  });

  const requiredFields: [string, string, Sample][] = [
    ...['version', 'profile', 'sessionId', 'epoch', 'seq', 'iv', 'tag', 'ciphertext'].map(
      (f): [string, string, Sample] => ['e2ee', f, validClientFrames.e2ee],
    ),
    ...['version', 'profile', 'requestId', 'clientEphemeralPublicKey', 'encryptedClientStatic'].map(
      (f): [string, string, Sample] => ['relay_key_exchange_init', f, validClientFrames.kexInitV3],
    ),
    ...['requestId', 'clientPublicKey', 'clientNonce', 'clientProof'].map(
      (f): [string, string, Sample] => ['relay_key_exchange_init', f, validClientFrames.kexInitV2],
    ),
    ['relay_key_exchange_init', 'pairingPeerId', validClientFrames.kexInitV3Psk],
    ['relay_key_exchange_init', 'pairingPeerId', { ...validClientFrames.kexInitV2, profile: 'noise-ikpsk2' }],
    ...['requestId', 'clientChannelPublicKey'].map(
      (f): [string, string, Sample] => ['relay_pairing_offer_request', f, validClientFrames.pairingOffer],
    ),
    ...['requestId', 'offerId', 'encIv', 'encTag', 'encCiphertext'].map(
      (f): [string, string, Sample] => ['relay_pairing_redeem_request', f, validClientFrames.pairingRedeem],
    ),
    ['viewport.session_events.subscribe/v1', 'channel', validClientFrames.subscribe],
    ['viewport.session_events.unsubscribe/v1', 'channel', validClientFrames.unsubscribe],
    ...['channel', 'action', 'userId'].map(
      (f): [string, string, Sample] => ['viewport.session_viewer_presence/v1', f, validClientFrames.presence],
    ),
  ];

  it.each(requiredFields)('rejects %s without %s: missing field', (type, field, frame) => {
    expectRejected(parse(parseClientFrame, without(frame, field)), 'missing_field', `${type}.${field} is required`);
  });

  it.each([
    ['e2ee version 3', validClientFrames.e2ee, 'version', 3, 'e2ee.version must be 2'],
    ['e2ee version as a string', validClientFrames.e2ee, 'version', '2', 'e2ee.version must be 2'],
    ['e2ee unknown profile', validClientFrames.e2ee, 'profile', 'noise-xx', 'e2ee.profile must be "noise-ik" or "noise-ikpsk2"'],
    ['e2ee profile in upper case', validClientFrames.e2ee, 'profile', 'NOISE-IK', undefined],
    ['e2ee empty sessionId', validClientFrames.e2ee, 'sessionId', '', 'e2ee.sessionId must be a non-empty string'],
    ['e2ee blank sessionId', validClientFrames.e2ee, 'sessionId', ' \t\n', 'e2ee.sessionId must be a non-empty string'],
    ['e2ee numeric sessionId', validClientFrames.e2ee, 'sessionId', 5, 'e2ee.sessionId must be a non-empty string'],
    ['e2ee epoch 0', validClientFrames.e2ee, 'epoch', 0, 'e2ee.epoch must be an integer >= 1'],
    ['e2ee fractional epoch', validClientFrames.e2ee, 'epoch', 1.5, 'e2ee.epoch must be an integer >= 1'],
    ['e2ee epoch as a string', validClientFrames.e2ee, 'epoch', '1', 'e2ee.epoch must be an integer >= 1'],
    ['e2ee epoch beyond 2^53', validClientFrames.e2ee, 'epoch', 2 ** 60, 'e2ee.epoch must be an integer >= 1'],
    ['e2ee seq 0', validClientFrames.e2ee, 'seq', 0, 'e2ee.seq must be an integer >= 1'],
    ['e2ee negative seq', validClientFrames.e2ee, 'seq', -1, 'e2ee.seq must be an integer >= 1'],
    ['e2ee null seq', validClientFrames.e2ee, 'seq', null, 'e2ee.seq must be an integer >= 1'],
    ['e2ee empty iv', validClientFrames.e2ee, 'iv', '', 'e2ee.iv must be a non-empty string'],
    ['e2ee blank tag', validClientFrames.e2ee, 'tag', '  ', 'e2ee.tag must be a non-empty string'],
    ['e2ee ciphertext array', validClientFrames.e2ee, 'ciphertext', ['x'], 'e2ee.ciphertext must be a non-empty string'],
    ['kex version 4', validClientFrames.kexInitV3, 'version', 4, 'relay_key_exchange_init.version must be 2 or 3'],
    ['kex numeric requestId', validClientFrames.kexInitV3, 'requestId', 5, 'relay_key_exchange_init.requestId must be a string'],
    ['kex v3 numeric ephemeral key', validClientFrames.kexInitV3, 'clientEphemeralPublicKey', 1, undefined],
    ['kex v2 proof as array', validClientFrames.kexInitV2, 'clientProof', [], 'relay_key_exchange_init.clientProof must be a string'],
    ['psk2 kex with empty pairingPeerId', validClientFrames.kexInitV3Psk, 'pairingPeerId', '', 'relay_key_exchange_init.pairingPeerId must be a non-empty string'],
    ['psk2 kex with blank pairingPeerId', validClientFrames.kexInitV3Psk, 'pairingPeerId', '   ', undefined],
    ['psk2 kex with numeric pairingPeerId', validClientFrames.kexInitV3Psk, 'pairingPeerId', 7, undefined],
    ['pairing offer blank requestId', validClientFrames.pairingOffer, 'requestId', ' ', 'relay_pairing_offer_request.requestId must be a non-empty string'],
    ['pairing offer empty key', validClientFrames.pairingOffer, 'clientChannelPublicKey', '', undefined],
    ['pairing offer ttlSeconds 29', validClientFrames.pairingOffer, 'ttlSeconds', 29, 'relay_pairing_offer_request.ttlSeconds must be an integer from 30 to 3600'],
    ['pairing offer ttlSeconds 3601', validClientFrames.pairingOffer, 'ttlSeconds', 3601, undefined],
    ['pairing offer fractional ttlSeconds', validClientFrames.pairingOffer, 'ttlSeconds', 30.5, undefined],
    ['pairing offer ttlSeconds as a string', validClientFrames.pairingOffer, 'ttlSeconds', '300', undefined],
    ['pairing offer null ttlSeconds', validClientFrames.pairingOffer, 'ttlSeconds', null, undefined],
    ['pairing redeem empty offerId', validClientFrames.pairingRedeem, 'offerId', '', 'relay_pairing_redeem_request.offerId must be a non-empty string'],
    ['pairing redeem object ciphertext', validClientFrames.pairingRedeem, 'encCiphertext', {}, undefined],
    ['subscribe channel without prefix', validClientFrames.subscribe, 'channel', 'session:abc', 'viewport.session_events.subscribe/v1.channel must be a string starting with "agent-session:"'],
    ['subscribe channel with prefix in the middle', validClientFrames.subscribe, 'channel', 'x-agent-session:abc', undefined],
    ['subscribe blank channel', validClientFrames.subscribe, 'channel', '   ', undefined],
    ['subscribe numeric channel', validClientFrames.subscribe, 'channel', 1, undefined],
    ['subscribe negative afterSequence', validClientFrames.subscribe, 'afterSequence', -1, 'viewport.session_events.subscribe/v1.afterSequence must be an integer >= 0'],
    ['subscribe fractional afterSequence', validClientFrames.subscribe, 'afterSequence', 1.5, undefined],
    ['subscribe null afterSequence', validClientFrames.subscribe, 'afterSequence', null, undefined],
    ['unsubscribe channel without prefix', validClientFrames.unsubscribe, 'channel', 'abc', undefined],
    ['presence unknown action', validClientFrames.presence, 'action', 'gone', 'viewport.session_viewer_presence/v1.action must be "joined", "heartbeat" or "left"'],
    ['presence empty userId', validClientFrames.presence, 'userId', '', 'viewport.session_viewer_presence/v1.userId must be a non-empty string'],
    ['presence userId of 129 characters', validClientFrames.presence, 'userId', 'u'.repeat(129), 'viewport.session_viewer_presence/v1.userId must be at most 128 characters'],
    ['presence displayName of 256 characters', validClientFrames.presence, 'displayName', 'd'.repeat(256), 'viewport.session_viewer_presence/v1.displayName must be a string of at most 255 characters'],
    ['presence numeric displayName', validClientFrames.presence, 'displayName', 5, undefined],
    ['presence null displayName', validClientFrames.presence, 'displayName', null, undefined],
    ['presence numeric sentAt', validClientFrames.presence, 'sentAt', 5, 'viewport.session_viewer_presence/v1.sentAt must be a string'],
  ])('rejects %s: invalid field', (_name, frame, field, value, detail) => {
    expectRejected(parse(parseClientFrame, withField(frame, field, value)), 'invalid_field', detail);
  });

  it('rejects a v3 kex init that carries only v2 fields', () => {
    expectRejected(
      parse(parseClientFrame, { ...validClientFrames.kexInitV2, version: 3 }),
      'missing_field',
      'relay_key_exchange_init.clientEphemeralPublicKey is required',
    );
  });

  it.each([
    ['an e2ee epoch that overflows to Infinity', '{"type":"e2ee","version":2,"profile":"noise-ik","sessionId":"s","epoch":1e999,"seq":1,"iv":"a","tag":"b","ciphertext":"c"}'],
  ])('rejects %s', (_name, text) => {
    expectRejected(parseClientFrame(text), 'invalid_field');
  });

  it.each([
    ['a daemon frame type', validDaemonFrames.kexResponseV3],
    ['a worker frame type', validWorkerRequest],
    ['an unknown type', { type: 'relay_hello' }],
    ['a type that differs in case', withField(validClientFrames.e2ee, 'type', 'E2EE')],
    ['a session-event relay frame (schema only)', validDaemonFrames.sessionEvent],
  ])('rejects %s as unknown_type or missing type', (_name, frame) => {
    const result = parse(parseClientFrame, frame);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(['unknown_type', 'missing_field']).toContain(result.error.reason);
  });

  it.each([
    ['missing type', without(validClientFrames.e2ee, 'type'), 'missing_field', 'type is required'],
    ['numeric type', withField(validClientFrames.e2ee, 'type', 1), 'invalid_field', 'type must be a string'],
    ['null type', withField(validClientFrames.e2ee, 'type', null), 'invalid_field', 'type must be a string'],
    ['unknown type', { type: 'nope' }, 'unknown_type', 'type is not a client frame type'],
  ] as const)('rejects a frame with %s', (_name, frame, reason, detail) => {
    expectRejected(parse(parseClientFrame, frame), reason, detail);
  });
});

describe.each([
  ['parseClientFrame', parseClientFrame as Parser],
  ['parseDaemonFrame', parseDaemonFrame as Parser],
  ['parseWorkerFrame', parseWorkerFrame as Parser],
])('%s on text that is not a JSON object', (_parser, parser) => {
  it.each([
    ['an array', '[]'],
    ['an array of a valid frame', `[${JSON.stringify(validClientFrames.e2ee)}]`],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"e2ee"'],
    ['a boolean', 'true'],
    ['an array nested to the depth limit', '['.repeat(MAX_FRAME_DEPTH) + ']'.repeat(MAX_FRAME_DEPTH)],
  ])('rejects %s as not_object', (_name, text) => {
    expectRejected(parser(text), 'not_object', 'frame must be a JSON object');
  });

  // Issue 22, item 2: refused by the shape pre-scan, before JSON.parse could spend hundreds of ms on them.
  it.each([
    ['a deeply nested array', '['.repeat(200_000) + ']'.repeat(200_000)],
    ['an unbalanced deep nest', '{"a":' + '['.repeat(100_000)],
  ])('rejects %s as too_deep', (_name, text) => {
    expectRejected(parser(text), 'too_deep', `frame nests deeper than ${MAX_FRAME_DEPTH} levels`);
  });

  it.each([
    ['empty text', ''],
    ['a truncated object', '{"type":"e2ee"'],
    ['a trailing comma', '{"type":"e2ee",}'],
    ['single quotes', "{'type':'e2ee'}"],
    ['plain text', 'hello'],
    ['NaN', 'NaN'],
    ['an unbalanced nest within the depth limit', '{"a":' + '['.repeat(MAX_FRAME_DEPTH - 1)],
    ['a lone surrogate escape is fine but a bad escape is not', '{"type":"\\x41"}'],
  ])('rejects %s as not_json', (_name, text) => {
    expectRejected(parser(text), 'not_json', 'frame is not valid JSON');
  });

  it('never echoes field values in error details', () => {
    const probes: Sample[] = [
      { type: SECRET },
      withField(validClientFrames.e2ee, 'profile', SECRET),
      withField(validClientFrames.presence, 'action', SECRET),
      withField(validWorkerRequest, 'method', SECRET),
      withField(validWorkerRequest, 'path', SECRET),
      withField(validDaemonFrames.sessionEvent, 'channel', SECRET),
      withField(validClientFrames.e2ee, SECRET, SECRET),
    ];
    for (const probe of probes) {
      const result = parse(parser, probe);
      if (!result.ok) expect(result.error.detail).not.toContain(SECRET);
    }
  });
});

describe('parseDaemonFrame', () => {
  it.each([
    ['e2ee', validDaemonFrames.e2ee, { kind: 'e2ee', profile: 'noise-ikpsk2', sessionId: 'sess-1', version: 2 }],
    [
      'kex response v3',
      validDaemonFrames.kexResponseV3,
      { kind: 'kex_response', profile: 'noise-ik', requestId: 'req-1', sessionId: 'sess-1', version: 3 },
    ],
    [
      'kex response v2 with a fractional epoch',
      validDaemonFrames.kexResponseV2,
      { kind: 'kex_response', profile: 'noise-ik', requestId: 'req-2', sessionId: 'sess-2', version: 2 },
    ],
    [
      'kex response with empty requestId and sessionId (dropped later by routing)',
      { ...validDaemonFrames.kexResponseV3, requestId: '', sessionId: ' ' },
      { kind: 'kex_response', profile: 'noise-ik', requestId: '', sessionId: '', version: 3 },
    ],
    ['key update', validDaemonFrames.keyUpdate, { kind: 'key_update', sessionId: 'sess-1' }],
    ['pairing offer ok', validDaemonFrames.offerOk, { kind: 'pairing_offer_response', requestId: 'req-4', ok: true }],
    ['pairing offer failed', validDaemonFrames.offerFailed, { kind: 'pairing_offer_response', requestId: 'req-4', ok: false }],
    ['pairing redeem ok', validDaemonFrames.redeemOk, { kind: 'pairing_redeem_response', requestId: 'req-5', ok: true }],
    ['pairing redeem failed', validDaemonFrames.redeemFailed, { kind: 'pairing_redeem_response', requestId: 'req-5', ok: false }],
    ['session event', validDaemonFrames.sessionEvent, { kind: 'session_event_relay', channel: 'agent-session:abc' }],
    [
      'session event with a null event (reference quirk)',
      withField(validDaemonFrames.sessionEvent, 'event', null),
      { kind: 'session_event_relay', channel: 'agent-session:abc' },
    ],
    [
      'session event that also carries a type field',
      withField(validDaemonFrames.sessionEvent, 'type', 'e2ee'),
      { kind: 'session_event_relay', channel: 'agent-session:abc' },
    ],
    [
      'failed pairing offer without the ok-only fields',
      { type: 'relay_pairing_offer_response', requestId: 'r', ok: false, errorCode: 'E' },
      { kind: 'pairing_offer_response', requestId: 'r', ok: false },
    ],
  ])('accepts a valid %s frame', (_name, frame, expected) => {
    expect(parse(parseDaemonFrame, frame)).toEqual({ ok: true, frame: expected });
  });

  const requiredFields: [string, string, Sample][] = [
    ...['version', 'profile', 'sessionId', 'epoch', 'seq', 'iv', 'tag', 'ciphertext'].map(
      (f): [string, string, Sample] => ['e2ee', f, validDaemonFrames.e2ee],
    ),
    ...['version', 'profile', 'requestId', 'daemonPublicKey', 'daemonEphemeralPublicKey', 'encryptedMetadata', 'sessionId', 'proof', 'epoch'].map(
      (f): [string, string, Sample] => ['relay_key_exchange_response', f, validDaemonFrames.kexResponseV3],
    ),
    ...['requestId', 'daemonNonce', 'sessionId', 'proof', 'epoch'].map(
      (f): [string, string, Sample] => ['relay_key_exchange_response', f, validDaemonFrames.kexResponseV2],
    ),
    ...['sessionId', 'nextEpoch'].map((f): [string, string, Sample] => ['relay_key_update_required', f, validDaemonFrames.keyUpdate]),
    ...['requestId', 'ok', 'daemonChannelPublicKey', 'encIv', 'encTag', 'encCiphertext'].map(
      (f): [string, string, Sample] => ['relay_pairing_offer_response', f, validDaemonFrames.offerOk],
    ),
    ['relay_pairing_offer_response', 'errorCode', validDaemonFrames.offerFailed],
    ...['requestId', 'ok', 'redeemed'].map(
      (f): [string, string, Sample] => ['relay_pairing_redeem_response', f, validDaemonFrames.redeemOk],
    ),
    ['relay_pairing_redeem_response', 'errorCode', validDaemonFrames.redeemFailed],
    ...['channel', 'event'].map(
      (f): [string, string, Sample] => ['viewport.session_event_relay_frame/v1', f, validDaemonFrames.sessionEvent],
    ),
  ];

  it.each(requiredFields)('rejects %s without %s: missing field', (type, field, frame) => {
    expectRejected(parse(parseDaemonFrame, without(frame, field)), 'missing_field', `${type}.${field} is required`);
  });

  it.each([
    ['e2ee seq 0', validDaemonFrames.e2ee, 'seq', 0, 'e2ee.seq must be an integer >= 1'],
    ['kex v3 epoch 0', validDaemonFrames.kexResponseV3, 'epoch', 0, 'relay_key_exchange_response.epoch must be an integer >= 1'],
    ['kex v3 fractional epoch', validDaemonFrames.kexResponseV3, 'epoch', 1.5, undefined],
    ['kex v2 epoch as a string', validDaemonFrames.kexResponseV2, 'epoch', '1', 'relay_key_exchange_response.epoch must be a finite number'],
    ['kex v2 null epoch', validDaemonFrames.kexResponseV2, 'epoch', null, undefined],
    ['kex version 1', validDaemonFrames.kexResponseV3, 'version', 1, 'relay_key_exchange_response.version must be 2 or 3'],
    ['kex unknown profile', validDaemonFrames.kexResponseV3, 'profile', 'noise-nn', undefined],
    ['kex numeric sessionId', validDaemonFrames.kexResponseV3, 'sessionId', 9, 'relay_key_exchange_response.sessionId must be a string'],
    ['kex v3 object proof', validDaemonFrames.kexResponseV3, 'proof', {}, undefined],
    ['kex v2 numeric daemonNonce', validDaemonFrames.kexResponseV2, 'daemonNonce', 1, undefined],
    ['key update numeric sessionId', validDaemonFrames.keyUpdate, 'sessionId', 1, 'relay_key_update_required.sessionId must be a string'],
    ['key update nextEpoch as a string', validDaemonFrames.keyUpdate, 'nextEpoch', '2', 'relay_key_update_required.nextEpoch must be a finite number'],
    ['offer blank requestId', validDaemonFrames.offerOk, 'requestId', '  ', 'relay_pairing_offer_response.requestId must be a non-empty string'],
    ['offer ok as a string', validDaemonFrames.offerOk, 'ok', 'true', 'relay_pairing_offer_response.ok must be a boolean'],
    ['offer ok as 1', validDaemonFrames.offerOk, 'ok', 1, undefined],
    ['offer ok with empty encIv', validDaemonFrames.offerOk, 'encIv', '', 'relay_pairing_offer_response.encIv must be a non-empty string'],
    ['offer failed with blank errorCode', validDaemonFrames.offerFailed, 'errorCode', ' ', 'relay_pairing_offer_response.errorCode must be a non-empty string'],
    ['redeem ok with a string redeemed', validDaemonFrames.redeemOk, 'redeemed', 'x', 'relay_pairing_redeem_response.redeemed must be an object when ok is true'],
    ['redeem ok with an array redeemed', validDaemonFrames.redeemOk, 'redeemed', [], undefined],
    ['redeem ok with a null redeemed', validDaemonFrames.redeemOk, 'redeemed', null, undefined],
    ['redeem failed with numeric errorCode', validDaemonFrames.redeemFailed, 'errorCode', 3, undefined],
    ['session event channel without prefix', validDaemonFrames.sessionEvent, 'channel', 'session:x', 'viewport.session_event_relay_frame/v1.channel must be a string starting with "agent-session:"'],
    ['session event array event', validDaemonFrames.sessionEvent, 'event', [], 'viewport.session_event_relay_frame/v1.event must be an object or null'],
    ['session event string event', validDaemonFrames.sessionEvent, 'event', 'x', undefined],
    ['session event numeric event', validDaemonFrames.sessionEvent, 'event', 0, undefined],
  ])('rejects %s: invalid field', (_name, frame, field, value, detail) => {
    expectRejected(parse(parseDaemonFrame, withField(frame, field, value)), 'invalid_field', detail);
  });

  it.each([
    ['a client kex init', validClientFrames.kexInitV3],
    ['a client pairing request', validClientFrames.pairingOffer],
    ['a session-events subscribe', validClientFrames.subscribe],
    ['a frame with a wrong schema', { ...validDaemonFrames.sessionEvent, schema: 'viewport.session_event_relay_frame/v2', type: 'x' }],
  ])('rejects %s as unknown_type', (_name, frame) => {
    expectRejected(parse(parseDaemonFrame, frame), 'unknown_type', 'type is not a daemon frame type');
  });

  it('rejects a frame with neither type nor schema as missing type', () => {
    expectRejected(parse(parseDaemonFrame, { channel: 'agent-session:x', event: {} }), 'missing_field', 'type is required');
  });
});

describe('parseWorkerFrame', () => {
  it.each([
    ['POST with headers and body', validWorkerRequest, validWorkerRequest],
    [
      'GET without headers or body',
      { type: validWorkerRequest.type, requestId: 'r', method: 'GET', path: '/api/runtime/workspaces/w' },
      { requestId: 'r', method: 'GET', path: '/api/runtime/workspaces/w' },
    ],
    ['PATCH with empty body', { ...validWorkerRequest, method: 'PATCH', body: '' }, { ...validWorkerRequest, method: 'PATCH', body: '' }],
    ['a requestId with spaces, echoed verbatim', { ...validWorkerRequest, requestId: ' r 1 ' }, { ...validWorkerRequest, requestId: ' r 1 ' }],
  ])('accepts %s', (_name, frame, expected) => {
    const { type: _type, ...view } = expected as Sample;
    expect(parse(parseWorkerFrame, frame)).toEqual({ ok: true, frame: view });
  });

  it.each(['requestId', 'method', 'path'])('rejects a request without %s: missing field', (field) => {
    expectRejected(
      parse(parseWorkerFrame, without(validWorkerRequest, field)),
      'missing_field',
      `viewport.worker_transport.request/v1.${field} is required`,
    );
  });

  it.each([
    ['blank requestId', 'requestId', '  ', 'viewport.worker_transport.request/v1.requestId must be a non-empty string'],
    ['numeric requestId', 'requestId', 1, undefined],
    ['DELETE method', 'method', 'DELETE', 'viewport.worker_transport.request/v1.method must be "GET", "POST" or "PATCH"'],
    ['lower-case method', 'method', 'get', undefined],
    ['path outside the runtime API', 'path', '/api/admin/users', 'viewport.worker_transport.request/v1.path must be a string starting with "/api/runtime/workspaces/"'],
    ['absolute URL path', 'path', 'https://evil.test/api/runtime/workspaces/w', undefined],
    ['path missing the trailing slash of the prefix', 'path', '/api/runtime/workspaces', undefined],
    ['numeric path', 'path', 5, undefined],
    ['headers as an array', 'headers', [], 'viewport.worker_transport.request/v1.headers must be an object'],
    ['headers as null', 'headers', null, undefined],
    ['headers as a string', 'headers', 'authorization: x', undefined],
    ['body as an object', 'body', {}, 'viewport.worker_transport.request/v1.body must be a string'],
    ['body as null', 'body', null, undefined],
  ])('rejects %s: invalid field', (_name, field, value, detail) => {
    expectRejected(parse(parseWorkerFrame, withField(validWorkerRequest, field, value)), 'invalid_field', detail);
  });

  it.each([
    ['a response frame', { ...validWorkerRequest, type: 'viewport.worker_transport.response/v1' }],
    ['a client e2ee frame', validClientFrames.e2ee],
  ])('rejects %s as unknown_type', (_name, frame) => {
    expectRejected(parse(parseWorkerFrame, frame), 'unknown_type');
  });
});

describe('frame parsers (properties)', () => {
  const parsers: [string, Parser][] = [
    ['client', parseClientFrame],
    ['daemon', parseDaemonFrame],
    ['worker', parseWorkerFrame],
  ];

  it.each(parsers)('%s parser never throws on arbitrary strings', (_name, parser) => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const result = parser(text);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it.each(parsers)('%s parser never throws on arbitrary JSON values', (_name, parser) => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = parser(JSON.stringify(value));
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it.each(parsers)('%s parser never throws on object frames with a known type and arbitrary fields', (_name, parser) => {
    const types = [
      ...Object.values(validClientFrames).map((f) => f.type),
      ...Object.values(validDaemonFrames).map((f) => ('type' in f ? f.type : 'e2ee')),
      validWorkerRequest.type,
    ];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.dictionary(fc.string(), fc.jsonValue()), (type, fields) => {
        const result = parse(parser, { ...fields, type });
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  const validSamples: [string, Parser, Sample][] = [
    ...Object.entries(validClientFrames).map(([name, f]): [string, Parser, Sample] => [`client ${name}`, parseClientFrame, f]),
    ...Object.entries(validDaemonFrames).map(([name, f]): [string, Parser, Sample] => [`daemon ${name}`, parseDaemonFrame, f]),
    ['worker request', parseWorkerFrame, validWorkerRequest],
  ];

  it.each(validSamples)('a valid %s stays valid, with the same view, when unknown fields are added', (_name, parser, sample) => {
    const expected = parse(parser, sample);
    expect(expected.ok).toBe(true);
    const extraKey = fc.string().filter((k) => !(k in sample) && k !== 'schema' && k !== 'type');
    fc.assert(
      fc.property(fc.dictionary(extraKey, fc.jsonValue(), { maxKeys: 6 }), (extras) => {
        expect(parse(parser, { ...extras, ...sample })).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('a valid frame with an extra field nested up to the depth limit is still valid; one level more is refused', () => {
    const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const withExtra = (depth: number) => JSON.stringify(validClientFrames.e2ee).replace(/}$/, `,"nested":${nest(depth)}}`);
    expect(parseClientFrame(withExtra(MAX_FRAME_DEPTH - 1)).ok).toBe(true);
    expectRejected(parseClientFrame(withExtra(MAX_FRAME_DEPTH)), 'too_deep');
  });
});
