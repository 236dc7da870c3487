import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedFiles, GENERATED_PATHS, spliceFieldReference } from './generate.js';

const root = join(import.meta.dirname, '..', '..');
const fix = 'run `npm run gen -w operator` and commit the result';

describe('generated files are up to date', () => {
  it.each(Object.entries(generatedFiles()))('%s', (path, content) => {
    expect(readFileSync(join(root, path), 'utf8'), `${path} is stale: ${fix}`).toBe(content);
  });

  it('docs/operator.md field reference', () => {
    const doc = readFileSync(join(root, GENERATED_PATHS.docs), 'utf8');
    const spliced = spliceFieldReference(doc);
    expect(spliced.ok).toBe(true);
    if (spliced.ok) expect(doc, `docs/operator.md is stale: ${fix}`).toBe(spliced.doc);
  });

  it('reports missing markers as a value', () => {
    expect(spliceFieldReference('# no markers')).toMatchObject({ ok: false });
  });
});
