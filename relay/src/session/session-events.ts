// Session-event frames of session-events clients (docs/protocol.md#session-events, docs/protocol.md#weak-session-events): subscribe
// and unsubscribe to a channel, and viewer presence fanned out to the
// channel's other local subscribers. Apart from the client path because these
// frames never reach a daemon: they change the scope's subscriptions or go
// client to client.
import type { RelayMetrics } from '../admin/metrics.js';
import { sessionSubscribed, sessionSubscribeDenied, sessionUnsubscribed, viewerPresenceDenied, type ClientFrame } from '../frames/index.js';
import { presenceRecipients } from '../routing/route.js';
import type { ScopeState } from '../routing/scope.js';
import type { SessionLimits } from './limits.js';
import type { Outcome } from './outcomes.js';
import type { Outbox } from './outbox.js';
import { isOpen, type Peer } from './peer.js';

/** SessionEventAction is what routing made of a session-event frame. */
export type SessionEventAction = 'subscribe' | 'unsubscribe' | 'presence';

/** SessionEvents applies subscribe, unsubscribe and viewer presence frames. */
export class SessionEvents {
  constructor(
    private readonly rate: SessionLimits,
    private readonly out: Outbox,
    private readonly metrics: RelayMetrics,
  ) {}

  /** onFrame handles one session-event frame that routing allowed or denied for channel. */
  onFrame(peer: Peer, scope: ScopeState<Peer>, frame: ClientFrame, action: SessionEventAction, channel: string, allowed: boolean, buf: Buffer, isBinary: boolean, now: number): Outcome {
    if (action === 'presence') return this.presence(peer, scope, channel, allowed, buf, isBinary, now);
    // docs/protocol.md#weak-control-frames: subscription churn spends the same runtime budget as presence.
    if (!this.rate.runtime(peer, now)) return 'runtime_rate_limited';
    if (!allowed) {
      this.out.send(peer, sessionSubscribeDenied(channel, peer.workspaceId));
      return 'subscribe_denied';
    }
    if (action === 'subscribe') {
      let set = scope.subscribers.get(channel);
      if (!set) scope.subscribers.set(channel, (set = new Set()));
      set.add(peer);
      this.out.send(peer, sessionSubscribed(channel, frame.afterSequence));
      return 'subscribed';
    }
    const set = scope.subscribers.get(channel);
    set?.delete(peer);
    if (set && set.size === 0) scope.subscribers.delete(channel);
    this.out.send(peer, sessionUnsubscribed(channel));
    return 'unsubscribed';
  }

  private presence(peer: Peer, scope: ScopeState<Peer>, channel: string, allowed: boolean, buf: Buffer, isBinary: boolean, now: number): Outcome {
    if (!allowed) {
      this.out.send(peer, viewerPresenceDenied(channel, peer.workspaceId));
      return 'viewer_presence_denied';
    }
    if (!this.rate.runtime(peer, now)) return 'presence_rate_limited';
    const recipients = presenceRecipients(scope, channel, peer, isOpen);
    let delivered = 0;
    for (const r of recipients) if (this.out.send(r, buf, isBinary) === 'sent') delivered += 1;
    if (delivered === 0) return 'viewer_presence_no_peers';
    this.metrics.inc('session_viewer_presence_fanned_total');
    this.metrics.inc('session_viewer_presence_fanned_recipients_total', delivered);
    return 'done';
  }
}
