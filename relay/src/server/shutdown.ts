// Shutting a relay down. drain (docs/protocol.md#relay-status): each peer is told RELAY_SHUTTING_DOWN
// with a staggered reconnect delay, then closed 1012 at that offset, so they
// do not all reconnect at once; whatever is still open after the grace is
// terminated, then the timers stop and the backplane closes, all within
// RELAY_DRAIN_GRACE_MS. close tears everything down at once. Apart from
// createRelay so the shutdown sequence reads as its steps.
import type { WebSocketServer } from 'ws';
import type { Backplane } from '../backplane/backplane.js';
import type { Logger } from '../admin/log.js';
import { relayStatus } from '../frames/index.js';
import type { SessionHub } from '../session/hub.js';
import { closePeer } from '../session/peer.js';
import { withTimeout } from './with-timeout.js';

/** DRAIN_CLOSE_CODE is 1012 (service restart): peers should reconnect, to another replica. */
export const DRAIN_CLOSE_CODE = 1012;
const DRAIN_CLOSE_REASON = 'relay shutting down';

/** drainPeers closes every peer of hub within about graceMs (minus half a second) and terminates the rest. */
async function drainPeers(hub: SessionHub, graceMs: number): Promise<void> {
  const peers = [...hub.peers];
  // Spread the closes over part of the window so peers do not all reconnect at once.
  const spread = Math.min(Math.floor(graceMs / 2), 5000);
  const closedAll = Promise.all(
    peers.map(
      (peer, i) =>
        new Promise<void>((resolve) => {
          if (peer.ws.readyState === peer.ws.CLOSED) return resolve();
          peer.ws.once('close', () => resolve());
          const offset = peers.length > 1 ? Math.floor((spread * i) / (peers.length - 1)) : 0;
          hub.send(peer, relayStatus('RELAY_SHUTTING_DOWN', peer.workspaceId, { reconnectAfterMs: offset }));
          const t = setTimeout(() => closePeer(peer, DRAIN_CLOSE_CODE, DRAIN_CLOSE_REASON), offset);
          t.unref();
        }),
    ),
  );
  await withTimeout(closedAll, Math.max(0, graceMs - 500), undefined);
  for (const peer of hub.peers) peer.ws.terminate();
}

/** ShutdownParts are what shutting down stops, and markDraining, which makes the relay refuse upgrades and report unready. */
export interface ShutdownParts {
  readonly hub: SessionHub;
  readonly backplane: Backplane;
  readonly wss: WebSocketServer;
  readonly log: Logger;
  readonly now: () => number;
  readonly drainGraceMs: number;
  readonly stopTimers: () => void;
  readonly markDraining: () => void;
}

/** Shutdown: drain once (later calls share the first), or close at once. */
export interface Shutdown {
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** createShutdown builds the relay's drain and close. */
export function createShutdown(parts: ShutdownParts): Shutdown {
  const { hub, backplane, log, now } = parts;
  let drainPromise: Promise<void> | undefined;
  let closed = false;
  return {
    async drain(): Promise<void> {
      if (drainPromise) return drainPromise;
      parts.markDraining();
      drainPromise = (async () => {
        const grace = parts.drainGraceMs;
        const t0 = now();
        log.info('drain_started', { peers: hub.peers.size, graceMs: grace });
        await drainPeers(hub, grace);
        parts.stopTimers();
        const left = Math.max(100, grace - (now() - t0));
        await withTimeout(backplane.close(), left, undefined);
        log.info('drain_finished', { ms: now() - t0 });
      })();
      return drainPromise;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      parts.markDraining();
      parts.stopTimers();
      for (const peer of hub.peers) peer.ws.terminate();
      parts.wss.close();
      await withTimeout(backplane.close(), 2000, undefined);
    },
  };
}
