// Who holds a scope's single daemon slot (docs/protocol.md#daemon-slot;
// docs/protocol.md#weak-daemon-takeover, docs/protocol.md#weak-generation-memory). Pure.
import { CloseReason, type RelayCloseReason } from '../frames/index.js';

/** DaemonSlotDecision: take the free slot, supersede the current daemon, or refuse the newcomer. */
export type DaemonSlotDecision =
  | { readonly action: 'accept' }
  | { readonly action: 'supersede' }
  | { readonly action: 'refuse'; readonly reason: RelayCloseReason };

/**
 * decideDaemonSlot: a generation below the highest known (local memory or
 * presence) is stale; an OPEN incumbent keeps the slot unless the newcomer's
 * generation is strictly higher, in which case the newcomer supersedes it at
 * once instead of waiting for the half-open socket to time out (docs/protocol.md#weak-daemon-takeover).
 */
export function decideDaemonSlot(input: {
  readonly incumbentOpen: boolean;
  readonly storedGeneration: number | null;
  readonly persistedGeneration: number | null;
  readonly generation: number | undefined;
}): DaemonSlotDecision {
  const known = Math.max(input.storedGeneration ?? -1, input.persistedGeneration ?? -1);
  const gen = input.generation;
  if (gen !== undefined && gen < known) return { action: 'refuse', reason: CloseReason.staleDaemonGeneration };
  if (!input.incumbentOpen) return { action: 'accept' };
  if (gen !== undefined && gen > (input.storedGeneration ?? -1)) return { action: 'supersede' };
  return { action: 'refuse', reason: CloseReason.daemonAlreadyConnected };
}
