// Direct relay-to-relay links for redis mode. A frame for another relay goes
// over a WebSocket to it instead of through its Redis stream: one hop and one
// wake-up each side instead of three processes and six wake-ups per hop. Redis
// stays the source of truth: it finds peers, carries every frame while no link
// is up, and orders the switch between the two paths with markers (fence,
// unlink) written to the target's stream (docs/backplane.md, "Peer links").
// Both ends prove they hold the bus key when the link is set up (an HMAC
// challenge each way, bound to the connection by both nonces), and every
// message on the link then carries a tag under the link's own session key
// (link-mac.ts) instead of a bus signature: no timestamps or replay guard,
// which cost a relay more per frame than the link itself.
//
// The router is this relay's side of it: which link a frame takes, dialling,
// what a dropped or stalled link leaves in the stream, and the markers read
// back from it. The stream itself is behind PeerLinkStreams, so nothing here
// knows Redis.
import type { Registry } from 'prom-client';
import type { BusFrame } from '../../bus/types.js';
import type { BackplaneLog } from '../backplane.js';
import { parseBusFrame } from '../bus-frame.js';
import type { BusReceiver } from '../bus-receiver.js';
import { isAuthentic, signBusFrame } from '../bus-signing.js';
import { deriveBusSubkeys } from '../keys.js';
import type { BackplaneMetrics } from '../metrics.js';
import { scopeKey } from '../scope-key.js';
import type { AppendOutcome } from '../store.js';
import { encodeLinkFrame } from './codec.js';
import { dialPeerLink, PeerProofError, PeerVersionError } from './dialer.js';
import { isLinkableRelayId } from './handshake.js';
import { startPeerLinkListener, type PeerLinkListener } from './listener.js';
import { OutboundLink, type PendingFrame } from './outbound.js';
import { encodePeerAddress, readPeerAddress } from './peer-address.js';
import { createLinkReporter, type LinkRefuseReason } from './reporting.js';

/** A target is dialled at most this often; pings find a silent peer. */
const PEER_REDIAL_MS = 1000;
const PEER_PING_MS = 5000;
/** The receiver acks after this many frames or this long after the first unacked one (acks only settle publishes, frames never wait for them). */
const PEER_ACK_EVERY = 128;
const PEER_ACK_DELAY_MS = 20;

/**
 * Bytes a link may hold for its peer (unacknowledged messages, the socket's
 * unwritten buffer among them) before frames are refused: at least this, and
 * room for four of the largest frames. A sent frame counts once: 200 clients
 * with four 16 KiB frames each in flight hold 13 MiB.
 */
const PEER_QUEUE_BYTES_MIN = 16 * 1024 * 1024;

/** PeerLinkStreams is what the router needs from the bus streams. */
export interface PeerLinkStreams {
  /** peerAddress reads the record relay `target` announced for its links (see signedAddress), or null. */
  peerAddress(target: string): Promise<string | null>;
  /** appendMarker appends a signed fence, unlink or loss marker to target's stream, whatever its backlog. */
  appendMarker(target: string, marker: BusFrame, kind: 'fence' | 'unlink' | 'loss'): Promise<unknown>;
}

export interface PeerLinkRouterOptions {
  readonly relayId: string;
  /** The bus key: links prove subkeys of it (keys.ts), markers are signed with them. */
  readonly key: string;
  /** Where this relay accepts links, and the URL it tells peers; undefined when links are off. */
  readonly links: { readonly host: string; readonly port: number; readonly url: string } | undefined;
  /** Most frames unacknowledged on a link before it counts as a full stream. */
  readonly queueMax: number;
  readonly maxFrameBytes: number;
  /** How old a peer's address record may be (its refresh period plus slack); older ones are not dialled. */
  readonly peerAddressMaxAgeMs: number;
  readonly streams: PeerLinkStreams;
  readonly metrics: BackplaneMetrics;
  readonly registry: Registry;
  readonly log: BackplaneLog;
  readonly now: () => number;
  /** isClosed is true once the store began closing: no more dials or markers. */
  readonly isClosed: () => boolean;
}

export interface PeerLinkRouter {
  /** listen starts the listener (links must be set) and resolves with the URL peers dial. */
  listen(receive: BusReceiver): Promise<string>;
  /** signedAddress is the record to store for url, signed and stamped now (peer-address.ts). */
  signedAddress(url: string): string;
  /** sendLinked is BackplaneStore.sendLinked: undefined when the frame must take the stream. */
  sendLinked(frame: BusFrame): Promise<AppendOutcome> | undefined;
  /** onMarker acts on a fence or unlink read from the stream, once its signature holds. */
  onMarker(kind: 'fence' | 'unlink', value: unknown): void;
  /** close closes every outbound link and the listener. */
  close(): Promise<void>;
}

