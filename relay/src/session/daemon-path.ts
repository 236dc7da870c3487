// The daemon frame path (docs/protocol.md#routing-daemon): rate, size, parse and profile checks on a
// daemon's frame, then its route decision applied: a response or session
// frame to its one local owner (or over the bus to the owner's relay), a
// session event fanned out to local subscribers and published to every relay
// (docs/protocol.md#weak-session-events). Frames other relays address to our clients take the same delivery
// (deliver, with fromBus). This is the per-frame path: a delivered frame
// allocates nothing here and moves counter handles resolved once.
import type { Backplane } from '../backplane/backplane.js';
import type { CounterHandle, FrameTally, RelayMetrics } from '../admin/metrics.js';
import type { Config } from '../config/index.js';
import { parseDaemonFrameBytes } from '../frames/index.js';
import { checkDaemonProfile, routeDaemonFrame, type DaemonRoute } from '../routing/route.js';
import type { ScopeRegistry } from '../routing/scope-registry.js';
import type { ScopeState } from '../routing/scope.js';
import type { SessionLimits } from './limits.js';
import { closeOutcome, FAMILY_OUTCOMES, type Outcome, type RouteFamily } from './outcomes.js';
import type { Outbox } from './outbox.js';
import { isOpen, scopeOf, type Peer } from './peer.js';

/** DaemonPathDeps are the daemon path's option groups and collaborators. */
export interface DaemonPathDeps {
  readonly limits: Config['limits'];
  readonly backplaneConfig: Config['backplane'];
  readonly scopes: ScopeRegistry<Peer>;
  readonly rate: SessionLimits;
  readonly out: Outbox;
  readonly metrics: RelayMetrics;
  readonly backplane: Backplane;
}

const FAMILY_COUNTERS = {
  kex: { local: 'key_exchange_response_routed_local_total', bus: 'key_exchange_response_routed_bus_total' },
  pairing: { local: 'pairing_response_routed_local_total', bus: 'pairing_response_routed_bus_total' },
  session: { local: 'session_frame_routed_local_total', bus: 'session_frame_routed_bus_total' },
} as const;

/** DaemonPath routes daemon frames, local or from the bus, to clients. */
export class DaemonPath {
  private readonly maxFrameBytes: number;
  private readonly busEnabled: boolean;
  private readonly scopes: ScopeRegistry<Peer>;
  private readonly rate: SessionLimits;
  private readonly out: Outbox;
  private readonly toClients: CounterHandle;
  private readonly busToClients: CounterHandle;
  private readonly toClientsBytes: CounterHandle;
  private readonly toClientTally: FrameTally;
  private readonly family: Record<RouteFamily, { readonly local: CounterHandle; readonly bus: CounterHandle }>;

  constructor(private readonly deps: DaemonPathDeps) {
    const m = deps.metrics;
    this.maxFrameBytes = deps.limits.maxFrameBytes;
    this.busEnabled = deps.backplaneConfig.busEnabled;
    this.scopes = deps.scopes;
    this.rate = deps.rate;
    this.out = deps.out;
    this.toClients = m.counter('frames_daemon_to_clients_total');
    this.busToClients = m.counter('bus_frames_to_clients_total');
    this.toClientsBytes = m.counter('bytes_daemon_to_clients_total');
    this.toClientTally = m.frameTally('daemon_to_client');
    const handles = (f: RouteFamily) => ({ local: m.counter(FAMILY_COUNTERS[f].local), bus: m.counter(FAMILY_COUNTERS[f].bus) });
    this.family = { kex: handles('kex'), pairing: handles('pairing'), session: handles('session') };
  }

