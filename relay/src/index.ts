// Public API of the relay package, for embedding and tests.
export { parseConfig, type Config, type ConfigResult } from './config/index.js';
export { backplaneOptions } from './backplane/options.js';
export { createRelay, type Relay, type RelayDeps, type RelayState, DRAIN_CLOSE_CODE } from './server/relay.js';
export { runRelay, type RunningRelay } from './main.js';
export { RELAY_VERSION } from './version.js';
