// The backplane lets several relays behave as one: presence says which relay
// holds a scope's daemon, the bus carries frames to the relay that holds the
// destination peer. Routing code talks only to this interface; main chooses
// the adapter (single, redis, server) from RELAY_BACKPLANE_MODE.

/** ScopeRef names a scope: a workspace and, usually, one runtime target of it. */
export interface ScopeRef {
  readonly workspaceId: string;
  readonly runtimeTargetId?: string | undefined;
}

/** PresenceRecord says which relay holds a scope's daemon, and which daemon generation it admitted. */
export interface PresenceRecord extends ScopeRef {
  readonly relayId: string;
  readonly relayWsBaseUrl: string;
  readonly daemonConnected: boolean;
  readonly machineId?: string | undefined;
  /** The highest daemonIssueGeneration admitted for the scope; kept across relay restarts (G-5). */
  readonly daemonIssueGeneration?: number | undefined;
  readonly updatedAtMs: number;
}

export type BusDirection = 'client_to_daemon' | 'daemon_to_clients';

/** BusFrame is the wire form of a frame forwarded between relays (spec §7.3). */
export interface BusFrame {
  readonly workspaceId: string;
  readonly runtimeTargetId: string;
  readonly machineId?: string | undefined;
  readonly sourceRelayId: string;
  readonly targetRelayId: string | null;
  readonly direction: BusDirection;
  /** The original frame text, forwarded byte for byte. */
  readonly payload: string;
  readonly issuedAtMs?: number | undefined;
  readonly signature?: string | undefined;
}

export type BackplaneMode = 'single' | 'redis' | 'server';

/** BusFrameHandler receives frames addressed to this relay, already verified and de-duplicated. */
export type BusFrameHandler = (frame: BusFrame) => void;

/**
 * Backplane is the one interface the relay core uses for multi-relay work.
 * Every method is safe to call at any time; failures are counted and reported
 * as values, never thrown into the routing path.
 */
export interface Backplane {
  readonly mode: BackplaneMode;
  /** start connects and begins delivering this relay's bus frames to onFrame. */
  start(onFrame: BusFrameHandler): Promise<void>;
  /** upsertPresence records that this relay holds (or no longer holds) the scope's daemon. */
  upsertPresence(record: PresenceRecord): Promise<boolean>;
  /** removePresence deletes the scope's entry only if it still names relayId (compare-and-delete, G-7). */
  removePresence(scope: ScopeRef, relayId: string): Promise<boolean>;
  /** resolvePresence answers which relay holds the scope's daemon, or null when none does or on error. */
  resolvePresence(scope: ScopeRef): Promise<PresenceRecord | null>;
  /** publish sends a frame to another relay; resolves false when it could not be handed to the bus. */
  publish(frame: BusFrame): Promise<boolean>;
  /** isHealthy is false while the adapter cannot reach its store; readiness reads it. */
  isHealthy(): boolean;
  /** close stops delivery and releases connections; bounded in time. */
  close(): Promise<void>;
}

/** BackplaneLog is how adapters report notable events; the relay core supplies a redacting logger. */
export type BackplaneLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  event: string,
  details?: Record<string, unknown>,
) => void;

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
  readonly redis?: {
    readonly url: string;
    readonly keyPrefix: string;
    readonly connectTimeoutMs: number;
    readonly queueMax: number;
  };
  readonly server?: {
    readonly baseUrl: string;
    readonly internalKey: string;
    readonly timeoutMs: number;
    readonly maxResponseBytes: number;
    readonly pullLimit: number;
    readonly pullWaitMs: number;
    readonly pollIntervalMs: number;
  };
}

/** BackplaneDeps are the relay's shared services, injected so tests can control them. */
export interface BackplaneDeps {
  readonly registry: import('prom-client').Registry;
  readonly log: BackplaneLog;
  readonly now: () => number;
}
