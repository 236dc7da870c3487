// The bus streams' entry format: a signed frame laid out as field/value pairs
// (k w r s d m t i g p), read back without a JSON round trip, plus the earlier
// single-JSON-field entries. Pure, and apart from the reader and the writer,
// which must agree on it byte for byte.
import type { BusFrame, ScopeRef } from '../../bus/types.js';
import type { BusEntryKind } from '../bus-receiver.js';
import type { LossMarkerStamp } from '../loss-marker.js';

/**
 * StreamEntryKind adds the peer-link markers to the bus kinds: a fence (every
 * bus frame the link's sender published before it is in the stream ahead of
 * it) and an unlink (the sender gave the link up).
 */
export type StreamEntryKind = 'frame' | 'loss' | 'fence' | 'unlink';

const ENTRY_KINDS: Record<string, StreamEntryKind> = { f: 'frame', l: 'loss', x: 'fence', u: 'unlink' };
const KIND_CODES: Record<StreamEntryKind, string> = { frame: 'f', loss: 'l', fence: 'x', unlink: 'u' };

/** StreamEntry is one decoded stream entry: a frame, a marker for frames refused after it, or a peer-link marker. */
export interface StreamEntry {
  readonly kind: StreamEntryKind;
  readonly value: unknown;
}

/**
 * entryFields lays a signed frame out as stream field/value pairs, kind first:
 * no JSON round trip, so the payload is neither escaped nor parsed twice.
 */
export function entryFields(frame: BusFrame, kind: StreamEntryKind = 'frame', stamp?: LossMarkerStamp): string[] {
  const fields = ['k', KIND_CODES[kind], 'w', frame.workspaceId, 'r', frame.runtimeTargetId, 's', frame.sourceRelayId, 'd', frame.direction];
  if (frame.machineId !== undefined) fields.push('m', frame.machineId);
  if (frame.targetRelayId !== null) fields.push('t', frame.targetRelayId);
  if (frame.issuedAtMs !== undefined) fields.push('i', String(frame.issuedAtMs));
  if (frame.signature !== undefined) fields.push('g', frame.signature);
  // A frame that may become a loss marker carries its marker stamp (docs/backplane.md#loss-markers).
  if (stamp !== undefined) fields.push('b', stamp.bootId, 'n', String(stamp.seq), 'q', stamp.signature);
  fields.push('p', frame.payload);
  return fields;
}

/** ENTRY_OVERHEAD_BYTES approximates what Redis spends on an entry besides its fields' text. */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * entrySize is the approximate size of a stream entry, the unit of the
 * streams' byte caps: the writer adds it, the reader subtracts the same
 * figure for what it read, so both must count alike (string lengths).
 */
export function entrySize(fields: readonly string[]): number {
  let size = ENTRY_OVERHEAD_BYTES;
  for (const field of fields) size += field.length;
  return size;
}

const FIELD_NAMES: Record<string, string> = {
  w: 'workspaceId',
  r: 'runtimeTargetId',
  s: 'sourceRelayId',
  d: 'direction',
  m: 'machineId',
  t: 'targetRelayId',
  g: 'signature',
  p: 'payload',
  b: 'markerBootId',
  q: 'markerSignature',
};

/** parseEntry decodes an entry written by entryFields, or a single JSON field 'f'/'l' (earlier relays, tests). */
export function parseEntry(fields: string[]): StreamEntry {
  if (fields[0] === 'f' || fields[0] === 'l') {
    const kind: BusEntryKind = fields[0] === 'l' ? 'loss' : 'frame';
    try {
      return { kind, value: JSON.parse(fields[1] ?? '') as unknown };
    } catch {
      return { kind, value: undefined };
    }
  }
  const kind = fields[0] === 'k' ? ENTRY_KINDS[fields[1] ?? ''] : undefined;
  if (kind === undefined) return { kind: 'frame', value: undefined };
  const value: Record<string, unknown> = {};
  for (let i = 2; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const text = fields[i + 1] as string;
    if (name === 'i') value.issuedAtMs = Number(text);
    else if (name === 'n') value.markerSeq = Number(text);
    else {
      const field = FIELD_NAMES[name];
      if (field !== undefined) value[field] = text;
    }
  }
  // No t field: the frame named no target relay (null, as in the JSON form).
  if (value.targetRelayId === undefined) value.targetRelayId = null;
  return { kind, value };
}

/** lossScope reads the guard-key parts of a marker, or null when they are not strings. */
export function lossScope(value: unknown): { scope: ScopeRef; sourceRelayId: string } | null {
  if (typeof value !== 'object' || value === null) return null;
  const { workspaceId, runtimeTargetId, sourceRelayId } = value as Record<string, unknown>;
  if (typeof workspaceId !== 'string' || typeof runtimeTargetId !== 'string' || typeof sourceRelayId !== 'string') return null;
  return { scope: { workspaceId, runtimeTargetId }, sourceRelayId };
}

/** streamIdMs is the Redis time (ms) at which the entry with this id was appended. */
export function streamIdMs(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash < 0 ? id : id.slice(0, dash));
}

/** compareStreamIds orders Redis stream ids "ms-seq" numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map((part) => BigInt(part));
  const [bMs = 0n, bSeq = 0n] = b.split('-').map((part) => BigInt(part));
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}
