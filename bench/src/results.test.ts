import { describe, expect, it } from 'vitest';
import { addSample, checkTarget, fail, formatTable, markUnavailable, newScenario, toJson } from './results.js';

function measured() {
  const s = newScenario('throughput 256 B', ['relay', 'bare']);
  for (const [relay, bare] of [[90, 100], [80, 100], [85, 100]] as const) {
    addSample(s, 'relay', 'throughput', 'frames/s', relay, 0, { kind: 'ratio', op: '>=', value: 0.85 });
    addSample(s, 'bare', 'throughput', 'frames/s', bare, 0, { kind: 'ratio', op: '>=', value: 0.85 });
  }
  return s;
}

describe('targets', () => {
  it('compares the ratio of medians', () => {
    const s = measured();
    expect(checkTarget(s.metrics[0]!, s.variants)).toMatchObject({ met: true, value: 0.85 });
  });

  it('reports a miss', () => {
    const s = newScenario('memory', ['relay', 'bare']);
    addSample(s, 'relay', 'RSS per connection', 'KiB', 9.5, 2, { kind: 'absolute', op: '<=', value: 8 });
    expect(checkTarget(s.metrics[0]!, s.variants)?.met).toBe(false);
  });
});

describe('a failed scenario', () => {
  it('prints FAILED with its reason and none of its numbers', () => {
    const s = measured();
    fail(s, 'relay: lost=3');
    const table = formatTable([s]);
    expect(table).toContain('FAILED: relay: lost=3');
    expect(table).not.toMatch(/\b85\b|\b100\b/);
    expect(toJson([s], {})).toMatchObject({ scenarios: [{ status: 'failed', metrics: [] }] });
  });

  it('keeps the first failure over a later unavailability', () => {
    const s = measured();
    fail(s, 'first');
    markUnavailable(s, 'later');
    expect(s).toMatchObject({ status: 'failed', reason: 'first' });
  });
});

describe('a measured scenario', () => {
  it('prints median (min–max), the ratio and the target verdict', () => {
    const table = formatTable([measured()]);
    expect(table).toContain('85 (80–90)');
    expect(table).toContain('0.85');
    expect(table).toContain('ratio >= 0.85: met');
  });
});
