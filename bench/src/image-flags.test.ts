import { describe, expect, it } from 'vitest';
import { entryPointNodeFlags, relayImageNodeFlags } from './image-flags.js';

describe('the relay image Node flags', () => {
  it('are the flags between node and the script of an exec-form ENTRYPOINT', () => {
    const dockerfile = 'FROM node:22\n# ENTRYPOINT in a comment is not one\nENTRYPOINT ["node", "--a=1", "--b", "app/cli.js", "--not-a-node-flag"]\nCMD ["serve"]\n';
    expect(entryPointNodeFlags(dockerfile)).toEqual(['--a=1', '--b']);
    expect(entryPointNodeFlags('ENTRYPOINT ["node", "app/cli.js"]')).toEqual([]);
  });

  it('refuse an entry point they cannot read rather than run the relay differently from its image', () => {
    expect(() => entryPointNodeFlags('FROM node:22\n')).toThrow(/one ENTRYPOINT/);
    expect(() => entryPointNodeFlags('ENTRYPOINT node app/cli.js')).toThrow();
    expect(() => entryPointNodeFlags('ENTRYPOINT ["/bin/sh", "-c", "node app.js"]')).toThrow(/starting with node/);
    expect(() => entryPointNodeFlags('ENTRYPOINT ["node", "--a"]')).toThrow(/no script/);
  });

  it('are read from Dockerfile.relay, which keeps V8 from collecting a small old generation in full', () => {
    expect(relayImageNodeFlags()).toContain('--initial-old-space-size=128');
  });
});
