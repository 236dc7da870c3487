// The signed peer address (`P:peer:{relayId}` in Redis): where a relay's
// links are dialled, signed with the peer-address subkey (keys.ts) and
// stamped, so whoever can write to Redis cannot point a relay's peers at a
// host of their choosing, nor replay an old address for long. Pure; the
// store writes and reads the record, the router judges it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LinkRejectReason } from './reporting.js';

/** The record's format version; a record without it (an earlier relay's bare URL) is unsigned. */
const RECORD_VERSION = 1;

function addressMac(key: Buffer, relayId: string, url: string, issuedAtMs: number): Buffer {
  // A JSON array: an unambiguous layout whatever the id or URL contain.
  return createHmac('sha256', key).update(JSON.stringify([RECORD_VERSION, relayId, url, issuedAtMs]), 'utf8').digest();
}

/** encodePeerAddress is the record relayId stores for its link URL at nowMs. */
export function encodePeerAddress(key: Buffer, relayId: string, url: string, nowMs: number): string {
  const signature = addressMac(key, relayId, url, nowMs).toString('base64url');
  return JSON.stringify({ v: RECORD_VERSION, relayId, url, issuedAtMs: nowMs, signature });
}

export type PeerAddress = { ok: true; url: string } | { ok: false; reason: Extract<LinkRejectReason, `address_${string}`> };

/**
 * readPeerAddress accepts the record stored for relayId only when it is
 * signed with key for that relay and issued within maxAgeMs of nowMs (either
 * way: a clock ahead is as suspect as one behind).
 */
export function readPeerAddress(raw: string, key: Buffer, relayId: string, nowMs: number, maxAgeMs: number): PeerAddress {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'address_unsigned' };
  }
  if (typeof value !== 'object' || value === null || !('signature' in value)) return { ok: false, reason: 'address_unsigned' };
  const record = value as Record<string, unknown>;
  const { url, issuedAtMs, signature } = record;
  if (record.v !== RECORD_VERSION || typeof url !== 'string' || typeof signature !== 'string' || !Number.isSafeInteger(issuedAtMs)) {
    return { ok: false, reason: 'address_malformed' };
  }
  const expected = addressMac(key, relayId, url, issuedAtMs as number);
  const given = Buffer.from(signature, 'base64url');
  // The record's own relayId is not trusted: the MAC is computed for the relay whose key was read.
  if (given.length !== expected.length || given.toString('base64url') !== signature || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'address_bad_signature' };
  }
  if (Math.abs(nowMs - (issuedAtMs as number)) > maxAgeMs) return { ok: false, reason: 'address_stale' };
  return { ok: true, url };
}
