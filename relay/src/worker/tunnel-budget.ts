// The worker tunnel's bounds (docs/protocol.md#worker-transport): how many
// platform requests one worker may have in flight, and how many response
// bytes may be waiting in the relay for one worker and for all of them. A
// response's size is unknown until it arrives, so each request reserves the
// response cap (RELAY_WORKER_MAX_RESPONSE_BYTES) up front and gives it back
// when its reply has been handed to the worker. A request that does not fit
// is refused at once, never queued: what the relay holds for workers is
// bounded by the relay-wide figure. Pure bookkeeping; the worker path does the I/O.

/** TunnelLimits are the configured bounds. */
export interface TunnelLimits {
  readonly maxInFlightPerWorker: number;
  readonly maxBufferedBytesPerWorker: number;
  readonly maxBufferedBytesTotal: number;
  /** What one request reserves: the response cap. */
  readonly reserveBytes: number;
}

/** TunnelRefusal says which bound a refused request would have crossed (a metric label and the reply's detail). */
export type TunnelRefusal = 'in_flight' | 'worker_bytes' | 'relay_bytes';

export const TUNNEL_REFUSALS: readonly TunnelRefusal[] = ['in_flight', 'worker_bytes', 'relay_bytes'];

/** TunnelBudget tracks reservations per worker (any key, e.g. its peer) and in total. */
export class TunnelBudget<K> {
  private readonly inFlight = new Map<K, number>();
  private total = 0;

  constructor(private readonly limits: TunnelLimits) {}

  /** acquire reserves one request for worker, or says which bound refuses it. */
  acquire(worker: K): TunnelRefusal | undefined {
    const l = this.limits;
    const mine = this.inFlight.get(worker) ?? 0;
    if (mine >= l.maxInFlightPerWorker) return 'in_flight';
    if ((mine + 1) * l.reserveBytes > l.maxBufferedBytesPerWorker) return 'worker_bytes';
    if (this.total + l.reserveBytes > l.maxBufferedBytesTotal) return 'relay_bytes';
    this.inFlight.set(worker, mine + 1);
    this.total += l.reserveBytes;
    return undefined;
  }

  /** release gives back one reservation of worker. */
  release(worker: K): void {
    const mine = this.inFlight.get(worker) ?? 0;
    if (mine === 0) return;
    if (mine === 1) this.inFlight.delete(worker);
    else this.inFlight.set(worker, mine - 1);
    this.total -= this.limits.reserveBytes;
  }

  /** reservedBytes is what all in-flight requests hold in total. */
  reservedBytes(): number {
    return this.total;
  }
}
