import type { BackplaneDeps, BackplaneOptions, BusFrameHandler } from './backplane.js';
import { checkInboundBusFrame } from './bus-frame.js';
import { createBusVerifier } from './bus-signing.js';
import type { BackplaneMetrics } from './metrics.js';

/** BusReceiver takes raw decoded frames from a transport and hands verified ones to the relay. */
export type BusReceiver = (value: unknown) => void;

/**
 * createBusReceiver wires the §7.3/§7.4 checks, counters and latency histogram
 * around the relay's handler. A throwing handler is logged, never propagated,
 * so one bad frame cannot stop a transport's read loop.
 */
export function createBusReceiver(
  options: BackplaneOptions,
  deps: BackplaneDeps,
  metrics: BackplaneMetrics,
  onFrame: BusFrameHandler,
): BusReceiver {
  const verifier = createBusVerifier({
    key: options.busHmacKey ?? '',
    maxSkewMs: options.busSignatureMaxSkewMs,
    seenMax: Math.max(4 * options.busFreshnessTrackMax, 100_000),
    now: deps.now,
  });
  const policy = { selfRelayId: options.relayId, maxFrameBytes: options.maxFrameBytes, verifier };
  return (value) => {
    const result = checkInboundBusFrame(value, policy);
    if (!result.ok) {
      metrics.rejected[result.error].inc();
      deps.log('debug', 'bus_frame_rejected', { reason: result.error });
      return;
    }
    metrics.framesReceived.inc();
    if (result.frame.issuedAtMs !== undefined) {
      metrics.busLatency.observe(Math.max(0, deps.now() - result.frame.issuedAtMs) / 1000);
    }
    try {
      onFrame(result.frame);
    } catch (error) {
      deps.log('error', 'bus_frame_handler_failed', { error: String(error) });
    }
  };
}
