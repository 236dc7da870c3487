// The frame layer: pure parsing of inbound frames and building of outbound
// ones. No I/O; safe to call on the hot path.
export * from './frame.js';
export { isProfile, isStrongerOrEqualProfile } from './profile.js';
export { parseClientFrame, parseClientFrameBytes, PAIRING_TTL_RANGE, PRESENCE_USER_ID_MAX, PRESENCE_DISPLAY_NAME_MAX } from './parse-client.js';
export { parseDaemonFrame, parseDaemonFrameBytes } from './parse-daemon.js';
export { parseWorkerFrame, WORKER_PATH_PREFIX } from './parse-worker.js';
export * from './outbound.js';
export * from './close-codes.js';
