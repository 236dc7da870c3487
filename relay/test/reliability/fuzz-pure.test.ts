// Issue 11, input fuzzing (pure layer): every parser and checker the relay runs
// on peer-controlled input, fed generated and mutated input. Each must answer
// with a value (never throw), and whatever it accepts must satisfy the rules the
// routing code relies on. This file carries most of the fast run's case count
// (asserted at the end); the socket-level file checks the same inputs end to end.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseClaims } from '../../src/admission/claims.js';
import { extractToken } from '../../src/admission/token.js';
import { checkInboundBusFrame } from '../../src/backplane/bus-frame.js';
import { createBusVerifier, signBusFrame } from '../../src/backplane/bus-signing.js';
import type { BusFrame } from '../../src/backplane/backplane.js';
import { parseClientFrame, parseDaemonFrame, parseWorkerFrame, type ParseResult } from '../../src/frames/index.js';
import { createClientIpResolver } from '../../src/server/client-ip.js';
import { checkHandshakeHeaders } from '../../src/server/handshake.js';
import { parseUpgradeQuery } from '../../src/server/query.js';
import { authorizeWorkerPath } from '../../src/worker/path.js';
import { e2ee, kexInit, kexResponse, keyUpdate, pairingOffer, pairingOfferResponse, presence, sessionEvent, subscribe, workerRequest } from '../frame-fixtures.js';
import { scaled } from './long-run.js';
import { caseCount, deeplyNested, invalidUtf8Text, LONG, mutatedFrame, runs } from './fuzz-inputs.js';

const counted = caseCount();
afterAll(() => {
  process.stdout.write(`[reliability] pure fuzzing: ${counted.total()} generated cases\n`);
  // The issue asks for at least 100,000 generated cases in the fast run; this file carries them.
  expect(counted.total()).toBeGreaterThanOrEqual(100_000);
});

/** isValue: a parser outcome is a value of the documented shape. */
function expectOutcome(result: ParseResult<unknown>): void {
  if (result.ok) expect(typeof result.frame).toBe('object');
  else {
    expect(['not_json', 'too_deep', 'too_wide', 'not_object', 'unknown_type', 'missing_field', 'invalid_field']).toContain(result.error.reason);
    expect(typeof result.error.detail).toBe('string');
  }
}

const clientBases = [e2ee('s1'), kexInit('r1'), kexInit('r2', 'noise-ikpsk2'), pairingOffer('p1'), subscribe('agent-session:a'), presence('agent-session:a', 'u1')];
const daemonBases = [e2ee('s1'), kexResponse('r1', 's1'), keyUpdate('s1'), pairingOfferResponse('p1'), sessionEvent('agent-session:a')];
const workerBases = [workerRequest('w1', '/api/runtime/workspaces/w/managed-executors/m/claim', 'POST')];

const parsers = [
  ['client', parseClientFrame, clientBases],
  ['daemon', parseDaemonFrame, daemonBases],
  ['worker', parseWorkerFrame, workerBases],
] as const;

// Any text at all: random strings, random JSON, mutated valid frames, bytes decoded as UTF-8.
const frameText = (bases: readonly object[]) =>
  fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.json({ maxDepth: 6 }),
    mutatedFrame(bases),
    invalidUtf8Text(),
  );

describe('frame parsers', () => {
  it.each(parsers)('%s frames: any text gives a value, never a throw', (_role, parse, bases) => {
    fc.assert(
      fc.property(frameText(bases), (text) => {
        counted.add();
        expectOutcome(parse(text));
      }),
      { numRuns: runs(12_000) },
    );
  });

  it.each(parsers)('%s frames: accepted frames are JSON objects of a known type', (_role, parse, bases) => {
    fc.assert(
      fc.property(mutatedFrame(bases), (text) => {
        counted.add();
        const result = parse(text);
        if (!result.ok) return;
        const obj = JSON.parse(text) as Record<string, unknown>;
        expect(obj !== null && typeof obj === 'object' && !Array.isArray(obj)).toBe(true);
        expect(typeof obj.type === 'string' || typeof obj.schema === 'string').toBe(true);
      }),
      { numRuns: runs(5_000) },
    );
  });

  it.each(parsers)('%s frames: deeply nested and huge JSON are answered, not crashed on', (_role, parse) => {
    for (const depth of scaled([1_000, 20_000], [1_000, 100_000, 1_000_000])) {
      counted.add(4);
      expectOutcome(parse(deeplyNested(depth, '[', ']')));
      expectOutcome(parse(deeplyNested(depth, '{"a":', '}')));
      expectOutcome(parse(`{"type":"e2ee","x":${deeplyNested(depth, '[', ']')}}`));
      expectOutcome(parse(`{"type":"e2ee","x":${deeplyNested(depth, '[', ']').slice(0, -1)}}`)); // unbalanced
    }
    counted.add(2);
    expectOutcome(parse(`{"type":"e2ee","pad":"${'x'.repeat(LONG)}"}`));
    expectOutcome(parse(`[${'1,'.repeat(scaled(LONG / 16, LONG / 2))}1]`));
  });
});

