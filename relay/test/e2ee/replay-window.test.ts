// Replay and reorder handling at the window edges (docs/e2ee-protocol.md#replay-window).
import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW, ReplayWindow } from '../../src/e2ee/index.js';

function accept(window: ReplayWindow, seq: number): string {
  const checked = window.check(seq);
  if (!checked.ok) return checked.error.code;
  window.commit(seq);
  return 'ok';
}

describe('ReplayWindow', () => {
  it('follows the reference sequence: 1 ok, 1 again, 1034, 1025, 1, 2', () => {
    const w = new ReplayWindow();
    expect([1, 1, 1034, 1025, 1, 2].map((s) => accept(w, s))).toEqual([
      'ok',
      'seq_replayed',
      'seq_too_far',
      'ok',
      'seq_too_old',
      'ok',
    ]);
  });

  it('accepts exactly highest + W and refuses highest + W + 1', () => {
    const w = new ReplayWindow();
    expect(accept(w, REPLAY_WINDOW + 1)).toBe('seq_too_far');
    expect(accept(w, REPLAY_WINDOW)).toBe('ok');
    expect(accept(w, 2 * REPLAY_WINDOW)).toBe('ok');
    expect(accept(w, 3 * REPLAY_WINDOW + 1)).toBe('seq_too_far');
  });

  it('accepts the oldest seq still inside the window and refuses the one just below it', () => {
    const w = new ReplayWindow();
    expect(accept(w, 1000)).toBe('ok');
    expect(accept(w, 2000)).toBe('ok');
    const lowest = 2000 - REPLAY_WINDOW + 1; // 977
    expect(accept(w, lowest - 1)).toBe('seq_too_old');
    expect(accept(w, lowest)).toBe('ok');
    expect(accept(w, lowest)).toBe('seq_replayed');
  });

  it('tolerates reordering inside the window but never a duplicate', () => {
    const w = new ReplayWindow();
    const order = [5, 3, 4, 1, 2, 10, 7, 6, 9, 8];
    expect(order.map((s) => accept(w, s))).toEqual(order.map(() => 'ok'));
    expect(order.map((s) => accept(w, s))).toEqual(order.map(() => 'seq_replayed'));
    expect(w.highestSeq).toBe(10);
  });

  it('moving the window forward forgets seqs that fell out of it', () => {
    const w = new ReplayWindow();
    expect(accept(w, 1)).toBe('ok');
    expect(accept(w, 1 + REPLAY_WINDOW)).toBe('ok');
    // 1 is now just outside (lowest = 2), refused as too old rather than as a replay.
    expect(accept(w, 1)).toBe('seq_too_old');
    expect(accept(w, 2)).toBe('ok');
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 53])('refuses seq %s', (seq) => {
    expect(accept(new ReplayWindow(), seq)).toMatch(/^(bad_seq|seq_too_far)$/);
  });

  it('check alone records nothing', () => {
    const w = new ReplayWindow();
    expect(w.check(7).ok).toBe(true);
    expect(w.check(7).ok).toBe(true);
    expect(w.highestSeq).toBe(0);
  });
});
