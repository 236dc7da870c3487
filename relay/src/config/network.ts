// Network options: which proxies may name the client address, and which
// browser origins may open a WebSocket.
import type { EnvValues } from './schema.js';

/** NetworkConfig is the `network` group of the relay config. */
export interface NetworkConfig {
  readonly trustedProxies: readonly string[];
  /** Empty = any Origin accepted (the reference never checks it). */
  readonly allowedOrigins: readonly string[];
}

export function buildNetwork(e: EnvValues): NetworkConfig {
  return {
    trustedProxies: e.RELAY_TRUSTED_PROXIES,
    allowedOrigins: e.RELAY_ALLOWED_ORIGINS.map((o) => o.toLowerCase()),
  };
}
