import { describe, expect, it } from 'vitest';
import { sealEnvelope } from './envelope.js';
import { envelopeFrameBytes, maxPlaintextBytes } from './envelope-size.js';
import { systemRandom } from './random.js';

const header = { profile: 'noise-ikpsk2', sessionId: 'rs_0123456789abcdef01234567', epoch: 3, seq: 41 } as const;
const key = systemRandom(32);

describe('envelope size', () => {
  it('predicts the JSON size of a sealed envelope exactly', () => {
    for (const n of [1, 2, 3, 4, 100, 65_537]) {
      const sealed = sealEnvelope(key, header, 'x'.repeat(n), systemRandom);
      if (!sealed.ok) throw new Error(sealed.error.code);
      expect(JSON.stringify(sealed.frame).length).toBe(envelopeFrameBytes(header, n));
    }
  });

  it('fills a frame to its limit and not one byte over', () => {
    for (const limit of [1024, 1_048_576, 1_048_577, 1_048_578]) {
      const n = maxPlaintextBytes(header, limit);
      expect(envelopeFrameBytes(header, n)).toBeLessThanOrEqual(limit);
      expect(envelopeFrameBytes(header, n + 1)).toBeGreaterThan(limit);
    }
    expect(maxPlaintextBytes(header, 100)).toBe(0);
  });
});
