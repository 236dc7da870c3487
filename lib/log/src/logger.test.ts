import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from './logger.js';
import { anyKey, PAYLOAD_KEYS, redact, SECRET_KEYS } from './redact.js';

const capture = (options: Partial<LoggerOptions> & Pick<LoggerOptions, 'layout'>) => {
  const lines: string[] = [];
  const log = createLogger({ now: () => Date.UTC(2026, 0, 2, 3, 4, 5), write: (l) => lines.push(l), ...options });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as unknown) };
};

describe('createLogger', () => {
  it('nested layout prints {ts, level, event, details} and keeps the last entries', () => {
    const { log, parsed } = capture({ layout: 'nested', maxEntries: 2 });
    log.info('a', { n: 1 });
    log.warn('b', {});
    log.error('c');
    expect(parsed()).toEqual([
      { ts: '2026-01-02T03:04:05.000Z', level: 'info', event: 'a', details: { n: 1 } },
      { ts: '2026-01-02T03:04:05.000Z', level: 'warn', event: 'b', details: {} },
      { ts: '2026-01-02T03:04:05.000Z', level: 'error', event: 'c' },
    ]);
    expect(log.entries().map((e) => e.event)).toEqual(['b', 'c']);
  });

  it('flat layout prints the fields beside ts, level and event, and keeps nothing by default', () => {
    const { log, parsed } = capture({ layout: 'flat' });
    log.warn('reconcile_retry', { key: 'ns/r', reason: 'ApplyFailed', message: 'apply failed' });
    log.info('leadership_lost');
    expect(parsed()).toEqual([
      { ts: '2026-01-02T03:04:05.000Z', level: 'warn', event: 'reconcile_retry', key: 'ns/r', reason: 'ApplyFailed', message: 'apply failed' },
      { ts: '2026-01-02T03:04:05.000Z', level: 'info', event: 'leadership_lost' },
    ]);
    expect(log.entries()).toEqual([]);
  });

  it('drops entries below the minimum level (info by default)', () => {
    const quiet = capture({ layout: 'flat' });
    quiet.log.debug('hidden');
    expect(quiet.lines).toEqual([]);
    const verbose = capture({ layout: 'flat', minLevel: 'debug' });
    verbose.log.debug('shown');
    expect(verbose.lines).toHaveLength(1);
  });

  it.each(['nested', 'flat'] as const)('%s layout never prints a credential', (layout) => {
    const secret = 's3cr3t-value';
    const { log, lines } = capture({ layout });
    log.info('e', { token: secret, nested: { authorization: `Bearer ${secret}`, list: [{ password: secret }] }, apiKey: secret, keep: 'visible' });
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).toContain('visible');
  });
});

describe('redact', () => {
  it('replaces values under secret-looking keys at any depth, and errors by their name', () => {
    expect(redact({ a: 1, hmacKey: 'x', deep: [{ client_secret: 'y', ok: true }], err: new TypeError('leak') })).toEqual({
      a: 1,
      hmacKey: '[redacted]',
      deep: [{ client_secret: '[redacted]', ok: true }],
      err: { name: 'TypeError', message: '[redacted]' },
    });
  });

  it('redacts payload fields only when asked', () => {
    const fields = { message: 'hi', frame: 'f', body: 'b', token: 't' };
    expect(redact(fields)).toEqual({ message: 'hi', frame: 'f', body: 'b', token: '[redacted]' });
    expect(redact(fields, anyKey(SECRET_KEYS, PAYLOAD_KEYS))).toEqual({ message: '[redacted]', frame: '[redacted]', body: '[redacted]', token: '[redacted]' });
  });

  it('stops at a depth limit', () => {
    let v: unknown = 'leaf';
    for (let i = 0; i < 12; i++) v = { v };
    expect(JSON.stringify(redact(v))).toContain('[truncated]');
  });
});
