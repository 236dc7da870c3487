// Liveness of remote relays (docs/backplane.md#liveness): a client frame
// appended to another relay's stream is settled only when that relay's reader
// has passed it (delivered) or its heartbeat has lapsed (gone, so the client is
// answered DAEMON_UNAVAILABLE): a relay killed with frames unread in its stream
// loses none silently. Each relay reports its read position with its heartbeat;
// the watch asks for the positions of the relays it waits on once per beat.
import type { AppendOutcome } from '../store.js';
import { compareStreamIds } from './stream-entry.js';

/**
 * Progress is one target relay's state as Redis holds it: how long since its
 * beat (null: none), and its reader's position: entries up to startId it will
 * never deliver (they predate its start), entries after it up to readId it did.
 */
export interface Progress {
  readonly beatAgeMs: number | null;
  readonly startId: string | null;
  readonly readId: string | null;
}

/** parseProgress reads the relayProgress script's answer. */
export function parseProgress([age, position]: [number, string]): Progress {
  const [startId, readId] = position.split(' ');
  return { beatAgeMs: age < 0 ? null : age, startId: startId || null, readId: readId || null };
}

export interface DeliveryWatchOptions {
  /** progress reads a target relay's beat age and read position. */
  readonly progress: (target: string) => Promise<Progress>;
  /** A target whose beat is older than this is gone. */
  readonly lapseMs: number;
  readonly now: () => number;
}

/** DeliveryWatch settles appended client frames once their target read them or is gone. */
export interface DeliveryWatch {
  /** track resolves 'appended' once target's reader passed id, 'gone' once target's heartbeat lapsed first. */
  track(target: string, id: string): Promise<AppendOutcome>;
  /** poll asks for the progress of every target with frames in flight; run once per heartbeat. */
  poll(): Promise<void>;
  /** pending is how many frames wait to be settled (for tests and gauges). */
  pending(): number;
  /** close settles every frame still waiting as appended: the relay is going away, nobody is left to answer. */
  close(): void;
}

interface Waiting {
  readonly id: string;
  readonly sinceMs: number;
  readonly settle: (outcome: AppendOutcome) => void;
}

/**
 * createDeliveryWatch keeps, per target, the frames appended and not yet
 * settled, in append order (one connection appends them, so their ids rise).
 */
export function createDeliveryWatch(options: DeliveryWatchOptions): DeliveryWatch {
  const waiting = new Map<string, Waiting[]>();
  let count = 0;

  // Settles the head of the queue the reader's position decides: skipped at its start, or delivered.
  function settleByPosition(queue: Waiting[], { startId, readId }: Progress): number {
    let done = 0;
    for (; done < queue.length; done++) {
      const w = queue[done] as Waiting;
      if (startId !== null && compareStreamIds(w.id, startId) <= 0) w.settle('gone');
      else if (readId !== null && compareStreamIds(w.id, readId) <= 0) w.settle('appended');
      else break;
    }
    return done;
  }

  async function pollTarget(target: string, queue: Waiting[]): Promise<void> {
    const progress = await options.progress(target);
    const { beatAgeMs } = progress;
    let done = settleByPosition(queue, progress);
    const nowMs = options.now();
    // No beat at all (Redis restarted empty, or the relay is long gone): gone once a frame waited a whole lapse.
    const lapsed = beatAgeMs === null ? (queue[done]?.sinceMs ?? nowMs) + options.lapseMs < nowMs : beatAgeMs > options.lapseMs;
    if (lapsed) {
      for (; done < queue.length; done++) (queue[done] as Waiting).settle('gone');
    }
    queue.splice(0, done);
    count -= done;
    if (queue.length === 0 && waiting.get(target) === queue) waiting.delete(target);
  }

  return {
    track(target, id) {
      return new Promise((settle) => {
        let queue = waiting.get(target);
        if (queue === undefined) {
          queue = [];
          waiting.set(target, queue);
        }
        queue.push({ id, sinceMs: options.now(), settle });
        count += 1;
      });
    },
    async poll() {
      // A failed read (Redis down) leaves the frames waiting for the next beat.
      await Promise.all([...waiting].map(([target, queue]) => pollTarget(target, queue).catch(() => undefined)));
    },
    pending: () => count,
    close() {
      for (const queue of waiting.values()) for (const w of queue) w.settle('appended');
      waiting.clear();
      count = 0;
    },
  };
}
