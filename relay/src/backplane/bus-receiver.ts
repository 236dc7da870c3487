import type { BackplaneDeps, BackplaneOptions, BusFrame, BusFrameHandler, BusLossHandler } from './backplane.js';
import { checkBusFrame, checkInboundBusFrame, parseBusFrame } from './bus-frame.js';
import { createBusVerifier } from './bus-signing.js';
import { deriveBusSubkeys } from './keys.js';
import { createLossMarkerGuard, type LossMarkerRefusal } from './loss-marker.js';
import type { BackplaneMetrics } from './metrics.js';
import { throttledWarn } from './throttled-log.js';

/** LOSS_MARKER_START_GRACE_MS is the clock difference between relays a marker may show at the reader's start bound. */
export const LOSS_MARKER_START_GRACE_MS = 1000;

/**
 * BusEntryKind tells a frame from a loss marker (a refused frame, standing for
 * every frame refused after it); 'linked' is a frame from a peer link, whose
 * sender proved the bus key when the link was set up, so it carries no signature.
 */
export type BusEntryKind = 'frame' | 'loss' | 'linked' | 'linked_loss';

/** BusReceiver takes raw decoded entries from a transport and hands verified ones to the relay. */
export type BusReceiver = (value: unknown, kind?: BusEntryKind) => void;

/**
 * createBusReceiver wires the docs/protocol.md#bus-frame, docs/protocol.md#bus-signing checks, counters and latency histogram
 * around the relay's handler. A throwing handler is logged, never propagated,
 * so one bad frame cannot stop a transport's read loop.
 */
export function createBusReceiver(
  options: BackplaneOptions,
  deps: BackplaneDeps,
  metrics: BackplaneMetrics,
  onFrame: BusFrameHandler,
  onLoss: BusLossHandler,
): BusReceiver {
  const verifier = createBusVerifier({
    key: options.busHmacKey ?? '',
    maxSkewMs: options.busSignatureMaxSkewMs,
    seenMax: Math.max(4 * options.busFreshnessTrackMax, 100_000),
    now: deps.now,
  });
  const policy = { selfRelayId: options.relayId, maxFrameBytes: options.maxFrameBytes, verifier };
  const linkedPolicy = { ...policy, verifier: null };
  const markers = createLossMarkerGuard({
    key: deriveBusSubkeys(options.busHmacKey ?? '').lossMarker,
    windowMs: options.busSignatureMaxSkewMs,
    startedAtMs: deps.now(),
    startGraceMs: LOSS_MARKER_START_GRACE_MS,
    bootsMax: 4096,
  });
  const warn = throttledWarn(deps.log, deps.now);

  // A stream marker must be authentic and new (docs/backplane.md#loss-markers); a link's sender proved the key already.
  function refusedMarker(value: unknown, frame: BusFrame | null, linked: boolean): LossMarkerRefusal | null {
    if (!frame || frame.targetRelayId !== options.relayId || frame.sourceRelayId === options.relayId) return 'invalid_signature';
    return linked ? null : markers.check(value, deps.now());
  }

  function receiveLoss(value: unknown, linked: boolean): void {
    const frame = linked ? (value as BusFrame) : parseBusFrame(value);
    const refusal = refusedMarker(value, frame, linked);
    if (refusal !== null || frame === null) {
      if (refusal === 'unsigned' || refusal === 'invalid_signature') metrics.rejected.invalid_signature.inc();
      metrics.lossRefused.inc({ reason: refusal ?? 'invalid_signature' });
      warn('bus_loss_marker_refused', { reason: refusal, sourceRelayId: frame?.sourceRelayId, workspaceId: frame?.workspaceId });
      return;
    }
    metrics.lossReceived.inc();
    deps.log.warn('bus_frames_lost', { sourceRelayId: frame.sourceRelayId, workspaceId: frame.workspaceId });
    try {
      onLoss({ workspaceId: frame.workspaceId, runtimeTargetId: frame.runtimeTargetId, sourceRelayId: frame.sourceRelayId });
    } catch (error) {
      deps.log.error('bus_loss_handler_failed', { error: String(error) });
    }
  }

  return (value, kind = 'frame') => {
    if (kind === 'loss' || kind === 'linked_loss') {
      receiveLoss(value, kind === 'linked_loss');
      return;
    }
    // A link's decoder already built the frame; it only needs the addressing and size rules.
    const result = kind === 'linked' ? checkBusFrame(value as BusFrame, linkedPolicy) : checkInboundBusFrame(value, policy);
    if (!result.ok) {
      metrics.rejected[result.error].inc();
      deps.log.debug('bus_frame_rejected', { reason: result.error });
      return;
    }
    metrics.framesReceived.inc();
    if (result.frame.issuedAtMs !== undefined) {
      metrics.busLatency.observe(Math.max(0, deps.now() - result.frame.issuedAtMs) / 1000);
    }
    try {
      onFrame(result.frame);
    } catch (error) {
      deps.log.error('bus_frame_handler_failed', { error: String(error) });
    }
  };
}
