// An in-memory Backplane double that links several relays in one process:
// a shared presence map and direct bus delivery. It exercises the relay core's
// cross-relay routing; the real adapters have their own contract suite.
import type { Backplane, BusFrame, BusFrameHandler, PresenceRecord, ScopeRef } from '../src/backplane/backplane.js';

const key = (s: ScopeRef) => JSON.stringify([s.workspaceId, s.runtimeTargetId ?? null]);

/** MemoryBus is the shared medium; each relay gets its own Backplane from connect(). */
export class MemoryBus {
  readonly presence = new Map<string, PresenceRecord>();
  readonly published: BusFrame[] = [];
  private readonly handlers = new Map<string, BusFrameHandler>();

  connect(relayId: string): Backplane {
    return {
      mode: 'server',
      start: async (onFrame) => {
        this.handlers.set(relayId, onFrame);
      },
      upsertPresence: async (record) => {
        this.presence.set(key(record), record);
        return true;
      },
      removePresence: async (scope, owner) => {
        const current = this.presence.get(key(scope));
        if (current?.relayId !== owner) return false;
        this.presence.delete(key(scope));
        return true;
      },
      resolvePresence: async (scope) => this.presence.get(key(scope)) ?? null,
      // No resolve cache: every lookup goes to resolvePresence.
      cachedPresence: () => undefined,
      readDaemonGeneration: async (scope) => this.presence.get(key(scope))?.daemonIssueGeneration ?? null,
      // A null target reaches every other connected relay (broadcast), never the sender.
      broadcasts: true,
      publish: async (frame) => {
        const targets = frame.targetRelayId
          ? [this.handlers.get(frame.targetRelayId)]
          : [...this.handlers].filter(([id]) => id !== frame.sourceRelayId).map(([, h]) => h);
        const handlers = targets.filter((h) => h !== undefined);
        if (handlers.length === 0) return false;
        this.published.push(frame);
        for (const handler of handlers) setImmediate(() => handler(frame)); // asynchronous, like a real bus
        return true;
      },
      // Every publish is delivered, so there is never a loss to report.
      onBusLoss: () => {},
      isHealthy: () => true,
      wasHealthy: () => true,
      close: async () => {
        this.handlers.delete(relayId);
      },
    };
  }
}
