import { describe, expect, it } from 'vitest';
import { fillPlaceholders, loadFixture } from './fixtures.js';

describe('fixtures', () => {
  it('fills every placeholder and refuses a missing one', () => {
    expect(fillPlaceholders('a ${X} b ${Y_2}', { X: '1', Y_2: '2' })).toBe('a 1 b 2');
    expect(() => fillPlaceholders('${MISSING}', {})).toThrow('fixture placeholder ${MISSING} has no value');
  });

  it.each(['minimal', 'redis-shared', 'pinned', 'rolling'])('%s is a ViewportRelay named relay', (name) => {
    const relay = loadFixture(name, { VALIDATE_URL: 'http://p/v', JWKS_URL: 'http://p/j', POD_HOST_DOMAIN: 'e2e.invalid' });
    expect(relay).toMatchObject({ apiVersion: 'relay.getviewport.com/v1alpha1', kind: 'ViewportRelay', metadata: { name: 'relay' } });
  });
});
