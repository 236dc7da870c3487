// The replay window against a direct transcription of the acceptance rules
// (keep every accepted seq forever, apply the four conditions), on random
// sequences that cluster around the window edges.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../src/e2ee/index.js';

const W = 1024;

class ModelWindow {
  private highest = 0;
  private readonly accepted = new Set<number>();
  accept(seq: number): boolean {
    const ok = seq >= 1 && !this.accepted.has(seq) && seq <= this.highest + W && seq >= Math.max(1, this.highest - W + 1);
    if (ok) {
      this.accepted.add(seq);
      this.highest = Math.max(this.highest, seq);
    }
    return ok;
  }
}

// Steps relative to the current highest seq, biased towards the edges (±W, ±1).
const step = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(-W - 1, -W, -W + 1, W - 1, W, W + 1),
  fc.integer({ min: -2 * W, max: 2 * W }),
);

describe('ReplayWindow matches the model', () => {
  it('accepts and refuses exactly what the rules say', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 400 }), (steps) => {
        const real = new ReplayWindow();
        const model = new ModelWindow();
        for (const delta of steps) {
          const seq = Math.max(1, real.highestSeq + delta);
          const checked = real.check(seq);
          if (checked.ok) real.commit(seq);
          expect(checked.ok).toBe(model.accept(seq));
        }
      }),
      { numRuns: 300 },
    );
  });
});
