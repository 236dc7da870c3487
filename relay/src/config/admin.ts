// Admin HTTP options: whether the protected routes exist, their token, and
// how much /health and /state reveal (more in dev mode by default).
import type { RelayMode } from './rules.js';
import type { EnvValues } from './schema.js';

/** AdminConfig is the `admin` group of the relay config. */
export interface AdminConfig {
  readonly enabled: boolean;
  readonly token?: string | undefined;
  readonly healthVerbose: boolean;
  readonly stateIncludeClientIds: boolean;
}

export function buildAdmin(e: EnvValues, mode: RelayMode): AdminConfig {
  const verboseDefault = mode === 'dev';
  return {
    enabled: e.RELAY_ENABLE_ADMIN_HTTP ?? false,
    token: e.RELAY_ADMIN_TOKEN,
    healthVerbose: e.RELAY_HEALTH_VERBOSE ?? verboseDefault,
    stateIncludeClientIds: e.RELAY_STATE_INCLUDE_CLIENT_IDS ?? verboseDefault,
  };
}
