import { describe, expect, it } from 'vitest';
import { isPairingKind, isSessionEventKind, type ClientFrameKind } from './frame.js';
import { isProfile, isStrongerOrEqualProfile } from './profile.js';

describe('isStrongerOrEqualProfile', () => {
  it.each([
    ['ik vs ik', 'noise-ik', 'noise-ik', true],
    ['psk2 vs psk2', 'noise-ikpsk2', 'noise-ikpsk2', true],
    ['psk2 vs ik (stronger is accepted)', 'noise-ikpsk2', 'noise-ik', true],
    ['ik vs psk2 (weaker is refused)', 'noise-ik', 'noise-ikpsk2', false],
  ] as const)('%s', (_name, a, b, expected) => {
    expect(isStrongerOrEqualProfile(a, b)).toBe(expected);
  });
});

describe('isProfile', () => {
  it.each([
    ['noise-ik', true],
    ['noise-ikpsk2', true],
    ['NOISE-IK', false],
    ['noise-xx', false],
    ['', false],
    [null, false],
    [2, false],
  ])('%s -> %s', (value, expected) => {
    expect(isProfile(value)).toBe(expected);
  });
});

describe('frame kind groups', () => {
  const kinds: [ClientFrameKind, boolean, boolean][] = [
    ['e2ee', false, false],
    ['kex_init', false, false],
    ['pairing_offer_request', false, true],
    ['pairing_redeem_request', false, true],
    ['session_subscribe', true, false],
    ['session_unsubscribe', true, false],
    ['viewer_presence', true, false],
  ];
  it.each(kinds)('%s: session-event %s, pairing %s', (kind, sessionEvent, pairing) => {
    expect(isSessionEventKind(kind)).toBe(sessionEvent);
    expect(isPairingKind(kind)).toBe(pairing);
  });
});
