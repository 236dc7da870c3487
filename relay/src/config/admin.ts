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
  /** probePage serves the browser probe page at `/` (default on in dev only; see probe-page/). */
  readonly probePage: boolean;
}

/** checkProbePage: outside dev the probe page hands out nothing without the admin token, so it needs one. */
export function checkProbePage(e: EnvValues, mode: RelayMode, errors: string[]): void {
  if (e.RELAY_PROBE_PAGE === true && mode !== 'dev' && (e.RELAY_ENABLE_ADMIN_HTTP !== true || e.RELAY_ADMIN_TOKEN === undefined)) {
    errors.push('RELAY_PROBE_PAGE=1 outside dev mode needs RELAY_ENABLE_ADMIN_HTTP=1 and RELAY_ADMIN_TOKEN');
  }
}

export function buildAdmin(e: EnvValues, mode: RelayMode): AdminConfig {
  const verboseDefault = mode === 'dev';
  return {
    enabled: e.RELAY_ENABLE_ADMIN_HTTP ?? false,
    token: e.RELAY_ADMIN_TOKEN,
    healthVerbose: e.RELAY_HEALTH_VERBOSE ?? verboseDefault,
    stateIncludeClientIds: e.RELAY_STATE_INCLUDE_CLIENT_IDS ?? verboseDefault,
    probePage: e.RELAY_PROBE_PAGE ?? mode === 'dev',
  };
}