describe('upgrade inputs', () => {
  const idChars = fc.constantFrom(...'aZ09._:-/?#% &=\u0000\u00e9\ud83d'.split(''));
  const queryValue = fc.oneof(fc.string({ maxLength: 140 }), fc.string({ unit: idChars, maxLength: 140 }));
  const queryArb = fc.array(fc.tuple(fc.constantFrom('role', 'workspaceId', 'runtimeTargetId', 'token', 'other', ''), queryValue), { maxLength: 8 });

  it('query strings: accepted ids always match the id rule, repeats never pass', () => {
    fc.assert(
      fc.property(fc.oneof(queryArb.map((pairs) => new URLSearchParams(pairs)), fc.string({ maxLength: 300 }).map((s) => new URLSearchParams(s))), (params) => {
        counted.add();
        const result = parseUpgradeQuery(params);
        if (!result.ok) return;
        expect(['workspace-daemon', 'client', 'worker']).toContain(result.query.role);
        for (const id of [result.query.workspaceId, result.query.runtimeTargetId]) {
          if (id !== undefined) expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
        }
        expect(params.getAll('workspaceId')).toHaveLength(1);
      }),
      { numRuns: runs(13_000) },
    );
  });

  const headerValue = fc.oneof(fc.string({ maxLength: 80 }), fc.constant(undefined), fc.string({ maxLength: 5000 }).map((s) => `Bearer ${s}`));
  it('tokens: only 10-4096 characters are taken, and never from the query outside dev', () => {
    fc.assert(
      fc.property(
        headerValue,
        fc.oneof(headerValue, fc.array(fc.string({ maxLength: 60 }), { maxLength: 5 }).map((l) => l.map((p) => `auth.${p}`).join(','))),
        fc.option(fc.string({ maxLength: 5000 }), { nil: undefined }),
        fc.boolean(),
        (authorization, protocol, query, dev) => {
          counted.add();
          const result = extractToken({ authorization, 'sec-websocket-protocol': protocol }, query, dev);
          if (result.ok) {
            expect(result.token.length).toBeGreaterThanOrEqual(10);
            expect(result.token.length).toBeLessThanOrEqual(4096);
            if (!dev) expect(result.source).not.toBe('query');
          } else expect(['MISSING_AUTH_TOKEN', 'QUERY_TOKEN_NOT_ALLOWED']).toContain(result.reason);
        },
      ),
      { numRuns: runs(13_000) },
    );
  });

  it('handshake headers: any method and header values give 405/400 or ok', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'get', '', 'PUT'),
        fc.record({
          upgrade: fc.option(fc.constantFrom('websocket', 'WebSocket', 'h2c', ''), { nil: undefined }),
          'sec-websocket-key': fc.option(fc.oneof(fc.string({ maxLength: 30 }), fc.base64String({ minLength: 24, maxLength: 24 })), { nil: undefined }),
          'sec-websocket-version': fc.option(fc.constantFrom('13', '8', '12', 'x', ''), { nil: undefined }),
        }),
        (method, headers) => {
          counted.add();
          const r = checkHandshakeHeaders({ method, headers });
          if (!r.ok) expect([400, 405]).toContain(r.status);
          else expect(method).toBe('GET');
        },
      ),
      { numRuns: runs(10_000) },
    );
  });

  it('client IP: the answer is the socket address or an IP from the forwarded chain', () => {
    const resolve = createClientIpResolver(['10.0.0.0/8', '::1', '127.0.0.1']);
    const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 }));
    fc.assert(
      fc.property(fc.oneof(fc.constant('127.0.0.1'), fc.constant('::ffff:10.1.2.3'), ip), fc.array(ip, { maxLength: 6 }), (remote, chain) => {
        counted.add();
        const header = chain.join(', ');
        const got = resolve(remote, header);
        const normalized = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
        expect(got === normalized.trim() || chain.map((h) => h.trim()).includes(got) || chain.map((h) => h.trim().replace(/^::ffff:/, '')).includes(got)).toBe(true);
      }),
      { numRuns: runs(5_000) },
    );
  });
});

describe('claims from the platform or a token', () => {
  it('any JSON value gives ok or INVALID_CLAIMS, and accepted claims have a workspace', () => {
    const claimKeys = fc.constantFrom('workspaceId', 'runtimeTargetId', 'scope', 'clientId', 'sessionChannels', 'e2eeProfile', 'daemonIssueGeneration', 'role', 'aud', 'exp', 'extra');
    const claimsArb = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(claimKeys, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }));
    fc.assert(
      fc.property(claimsArb, (value) => {
        counted.add();
        const result = parseClaims(value);
        if (result.ok) expect(result.claims.workspaceId.length).toBeGreaterThan(0);
        else expect(result.reason).toBe('INVALID_CLAIMS');
      }),
      { numRuns: runs(10_000) },
    );
  });
});

