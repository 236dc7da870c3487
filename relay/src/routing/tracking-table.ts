// A bounded map with a TTL, for the per-scope tracking tables of docs/protocol.md#tracking-tables
// (kex requests, pairing requests, session owners). Insertion order is age
// order, so the cap evicts the oldest and pruning stops at the first live entry.

/** Tracked is one table entry: the owner and when it was recorded (or last refreshed). */
export interface Tracked<O> {
  readonly owner: O;
  createdAt: number;
}

/** TrackingTable keeps at most `max` entries, each alive for `ttlMs` from createdAt. */
export class TrackingTable<O> {
  private readonly entries = new Map<string, Tracked<O>>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  /** set records key → owner as the newest entry, evicting the oldest beyond the cap. */
  set(key: string, owner: O, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { owner, createdAt: now });
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /**
   * claim records key → owner unless a live entry names someone else (`same` says who is the
   * same owner): the first writer wins, so a peer that learns another's request id cannot
   * take its response. A repeat by the same owner refreshes the entry. Returns false when refused.
   */
  claim(key: string, owner: O, now: number, same: (a: O, b: O) => boolean): boolean {
    const held = this.get(key, now);
    if (held !== undefined && !same(held, owner)) return false;
    this.set(key, owner, now);
    return true;
  }

  /** get returns the live owner of key, or undefined. */
  get(key: string, now: number): O | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now - e.createdAt >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.owner;
  }

  /** take returns and removes the live owner of key (responses are answered once). */
  take(key: string, now: number): O | undefined {
    const owner = this.get(key, now);
    this.entries.delete(key);
    return owner;
  }

  /**
   * touch restarts key's TTL, so a session in use keeps its route (docs/protocol.md#weak-session-ttl). An entry
   * refreshed less than 1/32 of the TTL ago is left as it is: a session in use then
   * re-orders the map about once a minute (30-minute TTL) instead of on every frame.
   */
  touch(key: string, now: number): void {
    const e = this.entries.get(key);
    if (!e || now - e.createdAt < this.ttlMs / 32) return;
    this.entries.delete(key);
    e.createdAt = now;
    this.entries.set(key, e);
  }

  /** prune drops expired entries; O(expired) thanks to age ordering. */
  prune(now: number): void {
    for (const [key, e] of this.entries) {
      if (now - e.createdAt < this.ttlMs) break;
      this.entries.delete(key);
    }
  }

  /** removeWhere drops every entry whose owner matches (a client closed). */
  removeWhere(match: (owner: O) => boolean): void {
    for (const [key, e] of this.entries) if (match(e.owner)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
