// The house keeps its picture: every folder of relay/src has a place in the
// lint's layer list, in the README's layout and in docs/architecture.md, and
// nothing is listed that no longer exists.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../repo.js';

const relaySrc = path.join(repoRoot, 'relay/src');
const folders = fs
  .readdirSync(relaySrc, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const entryFiles = fs.readdirSync(relaySrc).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

const { RELAY_LAYERS } = (await import(pathToFileURL(path.join(repoRoot, 'eslint.config.js')).href)) as { RELAY_LAYERS: string[][] };
const layered = RELAY_LAYERS.flat();

// The text of every fenced block in a markdown text.
function fenced(text: string): string {
  return [...text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
}

describe('relay/src folders', () => {
  it('are found', () => {
    expect(folders).toContain('session');
    expect(folders).toContain('routing');
  });

  it('each have a layer in eslint.config.js, and every layer member exists', () => {
    expect(folders.filter((f) => !layered.includes(f))).toEqual([]);
    expect(entryFiles.filter((f) => !layered.includes(f))).toEqual([]);
    expect(layered.filter((m) => !fs.existsSync(path.join(relaySrc, m)))).toEqual([]);
  });

  it('are each named in the README layout', () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const layout = fenced(readme.slice(readme.indexOf('## Layout')));
    expect(folders.filter((f) => !new RegExp(`^\\s+${f}/`, 'm').test(layout))).toEqual([]);
  });

  it('are each drawn in docs/architecture.md', () => {
    const diagram = fenced(fs.readFileSync(path.join(repoRoot, 'docs/architecture.md'), 'utf8'));
    expect(folders.filter((f) => !new RegExp(`(^|\\s)${f}/`).test(diagram))).toEqual([]);
  });
});