/**
 * createPeerLinkRouter builds the router; it dials nothing until a frame asks
 * for a link. Long because it is one closure over the links' state, which the
 * per-frame sendLinked reads without a lookup more than it needs; its steps are
 * the named inner functions.
 */
export function createPeerLinkRouter(options: PeerLinkRouterOptions): PeerLinkRouter {
  const { relayId, key, links, queueMax, streams, metrics, log, now, isClosed } = options;
  const subkeys = deriveBusSubkeys(key);
  const maxQueuedBytes = Math.max(PEER_QUEUE_BYTES_MIN, 4 * options.maxFrameBytes);
  const report = createLinkReporter(options.registry, log, now, () => metrics.rejected.invalid_signature.inc());
  // Outbound by target relay, the inbound listener, and when a target may be dialled again.
  const outbound = new Map<string, OutboundLink<BusFrame>>();
  const dialing = new Set<string>();
  const redialAtMs = new Map<string, number>();
  let listener: PeerLinkListener | undefined;

  /** writeMarker appends a fence or unlink for link `nonce` to target's stream, signed with the link-marker subkey. */
  function writeMarker(target: string, kind: 'fence' | 'unlink', nonce: string): Promise<unknown> {
    const marker = signBusFrame(
      { workspaceId: '-', runtimeTargetId: '-', sourceRelayId: relayId, targetRelayId: target, direction: 'client_to_daemon', payload: nonce },
      subkeys.linkMarker,
      now(),
    );
    return streams.appendMarker(target, marker, kind);
  }

  /**
   * activeLink is the open link to target, or undefined (and a dial starts when
   * none is under way). A link that closed is abandoned first, so its markers
   * precede the next bus frame even before its 'close' event has run.
   */
  function activeLink(target: string): OutboundLink<BusFrame> | undefined {
    const link = outbound.get(target);
    if (link !== undefined) {
      if (link.isOpen()) return link;
      link.abandon();
    }
    if (links && !isClosed() && !dialing.has(target) && now() >= (redialAtMs.get(target) ?? 0)) void dial(target);
    return undefined;
  }

  async function dial(target: string): Promise<void> {
    dialing.add(target);
    redialAtMs.set(target, now() + PEER_REDIAL_MS);
    try {
      const url = await peerUrl(target);
      if (url === null || isClosed()) return;
      const dialed = await dialPeerLink({ url, sourceRelayId: relayId, targetRelayId: target, proofKey: subkeys.linkProof, frameKey: subkeys.linkFrame, timeoutMs: 5000 });
      const { ws, nonce } = dialed;
      if (isClosed()) {
        ws.terminate();
        return;
      }
      const link = new OutboundLink<BusFrame>(target, nonce, ws, dialed.keys, {
        pingIntervalMs: PEER_PING_MS,
        onFault: (fault) => report.rejected(fault, target),
      });
      link.onLost((unacked) => linkLost(link, unacked));
      outbound.set(target, link);
      // Issued on the command connection after every bus publish to target so
      // far, so in the stream the fence follows them; the receiver holds this
      // link's frames until it reads the fence. From here on, frames for the
      // target take the link.
      writeMarker(target, 'fence', nonce).catch((error: unknown) => {
        log.warn('peer_link_fence_failed', { targetRelayId: target, error: String(error) });
        link.abandon();
      });
      metrics.peerLinks.inc();
      log.info('peer_link_up', { targetRelayId: target });
    } catch (error) {
      metrics.peerLinkDialFailed.inc();
      if (error instanceof PeerVersionError) report.rejected('peer_old_version', target, { error: error.message });
      else if (error instanceof PeerProofError) report.rejected('bad_proof', target);
      else log.debug('peer_link_dial_failed', { targetRelayId: target, error: String(error) });
    } finally {
      dialing.delete(target);
    }
  }

  /** peerUrl is target's link URL when its record is signed and fresh; anything else is counted and never dialled. */
  async function peerUrl(target: string): Promise<string | null> {
    if (!isLinkableRelayId(target)) return null;
    const raw = await streams.peerAddress(target);
    if (raw === null) return null;
    const address = readPeerAddress(raw, subkeys.peerAddress, target, now(), options.peerAddressMaxAgeMs);
    if (address.ok) return address.url;
    report.rejected(address.reason, target);
    return null;
  }

  // A dropped link's unacknowledged frames may or may not have arrived. In
  // the target's stream, ahead of any later bus frame: an unlink (data of the
  // old link read after it must not count) and a loss marker per scope with
  // frames for clients among them; client frames are reported unavailable.
  function linkLost(link: OutboundLink<BusFrame>, unacked: PendingFrame<BusFrame>[]): void {
    const target = link.targetRelayId;
    if (outbound.get(target) === link) outbound.delete(target);
    redialAtMs.set(target, now() + PEER_REDIAL_MS);
    metrics.peerLinks.dec();
    const closed = isClosed();
    log[closed || unacked.length === 0 ? 'info' : 'warn']('peer_link_down', { targetRelayId: target, unacked: unacked.length });
    if (!closed) {
      const failed = (error: unknown) => log.warn('peer_link_marker_failed', { targetRelayId: target, error: String(error) });
      writeMarker(target, 'unlink', link.nonce).catch(failed);
      const marked = new Set<string>();
      for (const { frame } of unacked) {
        if (frame.direction !== 'daemon_to_clients') continue;
        const id = scopeKey(frame);
        if (marked.has(id)) continue;
        marked.add(id);
        // Under the bus key, as every loss marker in a stream is checked (bus-receiver.ts).
        const marker = signBusFrame(frame, key, now());
        metrics.lossMarked.inc();
        streams.appendMarker(target, marker, 'loss').catch(failed);
      }
    }
    for (const { settle } of unacked) settle(false);
  }

  // The peer has not acknowledged RELAY_REDIS_QUEUE_MAX frames, or the link
  // holds maxQueuedBytes for it (a stalled relay): refuse as a full stream
  // would. Frames for clients leave one loss marker per scope on the link
  // itself, behind the frames still in flight, and another only once the peer
  // has acknowledged past it. A marker carries no payload: it only names the scope.
  const lossMarks = new WeakMap<OutboundLink<BusFrame>, Map<string, number>>();
  function refuseOnLink(link: OutboundLink<BusFrame>, frame: BusFrame, reason: LinkRefuseReason): AppendOutcome {
    report.refused(reason, link.targetRelayId);
    if (frame.direction !== 'daemon_to_clients') return 'refused';
    let marks = lossMarks.get(link);
    if (marks === undefined) lossMarks.set(link, (marks = new Map()));
    const id = scopeKey(frame);
    const at = marks.get(id);
    if (at !== undefined && link.ackedCount() <= at) return 'refused';
    if (marks.size >= 1024) marks.clear();
    marks.set(id, link.sentCount());
    const { payloadBytes: _payload, ...marker } = frame;
    link.send(frame, encodeLinkFrame({ ...marker, payload: '' }, 'loss'), () => undefined);
    return 'refused_marked';
  }

  return {
    async listen(receive) {
      if (!links) throw new Error('peer links are off');
      if (!isLinkableRelayId(relayId)) throw new Error('RELAY_ID cannot take part in peer links: use at most 128 letters, digits and ._:@[]~- (or unset RELAY_PEER_LINK_PORT)');
      listener = await startPeerLinkListener({
        relayId,
        proofKey: subkeys.linkProof,
        frameKey: subkeys.linkFrame,
        host: links.host,
        port: links.port,
        // The payload plus the entry's other fields.
        maxMessageBytes: options.maxFrameBytes + 64 * 1024,
        // The sender stops at queueMax unacknowledged frames, plus at most one loss marker per scope.
        maxHeld: queueMax + 2048,
        ackEvery: PEER_ACK_EVERY,
        ackDelayMs: PEER_ACK_DELAY_MS,
        deliver: (frame, loss) => receive(frame, loss ? 'linked_loss' : 'linked'),
        reject: (reason, peer) => report.rejected(reason, peer),
        log,
      });
      const url = new URL(links.url);
      if (links.port === 0) url.port = String(listener.port());
      return url.toString().replace(/\/$/, '');
    },
    signedAddress: (url) => encodePeerAddress(subkeys.peerAddress, relayId, url, now()),
    sendLinked(frame) {
      const target = frame.targetRelayId;
      const link = links && target ? activeLink(target) : undefined;
      if (!link) return undefined;
      if (link.unacked() >= queueMax) return Promise.resolve(refuseOnLink(link, frame, 'queue_frames'));
      // Checked before encoding, so the bound is maxQueuedBytes plus one frame.
      if (link.queuedBytes() >= maxQueuedBytes) return Promise.resolve(refuseOnLink(link, frame, 'queue_bytes'));
      let data: Buffer;
      try {
        data = encodeLinkFrame(frame);
      } catch {
        // An id past 64 KiB (the upgrade never admits one): refused, never sent around the link.
        return Promise.resolve('refused');
      }
      return new Promise((resolve) => link.send(frame, data, (delivered) => resolve(delivered ? 'appended' : 'lost')));
    },
    onMarker(kind, value) {
      const marker = parseBusFrame(value);
      if (!listener || !marker || marker.targetRelayId !== relayId || !isAuthentic(marker, subkeys.linkMarker)) {
        log.debug('peer_link_marker_rejected', { kind });
        return;
      }
      if (kind === 'fence') listener.fence(marker.sourceRelayId, marker.payload);
      else listener.unlink(marker.sourceRelayId, marker.payload);
    },
    async close() {
      for (const link of [...outbound.values()]) link.close(1001, 'relay stopping');
      await listener?.close();
    },
  };
}