  /** onFrame checks and routes one frame of a daemon peer. */
  onFrame(peer: Peer, buf: Buffer, isBinary: boolean, now: number): Outcome {
    if (!this.rate.daemonFrame(peer.workspaceId, now)) return 'daemon_rate_limited';
    if (buf.length > this.maxFrameBytes) return 'frame_too_large';
    const parsed = parseDaemonFrameBytes(buf);
    if (!parsed.ok) return `daemon_invalid:${parsed.error.reason}`;
    const mismatch = checkDaemonProfile(parsed.frame, peer.claims.e2eeProfile);
    if (mismatch !== null) return closeOutcome(mismatch);
    const scope = scopeOf(peer, this.scopes, now);
    if (scope.daemon !== peer) return 'done'; // a superseded daemon's last frames go nowhere
    return this.deliver(routeDaemonFrame(parsed.frame, scope, isOpen, now), scope, buf, isBinary, false, now);
  }

  /** deliver applies a daemon route; fromBus frames came from another relay and are never published again. */
  deliver(route: DaemonRoute<Peer>, scope: ScopeState<Peer>, buf: Buffer, isBinary: boolean, fromBus: boolean, now: number): Outcome {
    if (route.action === 'close') return 'done';
    if (route.action === 'fanout') return this.fanOut(route.recipients, scope, buf, isBinary, fromBus, now);
    const d = route.delivery;
    if (d.kind === 'local') {
      if (this.out.sendAt(d.peer, buf, isBinary, now) !== 'sent') return FAMILY_OUTCOMES[route.family].undelivered;
      this.family[route.family].local.inc();
      this.delivered(1, buf.length, fromBus);
      return 'done';
    }
    if (d.kind === 'bus' && !fromBus && this.busEnabled) {
      this.publishResponse(route.family, scope, d.relayId, buf);
      return 'done';
    }
    return FAMILY_OUTCOMES[route.family].noOwner;
  }

  private fanOut(recipients: readonly Peer[], scope: ScopeState<Peer>, buf: Buffer, isBinary: boolean, fromBus: boolean, now: number): Outcome {
    const m = this.deps.metrics;
    let n = 0;
    for (const r of recipients) if (this.out.sendAt(r, buf, isBinary, now) === 'sent') n += 1;
    // docs/protocol.md#weak-session-events: a local daemon's events also reach subscribers on other relays. No relay
    // knows where remote subscribers sit, so the frame goes to every relay, which fans
    // it out to its own subscribers (docs/protocol.md#bus-ingress); bus copies are never re-published.
    const published = !fromBus && this.publishSessionEvent(scope, buf);
    let outcome: Outcome = 'done';
    if (n === 0 && !published) outcome = 'session_event_no_subscribers';
    else {
      m.inc('session_event_frame_delivered_total');
      m.inc('session_event_frame_delivered_recipients_total', n);
    }
    this.delivered(n, buf.length, fromBus);
    return outcome;
  }

  /** delivered counts a daemon frame that reached n local clients. */
  private delivered(n: number, bytes: number, fromBus: boolean): void {
    if (n === 0) return;
    (fromBus ? this.busToClients : this.toClients).inc(n);
    if (!fromBus) this.toClientsBytes.inc(bytes * n);
    for (let i = 0; i < n; i++) this.toClientTally.add(bytes);
  }

  private publishResponse(family: RouteFamily, scope: ScopeState<Peer>, relayId: string, buf: Buffer): void {
    const out = this.out;
    const frame = out.busFrame(scope, 'daemon_to_clients', relayId, scope.daemon?.claims.machineId, buf);
    const bus = this.family[family].bus;
    out.background(
      out.publish(frame).then((ok) => {
        if (ok) bus.inc();
        else out.report(FAMILY_OUTCOMES[family].publishFailed);
      }),
      'publish_daemon_to_clients',
    );
  }

  private publishSessionEvent(scope: ScopeState<Peer>, buf: Buffer): boolean {
    if (!this.busEnabled || !this.deps.backplane.broadcasts || scope.runtimeTargetId === undefined) return false;
    const out = this.out;
    const frame = out.busFrame(scope, 'daemon_to_clients', null, scope.daemon?.claims.machineId, buf);
    out.background(
      out.publish(frame).then((ok) => out.report(ok ? 'session_event_published' : 'session_event_publish_failed')),
      'publish_session_event',
    );
    return true;
  }
}
