// The backplane lets several relays behave as one: presence says which relay
// holds a scope's daemon, the bus carries frames to the relay that holds the
// destination peer. Routing code talks only to this interface; main chooses
// the adapter (single, redis, server) from RELAY_BACKPLANE_MODE.

import type { BusFrame, BusFrameHandler, BusLossHandler, PresenceRecord, ScopeRef } from '../bus/types.js';
import type { Logger } from '@viewport/log';

// The shared words live in bus/ (no transport behind them); the Backplane speaks them.
export type { BusDirection, BusFrame, BusFrameHandler, BusLoss, BusLossHandler, PresenceRecord, ScopeRef } from '../bus/types.js';

export type BackplaneMode = 'single' | 'redis' | 'server';

/**
 * Backplane is the one interface the relay core uses for multi-relay work.
 * Every member is present in every mode (single mode answers trivially), so
 * callers never probe. Every method is safe to call at any time; failures are
 * counted and reported as values, never thrown into the routing path.
 */
export interface Backplane {
  readonly mode: BackplaneMode;
  /** start connects and begins delivering this relay's bus frames to onFrame. */
  start(onFrame: BusFrameHandler): Promise<void>;
  /** upsertPresence records that this relay holds (or no longer holds) the scope's daemon. */
  upsertPresence(record: PresenceRecord): Promise<boolean>;
  /** removePresence deletes the scope's entry only if it still names relayId (compare-and-delete, docs/protocol.md#weak-presence-delete). */
  removePresence(scope: ScopeRef, relayId: string): Promise<boolean>;
  /**
   * resolvePresence answers which relay holds the scope's daemon (daemonConnected
   * true). When no daemon is connected but the backplane keeps a generation for
   * the scope, it returns a record with daemonConnected false, empty relay fields
   * and only daemonIssueGeneration set (docs/protocol.md#weak-generation-memory). Null when nothing is known or on error.
   */
  resolvePresence(scope: ScopeRef): Promise<PresenceRecord | null>;
  /**
   * cachedPresence answers from the resolve cache without waiting: the record
   * resolvePresence would return from it, or undefined when it would ask the store
   * (always, in single mode).
   */
  cachedPresence(scope: ScopeRef): PresenceRecord | undefined;
  /** publish sends a frame to another relay; resolves false when it could not be handed to the bus. */
  publish(frame: BusFrame): Promise<boolean>;
  /**
   * readDaemonGeneration returns the highest daemonIssueGeneration the backplane
   * keeps for the scope, even after the daemon left or its relay restarted (docs/protocol.md#weak-generation-memory);
   * null when none is kept, on error, or in single mode. Call it before admitting a daemon.
   */
  readDaemonGeneration(scope: ScopeRef): Promise<number | null>;
  /**
   * broadcasts is true when publish accepts targetRelayId null and hands the frame to
   * every other relay; the core only then publishes a local daemon's session events (docs/protocol.md#weak-session-events).
   * False in single mode.
   */
  readonly broadcasts: boolean;
  /**
   * onBusLoss registers the handler for loss markers: daemon frames another relay
   * could not queue for clients here. Without a handler they are only counted.
   * Single mode has no bus, so it never calls the handler.
   */
  onBusLoss(handler: BusLossHandler): void;
  /** isHealthy is false while the adapter cannot reach its store (a metric, a log line, /ready's body). */
  isHealthy(): boolean;
  /**
   * wasHealthy is true once the store has been reachable since start: readiness
   * then stays up through an outage (local sessions and open peer links still
   * work), while a relay that never reached its store stays unready.
   */
  wasHealthy(): boolean;
  /** close stops delivery and releases connections; bounded in time. */
  close(): Promise<void>;
}

/** BackplaneLog is how adapters report notable events: the level methods of the relay's redacting logger. */
export type BackplaneLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** BackplaneOptions is the frozen subset of relay config an adapter needs; main maps config to it. */
export interface BackplaneOptions {
  readonly mode: BackplaneMode;
  readonly relayId: string;
  readonly relayWsBaseUrl: string;
  /** Trimmed RELAY_BUS_HMAC_KEY; required in redis and server modes. */
  readonly busHmacKey?: string | undefined;
  readonly busSignatureMaxSkewMs: number;
  readonly busFreshnessTrackMax: number;
  readonly maxFrameBytes: number;
  readonly presenceTtlMs: number;
  readonly presenceResolveCacheMax: number;
  /** How long a positive resolve is reused; default 2000, capped by presenceTtlMs, 0 disables. */
  readonly presenceResolveCacheTtlMs?: number | undefined;
  readonly redis?: {
    /** redis:// or rediss:// (TLS); user and password may sit in the URL. */
    readonly url: string;
    readonly keyPrefix: string;
    readonly connectTimeoutMs: number;
    /** Most unread frames in each relay's bus stream; a publish beyond it is refused, never trimmed. */
    readonly queueMax: number;
    /** Most approximate bytes unread in each relay's bus stream; default 64 MiB, refused past it likewise. */
    readonly queueMaxBytes?: number | undefined;
    /** Overrides any password in the URL. */
    readonly password?: string | undefined;
    /** TLS settings for rediss:// (PEM text, not paths; main reads the files once). */
    readonly tls?: BackplaneTlsOptions | undefined;
    /** Reconnect backoff: min(base * 2^attempt, max) ms; defaults 250 and 10000. */
    readonly reconnectBaseMs?: number | undefined;
    readonly reconnectMaxMs?: number | undefined;
    /**
     * A relay whose heartbeat (once a second) is older than this is gone: frames
     * for it are refused (docs/backplane.md#liveness). Default 5000.
     */
    readonly livenessLapseMs?: number | undefined;
    /**
     * Settle a client frame appended to another relay's stream only once that
     * relay read it or is gone, so a crash loses none silently; the relay turns
     * it on, adapter tests that time each publish leave it off.
     */
    readonly confirmDelivery?: boolean | undefined;
    /** How long a presence entry's daemon generation is kept after the last write; default 30 days. */
    readonly generationTtlMs?: number | undefined;
    /**
     * Direct links to the other relays (docs/backplane.md, "Peer links"): this
     * relay accepts them on host:port and tells peers to dial url.
     */
    readonly peerLinks?: { readonly host: string; readonly port: number; readonly url: string } | undefined;
  };
  readonly server?: {
    readonly baseUrl: string;
    readonly internalKey: string;
    readonly timeoutMs: number;
    readonly maxResponseBytes: number;
    readonly pullLimit: number;
    readonly pullWaitMs: number;
    readonly pollIntervalMs: number;
    /** TLS / mTLS source for an https:// platform, asked per call so rotated client certificates apply. */
    readonly tls?: import('../platform/index.js').PlatformTls | undefined;
  };
}

/** BackplaneTlsOptions are PEM contents, never paths, so adapters do no file I/O. */
export interface BackplaneTlsOptions {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly passphrase?: string | undefined;
  /** Defaults to true; false only for development against self-signed stores. */
  readonly rejectUnauthorized?: boolean | undefined;
  readonly servername?: string | undefined;
}

/** BackplaneDeps are the relay's shared services, injected so tests can control them. */
export interface BackplaneDeps {
  readonly registry: import('prom-client').Registry;
  readonly log: BackplaneLog;
  readonly now: () => number;
}
