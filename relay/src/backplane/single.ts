import type { Backplane, PresenceRecord } from './backplane.js';

/** createSingleBackplane is the backplane of a relay that works alone: no presence, no bus. */
export function createSingleBackplane(): Backplane {
  return {
    mode: 'single',
    start: async () => {},
    upsertPresence: async () => true,
    removePresence: async () => true,
    resolvePresence: async (): Promise<PresenceRecord | null> => null,
    cachedPresence: () => undefined,
    publish: async () => false,
    readDaemonGeneration: async () => null,
    broadcasts: false,
    onBusLoss: () => {},
    isHealthy: () => true,
    wasHealthy: () => true,
    close: async () => {},
  };
}