describe('worker paths (docs/protocol.md#weak-worker-path)', () => {
  const segment = fc.oneof(
    fc.constantFrom('api', 'runtime', 'workspaces', 'w', 'managed-executors', 'm', 'other', '..', '.', '%2e%2e', '%2F', '', '%', '%zz', 'a?b', 'a#b', '\\'),
    fc.string({ maxLength: 8 }),
  );
  it('an accepted path decodes to exactly the worker’s own prefix, however it is spelled', () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 10 }), fc.boolean(), (segments, prefixed) => {
        counted.add();
        const path = `/${[...(prefixed ? ['api', 'runtime', 'workspaces', 'w', 'managed-executors', 'm'] : []), ...segments].join('/')}`;
        const decision = authorizeWorkerPath(path, 'w', 'm');
        if (!decision.ok) return;
        const decoded = path.split('/').slice(1).map((s) => decodeURIComponent(s));
        expect(decoded.slice(0, 6)).toEqual(['api', 'runtime', 'workspaces', 'w', 'managed-executors', 'm']);
        expect(decoded.some((s) => s === '..' || s === '.')).toBe(false);
      }),
      { numRuns: runs(10_000) },
    );
  });
});

describe('bus frames (receiver and verifier)', () => {
  const KEY = 'fuzz-bus-hmac-key';
  const NOW = 1_700_000_000_000;
  const policy = () => ({
    selfRelayId: 'relay-b',
    maxFrameBytes: 4096,
    verifier: createBusVerifier({ key: KEY, maxSkewMs: 15_000, seenMax: 1000, now: () => NOW }),
  });
  const base: BusFrame = {
    workspaceId: 'w1',
    runtimeTargetId: 't1',
    sourceRelayId: 'relay-a',
    targetRelayId: 'relay-b',
    direction: 'client_to_daemon',
    payload: JSON.stringify(e2ee('s1')),
  };

  it('any decoded value is refused with a named reason unless it is a well-formed signed frame', () => {
    const p = policy();
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.record({ workspaceId: fc.string(), runtimeTargetId: fc.string(), sourceRelayId: fc.string(), targetRelayId: fc.option(fc.string()), direction: fc.string(), payload: fc.string() }, { requiredKeys: [] })), (value) => {
        counted.add();
        const result = checkInboundBusFrame(value, p);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(['malformed', 'misaddressed', 'frame_too_large', 'invalid_signature', 'stale_signature', 'replayed_signature']).toContain(result.error);
      }),
      { numRuns: runs(10_000) },
    );
  });

  it('changing any field of a signed frame, or replaying it, never passes', () => {
    const fields = ['workspaceId', 'runtimeTargetId', 'machineId', 'sourceRelayId', 'direction', 'payload', 'issuedAtMs', 'signature'] as const;
    fc.assert(
      fc.property(fc.nat({ max: 10_000 }), fc.constantFrom(...fields), fc.string({ minLength: 1, maxLength: 20 }), (skew, field, junk) => {
        counted.add();
        const p = policy();
        const signed = signBusFrame({ ...base, machineId: 'm1' }, KEY, NOW - skew);
        const tampered: Record<string, unknown> = { ...signed };
        if (field === 'issuedAtMs') tampered.issuedAtMs = (signed.issuedAtMs ?? 0) + 1 + (junk.length % 5);
        else if (field === 'direction') tampered.direction = signed.direction === 'client_to_daemon' ? 'daemon_to_clients' : 'client_to_daemon';
        else tampered[field] = `${String(signed[field] ?? '')}${junk}`;
        expect(checkInboundBusFrame(tampered, p).ok).toBe(false);
        expect(checkInboundBusFrame(signed, p).ok).toBe(true);
        expect(checkInboundBusFrame(signed, p)).toEqual({ ok: false, error: 'replayed_signature' });
      }),
      { numRuns: runs(5_000) },
    );
  });

  it('a payload one byte over the frame limit is refused as too large', () => {
    const p = policy();
    counted.add(2);
    const at = signBusFrame({ ...base, payload: 'x'.repeat(4096) }, KEY, NOW);
    const over = signBusFrame({ ...base, payload: 'x'.repeat(4097) }, KEY, NOW);
    expect(checkInboundBusFrame(at, p).ok).toBe(true);
    expect(checkInboundBusFrame(over, p)).toEqual({ ok: false, error: 'frame_too_large' });
  });
});
