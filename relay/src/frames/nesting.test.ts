import { describe, expect, it } from 'vitest';
import { MAX_FRAME_DEPTH, MAX_FRAME_VALUES, shapeProblem } from './nesting.js';
import { parseClientFrame, parseClientFrameBytes } from './parse-client.js';
import { parseDaemonFrame } from './parse-daemon.js';
import { parseWorkerFrame } from './parse-worker.js';

const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);
const commas = (n: number) => `[${'0,'.repeat(n)}0]`;

describe('shape pre-scan', () => {
  it('lets MAX_FRAME_DEPTH levels through and refuses one more, for arrays and objects', () => {
    expect(shapeProblem(nested(MAX_FRAME_DEPTH))).toBeUndefined();
    expect(shapeProblem(nested(MAX_FRAME_DEPTH + 1))).toBe('too_deep');
    expect(shapeProblem(`{"type":"e2ee","x":${nested(MAX_FRAME_DEPTH - 1, '{"a":', '}')}}`)).toBeUndefined();
    expect(shapeProblem(`{"type":"e2ee","x":${nested(MAX_FRAME_DEPTH, '{"a":', '}')}}`)).toBe('too_deep');
  });

  it('counts depth at once, not in total: many shallow siblings pass', () => {
    expect(shapeProblem(`[${Array.from({ length: 1000 }, () => nested(3)).join(',')}]`)).toBeUndefined();
  });

  it('lets MAX_FRAME_VALUES commas through and refuses one more', () => {
    expect(shapeProblem(commas(MAX_FRAME_VALUES))).toBeUndefined();
    expect(shapeProblem(commas(MAX_FRAME_VALUES + 1))).toBe('too_wide');
  });

  it('ignores brackets and commas inside strings, escaped quotes included', () => {
    expect(shapeProblem(JSON.stringify({ s: '['.repeat(1000) + ','.repeat(MAX_FRAME_VALUES * 2) }))).toBeUndefined();
    expect(shapeProblem(JSON.stringify({ s: `\\"${'['.repeat(1000)}\\\\` }))).toBeUndefined();
    expect(shapeProblem(`{"s":"\\\\"}${'['.repeat(MAX_FRAME_DEPTH + 1)}`)).toBe('too_deep');
    expect(shapeProblem(`{"s":"\\"${'['.repeat(MAX_FRAME_DEPTH + 1)}"}`)).toBeUndefined();
  });

  it('leaves malformed text to JSON.parse', () => {
    expect(shapeProblem(`{"s":"unterminated ${'['.repeat(100)}`)).toBeUndefined();
    expect(shapeProblem(']'.repeat(100))).toBeUndefined();
  });

  it('stops early on a frame just under 1 MiB of brackets or of values', () => {
    const deep = nested(512 * 1024);
    const wide = commas(512 * 1024 - 2);
    const started = performance.now();
    for (let i = 0; i < 20; i++) {
      expect(shapeProblem(deep)).toBe('too_deep');
      expect(shapeProblem(wide)).toBe('too_wide');
    }
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('makes every parser refuse such frames, on the text and the bytes entry alike', () => {
    const deep = `{"type":"e2ee","x":${nested(MAX_FRAME_DEPTH)}}`;
    const wide = `{"type":"e2ee","x":${commas(MAX_FRAME_VALUES + 1)}}`;
    const tooDeep = { ok: false, error: { reason: 'too_deep', detail: `frame nests deeper than ${MAX_FRAME_DEPTH} levels` } };
    const tooWide = { ok: false, error: { reason: 'too_wide', detail: `frame holds more than ${MAX_FRAME_VALUES} values` } };
    for (const parse of [parseClientFrame, parseDaemonFrame, parseWorkerFrame]) {
      expect(parse(deep)).toMatchObject(tooDeep);
      expect(parse(wide)).toMatchObject(tooWide);
    }
    expect(parseClientFrameBytes(Buffer.from(deep))).toMatchObject(tooDeep);
  });
});
