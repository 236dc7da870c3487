// What the peer links count and log when they refuse something: one counter
// per kind with a reason label, and a warning per reason and peer at most
// every LOG_EVERY_MS (a flood of strangers or forged records must not flood
// the log). The listener, the outbound links and the router report through it.
import { Counter, type Registry } from 'prom-client';
import type { BackplaneLog } from '../backplane.js';

/**
 * LinkRejectReason is why something from a peer or from Redis was not trusted:
 * a dial request (path, protocol version, source id, nonce, no handshake slot,
 * too many links), a failed proof, a link message that failed its tag, acks
 * that stopped, a peer that speaks an older link protocol, or a `peer:{id}`
 * address record that was unsigned, malformed, badly signed or stale.
 */
export type LinkRejectReason =
  | 'bad_path'
  | 'old_version'
  | 'bad_source'
  | 'bad_nonce'
  | 'busy'
  | 'too_many_links'
  | 'bad_proof'
  | 'bad_tag'
  | 'ack_stalled'
  | 'peer_old_version'
  | 'address_unsigned'
  | 'address_malformed'
  | 'address_bad_signature'
  | 'address_stale';

/** LinkRefuseReason is why a frame was refused a link's queue: too many frames or too many bytes unacknowledged. */
export type LinkRefuseReason = 'queue_frames' | 'queue_bytes';

export interface LinkReporter {
  /** rejected counts and (rate-limited) logs a rejection concerning `peer` (a relay id or an address). */
  rejected(reason: LinkRejectReason, peer: string, details?: Record<string, unknown>): void;
  /** refused counts a frame refused the queue of the link to target, and logs it (rate-limited). */
  refused(reason: LinkRefuseReason, target: string): void;
}

const LOG_EVERY_MS = 10_000;

// What an operator should read into the commoner reasons, in the log line itself.
const HINTS: Partial<Record<LinkRejectReason, string>> = {
  old_version: 'the peer runs an earlier relay version (no link protocol 2): frames to this relay take Redis until it is upgraded',
  peer_old_version: 'the peer runs an earlier relay version (link protocol 1): frames to it take Redis until it is upgraded',
  busy: 'too many unfinished handshakes from this address: strangers on the peer port?',
  bad_proof: 'the peer does not hold this bus key, or is not the relay it claims to be',
  bad_tag: 'a link message failed its tag (forged, replayed or reordered): link closed, frames take Redis',
  address_unsigned: 'the peer record in Redis is not signed: not dialled',
  address_bad_signature: 'the peer record in Redis is not signed with this bus key for this relay: not dialled',
  address_stale: 'the peer record in Redis is too old (replayed?): not dialled',
};
const LOG_KEYS_MAX = 1024;

function labelledCounter(registry: Registry, name: string, help: string): Counter<'reason'> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<'reason'>;
  return new Counter({ name, help, labelNames: ['reason'], registers: [registry] });
}

/**
 * createLinkReporter makes the counters in registry. A rejection that the
 * bus's own counter should see as well (a failed proof or tag is a bad
 * signature) goes to onInvalidSignature too.
 */
export function createLinkReporter(registry: Registry, log: BackplaneLog, now: () => number, onInvalidSignature: () => void): LinkReporter {
  const rejectedTotal = labelledCounter(
    registry,
    'relay_bus_peer_link_rejected_total',
    'Peer-link dials, handshakes, link messages and peer address records refused, by reason',
  );
  const refusedTotal = labelledCounter(registry, 'relay_bus_peer_link_refused_total', 'Frames refused a peer link because its queue was full, by reason');
  // When each (event, reason, peer) was last logged, and how many went unlogged since.
  const lastLogged = new Map<string, { atMs: number; suppressed: number }>();

  /** logLimited writes one warning per event, reason and peer every LOG_EVERY_MS. */
  function logLimited(event: string, reason: string, peer: string, details: Record<string, unknown>): void {
    const key = `${event}\n${reason}\n${peer}`;
    const nowMs = now();
    const seen = lastLogged.get(key);
    if (seen && nowMs - seen.atMs < LOG_EVERY_MS) {
      seen.suppressed++;
      return;
    }
    if (lastLogged.size >= LOG_KEYS_MAX) lastLogged.clear();
    lastLogged.set(key, { atMs: nowMs, suppressed: 0 });
    log.warn(event, { reason, peer: peer.slice(0, 200), ...details, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) });
  }

  return {
    rejected(reason, peer, details = {}) {
      rejectedTotal.inc({ reason });
      if (reason === 'bad_proof' || reason === 'bad_tag' || reason.startsWith('address_')) onInvalidSignature();
      const hint = HINTS[reason];
      logLimited('peer_link_rejected', reason, peer, { ...(hint ? { hint } : {}), ...details });
    },
    refused(reason, target) {
      refusedTotal.inc({ reason });
      logLimited('peer_link_refused', reason, target, { hint: 'the peer is not acknowledging what the link holds for it: frames refused (DAEMON_UNAVAILABLE or a loss marker)' });
    },
  };
}
