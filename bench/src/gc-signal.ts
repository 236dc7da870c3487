// The signal that makes a server the harness started run a full garbage
// collection: parent-watch.ts (preloaded into every server) listens for it and
// scenarios.ts sends it. Its own module, free of side effects, so both sides
// share the one value without the preload loading the harness.

/** GC_SIGNAL asks a server started with --expose-gc for a memory-reducing full collection. */
export const GC_SIGNAL = 'SIGURG';
