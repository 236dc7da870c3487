// Public API of the relay package, for embedding and tests.
export { parseConfig, backplaneOptions, type Config, type ConfigResult } from './config/index.js';
export { createRelay, type Relay, type RelayDeps, type RelayState, DRAIN_CLOSE_CODE } from './server/relay.js';
export { runRelay, type RunningRelay } from './main.js';
export { RELAY_VERSION } from './version.js';
