import { describe, expect, it } from 'vitest';
import { RELAY_VERSION } from './version.js';

describe('runtime', () => {
  it('runs on Node 22 or newer', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
    expect(RELAY_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
