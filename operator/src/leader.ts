// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it:
// lease 15 s, renew deadline 10 s, retry every 2 s. Writes use optimistic
// concurrency (replace with the read resourceVersion; 409 = someone else won).
// Expiry is judged by when *we* saw the record change, not by the holder's
// clock, so clock skew between replicas does not matter.
import type { Clock, TimerId } from './clock.js';
import type { KubeAdapter } from './kube/adapter.js';
import type { Logger } from './log.js';
import type { KubeObject } from './object.js';
import { microTime } from './reconcile/events.js';

/** LeaderOptions configure a LeaderElector. */
export interface LeaderOptions {
  kube: KubeAdapter;
  clock: Clock;
  log: Logger;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** LeaderElector campaigns for, holds and releases one Lease. */
export class LeaderElector {
  private readonly o: Required<LeaderOptions>;
  private leading = false;
  private stopped = true;
  private timer: TimerId | undefined;
  private observedRecord = '';
  private observedAt = 0;
  private lastRenew = 0;

  constructor(opts: LeaderOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
  }

  /** isLeader is true while this instance holds the lease. */
  get isLeader(): boolean {
    return this.leading;
  }

  /** start campaigns now and every retry period. */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** stop gives up leadership and releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    if (this.leading) {
      const lease = await this.o.kube.get(this.ref());
      if (lease.ok && lease.value && this.spec(lease.value).holderIdentity === this.o.identity) {
        const released = { ...lease.value, spec: { ...this.spec(lease.value), holderIdentity: '', leaseDurationSeconds: 1 } };
        const res = await this.o.kube.replace(released);
        if (!res.ok) this.o.log.warn('lease_release_failed', { reason: res.error.reason });
      }
      this.setLeading(false);
    }
  }

  /** tryAcquireOrRenew makes one attempt; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { kube, clock, identity } = this.o;
    const now = clock.now();
    const got = await kube.get(this.ref());
    if (!got.ok) {
      this.o.log.warn('lease_read_failed', { reason: got.error.reason });
      return false;
    }
    const desired: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.o.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    if (!got.value) {
      const created = await kube.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: this.meta(), spec: desired });
      if (!created.ok) return false;
      this.observe(created.value, now);
      return true;
    }
    const current = this.spec(got.value);
    this.observe(got.value, now);
    const held = current.holderIdentity !== undefined && current.holderIdentity !== '';
    if (held && current.holderIdentity !== identity && this.observedAt + this.o.leaseDurationMs > now) return false;
    const ours = current.holderIdentity === identity;
    const next: LeaseSpec = {
      ...desired,
      acquireTime: ours ? current.acquireTime : desired.acquireTime,
      leaseTransitions: (current.leaseTransitions ?? 0) + (ours ? 0 : 1),
    };
    const replaced = await kube.replace({ ...got.value, spec: next });
    if (!replaced.ok) return false;
    this.observe(replaced.value, now);
    return true;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const ok = await this.tryAcquireOrRenew();
    const now = this.o.clock.now();
    if (ok) {
      this.lastRenew = now;
      this.setLeading(true);
    } else if (this.leading && now - this.lastRenew >= this.o.renewDeadlineMs) {
      this.o.log.warn('lease_lost', { lease: this.o.name });
      this.setLeading(false);
    }
    if (!this.stopped) this.timer = this.o.clock.setTimer(() => void this.tick(), this.o.retryPeriodMs);
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.o.log.info(leading ? 'leader_started' : 'leader_stopped', { identity: this.o.identity });
    if (leading) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private observe(lease: KubeObject, now: number): void {
    const s = this.spec(lease);
    const record = `${s.holderIdentity ?? ''}|${s.renewTime ?? ''}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
  }

  private spec(lease: KubeObject): LeaseSpec {
    return (lease.spec ?? {}) as LeaseSpec;
  }

  private meta() {
    return { name: this.o.name, namespace: this.o.namespace, labels: { 'app.kubernetes.io/name': 'viewport-relay-operator' } };
  }

  private ref() {
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: this.o.namespace, name: this.o.name };
  }
}
