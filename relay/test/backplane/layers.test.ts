// The module boundaries around the backplane, checked on the source: the
// leaves (net/, bus/) import nothing from the relay, routing/ no transport,
// the backplane nothing from the server above it, and peer links nothing of
// Redis. A broken boundary fails here, naming the file and the import.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** sources lists the .ts files under dir (relative to src), tests included. */
function sources(dir: string): string[] {
  return readdirSync(join(SRC, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file));
}

/** importsOf lists what a file imports: relative imports as "src/<path>", packages by name. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map(([, spec]) =>
    spec!.startsWith('.') ? `src/${relative(SRC, resolve(SRC, dirname(file), spec!))}` : spec!,
  );
}

/** offending lists "file -> import" for each import of files under dir that breaks the rule. */
function offending(dir: string, breaks: (target: string) => boolean): string[] {
  return sources(dir).flatMap((file) => importsOf(file).filter(breaks).map((target) => `${file} -> ${target}`));
}

describe('module boundaries', () => {
  it.each(['net', 'bus'])('%s/ imports nothing from the relay outside itself', (leaf) => {
    expect(offending(leaf, (target) => target.startsWith('src/') && !target.startsWith(`src/${leaf}/`))).toEqual([]);
  });

  it('routing/ imports no backplane code', () => {
    expect(offending('routing', (target) => target.startsWith('src/backplane/'))).toEqual([]);
  });

  it('backplane/ imports nothing from server/ or session/', () => {
    expect(offending('backplane', (target) => target.startsWith('src/server/') || target.startsWith('src/session/'))).toEqual([]);
  });

  it('peer-links/ knows nothing of Redis', () => {
    expect(offending('backplane/peer-links', (target) => target === 'ioredis' || target.startsWith('src/backplane/redis/'))).toEqual([]);
  });

  it('finds the imports it checks', () => {
    // Guards the checks above against passing on a parser that finds nothing.
    expect(importsOf('backplane/redis/store.ts')).toContain('src/backplane/peer-links/router.js');
    expect(importsOf('routing/redirect-policy.ts')).toEqual(['src/bus/types.js']);
    expect(importsOf('net/listen.test.ts')).toEqual(['node:events', 'node:net', 'vitest', 'src/net/listen.js']);
  });
});
