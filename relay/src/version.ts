/** RELAY_VERSION is the relay's release version, reported by `--version` and `/health`. */
export const RELAY_VERSION = '0.1.0';
